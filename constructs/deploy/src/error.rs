//! Typed errors of the deploy engine.

use thiserror::Error;

use crate::aws::{AwsError, ConfigError};

/// Why a deploy, diff, destroy or watch could not do what it was asked.
#[derive(Debug, Error)]
pub enum DeployError {
    /// An AWS call failed (after retries).
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// The AWS configuration could not be resolved.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The credentials belong to another account than the environment names.
    #[error(
        "the credentials are for account {actual}, but environment '{env}' deploys to account {expected}; refusing"
    )]
    WrongAccount {
        /// The environment.
        env: String,
        /// The environment's account.
        expected: String,
        /// The credentials' account.
        actual: String,
    },
    /// The resolved region is not the environment's.
    #[error(
        "the resolved region is {actual}, but environment '{env}' deploys to {expected}; refusing (pass --region {expected} or fix AWS_REGION / the profile)"
    )]
    WrongRegion {
        /// The environment.
        env: String,
        /// The environment's region.
        expected: String,
        /// The resolved region.
        actual: String,
    },
    /// The stack cannot be changed in its current state.
    #[error("stack {stack} is {status}: {next_step}")]
    Blocked {
        /// The stack.
        stack: String,
        /// Its status.
        status: String,
        /// What to do about it.
        next_step: String,
    },
    /// CloudFormation could not create the change set.
    #[error("change set {name} for stack {stack} failed: {reason}")]
    ChangeSetFailed {
        /// The stack.
        stack: String,
        /// The change set.
        name: String,
        /// CloudFormation's status reason.
        reason: String,
    },
    /// The stack operation ended in a failure or rollback status.
    #[error(transparent)]
    StackFailed(#[from] StackFailure),
    /// The template could not be staged in S3.
    #[error("staging the template in s3://{bucket}: {source}")]
    Staging {
        /// The bucket.
        bucket: String,
        /// The underlying failure.
        #[source]
        source: Box<DeployError>,
    },
    /// A file asset could not be published to the staging bucket.
    #[error("publishing the asset {source_path} to s3://{bucket}/{key}: {source}")]
    Asset {
        /// Where the asset came from (the path as given).
        source_path: String,
        /// The staging bucket.
        bucket: String,
        /// The object key (`assets/<sha256>.zip`).
        key: String,
        /// The underlying failure.
        #[source]
        source: Box<DeployError>,
    },
    /// The template is too large even for S3 (1 MB).
    #[error("the template is {bytes} bytes; CloudFormation accepts at most {limit} through S3")]
    TemplateTooLarge {
        /// The template's size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// The update removes an export that other stacks still import (the "deadly embrace").
    #[error(
        "stack {stack} would stop exporting {export}, which {} still import{}; deploy {} first so that it no longer imports it, then {stack}",
        importers.join(", "),
        if importers.len() == 1 { "s" } else { "" },
        importers.join(" and ")
    )]
    ExportInUse {
        /// The producing stack.
        stack: String,
        /// The export.
        export: String,
        /// The stacks importing it.
        importers: Vec<String>,
    },
    /// The stack to delete exports a value other stacks still import: CloudFormation would
    /// fail the delete after it started.
    #[error(
        "stack {stack} exports {export}, which {} still import{}; refusing to destroy it",
        importers.join(", "),
        if importers.len() == 1 { "s" } else { "" }
    )]
    DeleteExportInUse {
        /// The producing stack.
        stack: String,
        /// The export.
        export: String,
        /// The stacks importing it.
        importers: Vec<String>,
    },
    /// The stack to delete has termination protection on.
    #[error("stack {stack} has termination protection on; refusing to destroy it")]
    TerminationProtected {
        /// The stack.
        stack: String,
        /// The environment whose settings turn it on.
        env: String,
    },
    /// A resource import breaks CloudFormation's import rules; refused before any change set.
    #[error(
        "cannot import into stack {stack}: {}",
        problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    )]
    ImportRefused {
        /// The stack.
        stack: String,
        /// Every problem found.
        problems: Vec<crate::import_problem::ImportProblem>,
    },
    /// A stack operation ended without reaching a terminal status the engine understood.
    #[error("stack {stack}: {message}")]
    Unexpected {
        /// The stack.
        stack: String,
        /// What happened.
        message: String,
    },
}

/// A resource that failed, for the "Failed resources" block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedResource {
    /// Logical ID.
    pub logical_id: String,
    /// Type.
    pub resource_type: String,
    /// Construct path, when the template says.
    pub path: Option<String>,
    /// The failure status (`CREATE_FAILED`).
    pub status: String,
    /// CloudFormation's reason.
    pub reason: String,
}

/// A stack operation that ended in a failure or rollback status.
#[derive(Clone, Debug, Error)]
#[error("stack {stack} ended in {status}{}", reason_note(.reason))]
pub struct StackFailure {
    /// The stack.
    pub stack: String,
    /// The status it ended in.
    pub status: String,
    /// The stack-level reason, when there is one.
    pub reason: Option<String>,
    /// The failed resources, root cause first, "cancelled" noise left out.
    pub failed: Vec<FailedResource>,
}

fn reason_note(r: &Option<String>) -> String {
    r.as_ref().map(|r| format!(" ({r})")).unwrap_or_default()
}
