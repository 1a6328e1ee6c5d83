//! Cost controls (auto-pause, Fargate Spot, the off-hours schedule) and the ways in (ECS Exec,
//! the dashboard): what each switch puts in the template, what it leaves alone, and the
//! combinations the configuration refuses.
#![allow(missing_docs, clippy::unwrap_used)]

use dify_constructs::DifyStack;
use dify_constructs::config::{ConfigError, Environment};
use serde_json::Value as Json;

const BASE: &str = r#"
region = "ap-northeast-1"
[network]
vpc_id = "vpc-0123456789abcdef0"
private_subnet_ids = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
public_subnet_ids = ["subnet-0123456789abcdef2", "subnet-0123456789abcdef3"]
[network.endpoints]
security_group_id = "sg-0123456789abcdef0"
s3_prefix_list_id = "pl-61a54008"
[ingress.allowlist]
office = ["203.0.113.10/32"]
[alarms]
email = "ops@example.com"
[images.pull_through_cache]
credential_arn = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf"
"#;

const SCHEDULE: &str = r#"
[cost.schedule]
timezone = "Europe/Berlin"
days = ["MON", "WED"]
start = "07:30"
stop = "19:00"
"#;

fn env(name: &str, extra: &str) -> Environment {
    Environment::from_toml_str(name, &format!("{BASE}{extra}")).unwrap_or_else(|e| panic!("{e}"))
}

fn errors(name: &str, extra: &str) -> Vec<ConfigError> {
    Environment::from_toml_str(name, &format!("{BASE}{extra}"))
        .unwrap_err()
        .0
}

fn template(name: &str, extra: &str) -> Json {
    DifyStack::build(&env(name, extra))
        .stack
        .synth()
        .unwrap()
        .template
}

fn of_type<'a>(t: &'a Json, ty: &str) -> Vec<(&'a String, &'a Json)> {
    t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == ty)
        .collect()
}

fn one<'a>(t: &'a Json, ty: &str) -> &'a Json {
    let all = of_type(t, ty);
    assert_eq!(
        all.len(),
        1,
        "{ty}: {:?}",
        all.iter().map(|(k, _)| k).collect::<Vec<_>>()
    );
    &all[0].1["Properties"]
}

/// The service whose logical ID starts with `App<Name>Service`.
fn service<'a>(t: &'a Json, name: &str) -> &'a Json {
    let prefix = format!("App{name}Service");
    of_type(t, "AWS::ECS::Service")
        .into_iter()
        .find(|(id, _)| id.starts_with(&prefix))
        .map(|(_, r)| &r["Properties"])
        .unwrap_or_else(|| panic!("no {prefix}"))
}

fn container_env(t: &Json, family_suffix: &str, container: &str) -> Vec<(String, String)> {
    let (_, td) = of_type(t, "AWS::ECS::TaskDefinition")
        .into_iter()
        .find(|(_, td)| {
            td["Properties"]["Family"]
                .as_str()
                .is_some_and(|f| f.ends_with(family_suffix))
        })
        .unwrap();
    let c = td["Properties"]["ContainerDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["Name"] == container)
        .unwrap();
    c["Environment"]
        .as_array()
        .unwrap()
        .iter()
        .map(|kv| {
            (
                kv["Name"].as_str().unwrap().to_owned(),
                kv["Value"].to_string(),
            )
        })
        .collect()
}

fn var(env: &[(String, String)], name: &str) -> Option<String> {
    env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

#[test]
fn auto_pause_pauses_the_cluster_and_lets_dify_reconnect() {
    let t = template(
        "dev.toml",
        "[database.serverless]\nmin_acu = 0\nseconds_until_auto_pause = 900\n",
    );
    let scaling = &one(&t, "AWS::RDS::DBCluster")["ServerlessV2ScalingConfiguration"];
    assert_eq!(scaling["MinCapacity"], 0.0);
    assert_eq!(scaling["SecondsUntilAutoPause"], 900);
    let api = container_env(&t, "-api", "api");
    assert_eq!(
        var(&api, "SQLALCHEMY_POOL_PRE_PING").as_deref(),
        Some("\"true\"")
    );
    assert_eq!(
        var(&api, "SQLALCHEMY_POOL_RECYCLE").as_deref(),
        Some("\"280\"")
    );

    // A database that never pauses keeps Dify's default recycling and no pause delay.
    let t = template("dev.toml", "");
    let scaling = &one(&t, "AWS::RDS::DBCluster")["ServerlessV2ScalingConfiguration"];
    assert_eq!(scaling["MinCapacity"], 0.5);
    assert!(scaling.get("SecondsUntilAutoPause").is_none());
    assert_eq!(
        var(&container_env(&t, "-api", "api"), "SQLALCHEMY_POOL_RECYCLE"),
        None
    );
}

#[test]
fn auto_pause_needs_an_engine_that_supports_it_and_a_delay_aurora_accepts() {
    let e = errors(
        "dev.toml",
        "[database]\nengine_version = \"16.2\"\n[database.serverless]\nmin_acu = 0\n",
    );
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(e[0].field, "database.serverless.min_acu");
    assert!(e[0].message.contains("16.3"), "{}", e[0].message);
    env(
        "dev.toml",
        "[database]\nengine_version = \"15.7\"\n[database.serverless]\nmin_acu = 0\n",
    );
    let e = errors(
        "dev.toml",
        "[database.serverless]\nmin_acu = 0.5\nseconds_until_auto_pause = 600\n",
    );
    assert_eq!(e[0].field, "database.serverless.seconds_until_auto_pause");
    let e = errors(
        "dev.toml",
        "[database.serverless]\nmin_acu = 0\nseconds_until_auto_pause = 60\n",
    );
    assert!(e[0].message.contains("between 300 and 86400"), "{e:#?}");
}

#[test]
fn spot_moves_only_the_chosen_services_and_never_the_migration() {
    let t = template("dev.toml", "[cost]\nspot = [\"worker\", \"sandbox\"]\n");
    for name in ["Worker", "Sandbox"] {
        let s = service(&t, name);
        assert!(s.get("LaunchType").is_none(), "{name}");
        assert_eq!(
            s["CapacityProviderStrategy"],
            serde_json::json!([{"Base": 0, "CapacityProvider": "FARGATE_SPOT", "Weight": 1}]),
            "{name}"
        );
    }
    for name in ["Web", "Api", "Beat", "PluginDaemon", "SsrfProxy"] {
        let s = service(&t, name);
        assert_eq!(s["LaunchType"], "FARGATE", "{name}");
        assert!(s.get("CapacityProviderStrategy").is_none(), "{name}");
    }
    // The cluster offers Spot, but its default stays regular Fargate, and the migration task
    // names its launch type explicitly.
    let assoc = one(&t, "AWS::ECS::ClusterCapacityProviderAssociations");
    assert_eq!(
        assoc["CapacityProviders"],
        serde_json::json!(["FARGATE", "FARGATE_SPOT"])
    );
    assert_eq!(
        assoc["DefaultCapacityProviderStrategy"][0]["CapacityProvider"],
        "FARGATE"
    );
    assert!(dify_constructs::migration::HANDLER.contains("launchType=\"FARGATE\""));
    assert!(!dify_constructs::migration::HANDLER.contains("FARGATE_SPOT"));
}

#[test]
fn spot_for_the_migration_task_or_a_serving_component_is_refused() {
    let e = errors("dev.toml", "[cost]\nspot = [\"migration\"]\n");
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(e[0].field, "cost.spot");
    assert!(
        e[0].message
            .contains("migration task never runs on Fargate Spot")
    );
    for key in ["api", "web", "beat", "plugin_daemon"] {
        let e = errors("dev.toml", &format!("[cost]\nspot = [\"{key}\"]\n"));
        assert!(
            e[0].message
                .contains("only worker, worker_long and sandbox"),
            "{key}"
        );
    }
    // worker_long only where it runs.
    let e = errors("dev.toml", "[cost]\nspot = [\"worker_long\"]\n");
    assert!(e[0].message.contains("does not run here"), "{e:#?}");
}

#[test]
fn production_takes_auto_pause_or_the_schedule_only_with_an_explicit_opt_in() {
    let pause = "[database.serverless]\nmin_acu = 0\n";
    let e = errors("prd.toml", pause);
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(e[0].field, "database.serverless.min_acu");
    assert!(e[0].message.contains("cost.allow_in_production"));
    let e = errors("prd.toml", SCHEDULE);
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(e[0].field, "cost.schedule");
    let ok = env(
        "prd.toml",
        &format!("{pause}[cost]\nallow_in_production = true\n{SCHEDULE}"),
    );
    assert!(ok.production && ok.cost.schedule.is_some());
    // Outside production neither needs it.
    env("stg.toml", &format!("{pause}{SCHEDULE}"));
}

#[test]
fn the_schedule_scales_every_service_to_zero_and_back_through_its_scalable_target() {
    let t = template("dev.toml", SCHEDULE);
    let services = of_type(&t, "AWS::ECS::Service");
    let targets = of_type(&t, "AWS::ApplicationAutoScaling::ScalableTarget");
    // Every service, beat and the plugin daemon (which never autoscale) included.
    assert_eq!(services.len(), 7);
    assert_eq!(targets.len(), services.len());
    for (id, target) in &targets {
        let p = &target["Properties"];
        let actions = p["ScheduledActions"].as_array().unwrap();
        assert_eq!(actions.len(), 2, "{id}");
        let stop = &actions[0];
        assert_eq!(stop["Schedule"], "cron(0 19 ? * MON,WED *)");
        assert_eq!(stop["Timezone"], "Europe/Berlin");
        assert_eq!(stop["ScalableTargetAction"]["MinCapacity"], 0);
        assert_eq!(stop["ScalableTargetAction"]["MaxCapacity"], 0);
        let start = &actions[1];
        assert_eq!(start["Schedule"], "cron(30 7 ? * MON,WED *)");
        assert_eq!(
            start["ScalableTargetAction"]["MinCapacity"], p["MinCapacity"],
            "{id}"
        );
        assert_eq!(
            start["ScalableTargetAction"]["MaxCapacity"], p["MaxCapacity"],
            "{id}"
        );
    }
    // Nothing else acts on it: no scheduler, no rule, no role of its own.
    for ty in ["AWS::Scheduler::Schedule", "AWS::Events::Rule"] {
        assert!(of_type(&t, ty).is_empty(), "{ty}");
    }
    let roles = |t: &Json| of_type(t, "AWS::IAM::Role").len();
    let plain = template("dev.toml", "");
    assert_eq!(roles(&t), roles(&plain));
    // The migration step is the same resource with or without the schedule: no deploy, no
    // migration runs on it.
    let migration = |t: &Json| one(t, "Custom::DifyMigration").clone();
    assert_eq!(migration(&t), migration(&plain));
}

#[test]
fn the_load_balancer_5xx_alarm_stays_silent_while_the_schedule_has_stopped_the_services() {
    let alarm = |t: &Json| {
        of_type(t, "AWS::CloudWatch::Alarm")
            .into_iter()
            .find(|(id, _)| id.starts_with("AlarmsLoadBalancer5xx"))
            .map(|(_, a)| a["Properties"].clone())
            .unwrap()
    };
    let gated = alarm(&template("dev.toml", SCHEDULE));
    assert!(gated.get("MetricName").is_none());
    let metrics = gated["Metrics"].as_array().unwrap();
    let returned: Vec<&Json> = metrics.iter().filter(|m| m["ReturnData"] == true).collect();
    assert_eq!(returned.len(), 1);
    assert_eq!(returned[0]["Expression"], "IF(tasks > 0, m, 0)");
    let tasks = metrics.iter().find(|m| m["Id"] == "tasks").unwrap();
    assert_eq!(
        tasks["MetricStat"]["Metric"]["Namespace"],
        "ECS/ContainerInsights"
    );
    assert_eq!(
        tasks["MetricStat"]["Metric"]["MetricName"],
        "RunningTaskCount"
    );
    assert_eq!(gated["TreatMissingData"], "notBreaching");

    let always_on = alarm(&template("dev.toml", ""));
    assert_eq!(always_on["MetricName"], "HTTPCode_ELB_5XX_Count");
    assert!(always_on.get("Metrics").is_none());
}

#[test]
fn the_schedule_refuses_what_auto_scaling_cannot_run() {
    let bad = [
        ("start = \"25:00\"", "cost.schedule.start"),
        ("stop = \"06:00\"", "cost.schedule.stop"),
        ("days = [\"MON\", \"MON\"]", "cost.schedule.days"),
        ("days = [\"Monday\"]", "cost.schedule.days"),
        ("timezone = \"JST\"", "cost.schedule.timezone"),
    ];
    for (line, field) in bad {
        let e = errors("dev.toml", &format!("[cost.schedule]\n{line}\n"));
        assert!(e.iter().any(|e| e.field == field), "{line}: {e:#?}");
    }
}

#[test]
fn ecs_exec_opens_the_api_task_with_encrypted_logged_sessions() {
    let t = template("dev.toml", "[operations]\necs_exec = true\n");
    assert_eq!(service(&t, "Api")["EnableExecuteCommand"], true);
    for name in [
        "Web",
        "Worker",
        "Beat",
        "PluginDaemon",
        "Sandbox",
        "SsrfProxy",
    ] {
        assert!(
            service(&t, name).get("EnableExecuteCommand").is_none(),
            "{name}"
        );
    }
    let exec = &one(&t, "AWS::ECS::Cluster")["Configuration"]["ExecuteCommandConfiguration"];
    assert_eq!(exec["Logging"], "OVERRIDE");
    assert_eq!(
        exec["LogConfiguration"]["CloudWatchEncryptionEnabled"],
        true
    );
    let key = &exec["KmsKeyId"];
    assert_eq!(key["Fn::GetAtt"][1], "Arn");
    let (group_id, group) = of_type(&t, "AWS::Logs::LogGroup")
        .into_iter()
        .find(|(_, g)| g["Properties"]["LogGroupName"] == "/dify/dev/ecs-exec")
        .unwrap();
    assert_eq!(
        exec["LogConfiguration"]["CloudWatchLogGroupName"]["Ref"],
        group_id.as_str()
    );
    assert_eq!(&group["Properties"]["KmsKeyId"], key);

    // The api task role, and only it, may open the agent's channels and decrypt the session.
    let policies = |role_prefix: &str| -> Vec<Json> {
        of_type(&t, "AWS::IAM::Role")
            .into_iter()
            .filter(|(id, _)| id.starts_with(role_prefix))
            .flat_map(|(_, r)| {
                r["Properties"]["Policies"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .flat_map(|p| {
                p["PolicyDocument"]["Statement"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .collect()
    };
    let api = policies("AppApiTaskRole");
    let channels = api.iter().find(|s| s["Sid"] == "EcsExecChannels").unwrap();
    assert_eq!(channels["Action"].as_array().unwrap().len(), 4);
    assert!(
        channels["Action"]
            .to_string()
            .contains("ssmmessages:OpenDataChannel")
    );
    let decrypt = api
        .iter()
        .find(|s| s["Sid"] == "EcsExecSessionKey")
        .unwrap();
    assert_eq!(&decrypt["Resource"], key);
    let logs = api
        .iter()
        .find(|s| s["Sid"] == "EcsExecWritesSessionLogs")
        .unwrap();
    assert!(
        logs["Resource"]
            .to_string()
            .contains("log-group:/dify/dev/ecs-exec:*")
    );
    assert!(
        !policies("AppWorkerTaskRole")
            .iter()
            .any(|s| s.to_string().contains("ssmmessages"))
    );

    // The SSM agent reaches Session Manager over HTTPS: the api group's egress allows it.
    let https_out = of_type(&t, "AWS::EC2::SecurityGroupEgress")
        .into_iter()
        .any(|(id, e)| {
            id.starts_with("AppRulesApiHttpsEgress") && e["Properties"]["FromPort"] == 443
        });
    assert!(https_out);

    let off = template("dev.toml", "");
    assert!(
        one(&off, "AWS::ECS::Cluster")
            .get("Configuration")
            .is_none()
    );
    assert!(service(&off, "Api").get("EnableExecuteCommand").is_none());
}

#[test]
fn ecs_exec_uses_the_data_key_when_there_is_one() {
    let t = template(
        "dev.toml",
        "[database]\ncustomer_managed_key = true\n[operations]\necs_exec = true\n",
    );
    assert_eq!(of_type(&t, "AWS::KMS::Key").len(), 1, "no second key");
    let exec = &one(&t, "AWS::ECS::Cluster")["Configuration"]["ExecuteCommandConfiguration"];
    assert!(
        exec["KmsKeyId"]["Fn::GetAtt"][0]
            .as_str()
            .unwrap()
            .starts_with("DataKey")
    );
}

#[test]
fn the_dashboard_is_on_by_default_and_built_from_the_stacks_own_resources() {
    let t = template("dev.toml", "");
    let d = one(&t, "AWS::CloudWatch::Dashboard");
    assert_eq!(d["DashboardName"], "dify-dev-overview");
    let sub = d["DashboardBody"]["Fn::Sub"].as_array().unwrap();
    let vars = sub[1].as_object().unwrap();
    assert_eq!(
        vars["LoadBalancer"]["Fn::GetAtt"][1],
        "LoadBalancerFullName"
    );
    assert_eq!(vars["Tg_api"]["Fn::GetAtt"][1], "TargetGroupFullName");
    assert!(
        vars["Database"]["Ref"]
            .as_str()
            .unwrap()
            .starts_with("DatabaseCluster")
    );
    assert!(
        vars["Cluster"]["Ref"]
            .as_str()
            .unwrap()
            .starts_with("AppCluster")
    );
    assert!(vars.contains_key("Service_worker") && vars.contains_key("MigrationLogs"));
    // The body is JSON once its placeholders are filled, and every placeholder has a value.
    let text = sub[0].as_str().unwrap();
    let mut filled = text.replace("${AWS::Region}", "eu-west-1");
    for k in vars.keys() {
        filled = filled.replace(&format!("${{{k}}}"), "x");
    }
    assert!(!filled.contains("${"), "{filled}");
    let body: Json = serde_json::from_str(&filled).unwrap();
    let titles: Vec<&str> = body["widgets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["properties"]["title"].as_str().unwrap())
        .collect();
    for want in [
        "Load balancer and target 5xx",
        "Target response time p95 (s)",
        "Tasks: running vs desired",
        "Aurora CPU % and capacity (ACU)",
        "Cache evictions",
        "Migration step outcomes",
    ] {
        assert!(titles.contains(&want), "{titles:?}");
    }
    assert!(text.contains("ServerlessDatabaseCapacity") && text.contains("DesiredTaskCount"));

    let off = template("dev.toml", "[operations]\ndashboard = false\n");
    assert!(of_type(&off, "AWS::CloudWatch::Dashboard").is_empty());
}

#[test]
fn props_built_in_code_cannot_put_a_serving_component_on_spot_either() {
    use dify_constructs::config::Component;
    use dify_constructs::{Dify, DifyProps};
    let mut stack = cfn_core::Stack::new("team");
    let mut props = DifyProps::from_environment(&env("dev.toml", ""));
    props.cost.spot = vec![Component::Api, Component::Worker];
    Dify::new(&mut stack.root(), "Dify", props);
    let errors = stack.synth().unwrap_err().to_string();
    assert!(
        errors.contains("api cannot run on Fargate Spot"),
        "{errors}"
    );
    assert!(!errors.contains("worker cannot"), "{errors}");
}
