//! The steps of a deploy, diff and destroy, each one AWS-facing function with typed errors.
//! The CLI strings them together with the prompts and the rendering; another front end could
//! do the same.

use indexmap::IndexMap;
use serde_json::Value as Json;

use cfn_core::Synthesized;
use cfn_core::synth::{TEMPLATE_BODY_LIMIT, TEMPLATE_URL_LIMIT};

use crate::aws::Aws;
use crate::changeset::{ChangeSet, ResourceChange, TemplateSource};
use crate::diff::path_in;
use crate::error::DeployError;
use crate::events::{OperationTarget, PollConfig, StackOperation, horizon};
use crate::project::Environment;
use crate::stack::DeployedStack;
use crate::staging;

/// Who the credentials are, where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The account.
    pub account: String,
    /// The caller's ARN.
    pub arn: String,
    /// The region.
    pub region: String,
}

/// Checks the region against the environment's, then asks STS who the credentials are and
/// checks the account. Nothing else is called before both checks pass.
pub async fn preflight(aws: &Aws, env: &Environment) -> Result<Identity, DeployError> {
    if let Some(expected) = &env.region
        && expected != aws.region()
    {
        return Err(DeployError::WrongRegion {
            env: env.name.clone(),
            expected: expected.clone(),
            actual: aws.region().to_owned(),
        });
    }
    let id = whoami(aws).await?;
    if let Some(expected) = &env.account
        && *expected != id.account
    {
        return Err(DeployError::WrongAccount {
            env: env.name.clone(),
            expected: expected.clone(),
            actual: id.account,
        });
    }
    Ok(id)
}

/// STS `GetCallerIdentity`.
pub async fn whoami(aws: &Aws) -> Result<Identity, DeployError> {
    let out = aws
        .call("sts", "GetCallerIdentity", || {
            aws.sts.get_caller_identity().send()
        })
        .await?;
    Ok(Identity {
        account: out.account().unwrap_or_default().to_owned(),
        arn: out.arn().unwrap_or_default().to_owned(),
        region: aws.region().to_owned(),
    })
}

/// What differs between the deployed stack and the synthesized one, beside the template.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Comparison {
    /// The templates differ (or the deployed one could not be read as JSON).
    pub template: bool,
    /// Parameters given a value that differs from the deployed one.
    pub parameters: Vec<String>,
    /// Stack tags that are added, changed or removed.
    pub tags: Vec<String>,
    /// Termination protection must be switched (`Some(new value)`).
    pub termination_protection: Option<bool>,
}

impl Comparison {
    /// True when a change set is needed.
    pub fn needs_change_set(&self) -> bool {
        self.template || !self.parameters.is_empty() || !self.tags.is_empty()
    }

    /// True when nothing at all differs.
    pub fn is_empty(&self) -> bool {
        !self.needs_change_set() && self.termination_protection.is_none()
    }
}

/// Compares what is deployed with what would be deployed.
pub fn compare(
    deployed: &DeployedStack,
    deployed_template: Option<&Json>,
    synth: &Synthesized,
    tags: &IndexMap<String, String>,
    env: &Environment,
) -> Comparison {
    let template = deployed_template != Some(&synth.template);
    let parameters = env
        .parameters
        .iter()
        .filter(|(k, v)| deployed.parameters.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .collect();
    let mut tag_changes: Vec<String> = tags
        .iter()
        .filter(|(k, v)| deployed.tags.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .collect();
    tag_changes.extend(
        deployed
            .tags
            .keys()
            .filter(|k| !tags.contains_key(*k))
            .cloned(),
    );
    Comparison {
        template,
        parameters,
        tags: tag_changes,
        termination_protection: (deployed.termination_protection != env.termination_protection)
            .then_some(env.termination_protection),
    }
}

/// Splits the template's parameters into explicit values (from the environment) and those that
/// keep their deployed value (`UsePreviousValue`); new parameters without a value take their
/// default.
pub fn parameters(
    template: &Json,
    env: &Environment,
    deployed: Option<&DeployedStack>,
) -> (IndexMap<String, String>, Vec<String>) {
    let mut given = IndexMap::new();
    let mut keep = Vec::new();
    if let Some(params) = template.get("Parameters").and_then(Json::as_object) {
        for name in params.keys() {
            if let Some(v) = env.parameters.get(name) {
                given.insert(name.clone(), v.clone());
            } else if deployed.is_some_and(|d| d.parameters.contains_key(name)) {
                keep.push(name.clone());
            }
        }
    }
    (given, keep)
}

/// The template inline, or staged in S3 when it is over 51,200 bytes.
pub async fn template_source(
    aws: &Aws,
    id: &Identity,
    synth: &Synthesized,
) -> Result<TemplateSource, DeployError> {
    let bytes = synth.bytes();
    if bytes > TEMPLATE_URL_LIMIT {
        return Err(DeployError::TemplateTooLarge {
            bytes,
            limit: TEMPLATE_URL_LIMIT,
        });
    }
    if bytes <= TEMPLATE_BODY_LIMIT {
        return Ok(TemplateSource::Body(synth.body.clone()));
    }
    let staged =
        staging::stage(aws, &id.account, &id.region, &synth.stack_name, &synth.body).await?;
    Ok(TemplateSource::Staged(staged))
}

pub use cfn_core::stateful::{STATEFUL_TYPES, is_stateful};

/// The changes that replace (or may replace) a stateful resource, or remove one the deployed
/// template does not retain (`DeletionPolicy: Retain`): a logical-ID rename removes the old
/// resource and creates an empty new one, a replacement by another name.
pub fn stateful_replacements<'c>(
    cs: &'c ChangeSet,
    deployed: Option<&Json>,
) -> Vec<&'c ResourceChange> {
    use crate::changeset::{Action, Replacement};
    cs.changes
        .iter()
        .filter(|c| is_stateful(&c.resource_type))
        .filter(|c| match c.action {
            Action::Modify => matches!(
                c.replacement,
                Some(Replacement::True) | Some(Replacement::Conditional)
            ),
            Action::Remove => !kept_on_removal(deployed, &c.logical_id),
            _ => false,
        })
        .collect()
}

/// Whether the deployed template keeps the resource when the stack lets go of it.
fn kept_on_removal(deployed: Option<&Json>, logical_id: &str) -> bool {
    deployed
        .and_then(|t| t.pointer(&format!("/Resources/{logical_id}/DeletionPolicy")))
        .and_then(Json::as_str)
        .is_some_and(retains)
}

/// Whether a `DeletionPolicy` keeps the resource when the stack lets go of it.
fn retains(policy: &str) -> bool {
    matches!(policy, "Retain" | "RetainExceptOnCreate")
}

/// Fills in each change's construct path: from the synthesized template for resources that
/// stay, from the deployed one for resources being removed.
pub fn annotate_paths(cs: &mut ChangeSet, synth: &Synthesized, deployed: Option<&Json>) {
    for c in &mut cs.changes {
        c.path = synth
            .paths
            .get(&c.logical_id)
            .cloned()
            .or_else(|| path_in(deployed, &c.logical_id));
    }
}

/// The operation a request started with `token`, followed from the event `from` on.
fn started(
    aws: &Aws,
    stack_id: &str,
    stack_name: &str,
    token: String,
    from: Option<String>,
    poll: &PollConfig,
) -> StackOperation {
    StackOperation::new(
        aws.clone(),
        OperationTarget {
            stack_id: stack_id.to_owned(),
            stack_name: stack_name.to_owned(),
            token: Some(token),
            horizon: from,
        },
        poll.clone(),
    )
}

/// Executes a change set and returns the operation to follow.
pub async fn execute(
    aws: &Aws,
    cs: &ChangeSet,
    poll: &PollConfig,
    on_failure: crate::changeset::OnFailure,
) -> Result<StackOperation, DeployError> {
    let token = crate::changeset::unique_name("cfn-deploy-exec");
    let from = horizon(aws, &cs.stack_id).await?;
    crate::changeset::execute(aws, cs, &token, on_failure).await?;
    Ok(started(aws, &cs.stack_id, &cs.stack_name, token, from, poll).with_total(cs.changes.len()))
}

/// Starts deleting a stack and returns the operation to follow.
pub async fn delete_stack(
    aws: &Aws,
    stack: &DeployedStack,
    total: usize,
    poll: &PollConfig,
) -> Result<StackOperation, DeployError> {
    let token = crate::changeset::unique_name("cfn-deploy-delete");
    let from = horizon(aws, &stack.stack_id).await?;
    aws.call("cloudformation", "DeleteStack", || {
        aws.cfn
            .delete_stack()
            .stack_name(&stack.stack_id)
            .client_request_token(&token)
            .send()
    })
    .await?;
    Ok(
        started(aws, &stack.stack_id, &stack.name, token, from, poll)
            .with_total(total)
            .expecting(&["DELETE_COMPLETE"]),
    )
}

/// Deletes a stack that only ever held an unexecuted change set (`REVIEW_IN_PROGRESS`), so an
/// abandoned first deploy leaves nothing behind.
pub async fn delete_review_stack(aws: &Aws, stack: &str) -> Result<(), DeployError> {
    let token = crate::changeset::unique_name("cfn-deploy-cleanup");
    aws.call("cloudformation", "DeleteStack", || {
        aws.cfn
            .delete_stack()
            .stack_name(stack)
            .client_request_token(&token)
            .send()
    })
    .await?;
    Ok(())
}

/// The stack policy of a protected environment: every update allowed, except replacing or
/// deleting the template's stateful resources (`Update:Replace`, `Update:Delete`) — the
/// server-side twin of the client's stateful-replacement guard, which also holds when someone
/// updates the stack with another tool. `None` when the template has no stateful resource.
pub fn protective_stack_policy(templates: &[&Json]) -> Option<Json> {
    let mut ids: Vec<String> = templates
        .iter()
        .filter_map(|t| t.get("Resources").and_then(Json::as_object))
        .flat_map(|r| r.iter())
        .filter(|(_, r)| {
            r.get("Type")
                .and_then(Json::as_str)
                .is_some_and(is_stateful)
        })
        .map(|(id, _)| format!("LogicalResourceId/{id}"))
        .collect();
    ids.sort();
    ids.dedup();
    (!ids.is_empty()).then(|| {
        serde_json::json!({"Statement": [
            {"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": ["Update:Replace", "Update:Delete"], "Principal": "*", "Resource": ids}
        ]})
    })
}

/// The policy that allows every update: what `--allow-replacement` sets for one update.
pub fn permissive_stack_policy() -> Json {
    serde_json::json!({"Statement": [
        {"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"}
    ]})
}

/// Sets the stack's policy.
pub async fn set_stack_policy(aws: &Aws, stack: &str, policy: &Json) -> Result<(), DeployError> {
    let body = policy.to_string();
    aws.call("cloudformation", "SetStackPolicy", || {
        aws.cfn
            .set_stack_policy()
            .stack_name(stack)
            .stack_policy_body(&body)
            .send()
    })
    .await?;
    Ok(())
}

/// Resumes a rollback that failed (`UPDATE_ROLLBACK_FAILED`), skipping `skip` (resources that
/// cannot roll back, left as they are), and returns the operation to follow.
pub async fn continue_rollback(
    aws: &Aws,
    stack: &DeployedStack,
    skip: &[String],
    poll: &PollConfig,
) -> Result<StackOperation, DeployError> {
    let token = crate::changeset::unique_name("cfn-deploy-continue");
    let from = horizon(aws, &stack.stack_id).await?;
    aws.call("cloudformation", "ContinueUpdateRollback", || {
        aws.cfn
            .continue_update_rollback()
            .stack_name(&stack.stack_id)
            .set_resources_to_skip((!skip.is_empty()).then(|| skip.to_vec()))
            .client_request_token(&token)
            .send()
    })
    .await?;
    Ok(
        started(aws, &stack.stack_id, &stack.name, token, from, poll)
            .expecting(&["UPDATE_ROLLBACK_COMPLETE"]),
    )
}

/// Switches termination protection.
pub async fn set_termination_protection(
    aws: &Aws,
    stack: &str,
    on: bool,
) -> Result<(), DeployError> {
    aws.call("cloudformation", "UpdateTerminationProtection", || {
        aws.cfn
            .update_termination_protection()
            .stack_name(stack)
            .enable_termination_protection(on)
            .send()
    })
    .await?;
    Ok(())
}

/// A resource a delete leaves behind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retained {
    /// Logical ID.
    pub logical_id: String,
    /// Type.
    pub resource_type: String,
    /// Physical ID, when known.
    pub physical_id: Option<String>,
    /// Why it stays (`DeletionPolicy: Retain`, a final snapshot, a bucket that must be empty).
    pub why: String,
}

/// What deleting a stack with this template leaves behind.
pub fn retained(template: &Json, physical: &IndexMap<String, String>) -> Vec<Retained> {
    let mut out = Vec::new();
    let Some(resources) = template.get("Resources").and_then(Json::as_object) else {
        return out;
    };
    for (id, r) in resources {
        let ty = r.get("Type").and_then(Json::as_str).unwrap_or("?");
        let policy = r.get("DeletionPolicy").and_then(Json::as_str);
        let why = match policy {
            Some(p) if retains(p) => Some("DeletionPolicy Retain: kept".to_owned()),
            Some("Snapshot") => {
                Some("DeletionPolicy Snapshot: a final snapshot is kept".to_owned())
            }
            _ if ty == "AWS::S3::Bucket" => {
                Some("bucket: deleted only if empty, otherwise the delete fails".to_owned())
            }
            _ => None,
        };
        if let Some(why) = why {
            out.push(Retained {
                logical_id: id.clone(),
                resource_type: ty.to_owned(),
                physical_id: physical.get(id).cloned(),
                why,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployed() -> DeployedStack {
        DeployedStack {
            stack_id: "arn".into(),
            name: "S".into(),
            status: "CREATE_COMPLETE".into(),
            status_reason: None,
            parameters: [("Keep".to_owned(), "1".to_owned())].into_iter().collect(),
            tags: [
                ("app".to_owned(), "a".to_owned()),
                ("old".to_owned(), "x".to_owned()),
            ]
            .into_iter()
            .collect(),
            termination_protection: false,
            outputs: IndexMap::new(),
            last_changed: None,
        }
    }

    #[test]
    fn parameters_keep_previous_values_unless_given() {
        let t = json!({"Parameters": {"Keep": {}, "Given": {}, "Fresh": {}}});
        let env = Environment::new("dev")
            .stack_name("S")
            .parameter("Given", "v");
        let (given, keep) = parameters(&t, &env, Some(&deployed()));
        assert_eq!(given.get("Given").map(String::as_str), Some("v"));
        assert_eq!(keep, ["Keep"]);
        let (_, keep) = parameters(&t, &env, None);
        assert!(keep.is_empty());
    }

    #[test]
    fn comparison_sees_tags_parameters_and_protection() {
        let env = Environment::new("dev")
            .stack_name("S")
            .protected(true)
            .parameter("Keep", "2");
        let synth = cfn_core::Stack::new("S")
            .synth()
            .expect("empty stack synthesizes");
        let tags: IndexMap<String, String> =
            [("app".to_owned(), "a".to_owned())].into_iter().collect();
        let c = compare(&deployed(), Some(&synth.template), &synth, &tags, &env);
        assert!(!c.template);
        assert_eq!(c.parameters, ["Keep"]);
        assert_eq!(c.tags, ["old"]);
        assert_eq!(c.termination_protection, Some(true));
        assert!(c.needs_change_set());
    }

    #[test]
    fn a_comparison_is_empty_only_when_nothing_differs() {
        assert!(Comparison::default().is_empty());
        let protection = Comparison {
            termination_protection: Some(true),
            ..Comparison::default()
        };
        assert!(!protection.is_empty() && !protection.needs_change_set());
        let template = Comparison {
            template: true,
            ..Comparison::default()
        };
        assert!(!template.is_empty() && template.needs_change_set());
    }

    #[test]
    fn retained_lists_retain_snapshot_and_buckets() {
        let t = json!({"Resources": {
            "Db": {"Type": "AWS::RDS::DBCluster", "DeletionPolicy": "Snapshot"},
            "Logs": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain"},
            "B": {"Type": "AWS::S3::Bucket"},
            "P": {"Type": "AWS::SSM::Parameter"}}});
        let phys: IndexMap<String, String> = [("B".to_owned(), "bucket-1".to_owned())]
            .into_iter()
            .collect();
        let r = retained(&t, &phys);
        let ids: Vec<&str> = r.iter().map(|r| r.logical_id.as_str()).collect();
        assert_eq!(ids, ["Db", "Logs", "B"]);
        assert_eq!(r[2].physical_id.as_deref(), Some("bucket-1"));
        assert!(r[0].why.contains("snapshot"));
    }
}
