//! `Dify`: a whole Dify (network, files, database, cache, load balancer, WAF, ECS services,
//! migration, alarms) as one construct that a platform team instantiates inside its own
//! stack, with props, instead of composing the parts one by one.
//!
//! Its props are plain Rust with documented defaults (a development Dify in a new VPC);
//! [`DifyProps::from_environment`] fills them from an environment file instead.
//!
//! ```
//! use cfn_core::Stack;
//! use dify_constructs::waf::WafSettings;
//! use dify_constructs::{Dify, DifyProps};
//!
//! let mut stack = Stack::new("team-platform");
//! let dify = Dify::new(&mut stack.root(), "Dify", DifyProps {
//!     region: Some("eu-west-1".into()),
//!     log_retention_days: Some(90),
//!     waf: Some(WafSettings { count_only: true, ..WafSettings::default() }),
//!     ..DifyProps::default()
//! });
//! assert!(dify.network.private_subnets.len() >= 2);
//! assert!(dify.waf.is_some());
//! assert!(stack.synth().is_ok());
//! ```

use cfn_core::refs::KmsKeyArn;
use cfn_core::{RemovalPolicy, Scope, Severity, Value};

use crate::alarms::{AlarmSettings, DifyAlarms, DifyAlarmsProps, ScheduledService, WatchProps};
use crate::bedrock::BedrockSettings;
use crate::cache::{CacheSettings, DifyCacheProps};
use crate::cluster::DifyClusterProps;
use crate::components::{AppSettings, DifySettings, Smtp};
use crate::cost_controls::{CostControls, Operations};
use crate::dashboard::{Dashboard, DashboardProps};
use crate::data_key::{DataKey, DataKeyProps};
use crate::database::{DatabaseSettings, DifyDatabaseProps};
use crate::images::Images;
use crate::ingress::{DifyIngressProps, Domain, IngressSettings};
use crate::network::{DifyNetworkProps, NetworkSettings};
use crate::private::{PrivateEndpoints, PrivateEndpointsProps, PrivateSettings};
use crate::services::Component;
use crate::services::Services;
use crate::sso::SsoSettings;
use crate::storage::DifyStorageProps;
use crate::waf::{AlbWaf, AlbWafProps, WafSettings};
use crate::{DifyCache, DifyCluster, DifyDatabase, DifyIngress, DifyNetwork, DifyStorage};

/// Inputs of [`Dify`]: everything one environment needs. `DifyProps::from_environment`
/// (in [`crate::config`]) fills them from a checked environment file.
#[derive(Debug, Clone, PartialEq)]
pub struct DifyProps {
    /// The environment's short name (default `dev`), in log group names (`/dify/<name>/api`), alarm
    /// descriptions, the alarm topic's and the data key's descriptions.
    pub name: String,
    /// Prefix of physical names: ECS services, task families, alarms, the migration function,
    /// the Cloud Map namespace (`<prefix>.internal`) and the data key's alias
    /// (`alias/<prefix>-data`). Default `None`: the name of the stack Dify is added to.
    pub name_prefix: Option<String>,
    /// The region the stack deploys to, when known at synthesis: in regions opened before
    /// August 2022, ALB log delivery writes the access logs as a regional account the log
    /// bucket must admit. Default `None`: the log-delivery service principal newer regions use.
    pub region: Option<String>,
    /// Production (default `false`): final snapshots of the database and the cache when CloudFormation deletes
    /// or replaces them, Container Insights with enhanced observability, and
    /// `DEPLOY_ENV=PRODUCTION`.
    pub production: bool,
    /// Days every log group keeps its logs. Default `None`: 30 in production, 7 elsewhere.
    pub log_retention_days: Option<u32>,
    /// The VPC: an existing one, or one Dify creates. Default: a new `10.0.0.0/16` over two
    /// AZs ([`NetworkSettings::default`]).
    pub network: NetworkSettings,
    /// DNS name, hosted zone and certificate. Default: none (HTTP on the load balancer's name).
    pub domain: Domain,
    /// The load balancer. Default: [`IngressSettings::default`].
    pub ingress: IngressSettings,
    /// A WAF web ACL in front of the load balancer (AWS managed rules, a per-IP rate limit
    /// that spares the VPC's NAT addresses). Default `None`: no WAF.
    pub waf: Option<WafSettings>,
    /// Aurora PostgreSQL; `customer_managed_key` also decides whether the data key exists.
    /// Default: [`DatabaseSettings::default`] (development).
    pub database: DatabaseSettings,
    /// ElastiCache. Default: [`CacheSettings::default`] (development).
    pub cache: CacheSettings,
    /// Container images and where they are pulled from. Default: the pinned Dify release
    /// from Docker Hub ([`Images::default`]).
    pub images: Images,
    /// Size and scaling of each ECS service. Default: [`Services::default`].
    pub services: Services,
    /// Outgoing mail. Default `None`.
    pub smtp: Option<Smtp>,
    /// Dify's log level and extra environment. Default: [`DifySettings::default`].
    pub dify: DifySettings,
    /// Where alarms notify. Default: nowhere.
    pub alarms: AlarmSettings,
    /// Private-only mode: interface endpoints, no task egress to the internet, plugin
    /// packages from a PyPI mirror ([`crate::private`]); needs an internal load balancer.
    /// Default `None`.
    pub private: Option<PrivateSettings>,
    /// Sign-in at the load balancer ([`crate::sso`]). Default `None`.
    pub sso: Option<SsoSettings>,
    /// Bedrock through the task roles of api, worker and the plugin daemon
    /// ([`crate::bedrock`]). Default `None`.
    pub bedrock: Option<BedrockSettings>,
    /// Fargate Spot and the off-hours schedule. Default: none ([`CostControls::default`]).
    pub cost: CostControls,
    /// ECS Exec (default off) and the dashboard (default on): [`Operations::default`].
    pub operations: Operations,
}

impl Default for DifyProps {
    /// A development Dify named `dev`: the defaults documented on each field.
    fn default() -> Self {
        DifyProps {
            name: "dev".into(),
            name_prefix: None,
            region: None,
            production: false,
            log_retention_days: None,
            network: NetworkSettings::default(),
            domain: Domain::default(),
            ingress: IngressSettings::default(),
            waf: None,
            database: DatabaseSettings::default(),
            cache: CacheSettings::default(),
            images: Images::default(),
            services: Services::default(),
            smtp: None,
            dify: DifySettings::default(),
            alarms: AlarmSettings::default(),
            private: None,
            sso: None,
            bedrock: None,
            cost: CostControls::default(),
            operations: Operations::default(),
        }
    }
}

impl DifyProps {
    /// Days every log group keeps its logs, once the defaults are applied.
    pub fn effective_log_retention_days(&self) -> u32 {
        self.log_retention_days
            .unwrap_or(if self.production { 30 } else { 7 })
    }

    fn removal_policy(&self) -> RemovalPolicy {
        if self.production {
            RemovalPolicy::Snapshot
        } else {
            RemovalPolicy::Delete
        }
    }
}

/// Every part of a Dify, so callers can reach any handle after it is built.
#[derive(Debug)]
pub struct Dify {
    /// The data key, when `database.customer_managed_key` asks for one.
    pub data_key: Option<DataKey>,
    /// Network.
    pub network: DifyNetwork,
    /// Files and access logs.
    pub storage: DifyStorage,
    /// Aurora.
    pub database: DifyDatabase,
    /// ElastiCache. Default: [`CacheSettings::default`] (development).
    pub cache: DifyCache,
    /// Load balancer.
    pub ingress: DifyIngress,
    /// The WAF in front of the load balancer, when the props ask for one.
    pub waf: Option<AlbWaf>,
    /// The alarm topic and the operational alarms.
    pub alarms: DifyAlarms,
    /// ECS: services, migration, autoscaling.
    pub cluster: DifyCluster,
    /// The VPC endpoints of private-only mode, when the props ask for it.
    pub private: Option<PrivateEndpoints>,
}

impl Dify {
    /// Adds a whole Dify under `scope/id`.
    pub fn new(scope: &mut Scope<'_>, id: &str, props: DifyProps) -> Dify {
        Dify::compose(&mut scope.child(id), &props)
    }

    /// Adds the parts directly in `root` (no scope of its own): what `DifyStack` does, so a
    /// stack's logical IDs stay those of the parts (`Network…`, `Database…`).
    pub(crate) fn compose(root: &mut Scope<'_>, props: &DifyProps) -> Dify {
        let prefix = props
            .name_prefix
            .clone()
            .unwrap_or_else(|| root.stack_ref().name().to_owned());
        let data_key = props.database.customer_managed_key.then(|| {
            DataKey::new(
                root,
                "DataKey",
                DataKeyProps {
                    description: format!("Dify {} data key", props.name),
                    alias: Some(format!("alias/{prefix}-data")),
                },
            )
        });
        let key = data_key.as_ref().map(|k| k.key.arn());
        let network = DifyNetwork::new(
            root,
            "Network",
            DifyNetworkProps {
                vpc: props.network.clone(),
            },
        );
        let private = private_endpoints(root, props, &network);
        let storage = DifyStorage::new(
            root,
            "Storage",
            DifyStorageProps {
                access_logs: props.ingress.access_logs,
                region: props.region.clone(),
                kms_key: key.clone(),
            },
        );
        let (database, cache) = data_stores(root, props, &network, key.as_ref());
        let ingress = DifyIngress::new(
            root,
            "Ingress",
            DifyIngressProps {
                network: &network,
                settings: props.ingress.clone(),
                domain: props.domain.clone(),
                access_log_bucket: storage.access_logs.as_ref(),
                sso: props.sso.clone(),
            },
        );
        let waf = props
            .waf
            .as_ref()
            .and_then(|settings| waf(root, settings, &ingress, &network));
        // The alarm topic comes first: the services' deployment alarms notify it too.
        let alarms = DifyAlarms::new(
            root,
            "Alarms",
            DifyAlarmsProps {
                settings: props.alarms.clone(),
                environment: props.name.clone(),
            },
        );
        let cluster = DifyCluster::new(
            root,
            "App",
            DifyClusterProps {
                network: &network,
                database: &database,
                cache: &cache,
                storage: &storage,
                ingress: &ingress,
                app: app_settings(props, &prefix),
                kms_key: key,
                alarm_topic: alarms.topic.clone(),
                private: private.as_ref(),
            },
        );
        alarms.watch(
            root.stack(),
            WatchProps {
                name_prefix: &prefix,
                ingress: &ingress,
                database: &database,
                cache: &cache,
                scheduled: props.cost.schedule.as_ref().and_then(|_| {
                    cluster
                        .services
                        .get(&Component::Api)
                        .map(|api| ScheduledService {
                            cluster: cluster.cluster.reference(),
                            service: api.service.name(),
                        })
                }),
            },
        );
        if props.operations.dashboard {
            Dashboard::new(
                root,
                "Dashboard",
                DashboardProps {
                    name: &format!("{prefix}-overview"),
                    ingress: &ingress,
                    database: &database,
                    cache: &cache,
                    cluster: &cluster,
                },
            );
        }
        Dify {
            data_key,
            network,
            storage,
            database,
            cache,
            ingress,
            waf,
            alarms,
            cluster,
            private,
        }
    }
}

/// Private-only mode's endpoints. An internet-facing load balancer would defeat it: reported
/// as an error at synthesis (environment files were checked already).
fn private_endpoints(
    root: &mut Scope<'_>,
    props: &DifyProps,
    network: &DifyNetwork,
) -> Option<PrivateEndpoints> {
    let settings = props.private.as_ref()?;
    if props.ingress.internet_facing {
        root.report(
            Severity::Error,
            "dify-private",
            "private-only mode needs an internal load balancer: set ingress.internet_facing = false",
        );
    }
    Some(PrivateEndpoints::new(
        root,
        "Endpoints",
        PrivateEndpointsProps {
            network,
            settings,
            bedrock: props.bedrock.is_some(),
            ecs_exec: props.operations.ecs_exec,
        },
    ))
}

/// The database and the cache, in the network's private subnets, encrypted with `key`.
fn data_stores(
    root: &mut Scope<'_>,
    props: &DifyProps,
    network: &DifyNetwork,
    key: Option<&Value<KmsKeyArn>>,
) -> (DifyDatabase, DifyCache) {
    let database = DifyDatabase::new(
        root,
        "Database",
        DifyDatabaseProps {
            network,
            settings: props.database.clone(),
            kms_key: key.cloned(),
            removal_policy: props.removal_policy(),
        },
    );
    let cache = DifyCache::new(
        root,
        "Cache",
        DifyCacheProps {
            network,
            settings: props.cache.clone(),
            slow_log_group_name: Some(
                props
                    .cache
                    .slow_log_group_name
                    .clone()
                    .unwrap_or_else(|| format!("/dify/{}/cache-slow-log", props.name)),
            ),
            log_retention_days: props.effective_log_retention_days(),
            kms_key: key.cloned(),
            removal_policy: props.removal_policy(),
        },
    );
    (database, cache)
}

/// The WAF in front of the load balancer. Dify's calls to its own public URL all come from
/// the NAT gateways: the per-IP rate limit spares them, or it would soon block Dify itself.
/// Refused settings are reported at synthesis (environment files were checked already).
fn waf(
    root: &mut Scope<'_>,
    settings: &WafSettings,
    ingress: &DifyIngress,
    network: &DifyNetwork,
) -> Option<AlbWaf> {
    let props = AlbWafProps {
        settings: settings.clone(),
        unthrottled: network.nat_cidrs.clone(),
        ..AlbWafProps::new(&ingress.load_balancer)
    };
    match AlbWaf::new(root, "Waf", props) {
        Ok(waf) => Some(waf),
        Err(e) => {
            root.report(Severity::Error, "dify-waf", format!("WAF settings: {e}"));
            None
        }
    }
}

/// What the cluster runs, named with `prefix`.
fn app_settings(props: &DifyProps, prefix: &str) -> AppSettings {
    AppSettings {
        environment: props.name.clone(),
        name_prefix: prefix.to_owned(),
        production: props.production,
        log_retention_days: props.effective_log_retention_days(),
        images: props.images.clone(),
        services: props.services.clone(),
        smtp: props.smtp.clone(),
        dify: props.dify.clone(),
        bedrock: props.bedrock.clone(),
        cost: props.cost.clone(),
        operations: props.operations.clone(),
    }
}
