//! One stack per environment: `Dify` (log retention and WAF overridden) and `Jobs` in its
//! network. The environments are plain Rust; Dify's settings come from the same checked
//! resolver as `dify-app`'s environment files.

use cfn_core::{Output, Stack};
use dify_constructs::config::{ConfigErrors, Environment};
use dify_constructs::waf::WafSettings;
use dify_constructs::{Dify, DifyProps};

use crate::jobs::{Jobs, JobsProps};

/// One of the team's environments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TeamEnv {
    /// Short name (`dev`, `prd`).
    pub name: String,
    /// The CloudFormation stack.
    pub stack_name: String,
    /// Region.
    pub region: String,
    /// Production: enforced guardrails, blocking WAF.
    pub production: bool,
}

impl TeamEnv {
    /// Development in eu-west-1.
    pub fn dev() -> TeamEnv {
        TeamEnv {
            name: "dev".into(),
            stack_name: "team-dev".into(),
            region: "eu-west-1".into(),
            production: false,
        }
    }

    /// Production in eu-west-1.
    pub fn prd() -> TeamEnv {
        TeamEnv {
            name: "prd".into(),
            stack_name: "team-prd".into(),
            region: "eu-west-1".into(),
            production: true,
        }
    }

    /// Dify's settings for this environment, through the same checked resolver as an
    /// environment file: one NAT gateway outside production; in production a domain with
    /// its certificate, images through the ECR pull-through cache and an on-call address.
    pub fn dify_settings(&self) -> Result<Environment, ConfigErrors> {
        let mut text = format!(
            "stack_name = \"{}\"\nregion = \"{}\"\nproduction = {}\n",
            self.stack_name, self.region, self.production
        );
        if self.production {
            text.push_str(PRODUCTION);
        } else {
            text.push_str("[network.create]\nnat_gateways = 1\n");
        }
        Environment::from_toml_str(format!("{}.toml", self.name), &text)
    }
}

/// What production adds (the account's certificate and cache credential are the team's).
const PRODUCTION: &str = r#"account = "555555555555"
[network.create]
azs = 3
[domain]
name = "dify.team.example.com"
certificate_arn = "arn:aws:acm:eu-west-1:555555555555:certificate/55555555-6666-7777-8888-999999999999"
[ingress.allowlist]
office = ["198.51.100.0/24"]
[images.pull_through_cache]
credential_arn = "arn:aws:secretsmanager:eu-west-1:555555555555:secret:ecr-pullthroughcache/docker-hub-AbCdEf"
[alarms]
email = "team-oncall@example.com"
"#;

/// The team's stack: Dify with 90 days of logs and the team's WAF (counting outside
/// production), and the jobs pipeline in Dify's private subnets.
pub fn team_stack(env: &TeamEnv) -> Result<Stack, ConfigErrors> {
    let settings = env.dify_settings()?;
    let mut stack = Stack::new(env.stack_name.as_str());
    stack.set_guardrails(
        cfn_rules_pack(env.production),
        if env.production {
            cfn_core::rules::Enforcement::Enforce
        } else {
            cfn_core::rules::Enforcement::Advise
        },
    );
    let mut root = stack.root();
    let dify = Dify::new(
        &mut root,
        "Dify",
        DifyProps {
            log_retention_days: Some(90),
            waf: Some(WafSettings {
                count_only: !env.production,
                ..WafSettings::default()
            }),
            ..DifyProps::from_environment(&settings)
        },
    );
    let jobs = Jobs::new(
        &mut root,
        "Jobs",
        JobsProps::new(
            dify.network.vpc_id.clone(),
            dify.network.private_subnets.clone(),
        ),
    );
    stack.add_output("JobsQueueUrl", Output::new(jobs.queue.queue_url()));
    stack.add_output("ResultsTable", Output::new(jobs.table.reference()));
    Ok(stack)
}

fn cfn_rules_pack(production: bool) -> cfn_core::rules::RulePack {
    cfn_rules::default_pack(cfn_rules::Profile::from_production(production))
}
