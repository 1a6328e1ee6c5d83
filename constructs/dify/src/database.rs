//! DifyDatabase: Aurora PostgreSQL (provisioned or Serverless v2) with pgvector available to
//! Dify, two distinct generated credentials (the master user, used only by the one-off
//! bootstrap step, and the application user every service connects as), and production
//! protections.

use cfn_core::refs::KmsKeyArn;
use cfn_core::{RemovalPolicy, Scope, Value, fns};
use cfn_resources::ec2::SecurityGroupHandle;
use cfn_resources::iam;
use cfn_resources::rds::{self, DbClusterHandle, DbInstanceHandle, db_cluster};
use serde_json::json;

use crate::common::{
    CredentialsProps, GeneratedSecret, Path, SecurityGroupProps, closed_security_group, link,
};
use crate::network::DifyNetwork;

/// Aurora PostgreSQL's default engine version (a supported 16.x).
pub const DEFAULT_ENGINE_VERSION: &str = "16.9";

/// The first minor version of each Aurora PostgreSQL major that scales Serverless v2 to 0 ACU
/// and pauses ("Aurora Serverless v2 capacity",
/// <https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless-v2.how-it-works.html#aurora-serverless-v2.how-it-works.capacity>).
pub const AUTO_PAUSE_VERSIONS: [(u32, u32); 4] = [(13, 15), (14, 12), (15, 7), (16, 3)];

/// Whether an engine version (`16.9`, or a major alone, which RDS keeps at its latest minor)
/// supports a minimum of 0 ACU.
pub fn supports_auto_pause(engine_version: &str) -> bool {
    let mut parts = engine_version.split('.');
    let Some(major) = parts.next().and_then(|m| m.parse::<u32>().ok()) else {
        return false;
    };
    let minor = parts.next().map(str::parse::<u32>);
    match minor {
        None => major >= 13,
        Some(Ok(minor)) => {
            major > 16
                || AUTO_PAUSE_VERSIONS
                    .iter()
                    .any(|(m, first)| *m == major && minor >= *first)
        }
        Some(Err(_)) => false,
    }
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

/// The database's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct DatabaseSettings {
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
    /// Whether Performance Insights encrypts with the data key (when there is one) rather
    /// than RDS's AWS-managed key. Changing an instance's key replaces it: adopting
    /// instances that use the AWS-managed key needs `false`. Default: true.
    pub performance_insights_customer_managed_key: bool,
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
    /// Seconds without a connection before a Serverless v2 instance with `min_acu = 0`
    /// pauses (`SecondsUntilAutoPause`, 300 to 86,400). Default 300; ignored unless the
    /// minimum is 0 ACU.
    pub auto_pause_seconds: u32,
}

impl Default for DatabaseSettings {
    /// Development: Serverless v2 from 0.5 to 4 ACUs with no reader, 7 days of backups
    /// (03:00-04:00 UTC), maintenance on Sundays 04:00-05:00 UTC, enhanced monitoring every
    /// 60 s, AWS managed keys, no deletion protection or Performance Insights.
    fn default() -> Self {
        DatabaseSettings {
            engine_version: DEFAULT_ENGINE_VERSION.into(),
            capacity: DbCapacity::Serverless {
                min_acu: 0.5,
                max_acu: 4.0,
                readers: 0,
            },
            backup_retention_days: 7,
            backup_window: "03:00-04:00".into(),
            maintenance_window: "sun:04:00-sun:05:00".into(),
            deletion_protection: false,
            performance_insights: false,
            monitoring_interval_seconds: 60,
            customer_managed_key: false,
            performance_insights_customer_managed_key: true,
            adopt_cluster_logical_id: None,
            auto_minor_version_upgrade: false,
            app_credentials_generation: 0,
            auto_pause_seconds: 300,
        }
    }
}

impl DatabaseSettings {
    /// Production: two provisioned `db.r6g.large` instances (writer and reader), 14 days of
    /// backups, deletion protection, Performance Insights and a customer managed key; the
    /// rest as [`Self::default`].
    pub fn production() -> Self {
        DatabaseSettings {
            capacity: DbCapacity::Provisioned {
                instance_class: "db.r6g.large".into(),
                instances: 2,
            },
            backup_retention_days: 14,
            deletion_protection: true,
            performance_insights: true,
            customer_managed_key: true,
            performance_insights_customer_managed_key: true,
            ..DatabaseSettings::default()
        }
    }
}

/// Inputs of [`DifyDatabase`].
#[derive(Debug, Clone)]
pub struct DifyDatabaseProps<'a> {
    /// The VPC and private subnets the cluster goes in.
    pub network: &'a DifyNetwork,
    /// Engine, capacity, backups, windows and protections. Default:
    /// [`DatabaseSettings::default`] (development).
    pub settings: DatabaseSettings,
    /// A customer key for storage, the credentials' secrets and Performance Insights.
    /// Default `None`: AWS managed keys.
    pub kms_key: Option<Value<KmsKeyArn>>,
    /// What CloudFormation does with the cluster and its instances when it deletes or
    /// replaces them. Default [`RemovalPolicy::Snapshot`]: a final snapshot, so deleting the
    /// stack never loses the data.
    pub removal_policy: RemovalPolicy,
}

impl<'a> DifyDatabaseProps<'a> {
    /// Props with the defaults above, in `network`.
    pub fn new(network: &'a DifyNetwork) -> Self {
        DifyDatabaseProps {
            network,
            settings: DatabaseSettings::default(),
            kms_key: None,
            removal_policy: RemovalPolicy::Snapshot,
        }
    }
}

/// The PostgreSQL database Dify uses (`dify`) and the one the plugin daemon uses.
pub const DATABASE_NAME: &str = "dify";
/// The plugin daemon's database, created by the bootstrap step.
pub const PLUGIN_DATABASE_NAME: &str = "dify_plugin";
/// The master user (not a superuser on Aurora): used by the bootstrap step only.
pub const MASTER_USER: &str = "dify_admin";
/// The application role every service connects as (owner of both databases, not superuser).
pub const APP_USER: &str = "dify";
/// The alternate login of the application role (rotation by alternating users).
pub const APP_ALT_USER: &str = "dify_alt";
/// The plugin daemon's role: owner of [`PLUGIN_DATABASE_NAME`], no CONNECT on `dify`.
pub const PLUGIN_USER: &str = "dify_plugin";
/// PostgreSQL's port.
pub const PORT: u16 = 5432;

/// The Aurora cluster, its security group and its credentials.
#[derive(Debug, Clone)]
pub struct DifyDatabase {
    /// The cluster.
    pub cluster: DbClusterHandle,
    /// The cluster's security group: closed to everything until [`Self::allow_from`].
    pub security_group: SecurityGroupHandle,
    /// The ARN of the master credential's secret, which RDS manages and rotates
    /// (`{"username", "password"}`; bootstrap only).
    pub master_secret_arn: Value<String>,
    /// The application role's credential (owner of `dify`).
    pub app: GeneratedSecret,
    /// The alternate login's credential: a member of the application role whose sessions act
    /// as it (`SET role`), so the two can take turns during a rotation.
    pub app_alt: GeneratedSecret,
    /// Which of the two the services use now: `app` on even generations, `app_alt` on odd.
    pub app_generation: u32,
    /// The plugin daemon's own credential: owner of `dify_plugin` only, no access to `dify`.
    /// The daemon's environment is inherited by every plugin it runs.
    pub plugin: GeneratedSecret,
    /// The instances, writer first. A cluster is CREATE_COMPLETE before any instance exists:
    /// anything that connects at deploy time depends on [`Self::writer`].
    pub instances: Vec<DbInstanceHandle>,
    /// Serverless v2 or provisioned, as built: what its alarms watch.
    pub capacity: DbCapacity,
}

impl DifyDatabase {
    /// Creates the cluster and its instances: a closed security group, the credentials (the
    /// master's name, two alternating application logins, the plugin daemon's), a subnet and
    /// a parameter group, the cluster, and its writer and readers.
    pub fn new(scope: &mut Scope<'_>, id: &str, props: DifyDatabaseProps<'_>) -> DifyDatabase {
        let mut s = scope.child(id);
        let cfg = &props.settings;
        let network = props.network;
        let kms_key = props.kms_key.as_ref();
        let security_group = closed_security_group(
            &mut s,
            "SecurityGroup",
            SecurityGroupProps {
                description: "Aurora PostgreSQL for Dify - reachable from Dify services only",
                vpc_id: &network.vpc_id,
            },
        );
        let creds = Credentials::add(&mut s, cfg.app_credentials_generation, kms_key);
        let subnets = s.add(
            "Subnets",
            rds::DbSubnetGroup::builder()
                .db_subnet_group_description("Dify database subnets")
                .subnet_ids(network.private_subnets.clone())
                .build(),
        );
        let params = parameter_group(&mut s, &cfg.engine_version);
        let (definition, class, count) = cluster_definition(cfg, kms_key, &creds.master_name);
        let definition = definition
            .db_subnet_group_name(subnets.reference())
            .vpc_security_group_ids(vec![security_group.group_id()])
            .db_cluster_parameter_group_name(params.reference());
        let cluster = match &cfg.adopt_cluster_logical_id {
            Some(pinned) => s.add_with_logical_id("Cluster", pinned, definition),
            None => s.add("Cluster", definition),
        };
        s.stack()
            .resource(&cluster)
            .removal_policy(props.removal_policy);
        let instances = instances(&mut s, &props, &cluster, (&class, count));
        DifyDatabase {
            master_secret_arn: cluster.master_user_secret_secret_arn(),
            app_alt: creds.app_alt,
            app_generation: cfg.app_credentials_generation,
            cluster,
            security_group,
            app: creds.app,
            plugin: creds.plugin,
            instances,
            capacity: cfg.capacity.clone(),
        }
    }

    /// Lets members of `source` connect (ingress here, egress there) on the PostgreSQL port.
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
                description: "PostgreSQL from a Dify service",
            },
        )
    }

    /// The credential the services connect with now (see [`Self::app_alt`]).
    pub fn active_app(&self) -> &GeneratedSecret {
        if self.app_generation.is_multiple_of(2) {
            &self.app
        } else {
            &self.app_alt
        }
    }

    /// The writer instance: what a deploy-time client of the cluster must wait for.
    pub fn writer(&self) -> Option<&DbInstanceHandle> {
        self.instances.first()
    }

    /// The writer endpoint's host name.
    pub fn host(&self) -> Value<String> {
        self.cluster.endpoint_address()
    }
}

/// The database's generated credentials.
struct Credentials {
    master_name: GeneratedSecret,
    app: GeneratedSecret,
    app_alt: GeneratedSecret,
    plugin: GeneratedSecret,
}

impl Credentials {
    fn add(s: &mut Scope<'_>, generation: u32, kms_key: Option<&Value<KmsKeyArn>>) -> Credentials {
        let mut secret = |id: &str, description: &str, username: &str, generation: u32| {
            GeneratedSecret::credentials(
                s,
                id,
                CredentialsProps {
                    description,
                    username,
                    generation,
                    kms_key,
                },
            )
        };
        // Names the master user, as every earlier version of this stack did: the cluster's
        // MasterUsername stays the same dynamic reference, so an upgraded stack never asks
        // RDS to change (or CloudFormation to replace) the cluster for it. Its password is
        // unused since RDS manages the master's.
        let master_name = secret(
            "MasterCredentials",
            "Aurora master user name for Dify (the password is RDS-managed: see the cluster's MasterUserSecret)",
            MASTER_USER,
            0,
        );
        // Two login roles take turns (AWS's alternating-users rotation): a rotation gives the
        // idle one a new password and moves the services to it, while tasks still running
        // keep connecting with the other's unchanged password.
        let stamp = |parity: u32| {
            // The last generation at or before `generation` in which this role took over.
            if generation % 2 == parity {
                generation
            } else {
                generation.saturating_sub(1)
            }
        };
        let app = secret(
            "AppCredentials",
            "Aurora application user for Dify's services",
            APP_USER,
            stamp(0),
        );
        let app_alt = secret(
            "AppCredentialsAlt",
            "Aurora application user for Dify's services (the alternate login, for rotation)",
            APP_ALT_USER,
            stamp(1),
        );
        let plugin = secret(
            "PluginCredentials",
            "Aurora user of Dify's plugin daemon (owns dify_plugin only)",
            PLUGIN_USER,
            0,
        );
        Credentials {
            master_name,
            app,
            app_alt,
            plugin,
        }
    }
}

/// The cluster parameter group of the engine's major version: TLS required, slow statements
/// and lock waits logged, idle transactions ended.
fn parameter_group(s: &mut Scope<'_>, engine_version: &str) -> rds::DbClusterParameterGroupHandle {
    let major = engine_version.split('.').next().unwrap_or("16");
    s.add(
        "ClusterParameters",
        rds::DbClusterParameterGroup::builder()
            .description("Dify: TLS required, slow statements logged (never log_statement=all: it logs every parameter, secrets included)")
            .family(format!("aurora-postgresql{major}"))
            .parameters(json!({
                "rds.force_ssl": "1",
                "log_min_duration_statement": "1000",
                "shared_preload_libraries": "pg_stat_statements",
                "log_lock_waits": "1",
                "idle_in_transaction_session_timeout": "600000"
            }))
            .build(),
    )
}

/// The cluster's definition, before it is placed in its subnets, parameter and security
/// groups, with the instance class and count its capacity asks for.
fn cluster_definition(
    cfg: &DatabaseSettings,
    kms_key: Option<&Value<KmsKeyArn>>,
    master_name: &GeneratedSecret,
) -> (rds::DbCluster, String, u8) {
    let mut cluster = rds::DbCluster::new()
        .engine("aurora-postgresql")
        .engine_version(cfg.engine_version.as_str())
        .database_name(DATABASE_NAME)
        .master_username(master_name.resolve_key("username"))
        // RDS keeps the master password in Secrets Manager and rotates it (every 7 days):
        // only the bootstrap step reads it, at each rollout.
        .manage_master_user_password(true)
        .port(i64::from(PORT));
    cluster = cluster
        .storage_encrypted(true)
        .deletion_protection(cfg.deletion_protection)
        .backup_retention_period(i64::from(cfg.backup_retention_days))
        .preferred_backup_window(cfg.backup_window.as_str())
        .preferred_maintenance_window(cfg.maintenance_window.as_str())
        .copy_tags_to_snapshot(true)
        .enable_cloudwatch_logs_exports(vec!["postgresql"])
        .enable_iam_database_authentication(true);
    if let Some(k) = kms_key {
        cluster = cluster
            .kms_key_id(k.clone())
            .master_user_secret(db_cluster::MasterUserSecret::new().kms_key_id(k.clone()));
    }
    let (class, count) = match &cfg.capacity {
        DbCapacity::Serverless {
            min_acu,
            max_acu,
            readers,
        } => {
            let mut scaling = db_cluster::ServerlessV2ScalingConfiguration::new()
                .min_capacity(*min_acu)
                .max_capacity(*max_acu);
            // 0 ACU pauses after this long without a connection and resumes on the next
            // (Aurora PostgreSQL 13.15, 14.12, 15.7, 16.3 and later: see
            // AUTO_PAUSE_VERSIONS).
            if *min_acu == 0.0 {
                scaling = scaling.seconds_until_auto_pause(i64::from(cfg.auto_pause_seconds));
            }
            cluster = cluster.serverless_v2_scaling_configuration(scaling);
            ("db.serverless".to_owned(), 1 + *readers)
        }
        DbCapacity::Provisioned {
            instance_class,
            instances,
        } => (instance_class.clone(), *instances),
    };
    (cluster, class, count)
}

/// The writer (`Writer`) and `count - 1` readers (`Reader1`, …) of `class`, with Performance
/// Insights and Enhanced Monitoring (and its role) as the settings ask.
fn instances(
    s: &mut Scope<'_>,
    props: &DifyDatabaseProps<'_>,
    cluster: &DbClusterHandle,
    (class, count): (&str, u8),
) -> Vec<DbInstanceHandle> {
    let cfg = &props.settings;
    let kms_key = props.kms_key.as_ref();
    let monitoring_role = (cfg.monitoring_interval_seconds > 0).then(|| {
        s.add(
            "MonitoringRole",
            iam::Role::builder().assume_role_policy_document(json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Service": "monitoring.rds.amazonaws.com"},
                    "Action": "sts:AssumeRole"
                }]
            })).build()
            .managed_policy_arns(vec![fns::sub(
                "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole",
            )]),
        )
    });
    let mut instances = Vec::new();
    for i in 0..count {
        let mut instance = rds::DbInstance::new()
            .db_cluster_identifier(cluster.reference())
            .db_instance_class(class)
            .engine("aurora-postgresql")
            .publicly_accessible(false)
            .auto_minor_version_upgrade(cfg.auto_minor_version_upgrade)
            .promotion_tier(i64::from(i.min(1)))
            .enable_performance_insights(cfg.performance_insights);
        if cfg.performance_insights {
            instance = instance.performance_insights_retention_period(7);
            if let Some(k) = kms_key.filter(|_| cfg.performance_insights_customer_managed_key) {
                instance = instance.performance_insights_kms_key_id(k.clone());
            }
        }
        if let Some(role) = &monitoring_role {
            instance = instance
                .monitoring_interval(i64::from(cfg.monitoring_interval_seconds))
                .monitoring_role_arn(role.arn());
        }
        let name = if i == 0 {
            "Writer".to_owned()
        } else {
            format!("Reader{i}")
        };
        let h = s.add(&name, instance);
        s.stack().resource(&h).removal_policy(props.removal_policy);
        instances.push(h);
    }
    instances
}
