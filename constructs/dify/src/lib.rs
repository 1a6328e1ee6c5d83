//! Dify on AWS: the constructs (network, database, cache, storage, ingress, ECS cluster) and
//! the per-environment configuration model they are built from.

pub mod config;
