//! `DifyAlarms`: where Dify's alarms notify (an existing SNS topic, or one with an e-mail
//! subscription) and the operational alarms on the load balancer, the database and the cache.
//! The services' deployment alarms live with each service (`DifyCluster`) and notify the same
//! topic, which is why the topic comes first and the operational alarms are added later, with
//! [`DifyAlarms::watch`].

use cfn_core::refs::TopicArn;
use cfn_core::{NodeId, Scope, Stack, Value, fns};
use cfn_resources::{cloudwatch, sns};

use crate::database::DbCapacity;
use crate::{DifyCache, DifyDatabase, DifyIngress};

/// Alarm notifications.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlarmSettings {
    /// An existing SNS topic to notify.
    pub topic_arn: Option<String>,
    /// An e-mail address to subscribe to a topic the stack creates.
    pub email: Option<String>,
}

/// Inputs of [`DifyAlarms`].
#[derive(Debug, Clone, PartialEq)]
pub struct DifyAlarmsProps {
    /// Where alarms notify. Default: nowhere ([`AlarmSettings::default`]); with an e-mail
    /// address and no topic, a topic is created.
    pub settings: AlarmSettings,
    /// The environment's name, in the created topic's display name (`Dify <name> alarms`).
    /// Default `dev`.
    pub environment: String,
}

impl Default for DifyAlarmsProps {
    fn default() -> Self {
        DifyAlarmsProps {
            settings: AlarmSettings::default(),
            environment: "dev".into(),
        }
    }
}

/// What [`DifyAlarms::watch`] puts alarms on.
#[derive(Debug, Clone)]
pub struct WatchProps<'a> {
    /// Prefix of the alarms' names (`<prefix>-alb-5xx`).
    pub name_prefix: &'a str,
    /// 5xx answered by the load balancer itself.
    pub ingress: &'a DifyIngress,
    /// CPU, and freeable memory (provisioned) or ACU use (Serverless v2).
    pub database: &'a DifyDatabase,
    /// Memory use of every node.
    pub cache: &'a DifyCache,
    /// When an off-hours schedule scales the services to zero: the ECS cluster and the
    /// service whose running tasks gate the load balancer's 5xx alarm (with no task running,
    /// every request is a 503 by design, not an incident). `None`: always on.
    pub scheduled: Option<ScheduledService>,
}

/// A service that an off-hours schedule stops: its cluster's name and its own.
#[derive(Debug, Clone)]
pub struct ScheduledService {
    /// The ECS cluster's name.
    pub cluster: Value<String>,
    /// The service's name.
    pub service: Value<String>,
}

/// The alarm topic, and the construct the operational alarms go in.
#[derive(Debug, Clone)]
pub struct DifyAlarms {
    node: NodeId,
    /// The topic every alarm notifies, when there is one.
    pub topic: Option<Value<TopicArn>>,
}

impl DifyAlarms {
    /// Takes the settings' topic, or creates one (`Topic`) with an e-mail subscription
    /// (`EmailSubscription`); no topic when the settings name neither.
    pub fn new(scope: &mut Scope<'_>, id: &str, props: DifyAlarmsProps) -> DifyAlarms {
        let mut s = scope.child(id);
        let topic = match (&props.settings.topic_arn, &props.settings.email) {
            (Some(arn), _) => Some(arn.into()),
            (None, Some(email)) => {
                let topic = s.add(
                    "Topic",
                    sns::Topic::new()
                        .display_name(format!("Dify {} alarms", props.environment))
                        .kms_master_key_id("alias/aws/sns"),
                );
                s.add(
                    "EmailSubscription",
                    sns::Subscription::builder()
                        .protocol("email")
                        .topic_arn(topic.topic_arn())
                        .build()
                        .endpoint(email.as_str()),
                );
                Some(topic.topic_arn())
            }
            (None, None) => None,
        };
        DifyAlarms {
            node: s.node_id(),
            topic,
        }
    }

    /// Adds the operational alarms: load balancer 5xx, database CPU and memory (or ACU use),
    /// cache memory per node, each notifying the topic on alarm and on recovery.
    pub fn watch(&self, stack: &mut Stack, props: WatchProps<'_>) {
        let mut s = stack.scope(self.node);
        let topic = self.topic.clone().map(Value::untyped);
        let alarm = |metric: Metric<'_>| metric.alarm(props.name_prefix, topic.as_ref());
        let lb = props.ingress.load_balancer.load_balancer_full_name();
        let elb_5xx = Metric {
            name: "alb-5xx",
            namespace: "AWS/ApplicationELB",
            metric: "HTTPCode_ELB_5XX_Count",
            stat: "Sum",
            op: "GreaterThanThreshold",
            threshold: 25.0,
            dimensions: vec![dimension("LoadBalancer", lb)],
        };
        let elb_alarm = match &props.scheduled {
            None => alarm(elb_5xx),
            Some(gate) => elb_5xx.gated_alarm(props.name_prefix, topic.as_ref(), gate),
        };
        s.add("LoadBalancer5xx", elb_alarm);
        let cluster = || {
            vec![dimension(
                "DBClusterIdentifier",
                props.database.cluster.reference(),
            )]
        };
        s.add(
            "DatabaseCpu",
            alarm(Metric {
                name: "db-cpu",
                namespace: "AWS/RDS",
                metric: "CPUUtilization",
                stat: "Average",
                op: "GreaterThanThreshold",
                threshold: 80.0,
                dimensions: cluster(),
            }),
        );
        // Serverless v2 reports how much of its ACU ceiling it uses; provisioned, freeable memory.
        let memory = match props.database.capacity {
            DbCapacity::Serverless { .. } => Metric {
                name: "db-capacity",
                namespace: "AWS/RDS",
                metric: "ACUUtilization",
                stat: "Average",
                op: "GreaterThanThreshold",
                threshold: 90.0,
                dimensions: cluster(),
            },
            DbCapacity::Provisioned { .. } => Metric {
                name: "db-memory",
                namespace: "AWS/RDS",
                metric: "FreeableMemory",
                stat: "Minimum",
                op: "LessThanThreshold",
                threshold: 256.0 * 1024.0 * 1024.0,
                dimensions: cluster(),
            },
        };
        s.add("DatabaseMemory", alarm(memory));
        for i in 1..=u32::from(props.cache.nodes) {
            let node = fns::join(
                "",
                [props.cache.group.reference(), format!("-{i:03}").into()],
            );
            s.add(
                &format!("CacheMemory{i}"),
                alarm(Metric {
                    name: &format!("cache-memory-{i}"),
                    namespace: "AWS/ElastiCache",
                    metric: "DatabaseMemoryUsagePercentage",
                    stat: "Maximum",
                    op: "GreaterThanThreshold",
                    threshold: 80.0,
                    dimensions: vec![dimension("CacheClusterId", node)],
                }),
            );
        }
    }
}

/// One operational alarm: 3 five-minute periods, 2 of them breaching, missing data fine.
struct Metric<'a> {
    name: &'a str,
    namespace: &'a str,
    metric: &'a str,
    stat: &'a str,
    op: &'a str,
    threshold: f64,
    dimensions: Vec<cloudwatch::alarm::Dimension>,
}

impl Metric<'_> {
    fn alarm(self, prefix: &str, topic: Option<&Value<String>>) -> cloudwatch::Alarm {
        let mut a = cloudwatch::Alarm::new()
            .alarm_name(format!("{prefix}-{}", self.name))
            .namespace(self.namespace)
            .metric_name(self.metric)
            .statistic(self.stat)
            .period(300)
            .evaluation_periods(3)
            .datapoints_to_alarm(2)
            .threshold(self.threshold)
            .comparison_operator(self.op)
            .treat_missing_data("notBreaching")
            .dimensions(self.dimensions);
        if let Some(t) = topic {
            a = a.alarm_actions(vec![t.clone()]).ok_actions(vec![t.clone()]);
        }
        a
    }
}

impl Metric<'_> {
    /// The alarm on `IF(tasks > 0, metric, 0)`: silent while the gate service runs no task
    /// (Container Insights' `RunningTaskCount`; no data at all is not breaching either).
    fn gated_alarm(
        self,
        prefix: &str,
        topic: Option<&Value<String>>,
        gate: &ScheduledService,
    ) -> cloudwatch::Alarm {
        use cloudwatch::alarm::{MetricDataQuery, MetricStat};
        let stat = |namespace: &str, metric: &str, stat: &str, dims| {
            MetricStat::builder()
                .metric(
                    cloudwatch::alarm::Metric::new()
                        .namespace(namespace)
                        .metric_name(metric)
                        .dimensions(dims),
                )
                .period(300)
                .stat(stat)
                .build()
        };
        let tasks = vec![
            dimension("ClusterName", gate.cluster.clone()),
            dimension("ServiceName", gate.service.clone()),
        ];
        let mut a = cloudwatch::Alarm::new()
            .alarm_name(format!("{prefix}-{}", self.name))
            .alarm_description(
                "5xx answered by the load balancer while the services run (the off-hours schedule's 503s are expected)",
            )
            .metrics(vec![
                MetricDataQuery::builder()
                    .id("m")
                    .build()
                    .metric_stat(stat(self.namespace, self.metric, self.stat, self.dimensions))
                    .return_data(false),
                MetricDataQuery::builder()
                    .id("tasks")
                    .build()
                    .metric_stat(stat("ECS/ContainerInsights", "RunningTaskCount", "Maximum", tasks))
                    .return_data(false),
                MetricDataQuery::builder()
                    .id("gated")
                    .build()
                    .expression("IF(tasks > 0, m, 0)")
                    .label("5xx while running")
                    .return_data(true),
            ])
            .evaluation_periods(3)
            .datapoints_to_alarm(2)
            .threshold(self.threshold)
            .comparison_operator(self.op)
            .treat_missing_data("notBreaching");
        if let Some(t) = topic {
            a = a.alarm_actions(vec![t.clone()]).ok_actions(vec![t.clone()]);
        }
        a
    }
}

fn dimension(name: &str, value: Value<String>) -> cloudwatch::alarm::Dimension {
    cloudwatch::alarm::Dimension::builder()
        .name(name)
        .value(value)
        .build()
}
