//! What a construct author needs, in one import: `use cfn_core::prelude::*;`.
//!
//! ```
//! use cfn_core::prelude::*;
//! use serde_json::json;
//!
//! /// A construct: a function taking a scope and an id.
//! fn queue(scope: &mut Scope<'_>, id: &str) -> ResourceRef {
//!     let mut s = scope.child(id);
//!     s.add_raw("Queue", "AWS::SQS::Queue", None, json!({"SqsManagedSseEnabled": true}))
//! }
//!
//! let mut stack = Stack::new("Demo");
//! let q = queue(&mut stack.root(), "Jobs");
//! stack.resource(&q).removal_policy(RemovalPolicy::Retain);
//! stack.add_output("Queue", Output::new::<String>(q.reference::<String>()));
//! Template::from_stack(&stack).has_resource(
//!     "AWS::SQS::Queue",
//!     json!({"DeletionPolicy": "Retain", "Properties": {"SqsManagedSseEnabled": true}}),
//! );
//! ```

pub use crate::assertions::{Match, MatchFailure, Matcher, Mismatch, Template};
pub use crate::rules::{
    Enforcement, Finding, ResourceView, Rule, RuleContext, RulePack, Suppression,
};
pub use crate::{
    App, Condition, ConditionRef, Diagnostic, Handle, Json, MappingRef, NodeId, Output, Parameter,
    ParameterRef, ParameterType, RemovalPolicy, Resource, ResourceMut, ResourceOptions,
    ResourceRef, Scope, Severity, Stack, SynthError, Synthesized, Value, dynamic, fns, pseudo,
};
