//! From a Terraform state to a CloudFormation resource import.
//!
//! A team running Dify with Terraform cannot recreate its database, cache or bucket to move
//! to our stack. CloudFormation can import existing resources with an `IMPORT` change set;
//! this crate works out what to import and how:
//!
//! 1. [`TerraformState::parse`] reads a state (format version 4: the state file, or
//!    `terraform show -json`).
//! 2. A list of [`Mapping`]s says which Terraform resource becomes which resource of our
//!    synthesized template, how its import identifier is read from the state (the keys are
//!    the type's `primaryIdentifier`), and which properties must match.
//! 3. [`plan()`] compares, and returns an [`AdoptPlan`]: per resource, imported or not and
//!    why, each difference with both values and the environment-file key that removes it,
//!    whether the follow-up deploy would replace anything (stateful replacements are
//!    refused), and the Terraform hand-off (`terraform state rm`, `removed` blocks).
//! 4. [`AdoptPlan::import_template`] and [`AdoptPlan::resources_to_import`] are the inputs of
//!    the IMPORT change set.
//!
//! No IO: the caller reads the files and runs the change set.

pub mod import_template;
pub mod mapping;
pub mod plan;
mod resolve;
pub mod state;
pub mod support;
pub mod terraform;

pub use import_template::{ImportTemplateError, ResourceToImport, check_import_template};
pub use mapping::{Action, Comparison, IdentifierPart, Mapping, Outcome, Target};
pub use plan::{
    AdoptPlan, Difference, Disposition, EnvChange, PlanError, PlannedResource, ReplacementKind,
    SchemaLookup, Summary, Unmapped, Unverified, plan,
};
pub use state::{StateError, TerraformState, TfResource};
pub use terraform::TerraformHandOff;
