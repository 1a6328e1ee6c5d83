//! An environment as the props of the [`Dify`] construct: what `DifyStack` builds, and what a
//! platform team starts from when it puts a Dify in a stack of its own.

use super::model::Environment;
use crate::DifyProps;

#[cfg(doc)]
use crate::Dify;

impl DifyProps {
    /// Everything the environment resolved to: its name and stack name (the prefix of
    /// physical names), region, production flag, log retention, WAF and every setting.
    pub fn from_environment(env: &Environment) -> DifyProps {
        DifyProps {
            name: env.name.clone(),
            name_prefix: Some(env.stack_name.clone()),
            region: Some(env.region.clone()),
            production: env.production,
            log_retention_days: Some(env.log_retention_days),
            network: env.network.clone(),
            domain: env.domain.clone(),
            ingress: env.ingress.clone(),
            waf: env.waf.clone(),
            database: env.database.clone(),
            cache: env.cache.clone(),
            images: env.images.clone(),
            services: env.services.clone(),
            smtp: env.smtp.clone(),
            dify: env.dify.clone(),
            alarms: env.alarms.clone(),
            private: env.private.clone(),
            sso: env.sso.clone(),
            bedrock: env.bedrock.clone(),
            cost: env.cost.clone(),
            operations: env.operations.clone(),
        }
    }
}
