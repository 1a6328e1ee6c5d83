//! A deployed stack as the engine sees it, and what its status allows.

use indexmap::IndexMap;

use crate::aws::{Aws, AwsError};
use crate::error::DeployError;

/// A stack as `DescribeStacks` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeployedStack {
    /// The stack ID (an ARN): stable across deletion, unlike the name.
    pub stack_id: String,
    /// The stack name.
    pub name: String,
    /// `CREATE_COMPLETE`, `UPDATE_ROLLBACK_FAILED`, …
    pub status: String,
    /// Why it is in that status, when CloudFormation says.
    pub status_reason: Option<String>,
    /// Parameter values.
    pub parameters: IndexMap<String, String>,
    /// Stack tags.
    pub tags: IndexMap<String, String>,
    /// Whether termination protection is on.
    pub termination_protection: bool,
    /// Outputs, key → value.
    pub outputs: IndexMap<String, String>,
    /// When it last changed (creation or last update), ISO 8601.
    pub last_changed: Option<String>,
}

/// What a stack's status means for the next operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusClass {
    /// Settled after a successful operation: update it.
    Stable,
    /// Settled after an update that rolled back: update it (the previous template is live).
    RolledBack,
    /// A first create failed and rolled back: it must be deleted before it can be created.
    FailedCreate,
    /// Created by a change set that was never executed: create it with a CREATE change set.
    Review,
    /// An operation is running: wait for it.
    Busy,
    /// A failed rollback or delete: somebody has to act before anything else can happen.
    Stuck,
    /// Deleted.
    Deleted,
}

/// Sorts a stack status.
pub fn classify_status(status: &str) -> StatusClass {
    match status {
        "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "IMPORT_COMPLETE" => StatusClass::Stable,
        "UPDATE_ROLLBACK_COMPLETE" | "IMPORT_ROLLBACK_COMPLETE" => StatusClass::RolledBack,
        "ROLLBACK_COMPLETE" => StatusClass::FailedCreate,
        "REVIEW_IN_PROGRESS" => StatusClass::Review,
        "DELETE_COMPLETE" => StatusClass::Deleted,
        s if s.ends_with("_IN_PROGRESS") => StatusClass::Busy,
        _ => StatusClass::Stuck,
    }
}

/// True for statuses an operation ends in (anything not `*_IN_PROGRESS`).
pub fn is_terminal(status: &str) -> bool {
    !status.ends_with("_IN_PROGRESS")
}

/// True for the statuses that mean the operation did what it was asked.
pub fn is_success(status: &str) -> bool {
    matches!(
        status,
        "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "IMPORT_COMPLETE" | "DELETE_COMPLETE"
    )
}

/// The refusal of an operation on a busy or stuck stack, with its next step.
pub fn blocked(stack: &DeployedStack, cli: &str, env: &str) -> DeployError {
    DeployError::Blocked {
        stack: stack.name.clone(),
        status: stack.status.clone(),
        next_step: blocked_next_step(stack, cli, env).unwrap_or_default(),
    }
}

/// The next step for a stack that cannot be deployed right now, or `None` when it can.
pub fn blocked_next_step(stack: &DeployedStack, cli: &str, env: &str) -> Option<String> {
    let name = &stack.name;
    match classify_status(&stack.status) {
        StatusClass::Busy => Some(format!(
            "an operation is in progress ({}); follow it with `{cli} watch {env}` and deploy again once it settles",
            stack.status
        )),
        StatusClass::Stuck => Some(match stack.status.as_str() {
            "UPDATE_ROLLBACK_FAILED" => format!(
                "the rollback of the last update failed; fix the cause shown by `{cli} watch {env}`, then run `{cli} continue-rollback {env}` (add `--skip <LogicalId>` for resources that cannot roll back; `aws cloudformation continue-update-rollback --stack-name {name}` does the same) and deploy again"
            ),
            "ROLLBACK_FAILED" => format!(
                "the first create failed and so did its rollback; delete the stack with `{cli} destroy {env}` (or `aws cloudformation delete-stack --stack-name {name}`), then deploy again"
            ),
            "DELETE_FAILED" => format!(
                "a delete failed; fix the cause (often a non-empty bucket) and run `{cli} destroy {env}` again"
            ),
            // The user guide's "Resource import status codes": the resources imported before
            // the failure stay in the stack; nothing was deleted.
            "IMPORT_ROLLBACK_FAILED" => format!(
                "the rollback of a resource import failed; the resources imported so far stay in the stack and nothing was deleted. See the failed resources with `{cli} watch {env}`, resolve them in the CloudFormation console, then import or deploy again"
            ),
            "CREATE_FAILED" => format!(
                "the create failed with rollback disabled; delete the stack with `{cli} destroy {env}`, then deploy again"
            ),
            "UPDATE_FAILED" => format!(
                "the update failed with rollback disabled; run `aws cloudformation rollback-stack --stack-name {name}` or fix the cause and deploy again"
            ),
            other => format!(
                "the stack is in {other}; resolve it in the CloudFormation console, then deploy again"
            ),
        }),
        _ => None,
    }
}

/// Reads a stack by name or ID; `None` when it does not exist.
pub async fn describe(aws: &Aws, name_or_id: &str) -> Result<Option<DeployedStack>, DeployError> {
    let out = aws
        .call("cloudformation", "DescribeStacks", || {
            aws.cfn.describe_stacks().stack_name(name_or_id).send()
        })
        .await;
    let out = match out {
        Ok(o) => o,
        Err(e) if e.is_stack_missing() => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let Some(s) = out.stacks().first() else {
        return Ok(None);
    };
    Ok(Some(from_sdk(s)))
}

fn from_sdk(s: &aws_sdk_cloudformation::types::Stack) -> DeployedStack {
    DeployedStack {
        stack_id: s.stack_id().unwrap_or_default().to_owned(),
        name: s.stack_name().unwrap_or_default().to_owned(),
        status: s
            .stack_status()
            .map(|x| x.as_str().to_owned())
            .unwrap_or_default(),
        status_reason: s.stack_status_reason().map(str::to_owned),
        parameters: s
            .parameters()
            .iter()
            .filter_map(|p| {
                Some((
                    p.parameter_key()?.to_owned(),
                    p.parameter_value().unwrap_or_default().to_owned(),
                ))
            })
            .collect(),
        tags: s
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
            .collect(),
        termination_protection: s.enable_termination_protection().unwrap_or(false),
        outputs: s
            .outputs()
            .iter()
            .filter_map(|o| {
                Some((
                    o.output_key()?.to_owned(),
                    o.output_value().unwrap_or_default().to_owned(),
                ))
            })
            .collect(),
        last_changed: s
            .last_updated_time()
            .or(s.creation_time())
            .and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok()),
    }
}

/// The deployed template (`TemplateStage=Original`) as text.
pub async fn template_body(aws: &Aws, stack: &str) -> Result<Option<String>, AwsError> {
    let out = aws
        .call("cloudformation", "GetTemplate", || {
            aws.cfn
                .get_template()
                .stack_name(stack)
                .template_stage(aws_sdk_cloudformation::types::TemplateStage::Original)
                .send()
        })
        .await;
    match out {
        Ok(o) => Ok(o.template_body().map(str::to_owned)),
        Err(e) if e.is_stack_missing() => Ok(None),
        Err(e) => Err(e),
    }
}

/// The deployed template parsed as JSON; `None` when there is none or it is not JSON (YAML
/// deployed by another tool).
pub async fn template(aws: &Aws, stack: &str) -> Result<Option<serde_json::Value>, AwsError> {
    Ok(template_body(aws, stack)
        .await?
        .and_then(|b| serde_json::from_str(&b).ok()))
}

/// One resource of a deployed stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackResource {
    /// Logical ID.
    pub logical_id: String,
    /// Physical ID (bucket name, ARN, …).
    pub physical_id: Option<String>,
    /// Type.
    pub resource_type: String,
}

/// The resources of a deployed stack, every page of them: `ListStackResources`, not
/// `DescribeStackResources`, which returns only the first 100 (a production Dify stack holds
/// over 200).
pub async fn resources(aws: &Aws, stack: &str) -> Result<Vec<StackResource>, AwsError> {
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = aws
            .call("cloudformation", "ListStackResources", || {
                aws.cfn
                    .list_stack_resources()
                    .stack_name(stack)
                    .set_next_token(token.clone())
                    .send()
            })
            .await?;
        all.extend(
            out.stack_resource_summaries()
                .iter()
                .map(|r| StackResource {
                    logical_id: r.logical_resource_id().unwrap_or_default().to_owned(),
                    physical_id: r.physical_resource_id().map(str::to_owned),
                    resource_type: r.resource_type().unwrap_or_default().to_owned(),
                }),
        );
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(all),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified() {
        assert_eq!(classify_status("CREATE_COMPLETE"), StatusClass::Stable);
        assert_eq!(
            classify_status("UPDATE_ROLLBACK_COMPLETE"),
            StatusClass::RolledBack
        );
        assert_eq!(
            classify_status("ROLLBACK_COMPLETE"),
            StatusClass::FailedCreate
        );
        assert_eq!(classify_status("REVIEW_IN_PROGRESS"), StatusClass::Review);
        assert_eq!(
            classify_status("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
            StatusClass::Busy
        );
        assert_eq!(
            classify_status("UPDATE_ROLLBACK_FAILED"),
            StatusClass::Stuck
        );
        assert_eq!(classify_status("IMPORT_COMPLETE"), StatusClass::Stable);
        assert_eq!(classify_status("IMPORT_IN_PROGRESS"), StatusClass::Busy);
        assert_eq!(
            classify_status("IMPORT_ROLLBACK_IN_PROGRESS"),
            StatusClass::Busy
        );
        assert_eq!(
            classify_status("IMPORT_ROLLBACK_COMPLETE"),
            StatusClass::RolledBack
        );
        assert_eq!(
            classify_status("IMPORT_ROLLBACK_FAILED"),
            StatusClass::Stuck
        );
        assert!(is_success("IMPORT_COMPLETE"));
        assert!(!is_success("IMPORT_ROLLBACK_COMPLETE"));
        assert!(is_terminal("UPDATE_ROLLBACK_COMPLETE"));
        assert!(!is_terminal("UPDATE_ROLLBACK_IN_PROGRESS"));
        assert!(is_success("DELETE_COMPLETE"));
        assert!(!is_success("ROLLBACK_COMPLETE"));
    }

    #[test]
    fn stuck_stacks_name_the_next_step() {
        let mut s = DeployedStack {
            stack_id: "id".into(),
            name: "Demo".into(),
            status: "UPDATE_ROLLBACK_FAILED".into(),
            status_reason: None,
            parameters: IndexMap::new(),
            tags: IndexMap::new(),
            termination_protection: false,
            outputs: IndexMap::new(),
            last_changed: None,
        };
        let step = blocked_next_step(&s, "demo", "prd").unwrap_or_default();
        assert!(step.contains("continue-update-rollback --stack-name Demo"));
        s.status = "UPDATE_IN_PROGRESS".into();
        let step = blocked_next_step(&s, "demo", "prd").unwrap_or_default();
        assert!(step.contains("demo watch prd"));
        s.status = "IMPORT_ROLLBACK_FAILED".into();
        let step = blocked_next_step(&s, "demo", "prd").unwrap_or_default();
        assert!(step.contains("nothing was deleted"), "{step}");
        s.status = "UPDATE_COMPLETE".into();
        assert_eq!(blocked_next_step(&s, "demo", "prd"), None);
    }
}
