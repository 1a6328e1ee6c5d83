//! The default guardrail pack (work in progress).
