//! cfn-lint and checkov on the production stack with private-only mode, SSO and Bedrock on:
//! the switches add nothing either tool refuses, and the cfn-rules guardrails pass.
#![allow(missing_docs, clippy::unwrap_used)]

use dify_constructs::DifyStack;
use dify_constructs::config::Environment;
use integration_tests::{cfn_lint, require_tool, workspace_root, write_temp};

const PRIVATE: &str = r#"
[network.private]
pypi_mirror_url = "https://pypi.corp.example.com/simple"
egress_cidrs = ["10.20.0.0/16"]

[ingress]
internet_facing = false

[bedrock]
enabled = true
"#;

const OIDC: &str = r#"
[ingress.sso.oidc]
issuer = "https://login.example.com"
authorization_endpoint = "https://login.example.com/authorize"
token_endpoint = "https://login.example.com/token"
user_info_endpoint = "https://login.example.com/userinfo"
client_id = "dify"
client_secret_arn = "arn:aws:secretsmanager:ap-northeast-1:333333333333:secret:dify/prd/oidc-AbCdEf"
"#;

const COGNITO: &str = r#"
[ingress.sso.cognito]
user_pool_arn = "arn:aws:cognito-idp:ap-northeast-1:333333333333:userpool/ap-northeast-1_AbCdEf"
user_pool_client_id = "abc123"
user_pool_domain = "dify-login"

[bedrock]
inference_profile_arns = ["arn:aws:bedrock:ap-northeast-1:333333333333:inference-profile/apac.anthropic.claude-3-5-sonnet-20241022-v2:0"]
model_regions = ["ap-southeast-1"]
"#;

/// prd with `extra` appended, synthesized: (file name, body, findings of the guardrails).
fn prd_with(name: &str, extra: &str) -> (std::path::PathBuf, String) {
    let file = workspace_root().join("apps/dify-app/environments/prd.toml");
    let text = std::fs::read_to_string(file).unwrap() + extra;
    let env = Environment::from_toml_str("prd.toml", &text).unwrap_or_else(|e| panic!("{e}"));
    let out = DifyStack::build(&env).stack.synth().unwrap();
    let errors: Vec<_> = out
        .findings
        .iter()
        .filter(|f| f.severity == cfn_core::Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{name}: {errors:#?}");
    (write_temp(name, &out.body), out.body)
}

fn variants() -> Vec<(std::path::PathBuf, String)> {
    vec![
        prd_with("prd-private-oidc-bedrock", &format!("{PRIVATE}{OIDC}")),
        prd_with("prd-cognito-bedrock", COGNITO),
    ]
}

#[test]
fn cfn_lint_reports_nothing_with_the_switches_on() {
    let lint = require_tool("CFN_LINT", "cfn-lint");
    let variants = variants();
    for (_, body) in &variants {
        assert!(body.contains("authenticate-"));
        assert!(body.contains("bedrock:InvokeModel"));
    }
    assert!(variants[0].1.contains("\"Scheme\": \"internal\""));
    let files: Vec<_> = variants.into_iter().map(|(p, _)| p).collect();
    let findings = cfn_lint(&lint, &files);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn checkov_fails_nothing_with_the_switches_on() {
    let checkov = require_tool("CHECKOV", "checkov");
    for (path, _) in variants() {
        let report = integration_tests::checkov(&checkov, &path);
        assert_eq!(
            report["summary"]["failed"],
            0,
            "{}: {:#}",
            path.display(),
            report["results"]["failed_checks"]
        );
        assert!(report["summary"]["passed"].as_u64().unwrap() > 300);
    }
}

/// The commented example in prd.toml, uncommented, is a valid environment that synthesizes
/// with the three switches on.
#[test]
fn the_commented_prd_example_works_when_uncommented() {
    let file = workspace_root().join("apps/dify-app/environments/prd.toml");
    let text = std::fs::read_to_string(file).unwrap();
    let (head, example) = text.split_once("# Private-only mode").unwrap();
    let uncommented: String = format!("# Private-only mode{example}")
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(rest) if rest.starts_with('[') || rest.contains(" = ") => rest,
            _ => l,
        })
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(uncommented.contains("\n[network.private]\n"));
    let env = Environment::from_toml_str("prd.toml", &format!("{head}{uncommented}"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(env.private.is_some() && env.sso.is_some() && env.bedrock.is_some());
    assert!(!env.ingress.internet_facing);
    let body = DifyStack::build(&env).stack.synth().unwrap().body;
    assert!(body.contains("PIP_MIRROR_URL") && body.contains("authenticate-oidc"));
}
