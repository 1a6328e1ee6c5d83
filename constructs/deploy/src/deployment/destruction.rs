//! Deleting one stack from plain Rust: [`Destruction::prepare`] reads what would go and what
//! would stay, refuses what CloudFormation would refuse later (a busy stack, termination
//! protection, exports another stack imports), and [`Destruction::execute`] starts the delete
//! and hands back the same [`Execution`] a deploy does. Confirming is the caller's decision
//! between the two; the CLI's `destroy` is one renderer of this.
//!
//! ```no_run
//! use cfn_deploy::aws::{Aws, AwsSettings, ApiLog};
//! use cfn_deploy::deployment::{StackRequest, Destruction};
//! use cfn_deploy::project::Environment;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let aws = Aws::connect(&AwsSettings::default(), Some("eu-west-1"), ApiLog::new()).await?;
//! let request = StackRequest::new(Environment::new("dev").stack_name("Demo"));
//! let Some(destruction) = Destruction::prepare(aws, request).await? else {
//!     println!("Demo is not deployed");
//!     return Ok(());
//! };
//! for kept in destruction.retained() {
//!     println!("stays: {} ({})", kept.logical_id, kept.why);
//! }
//! let (done, _events) = destruction.execute().await?.into_parts();
//! println!("{}", done.await?.status);
//! # Ok(())
//! # }
//! ```

use indexmap::IndexMap;
use serde_json::Value as Json;

use super::Execution;
use super::exports;
use crate::aws::Aws;
use crate::engine::{self, Identity, Retained};
use crate::error::DeployError;
use crate::events::PollConfig;
use crate::project::Environment;
use crate::stack::{self, DeployedStack, StackResource, StatusClass, classify_status};

/// A request about one deployed stack (to destroy or watch it): the environment names the
/// stack, its account and region.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct StackRequest {
    /// The environment; its `stack_name` is the stack.
    pub environment: Environment,
    /// The command named in next steps. Default: `cfn-deploy`.
    pub program: String,
    /// Polling of events. Default: [`PollConfig::default`].
    pub poll: PollConfig,
}

impl StackRequest {
    /// A request with the defaults listed on [`StackRequest`].
    pub fn new(environment: Environment) -> Self {
        StackRequest {
            environment,
            program: "cfn-deploy".to_owned(),
            poll: PollConfig::default(),
        }
    }
}

/// One stack's deletion, from the deployed state read once to the started delete.
#[derive(Debug)]
pub struct Destruction {
    aws: Aws,
    identity: Identity,
    request: StackRequest,
    stack: DeployedStack,
    template: Option<Json>,
    resources: Vec<StackResource>,
    retained: Vec<Retained>,
    notes: Vec<String>,
}

impl Destruction {
    /// Checks the credentials against the environment, reads the stack, its template and
    /// its resources (paged: Dify stacks hold more than the 100 DescribeStackResources
    /// returns), and what a delete would leave. `Ok(None)`: the stack is not deployed.
    ///
    /// Refused before anything changes: a stack with an operation in progress
    /// ([`DeployError::Blocked`]), termination protection on
    /// ([`DeployError::TerminationProtected`]), and exports another stack still imports
    /// ([`DeployError::DeleteExportInUse`]; CloudFormation would fail the delete midway).
    pub async fn prepare(aws: Aws, request: StackRequest) -> Result<Option<Self>, DeployError> {
        let identity = engine::preflight(&aws, &request.environment).await?;
        let name = request.environment.stack_name.clone();
        let Some(stack) = stack::describe(&aws, &name).await? else {
            return Ok(None);
        };
        refuse_busy_or_protected(&stack, &request)?;
        let template = stack::template(&aws, &stack.stack_id).await?;
        let notes = refuse_imported_exports(&aws, &name, template.as_ref()).await?;
        let resources = stack::resources(&aws, &stack.stack_id).await?;
        let physical: IndexMap<String, String> = resources
            .iter()
            .filter_map(|r| Some((r.logical_id.clone(), r.physical_id.clone()?)))
            .collect();
        let retained = template
            .as_ref()
            .map(|t| engine::retained(t, &physical))
            .unwrap_or_default();
        Ok(Some(Destruction {
            aws,
            identity,
            request,
            stack,
            template,
            resources,
            retained,
            notes,
        }))
    }

    /// Whose credentials, in which account and region.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The stack as it was read.
    pub fn stack(&self) -> &DeployedStack {
        &self.stack
    }

    /// Every resource of the stack.
    pub fn resources(&self) -> &[StackResource] {
        &self.resources
    }

    /// What the delete leaves behind, and why.
    pub fn retained(&self) -> &[Retained] {
        &self.retained
    }

    /// What could not be checked (an endpoint that cannot answer ListImports leaves the
    /// importers check to CloudFormation).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Starts the delete; follow it through the returned [`Execution`].
    pub async fn execute(self) -> Result<Execution, DeployError> {
        let op = engine::delete_stack(
            &self.aws,
            &self.stack,
            self.resources.len(),
            &self.request.poll,
        )
        .await?;
        Ok(Execution::new(
            op,
            crate::diff::paths_in(self.template.as_ref()),
        ))
    }
}

/// A stack being changed cannot be deleted until the change settles; a stuck one
/// (`DELETE_FAILED`, `ROLLBACK_FAILED`, …) can, and deleting is often its way out.
fn refuse_busy_or_protected(s: &DeployedStack, request: &StackRequest) -> Result<(), DeployError> {
    if classify_status(&s.status) == StatusClass::Busy {
        return Err(stack::blocked(
            s,
            &request.program,
            &request.environment.name,
        ));
    }
    if s.termination_protection {
        return Err(DeployError::TerminationProtected {
            stack: s.name.clone(),
            env: request.environment.name.clone(),
        });
    }
    Ok(())
}

/// The importers check; what could not be checked comes back as notes.
async fn refuse_imported_exports(
    aws: &Aws,
    name: &str,
    template: Option<&Json>,
) -> Result<Vec<String>, DeployError> {
    let Some(template) = template else {
        return Ok(Vec::new());
    };
    let names = exports::export_names(template, name);
    let (in_use, unknown) = exports::first_in_use(aws, name, names).await;
    if let Some((export, importers)) = in_use {
        return Err(DeployError::DeleteExportInUse {
            stack: name.to_owned(),
            export,
            importers,
        });
    }
    Ok(unknown
        .into_iter()
        .map(|(export, e)| {
            format!(
                "could not check who imports {export} ({e}); CloudFormation refuses the delete if a stack still imports it"
            )
        })
        .collect())
}
