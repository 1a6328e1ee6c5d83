//! Dify on AWS: the constructs (network, database, cache, storage, ingress, ECS cluster) and
//! the per-environment configuration model they are built from.
//!
//! Each construct is usable on its own inside any stack: `new(scope, id, props)`, a props struct
//! naming every input (typed handles of what it connects to, settings with documented
//! defaults), and typed handles in return. [`Dify`] is all of them, wired together.

pub mod adopt;
pub mod alarms;
pub mod bedrock;
pub mod cache;
pub mod cluster;
pub mod common;
pub mod compat;
pub mod components;
pub mod config;
pub mod cost;
pub mod cost_controls;
pub mod dashboard;
pub mod data_key;
pub mod database;
pub mod dify;
pub mod exec;
pub mod images;
pub mod ingress;
pub mod migration;
pub mod network;
pub mod prelude;
pub mod private;
mod scaling;
pub mod services;
pub mod sizing;
pub mod sso;
pub mod stack;
pub mod storage;
pub mod task;
pub mod waf;

pub use cache::DifyCache;
pub use cluster::DifyCluster;
pub use database::DifyDatabase;
pub use dify::{Dify, DifyProps};
pub use ingress::DifyIngress;
pub use network::DifyNetwork;
pub use stack::DifyStack;
pub use storage::DifyStorage;

/// `docs/constructs.md`, included so that its Rust example compiles and runs as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/constructs.md")]
pub mod constructs_guide {}
