//! What a deploy would change, without a change set: [`preview`] reads the deployed stack once
//! and compares it with the synthesized template and the request's settings. Unlike
//! [`super::Deployment::prepare`] it does not refuse a busy stack: looking is always allowed.
//! The CLI's `diff` is a renderer of this.
//!
//! ```no_run
//! use cfn_core::{Stack, Output, fns};
//! use cfn_deploy::aws::{Aws, AwsSettings, ApiLog};
//! use cfn_deploy::deployment::{DeployRequest, preview};
//! use cfn_deploy::project::Environment;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let mut stack = Stack::new("Demo");
//! stack.add_output("Hello", Output::new(fns::sub("world")));
//! let request = DeployRequest::new(Environment::new("dev").stack_name("Demo"), stack.synth()?);
//! let aws = Aws::connect(&AwsSettings::default(), Some("eu-west-1"), ApiLog::new()).await?;
//! // The registry schemas tell which property changes replace a resource.
//! let p = preview(aws, &request, &cfn_resources::schema_for).await?;
//! println!("{} resource changes, {} settings", p.diff.resources.len(), p.settings.len());
//! # Ok(())
//! # }
//! ```

use serde_json::Value as Json;

use super::DeployRequest;
use crate::aws::Aws;
use crate::diff::{SchemaLookup, TemplateDiff, diff_templates};
use crate::engine::{self, Identity};
use crate::error::DeployError;
use crate::stack::{self, DeployedStack, StatusClass, classify_status};

/// A stack setting a deploy would change, beside the template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SettingChange {
    /// A stack tag is added (`old: None`), changed, or removed (`new: None`).
    Tag {
        /// The key.
        key: String,
        /// The deployed value.
        old: Option<String>,
        /// The value the deploy sets.
        new: Option<String>,
    },
    /// A parameter gets another value.
    Parameter {
        /// The key.
        key: String,
    },
    /// Termination protection is switched on (`true`) or off.
    TerminationProtection {
        /// The new setting.
        on: bool,
    },
    /// The deployed template is not JSON (another tool deployed it): the texts differ though
    /// no resource does.
    TemplateText,
}

/// What [`preview`] found.
#[derive(Clone, Debug)]
pub struct Preview {
    /// Whose credentials, in which account and region.
    pub identity: Identity,
    /// The deployed stack; `None` when nothing is deployed that a deploy would update (no
    /// stack, an empty one in review, a failed first create, a deleted one).
    pub deployed: Option<DeployedStack>,
    /// The deployed template, when there is a live stack.
    pub deployed_template: Option<Json>,
    /// The template differences, resource by resource.
    pub diff: TemplateDiff,
    /// The stack settings that differ.
    pub settings: Vec<SettingChange>,
}

impl Preview {
    /// True when a deploy would change nothing.
    pub fn is_empty(&self) -> bool {
        self.diff.is_empty() && self.settings.is_empty()
    }
}

/// Checks the credentials against the environment, reads the deployed stack and its template,
/// and compares them with the request's template, tags, parameters and protection.
pub async fn preview(
    aws: Aws,
    request: &DeployRequest,
    schemas: SchemaLookup<'_>,
) -> Result<Preview, DeployError> {
    let identity = engine::preflight(&aws, &request.environment).await?;
    let name = &request.synth.stack_name;
    let deployed = stack::describe(&aws, name).await?.filter(|d| {
        !matches!(
            classify_status(&d.status),
            StatusClass::Review | StatusClass::FailedCreate | StatusClass::Deleted
        )
    });
    let deployed_template = match &deployed {
        Some(_) => stack::template(&aws, name).await?,
        None => None,
    };
    let diff = diff_templates(deployed_template.as_ref(), &request.synth.template, schemas);
    let settings = deployed
        .as_ref()
        .map(|d| settings(d, deployed_template.as_ref(), &diff, request))
        .unwrap_or_default();
    Ok(Preview {
        identity,
        deployed,
        deployed_template,
        diff,
        settings,
    })
}

fn settings(
    d: &DeployedStack,
    template: Option<&Json>,
    diff: &TemplateDiff,
    request: &DeployRequest,
) -> Vec<SettingChange> {
    let cmp = engine::compare(
        d,
        template,
        &request.synth,
        &request.tags,
        &request.environment,
    );
    let mut out: Vec<SettingChange> = cmp
        .tags
        .iter()
        .map(|k| SettingChange::Tag {
            key: k.clone(),
            old: d.tags.get(k).cloned(),
            new: request.tags.get(k).cloned(),
        })
        .collect();
    out.extend(
        cmp.parameters
            .iter()
            .map(|k| SettingChange::Parameter { key: k.clone() }),
    );
    if let Some(on) = cmp.termination_protection {
        out.push(SettingChange::TerminationProtection { on });
    }
    if cmp.template && diff.is_empty() {
        out.push(SettingChange::TemplateText);
    }
    out
}
