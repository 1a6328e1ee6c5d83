//! DifyCache: an ElastiCache (Valkey or Redis) replication group with TLS, encryption at rest,
//! an AUTH token generated in Secrets Manager, and an eviction policy that never drops Celery's
//! broker keys.

use cfn_core::refs::KmsKeyArn;
use cfn_core::{RemovalPolicy, Scope, Value, fns};
use cfn_resources::ec2::SecurityGroupHandle;
use cfn_resources::elasticache::{self, ReplicationGroupHandle, replication_group as rg};
use cfn_resources::logs::LogGroupHandle;
use cfn_resources::secretsmanager;

use crate::common::{
    GeneratedSecret, LogGroupProps, Path, RandomProps, SecurityGroupProps, closed_security_group,
    link, log_group,
};
use crate::network::DifyNetwork;

/// Cache engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheEngine {
    /// Valkey (Redis-compatible, cheaper on ElastiCache).
    Valkey,
    /// Redis OSS.
    Redis,
}

impl CacheEngine {
    /// The engine name ElastiCache uses.
    pub fn as_str(self) -> &'static str {
        match self {
            CacheEngine::Valkey => "valkey",
            CacheEngine::Redis => "redis",
        }
    }
}

/// The cache's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheSettings {
    /// Valkey or Redis.
    pub engine: CacheEngine,
    /// Engine version.
    pub engine_version: String,
    /// `cache.t4g.small`, …
    pub node_type: String,
    /// Nodes (1 primary + replicas); with 2 or more, automatic failover and Multi-AZ are on.
    pub nodes: u8,
    /// Days of snapshots kept.
    pub snapshot_retention_days: u32,
    /// `hh:mm-hh:mm` UTC.
    pub snapshot_window: String,
    /// `ddd:hh:mm-ddd:hh:mm` UTC.
    pub maintenance_window: String,
    /// Whether the replication group is encrypted at rest with the stack's data key (when
    /// there is one) rather than the AWS-managed key. `KmsKeyId` is create-only: adopting a
    /// group encrypted with the AWS-managed key needs `false`. Default: true.
    pub customer_managed_key: bool,
    /// The slow-log group's name; `None` lets [`crate::Dify`] name it
    /// `/dify/<environment>/cache-slow-log`. Pinned to adopt an existing group (the name is
    /// create-only).
    pub slow_log_group_name: Option<String>,
}

/// Redis' port.
pub const PORT: u16 = 6379;
/// The Redis database Celery uses as its broker (Dify's cache, locks and pub/sub use db 0).
pub const BROKER_DB: u8 = 1;
/// Where the Debian-based Dify images keep the system CA bundle that verifies ElastiCache's
/// (publicly trusted) certificates.
pub const CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

impl Default for CacheSettings {
    /// Development: one `cache.t4g.small` Valkey 8.0 node, a day of snapshots (03:00-05:00
    /// UTC), maintenance on Sundays 05:00-07:00 UTC.
    fn default() -> Self {
        CacheSettings {
            engine: CacheEngine::Valkey,
            engine_version: "8.0".into(),
            node_type: "cache.t4g.small".into(),
            nodes: 1,
            snapshot_retention_days: 1,
            snapshot_window: "03:00-05:00".into(),
            maintenance_window: "sun:05:00-sun:07:00".into(),
            customer_managed_key: true,
            slow_log_group_name: None,
        }
    }
}

impl CacheSettings {
    /// Production: three `cache.m7g.large` nodes (a primary and two replicas, with automatic
    /// failover across AZs) and 5 days of snapshots; the rest as [`Self::default`].
    pub fn production() -> Self {
        CacheSettings {
            node_type: "cache.m7g.large".into(),
            nodes: 3,
            snapshot_retention_days: 5,
            ..CacheSettings::default()
        }
    }
}

/// Inputs of [`DifyCache`].
#[derive(Debug, Clone)]
pub struct DifyCacheProps<'a> {
    /// The VPC and private subnets the cache goes in.
    pub network: &'a DifyNetwork,
    /// Engine, nodes, snapshots and windows. Default: [`CacheSettings::default`]
    /// (development).
    pub settings: CacheSettings,
    /// The slow log's log group name. Default `None`: a name CloudFormation generates.
    pub slow_log_group_name: Option<String>,
    /// Days the slow log is kept. Default 7.
    pub log_retention_days: u32,
    /// A customer key for the data at rest, the slow log and the secrets. Default `None`: AWS
    /// managed keys.
    pub kms_key: Option<Value<KmsKeyArn>>,
    /// What CloudFormation does with the replication group when it deletes or replaces it.
    /// Default [`RemovalPolicy::Snapshot`] (a final snapshot), which falls back to `Delete`
    /// when `settings.snapshot_retention_days` is 0: with no snapshots kept, ElastiCache
    /// keeps none at deletion either.
    pub removal_policy: RemovalPolicy,
}

impl<'a> DifyCacheProps<'a> {
    /// Props with the defaults above, in `network`.
    pub fn new(network: &'a DifyNetwork) -> Self {
        DifyCacheProps {
            network,
            settings: CacheSettings::default(),
            slow_log_group_name: None,
            log_retention_days: 7,
            kms_key: None,
            removal_policy: RemovalPolicy::Snapshot,
        }
    }
}

/// The replication group, its security group and its secrets.
#[derive(Debug, Clone)]
pub struct DifyCache {
    /// The replication group (cluster mode disabled: Dify needs more than db 0).
    pub group: ReplicationGroupHandle,
    /// Closed to everything until [`Self::allow_from`].
    pub security_group: SecurityGroupHandle,
    /// The AUTH token.
    pub auth_token: GeneratedSecret,
    /// The slow log.
    pub slow_log: LogGroupHandle,
    /// `CELERY_BROKER_URL`, built in Secrets Manager from the token at deploy time so the token
    /// never appears in the template, a parameter or a task's environment.
    pub broker_url: GeneratedSecret,
    /// Nodes in the group (`<group>-001`, `-002`, …).
    pub nodes: u8,
}

impl DifyCache {
    /// Creates the cache: its slow log, a closed security group, the AUTH token, subnet and
    /// parameter groups, the replication group, and the broker URL's secret.
    pub fn new(scope: &mut Scope<'_>, id: &str, props: DifyCacheProps<'_>) -> DifyCache {
        let mut s = scope.child(id);
        let cfg = &props.settings;
        let network = props.network;
        let kms_key = props.kms_key.as_ref();
        let slow_log = log_group(
            &mut s,
            "SlowLog",
            LogGroupProps {
                name: props.slow_log_group_name.as_deref(),
                retention_days: props.log_retention_days,
                kms_key,
            },
        );
        let security_group = closed_security_group(
            &mut s,
            "SecurityGroup",
            SecurityGroupProps {
                description: "ElastiCache for Dify - reachable from Dify services only",
                vpc_id: &network.vpc_id,
            },
        );
        let auth_token = GeneratedSecret::random(
            &mut s,
            "AuthToken",
            RandomProps {
                description: "ElastiCache AUTH token for Dify",
                length: 64,
                kms_key,
            },
        );
        let subnets = s.add(
            "Subnets",
            elasticache::SubnetGroup::builder()
                .description("Dify cache subnets")
                .subnet_ids(network.private_subnets.clone())
                .build(),
        );
        let params = parameter_group(&mut s, cfg);
        let mut group = replication_group(cfg, &slow_log)
            .cache_subnet_group_name(subnets.reference())
            .cache_parameter_group_name(params.reference())
            .security_group_ids(vec![security_group.group_id()])
            .auth_token(auth_token.resolve());
        if let Some(k) = kms_key.filter(|_| cfg.customer_managed_key) {
            group = group.kms_key_id(k.clone());
        }
        let group = s.add("ReplicationGroup", group);
        let policy = match props.removal_policy {
            RemovalPolicy::Snapshot if cfg.snapshot_retention_days == 0 => RemovalPolicy::Delete,
            other => other,
        };
        s.stack().resource(&group).removal_policy(policy);

        let broker_url = broker_url(&mut s, &group, &auth_token, kms_key);
        DifyCache {
            group,
            security_group,
            auth_token,
            slow_log,
            broker_url,
            nodes: cfg.nodes,
        }
    }

    /// Lets members of `source` connect (ingress here, egress there) on the Redis port.
    pub fn allow_from(
        &self,
        scope: &mut Scope<'_>,
        id: &str,
        source: &SecurityGroupHandle,
    ) -> Vec<cfn_core::ResourceRef> {
        link(
            scope,
            id,
            Path {
                from: source,
                to: &self.security_group,
                port: PORT,
                description: "Redis from a Dify service",
            },
        )
    }

    /// The primary endpoint's host name.
    pub fn host(&self) -> Value<String> {
        self.group.primary_end_point_address()
    }
}

/// The parameter group of the engine's family: evict only keys with a TTL.
fn parameter_group(s: &mut Scope<'_>, cfg: &CacheSettings) -> elasticache::ParameterGroupHandle {
    let major = cfg.engine_version.split('.').next().unwrap_or("7");
    let family = match cfg.engine {
        CacheEngine::Valkey => format!("valkey{major}"),
        CacheEngine::Redis => format!("redis{major}"),
    };
    // Celery's broker keys have no TTL: volatile-lru evicts only keys that expire (Dify's
    // cache entries), never a queued task. allkeys-lru (the seed's) would drop queued jobs.
    s.add(
        "Parameters",
        elasticache::ParameterGroup::builder()
            .cache_parameter_group_family(family)
            .description("Dify: never evict keys without a TTL")
            .build()
            .properties(indexmap::indexmap! {
                "maxmemory-policy".to_owned() => Value::<String>::from("volatile-lru"),
            }),
    )
}

/// The replication group as the settings describe it (TLS required, encrypted at rest,
/// failover and Multi-AZ with more than one node, the slow log to `slow_log`), before it is
/// placed in its subnet, parameter and security groups and given its AUTH token.
fn replication_group(
    cfg: &CacheSettings,
    slow_log: &LogGroupHandle,
) -> elasticache::ReplicationGroup {
    let failover = cfg.nodes > 1;
    let slow_log_delivery = rg::LogDeliveryConfigurationRequest::builder()
        .destination_details(
            rg::DestinationDetails::new().cloud_watch_logs_details(
                rg::CloudWatchLogsDestinationDetails::builder()
                    .log_group(slow_log.reference())
                    .build(),
            ),
        )
        .destination_type("cloudwatch-logs")
        .log_format("json")
        .log_type("slow-log")
        .build();
    elasticache::ReplicationGroup::builder()
        .replication_group_description(format!(
            "Dify cache ({} {})",
            cfg.engine.as_str(),
            cfg.engine_version
        ))
        .build()
        .engine(cfg.engine.as_str())
        .engine_version(cfg.engine_version.as_str())
        .cache_node_type(cfg.node_type.as_str())
        .num_cache_clusters(i64::from(cfg.nodes))
        .automatic_failover_enabled(failover)
        .multi_az_enabled(failover)
        .port(i64::from(PORT))
        .transit_encryption_enabled(true)
        .transit_encryption_mode("required")
        .at_rest_encryption_enabled(true)
        .auto_minor_version_upgrade(true)
        .snapshot_retention_limit(i64::from(cfg.snapshot_retention_days))
        .snapshot_window(cfg.snapshot_window.as_str())
        .preferred_maintenance_window(cfg.maintenance_window.as_str())
        .log_delivery_configurations(vec![slow_log_delivery])
}

/// `CELERY_BROKER_URL`, assembled in a secret at deploy time from the token and the primary
/// endpoint.
fn broker_url(
    s: &mut Scope<'_>,
    group: &ReplicationGroupHandle,
    auth_token: &GeneratedSecret,
    kms_key: Option<&Value<KmsKeyArn>>,
) -> GeneratedSecret {
    // rediss:// makes Dify 1.13.3 turn on TLS for the broker and the result backend
    // (BROKER_USE_SSL is derived from the scheme, api/configs/middleware/__init__.py).
    // ssl_cert_reqs=CERT_REQUIRED verifies the server, unlike the seed's CERT_NONE, and
    // keeps the URL safe for plain Celery/kombu, whose backend refuses a rediss:// URL
    // without it (aws-samples PR #80). With it in the URL, kombu takes the broker's TLS
    // options from the URL alone and verifies against the system store, the same bundle
    // as REDIS_SSL_CA_CERTS in the image (tests/artifact/test_redis_celery.py).
    let url = fns::join(
        "",
        [
            Value::from("rediss://:"),
            auth_token.resolve(),
            "@".into(),
            group.primary_end_point_address(),
            format!(":{PORT}/{BROKER_DB}?ssl_cert_reqs=CERT_REQUIRED").into(),
        ],
    );
    let mut broker = secretsmanager::Secret::new()
        .description("CELERY_BROKER_URL for Dify (embeds the cache AUTH token)")
        .secret_string(url);
    if let Some(k) = kms_key {
        broker = broker.kms_key_id(k.clone());
    }
    GeneratedSecret {
        handle: s.add("BrokerUrl", broker),
        key: None,
    }
}
