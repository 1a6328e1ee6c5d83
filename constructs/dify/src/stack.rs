//! DifyStack: one environment's whole Dify in a stack of its own: the environment file's
//! settings become [`DifyProps`] (`DifyProps::from_environment`), and [`crate::Dify`] adds
//! every part at the stack's root.

use cfn_core::rules::Enforcement;
use cfn_core::{Output, Stack};
use cfn_rules::Profile;

use crate::config::Environment;
use crate::{
    Dify, DifyCache, DifyCluster, DifyDatabase, DifyIngress, DifyNetwork, DifyProps, DifyStorage,
};

/// The constructs of one environment, kept so callers (tests, platform teams) can reach any
/// handle after the stack is built.
#[derive(Debug)]
pub struct DifyStack {
    /// The stack.
    pub stack: Stack,
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
}

impl DifyStack {
    /// Builds the stack for an environment.
    pub fn build(env: &Environment) -> DifyStack {
        let mut stack = Stack::new(env.stack_name.as_str());
        // Production enforces the default pack (an error finding fails synth); elsewhere the
        // same findings are advice, and production-only rules stay off.
        let enforcement = if env.production {
            Enforcement::Enforce
        } else {
            Enforcement::Advise
        };
        stack.set_guardrails(
            cfn_rules::default_pack(Profile::from_production(env.production)),
            enforcement,
        );
        stack.set_description(format!(
            "Dify {} on ECS Fargate, Aurora PostgreSQL and ElastiCache ({} environment)",
            env.images.dify_version, env.name
        ));
        stack.add_tag("app", "dify");
        stack.add_tag("env", env.name.as_str());
        for (k, v) in &env.tags {
            stack.add_tag(k.as_str(), v.as_str());
        }
        let props = DifyProps::from_environment(env);
        let dify = Dify::compose(&mut stack.root(), &props);
        let Dify {
            network,
            storage,
            database,
            cache,
            ingress,
            cluster,
            ..
        } = dify;
        outputs(&mut stack, &ingress, &cluster, &storage);
        DifyStack {
            stack,
            network,
            storage,
            database,
            cache,
            ingress,
            cluster,
        }
    }
}

fn outputs(stack: &mut Stack, ingress: &DifyIngress, cluster: &DifyCluster, storage: &DifyStorage) {
    stack.add_output(
        "Url",
        Output::new(ingress.url.clone()).description("Dify's public URL"),
    );
    stack.add_output(
        "LoadBalancerDnsName",
        Output::new(ingress.load_balancer.dns_name()).description("The load balancer's DNS name"),
    );
    stack.add_output(
        "ClusterName",
        Output::new(cluster.cluster.reference()).description("The ECS cluster"),
    );
    stack.add_output(
        "FilesBucket",
        Output::new(storage.bucket.reference().untyped()).description("Dify's file bucket"),
    );
    for (c, s) in &cluster.services {
        let name = c.camel();
        stack.add_output(
            &format!("{name}Service"),
            Output::new(s.service.name()).description(format!("ECS service of {}", c.dns_name())),
        );
        stack.add_output(
            &format!("{name}LogGroup"),
            Output::new(s.task.log_group.reference().untyped())
                .description(format!("Log group of {}", c.dns_name())),
        );
    }
}
