//! DifyStack: one environment's whole Dify, composed from the constructs.

use cfn_core::rules::Enforcement;
use cfn_core::{Output, RemovalPolicy, Scope, Stack, Value, fns};
use cfn_resources::{cloudwatch, kms, sns};
use cfn_rules::Profile;
use serde_json::{Value as JsonValue, json};

use crate::config::Environment;
use crate::database::DbCapacity;
use crate::{DifyCache, DifyCluster, DifyDatabase, DifyIngress, DifyNetwork, DifyStorage};

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
        let dify = crate::Dify::compose(&mut stack.root(), env);
        let crate::Dify {
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

/// The production data key (a `DataKey` child of `root`): Aurora, ElastiCache, secrets,
/// Performance Insights and `/dify/*` log groups. Rotated, retained, aliased
/// `alias/<stack>-data`.
pub fn data_key(root: &mut Scope<'_>, env: &Environment) -> kms::KeyHandle {
    let mut s = root.child("DataKey");
    let key = s.add(
        "Key",
        kms::Key::new()
            .description(format!("Dify {} data key", env.name))
            .enable_key_rotation(true)
            .pending_window_in_days(30)
            .key_policy(json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "AccountAdministers",
                    "Effect": "Allow",
                    "Principal": {"AWS": fns::sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")},
                    "Action": "kms:*",
                    "Resource": "*"
                }, {
                    "Sid": "CloudWatchLogsEncrypts",
                    "Effect": "Allow",
                    "Principal": {"Service": fns::sub("logs.${AWS::Region}.amazonaws.com")},
                    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                    "Resource": "*",
                    "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": fns::sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/dify/*")}}
                }]
            })),
    );
    s.stack()
        .resource(&key)
        .removal_policy(RemovalPolicy::Retain);
    s.add(
        "Alias",
        kms::Alias::builder()
            .alias_name(format!("alias/{}-data", env.stack_name))
            .target_key_id(key.reference())
            .build(),
    );
    key
}

/// The principal ALB log delivery writes as, for the access-log bucket's policy: the regional
/// Elastic Load Balancing account in regions opened before August 2022, `None` for newer
/// regions (which use the log-delivery service principal, `DifyStorage`'s default).
pub fn elb_log_principal(region: &str) -> Option<JsonValue> {
    let account = match region {
        "us-east-1" => "127311923021",
        "us-east-2" => "033677994240",
        "us-west-1" => "027434742980",
        "us-west-2" => "797873946194",
        "af-south-1" => "098369216593",
        "ap-east-1" => "754344448648",
        "ap-southeast-3" => "589379963580",
        "ap-south-1" => "718504428378",
        "ap-northeast-3" => "383597477331",
        "ap-northeast-2" => "600734575887",
        "ap-southeast-1" => "114774131450",
        "ap-southeast-2" => "783225319266",
        "ap-northeast-1" => "582318560864",
        "ca-central-1" => "985666609251",
        "eu-central-1" => "054676820928",
        "eu-west-1" => "156460612806",
        "eu-west-2" => "652711504416",
        "eu-south-1" => "635631232127",
        "eu-west-3" => "009996457667",
        "eu-north-1" => "897822967062",
        "me-south-1" => "076674570225",
        "sa-east-1" => "507241528517",
        _ => return None,
    };
    Some(json!({ "AWS": format!("arn:aws:iam::{account}:root") }))
}

/// Where alarms notify: the environment's `alarms.topic_arn`, or a topic (an `AlarmTopic` child
/// of `scope`) with an e-mail subscription; `None` when neither is configured (allowed outside
/// production only).
pub fn alarm_topic(scope: &mut Scope<'_>, env: &Environment) -> Option<Value<String>> {
    match (&env.alarms.topic_arn, &env.alarms.email) {
        (Some(arn), _) => Some(arn.into()),
        (None, Some(email)) => {
            let topic = scope.add(
                "Topic",
                sns::Topic::new()
                    .display_name(format!("Dify {} alarms", env.name))
                    .kms_master_key_id("alias/aws/sns"),
            );
            scope.add(
                "EmailSubscription",
                sns::Subscription::builder()
                    .protocol("email")
                    .topic_arn(topic.topic_arn())
                    .build()
                    .endpoint(email.as_str()),
            );
            Some(topic.topic_arn().untyped())
        }
        (None, None) => None,
    }
}

/// Operational alarms, added to `s` (the stack's `Alarms` construct): load balancer 5xx, database CPU and
/// memory (or ACU use), cache memory per node, to the environment's topic. Deployment alarms
/// (target 5xx, unhealthy targets) live with each service.
pub fn alarms(
    s: &mut Scope<'_>,
    env: &Environment,
    topic: Option<&Value<String>>,
    (ingress, database, cache): (&DifyIngress, &DifyDatabase, &DifyCache),
) {
    let alarm = |name: &str,
                 namespace: &str,
                 metric: &str,
                 stat: &str,
                 op: &str,
                 threshold: f64,
                 dims: Vec<cloudwatch::alarm::Dimension>| {
        let mut a = cloudwatch::Alarm::new()
            .alarm_name(format!("{}-{name}", env.stack_name))
            .namespace(namespace)
            .metric_name(metric)
            .statistic(stat)
            .period(300)
            .evaluation_periods(3)
            .datapoints_to_alarm(2)
            .threshold(threshold)
            .comparison_operator(op)
            .treat_missing_data("notBreaching")
            .dimensions(dims);
        if let Some(t) = topic {
            a = a.alarm_actions(vec![t.clone()]).ok_actions(vec![t.clone()]);
        }
        a
    };
    let dim = |k: &str, v: Value<String>| {
        cloudwatch::alarm::Dimension::builder()
            .name(k)
            .value(v)
            .build()
    };
    let lb = ingress.load_balancer.load_balancer_full_name();
    s.add(
        "LoadBalancer5xx",
        alarm(
            "alb-5xx",
            "AWS/ApplicationELB",
            "HTTPCode_ELB_5XX_Count",
            "Sum",
            "GreaterThanThreshold",
            25.0,
            vec![dim("LoadBalancer", lb)],
        ),
    );
    let cluster_dim = || dim("DBClusterIdentifier", database.cluster.reference());
    s.add(
        "DatabaseCpu",
        alarm(
            "db-cpu",
            "AWS/RDS",
            "CPUUtilization",
            "Average",
            "GreaterThanThreshold",
            80.0,
            vec![cluster_dim()],
        ),
    );
    // Serverless v2 reports how much of its ACU ceiling it uses; provisioned, freeable memory.
    let memory = match env.database.capacity {
        DbCapacity::Serverless { .. } => alarm(
            "db-capacity",
            "AWS/RDS",
            "ACUUtilization",
            "Average",
            "GreaterThanThreshold",
            90.0,
            vec![cluster_dim()],
        ),
        DbCapacity::Provisioned { .. } => alarm(
            "db-memory",
            "AWS/RDS",
            "FreeableMemory",
            "Minimum",
            "LessThanThreshold",
            256.0 * 1024.0 * 1024.0,
            vec![cluster_dim()],
        ),
    };
    s.add("DatabaseMemory", memory);
    for i in 1..=u32::from(env.cache.nodes) {
        let node = fns::join("", [cache.group.reference(), format!("-{i:03}").into()]);
        s.add(
            &format!("CacheMemory{i}"),
            alarm(
                &format!("cache-memory-{i}"),
                "AWS/ElastiCache",
                "DatabaseMemoryUsagePercentage",
                "Maximum",
                "GreaterThanThreshold",
                80.0,
                vec![dim("CacheClusterId", node)],
            ),
        );
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
