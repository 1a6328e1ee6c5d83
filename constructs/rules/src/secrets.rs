//! Secrets: in container and function environments, in template parameters, in SSM String
//! parameters, in database logs, and database passwords that never rotate. See the crate's `detect` heuristics for what "looks like
//! a secret" means.

use cfn_core::Json;
use cfn_core::rules::{Finding, ResourceView, Rule, RuleContext};

use crate::detect::{secret_name, secret_value};
use crate::graph::references;
use crate::util::{env_vars, meta, named, no_echo, ref_target, shape, str_is};

/// Whether any string in a value is a dynamic reference to a secret.
fn resolves_secret(v: &Json) -> bool {
    match v {
        Json::String(s) => {
            s.contains("{{resolve:secretsmanager:") || s.contains("{{resolve:ssm-secure:")
        }
        Json::Array(a) => a.iter().any(resolves_secret),
        Json::Object(o) => o.values().any(resolves_secret),
        _ => false,
    }
}

/// Why a value that ends up in plain text holds a secret, or `None`.
fn plaintext_secret(ctx: &RuleContext<'_>, v: &Json) -> Option<String> {
    if resolves_secret(v) {
        return Some("resolves a secret (dynamic reference) into plain text".into());
    }
    let params = ctx.template().get("Parameters");
    for name in references(v)
        .into_iter()
        .filter(|r| r.attr.is_none())
        .map(|r| r.target)
    {
        if let Some(p) = params.and_then(|ps| ps.get(name)) {
            if no_echo(ctx, p) {
                return Some(format!("puts the NoEcho parameter {name} in plain text"));
            }
            if secret_name(name) {
                return Some(format!(
                    "puts parameter {name}, a secret by its name, in plain text"
                ));
            }
        }
    }
    secret_value(&shape(ctx, v)).map(str::to_owned)
}

/// `secret-env-name`: no plain environment variable of an ECS container or a Lambda function
/// has a secret-looking name (`…PASSWORD`, `…SECRET…`, `…TOKEN`, `…_KEY`, …) with a non-empty
/// value.
///
/// Task definitions are readable by anyone with `ecs:DescribeTaskDefinition`, function
/// configurations by anyone with `lambda:GetFunctionConfiguration`; a secret in either is
/// disclosed to every reader of the account's configuration and every template copy.
#[derive(Clone, Copy, Debug, Default)]
pub struct SecretEnvName;

impl Rule for SecretEnvName {
    meta!(
        "secret-env-name",
        Error,
        "a secret in a plain environment variable is readable by anyone who can describe the task or function",
        "inject it through the container's Secrets (valueFrom a Secrets Manager secret) or read it from Secrets Manager at start",
        ["CKV_AWS_45"]
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for v in env_vars(ctx) {
            if secret_name(v.name) && !shape(ctx, v.value).is_empty() {
                out.push(v.resource.finding(
                    self,
                    Some(&v.name_path()),
                    format!("{} looks like a secret in plain environment", v.name),
                ));
            }
        }
    }
}

/// `secret-env-value`: no plain environment variable holds a secret-looking value: a dynamic
/// reference to a secret (resolved into plain text), a `NoEcho` or secret-named parameter, an
/// access key, a known API key prefix, a URL with a password, or a long high-entropy string.
#[derive(Clone, Copy, Debug, Default)]
pub struct SecretEnvValue;

impl Rule for SecretEnvValue {
    meta!(
        "secret-env-value",
        Error,
        "a secret value in a plain environment variable is readable by anyone who can describe the task or function",
        "move the value to Secrets Manager and inject it through the container's Secrets; build URLs with credentials inside the secret",
        ["CKV_AWS_45"]
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for v in env_vars(ctx) {
            if let Some(why) = plaintext_secret(ctx, v.value) {
                out.push(v.resource.finding(
                    self,
                    Some(&v.value_path()),
                    format!("{} {why}", v.name),
                ));
            }
        }
    }
}

/// `secret-parameter-noecho`: template parameters named like secrets (`DbPassword`,
/// `ApiToken`, …) are `NoEcho` and have no `Default`.
///
/// Findings are about the template, so their construct path is the stack's; they cannot be
/// suppressed on a construct (fix the parameter instead).
#[derive(Clone, Copy, Debug, Default)]
pub struct SecretParameterNoEcho;

impl SecretParameterNoEcho {
    fn finding(&self, ctx: &RuleContext<'_>, name: &str, prop: &str, message: String) -> Finding {
        Finding {
            rule_id: self.id(),
            severity: self.severity(),
            construct_path: ctx.stack().name().to_owned(),
            logical_id: name.to_owned(),
            property: Some(format!("Parameters.{name}.{prop}")),
            message,
            fix: self.fix(),
            suppressed: None,
        }
    }
}

impl Rule for SecretParameterNoEcho {
    meta!(
        "secret-parameter-noecho",
        Error,
        "a secret parameter without NoEcho shows in the console, the API and every stack event",
        "set NoEcho: true and no Default; better, generate the secret in Secrets Manager and use a dynamic reference",
        []
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        let Some(params) = ctx.template().get("Parameters").and_then(Json::as_object) else {
            return;
        };
        for (name, p) in params {
            // SSM-typed parameters hold a parameter name; the value never shows.
            let ssm_typed = p
                .get("Type")
                .and_then(Json::as_str)
                .is_some_and(|t| t.starts_with("AWS::SSM::"));
            if ssm_typed || !secret_name(name) {
                continue;
            }
            if !no_echo(ctx, p) {
                out.push(self.finding(
                    ctx,
                    name,
                    "NoEcho",
                    format!("parameter {name} looks like a secret but is not NoEcho"),
                ));
            }
            if p.get("Default")
                .and_then(Json::as_str)
                .is_some_and(|d| !d.is_empty())
            {
                out.push(self.finding(
                    ctx,
                    name,
                    "Default",
                    format!("parameter {name} has a default value: a secret in the template"),
                ));
            }
        }
    }
}

/// `secret-ssm-plaintext`: SSM `String`/`StringList` parameters (the only types CloudFormation
/// creates) hold no secret: neither a secret-looking name (`/app/db/password`) nor a
/// secret-looking value.
#[derive(Clone, Copy, Debug, Default)]
pub struct SecretSsmPlaintext;

impl Rule for SecretSsmPlaintext {
    meta!(
        "secret-ssm-plaintext",
        Error,
        "an SSM String parameter is plain text to anyone with ssm:GetParameter, and its value is in the template",
        "generate the secret in Secrets Manager (GenerateSecretString) and reference it; CloudFormation cannot create SecureString parameters",
        ["CKV_AWS_384"]
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for r in ctx.resources_of_type("AWS::SSM::Parameter") {
            if !(str_is(ctx, r.get("Type"), "String") || str_is(ctx, r.get("Type"), "StringList")) {
                continue;
            }
            if let Some(name) = r.get("Name").map(|n| shape(ctx, n))
                && secret_name(&name)
            {
                out.push(r.finding(
                    self,
                    Some("Name"),
                    format!("{name} names a secret in a plain String parameter"),
                ));
            }
            if let Some(why) = r.get("Value").and_then(|v| plaintext_secret(ctx, v)) {
                out.push(r.finding(self, Some("Value"), format!("the value {why}")));
            }
        }
    }
}

/// `secret-db-statement-logging`: PostgreSQL parameter groups do not log statement text that
/// carries passwords: `log_statement` `ddl`, `mod` or `all` (each logs `ALTER ROLE … PASSWORD`),
/// or `log_min_duration_statement = 0` (logs every statement).
#[derive(Clone, Copy, Debug, Default)]
pub struct SecretDbStatementLogging;

impl Rule for SecretDbStatementLogging {
    meta!(
        "secret-db-statement-logging",
        Error,
        "logging statement text writes passwords (CREATE/ALTER ROLE … PASSWORD) and personal data to the logs",
        "leave log_statement at none and log slow statements only (log_min_duration_statement of 1000 or more)",
        []
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for r in ctx
            .resources_of_type("AWS::RDS::DBClusterParameterGroup")
            .chain(ctx.resources_of_type("AWS::RDS::DBParameterGroup"))
        {
            let Some(params) = r.get("Parameters") else {
                continue;
            };
            if let Some(v) = params.get("log_statement").and_then(|v| ctx.resolve_str(v))
                && ["ddl", "mod", "all"]
                    .iter()
                    .any(|x| v.eq_ignore_ascii_case(x))
            {
                out.push(r.finding(
                    self,
                    Some("Parameters.log_statement"),
                    format!("log_statement={v} logs statement text, passwords included"),
                ));
            }
            if let Some(v) = params
                .get("log_min_duration_statement")
                .and_then(|v| ctx.resolve_str(v))
                && v.trim() == "0"
            {
                out.push(r.finding(
                    self,
                    Some("Parameters.log_min_duration_statement"),
                    "log_min_duration_statement=0 logs every statement, passwords included",
                ));
            }
        }
    }
}

const SECRET: &str = "AWS::SecretsManager::Secret";

/// The secret a resource stands for: a secret, or the secret of a `SecretTargetAttachment`
/// (whose `Ref` is the secret's ARN, as the AWS CDK uses it).
fn secret_of<'a>(ctx: &RuleContext<'a>, id: &str) -> Option<ResourceView<'a>> {
    let r = ctx.resource(id)?;
    match r.type_name {
        SECRET => Some(r),
        "AWS::SecretsManager::SecretTargetAttachment" => {
            let target = r.get("SecretId").and_then(ref_target)?;
            ctx.resource(target).filter(|s| s.type_name == SECRET)
        }
        _ => None,
    }
}

/// A secret's literal `Name`.
fn literal_name(ctx: &RuleContext<'_>, secret: &ResourceView<'_>) -> Option<String> {
    secret.get("Name").and_then(|n| ctx.resolve_str(n))
}

/// The secret of this template a `{{resolve:secretsmanager:…}}` value reads: by reference
/// (`Fn::Join`/`Fn::Sub` of its `Ref`) or by its literal name.
fn password_secret<'a>(ctx: &RuleContext<'a>, v: &Json) -> Option<ResourceView<'a>> {
    references(v)
        .into_iter()
        .find_map(|r| secret_of(ctx, r.target))
        .or_else(|| {
            let text = shape(ctx, v);
            ctx.resources_of_type(SECRET).find(|s| {
                literal_name(ctx, s).is_some_and(|n| {
                    let by_name = format!("{{{{resolve:secretsmanager:{n}");
                    text.contains(&format!("{by_name}:"))
                        || text.contains(&format!("{by_name}}}}}"))
                })
            })
        })
}

/// Whether an `AWS::SecretsManager::RotationSchedule` rotates the secret (its `SecretId`
/// refers to it, to an attachment of it, or names it).
fn rotated(ctx: &RuleContext<'_>, secret: &ResourceView<'_>) -> bool {
    ctx.resources_of_type("AWS::SecretsManager::RotationSchedule")
        .filter_map(|r| r.get("SecretId"))
        .any(|id| {
            let by_ref = ref_target(id).and_then(|t| secret_of(ctx, t));
            let name = literal_name(ctx, secret);
            by_ref.is_some_and(|s| s.logical_id == secret.logical_id)
                || name.is_some() && ctx.resolve_str(id) == name
        })
}

/// `secret-db-rotation` (production): an Aurora/RDS cluster or DB instance with a
/// `MasterUserPassword` either lets RDS manage it (`ManageMasterUserPassword: true`) or reads
/// it from a Secrets Manager secret of the template (`{{resolve:secretsmanager:…}}` of its
/// `Ref`, or of its name) that an `AWS::SecretsManager::RotationSchedule` rotates.
#[derive(Clone, Copy, Debug, Default)]
pub struct SecretDbRotation;

impl Rule for SecretDbRotation {
    meta!(
        "secret-db-rotation",
        Error,
        "a master password that never rotates stays valid for everyone who ever read it",
        "set ManageMasterUserPassword: true (RDS rotates it), or add an AWS::SecretsManager::RotationSchedule for the secret the password resolves from",
        []
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for db in ctx
            .resources_of_type("AWS::RDS::DBCluster")
            .chain(ctx.resources_of_type("AWS::RDS::DBInstance"))
        {
            let Some(pw) = db.get("MasterUserPassword") else {
                continue;
            };
            if ctx.is_true(db.get("ManageMasterUserPassword")) {
                continue;
            }
            let message = match password_secret(ctx, pw) {
                Some(s) if rotated(ctx, &s) => continue,
                Some(s) => format!(
                    "the master password comes from secret {}, which nothing rotates",
                    named(&s)
                ),
                None if shape(ctx, pw).contains("{{resolve:secretsmanager:") => {
                    "the master password comes from a secret outside the template, whose rotation cannot be checked".into()
                }
                None => "the master password is neither managed by RDS nor read from a rotated secret".into(),
            };
            out.push(db.finding(self, Some("MasterUserPassword"), message));
        }
    }
}
