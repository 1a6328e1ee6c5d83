//! The file format, as serde reads it. Every field optional (defaults come from the resolved
//! model); unknown keys are rejected so a typo never silently falls back to a default.

use indexmap::IndexMap;
use serde::Deserialize;

use super::access::{RawBedrock, RawPrivate, RawSso};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEnv {
    pub(super) stack_name: Option<String>,
    pub(super) account: Option<String>,
    pub(super) region: Option<String>,
    pub(super) production: Option<bool>,
    pub(super) log_retention_days: Option<u32>,
    #[serde(default)]
    pub(super) tags: IndexMap<String, String>,
    #[serde(default)]
    pub(super) network: RawNetwork,
    #[serde(default)]
    pub(super) domain: RawDomain,
    #[serde(default)]
    pub(super) ingress: RawIngress,
    #[serde(default)]
    pub(super) database: RawDatabase,
    #[serde(default)]
    pub(super) cache: RawCache,
    #[serde(default)]
    pub(super) images: RawImages,
    #[serde(default)]
    pub(super) services: IndexMap<String, RawService>,
    pub(super) smtp: Option<RawSmtp>,
    #[serde(default)]
    pub(super) dify: RawDify,
    #[serde(default)]
    pub(super) alarms: RawAlarms,
    pub(super) bedrock: Option<RawBedrock>,
    #[serde(default)]
    pub(super) cost: RawCost,
    #[serde(default)]
    pub(super) operations: RawOperations,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNetwork {
    pub(super) vpc_id: Option<String>,
    pub(super) private_subnet_ids: Option<Vec<String>>,
    pub(super) public_subnet_ids: Option<Vec<String>>,
    pub(super) create: Option<RawCreateVpc>,
    pub(super) nat_public_ips: Option<Vec<String>>,
    pub(super) endpoints: Option<RawEndpoints>,
    pub(super) private: Option<RawPrivate>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEndpoints {
    pub(super) security_group_id: Option<String>,
    pub(super) s3_prefix_list_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCreateVpc {
    pub(super) cidr: Option<String>,
    pub(super) azs: Option<u8>,
    pub(super) nat_gateways: Option<u8>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDomain {
    pub(super) name: Option<String>,
    pub(super) hosted_zone_id: Option<String>,
    pub(super) certificate_arn: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawIngress {
    pub(super) internet_facing: Option<bool>,
    #[serde(default)]
    pub(super) allowlist: IndexMap<String, Vec<String>>,
    pub(super) deletion_protection: Option<bool>,
    pub(super) idle_timeout_seconds: Option<u32>,
    pub(super) access_logs: Option<bool>,
    pub(super) waf: Option<RawWaf>,
    pub(super) sso: Option<RawSso>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWaf {
    pub(super) enabled: Option<bool>,
    pub(super) rate_limit: Option<i64>,
    pub(super) count_only: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDatabase {
    pub(super) engine_version: Option<String>,
    pub(super) serverless: Option<RawServerless>,
    pub(super) provisioned: Option<RawProvisioned>,
    pub(super) backup_retention_days: Option<u32>,
    pub(super) backup_window: Option<String>,
    pub(super) maintenance_window: Option<String>,
    pub(super) deletion_protection: Option<bool>,
    pub(super) performance_insights: Option<bool>,
    pub(super) monitoring_interval_seconds: Option<u32>,
    pub(super) customer_managed_key: Option<bool>,
    pub(super) performance_insights_customer_managed_key: Option<bool>,
    pub(super) adopt_cluster_logical_id: Option<String>,
    pub(super) auto_minor_version_upgrade: Option<bool>,
    pub(super) app_credentials_generation: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServerless {
    pub(super) min_acu: Option<f64>,
    pub(super) max_acu: Option<f64>,
    pub(super) readers: Option<u8>,
    pub(super) seconds_until_auto_pause: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProvisioned {
    pub(super) instance_class: Option<String>,
    pub(super) instances: Option<u8>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCache {
    pub(super) engine: Option<String>,
    pub(super) engine_version: Option<String>,
    pub(super) node_type: Option<String>,
    pub(super) nodes: Option<u8>,
    pub(super) snapshot_retention_days: Option<u32>,
    pub(super) snapshot_window: Option<String>,
    pub(super) maintenance_window: Option<String>,
    pub(super) customer_managed_key: Option<bool>,
    pub(super) slow_log_group_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawImages {
    pub(super) dify_version: Option<String>,
    pub(super) web: Option<String>,
    pub(super) plugin_daemon: Option<String>,
    pub(super) sandbox: Option<String>,
    pub(super) ssrf_proxy: Option<String>,
    pub(super) registry: Option<String>,
    pub(super) pull_through_cache: Option<RawPullThroughCache>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPullThroughCache {
    pub(super) credential_arn: Option<String>,
    pub(super) repository_prefix: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawService {
    pub(super) cpu: Option<u32>,
    pub(super) memory: Option<u32>,
    pub(super) desired: Option<u32>,
    pub(super) min: Option<u32>,
    pub(super) max: Option<u32>,
    pub(super) ephemeral_storage_gib: Option<u32>,
    pub(super) processes: Option<u32>,
    pub(super) connections: Option<u32>,
    pub(super) queues: Option<Vec<String>>,
    pub(super) log_group_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSmtp {
    pub(super) server: Option<String>,
    pub(super) port: Option<u16>,
    pub(super) username: Option<String>,
    pub(super) from: Option<String>,
    pub(super) use_tls: Option<bool>,
    pub(super) opportunistic_tls: Option<bool>,
    pub(super) password_secret_arn: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDify {
    pub(super) language: Option<String>,
    pub(super) log_level: Option<String>,
    #[serde(default)]
    pub(super) extra_env: IndexMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAlarms {
    pub(super) topic_arn: Option<String>,
    pub(super) email: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCost {
    pub(super) spot: Option<Vec<String>>,
    pub(super) allow_in_production: Option<bool>,
    pub(super) schedule: Option<RawSchedule>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSchedule {
    pub(super) timezone: Option<String>,
    pub(super) days: Option<Vec<String>>,
    pub(super) start: Option<String>,
    pub(super) stop: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOperations {
    pub(super) ecs_exec: Option<bool>,
    pub(super) dashboard: Option<bool>,
}
