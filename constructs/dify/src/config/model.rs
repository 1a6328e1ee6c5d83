//! The resolved model: everything defaulted and checked, as the constructs consume it, and the
//! defaults that are facts about Dify (its releases, its Celery queues).

use indexmap::IndexMap;
use ipnet::IpNet;

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

    pub(super) fn from_key(k: &str) -> Option<Component> {
        Component::ALL.into_iter().find(|c| c.key() == k)
    }

    pub(super) fn default_size(self, production: bool) -> ServiceSize {
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
pub struct Services(
    pub(super) IndexMap<Component, ServiceSize>,
    pub(super) Vec<String>,
);

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
