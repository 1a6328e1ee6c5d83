//! Environments: one TOML file per environment (`dev.toml`, `stg.toml`, `prd.toml`, or any
//! other name), read at run time so adding one needs no recompilation.
//!
//! A file is parsed strictly (an unknown key is an error), then resolved: every value the file
//! leaves out gets its default (production defaults when `production = true`, which is itself
//! the default for an environment named `prd`), and every value is checked. Errors name the
//! file, the field and the value.
//!
//! ```
//! use dify_constructs::config::Environment;
//! let env = Environment::from_toml_str("dev.toml", r#"
//!     region = "ap-northeast-1"
//!     [network]
//!     vpc_id = "vpc-0123456789abcdef0"
//!     private_subnet_ids = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
//!     public_subnet_ids = ["subnet-0123456789abcdef2", "subnet-0123456789abcdef3"]
//! "#).unwrap();
//! assert_eq!(env.name, "dev");
//! assert!(!env.production);
//! assert_eq!(env.database.backup_retention_days, 7);
//! ```

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use indexmap::IndexMap;
use ipnet::IpNet;
use regex::Regex;
use serde::Deserialize;
use thiserror::Error;

/// The Dify release deployed when an environment does not name one. api, worker and beat
/// always share the version; web follows it unless `images.web` says otherwise.
pub const DEFAULT_DIFY_VERSION: &str = "1.13.3";
/// The plugin daemon paired with [`DEFAULT_DIFY_VERSION`] in Dify's own compose file.
pub const DEFAULT_PLUGIN_DAEMON_VERSION: &str = "0.5.5-local";
/// The sandbox paired with [`DEFAULT_DIFY_VERSION`] in Dify's own compose file.
pub const DEFAULT_SANDBOX_VERSION: &str = "0.2.14";
/// The squid image for the SSRF proxy. Pinned: Dify's compose uses `latest`, which makes a
/// redeploy silently change the egress filter.
pub const DEFAULT_SSRF_PROXY_IMAGE: &str = "ubuntu/squid:6.6-24.04_edge@sha256:8a3baed477e2c282ab8aa5edad442f69873246964f225c5c2ae8364b6610963c";
/// Aurora PostgreSQL's default engine version (a supported 16.x).
pub const DEFAULT_DB_ENGINE_VERSION: &str = "16.9";

/// One problem in an environment file.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}: {field}{}: {message}", file.display(), value.as_ref().map(|v| format!(" = {v}")).unwrap_or_default())]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// The dotted field path (`database.serverless.max_acu`), or `(file)` for the file itself.
    pub field: String,
    /// The offending value, when there is one.
    pub value: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// Every problem found in one or more environment files.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// The file format. Every field optional (defaults come from the resolved model); unknown keys
// are rejected so a typo never silently falls back to a default.

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnv {
    stack_name: Option<String>,
    account: Option<String>,
    region: Option<String>,
    production: Option<bool>,
    log_retention_days: Option<u32>,
    #[serde(default)]
    tags: IndexMap<String, String>,
    #[serde(default)]
    network: RawNetwork,
    #[serde(default)]
    domain: RawDomain,
    #[serde(default)]
    ingress: RawIngress,
    #[serde(default)]
    database: RawDatabase,
    #[serde(default)]
    cache: RawCache,
    #[serde(default)]
    images: RawImages,
    #[serde(default)]
    services: IndexMap<String, RawService>,
    smtp: Option<RawSmtp>,
    #[serde(default)]
    dify: RawDify,
    #[serde(default)]
    alarms: RawAlarms,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNetwork {
    vpc_id: Option<String>,
    private_subnet_ids: Option<Vec<String>>,
    public_subnet_ids: Option<Vec<String>>,
    create: Option<RawCreateVpc>,
    nat_public_ips: Option<Vec<String>>,
    endpoints: Option<RawEndpoints>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEndpoints {
    security_group_id: Option<String>,
    s3_prefix_list_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCreateVpc {
    cidr: Option<String>,
    azs: Option<u8>,
    nat_gateways: Option<u8>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDomain {
    name: Option<String>,
    hosted_zone_id: Option<String>,
    certificate_arn: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIngress {
    internet_facing: Option<bool>,
    #[serde(default)]
    allowlist: IndexMap<String, Vec<String>>,
    deletion_protection: Option<bool>,
    idle_timeout_seconds: Option<u32>,
    access_logs: Option<bool>,
    waf: Option<RawWaf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWaf {
    enabled: Option<bool>,
    rate_limit: Option<i64>,
    count_only: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    engine_version: Option<String>,
    serverless: Option<RawServerless>,
    provisioned: Option<RawProvisioned>,
    backup_retention_days: Option<u32>,
    backup_window: Option<String>,
    maintenance_window: Option<String>,
    deletion_protection: Option<bool>,
    performance_insights: Option<bool>,
    monitoring_interval_seconds: Option<u32>,
    customer_managed_key: Option<bool>,
    adopt_cluster_logical_id: Option<String>,
    auto_minor_version_upgrade: Option<bool>,
    app_credentials_generation: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServerless {
    min_acu: Option<f64>,
    max_acu: Option<f64>,
    readers: Option<u8>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvisioned {
    instance_class: Option<String>,
    instances: Option<u8>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCache {
    engine: Option<String>,
    engine_version: Option<String>,
    node_type: Option<String>,
    nodes: Option<u8>,
    snapshot_retention_days: Option<u32>,
    snapshot_window: Option<String>,
    maintenance_window: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawImages {
    dify_version: Option<String>,
    web: Option<String>,
    plugin_daemon: Option<String>,
    sandbox: Option<String>,
    ssrf_proxy: Option<String>,
    registry: Option<String>,
    pull_through_cache: Option<RawPullThroughCache>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPullThroughCache {
    credential_arn: Option<String>,
    repository_prefix: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    cpu: Option<u32>,
    memory: Option<u32>,
    desired: Option<u32>,
    min: Option<u32>,
    max: Option<u32>,
    ephemeral_storage_gib: Option<u32>,
    processes: Option<u32>,
    connections: Option<u32>,
    queues: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSmtp {
    server: Option<String>,
    port: Option<u16>,
    username: Option<String>,
    from: Option<String>,
    use_tls: Option<bool>,
    opportunistic_tls: Option<bool>,
    password_secret_arn: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDify {
    language: Option<String>,
    log_level: Option<String>,
    #[serde(default)]
    extra_env: IndexMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlarms {
    topic_arn: Option<String>,
    email: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// The resolved model: everything defaulted and checked.

/// A fully resolved, validated environment.
#[derive(Debug, Clone, PartialEq)]
pub struct Environment {
    /// The environment's name (the file stem: `dev`, `stg`, `prd`, …).
    pub name: String,
    /// The CloudFormation stack name (default `dify-<name>`).
    pub stack_name: String,
    /// The AWS account the environment must be deployed to, when pinned.
    pub account: Option<String>,
    /// The AWS region.
    pub region: String,
    /// Whether production safeguards and defaults apply.
    pub production: bool,
    /// Retention of every log group (default 30 days in production, 7 elsewhere).
    pub log_retention_days: u32,
    /// Extra stack tags.
    pub tags: IndexMap<String, String>,
    /// Where the stack runs.
    pub network: Network,
    /// DNS name, hosted zone and certificate.
    pub domain: Domain,
    /// The load balancer.
    pub ingress: Ingress,
    /// Aurora PostgreSQL.
    pub database: Database,
    /// ElastiCache.
    pub cache: Cache,
    /// Container images.
    pub images: Images,
    /// Size and scaling of each ECS service.
    pub services: Services,
    /// Outgoing mail, when configured.
    pub smtp: Option<Smtp>,
    /// Dify application settings.
    pub dify: DifySettings,
    /// Where alarms notify.
    pub alarms: Alarms,
}

/// The VPC the stack runs in.
#[derive(Debug, Clone, PartialEq)]
pub enum Network {
    /// An existing VPC and its subnets (as the seed does).
    Existing {
        /// `vpc-…`.
        vpc_id: String,
        /// Private subnets (services, database, cache), at least two AZs.
        private_subnet_ids: Vec<String>,
        /// Public subnets (an internet-facing load balancer), at least two AZs.
        public_subnet_ids: Vec<String>,
        /// The VPC's NAT gateways' public addresses: admitted by the load balancer, so Dify
        /// calling its own public URL from inside the VPC (workflow HTTP nodes, plugins,
        /// webhooks to its own endpoints) is not refused by the allowlist.
        nat_public_ips: Vec<IpNet>,
        /// The VPC's interface endpoints, which let the sandbox run with no internet egress.
        endpoints: Option<Endpoints>,
    },
    /// A VPC the stack creates.
    Create {
        /// The VPC's IPv4 CIDR.
        cidr: IpNet,
        /// Availability zones (2 or 3).
        azs: u8,
        /// NAT gateways (1 saves cost in dev; one per AZ survives an AZ outage).
        nat_gateways: u8,
    },
}

/// DNS and TLS.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Domain {
    /// The public name of Dify (`dify.example.com`).
    pub name: Option<String>,
    /// The Route 53 hosted zone for an alias record.
    pub hosted_zone_id: Option<String>,
    /// The ACM certificate for HTTPS.
    pub certificate_arn: Option<String>,
}

/// The application load balancer.
#[derive(Debug, Clone, PartialEq)]
pub struct Ingress {
    /// Internet-facing (true) or internal.
    pub internet_facing: bool,
    /// Named groups of IPv4 CIDRs allowed in, like the seed's office list.
    pub allowlist: IndexMap<String, Vec<IpNet>>,
    /// Load balancer deletion protection (default: production).
    pub deletion_protection: bool,
    /// Idle timeout; Dify streams responses, so at least 600 s.
    pub idle_timeout_seconds: u32,
    /// Access logs to an S3 bucket the stack creates.
    pub access_logs: bool,
    /// A WAFv2 web ACL in front of the load balancer (AWS managed rules and a per-IP rate
    /// limit, [`crate::waf::WafSettings`]); on by default in production (`[ingress.waf]`).
    pub waf: Option<crate::waf::WafSettings>,
}

/// The VPC endpoints Fargate needs to start a task without the internet: interface endpoints
/// for `ecr.api`, `ecr.dkr`, `logs` and `secretsmanager` (private DNS on) sharing one security
/// group, and the S3 gateway endpoint (image layers) by its prefix list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// The interface endpoints' security group (`sg-…`): the stack admits the sandbox to it on
    /// 443.
    pub security_group_id: String,
    /// The S3 prefix list (`pl-…`, `com.amazonaws.<region>.s3`).
    pub s3_prefix_list_id: String,
}

/// Aurora PostgreSQL capacity.
#[derive(Debug, Clone, PartialEq)]
pub enum DbCapacity {
    /// Serverless v2.
    Serverless {
        /// Minimum ACUs (0 pauses when idle, else 0.5 steps).
        min_acu: f64,
        /// Maximum ACUs.
        max_acu: f64,
        /// Reader instances besides the writer.
        readers: u8,
    },
    /// Provisioned instances.
    Provisioned {
        /// `db.r6g.large`, …
        instance_class: String,
        /// Instances in all (writer + readers).
        instances: u8,
    },
}

/// The database.
#[derive(Debug, Clone, PartialEq)]
pub struct Database {
    /// Aurora PostgreSQL engine version.
    pub engine_version: String,
    /// Serverless v2 or provisioned.
    pub capacity: DbCapacity,
    /// Days of automated backups (default 14 in production, 7 elsewhere).
    pub backup_retention_days: u32,
    /// `hh:mm-hh:mm` UTC.
    pub backup_window: String,
    /// `ddd:hh:mm-ddd:hh:mm` UTC.
    pub maintenance_window: String,
    /// Deletion protection (default: production).
    pub deletion_protection: bool,
    /// Performance Insights (default: production).
    pub performance_insights: bool,
    /// Enhanced monitoring interval (0 disables).
    pub monitoring_interval_seconds: u32,
    /// Encrypt with a customer-managed KMS key (default: production) instead of the AWS key.
    pub customer_managed_key: bool,
    /// Pin the cluster's logical ID, to adopt a cluster an earlier stack created.
    pub adopt_cluster_logical_id: Option<String>,
    /// Let RDS apply minor versions in the maintenance window. Only with a major-only
    /// `engine_version` ("16"): a pinned minor ("16.9") would then lag what runs, and the next
    /// deploy would ask CloudFormation to go back to it, which fails
    /// (aws-samples/dify-self-hosted-on-aws#101). Default false: minor upgrades are a
    /// deliberate change of `engine_version`.
    pub auto_minor_version_upgrade: bool,
    /// Bump by one to rotate the application's database password with no downtime: the idle
    /// one of two login roles gets a new password and the services move to it, while running
    /// tasks keep the other's (docs/operations.md, "Rotating the database credentials").
    pub app_credentials_generation: u32,
}

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

/// The cache.
#[derive(Debug, Clone, PartialEq)]
pub struct Cache {
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
}

/// Container images.
#[derive(Debug, Clone, PartialEq)]
pub struct Images {
    /// `<registry>/dify-api:<dify_version>` for api, worker, beat and migration.
    pub dify_version: String,
    /// The web image tag.
    pub web: String,
    /// The plugin daemon image tag.
    pub plugin_daemon: String,
    /// The sandbox image tag.
    pub sandbox: String,
    /// The full SSRF proxy (squid) image reference.
    pub ssrf_proxy: String,
    /// The registry/namespace of the Dify images (`langgenius`, or an ECR mirror).
    pub registry: String,
    /// Pull every Docker Hub image through an ECR pull-through cache the stack creates, so
    /// tasks never pull anonymously from Docker Hub (whose rate limit fails a production
    /// rollout of a dozen tasks behind one NAT).
    pub pull_through_cache: Option<PullThroughCache>,
}

/// An ECR pull-through cache rule for Docker Hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullThroughCache {
    /// A Secrets Manager secret named `ecr-pullthroughcache/…` holding Docker Hub
    /// credentials (`{"username", "accessToken"}`): ECR requires one for Docker Hub.
    pub credential_arn: String,
    /// The ECR repository prefix the cached images appear under (default
    /// `<stack_name>-dockerhub`).
    pub repository_prefix: String,
}

impl Images {
    /// `<registry>/dify-api:<version>`.
    pub fn api(&self) -> String {
        format!("{}/dify-api:{}", self.registry, self.dify_version)
    }
    /// `<registry>/dify-web:<version>`.
    pub fn web(&self) -> String {
        format!("{}/dify-web:{}", self.registry, self.web)
    }
    /// `<registry>/dify-plugin-daemon:<version>`.
    pub fn plugin_daemon(&self) -> String {
        format!(
            "{}/dify-plugin-daemon:{}",
            self.registry, self.plugin_daemon
        )
    }
    /// `<registry>/dify-sandbox:<version>`.
    pub fn sandbox(&self) -> String {
        format!("{}/dify-sandbox:{}", self.registry, self.sandbox)
    }
}

/// Size and scaling of one ECS service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceSize {
    /// Task CPU units (256 = ¼ vCPU).
    pub cpu: u32,
    /// Task memory in MiB.
    pub memory: u32,
    /// Desired tasks at creation.
    pub desired: u32,
    /// Autoscaling minimum.
    pub min: u32,
    /// Autoscaling maximum.
    pub max: u32,
    /// Task ephemeral storage in GiB (21-200; 20 is Fargate's free default).
    pub ephemeral_storage_gib: u32,
    /// Processes per task: gunicorn workers on api (`SERVER_WORKER_AMOUNT`), Celery
    /// concurrency on worker (`CELERY_WORKER_AMOUNT`); 1 elsewhere. Default: from CPU and
    /// memory ([`crate::sizing::default_processes`]).
    pub processes: u32,
    /// Concurrent requests per api process (gevent, `SERVER_WORKER_CONNECTIONS`).
    pub connections: u32,
}

/// The Dify components, each its own ECS service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Component {
    /// Next.js front end, port 3000.
    Web,
    /// Flask API, port 5001.
    Api,
    /// Celery worker (every queue, or the short ones when `WorkerLong` runs).
    Worker,
    /// A second Celery worker for the long-running queues (indexing, pipelines, workflow
    /// runs), only when `[services.worker_long]` is configured.
    WorkerLong,
    /// Celery beat (exactly one task).
    Beat,
    /// Plugin daemon, port 5002.
    PluginDaemon,
    /// Code sandbox, port 8194 (internal only).
    Sandbox,
    /// Squid SSRF proxy, port 3128: the egress path of sandbox and api.
    SsrfProxy,
}

impl Component {
    /// All components, in a stable order.
    pub const ALL: [Component; 8] = [
        Component::Web,
        Component::Api,
        Component::Worker,
        Component::WorkerLong,
        Component::Beat,
        Component::PluginDaemon,
        Component::Sandbox,
        Component::SsrfProxy,
    ];

    /// The key in `[services.<key>]` and in resource names.
    pub fn key(self) -> &'static str {
        match self {
            Component::Web => "web",
            Component::Api => "api",
            Component::Worker => "worker",
            Component::WorkerLong => "worker_long",
            Component::Beat => "beat",
            Component::PluginDaemon => "plugin_daemon",
            Component::Sandbox => "sandbox",
            Component::SsrfProxy => "ssrf_proxy",
        }
    }

    /// A name fit for AWS resource names (`plugin-daemon`).
    pub fn dns_name(self) -> &'static str {
        match self {
            Component::PluginDaemon => "plugin-daemon",
            Component::SsrfProxy => "ssrf-proxy",
            Component::WorkerLong => "worker-long",
            other => other.key(),
        }
    }

    /// `PluginDaemon`-style name for logical IDs and output names.
    pub fn camel(self) -> String {
        self.key()
            .split('_')
            .map(|w| {
                let mut ch = w.chars();
                ch.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + ch.as_str())
                    .unwrap_or_default()
            })
            .collect()
    }

    fn from_key(k: &str) -> Option<Component> {
        Component::ALL.into_iter().find(|c| c.key() == k)
    }

    fn default_size(self, production: bool) -> ServiceSize {
        let (cpu, memory, desired_prd, max_prd, storage) = match self {
            Component::Web => (512, 1024, 2, 6, 21),
            Component::Api => (1024, 2048, 2, 10, 21),
            Component::Worker | Component::WorkerLong => (1024, 2048, 2, 10, 21),
            Component::Beat => (256, 512, 1, 1, 21),
            // Every daemon start re-installs plugins: size memory and disk generously
            // (aws-samples#119; daemon#495).
            Component::PluginDaemon => (1024, 4096, 1, 1, 60),
            Component::Sandbox => (512, 1024, 2, 4, 21),
            Component::SsrfProxy => (256, 512, 2, 4, 21),
        };
        let pinned = matches!(self, Component::Beat | Component::PluginDaemon);
        let (desired, min, max) = if production {
            (desired_prd, desired_prd, max_prd)
        } else if pinned {
            (1, 1, 1)
        } else {
            (1, 1, max_prd.min(3))
        };
        ServiceSize {
            cpu,
            memory,
            desired,
            min,
            max,
            ephemeral_storage_gib: storage,
            processes: crate::sizing::default_processes(self, cpu, memory),
            connections: crate::sizing::DEFAULT_API_CONNECTIONS,
        }
    }
}

/// Sizes of every component.
#[derive(Debug, Clone, PartialEq)]
pub struct Services(IndexMap<Component, ServiceSize>, Vec<String>);

impl Services {
    /// The components this environment runs, in [`Component::ALL`]'s order: all but
    /// `WorkerLong`, which runs only when configured.
    pub fn components(&self) -> impl Iterator<Item = Component> + '_ {
        Component::ALL
            .into_iter()
            .filter(|c| *c != Component::WorkerLong || self.0.contains_key(c))
    }

    /// The Celery queues `worker_long` consumes (empty when it does not run); `worker`
    /// consumes the rest of [`CELERY_QUEUES`].
    pub fn long_queues(&self) -> &[String] {
        &self.1
    }

    /// The size of one component.
    pub fn get(&self, c: Component) -> ServiceSize {
        self.0
            .get(&c)
            .copied()
            .unwrap_or_else(|| c.default_size(false))
    }
}

/// Outgoing mail.
#[derive(Debug, Clone, PartialEq)]
pub struct Smtp {
    /// Server host.
    pub server: String,
    /// Port.
    pub port: u16,
    /// User name.
    pub username: String,
    /// `MAIL_DEFAULT_SEND_FROM`.
    pub from: String,
    /// Implicit TLS.
    pub use_tls: bool,
    /// STARTTLS.
    pub opportunistic_tls: bool,
    /// The existing Secrets Manager secret holding the password (never in the template).
    pub password_secret_arn: String,
}

/// Dify settings that are not infrastructure.
#[derive(Debug, Clone, PartialEq)]
pub struct DifySettings {
    /// `DEBUG`, `INFO`, `WARNING` or `ERROR` (default `INFO`; the seed's `DEBUG` leaks data).
    pub log_level: String,
    /// Extra non-secret environment for api, worker and beat.
    pub extra_env: IndexMap<String, String>,
}

/// Alarm notifications.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Alarms {
    /// An existing SNS topic to notify.
    pub topic_arn: Option<String>,
    /// An e-mail address to subscribe to a topic the stack creates.
    pub email: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Loading and checking.

static ACCOUNT: LazyLock<Regex> = LazyLock::new(|| re(r"^\d{12}$"));
static REGION: LazyLock<Regex> = LazyLock::new(|| re(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$"));
static ENV_NAME: LazyLock<Regex> = LazyLock::new(|| re(r"^[a-z][a-z0-9-]{0,20}$"));
static STACK_NAME: LazyLock<Regex> = LazyLock::new(|| re(r"^[A-Za-z][A-Za-z0-9-]{0,127}$"));
static VPC_ID: LazyLock<Regex> = LazyLock::new(|| re(r"^vpc-[0-9a-f]{8,17}$"));
static SUBNET_ID: LazyLock<Regex> = LazyLock::new(|| re(r"^subnet-[0-9a-f]{8,17}$"));
static ZONE_ID: LazyLock<Regex> = LazyLock::new(|| re(r"^Z[0-9A-Z]{1,32}$"));
static DOMAIN: LazyLock<Regex> =
    LazyLock::new(|| re(r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"));
static ACM_ARN: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^arn:aws(-cn|-us-gov)?:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$")
});
static SECRET_ARN: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^arn:aws(-cn|-us-gov)?:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$")
});
static SNS_ARN: LazyLock<Regex> =
    LazyLock::new(|| re(r"^arn:aws(-cn|-us-gov)?:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$"));
static WINDOW: LazyLock<Regex> =
    LazyLock::new(|| re(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$"));
static MAINT_WINDOW: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d$",
    )
});
static IMAGE_TAG: LazyLock<Regex> = LazyLock::new(|| re(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"));
static IMAGE_REF: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^[a-z0-9]([a-z0-9._/:-]*[a-z0-9])?(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[0-9a-f]{64})?$",
    )
});
static DB_VERSION: LazyLock<Regex> = LazyLock::new(|| re(r"^1[3-7](\.\d+)?$"));
static DB_CLASS: LazyLock<Regex> = LazyLock::new(|| re(r"^db\.[a-z0-9]+\.[a-z0-9]+$"));
static CACHE_NODE: LazyLock<Regex> = LazyLock::new(|| re(r"^cache\.[a-z0-9]+\.[a-z0-9]+$"));
static CACHE_VERSION: LazyLock<Regex> = LazyLock::new(|| re(r"^\d+(\.\d+)?$"));
static ENV_KEY: LazyLock<Regex> = LazyLock::new(|| re(r"^[A-Z][A-Z0-9_]*$"));
static EMAIL: LazyLock<Regex> = LazyLock::new(|| re(r"^[^@\s]+@[^@\s]+\.[^@\s]+$"));
static PULL_THROUGH_SECRET: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:ecr-pullthroughcache/[A-Za-z0-9/_+=.@-]+$",
    )
});
static ECR_PREFIX: LazyLock<Regex> = LazyLock::new(|| re(r"^[a-z0-9][a-z0-9._/-]{0,28}[a-z0-9]$"));
static SG_ID: LazyLock<Regex> = LazyLock::new(|| re(r"^sg-[0-9a-f]{8,17}$"));
static PREFIX_LIST_ID: LazyLock<Regex> = LazyLock::new(|| re(r"^pl-[0-9a-f]{8,17}$"));
static TAG_KEY: LazyLock<Regex> = LazyLock::new(|| re(r"^[A-Za-z0-9 _.:/=+@-]{1,128}$"));

fn re(p: &str) -> Regex {
    // The patterns above are constants checked by the tests; a typo there is a bug, not input.
    Regex::new(p).unwrap_or_else(|e| panic!("invalid built-in pattern {p}: {e}"))
}

/// Secret-looking names that must not be set as plain environment values.
const SECRET_WORDS: [&str; 5] = ["PASSWORD", "SECRET", "KEY", "TOKEN", "CREDENTIAL"];

struct Checker<'a> {
    file: &'a Path,
    errors: Vec<ConfigError>,
}

impl Checker<'_> {
    fn fail(&mut self, field: &str, value: Option<String>, message: impl Into<String>) {
        self.errors.push(ConfigError {
            file: self.file.to_owned(),
            field: field.to_owned(),
            value,
            message: message.into(),
        });
    }

    fn pattern(&mut self, field: &str, value: &str, re: &Regex, what: &str) {
        if !re.is_match(value) {
            self.fail(field, Some(quote(value)), format!("not {what}"));
        }
    }

    fn opt_pattern(&mut self, field: &str, value: &Option<String>, re: &Regex, what: &str) {
        if let Some(v) = value {
            self.pattern(field, v, re, what);
        }
    }

    fn cidr(&mut self, field: &str, value: &str) -> Option<IpNet> {
        match value.parse::<IpNet>() {
            Ok(net) if net.trunc() != net => {
                self.fail(
                    field,
                    Some(quote(value)),
                    format!("host bits are set; did you mean {}?", net.trunc()),
                );
                None
            }
            Ok(net) => Some(net),
            Err(_) => {
                let hint = if value.parse::<IpAddr>().is_ok() {
                    " (add a prefix length, e.g. /32 or /128)"
                } else {
                    ""
                };
                self.fail(
                    field,
                    Some(quote(value)),
                    format!("not an IPv4 or IPv6 CIDR{hint}"),
                );
                None
            }
        }
    }

    /// A daily (`hh:mm-hh:mm`) or weekly (`ddd:hh:mm-ddd:hh:mm`) UTC window, defaulted.
    fn window(
        &mut self,
        field: &str,
        value: Option<String>,
        default: &str,
        weekly: bool,
    ) -> String {
        let v = value.unwrap_or_else(|| default.to_owned());
        if weekly {
            self.pattern(
                field,
                &v,
                &MAINT_WINDOW,
                "ddd:hh:mm-ddd:hh:mm (UTC, lowercase days)",
            );
        } else {
            self.pattern(field, &v, &WINDOW, "hh:mm-hh:mm (UTC)");
        }
        v
    }

    fn range(&mut self, field: &str, v: u32, min: u32, max: u32) {
        if v < min || v > max {
            self.fail(
                field,
                Some(v.to_string()),
                format!("must be between {min} and {max}"),
            );
        }
    }
}

fn quote(s: &str) -> String {
    format!("\"{s}\"")
}

impl Environment {
    /// Reads every `*.toml` file in a directory, sorted by name. All files are checked before
    /// failing, and every problem is reported.
    pub fn load_dir(dir: &Path) -> Result<Vec<Environment>, ConfigErrors> {
        let entries = std::fs::read_dir(dir).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                file: dir.to_owned(),
                field: "(directory)".into(),
                value: None,
                message: format!("cannot read the environments directory: {e}"),
            }])
        })?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        let mut envs = Vec::new();
        let mut errors = Vec::new();
        for f in files {
            match Environment::load_file(&f) {
                Ok(e) => envs.push(e),
                Err(ConfigErrors(mut e)) => errors.append(&mut e),
            }
        }
        let mut seen: IndexMap<String, PathBuf> = IndexMap::new();
        for e in &envs {
            if let Some(first) = seen.insert(e.stack_name.clone(), PathBuf::from(&e.name)) {
                errors.push(ConfigError {
                    file: dir.join(format!("{}.toml", e.name)),
                    field: "stack_name".into(),
                    value: Some(quote(&e.stack_name)),
                    message: format!("also the stack of environment '{}'", first.display()),
                });
            }
        }
        if errors.is_empty() {
            Ok(envs)
        } else {
            Err(ConfigErrors(errors))
        }
    }

    /// Reads and resolves one environment file; its name is the file stem.
    pub fn load_file(path: &Path) -> Result<Environment, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                file: path.to_owned(),
                field: "(file)".into(),
                value: None,
                message: format!("cannot read: {e}"),
            }])
        })?;
        Environment::from_toml_str(path, &text)
    }

    /// Parses and resolves an environment from TOML text. `path` names it in errors and its
    /// stem is the environment's name.
    pub fn from_toml_str(path: impl AsRef<Path>, text: &str) -> Result<Environment, ConfigErrors> {
        let path = path.as_ref();
        let de = toml::Deserializer::new(text);
        let raw: RawEnv = serde_path_to_error::deserialize(de).map_err(|e| {
            let field = e.path().to_string();
            let inner = e.into_inner();
            let message = inner.message().to_owned();
            let location = inner
                .span()
                .map(|s| {
                    let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
                    format!(" (line {line})")
                })
                .unwrap_or_default();
            ConfigErrors(vec![ConfigError {
                file: path.to_owned(),
                field: if field == "." { "(file)".into() } else { field },
                value: None,
                message: format!("{message}{location}"),
            }])
        })?;
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        let mut c = Checker {
            file: path,
            errors: Vec::new(),
        };
        let env = resolve(&mut c, name, raw);
        if c.errors.is_empty() {
            Ok(env)
        } else {
            Err(ConfigErrors(c.errors))
        }
    }
}

fn resolve(c: &mut Checker<'_>, name: String, raw: RawEnv) -> Environment {
    if !ENV_NAME.is_match(&name) {
        c.fail(
            "(file name)",
            Some(quote(&name)),
            "an environment name is lowercase letters, digits and hyphens, starting with a letter (at most 21)",
        );
    }
    let production = raw.production.unwrap_or(name == "prd");
    let stack_name = raw
        .stack_name
        .clone()
        .unwrap_or_else(|| format!("dify-{name}"));
    c.pattern("stack_name", &stack_name, &STACK_NAME, "a valid stack name");
    c.opt_pattern(
        "account",
        &raw.account,
        &ACCOUNT,
        "a 12-digit AWS account ID",
    );
    let region = match raw.region {
        Some(r) => {
            c.pattern("region", &r, &REGION, "an AWS region (e.g. ap-northeast-1)");
            r
        }
        None => {
            c.fail("region", None, "required: the AWS region to deploy to");
            String::new()
        }
    };
    let log_retention_days = raw
        .log_retention_days
        .unwrap_or(if production { 30 } else { 7 });
    const RETENTIONS: [u32; 22] = [
        1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
        2922, 3288, 3653,
    ];
    if !RETENTIONS.contains(&log_retention_days) {
        c.fail(
            "log_retention_days",
            Some(log_retention_days.to_string()),
            "CloudWatch Logs accepts 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653",
        );
    }
    for (k, v) in &raw.tags {
        c.pattern(&format!("tags.{k}"), k, &TAG_KEY, "a valid tag key");
        if k.starts_with("aws:") {
            c.fail(
                &format!("tags.{k}"),
                Some(quote(v)),
                "tag keys starting with aws: are reserved",
            );
        }
    }

    let network = resolve_network(c, raw.network);
    let domain = resolve_domain(c, raw.domain);
    let ingress = resolve_ingress(c, raw.ingress, production);
    let database = resolve_database(c, raw.database, production);
    let cache = resolve_cache(c, raw.cache, production);
    let images = resolve_images(c, raw.images, production, &stack_name);
    let services = resolve_services(c, raw.services, production);
    let smtp = raw.smtp.map(|s| resolve_smtp(c, s));
    let dify = resolve_dify(c, raw.dify);
    let alarms = Alarms {
        topic_arn: raw.alarms.topic_arn,
        email: raw.alarms.email,
    };
    c.opt_pattern(
        "alarms.topic_arn",
        &alarms.topic_arn,
        &SNS_ARN,
        "an SNS topic ARN",
    );
    c.opt_pattern("alarms.email", &alarms.email, &EMAIL, "an e-mail address");
    if production && alarms.topic_arn.is_none() && alarms.email.is_none() {
        c.fail(
            "alarms",
            None,
            "production alarms must page someone: set alarms.topic_arn (an SNS topic) or alarms.email",
        );
    }
    // Cross-field checks only on values that are well-formed themselves, so one typo is one
    // error.
    let account_ok = raw.account.as_deref().filter(|a| ACCOUNT.is_match(a));
    let region_ok = Some(region.as_str()).filter(|r| REGION.is_match(r));
    let arns: [(&str, Option<&str>); 3] = [
        (
            "alarms.topic_arn",
            alarms.topic_arn.as_deref().filter(|a| SNS_ARN.is_match(a)),
        ),
        (
            "images.pull_through_cache.credential_arn",
            images
                .pull_through_cache
                .as_ref()
                .map(|p| p.credential_arn.as_str())
                .filter(|a| PULL_THROUGH_SECRET.is_match(a)),
        ),
        (
            "domain.certificate_arn",
            domain
                .certificate_arn
                .as_deref()
                .filter(|a| ACM_ARN.is_match(a)),
        ),
    ];
    for (field, arn) in arns {
        let Some(arn) = arn else { continue };
        if let Some(account) = account_ok
            && !arn.contains(&format!(":{account}:"))
        {
            c.fail(
                field,
                Some(quote(arn)),
                format!("belongs to another account than {account}"),
            );
        }
        if let Some(region) = region_ok
            && !arn.contains(&format!(":{region}:"))
        {
            c.fail(
                field,
                Some(quote(arn)),
                format!("must be in the stack's region ({region})"),
            );
        }
    }
    if let Network::Existing { endpoints, .. } = &network {
        let from_ecr = images.pull_through_cache.is_some() || images.registry.contains(".dkr.ecr.");
        match endpoints {
            None if production => c.fail(
                "network.endpoints",
                None,
                "production runs the sandbox with no internet egress: name the VPC's interface endpoints' security group (ecr.api, ecr.dkr, logs, secretsmanager) and the S3 prefix list",
            ),
            Some(_) if !from_ecr => c.fail(
                "network.endpoints",
                None,
                "a sandbox without internet egress cannot pull from Docker Hub: set [images.pull_through_cache] or an ECR images.registry",
            ),
            _ => {}
        }
    }
    if let Err(msg) = crate::sizing::check_connections(&services, &database.capacity) {
        c.fail("services", None, msg);
    }
    if ingress.internet_facing && ingress.allowlist.is_empty() && production {
        c.fail(
            "ingress.allowlist",
            None,
            "an internet-facing production load balancer needs an allowlist (named groups of CIDRs); set ingress.allowlist.everyone = [\"0.0.0.0/0\"] to open it deliberately",
        );
    }
    if ingress.internet_facing
        && let Network::Existing {
            public_subnet_ids, ..
        } = &network
        && public_subnet_ids.is_empty()
    {
        c.fail(
            "network.public_subnet_ids",
            None,
            "required for an internet-facing load balancer",
        );
    }

    Environment {
        name,
        stack_name,
        account: raw.account,
        region,
        production,
        log_retention_days,
        tags: raw.tags,
        network,
        domain,
        ingress,
        database,
        cache,
        images,
        services,
        smtp,
        dify,
        alarms,
    }
}

fn resolve_network(c: &mut Checker<'_>, n: RawNetwork) -> Network {
    match (n.vpc_id, n.create) {
        (Some(_), Some(_)) => {
            c.fail(
                "network",
                None,
                "give either vpc_id (use an existing VPC) or [network.create], not both",
            );
            Network::Create {
                cidr: IpNet::V4(ipnet::Ipv4Net::default()),
                azs: 2,
                nat_gateways: 1,
            }
        }
        (None, None) => {
            c.fail(
                "network",
                None,
                "required: vpc_id with private_subnet_ids and public_subnet_ids, or a [network.create] table",
            );
            Network::Create {
                cidr: IpNet::V4(ipnet::Ipv4Net::default()),
                azs: 2,
                nat_gateways: 1,
            }
        }
        (Some(vpc_id), None) => {
            c.pattern("network.vpc_id", &vpc_id, &VPC_ID, "a VPC ID (vpc-…)");
            let mut subnets = |field: &str, ids: Option<Vec<String>>, min: usize| {
                let ids = ids.unwrap_or_default();
                if ids.len() < min {
                    c.fail(
                        &format!("network.{field}"),
                        Some(format!("{ids:?}")),
                        format!("needs at least {min} subnets in different availability zones"),
                    );
                }
                for (i, s) in ids.iter().enumerate() {
                    c.pattern(
                        &format!("network.{field}[{i}]"),
                        s,
                        &SUBNET_ID,
                        "a subnet ID (subnet-…)",
                    );
                }
                let mut seen = std::collections::HashSet::new();
                for s in &ids {
                    if !seen.insert(s) {
                        c.fail(&format!("network.{field}"), Some(quote(s)), "listed twice");
                    }
                }
                ids
            };
            let private_subnet_ids = subnets("private_subnet_ids", n.private_subnet_ids, 2);
            let public_subnet_ids = subnets("public_subnet_ids", n.public_subnet_ids, 0);
            let nat_public_ips = n
                .nat_public_ips
                .unwrap_or_default()
                .iter()
                .enumerate()
                .filter_map(|(i, ip)| {
                    let field = format!("network.nat_public_ips[{i}]");
                    match ip.parse::<std::net::Ipv4Addr>() {
                        Ok(a) => Some(IpNet::V4(ipnet::Ipv4Net::from(a))),
                        Err(_) => {
                            c.fail(&field, Some(quote(ip)), "not an IPv4 address");
                            None
                        }
                    }
                })
                .collect();
            let endpoints = n.endpoints.map(|e| {
                let security_group_id = e.security_group_id.unwrap_or_default();
                c.pattern(
                    "network.endpoints.security_group_id",
                    &security_group_id,
                    &SG_ID,
                    "a security group ID (sg-…)",
                );
                let s3_prefix_list_id = e.s3_prefix_list_id.unwrap_or_default();
                c.pattern(
                    "network.endpoints.s3_prefix_list_id",
                    &s3_prefix_list_id,
                    &PREFIX_LIST_ID,
                    "a prefix list ID (pl-…)",
                );
                Endpoints {
                    security_group_id,
                    s3_prefix_list_id,
                }
            });
            Network::Existing {
                vpc_id,
                private_subnet_ids,
                public_subnet_ids,
                nat_public_ips,
                endpoints,
            }
        }
        (None, Some(create)) => {
            if n.private_subnet_ids.is_some() || n.public_subnet_ids.is_some() {
                c.fail(
                    "network",
                    None,
                    "subnet IDs only go with vpc_id; a created VPC makes its own subnets",
                );
            }
            if n.nat_public_ips.is_some() || n.endpoints.is_some() {
                c.fail(
                    "network",
                    None,
                    "nat_public_ips and [network.endpoints] describe an existing VPC; a created VPC admits its own NAT addresses",
                );
            }
            let cidr_text = create.cidr.unwrap_or_else(|| "10.0.0.0/16".into());
            let cidr = c
                .cidr("network.create.cidr", &cidr_text)
                .unwrap_or(IpNet::V4(ipnet::Ipv4Net::default()));
            match cidr {
                IpNet::V4(v4) if v4.prefix_len() < 16 || v4.prefix_len() > 22 => c.fail(
                    "network.create.cidr",
                    Some(quote(&cidr_text)),
                    "the VPC prefix must be /16 to /22 so each AZ gets a public and a private subnet",
                ),
                IpNet::V6(_) => c.fail(
                    "network.create.cidr",
                    Some(quote(&cidr_text)),
                    "the VPC's primary CIDR must be IPv4",
                ),
                _ => {}
            }
            let azs = create.azs.unwrap_or(2);
            if !(2..=3).contains(&azs) {
                c.fail(
                    "network.create.azs",
                    Some(azs.to_string()),
                    "must be 2 or 3",
                );
            }
            let nat_gateways = create.nat_gateways.unwrap_or(azs);
            if nat_gateways < 1 || nat_gateways > azs {
                c.fail(
                    "network.create.nat_gateways",
                    Some(nat_gateways.to_string()),
                    format!("must be between 1 and the number of AZs ({azs})"),
                );
            }
            Network::Create {
                cidr,
                azs,
                nat_gateways,
            }
        }
    }
}

fn resolve_domain(c: &mut Checker<'_>, d: RawDomain) -> Domain {
    c.opt_pattern("domain.name", &d.name, &DOMAIN, "a lowercase DNS name");
    c.opt_pattern(
        "domain.hosted_zone_id",
        &d.hosted_zone_id,
        &ZONE_ID,
        "a Route 53 hosted zone ID (Z…)",
    );
    c.opt_pattern(
        "domain.certificate_arn",
        &d.certificate_arn,
        &ACM_ARN,
        "an ACM certificate ARN",
    );
    if d.hosted_zone_id.is_some() && d.name.is_none() {
        c.fail(
            "domain.name",
            None,
            "required when domain.hosted_zone_id is set (the record's name)",
        );
    }
    Domain {
        name: d.name,
        hosted_zone_id: d.hosted_zone_id,
        certificate_arn: d.certificate_arn,
    }
}

fn resolve_ingress(c: &mut Checker<'_>, i: RawIngress, production: bool) -> Ingress {
    let mut allowlist = IndexMap::new();
    for (group, cidrs) in i.allowlist {
        if cidrs.is_empty() {
            c.fail(
                &format!("ingress.allowlist.{group}"),
                None,
                "an empty group allows nobody; remove it",
            );
        }
        let nets: Vec<IpNet> = cidrs
            .iter()
            .enumerate()
            .filter_map(|(n, s)| {
                let field = format!("ingress.allowlist.{group}[{n}]");
                let net = c.cidr(&field, s)?;
                // The load balancer is IPv4-only behind an A record: an IPv6 rule would never
                // match anything, and look like access that is not there.
                if let IpNet::V6(_) = net {
                    c.fail(
                        &field,
                        Some(quote(s)),
                        "the load balancer is IPv4-only (an A record): IPv6 clients reach it over IPv4, so list the office's IPv4 egress addresses instead",
                    );
                    return None;
                }
                Some(net)
            })
            .collect();
        allowlist.insert(group, nets);
    }
    let idle_timeout_seconds = i.idle_timeout_seconds.unwrap_or(900);
    if idle_timeout_seconds < 600 {
        c.fail(
            "ingress.idle_timeout_seconds",
            Some(idle_timeout_seconds.to_string()),
            "Dify streams responses (SSE) for minutes: use at least 600",
        );
    }
    c.range(
        "ingress.idle_timeout_seconds",
        idle_timeout_seconds,
        1,
        4000,
    );
    let raw_waf = i.waf.unwrap_or_default();
    let waf = raw_waf.enabled.unwrap_or(production).then(|| {
        let defaults = crate::waf::WafSettings::default();
        let settings = crate::waf::WafSettings {
            rate_limit: raw_waf.rate_limit.unwrap_or(defaults.rate_limit),
            count_only: raw_waf.count_only.unwrap_or(false),
            ..defaults
        };
        if let Err(e) = settings.validate() {
            c.fail("ingress.waf", None, e.to_string());
        }
        settings
    });
    Ingress {
        waf,
        internet_facing: i.internet_facing.unwrap_or(true),
        allowlist,
        deletion_protection: i.deletion_protection.unwrap_or(production),
        idle_timeout_seconds,
        access_logs: i.access_logs.unwrap_or(true),
    }
}

fn resolve_database(c: &mut Checker<'_>, d: RawDatabase, production: bool) -> Database {
    let engine_version = d
        .engine_version
        .unwrap_or_else(|| DEFAULT_DB_ENGINE_VERSION.into());
    c.pattern(
        "database.engine_version",
        &engine_version,
        &DB_VERSION,
        "an Aurora PostgreSQL version (16.9, or 16 with auto_minor_version_upgrade)",
    );
    let capacity = match (d.serverless, d.provisioned) {
        (Some(_), Some(_)) => {
            c.fail(
                "database",
                None,
                "give either [database.serverless] or [database.provisioned], not both",
            );
            DbCapacity::Serverless {
                min_acu: 0.5,
                max_acu: 4.0,
                readers: 0,
            }
        }
        (Some(s), None) => serverless(c, s, production),
        (None, Some(p)) => {
            let instance_class = p.instance_class.unwrap_or_else(|| "db.r6g.large".into());
            c.pattern(
                "database.provisioned.instance_class",
                &instance_class,
                &DB_CLASS,
                "an instance class (db.r6g.large, …)",
            );
            let instances = p.instances.unwrap_or(if production { 2 } else { 1 });
            c.range(
                "database.provisioned.instances",
                u32::from(instances),
                1,
                16,
            );
            DbCapacity::Provisioned {
                instance_class,
                instances,
            }
        }
        (None, None) if production => DbCapacity::Provisioned {
            instance_class: "db.r6g.large".into(),
            instances: 2,
        },
        (None, None) => serverless(c, RawServerless::default(), production),
    };
    let backup_retention_days = d
        .backup_retention_days
        .unwrap_or(if production { 14 } else { 7 });
    c.range(
        "database.backup_retention_days",
        backup_retention_days,
        1,
        35,
    );
    let backup_window = c.window(
        "database.backup_window",
        d.backup_window,
        "03:00-04:00",
        false,
    );
    let maintenance_window = c.window(
        "database.maintenance_window",
        d.maintenance_window,
        "sun:04:00-sun:05:00",
        true,
    );
    let monitoring_interval_seconds = d.monitoring_interval_seconds.unwrap_or(60);
    if ![0, 1, 5, 10, 15, 30, 60].contains(&monitoring_interval_seconds) {
        c.fail(
            "database.monitoring_interval_seconds",
            Some(monitoring_interval_seconds.to_string()),
            "must be 0, 1, 5, 10, 15, 30 or 60",
        );
    }
    if let Some(id) = &d.adopt_cluster_logical_id
        && !cfn_core::logical_id::is_valid(id)
    {
        c.fail(
            "database.adopt_cluster_logical_id",
            Some(quote(id)),
            "a logical ID is 1-255 ASCII letters and digits",
        );
    }
    let auto_minor_version_upgrade = d.auto_minor_version_upgrade.unwrap_or(false);
    if auto_minor_version_upgrade && engine_version.contains('.') {
        c.fail(
            "database.auto_minor_version_upgrade",
            Some("true".into()),
            format!(
                "contradicts the pinned minor version engine_version = \"{engine_version}\": once RDS upgrades the instances, the next deploy asks to go back to it and fails; pin only the major version (engine_version = \"{}\") or set auto_minor_version_upgrade = false",
                engine_version.split('.').next().unwrap_or_default()
            ),
        );
    }
    Database {
        engine_version,
        auto_minor_version_upgrade,
        app_credentials_generation: d.app_credentials_generation.unwrap_or(0),
        capacity,
        backup_retention_days,
        backup_window,
        maintenance_window,
        deletion_protection: d.deletion_protection.unwrap_or(production),
        performance_insights: d.performance_insights.unwrap_or(production),
        monitoring_interval_seconds,
        customer_managed_key: d.customer_managed_key.unwrap_or(production),
        adopt_cluster_logical_id: d.adopt_cluster_logical_id,
    }
}

fn serverless(c: &mut Checker<'_>, s: RawServerless, production: bool) -> DbCapacity {
    let min_acu = s.min_acu.unwrap_or(if production { 2.0 } else { 0.5 });
    let max_acu = s.max_acu.unwrap_or(if production { 16.0 } else { 4.0 });
    for (field, v) in [("min_acu", min_acu), ("max_acu", max_acu)] {
        if !(0.0..=256.0).contains(&v) || (v * 2.0).fract() != 0.0 {
            c.fail(
                &format!("database.serverless.{field}"),
                Some(v.to_string()),
                "ACUs go from 0 to 256 in steps of 0.5",
            );
        }
    }
    if max_acu < 1.0 {
        c.fail(
            "database.serverless.max_acu",
            Some(max_acu.to_string()),
            "must be at least 1",
        );
    }
    if min_acu > max_acu {
        c.fail(
            "database.serverless.min_acu",
            Some(min_acu.to_string()),
            format!("is greater than max_acu ({max_acu})"),
        );
    }
    let readers = s.readers.unwrap_or(u8::from(production));
    c.range("database.serverless.readers", u32::from(readers), 0, 15);
    DbCapacity::Serverless {
        min_acu,
        max_acu,
        readers,
    }
}

fn resolve_cache(c: &mut Checker<'_>, k: RawCache, production: bool) -> Cache {
    let engine = match k.engine.as_deref() {
        None | Some("valkey") => CacheEngine::Valkey,
        Some("redis") => CacheEngine::Redis,
        Some(other) => {
            c.fail(
                "cache.engine",
                Some(quote(other)),
                "must be \"valkey\" or \"redis\"",
            );
            CacheEngine::Valkey
        }
    };
    let engine_version = k.engine_version.unwrap_or_else(|| match engine {
        CacheEngine::Valkey => "8.0".into(),
        CacheEngine::Redis => "7.1".into(),
    });
    c.pattern(
        "cache.engine_version",
        &engine_version,
        &CACHE_VERSION,
        "a version (8.0, 7.1, …)",
    );
    let node_type = k.node_type.unwrap_or_else(|| {
        if production {
            "cache.m7g.large".into()
        } else {
            "cache.t4g.small".into()
        }
    });
    c.pattern(
        "cache.node_type",
        &node_type,
        &CACHE_NODE,
        "a node type (cache.t4g.small, …)",
    );
    let nodes = k.nodes.unwrap_or(if production { 3 } else { 1 });
    c.range("cache.nodes", u32::from(nodes), 1, 6);
    let snapshot_retention_days =
        k.snapshot_retention_days
            .unwrap_or(if production { 5 } else { 1 });
    c.range(
        "cache.snapshot_retention_days",
        snapshot_retention_days,
        0,
        35,
    );
    let snapshot_window = c.window(
        "cache.snapshot_window",
        k.snapshot_window,
        "03:00-05:00",
        false,
    );
    let maintenance_window = c.window(
        "cache.maintenance_window",
        k.maintenance_window,
        "sun:05:00-sun:07:00",
        true,
    );
    Cache {
        engine,
        engine_version,
        node_type,
        nodes,
        snapshot_retention_days,
        snapshot_window,
        maintenance_window,
    }
}

fn resolve_pull_through_cache(
    c: &mut Checker<'_>,
    raw: RawPullThroughCache,
    stack_name: &str,
) -> PullThroughCache {
    let field = "images.pull_through_cache";
    let credential_arn = raw.credential_arn.unwrap_or_default();
    if !PULL_THROUGH_SECRET.is_match(&credential_arn) {
        c.fail(
            &format!("{field}.credential_arn"),
            Some(quote(&credential_arn)),
            "the ARN of a Secrets Manager secret named ecr-pullthroughcache/… (ECR requires Docker Hub credentials for a pull-through cache)",
        );
    }
    let repository_prefix = raw
        .repository_prefix
        .unwrap_or_else(|| format!("{stack_name}-dockerhub"));
    c.pattern(
        &format!("{field}.repository_prefix"),
        &repository_prefix,
        &ECR_PREFIX,
        "an ECR repository prefix of 2-30 lowercase letters, digits, '.', '_', '-' or '/'",
    );
    PullThroughCache {
        credential_arn,
        repository_prefix,
    }
}

fn resolve_images(c: &mut Checker<'_>, i: RawImages, production: bool, stack_name: &str) -> Images {
    let dify_version = i
        .dify_version
        .unwrap_or_else(|| DEFAULT_DIFY_VERSION.into());
    let images = Images {
        web: i.web.unwrap_or_else(|| dify_version.clone()),
        dify_version,
        plugin_daemon: i
            .plugin_daemon
            .unwrap_or_else(|| DEFAULT_PLUGIN_DAEMON_VERSION.into()),
        sandbox: i.sandbox.unwrap_or_else(|| DEFAULT_SANDBOX_VERSION.into()),
        ssrf_proxy: i
            .ssrf_proxy
            .unwrap_or_else(|| DEFAULT_SSRF_PROXY_IMAGE.into()),
        registry: i.registry.unwrap_or_else(|| "langgenius".into()),
        pull_through_cache: i
            .pull_through_cache
            .map(|p| resolve_pull_through_cache(c, p, stack_name)),
    };
    if production && images.pull_through_cache.is_none() && images.registry == "langgenius" {
        c.fail(
            "images",
            None,
            "production must not pull anonymously from Docker Hub (a rollout starts a dozen tasks behind one NAT and hits the pull rate limit): set [images.pull_through_cache] credential_arn, or images.registry to your own mirror",
        );
    }
    let mut tags = vec![
        ("images.dify_version", &images.dify_version),
        ("images.plugin_daemon", &images.plugin_daemon),
        ("images.sandbox", &images.sandbox),
    ];
    // web follows dify_version unless set: judge it only when it says something of its own.
    if images.web != images.dify_version {
        tags.push(("images.web", &images.web));
    }
    for (field, v) in tags {
        c.pattern(field, v, &IMAGE_TAG, "an image tag");
        if v == "latest" {
            c.fail(
                field,
                Some(quote(v)),
                "pin a version: 'latest' makes every deploy a silent upgrade",
            );
        }
    }
    c.pattern(
        "images.ssrf_proxy",
        &images.ssrf_proxy,
        &IMAGE_REF,
        "an image reference",
    );
    if production && !images.ssrf_proxy.contains("@sha256:") {
        c.fail(
            "images.ssrf_proxy",
            Some(quote(&images.ssrf_proxy)),
            "production pins the SSRF proxy by digest (image@sha256:…): its tags (_edge, _beta) move, and with them the egress filter",
        );
    } else if images.ssrf_proxy.ends_with(":latest") || !images.ssrf_proxy.contains(':') {
        c.fail(
            "images.ssrf_proxy",
            Some(quote(&images.ssrf_proxy)),
            "pin a tag or digest",
        );
    }
    if let Some(row) =
        crate::compat::check(&images.dify_version, &images.plugin_daemon, &images.sandbox)
    {
        c.fail(
            "images",
            Some(format!(
                "dify {} + plugin_daemon {} + sandbox {}",
                images.dify_version, images.plugin_daemon, images.sandbox
            )),
            format!("a known-broken combination: {} ({})", row.why, row.source),
        );
    }
    c.pattern(
        "images.registry",
        &images.registry,
        &IMAGE_REF,
        "a registry or namespace",
    );
    images
}

fn resolve_services(
    c: &mut Checker<'_>,
    raw: IndexMap<String, RawService>,
    production: bool,
) -> Services {
    let mut sizes: IndexMap<Component, ServiceSize> = Component::ALL
        .into_iter()
        .filter(|k| *k != Component::WorkerLong)
        .map(|k| (k, k.default_size(production)))
        .collect();
    let mut long_queues = Vec::new();
    for (key, s) in raw {
        let Some(component) = Component::from_key(&key) else {
            let known: Vec<&str> = Component::ALL.iter().map(|c| c.key()).collect();
            c.fail(
                &format!("services.{key}"),
                None,
                format!("unknown component; known: {}", known.join(", ")),
            );
            continue;
        };
        let d = sizes
            .get(&component)
            .copied()
            .unwrap_or_else(|| component.default_size(production));
        if let Some(queues) = &s.queues {
            if component == Component::WorkerLong {
                long_queues = check_queues(c, &format!("services.{key}.queues"), queues);
            } else {
                c.fail(
                    &format!("services.{key}.queues"),
                    None,
                    "only worker_long takes a queue list; worker consumes the rest",
                );
            }
        } else if component == Component::WorkerLong {
            long_queues = LONG_QUEUES.iter().map(|q| (*q).to_owned()).collect();
        }
        let f = |n: &str| format!("services.{key}.{n}");
        let cpu = s.cpu.unwrap_or(d.cpu);
        let memory = s.memory.unwrap_or(d.memory);
        if let Err(msg) = fargate_size(cpu, memory) {
            c.fail(&f("memory"), Some(memory.to_string()), msg);
        }
        let desired = s.desired.unwrap_or(d.desired);
        let min = s.min.unwrap_or(d.min.min(desired));
        let max = s.max.unwrap_or(d.max.max(desired));
        if min > max {
            c.fail(
                &f("min"),
                Some(min.to_string()),
                format!("is greater than max ({max})"),
            );
        }
        if desired < min || desired > max {
            c.fail(
                &f("desired"),
                Some(desired.to_string()),
                format!("must be between min ({min}) and max ({max})"),
            );
        }
        if component == Component::Beat && (desired != 1 || max != 1) {
            c.fail(
                &f("desired"),
                Some(desired.to_string()),
                "celery beat must run exactly one task; more would duplicate every scheduled job",
            );
        }
        let ephemeral_storage_gib = s.ephemeral_storage_gib.unwrap_or(d.ephemeral_storage_gib);
        c.range(&f("ephemeral_storage_gib"), ephemeral_storage_gib, 21, 200);
        let processes = s
            .processes
            .unwrap_or_else(|| crate::sizing::default_processes(component, cpu, memory));
        if s.processes.is_some()
            && !matches!(
                component,
                Component::Api | Component::Worker | Component::WorkerLong
            )
        {
            c.fail(
                &f("processes"),
                Some(processes.to_string()),
                "only api (gunicorn workers) and worker (Celery concurrency) run several processes",
            );
        }
        c.range(&f("processes"), processes, 1, 64);
        let connections = s.connections.unwrap_or(d.connections);
        if s.connections.is_some() && component != Component::Api {
            c.fail(
                &f("connections"),
                Some(connections.to_string()),
                "only api serves concurrent requests per process (SERVER_WORKER_CONNECTIONS)",
            );
        }
        c.range(&f("connections"), connections, 1, 1000);
        sizes.insert(
            component,
            ServiceSize {
                cpu,
                memory,
                desired,
                min,
                max,
                ephemeral_storage_gib,
                processes,
                connections,
            },
        );
    }
    Services(sizes, long_queues)
}

/// The queues Dify 1.13.3's worker consumes by default in the community edition
/// (`api/docker/entrypoint.sh`, `DEFAULT_QUEUES`); every one must have a consumer, or its tasks
/// wait forever. `workflow_based_app_execution` runs streaming workflow and chatflow runs.
pub const CELERY_QUEUES: [&str; 19] = [
    "api_token",
    "dataset",
    "dataset_summary",
    "priority_dataset",
    "priority_pipeline",
    "pipeline",
    "mail",
    "ops_trace",
    "app_deletion",
    "plugin",
    "workflow_storage",
    "conversation",
    "workflow",
    "schedule_poller",
    "schedule_executor",
    "triggered_workflow_dispatcher",
    "trigger_refresh_executor",
    "retention",
    "workflow_based_app_execution",
];

/// The queues whose tasks run for minutes to hours: document indexing, RAG pipelines and
/// workflow runs. `worker_long` takes them by default, so a burst of them never starves mail,
/// traces or schedules.
pub const LONG_QUEUES: [&str; 7] = [
    "dataset",
    "dataset_summary",
    "priority_dataset",
    "pipeline",
    "priority_pipeline",
    "workflow",
    "workflow_based_app_execution",
];

fn check_queues(c: &mut Checker<'_>, field: &str, queues: &[String]) -> Vec<String> {
    for q in queues {
        if !CELERY_QUEUES.contains(&q.as_str()) {
            c.fail(
                field,
                Some(quote(q)),
                format!(
                    "not one of Dify's Celery queues: {}",
                    CELERY_QUEUES.join(", ")
                ),
            );
        }
    }
    if queues.is_empty() || queues.len() == CELERY_QUEUES.len() {
        c.fail(
            field,
            None,
            "give worker_long some of the queues and leave worker the rest",
        );
    }
    queues.to_vec()
}

/// Fargate's valid CPU/memory pairs.
fn fargate_size(cpu: u32, memory: u32) -> Result<(), String> {
    let (lo, hi, step) = match cpu {
        256 => (512, 2048, 512),
        512 => (1024, 4096, 1024),
        1024 => (2048, 8192, 1024),
        2048 => (4096, 16384, 1024),
        4096 => (8192, 30720, 1024),
        8192 => (16384, 61440, 4096),
        16384 => (32768, 122880, 8192),
        _ => {
            return Err(format!(
                "cpu {cpu} is not a Fargate size (256, 512, 1024, 2048, 4096, 8192, 16384)"
            ));
        }
    };
    let ok = (memory >= lo && memory <= hi && memory.is_multiple_of(step))
        || (cpu == 256 && memory == 512);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "with cpu {cpu}, Fargate memory is {lo}-{hi} MiB in steps of {step}"
        ))
    }
}

fn resolve_smtp(c: &mut Checker<'_>, s: RawSmtp) -> Smtp {
    let mut req = |field: &str, v: Option<String>| {
        v.unwrap_or_else(|| {
            c.fail(
                &format!("smtp.{field}"),
                None,
                "required when [smtp] is present",
            );
            String::new()
        })
    };
    let server = req("server", s.server);
    let username = req("username", s.username);
    let from = req("from", s.from);
    let password_secret_arn = req("password_secret_arn", s.password_secret_arn);
    if !password_secret_arn.is_empty() {
        c.pattern(
            "smtp.password_secret_arn",
            &password_secret_arn,
            &SECRET_ARN,
            "a Secrets Manager secret ARN (the password itself never goes in a file)",
        );
    }
    if !from.is_empty() {
        c.pattern("smtp.from", &from, &EMAIL, "an e-mail address");
    }
    Smtp {
        server,
        port: s.port.unwrap_or(465),
        username,
        from,
        use_tls: s.use_tls.unwrap_or(true),
        opportunistic_tls: s.opportunistic_tls.unwrap_or(false),
        password_secret_arn,
    }
}

fn resolve_dify(c: &mut Checker<'_>, d: RawDify) -> DifySettings {
    if let Some(language) = &d.language {
        c.fail(
            "dify.language",
            Some(quote(language)),
            "Dify has no server-side language setting: the web UI follows each browser (the locale cookie, then Accept-Language) and the first admin's language is chosen at /install; remove it",
        );
    }
    let log_level = d.log_level.unwrap_or_else(|| "INFO".into());
    if !["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"].contains(&log_level.as_str()) {
        c.fail(
            "dify.log_level",
            Some(quote(&log_level)),
            "must be DEBUG, INFO, WARNING, ERROR or CRITICAL",
        );
    }
    for (k, v) in &d.extra_env {
        let field = format!("dify.extra_env.{k}");
        c.pattern(
            &field,
            k,
            &ENV_KEY,
            "an UPPER_SNAKE environment variable name",
        );
        if SECRET_WORDS.iter().any(|w| k.contains(w)) {
            c.fail(
                &field,
                Some(quote(v)),
                "looks like a secret: secrets never go in config files or task environments; store it in Secrets Manager",
            );
        }
    }
    DifySettings {
        log_level,
        extra_env: d.extra_env,
    }
}
