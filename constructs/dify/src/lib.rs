//! Dify constructs (work in progress).
