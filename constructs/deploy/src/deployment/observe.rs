//! Looking at a deployed stack without changing it: [`watch`] attaches to the operation in
//! progress (or reports how the last one ended) and [`status`] reads one environment's row of
//! `list`. The CLI's `watch` and `list` are renderers of these.
//!
//! ```no_run
//! use cfn_deploy::aws::{Aws, AwsSettings, ApiLog};
//! use cfn_deploy::deployment::{StackRequest, Watched, watch};
//! use cfn_deploy::project::Environment;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let aws = Aws::connect(&AwsSettings::default(), Some("eu-west-1"), ApiLog::new()).await?;
//! match watch(aws, StackRequest::new(Environment::new("dev").stack_name("Demo"))).await? {
//!     None => println!("not deployed"),
//!     Some(Watched::Running { execution, .. }) => {
//!         let (done, _events) = execution.into_parts();
//!         println!("ended in {}", done.await?.status);
//!     }
//!     Some(Watched::Settled { stack, failed, .. }) => {
//!         println!("{} with {} failed resources", stack.status, failed.len());
//!     }
//! }
//! # Ok(())
//! # }
//! ```

use indexmap::IndexMap;

use super::{Execution, StackRequest};
use crate::aws::Aws;
use crate::engine;
use crate::error::{DeployError, FailedResource};
use crate::events::{OperationTarget, StackOperation, failed_resources, latest_operation};
use crate::project::Environment;
use crate::stack::{self, DeployedStack, StatusClass, classify_status};

/// What [`watch`] found.
#[derive(Debug)]
pub enum Watched {
    /// An operation is in progress: follow it through `execution`.
    Running {
        /// The stack as read.
        stack: DeployedStack,
        /// The running operation, from its first event (boxed: it is far larger than the
        /// settled case).
        execution: Box<Execution>,
    },
    /// No operation is in progress.
    Settled {
        /// The stack as read.
        stack: DeployedStack,
        /// Its status class: anything but [`StatusClass::Stable`] means the last operation
        /// did not do what it was asked.
        class: StatusClass,
        /// The failed resources of the last operation, root cause first.
        failed: Vec<FailedResource>,
        /// The stack-level reason of the last operation, when there is one.
        reason: Option<String>,
        /// What to do next, for a stack that needs someone to act.
        next_step: Option<String>,
    },
}

/// Checks the credentials against the environment, reads the stack and the events of its
/// latest operation, and attaches to it if it is still running. `Ok(None)`: not deployed.
pub async fn watch(aws: Aws, request: StackRequest) -> Result<Option<Watched>, DeployError> {
    engine::preflight(&aws, &request.environment).await?;
    let name = request.environment.stack_name.clone();
    let Some(s) = stack::describe(&aws, &name).await? else {
        return Ok(None);
    };
    let latest = latest_operation(&aws, &s.stack_id).await?;
    // Construct paths come from the deployed template's metadata; without it, events name
    // logical IDs only, which is no reason to fail.
    let template = stack::template(&aws, &s.stack_id).await.ok().flatten();
    let paths = crate::diff::paths_in(template.as_ref());
    let class = classify_status(&s.status);
    if class == StatusClass::Busy {
        let target = OperationTarget {
            stack_id: s.stack_id.clone(),
            stack_name: name,
            token: latest.token.clone(),
            horizon: latest.before.clone(),
        };
        let op = StackOperation::new(aws, target, request.poll.clone());
        let op = if s.status.starts_with("DELETE") {
            op.expecting(&["DELETE_COMPLETE"])
        } else {
            op
        };
        return Ok(Some(Watched::Running {
            stack: s,
            execution: Box::new(Execution::new(op, paths)),
        }));
    }
    Ok(Some(settled(s, class, &latest.events, &paths, &request)))
}

fn settled(
    s: DeployedStack,
    class: StatusClass,
    events: &[crate::events::StackEvent],
    paths: &IndexMap<String, String>,
    request: &StackRequest,
) -> Watched {
    let (failed, reason) = if class == StatusClass::Stable {
        (Vec::new(), None)
    } else {
        let failed = failed_resources(events, &|id| paths.get(id).cloned());
        let reason = s.status_reason.clone().or_else(|| {
            events
                .iter()
                .rev()
                .filter(|e| e.is_stack_event())
                .find_map(|e| e.reason.clone())
        });
        (failed, reason)
    };
    let next_step = stack::blocked_next_step(&s, &request.program, &request.environment.name);
    Watched::Settled {
        stack: s,
        class,
        failed,
        reason,
        next_step,
    }
}

/// One environment's stack as `list` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StackSummary {
    /// The credentials are for another account than the environment's: its stack is not
    /// visible with them.
    OtherAccount {
        /// The credentials' region.
        region: String,
        /// The credentials' account.
        account: String,
    },
    /// No such stack.
    NotDeployed {
        /// The region looked in.
        region: String,
    },
    /// The stack.
    Deployed {
        /// The region.
        region: String,
        /// Its status.
        status: String,
        /// Whether termination protection is on.
        protected: bool,
        /// When it last changed, ISO 8601.
        last_changed: Option<String>,
    },
}

/// Reads the environment's stack status, with the credentials' identity (another account is
/// a row of its own, not an error: `list` shows every environment the user might deploy).
pub async fn status(aws: &Aws, env: &Environment) -> Result<StackSummary, DeployError> {
    let who = engine::whoami(aws).await?;
    if env.account.as_ref().is_some_and(|a| *a != who.account) {
        return Ok(StackSummary::OtherAccount {
            region: who.region,
            account: who.account,
        });
    }
    Ok(match stack::describe(aws, &env.stack_name).await? {
        None => StackSummary::NotDeployed { region: who.region },
        Some(s) => StackSummary::Deployed {
            region: who.region,
            status: s.status,
            protected: s.termination_protection,
            last_changed: s.last_changed,
        },
    })
}
