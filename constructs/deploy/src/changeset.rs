//! Change sets: create one, wait for CloudFormation to compute it, read its changes, delete it.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_cloudformation::types::{
    Capability, ChangeSetType, Parameter, ResourceToImport as SdkResourceToImport, Tag,
};
use indexmap::IndexMap;

use crate::aws::Aws;
use crate::error::DeployError;
use crate::events::PollConfig;

/// The reasons CloudFormation gives for a change set with nothing in it: the FAILED change
/// set's status reason, and the older synchronous answer to an identical update.
pub const EMPTY_CHANGE_SET_REASONS: &[&str] = &[
    "The submitted information didn't contain changes. Submit different information to create a change set.",
    "No updates are to be performed.",
];

/// True when a status reason says the change set is empty.
pub fn is_empty_reason(reason: &str) -> bool {
    EMPTY_CHANGE_SET_REASONS
        .iter()
        .any(|r| reason.contains(r) || reason.contains(r.trim_end_matches('.')))
        || reason.contains("didn't contain changes")
}

/// A unique name for a change set or request token: `<prefix>-<ms since epoch>-<counter>`.
/// CloudFormation wants `[a-zA-Z][-a-zA-Z0-9]*`, at most 128 characters.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id();
    format!("{prefix}-{ms}-{pid:x}{n:x}")
}

/// Where the template comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplateSource {
    /// Inline (`TemplateBody`, at most 51,200 bytes).
    Body(String),
    /// Staged in S3 (`TemplateURL`).
    Staged(crate::staging::Staged),
}

/// CREATE for a new stack, UPDATE for an existing one, IMPORT to bring existing resources
/// under a stack (new or existing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The stack does not exist yet (or is `REVIEW_IN_PROGRESS`).
    Create,
    /// The stack exists.
    Update,
    /// Existing resources are imported ([`ChangeSetRequest::resources_to_import`]); the stack
    /// may exist or not.
    Import,
}

/// One existing resource an IMPORT change set brings under the stack: the template's logical
/// ID and type, and the values of the type's `primaryIdentifier` properties
/// (`{"BucketName": "my-bucket"}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceToImport {
    /// The logical ID in the import template.
    pub logical_id: String,
    /// `AWS::S3::Bucket`, …
    pub resource_type: String,
    /// Identifier property → value.
    pub identifier: IndexMap<String, String>,
}

impl ResourceToImport {
    fn to_sdk(&self) -> SdkResourceToImport {
        let mut b = SdkResourceToImport::builder()
            .logical_resource_id(&self.logical_id)
            .resource_type(&self.resource_type);
        for (k, v) in &self.identifier {
            b = b.resource_identifier(k, v);
        }
        b.build()
    }
}

/// Everything a change set is created from.
#[derive(Clone, Debug)]
pub struct ChangeSetRequest {
    /// The stack.
    pub stack_name: String,
    /// CREATE, UPDATE or IMPORT.
    pub kind: Kind,
    /// The template.
    pub template: TemplateSource,
    /// Parameter values given explicitly.
    pub parameters: IndexMap<String, String>,
    /// Parameters of the deployed stack that keep their value (`UsePreviousValue`).
    pub keep_parameters: Vec<String>,
    /// Stack tags.
    pub tags: IndexMap<String, String>,
    /// The change set's name, also used as `ClientToken`.
    pub name: String,
    /// A description shown in the console.
    pub description: String,
    /// The service role CloudFormation acts as (`--role-arn`); `None`: the caller's
    /// credentials.
    pub role_arn: Option<String>,
    /// SNS topics told about every stack event (`--notification-arns`).
    pub notification_arns: Vec<String>,
    /// For [`Kind::Import`]: the resources to import (empty for the other kinds).
    pub resources_to_import: Vec<ResourceToImport>,
}

/// What a change does to a resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// `+`.
    Add,
    /// `~`.
    Modify,
    /// `-`.
    Remove,
    /// Imported into the stack.
    Import,
    /// Decided at execution (nested stacks, macros).
    Dynamic,
    /// Anything newer.
    Other(String),
}

impl Action {
    /// The one-character sign shown in front of a change.
    pub fn sign(&self) -> &'static str {
        match self {
            Action::Add => "+",
            Action::Modify => "~",
            Action::Remove => "-",
            Action::Import => ">",
            Action::Dynamic | Action::Other(_) => "?",
        }
    }
}

/// Whether a modification replaces the resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replacement {
    /// Updated in place.
    False,
    /// Replaced.
    True,
    /// May be replaced, depending on values known at execution.
    Conditional,
}

/// One resource change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceChange {
    /// Add, modify, remove.
    pub action: Action,
    /// Logical ID.
    pub logical_id: String,
    /// Physical ID, for existing resources.
    pub physical_id: Option<String>,
    /// Type.
    pub resource_type: String,
    /// For modifications: whether the resource is replaced.
    pub replacement: Option<Replacement>,
    /// What changes: `Properties`, `Metadata`, `Tags`, …
    pub scope: Vec<String>,
    /// The changed properties, when CloudFormation says.
    pub properties: Vec<String>,
    /// The construct path, from the template's metadata.
    pub path: Option<String>,
}

/// A change set CloudFormation computed.
#[derive(Clone, Debug)]
pub struct ChangeSet {
    /// The change set's ARN.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The stack's ARN.
    pub stack_id: String,
    /// The stack's name.
    pub stack_name: String,
    /// CREATE, UPDATE or IMPORT.
    pub kind: Kind,
    /// The resource changes.
    pub changes: Vec<ResourceChange>,
}

/// What creating a change set came to.
#[derive(Clone, Debug)]
pub enum Created {
    /// Ready to execute.
    Ready(ChangeSet),
    /// Nothing to change; the change set (if one was created) has been deleted.
    Empty {
        /// CloudFormation's reason.
        reason: String,
    },
}

/// Creates a change set and waits until CloudFormation has computed it. An empty change set is
/// deleted and reported as [`Created::Empty`]; any other failure deletes it too and is an error.
pub async fn create(
    aws: &Aws,
    req: &ChangeSetRequest,
    poll: &PollConfig,
) -> Result<Created, DeployError> {
    let sent = aws
        .call("cloudformation", "CreateChangeSet", || {
            let mut b = aws
                .cfn
                .create_change_set()
                .stack_name(&req.stack_name)
                .change_set_name(&req.name)
                .client_token(&req.name)
                .description(&req.description)
                .change_set_type(match req.kind {
                    Kind::Create => ChangeSetType::Create,
                    Kind::Update => ChangeSetType::Update,
                    Kind::Import => ChangeSetType::Import,
                })
                .capabilities(Capability::CapabilityIam)
                .capabilities(Capability::CapabilityNamedIam);
            b = match &req.template {
                TemplateSource::Body(t) => b.template_body(t),
                TemplateSource::Staged(s) => b.template_url(&s.url),
            };
            for (k, v) in &req.parameters {
                b = b.parameters(
                    Parameter::builder()
                        .parameter_key(k)
                        .parameter_value(v)
                        .build(),
                );
            }
            for k in &req.keep_parameters {
                b = b.parameters(
                    Parameter::builder()
                        .parameter_key(k)
                        .use_previous_value(true)
                        .build(),
                );
            }
            for (k, v) in &req.tags {
                b = b.tags(Tag::builder().key(k).value(v).build());
            }
            for arn in &req.notification_arns {
                b = b.notification_arns(arn);
            }
            for r in &req.resources_to_import {
                b = b.resources_to_import(r.to_sdk());
            }
            b.set_role_arn(req.role_arn.clone()).send()
        })
        .await;
    let created = match sent {
        Ok(o) => o,
        Err(e) if is_empty_reason(&e.message) => {
            return Ok(Created::Empty { reason: e.message });
        }
        Err(e) => return Err(e.into()),
    };
    let id = created.id().unwrap_or(&req.name).to_owned();
    let mut first = true;
    loop {
        if !first {
            tokio::time::sleep(poll.interval).await;
        }
        first = false;
        let d = describe(aws, &id, &req.stack_name).await?;
        match d.status.as_str() {
            "CREATE_COMPLETE" => {
                return Ok(Created::Ready(ChangeSet {
                    id: d.id,
                    name: req.name.clone(),
                    stack_id: d.stack_id,
                    stack_name: req.stack_name.clone(),
                    kind: req.kind,
                    changes: d.changes,
                }));
            }
            "FAILED" => {
                delete(aws, &id, &req.stack_name).await?;
                let reason = d.reason.unwrap_or_default();
                if is_empty_reason(&reason) {
                    return Ok(Created::Empty { reason });
                }
                return Err(DeployError::ChangeSetFailed {
                    stack: req.stack_name.clone(),
                    name: req.name.clone(),
                    reason,
                });
            }
            _ => {}
        }
    }
}

/// A change set as `DescribeChangeSet` reports it (all pages).
#[derive(Clone, Debug)]
pub struct Described {
    /// ARN.
    pub id: String,
    /// Stack ARN.
    pub stack_id: String,
    /// `CREATE_PENDING`, `CREATE_IN_PROGRESS`, `CREATE_COMPLETE`, `FAILED`, …
    pub status: String,
    /// Why, when it failed.
    pub reason: Option<String>,
    /// `AVAILABLE`, `UNAVAILABLE`, `EXECUTE_IN_PROGRESS`, …
    pub execution_status: Option<String>,
    /// Its changes.
    pub changes: Vec<ResourceChange>,
}

/// Reads a change set with all its changes.
pub async fn describe(aws: &Aws, id: &str, stack: &str) -> Result<Described, DeployError> {
    let mut changes = Vec::new();
    let mut next: Option<String> = None;
    let mut described;
    loop {
        let token = next.clone();
        let out = aws
            .call("cloudformation", "DescribeChangeSet", || {
                aws.cfn
                    .describe_change_set()
                    .change_set_name(id)
                    .stack_name(stack)
                    .set_next_token(token.clone())
                    .send()
            })
            .await?;
        for c in out.changes() {
            if let Some(rc) = c.resource_change() {
                changes.push(ResourceChange {
                    action: match rc.action().map(|a| a.as_str()) {
                        Some("Add") => Action::Add,
                        Some("Modify") => Action::Modify,
                        Some("Remove") => Action::Remove,
                        Some("Import") => Action::Import,
                        Some("Dynamic") => Action::Dynamic,
                        other => Action::Other(other.unwrap_or("?").to_owned()),
                    },
                    logical_id: rc.logical_resource_id().unwrap_or_default().to_owned(),
                    physical_id: rc
                        .physical_resource_id()
                        .filter(|p| !p.is_empty())
                        .map(str::to_owned),
                    resource_type: rc.resource_type().unwrap_or_default().to_owned(),
                    replacement: rc.replacement().map(|r| match r.as_str() {
                        "True" => Replacement::True,
                        "Conditional" => Replacement::Conditional,
                        _ => Replacement::False,
                    }),
                    scope: rc.scope().iter().map(|s| s.as_str().to_owned()).collect(),
                    properties: {
                        let mut p: Vec<String> = rc
                            .details()
                            .iter()
                            .filter_map(|d| d.target().and_then(|t| t.name()))
                            .map(str::to_owned)
                            .collect();
                        p.dedup();
                        p
                    },
                    path: None,
                });
            }
        }
        described = Described {
            id: out.change_set_id().unwrap_or(id).to_owned(),
            stack_id: out.stack_id().unwrap_or_default().to_owned(),
            status: out
                .status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            reason: out.status_reason().map(str::to_owned),
            execution_status: out.execution_status().map(|s| s.as_str().to_owned()),
            changes: Vec::new(),
        };
        match out.next_token() {
            Some(t) if !t.is_empty() => next = Some(t.to_owned()),
            _ => break,
        }
    }
    described.changes = changes;
    Ok(described)
}

/// Deletes a change set; one that is already gone counts as deleted.
pub async fn delete(aws: &Aws, id: &str, stack: &str) -> Result<(), DeployError> {
    let r = aws
        .call("cloudformation", "DeleteChangeSet", || {
            aws.cfn
                .delete_change_set()
                .change_set_name(id)
                .stack_name(stack)
                .send()
        })
        .await;
    match r {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("ChangeSetNotFound") => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// What CloudFormation does when the execution fails.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnFailure {
    /// Roll back to the previous version (CloudFormation's default).
    #[default]
    Rollback,
    /// Leave what was created or updated as it is (`--no-rollback`): for iterating on a
    /// development stack, fixing the cause and deploying again.
    Keep,
}

/// Executes the change set; `on_failure` says whether a failure rolls back.
pub async fn execute(
    aws: &Aws,
    cs: &ChangeSet,
    token: &str,
    on_failure: OnFailure,
) -> Result<(), DeployError> {
    // Sent only when asked for: an explicit `false` is what AWS assumes anyway.
    let disable_rollback = (on_failure == OnFailure::Keep).then_some(true);
    aws.call("cloudformation", "ExecuteChangeSet", || {
        aws.cfn
            .execute_change_set()
            .change_set_name(&cs.id)
            .stack_name(&cs.stack_name)
            .client_request_token(token)
            .set_disable_rollback(disable_rollback)
            .send()
    })
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_change_set_reasons_are_recognised() {
        assert!(is_empty_reason(
            "The submitted information didn't contain changes. Submit different information to create a change set."
        ));
        assert!(is_empty_reason("No updates are to be performed."));
        assert!(!is_empty_reason(
            "Template format error: Unresolved resource dependencies [X]"
        ));
    }

    #[test]
    fn every_action_has_its_sign() {
        let signs: Vec<&str> = [
            Action::Add,
            Action::Modify,
            Action::Remove,
            Action::Import,
            Action::Dynamic,
            Action::Other("Future".into()),
        ]
        .iter()
        .map(Action::sign)
        .collect();
        assert_eq!(signs, ["+", "~", "-", ">", "?", "?"]);
    }

    #[test]
    fn unique_names_are_valid_and_distinct() {
        let a = unique_name("cfn-deploy");
        let b = unique_name("cfn-deploy");
        assert_ne!(a, b);
        assert!(a.len() <= 128);
        assert!(a.starts_with(|c: char| c.is_ascii_alphabetic()));
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    }
}
