//! Dify on AWS: the constructs (network, database, cache, storage, ingress, ECS cluster) and
//! the per-environment configuration model they are built from.
//!
//! Each construct is usable on its own inside any stack: it takes a `&mut Scope`, an id and
//! typed handles of what it connects to, and exposes typed handles in return.

pub mod cache;
pub mod common;
pub mod config;
pub mod database;
pub mod ingress;
pub mod network;
pub mod storage;

pub use cache::DifyCache;
pub use database::DifyDatabase;
pub use ingress::DifyIngress;
pub use network::DifyNetwork;
pub use storage::DifyStorage;
