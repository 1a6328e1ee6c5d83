//! `Dify`: a whole Dify (network, files, database, cache, load balancer, ECS services,
//! migration, alarms) as one construct that a platform team instantiates inside its own
//! stack, with props, instead of composing the parts one by one.
//!
//! ```
//! use cfn_core::Stack;
//! use dify_constructs::config::Environment;
//! use dify_constructs::waf::WafSettings;
//! use dify_constructs::{Dify, DifyProps};
//!
//! let settings = Environment::from_toml_str("team.toml", r#"
//!     region = "eu-west-1"
//!     [network.create]
//!     nat_gateways = 1
//! "#).expect("valid settings");
//! let mut stack = Stack::new("team-platform");
//! let dify = Dify::new(&mut stack.root(), "Dify", DifyProps {
//!     log_retention_days: Some(90),
//!     waf: Some(WafSettings { count_only: true, ..WafSettings::default() }),
//!     ..DifyProps::new(&settings)
//! });
//! assert!(dify.network.private_subnets.len() >= 2);
//! assert!(stack.synth().is_ok());
//! ```

use cfn_core::Scope;
use cfn_resources::kms;

use crate::config::Environment;
use crate::stack::{alarm_topic, alarms, data_key, elb_log_principal};
use crate::waf::WafSettings;
use crate::{DifyCache, DifyCluster, DifyDatabase, DifyIngress, DifyNetwork, DifyStorage};

/// Inputs of [`Dify`].
#[derive(Clone, Debug)]
pub struct DifyProps<'a> {
    /// Every setting of the environment (network, domain, load balancer, database, cache,
    /// images, services, SMTP, alarms), resolved and checked: what an environment file
    /// resolves to (`Environment::from_toml_str`, `Environment::load_file`).
    pub settings: &'a Environment,
    /// Days every log group keeps its logs. Default (`None`): `settings.log_retention_days`.
    pub log_retention_days: Option<u32>,
    /// The WAF in front of the load balancer. Default (`None`): `settings.ingress.waf`.
    pub waf: Option<WafSettings>,
}

impl<'a> DifyProps<'a> {
    /// Props that take everything from the settings.
    pub fn new(settings: &'a Environment) -> DifyProps<'a> {
        DifyProps {
            settings,
            log_retention_days: None,
            waf: None,
        }
    }

    /// The settings with the props' overrides applied.
    fn effective(&self) -> Environment {
        let mut env = self.settings.clone();
        if let Some(days) = self.log_retention_days {
            env.log_retention_days = days;
        }
        if let Some(waf) = &self.waf {
            env.ingress.waf = Some(waf.clone());
        }
        env
    }
}

/// Every part of a Dify, so callers can reach any handle after it is built.
#[derive(Debug)]
pub struct Dify {
    /// The production data key, when the settings ask for a customer managed key.
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
    /// ECS: services, migration, autoscaling.
    pub cluster: DifyCluster,
}

impl Dify {
    /// Adds a whole Dify under `scope/id`.
    pub fn new(scope: &mut Scope<'_>, id: &str, props: DifyProps<'_>) -> Dify {
        let env = props.effective();
        Dify::compose(&mut scope.child(id), &env)
    }

    /// Adds the parts directly in `root` (no scope of its own): what `DifyStack` does, so a
    /// stack's logical IDs stay those of the parts (`Network…`, `Database…`).
    pub(crate) fn compose(root: &mut Scope<'_>, env: &Environment) -> Dify {
        let stack_name = env.stack_name.clone();

        let kms_key = env
            .database
            .customer_managed_key
            .then(|| data_key(root, env));
        let kms_arn = kms_key.as_ref().map(|k| k.arn());
        let network = DifyNetwork::new(root, "Network", &env.network);
        let mut storage = DifyStorage::new(
            root,
            "Storage",
            env.ingress.access_logs,
            elb_log_principal(&env.region),
        );
        if let Some(key) = &kms_arn {
            storage.encrypt_with(root, key);
        }
        let database = DifyDatabase::new(
            root,
            "Database",
            &env.database,
            &network,
            kms_arn.as_ref(),
            env.production,
        );
        let slow_log_name = format!("/dify/{}/cache-slow-log", env.name);
        let cache = DifyCache::new(
            root,
            "Cache",
            &env.cache,
            &network,
            crate::cache::CacheLogs {
                log_group_name: &slow_log_name,
                retention_days: env.log_retention_days,
            },
            kms_arn.as_ref(),
            env.production,
        );
        let ingress = DifyIngress::new(
            root,
            "Ingress",
            &env.ingress,
            &env.domain,
            &network,
            storage.access_logs.as_ref(),
        );
        if let Some(settings) = &env.ingress.waf {
            // Settings were validated with the environment file; a failure here is a bug.
            // Dify's calls to its own public URL all come from the NAT gateways: the per-IP
            // rate limit would soon block Dify itself.
            if let Err(e) = crate::waf::AlbWaf::with_unthrottled(
                root,
                "Waf",
                settings,
                &ingress.load_balancer,
                &network.nat_cidrs,
            ) {
                root.report(
                    cfn_core::Severity::Error,
                    "dify-waf",
                    format!("WAF settings: {e}"),
                );
            }
        }
        // The alarm topic comes first: the services' deployment alarms notify it too.
        let (alarms_node, topic) = {
            let mut a = root.child("Alarms");
            (a.node_id(), alarm_topic(&mut a, env))
        };
        let cluster = DifyCluster::new(
            root,
            "App",
            crate::cluster::ClusterDeps {
                env,
                network: &network,
                database: &database,
                cache: &cache,
                storage: &storage,
                ingress: &ingress,
                kms_key: kms_arn.as_ref(),
                stack_name: &stack_name,
                alarm_topic: topic.as_ref(),
            },
        );
        alarms(
            &mut root.stack().scope(alarms_node),
            env,
            topic.as_ref(),
            (&ingress, &database, &cache),
        );
        Dify {
            data_key: kms_key,
            network,
            storage,
            database,
            cache,
            ingress,
            cluster,
        }
    }
}
