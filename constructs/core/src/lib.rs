//! The construct core: construct tree, logical IDs, typed intrinsics, template model and
//! synth-time validation.
//!
//! This crate does no network IO and depends on no async runtime or AWS SDK.

pub mod resource;
pub mod schema;
pub mod value;

pub use resource::{Handle, RemovalPolicy, Resource, ResourceOptions, ResourceRef};
pub use schema::TypeSchema;
pub use value::{Condition, ConditionRef, Json, MappingRef, Value, dynamic, fns, pseudo};
