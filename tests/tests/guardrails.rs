//! The default guardrail pack on real templates: the Dify stacks pass it (production with no
//! unsuppressed finding, every suppression justified in docs/security.md), and side by side
//! with checkov on a deliberately insecure stack (the seed's defects) and the three Dify
//! stacks, every check checkov fails is either flagged by one of our rules or explained as not
//! applicable.
#![allow(missing_docs, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use cfn_core::rules::{Enforcement, Finding};
use cfn_core::{Parameter, ParameterType, Stack, Synthesized};
use cfn_rules::{Profile, default_pack};
use dify_constructs::DifyStack;
use dify_constructs::config::Environment;
use integration_tests::{require_tool, workspace_root, write_temp};
use serde_json::{Value as Json, json};

fn environments() -> Vec<Environment> {
    Environment::load_dir(&workspace_root().join("apps/dify-app/environments"))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn security_md() -> String {
    std::fs::read_to_string(workspace_root().join("docs/security.md")).unwrap()
}

/// The `## Guardrails` section of docs/security.md.
fn guardrails_section() -> String {
    let doc = security_md();
    let start = doc
        .find("## Guardrails")
        .expect("docs/security.md has a Guardrails section");
    let rest = &doc[start + 2..];
    let end = rest.find("\n## ").map_or(rest.len(), |i| i + 2);
    doc[start..start + end].to_owned()
}

#[test]
fn every_dify_stack_passes_the_default_pack_and_every_suppression_is_documented() {
    let section = guardrails_section();
    for e in environments() {
        let out = DifyStack::build(&e)
            .stack
            .synth()
            .unwrap_or_else(|err| panic!("{err}"));
        let guardrails = DifyStack::build(&e).stack.guardrails().cloned().unwrap();
        let expected = if e.production {
            (Profile::Production, Enforcement::Enforce)
        } else {
            (Profile::NonProduction, Enforcement::Advise)
        };
        assert_eq!(guardrails.pack.name(), default_pack(expected.0).name());
        assert_eq!(guardrails.enforcement, expected.1);
        println!(
            "{}: {} unsuppressed finding(s), {} suppressed",
            e.name,
            out.findings.len(),
            out.suppressed.len()
        );
        for f in &out.findings {
            println!("  {f}");
        }
        assert!(
            out.findings.is_empty(),
            "{}: unsuppressed findings: {:#?}",
            e.name,
            out.findings
        );
        assert!(
            !out.diagnostics
                .iter()
                .any(|d| d.code == "unused-suppression"),
            "{}: {:#?}",
            e.name,
            out.diagnostics
        );
        for f in &out.suppressed {
            let reason = f.suppressed.as_deref().unwrap();
            let row = section
                .lines()
                .find(|l| l.contains(&format!("`{}`", f.rule_id)) && l.contains(reason))
                .unwrap_or_else(|| {
                    panic!(
                        "docs/security.md (Guardrails) lists no suppression of {} with the reason {reason:?}",
                        f.rule_id
                    )
                });
            let construct = f.construct_path.split_once('/').map_or("", |(_, p)| p);
            assert!(row.contains(construct), "{row} should name {construct}");
        }
    }
}

/// A deliberately insecure stack: the seed's Terraform ported to CloudFormation as it stood,
/// with its defects — generated passwords and keys in task environments and SSM String
/// parameters (CloudFormation cannot create SecureString), `rediss://…?ssl_cert_reqs=CERT_NONE`,
/// `log_statement=all`, `allkeys-lru`, an HTTP-only listener open to the world, security groups
/// open to the internet — plus the defects the issue names (no versioning, wildcard IAM).
fn insecure_stack() -> Stack {
    let mut stack = Stack::new("Insecure");
    let db_password = stack.add_parameter(
        "DbPassword",
        Parameter::new(ParameterType::String).default_value("Dify-Passw0rd-2024"),
    );
    let redis_token = stack.add_parameter("RedisAuthToken", Parameter::new(ParameterType::String));
    let mut s = stack.root();
    let mut add = |id: &str, ty: &str, props: Json| s.add_raw(id, ty, None, props);
    add(
        "DataKey",
        "AWS::KMS::Key",
        json!({"KeyPolicy": {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}},
        "Action": "kms:*", "Resource": "*"}]}}),
    );
    add(
        "AlbSecurityGroup",
        "AWS::EC2::SecurityGroup",
        json!({"GroupDescription": "alb", "VpcId": "vpc-1",
        "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "CidrIp": "0.0.0.0/0"}]}),
    );
    add(
        "EcsSecurityGroup",
        "AWS::EC2::SecurityGroup",
        json!({"GroupDescription": "ecs", "VpcId": "vpc-1",
        "SecurityGroupIngress": [{"IpProtocol": "-1", "FromPort": 0, "ToPort": 65535, "CidrIp": "0.0.0.0/0"}]}),
    );
    add(
        "DbSecurityGroup",
        "AWS::EC2::SecurityGroup",
        json!({"GroupDescription": "db", "VpcId": "vpc-1"}),
    );
    add(
        "DbFromAnywhere",
        "AWS::EC2::SecurityGroupIngress",
        json!({"GroupId": {"Ref": "DbSecurityGroup"},
        "IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "CidrIpv6": "::/0"}),
    );
    add(
        "DbParameters",
        "AWS::RDS::DBClusterParameterGroup",
        json!({"Description": "dify", "Family": "aurora-postgresql15",
        "Parameters": {"log_statement": "all", "log_min_duration_statement": "1000",
            "shared_preload_libraries": "pg_stat_statements,pglogical"}}),
    );
    add(
        "Database",
        "AWS::RDS::DBCluster",
        json!({"Engine": "aurora-postgresql", "EngineVersion": "15.10",
        "DatabaseName": "dify", "MasterUsername": "dify", "MasterUserPassword": db_password.value(),
        "DBClusterParameterGroupName": {"Ref": "DbParameters"}, "VpcSecurityGroupIds": [{"Ref": "DbSecurityGroup"}],
        "BackupRetentionPeriod": 7, "StorageEncrypted": true, "DeletionProtection": false}),
    );
    add(
        "DatabaseWriter",
        "AWS::RDS::DBInstance",
        json!({"DBClusterIdentifier": {"Ref": "Database"},
        "Engine": "aurora-postgresql", "DBInstanceClass": "db.r6g.large"}),
    );
    add(
        "CacheParameters",
        "AWS::ElastiCache::ParameterGroup",
        json!({"CacheParameterGroupFamily": "redis7",
        "Description": "dify", "Properties": {"maxmemory-policy": "allkeys-lru"}}),
    );
    add(
        "Cache",
        "AWS::ElastiCache::ReplicationGroup",
        json!({"ReplicationGroupDescription": "dify",
        "Engine": "redis", "CacheNodeType": "cache.t3.micro", "NumCacheClusters": 1,
        "AtRestEncryptionEnabled": true, "TransitEncryptionEnabled": true, "AuthToken": redis_token.value(),
        "CacheParameterGroupName": {"Ref": "CacheParameters"}, "SnapshotRetentionLimit": 1}),
    );
    add(
        "SecretKeyParameter",
        "AWS::SSM::Parameter",
        json!({"Name": "/dify/dev/secret_key", "Type": "String",
        "Value": "sk-9f8e7d6c5b4a39281706f5e4d3c2b1a0ZyXwVuTsRq"}),
    );
    add(
        "DbPasswordParameter",
        "AWS::SSM::Parameter",
        json!({"Name": "/dify/dev/db/password", "Type": "String",
        "Value": db_password.value()}),
    );
    add(
        "SmtpPassword",
        "AWS::SecretsManager::Secret",
        json!({"GenerateSecretString": {"PasswordLength": 32}}),
    );
    add(
        "Logs",
        "AWS::Logs::LogGroup",
        json!({"LogGroupName": "/ecs/dify-dev", "RetentionInDays": 7}),
    );
    add(
        "Files",
        "AWS::S3::Bucket",
        json!({"BucketEncryption": {"ServerSideEncryptionConfiguration": [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}}),
    );
    add(
        "Cluster",
        "AWS::ECS::Cluster",
        json!({"ClusterSettings": [{"Name": "containerInsights", "Value": "enabled"}]}),
    );
    let assume = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    add(
        "ExecutionRole",
        "AWS::IAM::Role",
        json!({"AssumeRolePolicyDocument": assume,
        "ManagedPolicyArns": ["arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"]}),
    );
    add(
        "TaskRole",
        "AWS::IAM::Role",
        json!({"AssumeRolePolicyDocument": assume, "Policies": [
        {"PolicyName": "files", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Allow", "Action": ["ssm:GetParameter", "ssm:GetParameters"], "Resource": "*"}]}},
        {"PolicyName": "ops", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"}]}}]}),
    );
    let env = |name: &str, value: Json| json!({"Name": name, "Value": value});
    add(
        "TaskDefinition",
        "AWS::ECS::TaskDefinition",
        json!({"Cpu": "4096", "Memory": "8192",
        "NetworkMode": "awsvpc", "RequiresCompatibilities": ["FARGATE"],
        "ExecutionRoleArn": {"Fn::GetAtt": ["ExecutionRole", "Arn"]}, "TaskRoleArn": {"Fn::GetAtt": ["TaskRole", "Arn"]},
        "ContainerDefinitions": [{"Name": "dify-api", "Image": "langgenius/dify-api:1.4.3", "Environment": [
            env("MODE", json!("api")),
            env("LOG_LEVEL", json!("DEBUG")),
            env("SECRET_KEY", json!("sk-9f8e7d6c5b4a39281706f5e4d3c2b1a0ZyXwVuTsRq")),
            env("DB_PASSWORD", json!(db_password.value())),
            env("REDIS_PASSWORD", json!(redis_token.value())),
            env("CELERY_BROKER_URL", json!({"Fn::Sub":
                "rediss://:${RedisAuthToken}@${Cache.PrimaryEndPoint.Address}:6379/0?ssl_cert_reqs=CERT_NONE"})),
            env("DATABASE_URL", json!({"Fn::Sub": "postgresql://dify:${DbPassword}@${Database.Endpoint.Address}:5432/dify"})),
            env("PLUGIN_DAEMON_KEY", json!("lYkiYYT6owG+71oLerGzA7GXCgOT++6ovaezWAjpCjf+Sjc3ZtU+qUEi")),
            env("WEB_API_CORS_ALLOW_ORIGINS", json!("*"))
        ]}]}),
    );
    add(
        "LoadBalancer",
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        json!({"Scheme": "internet-facing",
        "SecurityGroups": [{"Ref": "AlbSecurityGroup"}], "Subnets": ["subnet-1", "subnet-2"]}),
    );
    add(
        "WebTargets",
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        json!({"Port": 3000, "Protocol": "HTTP",
        "TargetType": "ip", "VpcId": "vpc-1", "HealthCheckPath": "/", "Matcher": {"HttpCode": "200-399"}}),
    );
    add(
        "Listener",
        "AWS::ElasticLoadBalancingV2::Listener",
        json!({"LoadBalancerArn": {"Ref": "LoadBalancer"},
        "Port": 80, "Protocol": "HTTP", "DefaultActions": [{"Type": "forward", "TargetGroupArn": {"Ref": "WebTargets"}}]}),
    );
    add(
        "Service",
        "AWS::ECS::Service",
        json!({"Cluster": {"Ref": "Cluster"}, "TaskDefinition": {"Ref": "TaskDefinition"},
        "DesiredCount": 1, "LaunchType": "FARGATE",
        "DeploymentConfiguration": {"DeploymentCircuitBreaker": {"Enable": true, "Rollback": true}},
        "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["subnet-1"], "SecurityGroups": [{"Ref": "EcsSecurityGroup"}]}}}),
    );
    stack
}

/// Where a not-applicable entry applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Applies {
    /// Wherever checkov fails it: we model no such rule.
    Everywhere,
    /// Only in non-production stacks: our equivalent is a production-only rule.
    NonProduction,
    /// Only on this resource (logical ID): our rule deliberately allows it there.
    Resource(&'static str),
}

/// checkov checks that fail on these templates and that no rule of ours flags, with the reason.
/// Mirrored in docs/security.md (Guardrails); a test checks each row is there and each entry
/// is still needed.
const NOT_APPLICABLE: [(&str, Applies, &str); 6] = [
    (
        "CKV_AWS_23",
        Applies::Everywhere,
        "a security group rule's description is documentation, not a control",
    ),
    (
        "CKV_AWS_118",
        Applies::Everywhere,
        "enhanced monitoring is observability with a cost, chosen per environment",
    ),
    (
        "CKV_AWS_162",
        Applies::Everywhere,
        "IAM database authentication is an alternative to passwords from Secrets Manager, not a missing protection",
    ),
    (
        "CKV_AWS_260",
        Applies::Resource("AlbSecurityGroup"),
        "port 80 open on an internet-facing load balancer's group is allowed by exposure-sg-open-ingress",
    ),
    (
        "CKV_AWS_149",
        Applies::NonProduction,
        "customer KMS keys for secrets are a production-only rule (enc-secret-kms)",
    ),
    (
        "CKV_AWS_158",
        Applies::NonProduction,
        "customer KMS keys for logs are a production-only rule (enc-log-group-kms)",
    ),
];

/// One failed checkov check: (check ID, logical ID).
fn checkov_failures(checkov: &std::path::Path, name: &str, body: &str) -> Vec<(String, String)> {
    let path = write_temp(&format!("guardrails-{name}"), body);
    let report = integration_tests::checkov(checkov, &path);
    let mut out: Vec<(String, String)> = report["results"]["failed_checks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let resource = c["resource"].as_str().unwrap();
            let logical = resource.split_once('.').map_or(resource, |(_, l)| l);
            (
                c["check_id"].as_str().unwrap().to_owned(),
                logical.to_owned(),
            )
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A template to compare: its name, whether it is production, and its synthesis.
struct Case {
    name: String,
    production: bool,
    out: Synthesized,
}

impl Case {
    fn all_findings(&self) -> impl Iterator<Item = &Finding> {
        self.out.findings.iter().chain(&self.out.suppressed)
    }
}

fn cases() -> Vec<Case> {
    let mut insecure = insecure_stack();
    insecure.set_guardrails(default_pack(Profile::Production), Enforcement::Advise);
    let mut cases = vec![Case {
        name: "insecure (seed)".into(),
        production: true,
        out: insecure.synth().unwrap(),
    }];
    for e in environments() {
        cases.push(Case {
            name: e.stack_name.clone(),
            production: e.production,
            out: DifyStack::build(&e).stack.synth().unwrap(),
        });
    }
    cases
}

#[test]
fn the_insecure_stack_trips_the_rules_it_was_built_to_trip() {
    let mut stack = insecure_stack();
    stack.set_guardrails(default_pack(Profile::Production), Enforcement::Advise);
    let out = stack.synth().unwrap();
    for f in &out.findings {
        println!("{f}");
    }
    let rules: BTreeSet<&str> = out.findings.iter().map(|f| f.rule_id).collect();
    for id in [
        "secret-env-name",
        "secret-env-value",
        "secret-parameter-noecho",
        "secret-ssm-plaintext",
        "secret-db-statement-logging",
        "tls-verification-disabled",
        "tls-alb-https",
        "tls-rds-force-ssl",
        "tls-s3-bucket-policy",
        "exposure-sg-open-ingress",
        "exposure-s3-public-access",
        "iam-wildcard-action",
        "iam-wildcard-resource",
        "iam-inline-admin",
        "data-s3-versioning",
        "data-removal-policy",
        "enc-kms-rotation",
        "alb-drop-invalid-headers",
    ] {
        assert!(rules.contains(id), "{id} not flagged: {rules:?}");
    }
    // The broker URL: a password in a URL and CERT_NONE, both named at the value.
    let broker: Vec<&Finding> = out
        .findings
        .iter()
        .filter(|f| {
            f.property.as_deref() == Some("Properties.ContainerDefinitions.0.Environment.5.Value")
        })
        .collect();
    assert_eq!(
        broker.iter().map(|f| f.rule_id).collect::<BTreeSet<_>>(),
        ["secret-env-value", "tls-verification-disabled"].into()
    );
    // And the stack fails synthesis where the pack is enforced.
    stack.set_guardrails(default_pack(Profile::Production), Enforcement::Enforce);
    assert!(stack.synth().is_err());
}

#[test]
fn checkov_failures_are_flagged_by_our_pack_or_explained() {
    let checkov = require_tool("CHECKOV", "checkov");
    let pack = default_pack(Profile::Production);
    let mut used: BTreeSet<usize> = BTreeSet::new();
    let mut unexplained = Vec::new();
    let mut report = Vec::new();
    for case in cases() {
        let failures = checkov_failures(
            &checkov,
            &case.name.replace([' ', '(', ')'], ""),
            &case.out.body,
        );
        let (mut ours, mut na) = (0, 0);
        for (check, logical) in &failures {
            let flagged = case.all_findings().any(|f| {
                f.logical_id == *logical
                    && pack
                        .get(f.rule_id)
                        .is_some_and(|r| r.checkov_ids().contains(&check.as_str()))
            });
            if flagged {
                ours += 1;
                continue;
            }
            let entry = NOT_APPLICABLE.iter().position(|(id, applies, _)| {
                id == check
                    && match applies {
                        Applies::Everywhere => true,
                        Applies::NonProduction => !case.production,
                        Applies::Resource(r) => r == logical,
                    }
            });
            match entry {
                Some(i) => {
                    used.insert(i);
                    na += 1;
                }
                None => unexplained.push(format!("{}: {check} on {logical}", case.name)),
            }
        }
        // Our findings checkov has no failure for, on the same resource.
        let ours_only = case
            .out
            .findings
            .iter()
            .filter(|f| {
                let ids = pack.get(f.rule_id).map(|r| r.checkov_ids()).unwrap_or(&[]);
                !failures
                    .iter()
                    .any(|(c, l)| *l == f.logical_id && ids.contains(&c.as_str()))
            })
            .count();
        let by_check: BTreeMap<&str, usize> =
            failures.iter().fold(BTreeMap::new(), |mut m, (c, _)| {
                *m.entry(c.as_str()).or_default() += 1;
                m
            });
        report.push(format!(
            "{:<16} checkov failed {:>3} (flagged by ours {ours}, not applicable {na}) | ours: {} finding(s) ({ours_only} checkov does not flag), {} suppressed | {by_check:?}",
            case.name,
            failures.len(),
            case.out.findings.len(),
            case.out.suppressed.len(),
        ));
    }
    println!("{}", report.join("\n"));
    assert!(
        unexplained.is_empty(),
        "checkov failures neither flagged by the default pack nor in NOT_APPLICABLE:\n{}",
        unexplained.join("\n")
    );
    for (i, (id, _, _)) in NOT_APPLICABLE.iter().enumerate() {
        assert!(
            used.contains(&i),
            "NOT_APPLICABLE entry {id} is no longer needed"
        );
    }
}

#[test]
fn the_not_applicable_table_is_mirrored_in_docs_security_md() {
    let section = guardrails_section();
    for (id, applies, _) in NOT_APPLICABLE {
        let scope = match applies {
            Applies::Everywhere => "everywhere",
            Applies::NonProduction => "non-production",
            Applies::Resource(_) => "internet-facing load balancer",
        };
        assert!(
            section
                .lines()
                .any(|l| l.starts_with(&format!("| {id} ")) && l.contains(scope)),
            "docs/security.md (Guardrails) has no row for {id} ({scope})"
        );
    }
}
