//! Deploy engine (work in progress).
