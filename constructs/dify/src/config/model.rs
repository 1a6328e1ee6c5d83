//! The resolved model: one environment, everything defaulted and checked. Its parts are the
//! settings types the constructs own (`crate::network::NetworkSettings`,
//! `crate::database::DatabaseSettings`, …); the environment adds what only a file-per-
//! environment app needs (its name, stack name, account, region and tags).

use indexmap::IndexMap;

use crate::alarms::AlarmSettings;
use crate::bedrock::BedrockSettings;
use crate::cache::CacheSettings;
use crate::components::{DifySettings, Smtp};
use crate::cost_controls::{CostControls, Operations};
use crate::database::DatabaseSettings;
use crate::images::Images;
use crate::ingress::{Domain, IngressSettings};
use crate::network::NetworkSettings;
use crate::private::PrivateSettings;
use crate::services::Services;
use crate::sso::SsoSettings;
use crate::waf::WafSettings;

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
    pub network: NetworkSettings,
    /// DNS name, hosted zone and certificate.
    pub domain: Domain,
    /// The load balancer.
    pub ingress: IngressSettings,
    /// The WAF in front of the load balancer (`[ingress.waf]`; on by default in production).
    pub waf: Option<WafSettings>,
    /// Aurora PostgreSQL.
    pub database: DatabaseSettings,
    /// ElastiCache.
    pub cache: CacheSettings,
    /// Container images.
    pub images: Images,
    /// Size and scaling of each ECS service.
    pub services: Services,
    /// Outgoing mail, when configured.
    pub smtp: Option<Smtp>,
    /// Dify application settings.
    pub dify: DifySettings,
    /// Where alarms notify.
    pub alarms: AlarmSettings,
    /// Private-only mode (`[network.private]`), when configured.
    pub private: Option<PrivateSettings>,
    /// Sign-in at the load balancer (`[ingress.sso]`), when configured.
    pub sso: Option<SsoSettings>,
    /// Bedrock through the task roles (`[bedrock]`), when enabled.
    pub bedrock: Option<BedrockSettings>,
    /// Fargate Spot and the off-hours schedule (`[cost]`).
    pub cost: CostControls,
    /// ECS Exec and the dashboard (`[operations]`).
    pub operations: Operations,
}
