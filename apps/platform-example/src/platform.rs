//! The platform team's Dify stack: one [`Dify`] construct inside the team's own stack, its
//! props taken from the environment file with the team's overrides (its WAF, a log-retention
//! floor), the team's guardrail, and two escape hatches for what the props do not offer.
//!
//! ```
//! use dify_constructs::config::Environment;
//! use platform_example::platform::{PlatformDify, PlatformSettings};
//!
//! let env = Environment::from_toml_str("dev.toml", r#"
//!     region = "eu-west-1"
//!     [network.create]
//!     nat_gateways = 1
//! "#).expect("a valid environment");
//! let built = PlatformDify::build(&env, &PlatformSettings::for_env(&env))?;
//! assert!(built.dify.waf.is_some());
//! assert!(built.stack.synth().is_ok());
//! # Ok::<(), platform_example::platform::PlatformError>(())
//! ```

use cfn_core::rules::Enforcement;
use cfn_core::{Output, Stack};
use cfn_resources::rds;
use dify_constructs::config::Environment;
use dify_constructs::{Dify, DifyProps};
use serde_json::json;
use thiserror::Error;

use crate::guardrails;
use crate::waf::{WafError, WafSettings};

/// The platform's own settings, beside the Dify environment file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlatformSettings {
    /// The WAF in front of the load balancer; `None` for an internal load balancer.
    pub waf: Option<WafSettings>,
    /// The platform's log retention floor: every log group keeps logs at least this long,
    /// whatever the environment file says.
    pub min_log_retention_days: u32,
    /// Aurora I/O-Optimized storage (`aurora-iopt1`): no per-I/O charges, for an
    /// I/O-heavy production database.
    pub io_optimized_database: bool,
}

impl PlatformSettings {
    /// The platform's defaults for an environment: a WAF on every internet-facing load
    /// balancer (counting only outside production, blocking in production), 90 days of logs,
    /// I/O-Optimized Aurora in production.
    pub fn for_env(env: &Environment) -> PlatformSettings {
        PlatformSettings {
            waf: env.ingress.internet_facing.then(|| WafSettings {
                count_only: !env.production,
                ..WafSettings::default()
            }),
            min_log_retention_days: 90,
            io_optimized_database: env.production,
        }
    }
}

/// Why the platform stack could not be built.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum PlatformError {
    /// The WAF settings were refused.
    #[error("WAF: {0}")]
    Waf(#[from] WafError),
}

/// The platform's Dify stack and the Dify in it, so tests and callers can reach any handle
/// after it is built.
#[derive(Debug)]
pub struct PlatformDify {
    /// The stack.
    pub stack: Stack,
    /// The whole Dify (network, data stores, load balancer, the platform's WAF, services).
    pub dify: Dify,
}

impl PlatformDify {
    /// Builds the stack of one environment: the platform's stack settings, then one [`Dify`]
    /// whose props start from the environment file and carry the platform's overrides (its
    /// WAF, its retention floor), then two escape hatches and the outputs.
    pub fn build(
        env: &Environment,
        settings: &PlatformSettings,
    ) -> Result<PlatformDify, PlatformError> {
        // Refused WAF settings are an error of this build, not a finding at synthesis.
        if let Some(waf) = &settings.waf {
            waf.validate()?;
        }
        let mut stack = platform_stack(env);
        let props = DifyProps {
            // A default overridden in code: the platform's retention floor wins over the file.
            log_retention_days: Some(env.log_retention_days.max(settings.min_log_retention_days)),
            waf: settings.waf.clone(),
            ..DifyProps::from_environment(env)
        };
        let dify = Dify::new(&mut stack.root(), "Dify", props);
        escape_hatches(&mut stack, &dify, env, settings);
        outputs(&mut stack, &dify);
        Ok(PlatformDify { stack, dify })
    }
}

/// The stack, with the platform's description, guardrails (the default pack plus its own
/// rule; enforced in production) and tags.
fn platform_stack(env: &Environment) -> Stack {
    let mut stack = Stack::new(env.stack_name.as_str());
    stack.set_description(format!(
        "Dify {} for the platform team ({} environment)",
        env.images.dify_version, env.name
    ));
    stack.set_guardrails(
        guardrails::pack(env.production),
        if env.production {
            Enforcement::Enforce
        } else {
            Enforcement::Advise
        },
    );
    stack.add_tag("team", "platform");
    stack.add_tag("env", env.name.as_str());
    for (k, v) in &env.tags {
        stack.add_tag(k.as_str(), v.as_str());
    }
    stack
}

/// What the props do not offer, changed after the constructs built it.
fn escape_hatches(stack: &mut Stack, dify: &Dify, env: &Environment, settings: &PlatformSettings) {
    // Escape hatch 1, JSON by path: least-outstanding-requests routing for the api, whose
    // requests take from milliseconds to many minutes (streamed answers). The whole list is
    // replaced, so the construct's deregistration delay is restated.
    stack.resource(&dify.ingress.api).add_property_override(
        "TargetGroupAttributes",
        json!([
            {"Key": "deregistration_delay.timeout_seconds", "Value": env.ingress.idle_timeout_seconds.to_string()},
            {"Key": "load_balancing.algorithm.type", "Value": "least_outstanding_requests"}
        ]),
    );
    // Escape hatch 2, typed: edit the cluster's props after the construct built them.
    if settings.io_optimized_database
        && let Some(cluster) = stack
            .resource(&dify.database.cluster)
            .props_mut::<rds::DbCluster>()
    {
        cluster.storage_type = Some("aurora-iopt1".into());
    }
}

fn outputs(stack: &mut Stack, dify: &Dify) {
    stack.add_output(
        "Url",
        Output::new(dify.ingress.url.clone()).description("Dify's public URL"),
    );
    stack.add_output(
        "LoadBalancerDnsName",
        Output::new(dify.ingress.load_balancer.dns_name())
            .description("The load balancer's DNS name"),
    );
    stack.add_output(
        "FilesBucket",
        Output::new(dify.storage.bucket.reference().untyped()).description("Dify's file bucket"),
    );
    if let Some(w) = &dify.waf {
        stack.add_output(
            "WebAclArn",
            Output::new(w.web_acl.arn()).description("The WAF web ACL in front of Dify"),
        );
    }
}
