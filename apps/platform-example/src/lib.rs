//! A platform team's own Dify app, built on the library the way a team outside this
//! repository would build it:
//!
//! - [`platform`]: the whole Dify as one construct in the team's own stack, with its
//!   overrides (its WAF, a log-retention floor), guardrails (the default pack plus a rule of
//!   its own) and two escape hatches (a property override and a typed props edit);
//! - [`waf`]: the WAFv2 web ACL in front of Dify's load balancer (first written here, now a
//!   Dify construct the props switch on);
//! - [`guardrails`]: its rule, `team-alb-waf`;
//! - [`project`]: its environments and synthesis, for the `cfn-deploy` CLI (`main.rs`).
//!
//! ```text
//! cargo run -p platform-example -- synth        # writes apps/platform-example/cfn-out/
//! cargo run -p platform-example -- diff dev
//! cargo run -p platform-example -- deploy dev
//! ```
//!
//! Its tests (`apps/platform-example/tests/`) assert on its templates with
//! `cfn_core::assertions`.

pub mod guardrails;
pub mod platform;
pub mod project;
/// The WAF construct, now part of the Dify constructs (first written here).
pub use dify_constructs::waf;

/// The guide to writing a construct (`docs/writing-constructs.md`), included here so that its
/// Rust examples compile and run as doctests.
#[doc = include_str!("../../../docs/writing-constructs.md")]
pub mod guide {}
