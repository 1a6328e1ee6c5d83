//! The construct core: construct tree, logical IDs, typed intrinsics, template model and
//! synth-time validation.
//!
//! This crate does no IO at all: synthesis returns template values and their JSON text; writing
//! files and talking to AWS belong to the crates above it.
//!
//! ```
//! use cfn_core::{App, Stack, Output, fns, pseudo};
//!
//! let mut app = App::new();
//! let stack = app.add_stack(Stack::new("Demo"));
//! stack.add_output("Region", Output::new(fns::sub("${AWS::Region}")));
//! let out = app.synth().expect("valid");
//! assert_eq!(out[0].template["Outputs"]["Region"]["Value"]["Fn::Sub"], "${AWS::Region}");
//! ```

pub mod app;
pub mod assertions;
pub mod asset;
pub mod cross_stack;
pub mod diagnostics;
pub mod logical_id;
mod pattern;
pub mod prelude;
pub mod refs;
pub mod resource;
pub mod rules;
pub mod schema;
pub mod stack;
pub mod stateful;
pub mod synth;
pub mod template;
mod validate;
pub mod value;

pub use app::App;
pub use asset::Asset;
pub use diagnostics::{Diagnostic, Severity};
pub use resource::{
    Handle, Missing, Provided, RemovalPolicy, Resource, ResourceOptions, ResourceRef,
};
pub use schema::TypeSchema;
pub use stack::{NodeId, ResourceMut, Scope, Stack};
pub use synth::{SynthError, Synthesized};
pub use template::{Output, Parameter, ParameterRef, ParameterType};
pub use value::{Condition, ConditionRef, Json, MappingRef, Value, dynamic, fns, pseudo};
