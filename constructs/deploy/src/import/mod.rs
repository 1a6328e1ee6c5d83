//! Importing existing resources into a stack from plain Rust: [`Import::prepare`] reads the
//! deployed stack once and checks the import against CloudFormation's rules
//! ([`check`]), [`Import::plan`] makes the IMPORT change set, [`Import::execute`] runs it and
//! hands back a future and a stream of typed events — the same pieces as
//! [`crate::deployment::Deployment`], the same truthful cleanup.
//!
//! CloudFormation imports only what a template describes: the import template is the whole
//! stack (the deployed resources unchanged, plus the resources to import, each with a
//! `DeletionPolicy`), and every resource to import names its identifier — the values of its
//! type's `primaryIdentifier`. After `IMPORT_COMPLETE` an ordinary deploy brings the stack to
//! its full template (outputs, new resources, termination protection, stack policy).
//!
//! ```no_run
//! use cfn_deploy::aws::{ApiLog, Aws, AwsSettings};
//! use cfn_deploy::import::{Import, ImportRequest, ResourceToImport};
//! use cfn_deploy::project::Environment;
//! use indexmap::IndexMap;
//! use serde_json::json;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let template = json!({"Resources": {"Data": {
//!     "Type": "AWS::S3::Bucket",
//!     "DeletionPolicy": "Retain",
//!     "Properties": {"BucketName": "dify-prd-data"}
//! }}});
//! let bucket = ResourceToImport {
//!     logical_id: "Data".into(),
//!     resource_type: "AWS::S3::Bucket".into(),
//!     identifier: IndexMap::from([("BucketName".to_owned(), "dify-prd-data".to_owned())]),
//! };
//! let env = Environment::new("prd").stack_name("Dify");
//! let aws = Aws::connect(&AwsSettings::default(), Some("eu-west-1"), ApiLog::new()).await?;
//!
//! // Refused here, before any change set, when the import breaks a rule.
//! let mut import = Import::prepare(aws, ImportRequest::new(env, template, vec![bucket])).await?;
//! let change_set = import.plan().await?;
//! for c in &change_set.changes {
//!     println!("{} {} {}", c.action.sign(), c.resource_type, c.logical_id);
//! }
//! let (done, mut events) = import.execute(&change_set).await?.into_parts();
//! let printer = async {
//!     while let Some(p) = events.next().await {
//!         println!("{} {}", p.event.logical_id, p.event.status);
//!     }
//! };
//! let (outcome, ()) = tokio::join!(done, printer);
//! println!("{}", outcome?.status); // IMPORT_COMPLETE
//! # Ok(())
//! # }
//! ```

pub mod check;

use indexmap::IndexMap;
use serde_json::Value as Json;

pub use crate::changeset::ResourceToImport;
pub use check::ImportProblem;

use crate::aws::{Aws, FailureKind};
use crate::changeset::{
    self, ChangeSet, ChangeSetRequest, Created, Kind, OnFailure, TemplateSource,
};
use crate::deployment::{Cleanup, Execution, StepError, cleanup};
use crate::diff::paths_in;
use crate::engine::{self, Identity};
use crate::error::DeployError;
use crate::events::PollConfig;
use crate::project::Environment;
use crate::stack::{self, DeployedStack, StatusClass, classify_status};
use crate::staging;
use cfn_core::synth::{TEMPLATE_BODY_LIMIT, TEMPLATE_URL_LIMIT};

/// What to import, where and how. [`ImportRequest::new`] has the defaults: the environment's
/// tags, no service role, no notifications.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ImportRequest {
    /// The environment: its stack name, account and region are used.
    pub environment: Environment,
    /// The import template: the whole stack, the resources to import included.
    pub template: Json,
    /// The resources to import.
    pub resources: Vec<ResourceToImport>,
    /// The tags of a new stack. An existing stack keeps its own: the import changes nothing
    /// but the imported resources. Default: the environment's tags.
    pub tags: IndexMap<String, String>,
    /// The CloudFormation service role. Default: none.
    pub role_arn: Option<String>,
    /// SNS topics for stack events. Default: none.
    pub notification_arns: Vec<String>,
    /// The change set's description. Default: `cfn-deploy import (<env>)`.
    pub description: String,
    /// The command named in next steps. Default: `cfn-deploy`.
    pub program: String,
    /// Polling of change sets and events. Default: [`PollConfig::default`].
    pub poll: PollConfig,
}

impl ImportRequest {
    /// A request with the defaults listed on [`ImportRequest`].
    pub fn new(environment: Environment, template: Json, resources: Vec<ResourceToImport>) -> Self {
        ImportRequest {
            description: format!("cfn-deploy import ({})", environment.name),
            tags: environment.tags.clone(),
            environment,
            template,
            resources,
            role_arn: None,
            notification_arns: Vec::new(),
            program: "cfn-deploy".to_owned(),
            poll: PollConfig::default(),
        }
    }
}

/// One import into one stack, from the deployed state read once to the followed operation.
#[derive(Debug)]
pub struct Import {
    aws: Aws,
    identity: Identity,
    request: ImportRequest,
    deployed: Option<DeployedStack>,
    deployed_template: Option<Json>,
    pending: Option<ChangeSetRequest>,
    created_stack: bool,
}

impl Import {
    /// Checks the credentials against the environment's account and region, reads the
    /// deployed stack (status, template, tags) and checks the import against CloudFormation's
    /// rules ([`check::check`]). A busy or stuck stack is [`DeployError::Blocked`]; an import
    /// that breaks a rule is [`DeployError::ImportRefused`], every problem listed. Nothing is
    /// created.
    pub async fn prepare(aws: Aws, request: ImportRequest) -> Result<Self, DeployError> {
        let identity = engine::preflight(&aws, &request.environment).await?;
        let name = request.environment.stack_name.clone();
        let deployed = stack::describe(&aws, &name).await?;
        let mut import = Import {
            aws,
            identity,
            request,
            deployed: None,
            deployed_template: None,
            pending: None,
            created_stack: false,
        };
        if let Some(s) = deployed {
            import.read_deployed(s).await?;
        }
        let problems = check::check(
            import.deployed_template.as_ref(),
            &import.request.template,
            &import.request.resources,
        );
        if !problems.is_empty() {
            return Err(DeployError::ImportRefused {
                stack: name,
                problems,
            });
        }
        Ok(import)
    }

    async fn read_deployed(&mut self, s: DeployedStack) -> Result<(), DeployError> {
        let blocked = |next_step: String| DeployError::Blocked {
            stack: s.name.clone(),
            status: s.status.clone(),
            next_step,
        };
        let (program, env) = (&self.request.program, &self.request.environment.name);
        match classify_status(&s.status) {
            StatusClass::Busy | StatusClass::Stuck => {
                return Err(stack::blocked(&s, program, env));
            }
            // CloudFormation cannot import into a stack whose first create failed: it holds
            // nothing and must go first.
            StatusClass::FailedCreate => {
                return Err(blocked(format!(
                    "its first create failed and it holds nothing; delete it with `{program} destroy {env}`, then import again"
                )));
            }
            StatusClass::Review | StatusClass::Deleted => {}
            StatusClass::Stable | StatusClass::RolledBack => {
                self.deployed_template = stack::template(&self.aws, &s.name).await?;
                if self.deployed_template.is_none() {
                    return Err(DeployError::Unexpected {
                        stack: s.name.clone(),
                        message: "its deployed template could not be read as JSON, so the import cannot be checked to change nothing else".to_owned(),
                    });
                }
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
    pub fn request(&self) -> &ImportRequest {
        &self.request
    }

    /// The stack as it was read (`None`: not deployed).
    pub fn deployed(&self) -> Option<&DeployedStack> {
        self.deployed.as_ref()
    }

    /// The deployed template, when the stack holds one.
    pub fn deployed_template(&self) -> Option<&Json> {
        self.deployed_template.as_ref()
    }

    /// True when the import creates the stack (none, or an empty `REVIEW_IN_PROGRESS` one).
    pub fn creates_stack(&self) -> bool {
        self.deployed_template.is_none()
    }

    /// The clients this import uses.
    pub fn aws(&self) -> &Aws {
        &self.aws
    }

    /// Stages the template (in S3 over 51,200 bytes), creates the IMPORT change set and waits
    /// until CloudFormation has computed it; its changes are the `Import` actions, with
    /// construct paths. If this future is dropped, [`Import::discard`] removes whatever it
    /// made.
    pub async fn plan(&mut self) -> Result<ChangeSet, StepError> {
        let source = self.stage().await?;
        let req = self.change_set_request(source);
        self.created_stack = self.deployed.is_none();
        self.pending = Some(req.clone());
        match changeset::create(&self.aws, &req, &self.request.poll).await {
            Ok(Created::Ready(mut cs)) => {
                for c in &mut cs.changes {
                    c.path = crate::diff::path_in(Some(&self.request.template), &c.logical_id);
                }
                Ok(cs)
            }
            Ok(Created::Empty { reason }) => Err(StepError::Failed {
                error: DeployError::ChangeSetFailed {
                    stack: req.stack_name.clone(),
                    name: req.name.clone(),
                    reason,
                },
                cleanup: self.discard().await,
            }),
            Err(error) => {
                let cleanup = if cleanup::change_set_may_exist(self.aws.log()) {
                    self.discard().await
                } else {
                    Cleanup::default()
                };
                Err(StepError::Failed { error, cleanup })
            }
        }
    }

    async fn stage(&self) -> Result<TemplateSource, DeployError> {
        let body = serde_json::to_string_pretty(&self.request.template).map_err(|e| {
            DeployError::Unexpected {
                stack: self.request.environment.stack_name.clone(),
                message: format!("the import template cannot be written as JSON: {e}"),
            }
        })?;
        let bytes = body.len();
        if bytes > TEMPLATE_URL_LIMIT {
            return Err(DeployError::TemplateTooLarge {
                bytes,
                limit: TEMPLATE_URL_LIMIT,
            });
        }
        if bytes <= TEMPLATE_BODY_LIMIT {
            return Ok(TemplateSource::Body(body));
        }
        let id = &self.identity;
        let stack = &self.request.environment.stack_name;
        let staged = staging::stage(&self.aws, &id.account, &id.region, stack, &body).await?;
        Ok(TemplateSource::Staged(staged))
    }

    fn change_set_request(&self, template: TemplateSource) -> ChangeSetRequest {
        let r = &self.request;
        let (given, keep) = engine::parameters(&r.template, &r.environment, self.deployed.as_ref());
        let tags = match self.deployed.as_ref().filter(|_| !self.creates_stack()) {
            Some(d) => d.tags.clone(),
            None => r.tags.clone(),
        };
        ChangeSetRequest {
            stack_name: r.environment.stack_name.clone(),
            kind: Kind::Import,
            template,
            parameters: given,
            keep_parameters: keep,
            tags,
            name: changeset::unique_name("cfn-deploy-import"),
            description: r.description.clone(),
            role_arn: r.role_arn.clone(),
            notification_arns: r.notification_arns.clone(),
            resources_to_import: r.resources.clone(),
        }
    }

    /// Removes this import's unexecuted change set (and the empty stack an import into a new
    /// stack made), within [`crate::deployment::CLEANUP_BUDGET`]; says what it removed and
    /// left.
    pub async fn discard(&self) -> Cleanup {
        match &self.pending {
            Some(req) => {
                cleanup::abandon(&self.aws, req, self.created_stack, &self.request.poll).await
            }
            None => Cleanup::default(),
        }
    }

    /// Why the stack is no longer the one [`Import::prepare`] read, if it is not.
    pub async fn changed_meanwhile(&self) -> Option<String> {
        let name = &self.request.environment.stack_name;
        crate::deployment::changed_meanwhile(&self.aws, name, self.deployed.as_ref(), "import")
            .await
    }

    /// Executes the IMPORT change set and returns the operation: success is
    /// `IMPORT_COMPLETE`; a failure rolls back (`IMPORT_ROLLBACK_COMPLETE`), which releases the
    /// imported resources without deleting them. Refused (and the change set removed) when the
    /// stack changed since [`Import::prepare`] read it.
    pub async fn execute(&mut self, cs: &ChangeSet) -> Result<Execution, StepError> {
        if let Some(why) = self.changed_meanwhile().await {
            return Err(StepError::ChangedMeanwhile {
                why,
                cleanup: self.discard().await,
            });
        }
        match engine::execute(&self.aws, cs, &self.request.poll, OnFailure::Rollback).await {
            Ok(operation) => {
                self.pending = None;
                Ok(Execution::new(
                    operation.expecting(&["IMPORT_COMPLETE"]),
                    paths_in(Some(&self.request.template)),
                ))
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
}
