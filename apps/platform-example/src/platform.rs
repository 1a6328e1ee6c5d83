//! The platform team's Dify stack: the Dify constructs composed one by one inside the team's
//! own stack, with the team's WAF, its guardrail, its defaults and two escape hatches.
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
//! assert!(built.waf.is_some());
//! assert!(built.stack.synth().is_ok());
//! # Ok::<(), platform_example::platform::PlatformError>(())
//! ```

use cfn_core::rules::Enforcement;
use cfn_core::{Output, Stack};
use cfn_resources::{kms, rds};
use dify_constructs::cache::CacheLogs;
use dify_constructs::cluster::ClusterDeps;
use dify_constructs::config::Environment;
use dify_constructs::{
    DifyCache, DifyCluster, DifyDatabase, DifyIngress, DifyNetwork, DifyStorage,
};
use serde_json::json;
use thiserror::Error;

use crate::guardrails;
use crate::waf::{AlbWaf, WafError, WafSettings};

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

/// The platform's Dify stack and every construct in it, so tests and callers can reach any
/// handle after it is built.
#[derive(Debug)]
pub struct PlatformDify {
    /// The stack.
    pub stack: Stack,
    /// The production data key (Aurora, ElastiCache, secrets, logs), when the environment uses one.
    pub data_key: Option<kms::KeyHandle>,
    /// Network.
    pub network: DifyNetwork,
    /// Files and access logs.
    pub storage: DifyStorage,
    /// Aurora.
    pub database: DifyDatabase,
    /// ElastiCache.
    pub cache: DifyCache,
    /// Load balancer.
    pub ingress: DifyIngress,
    /// ECS.
    pub cluster: DifyCluster,
    /// The platform's WAF.
    pub waf: Option<AlbWaf>,
}

impl PlatformDify {
    /// Builds the stack of one environment.
    pub fn build(
        env: &Environment,
        settings: &PlatformSettings,
    ) -> Result<PlatformDify, PlatformError> {
        // A default overridden in code: the platform's retention floor wins over the file.
        let mut env = env.clone();
        env.log_retention_days = env.log_retention_days.max(settings.min_log_retention_days);
        let env = &env;

        let mut stack = Stack::new(env.stack_name.as_str());
        stack.set_description(format!(
            "Dify {} for the platform team ({} environment)",
            env.images.dify_version, env.name
        ));
        // The default pack plus the platform's own rule; enforced in production.
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

        let mut root = stack.root();
        let data_key = env
            .database
            .customer_managed_key
            .then(|| dify_constructs::stack::data_key(&mut root, env));
        let key_arn = data_key.as_ref().map(|k| k.arn());

        // Every Dify construct under one `Dify` subtree, one by one: any of them could be left
        // out or replaced by the team's own.
        let mut dify = root.child("Dify");
        let network = DifyNetwork::new(&mut dify, "Network", &env.network);
        let mut storage = DifyStorage::new(
            &mut dify,
            "Storage",
            env.ingress.access_logs,
            dify_constructs::stack::elb_log_principal(&env.region),
        );
        if let Some(key) = &key_arn {
            storage.encrypt_with(&mut dify, key);
        }
        let database = DifyDatabase::new(
            &mut dify,
            "Database",
            &env.database,
            &network,
            key_arn.as_ref(),
            env.production,
        );
        let slow_log = format!("/dify/{}/cache-slow-log", env.name);
        let cache = DifyCache::new(
            &mut dify,
            "Cache",
            &env.cache,
            &network,
            CacheLogs {
                log_group_name: &slow_log,
                retention_days: env.log_retention_days,
            },
            key_arn.as_ref(),
            env.production,
        );
        let ingress = DifyIngress::new(
            &mut dify,
            "Ingress",
            &env.ingress,
            &env.domain,
            &network,
            storage.access_logs.as_ref(),
        );
        // Deployment alarms page the environment's topic (or an e-mail subscription).
        let topic = {
            let mut alarms = dify.child("Alarms");
            dify_constructs::stack::alarm_topic(&mut alarms, env)
        };
        let cluster = DifyCluster::new(
            &mut dify,
            "App",
            ClusterDeps {
                env,
                network: &network,
                database: &database,
                cache: &cache,
                storage: &storage,
                ingress: &ingress,
                kms_key: key_arn.as_ref(),
                stack_name: &env.stack_name,
                alarm_topic: topic.as_ref(),
            },
        );

        // The platform's own construct, beside Dify's.
        let waf = match &settings.waf {
            Some(w) => Some(AlbWaf::new(&mut root, "Waf", w, &ingress.load_balancer)?),
            None => None,
        };

        // Escape hatch 1, JSON by path: least-outstanding-requests routing for the api, whose
        // requests take from milliseconds to many minutes (streamed answers). The whole list is
        // replaced, so the construct's deregistration delay is restated.
        stack.resource(&ingress.api).add_property_override(
            "TargetGroupAttributes",
            json!([
                {"Key": "deregistration_delay.timeout_seconds", "Value": env.ingress.idle_timeout_seconds.to_string()},
                {"Key": "load_balancing.algorithm.type", "Value": "least_outstanding_requests"}
            ]),
        );
        // Escape hatch 2, typed: edit the cluster's props after the construct built them.
        if settings.io_optimized_database
            && let Some(cluster) = stack
                .resource(&database.cluster)
                .props_mut::<rds::DbCluster>()
        {
            cluster.storage_type = Some("aurora-iopt1".into());
        }

        stack.add_output(
            "Url",
            Output::new(ingress.url.clone()).description("Dify's public URL"),
        );
        stack.add_output(
            "LoadBalancerDnsName",
            Output::new(ingress.load_balancer.dns_name())
                .description("The load balancer's DNS name"),
        );
        stack.add_output(
            "FilesBucket",
            Output::new(storage.bucket.reference().untyped()).description("Dify's file bucket"),
        );
        if let Some(w) = &waf {
            stack.add_output(
                "WebAclArn",
                Output::new(w.web_acl.arn()).description("The WAF web ACL in front of Dify"),
            );
        }
        Ok(PlatformDify {
            stack,
            data_key,
            network,
            storage,
            database,
            cache,
            ingress,
            cluster,
            waf,
        })
    }
}
