//! Secrets: in container and function environments, in template parameters, in SSM String
//! parameters, and in database logs. See the crate's `detect` heuristics for what "looks like
//! a secret" means.

use cfn_core::Json;
use cfn_core::rules::{Finding, Rule, RuleContext};

use crate::detect::{secret_name, secret_value};
use crate::util::{env_vars, meta, no_echo, shape, str_is};

/// Every `Ref` target and `Fn::Sub` variable in a value.
fn references(v: &Json, out: &mut Vec<String>) {
    match v {
        Json::Object(o) => {
            for (k, x) in o {
                match (k.as_str(), x) {
                    ("Ref", Json::String(s)) => out.push(s.clone()),
                    ("Fn::Sub", Json::String(s)) => sub_vars(s, out),
                    ("Fn::Sub", Json::Array(a)) => {
                        if let Some(Json::String(s)) = a.first() {
                            sub_vars(s, out);
                        }
                        for y in a.iter().skip(1) {
                            references(y, out);
                        }
                    }
                    _ => references(x, out),
                }
            }
        }
        Json::Array(a) => a.iter().for_each(|x| references(x, out)),
        _ => {}
    }
}

fn sub_vars(s: &str, out: &mut Vec<String>) {
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else { return };
        let name = &after[..end];
        if !name.starts_with('!') && !name.contains('.') {
            out.push(name.to_owned());
        }
        rest = &after[end + 1..];
    }
}

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
    let mut refs = Vec::new();
    references(v, &mut refs);
    let params = ctx.template().get("Parameters");
    for name in refs {
        if let Some(p) = params.and_then(|ps| ps.get(&name)) {
            if no_echo(ctx, p) {
                return Some(format!("puts the NoEcho parameter {name} in plain text"));
            }
            if secret_name(&name) {
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
