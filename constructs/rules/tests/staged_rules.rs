//! The staged rules (`cfn_rules::staged_pack`, not yet in the default pack): for each, a
//! template that breaks it and one that satisfies it, then the finer cases, then the Dify
//! production template as synthesized at d41b8b9 (`fixtures/dify-prd.template.json`).
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use cfn_core::rules::RulePack;
use cfn_core::{Parameter, ParameterType, Scope, Severity, Stack, Synthesized};
use cfn_rules::{PRODUCTION_ONLY, Profile, staged_pack};
use common::{breaks_in, cases, merge, of, props, raw, run_pack, satisfies_in};
use serde_json::{Value, json};

fn pack() -> RulePack {
    staged_pack(Profile::Production)
}

fn run(build: fn(&mut Scope<'_>)) -> Synthesized {
    run_pack(pack(), build)
}

fn breaks(rule: &str, build: fn(&mut Scope<'_>), id: &str, property: Option<&str>) {
    breaks_in(pack(), rule, build, id, property);
}

fn satisfies(rule: &str, build: fn(&mut Scope<'_>)) {
    satisfies_in(pack(), rule, build);
}

const CLUSTER: &str = "AWS::RDS::DBCluster";
const INSTANCE: &str = "AWS::RDS::DBInstance";
const SG: &str = "AWS::EC2::SecurityGroup";
const INGRESS: &str = "AWS::EC2::SecurityGroupIngress";
const EGRESS: &str = "AWS::EC2::SecurityGroupEgress";
const SERVICE: &str = "AWS::ECS::Service";
const TASK: &str = "AWS::ECS::TaskDefinition";
const LB: &str = "AWS::ElasticLoadBalancingV2::LoadBalancer";
const LISTENER: &str = "AWS::ElasticLoadBalancingV2::Listener";
const RULE: &str = "AWS::ElasticLoadBalancingV2::ListenerRule";
const TG: &str = "AWS::ElasticLoadBalancingV2::TargetGroup";
const BUCKET: &str = "AWS::S3::Bucket";
const ALARM: &str = "AWS::CloudWatch::Alarm";
const SECRET: &str = "AWS::SecretsManager::Secret";
const ROTATION: &str = "AWS::SecretsManager::RotationSchedule";

fn getatt(id: &str, attr: &str) -> Value {
    json!({"Fn::GetAtt": [id, attr]})
}

fn r#ref(id: &str) -> Value {
    json!({"Ref": id})
}

// ops-wait-for-db-instance: a migration custom resource reads the cluster endpoint through its
// task definition.

fn aurora(extra: Value) -> Value {
    let mut v = json!({"Engine": "aurora-postgresql", "MasterUsername": "admin",
        "ManageMasterUserPassword": true});
    merge(&mut v, extra);
    v
}

fn writer(cluster: &str) -> Value {
    json!({"DBClusterIdentifier": r#ref(cluster), "Engine": "aurora-postgresql",
        "DBInstanceClass": "db.r6g.large"})
}

fn task_reading(endpoint: Value) -> Value {
    json!({"ContainerDefinitions": [{"Name": "app", "Image": "app:1",
        "Environment": [{"Name": "DB_HOST", "Value": endpoint}]}]})
}

fn migration(task: &str) -> Value {
    json!({"ServiceToken": "arn:aws:lambda:us-east-1:111111111111:function:migrate",
        "TaskDefinition": r#ref(task)})
}

/// A cluster, its writer, and a migration that reads the cluster endpoint; returns the
/// migration and the writer.
fn db_and_migration(s: &mut Scope<'_>) -> (cfn_core::ResourceRef, cfn_core::ResourceRef) {
    let db = raw(s, "Db", CLUSTER, aurora(json!({})));
    let w = raw(s, "Writer", INSTANCE, writer(db.logical_id()));
    let task = raw(
        s,
        "Task",
        TASK,
        task_reading(getatt(db.logical_id(), "Endpoint.Address")),
    );
    let m = raw(
        s,
        "Migrate",
        "Custom::Migrate",
        migration(task.logical_id()),
    );
    (m, w)
}

// ops-wait-for-sg-rules: a service whose group is let into the database's group by a
// standalone ingress rule.

fn group() -> Value {
    json!({"GroupDescription": "g", "VpcId": "vpc-1",
        "SecurityGroupEgress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.0.0.0/8"}]})
}

fn ingress(into: &str, from: &str, port: u16) -> Value {
    json!({"GroupId": getatt(into, "GroupId"), "SourceSecurityGroupId": getatt(from, "GroupId"),
        "IpProtocol": "tcp", "FromPort": port, "ToPort": port})
}

fn service_in(sg: &str) -> Value {
    json!({"Cluster": "c", "TaskDefinition": "t:1", "NetworkConfiguration": {"AwsvpcConfiguration": {
        "Subnets": ["subnet-1"], "SecurityGroups": [getatt(sg, "GroupId")]}}})
}

/// An app group, a database group, the rule letting the app in, and a service in the app
/// group; returns the service and the rule.
fn service_and_rule(s: &mut Scope<'_>) -> (cfn_core::ResourceRef, cfn_core::ResourceRef) {
    let app = raw(s, "AppSg", SG, group());
    let db = raw(s, "DbSg", SG, group());
    let rule = raw(
        s,
        "AppToDb",
        INGRESS,
        ingress(db.logical_id(), app.logical_id(), 5432),
    );
    let svc = raw(s, "Service", SERVICE, service_in(app.logical_id()));
    (svc, rule)
}

// alb-drain-covers-idle-timeout: an ALB whose HTTPS listener forwards to a target group.

fn attrs(pairs: &[(&str, Value)]) -> Value {
    Value::Array(
        pairs
            .iter()
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect(),
    )
}

fn target_group(drain: Option<Value>) -> Value {
    let mut tg = json!({"Port": 80, "Protocol": "HTTP", "VpcId": "vpc-1", "TargetType": "ip"});
    if let Some(d) = drain {
        merge(
            &mut tg,
            json!({"TargetGroupAttributes": attrs(&[("deregistration_delay.timeout_seconds", d)])}),
        );
    }
    tg
}

fn alb(idle: Option<Value>) -> Value {
    let mut lb = json!({"Subnets": ["subnet-1", "subnet-2"]});
    if let Some(i) = idle {
        merge(
            &mut lb,
            json!({"LoadBalancerAttributes": attrs(&[("idle_timeout.timeout_seconds", i)])}),
        );
    }
    lb
}

fn forwarding(s: &mut Scope<'_>, lb: Value, tg: Value) {
    let lb = raw(s, "Alb", LB, lb);
    let tg = raw(s, "Targets", TG, tg);
    raw(
        s,
        "Https",
        LISTENER,
        json!({"LoadBalancerArn": r#ref(lb.logical_id()), "Port": 443, "Protocol": "HTTPS",
            "DefaultActions": [{"Type": "forward", "TargetGroupArn": r#ref(tg.logical_id())}]}),
    );
}

// secret-db-rotation: a cluster whose password resolves from a generated secret.

fn generated_secret() -> Value {
    json!({"GenerateSecretString": {"SecretStringTemplate": "{\"username\":\"admin\"}",
        "GenerateStringKey": "password", "ExcludePunctuation": true}})
}

fn resolve_join(secret: &str) -> Value {
    json!({"Fn::Join": ["", ["{{resolve:secretsmanager:", r#ref(secret), ":SecretString:password}}"]]})
}

fn cluster_with_password(password: Value) -> Value {
    json!({"Engine": "aurora-postgresql", "MasterUsername": "admin", "MasterUserPassword": password})
}

fn rotation(secret_id: Value) -> Value {
    json!({"SecretId": secret_id, "HostedRotationLambda": {"RotationType": "PostgreSQLSingleUser"},
        "RotationRules": {"AutomaticallyAfterDays": 30}})
}

fn alarm(extra: Value) -> Value {
    let mut a = json!({"MetricName": "CPUUtilization", "Namespace": "AWS/RDS", "Statistic": "Average",
        "Period": 60, "EvaluationPeriods": 3, "Threshold": 80, "ComparisonOperator": "GreaterThanThreshold"});
    merge(&mut a, extra);
    a
}

fn sse(algorithm: &str) -> Value {
    json!({"BucketEncryption": {"ServerSideEncryptionConfiguration": [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": algorithm}}]}})
}

cases! {
    ops_wait_for_db_instance: "ops-wait-for-db-instance" {
        breaks: |s| { db_and_migration(s); } => ("Migrate", Some("DependsOn")),
        satisfies: |s| {
            let (m, w) = db_and_migration(s);
            s.stack().resource(&m).depends_on(&w);
        },
    }
    ops_wait_for_sg_rules: "ops-wait-for-sg-rules" {
        breaks: |s| { service_and_rule(s); } => ("Service", Some("DependsOn")),
        satisfies: |s| {
            let (svc, rule) = service_and_rule(s);
            s.stack().resource(&svc).depends_on(&rule);
        },
    }
    alb_drain_covers_idle_timeout: "alb-drain-covers-idle-timeout" {
        breaks: |s| forwarding(s, alb(Some(json!("900"))), target_group(Some(json!("30"))))
            => ("Targets", Some("Properties.TargetGroupAttributes")),
        satisfies: |s| forwarding(s, alb(Some(json!("900"))), target_group(Some(json!("900")))),
    }
    exposure_sg_declares_egress: "exposure-sg-declares-egress" {
        breaks: |s| { raw(s, "Sg", SG, json!({"GroupDescription": "g", "VpcId": "vpc-1"})); }
            => ("Sg", Some("Properties.SecurityGroupEgress")),
        satisfies: |s| { raw(s, "Sg", SG, group()); },
    }
    exposure_sg_egress_all: "exposure-sg-egress-all" {
        breaks: |s| { raw(s, "Sg", SG, json!({"GroupDescription": "g", "VpcId": "vpc-1",
            "SecurityGroupEgress": [{"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}]})); }
            => ("Sg", Some("Properties.SecurityGroupEgress.0.CidrIp")),
        satisfies: |s| { raw(s, "Sg", SG, json!({"GroupDescription": "g", "VpcId": "vpc-1",
            "SecurityGroupEgress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"}]})); },
    }
    alb_waf: "alb-waf" {
        breaks: |s| { raw(s, "Alb", LB, alb(None)); } => ("Alb", None),
        satisfies: |s| {
            let lb = raw(s, "Alb", LB, alb(None));
            raw(s, "Waf", "AWS::WAFv2::WebACLAssociation", json!({"ResourceArn": r#ref(lb.logical_id()),
                "WebACLArn": "arn:aws:wafv2:us-east-1:111111111111:regional/webacl/app/1"}));
        },
    }
    ops_alarm_actions: "ops-alarm-actions" {
        breaks: |s| { raw(s, "Cpu", ALARM, alarm(json!({}))); } => ("Cpu", Some("Properties.AlarmActions")),
        satisfies: |s| { raw(s, "Cpu", ALARM, alarm(json!({
            "AlarmActions": ["arn:aws:sns:us-east-1:111111111111:on-call"]}))); },
    }
    enc_s3_kms: "enc-s3-kms" {
        breaks: |s| { raw(s, "Bucket", BUCKET, sse("AES256")); } => ("Bucket", Some(
            "Properties.BucketEncryption.ServerSideEncryptionConfiguration.0.ServerSideEncryptionByDefault.SSEAlgorithm")),
        satisfies: |s| { raw(s, "Bucket", BUCKET, sse("aws:kms")); },
    }
    secret_db_rotation: "secret-db-rotation" {
        breaks: |s| {
            let secret = raw(s, "Secret", SECRET, generated_secret());
            raw(s, "Db", CLUSTER, cluster_with_password(resolve_join(secret.logical_id())));
        } => ("Db", Some("Properties.MasterUserPassword")),
        satisfies: |s| {
            let secret = raw(s, "Secret", SECRET, generated_secret());
            raw(s, "Db", CLUSTER, cluster_with_password(resolve_join(secret.logical_id())));
            raw(s, "Rotation", ROTATION, rotation(r#ref(secret.logical_id())));
        },
    }
}

// Finer judgements: ops-wait-for-db-instance.

#[test]
fn wait_for_db_instance_names_the_cluster_and_the_chain_to_it() {
    let out = run(|s| {
        db_and_migration(s);
    });
    let f = of(&out, "ops-wait-for-db-instance");
    assert_eq!(f.len(), 1, "{f:#?}");
    let (task, db) = ("CaseTask1FC7A40F", "CaseDbB5FA13F2");
    assert_eq!(
        f[0].message,
        format!(
            "the custom resource uses DB cluster T/Case/Db ({db}) through {task} → {db} \
             but waits for none of its DB instances"
        )
    );
}

#[test]
fn wait_for_db_instance_names_the_shortest_chain() {
    // The migration reaches the cluster in two steps through its task and in three through
    // a parameter it waits for: the message names the two-step chain.
    let out = run(|s| {
        let (m, _) = db_and_migration(s);
        let mid = raw(
            s,
            "Mid",
            "AWS::SSM::Parameter",
            json!({"Type": "String", "Value": r#ref("CaseDbB5FA13F2")}),
        );
        let far = raw(
            s,
            "Far",
            "AWS::SSM::Parameter",
            json!({"Type": "String", "Value": r#ref(mid.logical_id())}),
        );
        s.stack().resource(&m).depends_on(&far);
    });
    let f = of(&out, "ops-wait-for-db-instance");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert!(
        f[0].message
            .contains("through CaseTask1FC7A40F → CaseDbB5FA13F2 but"),
        "{}",
        f[0].message
    );
}

#[test]
fn wait_for_db_instance_follows_sub_references_and_other_consumers() {
    let out = run(|s| {
        let db = raw(s, "Db", CLUSTER, aurora(json!({})));
        let w = raw(s, "Writer", INSTANCE, writer(db.logical_id()));
        let sub = json!({"Fn::Sub": format!("postgresql://${{{}.Endpoint.Address}}:5432/app", db.logical_id())});
        let task = raw(s, "Task", TASK, task_reading(sub));
        let svc = json!({"Cluster": "c", "TaskDefinition": r#ref(task.logical_id())});
        // Waits for the writer through a migration it depends on.
        let m = raw(
            s,
            "Migrate",
            "Custom::Migrate",
            migration(task.logical_id()),
        );
        s.stack().resource(&m).depends_on(&w);
        let waits = raw(s, "Waits", SERVICE, svc.clone());
        s.stack().resource(&waits).depends_on(&m);
        // Reads the cluster and nothing makes it wait.
        raw(s, "Hasty", SERVICE, svc);
    });
    assert_eq!(
        props(&out, "ops-wait-for-db-instance"),
        ["T/Case/Hasty DependsOn"]
    );
}

#[test]
fn wait_for_db_instance_wants_an_instance_of_that_cluster() {
    let out = run(|s| {
        let db = raw(
            s,
            "Db",
            CLUSTER,
            aurora(json!({"DBClusterIdentifier": "app-db"})),
        );
        let other = raw(s, "Other", CLUSTER, aurora(json!({})));
        let other_writer = raw(s, "OtherWriter", INSTANCE, writer(other.logical_id()));
        let task = raw(
            s,
            "Task",
            TASK,
            task_reading(getatt(db.logical_id(), "Endpoint.Address")),
        );
        let wrong = raw(s, "Wrong", "Custom::Migrate", migration(task.logical_id()));
        s.stack().resource(&wrong).depends_on(&other_writer);
        // An instance naming the cluster by its literal identifier counts.
        let named = raw(
            s,
            "Named",
            INSTANCE,
            json!({"DBClusterIdentifier": "App-DB", "Engine": "aurora-postgresql",
                "DBInstanceClass": "db.r6g.large"}),
        );
        let right = raw(
            s,
            "Right",
            "AWS::CloudFormation::CustomResource",
            migration(task.logical_id()),
        );
        s.stack().resource(&right).depends_on(&named);
    });
    assert_eq!(
        props(&out, "ops-wait-for-db-instance"),
        ["T/Case/Wrong DependsOn"]
    );
}

#[test]
fn wait_for_db_instance_skips_clusters_without_instance_resources() {
    let out = run(|s| {
        let v1 = raw(
            s,
            "ServerlessV1",
            CLUSTER,
            aurora(json!({"EngineMode": "serverless"})),
        );
        let multi_az = raw(
            s,
            "MultiAz",
            CLUSTER,
            json!({"Engine": "postgres", "DBClusterInstanceClass": "db.m6gd.large",
                "MasterUsername": "admin", "ManageMasterUserPassword": true}),
        );
        let env = json!({"Fn::Join": [",", [getatt(v1.logical_id(), "Endpoint.Address"),
            getatt(multi_az.logical_id(), "Endpoint.Address")]]});
        let task = raw(s, "Task", TASK, task_reading(env));
        raw(
            s,
            "Migrate",
            "Custom::Migrate",
            migration(task.logical_id()),
        );
    });
    assert!(props(&out, "ops-wait-for-db-instance").is_empty());
}

// ops-wait-for-sg-rules.

#[test]
fn wait_for_sg_rules_reads_custom_resource_groups_egress_and_inline_ingress() {
    let out = run(|s| {
        let app = raw(s, "AppSg", SG, group());
        let other = raw(s, "OtherSg", SG, group());
        // Inline ingress into the cache's group from the app's group.
        let mut cache = group();
        merge(
            &mut cache,
            json!({"SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 6379, "ToPort": 6379,
                "SourceSecurityGroupId": getatt(app.logical_id(), "GroupId")}]}),
        );
        raw(s, "CacheSg", SG, cache);
        raw(
            s,
            "AppOut",
            EGRESS,
            json!({"GroupId": r#ref(app.logical_id()), "IpProtocol": "tcp", "FromPort": 443,
                "ToPort": 443, "DestinationSecurityGroupId": getatt(other.logical_id(), "GroupId")}),
        );
        // Into the app's group: not the app's outbound permission.
        raw(
            s,
            "OtherToApp",
            INGRESS,
            ingress(app.logical_id(), other.logical_id(), 80),
        );
        raw(
            s,
            "Migrate",
            "Custom::Migrate",
            json!({"ServiceToken": "arn:aws:lambda:us-east-1:111111111111:function:m",
                "Network": {"SecurityGroups": [r#ref(app.logical_id())]},
                "Vpc": getatt(other.logical_id(), "VpcId")}),
        );
    });
    assert_eq!(
        props(&out, "ops-wait-for-sg-rules"),
        ["T/Case/Migrate DependsOn", "T/Case/Migrate DependsOn"]
    );
    let messages: Vec<_> = of(&out, "ops-wait-for-sg-rules")
        .iter()
        .map(|f| f.message.clone())
        .collect();
    assert!(messages[0].contains("inline ingress of group T/Case/CacheSg"));
    assert!(messages[1].contains("egress rule T/Case/AppOut"));
}

#[test]
fn wait_for_sg_rules_skips_consumers_without_groups() {
    let out = run(|s| {
        let app = raw(s, "AppSg", SG, group());
        let db = raw(s, "DbSg", SG, group());
        raw(
            s,
            "AppToDb",
            INGRESS,
            ingress(db.logical_id(), app.logical_id(), 5432),
        );
        raw(
            s,
            "Service",
            SERVICE,
            json!({"Cluster": "c", "TaskDefinition": "t:1"}),
        );
    });
    assert!(props(&out, "ops-wait-for-sg-rules").is_empty());
}

// alb-drain-covers-idle-timeout.

#[test]
fn drain_uses_the_defaults_300_and_60() {
    // 300 s of drain covers the default 60 s idle timeout.
    let out = run(|s| forwarding(s, alb(None), target_group(None)));
    assert!(props(&out, "alb-drain-covers-idle-timeout").is_empty());
    // The default 300 s does not cover 900 s.
    let out = run(|s| forwarding(s, alb(Some(json!(900))), target_group(None)));
    assert_eq!(
        props(&out, "alb-drain-covers-idle-timeout"),
        ["T/Case/Targets Properties.TargetGroupAttributes"]
    );
    let f = of(&out, "alb-drain-covers-idle-timeout");
    assert!(f[0].message.contains("drain for 300 s"), "{}", f[0].message);
    assert!(f[0].message.contains("idle for 900 s"), "{}", f[0].message);
    // A 30 s drain does not cover the default 60 s.
    let out = run(|s| forwarding(s, alb(None), target_group(Some(json!("30")))));
    assert_eq!(of(&out, "alb-drain-covers-idle-timeout").len(), 1);
}

#[test]
fn drain_reads_listener_rules_and_weighted_forwards() {
    let out = run(|s| {
        let lb = raw(s, "Alb", LB, alb(Some(json!("120"))));
        let web = raw(s, "Web", TG, target_group(Some(json!("120"))));
        let api = raw(s, "Api", TG, target_group(Some(json!("30"))));
        let blue = raw(s, "Blue", TG, target_group(Some(json!("60"))));
        raw(s, "Unused", TG, target_group(Some(json!("0"))));
        let l = raw(
            s,
            "Https",
            LISTENER,
            json!({"LoadBalancerArn": r#ref(lb.logical_id()), "Port": 443, "Protocol": "HTTPS",
                "DefaultActions": [{"Type": "forward", "TargetGroupArn": r#ref(web.logical_id())}]}),
        );
        raw(
            s,
            "ApiRoute",
            RULE,
            json!({"ListenerArn": getatt(l.logical_id(), "ListenerArn"), "Priority": 1,
                "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}],
                "Actions": [{"Type": "forward", "ForwardConfig": {"TargetGroups": [
                    {"TargetGroupArn": r#ref(api.logical_id()), "Weight": 1},
                    {"TargetGroupArn": r#ref(blue.logical_id()), "Weight": 1}]}}]}),
        );
    });
    assert_eq!(
        props(&out, "alb-drain-covers-idle-timeout"),
        [
            "T/Case/Api Properties.TargetGroupAttributes",
            "T/Case/Blue Properties.TargetGroupAttributes",
        ]
    );
}

#[test]
fn drain_skips_unknown_values_network_load_balancers_and_lambda_targets() {
    let mut stack = Stack::new("T");
    stack.set_guardrails(pack(), cfn_core::rules::Enforcement::Advise);
    let unknown = stack.add_parameter("Drain", Parameter::new(ParameterType::Number));
    let known = stack.add_parameter(
        "Idle",
        Parameter::new(ParameterType::Number).default_value("600"),
    );
    let mut root = stack.root();
    let mut s = root.child("Case");
    let lb = raw(&mut s, "Alb", LB, alb(Some(json!(known.value()))));
    let a = raw(&mut s, "A", TG, target_group(Some(json!(unknown.value()))));
    let b = raw(&mut s, "B", TG, target_group(Some(json!("30"))));
    let mut lambda = target_group(None);
    merge(&mut lambda, json!({"TargetType": "lambda"}));
    let c = raw(&mut s, "C", TG, lambda);
    let nlb = raw(
        &mut s,
        "Nlb",
        LB,
        json!({"Type": "network", "Subnets": ["subnet-1"]}),
    );
    let d = raw(&mut s, "D", TG, target_group(Some(json!("0"))));
    let forward = |tg: &cfn_core::ResourceRef| json!([{"Type": "forward", "TargetGroupArn": r#ref(tg.logical_id())}]);
    for (id, l, tg, port) in [
        ("L1", &lb, &a, 1),
        ("L2", &lb, &b, 2),
        ("L3", &lb, &c, 3),
        ("L4", &nlb, &d, 4),
    ] {
        raw(
            &mut s,
            id,
            LISTENER,
            json!({"LoadBalancerArn": r#ref(l.logical_id()), "Port": port, "Protocol": "HTTP",
                "DefaultActions": forward(tg)}),
        );
    }
    let out = stack.synth().unwrap();
    // Only B: A's drain is unknown, C is a Lambda target group, D sits behind a network LB.
    assert_eq!(
        props(&out, "alb-drain-covers-idle-timeout"),
        ["T/Case/B Properties.TargetGroupAttributes"]
    );
}

// exposure-sg-declares-egress and exposure-sg-egress-all.

#[test]
fn sg_egress_rules_see_empty_lists_standalone_rules_and_ipv6() {
    let out = run(|s| {
        let empty = raw(
            s,
            "Empty",
            SG,
            json!({"GroupDescription": "g", "VpcId": "vpc-1", "SecurityGroupEgress": []}),
        );
        // A standalone rule does not remove the default rule of a group without egress.
        let bare = raw(
            s,
            "Bare",
            SG,
            json!({"GroupDescription": "g", "VpcId": "vpc-1"}),
        );
        raw(
            s,
            "BareOut",
            EGRESS,
            json!({"GroupId": r#ref(bare.logical_id()), "IpProtocol": -1, "CidrIpv6": "::/0"}),
        );
        raw(
            s,
            "EmptyOut",
            EGRESS,
            json!({"GroupId": r#ref(empty.logical_id()), "IpProtocol": "tcp", "FromPort": 443,
                "ToPort": 443, "CidrIp": "0.0.0.0/0"}),
        );
        raw(
            s,
            "Declared",
            SG,
            json!({"GroupDescription": "g", "VpcId": "vpc-1", "SecurityGroupEgress": [
                {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.0.0.0/8"},
                {"IpProtocol": "-1", "CidrIpv6": "::/0"}]}),
        );
    });
    assert_eq!(
        props(&out, "exposure-sg-declares-egress"),
        [
            "T/Case/Empty Properties.SecurityGroupEgress",
            "T/Case/Bare Properties.SecurityGroupEgress",
        ]
    );
    let all = of(&out, "exposure-sg-egress-all");
    assert!(all.iter().all(|f| f.severity == Severity::Warning));
    assert_eq!(
        props(&out, "exposure-sg-egress-all"),
        [
            "T/Case/Declared Properties.SecurityGroupEgress.1.CidrIpv6",
            "T/Case/BareOut Properties.CidrIpv6",
        ]
    );
}

// alb-waf.

#[test]
fn alb_waf_covers_internet_facing_albs_only() {
    let out = run(|s| {
        raw(s, "Public", LB, alb(None));
        let other = raw(s, "Protected", LB, alb(None));
        raw(
            s,
            "Waf",
            "AWS::WAFv2::WebACLAssociation",
            json!({"ResourceArn": getatt(other.logical_id(), "LoadBalancerArn"),
                "WebACLArn": "arn:aws:wafv2:us-east-1:111111111111:regional/webacl/app/1"}),
        );
        raw(
            s,
            "Internal",
            LB,
            json!({"Scheme": "internal", "Subnets": ["subnet-1"]}),
        );
        raw(
            s,
            "Nlb",
            LB,
            json!({"Type": "network", "Subnets": ["subnet-1"]}),
        );
    });
    assert_eq!(props(&out, "alb-waf"), ["T/Case/Public -"]);
}

// ops-alarm-actions.

#[test]
fn alarm_actions_must_be_there_and_enabled() {
    let out = run(|s| {
        let topic = json!(["arn:aws:sns:us-east-1:111111111111:on-call"]);
        raw(
            s,
            "Disabled",
            ALARM,
            alarm(json!({"AlarmActions": topic, "ActionsEnabled": false})),
        );
        raw(s, "Empty", ALARM, alarm(json!({"AlarmActions": []})));
        raw(
            s,
            "Heard",
            ALARM,
            alarm(json!({"AlarmActions": topic, "ActionsEnabled": true})),
        );
    });
    assert_eq!(
        props(&out, "ops-alarm-actions"),
        [
            "T/Case/Disabled Properties.ActionsEnabled",
            "T/Case/Empty Properties.AlarmActions",
        ]
    );
}

// enc-s3-kms.

#[test]
fn s3_kms_spares_alb_log_buckets_and_unknown_algorithms() {
    let mut stack = Stack::new("T");
    stack.set_guardrails(pack(), cfn_core::rules::Enforcement::Advise);
    let algorithm = stack.add_parameter("Algorithm", Parameter::new(ParameterType::String));
    let mut root = stack.root();
    let mut s = root.child("Case");
    let logs = raw(&mut s, "AlbLogs", BUCKET, sse("AES256"));
    let mut named = sse("AES256");
    merge(&mut named, json!({"BucketName": "old-alb-logs"}));
    raw(&mut s, "NamedLogs", BUCKET, named);
    raw(
        &mut s,
        "Alb",
        LB,
        json!({"Subnets": ["subnet-1"], "LoadBalancerAttributes": attrs(&[
            ("access_logs.s3.enabled", json!("true")),
            ("access_logs.s3.bucket", r#ref(logs.logical_id()))])}),
    );
    raw(
        &mut s,
        "OldAlb",
        LB,
        json!({"Subnets": ["subnet-1"], "LoadBalancerAttributes": attrs(&[
            ("access_logs.s3.bucket", json!("old-alb-logs"))])}),
    );
    raw(&mut s, "Plain", BUCKET, json!({}));
    raw(&mut s, "Dsse", BUCKET, sse("aws:kms:dsse"));
    raw(&mut s, "Unknown", BUCKET, sse("x"));
    raw(
        &mut s,
        "Param",
        BUCKET,
        json!({"BucketEncryption": {"ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": algorithm.value()}}]}}),
    );
    let out = stack.synth().unwrap();
    assert_eq!(
        props(&out, "enc-s3-kms"),
        [
            "T/Case/Plain Properties.BucketEncryption",
            "T/Case/Unknown Properties.BucketEncryption.ServerSideEncryptionConfiguration.0.ServerSideEncryptionByDefault.SSEAlgorithm",
        ]
    );
}

// secret-db-rotation.

#[test]
fn db_rotation_follows_attachments_sub_and_literal_names() {
    let out = run(|s| {
        // Rotated through the attachment (as the AWS CDK does), read with Fn::Sub.
        let a = raw(s, "SecretA", SECRET, generated_secret());
        let db_a = raw(
            s,
            "DbA",
            CLUSTER,
            cluster_with_password(json!({"Fn::Sub": format!(
                "{{{{resolve:secretsmanager:${{{}}}:SecretString:password}}}}",
                a.logical_id()
            )})),
        );
        let attachment = raw(
            s,
            "AttachA",
            "AWS::SecretsManager::SecretTargetAttachment",
            json!({"SecretId": r#ref(a.logical_id()), "TargetId": r#ref(db_a.logical_id()),
                "TargetType": "AWS::RDS::DBCluster"}),
        );
        raw(
            s,
            "RotateA",
            ROTATION,
            rotation(r#ref(attachment.logical_id())),
        );
        // Named literally, rotated by name.
        let mut b = generated_secret();
        merge(&mut b, json!({"Name": "app/db-b"}));
        raw(s, "SecretB", SECRET, b);
        raw(
            s,
            "DbB",
            CLUSTER,
            cluster_with_password(json!(
                "{{resolve:secretsmanager:app/db-b:SecretString:password}}"
            )),
        );
        raw(s, "RotateB", ROTATION, rotation(json!("app/db-b")));
        // RDS manages it.
        raw(s, "Managed", CLUSTER, aurora(json!({})));
        // A secret outside the template, a plain password, an unrotated instance's secret.
        raw(
            s,
            "External",
            CLUSTER,
            cluster_with_password(json!(
                "{{resolve:secretsmanager:shared/db:SecretString:password}}"
            )),
        );
        raw(
            s,
            "Plain",
            CLUSTER,
            cluster_with_password(json!("hunter2hunter2")),
        );
        let c = raw(s, "SecretC", SECRET, generated_secret());
        raw(
            s,
            "Standalone",
            INSTANCE,
            json!({"Engine": "postgres", "DBInstanceClass": "db.t4g.micro", "MasterUsername": "admin",
                "MasterUserPassword": resolve_join(c.logical_id())}),
        );
    });
    assert_eq!(
        props(&out, "secret-db-rotation"),
        [
            "T/Case/External Properties.MasterUserPassword",
            "T/Case/Plain Properties.MasterUserPassword",
            "T/Case/Standalone Properties.MasterUserPassword",
        ]
    );
    let messages: Vec<_> = of(&out, "secret-db-rotation")
        .iter()
        .map(|f| f.message.clone())
        .collect();
    assert!(messages[0].contains("outside the template"), "{messages:?}");
    assert!(messages[1].contains("neither managed"), "{messages:?}");
    assert!(
        messages[2].contains("secret T/Case/SecretC"),
        "{messages:?}"
    );
}

// The staged pack.

#[test]
fn non_production_drops_the_production_only_staged_rules() {
    let prd = staged_pack(Profile::Production);
    let dev = staged_pack(Profile::NonProduction);
    assert_eq!(prd.rules().count(), 9);
    assert_eq!(prd.name(), "staged-production");
    for id in [
        "alb-waf",
        "ops-alarm-actions",
        "enc-s3-kms",
        "secret-db-rotation",
    ] {
        assert!(PRODUCTION_ONLY.contains(&id), "{id}");
        assert!(prd.get(id).is_some() && dev.get(id).is_none(), "{id}");
    }
    assert_eq!(dev.rules().count(), 5);
}

// The Dify production template as synthesized (frozen copy of cfn-out/dify-prd.template.json
// at d41b8b9): what each staged rule finds in it.

#[test]
fn the_dify_production_template_breaks_the_staged_rules() {
    let template: Value =
        serde_json::from_str(include_str!("fixtures/dify-prd.template.json")).unwrap();
    let stack = Stack::new("dify-prd");
    let report = cfn_core::rules::run(&stack, &template, &pack());
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &report.findings {
        *counts.entry(f.rule_id).or_default() += 1;
    }
    let expected = BTreeMap::from([
        // The migration and the seven services.
        ("ops-wait-for-db-instance", 8),
        // api 5, worker 5, plugin daemon 3, migration 2, beat 2, sandbox 1.
        ("ops-wait-for-sg-rules", 18),
        // web, api and plugin daemon drain for 30 s; the ALB idles for 900 s.
        ("alb-drain-covers-idle-timeout", 3),
        // The migration's and the seven services' groups.
        ("exposure-sg-declares-egress", 8),
        ("alb-waf", 1),
        // The six per-service deployment alarms.
        ("ops-alarm-actions", 6),
        // The files bucket (the access-log bucket receives ALB logs).
        ("enc-s3-kms", 1),
        ("secret-db-rotation", 1),
    ]);
    assert_eq!(counts, expected, "{:#?}", report.findings);
    let has = |rule: &str, id: &str, text: &str| {
        report
            .findings
            .iter()
            .any(|f| f.rule_id == rule && f.logical_id == id && f.message.contains(text))
    };
    assert!(has(
        "ops-wait-for-db-instance",
        "AppMigrationRun5ACB5467",
        "DatabaseClusterC6094C50"
    ));
    assert!(has(
        "ops-wait-for-sg-rules",
        "AppMigrationRun5ACB5467",
        "AppRulesMigrationToDatabaseEEAD6CC9"
    ));
    assert!(has(
        "secret-db-rotation",
        "DatabaseClusterC6094C50",
        "DatabaseMasterCredentialsEF7DCD29"
    ));
}
