//! Dify on AWS: the constructs (network, database, cache, storage, ingress, ECS cluster) and
//! the per-environment configuration model they are built from.
//!
//! Each construct is usable on its own inside any stack: it takes a `&mut Scope`, an id and
//! typed handles of what it connects to, and exposes typed handles in return.

pub mod alarms;
pub mod cache;
pub mod cluster;
pub mod common;
pub mod compat;
pub mod components;
pub mod config;
pub mod data_key;
pub mod database;
pub mod dify;
pub mod images;
pub mod ingress;
pub mod migration;
pub mod network;
pub mod prelude;
pub mod services;
pub mod sizing;
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
