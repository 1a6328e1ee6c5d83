//! Deploying one stack from plain Rust: [`Deployment::prepare`] reads what is deployed,
//! [`Deployment::plan`] makes the change set, [`Deployment::execute`] runs it and hands back a
//! future and a stream of typed events. Confirming or refusing is the caller's decision between
//! plan and execute; the CLI's `deploy` is one renderer of this. [`Destruction`] deletes a
//! stack the same way (prepare, then execute), [`watch`] attaches to a running operation and
//! [`status`] reads a stack's row of `list`, [`preview`] compares without a change set
//! (`diff`).
//!
//! ```no_run
//! use cfn_core::{Stack, Output, fns};
//! use cfn_deploy::aws::{Aws, AwsSettings, ApiLog};
//! use cfn_deploy::deployment::{DeployRequest, Deployment, Plan, Start};
//! use cfn_deploy::project::Environment;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let mut stack = Stack::new("Demo");
//! stack.add_output("Hello", Output::new(fns::sub("world")));
//! let request = DeployRequest::new(Environment::new("dev").stack_name("Demo"), stack.synth()?);
//! let aws = Aws::connect(&AwsSettings::default(), Some("eu-west-1"), ApiLog::new()).await?;
//!
//! let mut deployment = Deployment::prepare(aws, request).await?;
//! if let Start::UpToDate { .. } = deployment.start() {
//!     deployment.settle().await?;
//!     return Ok(());
//! }
//! let source = deployment.stage().await?;
//! match deployment.plan(source).await? {
//!     Plan::NoChanges { reason } => println!("nothing to do: {reason}"),
//!     Plan::Changes(change_set) => {
//!         if !deployment.stateful_changes(&change_set).is_empty() {
//!             println!("{}", deployment.discard().await.summary());
//!             return Ok(());
//!         }
//!         let (done, mut events) = deployment.execute(&change_set, false).await?.into_parts();
//!         let printer = async {
//!             while let Some(p) = events.next().await {
//!                 println!("{} {} ({}/{})", p.event.logical_id, p.event.status,
//!                          p.progress.done, p.progress.total);
//!             }
//!         };
//!         let (outcome, ()) = tokio::join!(done, printer);
//!         let finished = deployment.finish(&outcome?).await?;
//!         println!("protection changed: {:?}", finished.termination_protection);
//!     }
//! }
//! # Ok(())
//! # }
//! ```

pub(crate) mod cleanup;
mod destruction;
pub mod exports;
mod observe;
mod preview;

use indexmap::IndexMap;
use serde_json::Value as Json;

pub use cleanup::{CLEANUP_BUDGET, Cleanup};
pub use destruction::{Destruction, StackRequest};
pub use observe::{StackSummary, Watched, status, watch};
pub use preview::{Preview, SettingChange, preview};

use crate::aws::{Aws, FailureKind};
use crate::changeset::{
    self, ChangeSet, ChangeSetRequest, Created, Kind, OnFailure, ResourceChange, TemplateSource,
};
use crate::engine::{self, Identity};
use crate::error::DeployError;
use crate::events::{Outcome, PollConfig, StackOperation};
use crate::project::Environment;
use crate::stack::{self, DeployedStack, StatusClass, classify_status};
use cfn_core::Synthesized;

/// What to deploy and how: the environment (stack name, protections, parameters), the
/// synthesized template, and the options of a deploy. [`DeployRequest::new`] has the defaults:
/// the environment's tags only, no service role, no notifications, roll back on failure.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DeployRequest {
    /// The environment; its `stack_name` is set to the template's.
    pub environment: Environment,
    /// The template.
    pub synth: Synthesized,
    /// Every stack tag. Default: the environment's tags and the stack's own.
    pub tags: IndexMap<String, String>,
    /// The CloudFormation service role (`--role-arn`). Default: none.
    pub role_arn: Option<String>,
    /// SNS topics for stack events (`--notification-arns`). Default: none.
    pub notification_arns: Vec<String>,
    /// What a failed operation does (`--no-rollback` keeps). Default: roll back.
    pub on_failure: OnFailure,
    /// The change set's description. Default: `cfn-deploy (<env>)`.
    pub description: String,
    /// The command named in next steps ("run `<program> watch dev`"). Default: `cfn-deploy`.
    pub program: String,
    /// Polling of change sets and events. Default: [`PollConfig::default`].
    pub poll: PollConfig,
}

impl DeployRequest {
    /// A request with the defaults listed on [`DeployRequest`].
    pub fn new(mut environment: Environment, synth: Synthesized) -> Self {
        environment.stack_name = synth.stack_name.clone();
        let mut tags = synth.tags.clone();
        tags.extend(environment.tags.clone());
        DeployRequest {
            description: format!("cfn-deploy ({})", environment.name),
            environment,
            synth,
            tags,
            role_arn: None,
            notification_arns: Vec::new(),
            on_failure: OnFailure::Rollback,
            program: "cfn-deploy".to_owned(),
            poll: PollConfig::default(),
        }
    }
}

/// Where a deployment starts from, as [`Deployment::prepare`] found the stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Start {
    /// No stack yet (or an empty one in `REVIEW_IN_PROGRESS`): a CREATE change set.
    Create,
    /// A stable stack that differs: an UPDATE change set.
    Update,
    /// Template, parameters and tags match what is deployed; at most termination protection
    /// needs switching (`Some(on)`), which [`Deployment::settle`] does.
    UpToDate {
        /// The termination protection to set, when it differs.
        termination_protection: Option<bool>,
    },
    /// The stack is in `ROLLBACK_COMPLETE` (its first create failed): it holds nothing and
    /// must be deleted ([`Deployment::delete_failed_stack`]) before it can be created again.
    RecreateAfterFailedCreate,
}

/// What CloudFormation made of the template.
#[derive(Clone, Debug)]
pub enum Plan {
    /// Nothing to change; the empty change set (and a first deploy's empty stack) are gone.
    NoChanges {
        /// CloudFormation's reason.
        reason: String,
    },
    /// A change set ready to execute, its changes annotated with construct paths.
    Changes(ChangeSet),
}

/// A step failed. What was cleaned up is said, so nothing is left unmentioned.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The step failed; `cleanup` says what of this deploy was removed and what is left.
    #[error("{error}")]
    Failed {
        /// Why.
        #[source]
        error: DeployError,
        /// What was removed and left.
        cleanup: Cleanup,
    },
    /// The stack changed between plan and execute (another deploy ran or runs): the change
    /// set was not executed, and removed as `cleanup` says.
    #[error("{why}")]
    ChangedMeanwhile {
        /// What changed.
        why: String,
        /// What was removed and left.
        cleanup: Cleanup,
    },
    /// The execution request may have reached CloudFormation (a timeout, a dropped
    /// connection): the operation may be running; its outcome is unknown here.
    #[error("{0}")]
    LostTrack(#[source] DeployError),
}

impl From<DeployError> for StepError {
    fn from(error: DeployError) -> Self {
        StepError::Failed {
            error,
            cleanup: Cleanup::default(),
        }
    }
}

/// After a successful operation: what [`Deployment::finish`] switched.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Finished {
    /// Termination protection was turned on (`Some(true)`) or off.
    pub termination_protection: Option<bool>,
    /// The protective stack policy was set, guarding this many stateful resources.
    pub policy_resources: Option<usize>,
}

/// One stack's deployment, from the deployed state read once to the settled stack.
#[derive(Debug)]
pub struct Deployment {
    aws: Aws,
    identity: Identity,
    request: DeployRequest,
    deployed: Option<DeployedStack>,
    deployed_template: Option<Json>,
    start: Start,
    pending: Option<ChangeSetRequest>,
    created_stack: bool,
    lifted: bool,
    notes: Vec<String>,
}

impl Deployment {
    /// Checks the credentials against the environment's account and region, and reads the
    /// deployed stack: its status, template, parameters, tags and protection. A busy or stuck
    /// stack is [`DeployError::Blocked`], with the next step.
    pub async fn prepare(aws: Aws, request: DeployRequest) -> Result<Self, DeployError> {
        let identity = engine::preflight(&aws, &request.environment).await?;
        let name = request.synth.stack_name.clone();
        let deployed = stack::describe(&aws, &name).await?;
        let mut d = Deployment {
            aws,
            identity,
            request,
            deployed: None,
            deployed_template: None,
            start: Start::Create,
            pending: None,
            created_stack: false,
            lifted: false,
            notes: Vec::new(),
        };
        if let Some(s) = deployed {
            d.read_deployed(s).await?;
        }
        Ok(d)
    }

    async fn read_deployed(&mut self, s: DeployedStack) -> Result<(), DeployError> {
        let env = &self.request.environment;
        match classify_status(&s.status) {
            StatusClass::Busy | StatusClass::Stuck => {
                return Err(stack::blocked(&s, &self.request.program, &env.name));
            }
            StatusClass::Review | StatusClass::Deleted => self.start = Start::Create,
            StatusClass::FailedCreate => self.start = Start::RecreateAfterFailedCreate,
            StatusClass::Stable | StatusClass::RolledBack => {
                let t = stack::template(&self.aws, &s.name).await?;
                let cmp =
                    engine::compare(&s, t.as_ref(), &self.request.synth, &self.request.tags, env);
                self.start = if cmp.needs_change_set() {
                    Start::Update
                } else {
                    Start::UpToDate {
                        termination_protection: cmp.termination_protection,
                    }
                };
                self.deployed_template = t;
            }
        }
        self.deployed = Some(s);
        Ok(())
    }

    /// Whose credentials, in which account and region.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The request.
    pub fn request(&self) -> &DeployRequest {
        &self.request
    }

    /// Where the deployment starts from.
    pub fn start(&self) -> &Start {
        &self.start
    }

    /// The stack as it was read (`None`: not deployed).
    pub fn deployed(&self) -> Option<&DeployedStack> {
        self.deployed.as_ref()
    }

    /// The deployed template, when there is one.
    pub fn deployed_template(&self) -> Option<&Json> {
        self.deployed_template.as_ref()
    }

    /// The clients this deployment uses.
    pub fn aws(&self) -> &Aws {
        &self.aws
    }

    /// For [`Start::UpToDate`]: switches termination protection when it differs; returns
    /// what it set.
    pub async fn settle(&self) -> Result<Option<bool>, DeployError> {
        let Start::UpToDate {
            termination_protection: Some(on),
        } = self.start
        else {
            return Ok(None);
        };
        engine::set_termination_protection(&self.aws, &self.request.synth.stack_name, on).await?;
        Ok(Some(on))
    }

    /// For [`Start::RecreateAfterFailedCreate`]: starts deleting the empty stack; follow the
    /// operation, then call [`Deployment::failed_stack_deleted`].
    pub async fn delete_failed_stack(&self) -> Result<StackOperation, DeployError> {
        let Some(old) = self.deployed.as_ref() else {
            return Err(DeployError::Unexpected {
                stack: self.request.synth.stack_name.clone(),
                message: "there is no failed stack to delete".to_owned(),
            });
        };
        engine::delete_stack(&self.aws, old, 0, &self.request.poll).await
    }

    /// The failed stack is gone: the deployment creates it anew.
    pub fn failed_stack_deleted(&mut self) {
        self.deployed = None;
        self.deployed_template = None;
        self.start = Start::Create;
    }

    /// The template inline, or staged in S3 over 51,200 bytes (creating the staging bucket
    /// the first time).
    pub async fn stage(&self) -> Result<TemplateSource, DeployError> {
        engine::template_source(&self.aws, &self.identity, &self.request.synth).await
    }

    /// Creates the change set and waits until CloudFormation has computed it. If this future
    /// is dropped (an interrupt), [`Deployment::discard`] removes whatever it made.
    pub async fn plan(&mut self, source: TemplateSource) -> Result<Plan, StepError> {
        self.check_exports().await?;
        let req = self.change_set_request(source);
        self.created_stack = req.kind == Kind::Create && self.deployed.is_none();
        self.pending = Some(req.clone());
        match changeset::create(&self.aws, &req, &self.request.poll).await {
            Ok(Created::Ready(mut cs)) => {
                engine::annotate_paths(
                    &mut cs,
                    &self.request.synth,
                    self.deployed_template.as_ref(),
                );
                Ok(Plan::Changes(cs))
            }
            Ok(Created::Empty { reason }) => {
                if self.created_stack {
                    let _ = engine::delete_review_stack(&self.aws, &req.stack_name).await;
                }
                self.pending = None;
                Ok(Plan::NoChanges { reason })
            }
            Err(error) => {
                // Once CreateChangeSet was accepted, a later failure (reading its status)
                // leaves the change set, and a first deploy's empty stack, behind unless
                // removed.
                let cleanup = if cleanup::change_set_may_exist(self.aws.log()) {
                    self.discard().await
                } else {
                    Cleanup::default()
                };
                Err(StepError::Failed { error, cleanup })
            }
        }
    }

    /// Refuses an update that removes an export another stack still imports
    /// ([`exports`]). Who imports is only asked when an export goes; an endpoint that cannot
    /// say (a local emulator) is noted in [`Deployment::notes`] and CloudFormation's own
    /// check stays.
    async fn check_exports(&mut self) -> Result<(), DeployError> {
        let Some(deployed) = &self.deployed_template else {
            return Ok(());
        };
        let stack = self.request.synth.stack_name.clone();
        let removed = exports::removed_exports(deployed, &self.request.synth.template, &stack);
        let (in_use, unknown) = exports::first_in_use(&self.aws, &stack, removed).await;
        self.notes.extend(unknown.into_iter().map(|(export, e)| format!(
            "could not check who imports {export}, which this update removes ({e}); CloudFormation refuses the update if a stack still imports it"
        )));
        match in_use {
            Some((export, importers)) => Err(DeployError::ExportInUse {
                stack,
                export,
                importers,
            }),
            None => Ok(()),
        }
    }

    /// What the deployment could not check or wants said (printed as warnings by the CLI).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    fn change_set_request(&self, template: TemplateSource) -> ChangeSetRequest {
        let r = &self.request;
        let (given, keep) =
            engine::parameters(&r.synth.template, &r.environment, self.deployed.as_ref());
        ChangeSetRequest {
            stack_name: r.synth.stack_name.clone(),
            kind: if self.start == Start::Update {
                Kind::Update
            } else {
                Kind::Create
            },
            template,
            parameters: given,
            keep_parameters: keep,
            tags: r.tags.clone(),
            name: changeset::unique_name("cfn-deploy"),
            description: r.description.clone(),
            role_arn: r.role_arn.clone(),
            notification_arns: r.notification_arns.clone(),
            resources_to_import: Vec::new(),
        }
    }

    /// The changes that replace or delete a stateful resource (database, cache, bucket,
    /// secret, key, log group, …).
    pub fn stateful_changes<'c>(&self, cs: &'c ChangeSet) -> Vec<&'c ResourceChange> {
        engine::stateful_replacements(cs, self.deployed_template.as_ref())
    }

    /// Removes this deployment's unexecuted change set (and the empty stack a first deploy
    /// made), within [`CLEANUP_BUDGET`]; says what it removed and left.
    pub async fn discard(&self) -> Cleanup {
        match &self.pending {
            Some(req) => {
                cleanup::abandon(&self.aws, req, self.created_stack, &self.request.poll).await
            }
            None => Cleanup::default(),
        }
    }

    /// Executes the change set and returns the operation. Refused (and the change set
    /// removed) when the stack changed since [`Deployment::prepare`] read it. In a protected
    /// environment with `allow_replacement`, the stack policy is lifted for this one update
    /// (change sets have no policy-during-update; [`Deployment::policy_lifted`] says so):
    /// [`Deployment::finish`], or [`Deployment::restore_policy`] after a failure, restores it.
    pub async fn execute(
        &mut self,
        cs: &ChangeSet,
        allow_replacement: bool,
    ) -> Result<Execution, StepError> {
        if let Some(why) = self.changed_meanwhile().await {
            return Err(StepError::ChangedMeanwhile {
                why,
                cleanup: self.discard().await,
            });
        }
        if let Err(error) = self.lift_policy(allow_replacement).await {
            return Err(StepError::Failed {
                error,
                cleanup: self.discard().await,
            });
        }
        match engine::execute(&self.aws, cs, &self.request.poll, self.request.on_failure).await {
            Ok(operation) => {
                self.pending = None;
                Ok(Execution {
                    operation,
                    paths: self.request.synth.paths.clone(),
                })
            }
            Err(e) => {
                let maybe_running = matches!(
                    &e,
                    DeployError::Aws(a) if a.operation == "ExecuteChangeSet" && a.kind != FailureKind::Permanent
                );
                if maybe_running {
                    return Err(StepError::LostTrack(e));
                }
                Err(StepError::Failed {
                    error: e,
                    cleanup: self.discard().await,
                })
            }
        }
    }

    /// Why the stack is no longer the one this deployment read, if it is not: two deploys of
    /// one stack must not both execute, and a change set computed against an older stack
    /// would undo the newer one's changes.
    pub async fn changed_meanwhile(&self) -> Option<String> {
        changed_meanwhile(
            &self.aws,
            &self.request.synth.stack_name,
            self.deployed.as_ref(),
            "deploy",
        )
        .await
    }

    async fn lift_policy(&mut self, allow_replacement: bool) -> Result<bool, DeployError> {
        let env = &self.request.environment;
        if !(env.refuse_stateful_replacement && allow_replacement && self.deployed.is_some()) {
            return Ok(false);
        }
        engine::set_stack_policy(
            &self.aws,
            &env.stack_name,
            &engine::permissive_stack_policy(),
        )
        .await?;
        self.lifted = true;
        Ok(true)
    }

    /// The stack policy of a protected environment: it guards the stateful resources of both
    /// the deployed and the new template (a failed update rolls back to the deployed one).
    pub fn stack_policy(&self) -> Option<Json> {
        if !self.request.environment.refuse_stateful_replacement {
            return None;
        }
        let templates: Vec<&Json> = [
            Some(&self.request.synth.template),
            self.deployed_template.as_ref(),
        ]
        .into_iter()
        .flatten()
        .collect();
        engine::protective_stack_policy(&templates)
    }

    /// Sets the protective stack policy, when the environment has one; returns how many
    /// resources it guards.
    pub async fn restore_policy(&self) -> Result<Option<usize>, DeployError> {
        let Some(policy) = self.stack_policy() else {
            return Ok(None);
        };
        engine::set_stack_policy(&self.aws, &self.request.synth.stack_name, &policy).await?;
        Ok(Some(
            policy["Statement"][1]["Resource"]
                .as_array()
                .map_or(0, Vec::len),
        ))
    }

    /// Whether [`Deployment::execute`] lifted the stack policy for `allow_replacement`.
    pub fn policy_lifted(&self) -> bool {
        self.lifted
    }

    /// After success: termination protection switched to match the environment, and the
    /// protective stack policy set.
    pub async fn finish(&self, _outcome: &Outcome) -> Result<Finished, DeployError> {
        let env = &self.request.environment;
        let protected_now = self
            .deployed
            .as_ref()
            .is_some_and(|d| d.termination_protection);
        let mut done = Finished::default();
        if protected_now != env.termination_protection {
            engine::set_termination_protection(
                &self.aws,
                &env.stack_name,
                env.termination_protection,
            )
            .await?;
            done.termination_protection = Some(env.termination_protection);
        }
        done.policy_resources = self.restore_policy().await?;
        Ok(done)
    }
}

/// Why the stack `name` is no longer the one `read` was (`None`: it did not exist), if it is
/// not; `what` names the operation in the answer ("this deploy computed its change set").
pub(crate) async fn changed_meanwhile(
    aws: &Aws,
    name: &str,
    read: Option<&DeployedStack>,
    what: &str,
) -> Option<String> {
    // An unreadable stack here is not proof of anything: ExecuteChangeSet will say.
    let now = stack::describe(aws, name).await.ok()?;
    let now = now.filter(|s| s.status != "REVIEW_IN_PROGRESS")?;
    if now.status.ends_with("_IN_PROGRESS") {
        return Some(format!(
            "{name} is {} (another operation is running on it)",
            now.status
        ));
    }
    match read {
        None => Some(format!(
            "{name} was created by someone else while this {what} computed its change set ({})",
            now.status
        )),
        Some(r) if r.last_changed != now.last_changed => Some(format!(
            "{name} changed since this {what} read it (last change {} → {})",
            r.last_changed.as_deref().unwrap_or("?"),
            now.last_changed.as_deref().unwrap_or("?")
        )),
        Some(_) => None,
    }
}

/// A running stack operation: [`Execution::into_parts`] gives the future of its outcome and
/// the stream of its events.
#[derive(Debug)]
pub struct Execution {
    operation: StackOperation,
    paths: IndexMap<String, String>,
}

impl Execution {
    /// Wraps an operation started elsewhere (a reviewed change set, a delete) with the
    /// construct paths its outcome names resources by.
    pub fn new(operation: StackOperation, paths: IndexMap<String, String>) -> Self {
        Execution { operation, paths }
    }

    /// How many resources the operation touches, as far as known.
    pub fn total(&self) -> usize {
        self.operation.progress().total
    }

    /// The future that follows the operation to its end, and the stream of its events.
    pub fn into_parts(
        self,
    ) -> (
        impl std::future::Future<Output = Result<Outcome, DeployError>> + Send + 'static,
        crate::events::EventStream,
    ) {
        self.operation.into_parts(self.paths)
    }
}
