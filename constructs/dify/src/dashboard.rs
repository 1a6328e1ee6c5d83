//! `Dashboard`: one CloudWatch dashboard per environment, the first page to open when
//! something breaks: the load balancer's 5xx and latency per target group, running against
//! desired tasks per service, Aurora's connections, CPU and capacity, the cache's memory and
//! evictions, and the migration step's recent outcomes.
//!
//! Its body is built from the template's own resources (`Fn::Sub` over their names), so it
//! is deterministic and follows a replaced resource. Celery queue depth is not on it: Dify
//! publishes no queue metric (its queues are Redis lists the broker keeps; nothing reports
//! their length to CloudWatch), so a queue backlog shows as the workers' CPU and the
//! `dataset`/`workflow` tasks' latency in the logs instead.

use cfn_core::{Scope, Value, fns};
use cfn_resources::cloudwatch::{self, DashboardHandle};
use serde_json::{Value as Json, json};

use crate::{DifyCache, DifyCluster, DifyDatabase, DifyIngress};

/// Inputs of [`Dashboard`]: what it shows.
#[derive(Debug, Clone, Copy)]
pub struct DashboardProps<'a> {
    /// The dashboard's name (`<stack>-overview` in a `DifyStack`).
    pub name: &'a str,
    /// The load balancer and its target groups.
    pub ingress: &'a DifyIngress,
    /// The Aurora cluster.
    pub database: &'a DifyDatabase,
    /// The cache's nodes.
    pub cache: &'a DifyCache,
    /// The services, and the migration step whose handler logs each outcome.
    pub cluster: &'a DifyCluster,
}

/// The dashboard.
#[derive(Debug, Clone)]
pub struct Dashboard {
    /// The dashboard resource.
    pub dashboard: DashboardHandle,
}

impl Dashboard {
    /// Adds the dashboard (`<id>`).
    pub fn new(scope: &mut Scope<'_>, id: &str, props: DashboardProps<'_>) -> Dashboard {
        let (body, vars) = body(&props);
        let dashboard = scope.add(
            id,
            cloudwatch::Dashboard::builder()
                .dashboard_body(fns::sub_with(body, vars))
                .build()
                .dashboard_name(props.name),
        );
        Dashboard { dashboard }
    }
}

/// The body's JSON text with `${…}` placeholders, and what each stands for.
fn body(p: &DashboardProps<'_>) -> (String, Vec<(String, Value<String>)>) {
    let mut vars: Vec<(String, Value<String>)> = vec![
        (
            "LoadBalancer".into(),
            p.ingress.load_balancer.load_balancer_full_name(),
        ),
        ("Cluster".into(), p.cluster.cluster.reference()),
        ("Database".into(), p.database.cluster.reference()),
        ("CacheGroup".into(), p.cache.group.reference()),
    ];
    let target_groups = [
        ("web", &p.ingress.web),
        ("api", &p.ingress.api),
        ("plugin-daemon", &p.ingress.plugin_daemon),
    ];
    for (name, tg) in target_groups {
        vars.push((
            format!("Tg_{}", name.replace('-', "_")),
            tg.target_group_full_name(),
        ));
    }
    let tg_metric = |metric: &str, stat: &str| -> Vec<Json> {
        target_groups
            .iter()
            .map(|(name, _)| {
                json!(["AWS/ApplicationELB", metric, "LoadBalancer", "${LoadBalancer}",
                       "TargetGroup", format!("${{Tg_{}}}", name.replace('-', "_")),
                       {"stat": stat, "label": name}])
            })
            .collect()
    };
    let mut elb_5xx = tg_metric("HTTPCode_Target_5XX_Count", "Sum");
    elb_5xx.push(
        json!(["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "LoadBalancer",
                        "${LoadBalancer}", {"stat": "Sum", "label": "load balancer"}]),
    );
    let tasks: Vec<Json> = p
        .cluster
        .services
        .keys()
        .flat_map(|c| {
            let service = format!("${{Service_{}}}", c.key());
            [
                ("RunningTaskCount", "running"),
                ("DesiredTaskCount", "desired"),
            ]
            .map(|(metric, what)| {
                json!(["ECS/ContainerInsights", metric, "ClusterName", "${Cluster}",
                           "ServiceName", service, {"stat": "Maximum",
                           "label": format!("{} {what}", c.dns_name())}])
            })
        })
        .collect();
    for (c, s) in &p.cluster.services {
        vars.push((format!("Service_{}", c.key()), s.service.name()));
    }
    let db = |metric: &str, stat: &str| json!(["AWS/RDS", metric, "DBClusterIdentifier", "${Database}", {"stat": stat}]);
    let nodes = 1..=u32::from(p.cache.nodes);
    let cache = |metric: &str, stat: &str| -> Vec<Json> {
        nodes
            .clone()
            .map(|i| {
                json!(["AWS/ElastiCache", metric, "CacheClusterId",
                       format!("${{CacheGroup}}-{i:03}"), {"stat": stat}])
            })
            .collect()
    };
    let migration_logs = "SOURCE '${MigrationLogs}' | fields @timestamp, @message | filter @message like /^(SUCCESS|FAILED) / | sort @timestamp desc | limit 20";
    vars.push((
        "MigrationLogs".into(),
        p.cluster.migration.handler_log_group.clone(),
    ));
    let widgets = vec![
        metric_widget(0, "Load balancer and target 5xx", elb_5xx),
        metric_widget(
            1,
            "Target response time p95 (s)",
            tg_metric("TargetResponseTime", "p95"),
        ),
        metric_widget(2, "Tasks: running vs desired", tasks),
        metric_widget(
            3,
            "Aurora connections",
            vec![db("DatabaseConnections", "Maximum")],
        ),
        metric_widget(
            4,
            "Aurora CPU % and capacity (ACU)",
            vec![
                db("CPUUtilization", "Average"),
                db("ServerlessDatabaseCapacity", "Average"),
            ],
        ),
        metric_widget(
            5,
            "Cache memory %",
            cache("DatabaseMemoryUsagePercentage", "Maximum"),
        ),
        metric_widget(6, "Cache evictions", cache("Evictions", "Sum")),
        json!({
            "type": "log", "x": 12, "y": 18, "width": 12, "height": 6,
            "properties": {"title": "Migration step outcomes", "region": "${AWS::Region}",
                           "query": migration_logs, "view": "table"}
        }),
    ];
    let text = serde_json::to_string(&json!({ "widgets": widgets })).unwrap_or_default();
    (text, vars)
}

/// A time series widget, two to a row, six units high.
fn metric_widget(n: u32, title: &str, metrics: Vec<Json>) -> Json {
    json!({
        "type": "metric",
        "x": (n % 2) * 12,
        "y": (n / 2) * 6,
        "width": 12,
        "height": 6,
        "properties": {
            "title": title,
            "region": "${AWS::Region}",
            "view": "timeSeries",
            "stacked": false,
            "period": 300,
            "metrics": metrics
        }
    })
}
