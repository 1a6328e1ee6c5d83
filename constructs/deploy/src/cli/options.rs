//! `deploy`'s options beyond the environment: parameter values (flags and a file), extra
//! tags, the service role, notifications, rollback, and the outputs file.

use std::path::PathBuf;

use indexmap::IndexMap;

use super::{CliError, Exit};
use crate::project::Environment;

/// What `deploy` was asked besides the environment: its flags.
#[derive(Debug, Default, clap::Args)]
pub(crate) struct DeployOptions {
    /// Do not ask for confirmation (required without a terminal).
    #[arg(long, short = 'y')]
    pub(crate) yes: bool,
    /// Allow replacing stateful resources in environments that refuse it.
    #[arg(long)]
    pub(crate) allow_replacement: bool,
    /// A template parameter's value, `KEY=VALUE` (repeatable); wins over the environment's
    /// and over --parameters-file.
    #[arg(long = "parameters", value_name = "KEY=VALUE", value_parser = key_value)]
    pub(crate) parameters: Vec<(String, String)>,
    /// Template parameter values from a JSON file: `{"Key": "Value"}`, or the AWS CLI's
    /// `[{"ParameterKey": "Key", "ParameterValue": "Value"}]`.
    #[arg(long, value_name = "FILE")]
    pub(crate) parameters_file: Option<PathBuf>,
    /// An extra stack tag, `KEY=VALUE` (repeatable).
    #[arg(long = "tags", value_name = "KEY=VALUE", value_parser = key_value)]
    pub(crate) tags: Vec<(String, String)>,
    /// The IAM role CloudFormation acts as for this stack (a service role).
    #[arg(long, value_name = "ARN")]
    pub(crate) role_arn: Option<String>,
    /// An SNS topic told about every stack event (repeatable).
    #[arg(long = "notification-arns", value_name = "ARN")]
    pub(crate) notification_arns: Vec<String>,
    /// On failure, keep what was created or updated instead of rolling back (development).
    #[arg(long)]
    pub(crate) no_rollback: bool,
    /// Write the stack's outputs as JSON (`{"Stack": {"Key": "Value"}}`) after a deploy.
    #[arg(long, value_name = "FILE")]
    pub(crate) outputs_file: Option<PathBuf>,
    /// Create the change set, show it, and leave it for review without executing it.
    #[arg(long, conflicts_with = "change_set")]
    pub(crate) no_execute: bool,
}

/// `KEY=VALUE`, the key non-empty.
fn key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(format!("'{s}' is not KEY=VALUE")),
    }
}

/// Merges `--parameters-file` and then `--parameters` over the environment's parameter
/// values, refusing a name the template does not declare (CloudFormation would, after the
/// change set was made).
pub(super) fn given_parameters(
    env: &mut Environment,
    template: &serde_json::Value,
    opts: &DeployOptions,
) -> Result<(), CliError> {
    let mut given: Vec<(String, String)> = match &opts.parameters_file {
        Some(path) => read_parameters_file(path)?,
        None => Vec::new(),
    };
    given.extend(opts.parameters.iter().cloned());
    let declared: Vec<&str> = template
        .get("Parameters")
        .and_then(serde_json::Value::as_object)
        .map(|p| p.keys().map(String::as_str).collect())
        .unwrap_or_default();
    for (k, v) in given {
        if !declared.contains(&k.as_str()) {
            return Err(CliError::new(
                Exit::Usage,
                format!(
                    "parameter {k}: the template of {} declares no such parameter (it declares: {})",
                    env.stack_name,
                    if declared.is_empty() {
                        "none".to_owned()
                    } else {
                        declared.join(", ")
                    }
                ),
            ));
        }
        env.parameters.insert(k, v);
    }
    Ok(())
}

/// `{"Key": "Value"}`, or the AWS CLI's `[{"ParameterKey": …, "ParameterValue": …}]`.
fn read_parameters_file(path: &std::path::Path) -> Result<Vec<(String, String)>, CliError> {
    let bad = |why: String| {
        CliError::new(
            Exit::Usage,
            format!("--parameters-file {}: {why}", path.display()),
        )
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
    let value = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    match &json {
        serde_json::Value::Object(m) => m
            .iter()
            .map(|(k, v)| {
                value(v)
                    .map(|v| (k.clone(), v))
                    .ok_or_else(|| bad(format!("{k}: a value is a string, number or boolean")))
            })
            .collect(),
        serde_json::Value::Array(items) => items
            .iter()
            .map(|i| {
                let k = i.get("ParameterKey").and_then(serde_json::Value::as_str);
                let v = i.get("ParameterValue").and_then(value);
                k.zip(v)
                    .map(|(k, v)| (k.to_owned(), v))
                    .ok_or_else(|| bad("each item needs ParameterKey and ParameterValue".into()))
            })
            .collect(),
        _ => Err(bad(
            "expected an object or a list of {ParameterKey, ParameterValue}".into(),
        )),
    }
}

/// Writes `{"<stack>": {outputs}}` (the CDK's `--outputs-file` shape) through a temporary
/// file, so a reader never sees half of it.
pub(super) fn write_outputs(
    path: &std::path::Path,
    stack: &str,
    outputs: &IndexMap<String, String>,
) -> Result<(), CliError> {
    // Each stack of a multi-stack deploy adds its key; other stacks' keys are kept.
    let mut json = std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .filter(serde_json::Value::is_object)
        .unwrap_or_else(|| serde_json::json!({}));
    json[stack] = serde_json::json!(outputs);
    let text = serde_json::to_string_pretty(&json).unwrap_or_default() + "\n";
    let tmp = path.with_extension("tmp-outputs");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            CliError::new(
                Exit::Failed,
                format!(
                    "the deploy succeeded, but writing {} failed: {e}",
                    path.display()
                ),
            )
        })
}
