//! Removing what an unexecuted deploy left: its change set and a first deploy's empty stack.

use std::time::Duration;

use crate::aws::{Aws, FailureKind};
use crate::changeset::{self, ChangeSetRequest};
use crate::engine;
use crate::error::DeployError;
use crate::events::PollConfig;
use crate::stack;

/// What a cleanup removed and what it had to leave, said once and truthfully.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cleanup {
    /// What was deleted ("change set X", "the empty stack Y").
    pub removed: Vec<String>,
    /// What is left, each with how to remove it by hand.
    pub left: Vec<String>,
}

impl Cleanup {
    /// One sentence: "deleted change set X; left behind: …" or "nothing to delete".
    pub fn summary(&self) -> String {
        let removed = if self.removed.is_empty() {
            "nothing to delete".to_owned()
        } else {
            format!("deleted {}", self.removed.join(" and "))
        };
        if self.left.is_empty() {
            removed
        } else {
            format!("{removed}; left behind: {}", self.left.join("; "))
        }
    }

    /// Nothing was removed and nothing is left.
    pub fn is_empty(&self) -> bool {
        self.removed.is_empty() && self.left.is_empty()
    }
}

/// How long cleaning up may take before it gives up and says what it left: a person who
/// pressed Ctrl-C is waiting, and every call inside is bounded by the call timeout anyway.
pub const CLEANUP_BUDGET: Duration = Duration::from_secs(30);

/// Whether a CreateChangeSet call succeeded or failed in a way that may have reached
/// CloudFormation (a timeout, a dropped connection): then there may be something to remove.
pub(crate) fn change_set_may_exist(log: &crate::aws::ApiLog) -> bool {
    log.calls()
        .iter()
        .any(|c| c.operation == "CreateChangeSet" && c.failure != Some(FailureKind::Permanent))
}

/// Deletes the change set `req` names (waiting for it to settle if CloudFormation is still
/// computing it), and the empty stack a first CREATE change set made, within
/// [`CLEANUP_BUDGET`].
pub(crate) async fn abandon(
    aws: &Aws,
    req: &ChangeSetRequest,
    created_stack: bool,
    poll: &PollConfig,
) -> Cleanup {
    match tokio::time::timeout(CLEANUP_BUDGET, cleanup(aws, req, created_stack, poll)).await {
        Ok(c) => c,
        Err(_) => Cleanup {
            removed: Vec::new(),
            left: vec![format!(
                "possibly change set {} (delete it with `aws cloudformation delete-change-set --stack-name {} --change-set-name {}`), and the cleanup gave up after {}s",
                req.name,
                req.stack_name,
                req.name,
                CLEANUP_BUDGET.as_secs()
            )],
        },
    }
}

async fn cleanup(
    aws: &Aws,
    req: &ChangeSetRequest,
    created_stack: bool,
    poll: &PollConfig,
) -> Cleanup {
    let mut done = Cleanup::default();
    if change_set_exists(aws, req, poll).await {
        match changeset::delete(aws, &req.name, &req.stack_name).await {
            Ok(()) => done.removed.push(format!("change set {}", req.name)),
            Err(e) => done.left.push(format!(
                "change set {} (could not delete it: {e}; delete it with `aws cloudformation delete-change-set --stack-name {} --change-set-name {}`)",
                req.name, req.stack_name, req.name
            )),
        }
    }
    if created_stack
        && let Ok(Some(s)) = stack::describe(aws, &req.stack_name).await
        && s.status == "REVIEW_IN_PROGRESS"
    {
        match engine::delete_review_stack(aws, &req.stack_name).await {
            Ok(_) => done
                .removed
                .push(format!("the empty stack {}", req.stack_name)),
            Err(e) => done.left.push(format!(
                "the empty stack {} (REVIEW_IN_PROGRESS; could not delete it: {e})",
                req.stack_name
            )),
        }
    }
    done
}

/// Waits (boundedly) for a change set still being computed; false only when CloudFormation
/// says it does not exist.
async fn change_set_exists(aws: &Aws, req: &ChangeSetRequest, poll: &PollConfig) -> bool {
    for _ in 0..30 {
        match changeset::describe(aws, &req.name, &req.stack_name).await {
            Ok(d) if d.status.ends_with("_IN_PROGRESS") || d.status == "CREATE_PENDING" => {
                tokio::time::sleep(poll.interval).await;
            }
            Err(DeployError::Aws(a)) if a.code() == Some("ChangeSetNotFound") => return false,
            _ => return true,
        }
    }
    true
}
