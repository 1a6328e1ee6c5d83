//! Every rule of the default pack: a template that breaks it (the finding names the rule, the
//! resource's logical ID and construct path, and the property) and one that satisfies it (no
//! finding from that rule). Then the cases where a rule must judge more finely.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use cfn_core::rules::Enforcement;
use cfn_core::{Parameter, ParameterType, RemovalPolicy, Scope, Stack, Synthesized};
use cfn_rules::{PRODUCTION_ONLY, Profile, default_pack, staged_pack};
use common::{breaks_in, cases, merge, of, props, raw, run_pack, satisfies_in};
use serde_json::{Value, json};

/// Runs the whole production pack over a case built under `T/Case`.
fn run(build: fn(&mut Scope<'_>)) -> Synthesized {
    run_pack(default_pack(Profile::Production), build)
}

/// The template breaks `rule` at the resource `T/Case/<id>`, on `property`.
fn breaks(rule: &str, build: fn(&mut Scope<'_>), id: &str, property: Option<&str>) {
    breaks_in(default_pack(Profile::Production), rule, build, id, property);
}

/// The template satisfies `rule`.
fn satisfies(rule: &str, build: fn(&mut Scope<'_>)) {
    satisfies_in(default_pack(Profile::Production), rule, build);
}

const CLUSTER: &str = "AWS::RDS::DBCluster";
const INSTANCE: &str = "AWS::RDS::DBInstance";
const CACHE: &str = "AWS::ElastiCache::ReplicationGroup";
const BUCKET: &str = "AWS::S3::Bucket";
const LB: &str = "AWS::ElasticLoadBalancingV2::LoadBalancer";
const LISTENER: &str = "AWS::ElasticLoadBalancingV2::Listener";
const TG: &str = "AWS::ElasticLoadBalancingV2::TargetGroup";
const SG: &str = "AWS::EC2::SecurityGroup";
const ROLE: &str = "AWS::IAM::Role";
const TASK: &str = "AWS::ECS::TaskDefinition";

fn aurora(extra: Value) -> Value {
    let mut v = json!({"Engine": "aurora-postgresql", "MasterUsername": "admin", "ManageMasterUserPassword": true});
    merge(&mut v, extra);
    v
}

fn role_with(statement: Value) -> Value {
    json!({
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"
        }]},
        "Policies": [{"PolicyName": "app", "PolicyDocument": {"Version": "2012-10-17", "Statement": [statement]}}]
    })
}

fn task_env(name: &str, value: Value) -> Value {
    json!({"ContainerDefinitions": [{"Name": "app", "Image": "app:1",
        "Environment": [{"Name": name, "Value": value}]}]})
}

fn alb_with(attrs: Value) -> Value {
    json!({"Subnets": ["subnet-1", "subnet-2"], "LoadBalancerAttributes": attrs})
}

fn listener(s: &mut Scope<'_>, props: Value) -> cfn_core::ResourceRef {
    let lb = raw(s, "Alb", LB, json!({"Subnets": ["subnet-1"]}));
    let tg = raw(
        s,
        "Targets",
        TG,
        json!({"Port": 80, "Protocol": "HTTP", "VpcId": "vpc-1", "HealthCheckPath": "/health"}),
    );
    let mut p = json!({"LoadBalancerArn": {"Ref": lb.logical_id()}});
    merge(&mut p, props);
    let text = p.to_string().replace("TG", tg.logical_id());
    raw(
        s,
        "Listener",
        LISTENER,
        serde_json::from_str(&text).unwrap(),
    )
}

const FORWARD: &str = r#"[{"Type": "forward", "TargetGroupArn": {"Ref": "TG"}}]"#;

fn forward() -> Value {
    serde_json::from_str(FORWARD).unwrap()
}

fn open_sg(port: u16, cidr: &str) -> Value {
    json!({"GroupDescription": "g", "VpcId": "vpc-1", "SecurityGroupIngress": [
        {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "CidrIp": cidr}
    ]})
}

fn tls_policy(bucket: Value) -> Value {
    json!({"Bucket": bucket, "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*",
        "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}
    }]}})
}

fn cluster_with_params(s: &mut Scope<'_>, params: Value) {
    let g = raw(
        s,
        "Params",
        "AWS::RDS::DBClusterParameterGroup",
        json!({
            "Description": "d", "Family": "aurora-postgresql16", "Parameters": params
        }),
    );
    raw(
        s,
        "Db",
        CLUSTER,
        aurora(json!({"DBClusterParameterGroupName": {"Ref": g.logical_id()}})),
    );
}

cases! {
    enc_rds_storage: "enc-rds-storage" {
        breaks: |s| { raw(s, "Db", CLUSTER, aurora(json!({"StorageEncrypted": false}))); }
            => ("Db", Some("Properties.StorageEncrypted")),
        satisfies: |s| { raw(s, "Db", CLUSTER, aurora(json!({"StorageEncrypted": true}))); },
    }
    enc_elasticache_at_rest: "enc-elasticache-at-rest" {
        breaks: |s| { raw(s, "Cache", CACHE, json!({"ReplicationGroupDescription": "c"})); }
            => ("Cache", Some("Properties.AtRestEncryptionEnabled")),
        satisfies: |s| { raw(s, "Cache", CACHE, json!({"ReplicationGroupDescription": "c", "AtRestEncryptionEnabled": true})); },
    }
    enc_s3_bucket: "enc-s3-bucket" {
        breaks: |s| { raw(s, "Bucket", BUCKET, json!({})); } => ("Bucket", Some("Properties.BucketEncryption")),
        satisfies: |s| { raw(s, "Bucket", BUCKET, json!({"BucketEncryption": {"ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]}})); },
    }
    enc_efs: "enc-efs" {
        breaks: |s| { raw(s, "Files", "AWS::EFS::FileSystem", json!({})); } => ("Files", Some("Properties.Encrypted")),
        satisfies: |s| { raw(s, "Files", "AWS::EFS::FileSystem", json!({"Encrypted": true})); },
    }
    enc_log_group_kms: "enc-log-group-kms" {
        breaks: |s| { raw(s, "Logs", "AWS::Logs::LogGroup", json!({"RetentionInDays": 7})); }
            => ("Logs", Some("Properties.KmsKeyId")),
        satisfies: |s| { raw(s, "Logs", "AWS::Logs::LogGroup", json!({"RetentionInDays": 7,
            "KmsKeyId": "arn:aws:kms:us-east-1:111111111111:key/abc"})); },
    }
    enc_secret_kms: "enc-secret-kms" {
        breaks: |s| { raw(s, "Secret", "AWS::SecretsManager::Secret", json!({"KmsKeyId": "alias/aws/secretsmanager"})); }
            => ("Secret", Some("Properties.KmsKeyId")),
        satisfies: |s| { raw(s, "Secret", "AWS::SecretsManager::Secret", json!({"KmsKeyId": "alias/app-data"})); },
    }
    enc_kms_rotation: "enc-kms-rotation" {
        breaks: |s| { raw(s, "Key", "AWS::KMS::Key", json!({})); } => ("Key", Some("Properties.EnableKeyRotation")),
        satisfies: |s| {
            raw(s, "Key", "AWS::KMS::Key", json!({"EnableKeyRotation": true}));
            // Asymmetric keys cannot rotate.
            raw(s, "Signing", "AWS::KMS::Key", json!({"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"}));
        },
    }
    tls_elasticache: "tls-elasticache" {
        breaks: |s| { raw(s, "Cache", CACHE, json!({"ReplicationGroupDescription": "c",
            "TransitEncryptionEnabled": true, "TransitEncryptionMode": "preferred"})); }
            => ("Cache", Some("Properties.TransitEncryptionMode")),
        satisfies: |s| { raw(s, "Cache", CACHE, json!({"ReplicationGroupDescription": "c",
            "TransitEncryptionEnabled": true, "TransitEncryptionMode": "required"})); },
    }
    tls_alb_https: "tls-alb-https" {
        breaks: |s| { listener(s, json!({"Port": 80, "Protocol": "HTTP", "DefaultActions": forward()})); }
            => ("Listener", Some("Properties.Protocol")),
        satisfies: |s| { listener(s, json!({"Port": 80, "Protocol": "HTTP", "DefaultActions": [
            {"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}]})); },
    }
    tls_alb_policy: "tls-alb-policy" {
        breaks: |s| { listener(s, json!({"Port": 443, "Protocol": "HTTPS", "DefaultActions": forward(),
            "Certificates": [{"CertificateArn": "arn:aws:acm:us-east-1:111111111111:certificate/x"}]})); }
            => ("Listener", Some("Properties.SslPolicy")),
        satisfies: |s| { listener(s, json!({"Port": 443, "Protocol": "HTTPS", "DefaultActions": forward(),
            "SslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
            "Certificates": [{"CertificateArn": "arn:aws:acm:us-east-1:111111111111:certificate/x"}]})); },
    }
    tls_s3_bucket_policy: "tls-s3-bucket-policy" {
        breaks: |s| { raw(s, "Bucket", BUCKET, json!({})); } => ("Bucket", None),
        satisfies: |s| {
            let b = raw(s, "Bucket", BUCKET, json!({}));
            raw(s, "Policy", "AWS::S3::BucketPolicy", tls_policy(json!({"Ref": b.logical_id()})));
        },
    }
    tls_rds_force_ssl: "tls-rds-force-ssl" {
        breaks: |s| cluster_with_params(s, json!({"rds.force_ssl": "0"}))
            => ("Params", Some("Properties.Parameters.rds.force_ssl")),
        satisfies: |s| cluster_with_params(s, json!({"rds.force_ssl": "1"})),
    }
    tls_verification_disabled: "tls-verification-disabled" {
        breaks: |s| { raw(s, "Task", TASK, task_env("CELERY_RESULT_BACKEND",
            json!({"Fn::Sub": "rediss://cache:6379/1?ssl_cert_reqs=CERT_NONE"}))); }
            => ("Task", Some("Properties.ContainerDefinitions.0.Environment.0.Value")),
        satisfies: |s| { raw(s, "Task", TASK, task_env("CELERY_RESULT_BACKEND",
            json!("rediss://cache:6379/1?ssl_cert_reqs=CERT_REQUIRED"))); },
    }
    exposure_sg_open_ingress: "exposure-sg-open-ingress" {
        breaks: |s| { raw(s, "Db", SG, open_sg(5432, "0.0.0.0/0")); }
            => ("Db", Some("Properties.SecurityGroupIngress.0.CidrIp")),
        satisfies: |s| { raw(s, "Db", SG, open_sg(5432, "10.0.0.0/16")); },
    }
    exposure_s3_public_access: "exposure-s3-public-access" {
        breaks: |s| { raw(s, "Bucket", BUCKET, json!({})); } => ("Bucket", Some("Properties.PublicAccessBlockConfiguration")),
        satisfies: |s| { raw(s, "Bucket", BUCKET, json!({"PublicAccessBlockConfiguration": {
            "BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true}})); },
    }
    exposure_db_public: "exposure-db-public" {
        breaks: |s| { raw(s, "Db", INSTANCE, json!({"Engine": "postgres", "DBInstanceClass": "db.t4g.micro",
            "DBSubnetGroupName": "private", "PubliclyAccessible": true})); }
            => ("Db", Some("Properties.PubliclyAccessible")),
        satisfies: |s| { raw(s, "Db", INSTANCE, json!({"Engine": "postgres", "DBInstanceClass": "db.t4g.micro",
            "DBSubnetGroupName": "private", "PubliclyAccessible": false})); },
    }
    exposure_cache_no_auth: "exposure-cache-no-auth" {
        breaks: |s| { raw(s, "Cache", CACHE, json!({"ReplicationGroupDescription": "c"})); }
            => ("Cache", Some("Properties.AuthToken")),
        satisfies: |s| { raw(s, "Cache", CACHE, json!({"ReplicationGroupDescription": "c",
            "AuthToken": "{{resolve:secretsmanager:cache-token}}"})); },
    }
    iam_wildcard_action: "iam-wildcard-action" {
        breaks: |s| { raw(s, "Role", ROLE, role_with(json!({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"}))); }
            => ("Role", Some("Properties.Policies.0.PolicyDocument.Statement.0.Action")),
        satisfies: |s| { raw(s, "Role", ROLE, role_with(json!({"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": "arn:aws:s3:::b/*"}))); },
    }
    iam_wildcard_resource: "iam-wildcard-resource" {
        breaks: |s| { raw(s, "Role", ROLE, role_with(json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}))); }
            => ("Role", Some("Properties.Policies.0.PolicyDocument.Statement.0.Resource")),
        satisfies: |s| { raw(s, "Role", ROLE, role_with(json!({"Effect": "Allow",
            "Action": ["ecr:GetAuthorizationToken", "ec2:DescribeSubnets"], "Resource": "*"}))); },
    }
    iam_inline_admin: "iam-inline-admin" {
        breaks: |s| { raw(s, "Admin", "AWS::IAM::Policy", json!({"PolicyName": "admin", "Roles": ["r"],
            "PolicyDocument": {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}})); }
            => ("Admin", Some("Properties.PolicyDocument.Statement")),
        satisfies: |s| { raw(s, "Admin", "AWS::IAM::Policy", json!({"PolicyName": "read", "Roles": ["r"],
            "PolicyDocument": {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}}})); },
    }
    secret_env_name: "secret-env-name" {
        breaks: |s| { raw(s, "Task", TASK, task_env("DB_PASSWORD", json!("hunter2"))); }
            => ("Task", Some("Properties.ContainerDefinitions.0.Environment.0.Name")),
        satisfies: |s| { raw(s, "Task", TASK, json!({"ContainerDefinitions": [{"Name": "app", "Image": "app:1",
            "Environment": [{"Name": "DB_HOST", "Value": "db"}, {"Name": "REDIS_USERNAME", "Value": ""}],
            "Secrets": [{"Name": "DB_PASSWORD", "ValueFrom": "arn:aws:secretsmanager:us-east-1:111111111111:secret:db"}]}]})); },
    }
    secret_env_value: "secret-env-value" {
        breaks: |s| { raw(s, "Task", TASK, task_env("UPSTREAM", json!("AKIAIOSFODNN7EXAMPLE"))); }
            => ("Task", Some("Properties.ContainerDefinitions.0.Environment.0.Value")),
        satisfies: |s| { raw(s, "Task", TASK, task_env("UPSTREAM", json!("https://api.example.com/v1"))); },
    }
    secret_ssm_plaintext: "secret-ssm-plaintext" {
        breaks: |s| { raw(s, "Param", "AWS::SSM::Parameter", json!({"Type": "String", "Name": "/app/db/password", "Value": "x"})); }
            => ("Param", Some("Properties.Name")),
        satisfies: |s| { raw(s, "Param", "AWS::SSM::Parameter", json!({"Type": "String", "Name": "/app/endpoint",
            "Value": "https://api.example.com"})); },
    }
    secret_db_statement_logging: "secret-db-statement-logging" {
        breaks: |s| cluster_with_params(s, json!({"rds.force_ssl": "1", "log_statement": "all"}))
            => ("Params", Some("Properties.Parameters.log_statement")),
        satisfies: |s| cluster_with_params(s, json!({"rds.force_ssl": "1", "log_statement": "none",
            "log_min_duration_statement": "1000"})),
    }
    data_deletion_protection: "data-deletion-protection" {
        breaks: |s| { raw(s, "Db", CLUSTER, aurora(json!({}))); } => ("Db", Some("Properties.DeletionProtection")),
        satisfies: |s| { raw(s, "Db", CLUSTER, aurora(json!({"DeletionProtection": true}))); },
    }
    data_removal_policy: "data-removal-policy" {
        breaks: |s| {
            let b = raw(s, "Bucket", BUCKET, json!({}));
            // Snapshot is not a thing a bucket can do.
            s.stack().resource(&b).removal_policy(RemovalPolicy::Snapshot);
        } => ("Bucket", Some("DeletionPolicy")),
        satisfies: |s| {
            let b = raw(s, "Bucket", BUCKET, json!({}));
            s.stack().resource(&b).removal_policy(RemovalPolicy::Retain);
            let db = raw(s, "Db", CLUSTER, aurora(json!({})));
            s.stack().resource(&db).removal_policy(RemovalPolicy::Snapshot);
        },
    }
    data_db_backup_retention: "data-db-backup-retention" {
        breaks: |s| { raw(s, "Db", CLUSTER, aurora(json!({"BackupRetentionPeriod": 1}))); }
            => ("Db", Some("Properties.BackupRetentionPeriod")),
        satisfies: |s| { raw(s, "Db", CLUSTER, aurora(json!({"BackupRetentionPeriod": 7}))); },
    }
    data_cache_snapshots: "data-cache-snapshots" {
        breaks: |s| { raw(s, "Cache", CACHE, json!({"ReplicationGroupDescription": "c"})); }
            => ("Cache", Some("Properties.SnapshotRetentionLimit")),
        satisfies: |s| { raw(s, "Cache", CACHE, json!({"ReplicationGroupDescription": "c", "SnapshotRetentionLimit": 1})); },
    }
    data_s3_versioning: "data-s3-versioning" {
        breaks: |s| { raw(s, "Bucket", BUCKET, json!({"VersioningConfiguration": {"Status": "Suspended"}})); }
            => ("Bucket", Some("Properties.VersioningConfiguration.Status")),
        satisfies: |s| { raw(s, "Bucket", BUCKET, json!({"VersioningConfiguration": {"Status": "Enabled"}})); },
    }
    ops_log_retention: "ops-log-retention" {
        breaks: |s| { raw(s, "Logs", "AWS::Logs::LogGroup", json!({})); } => ("Logs", Some("Properties.RetentionInDays")),
        satisfies: |s| { raw(s, "Logs", "AWS::Logs::LogGroup", json!({"RetentionInDays": 30})); },
    }
    ops_container_insights: "ops-container-insights" {
        breaks: |s| { raw(s, "Cluster", "AWS::ECS::Cluster", json!({"ClusterSettings": [{"Name": "containerInsights", "Value": "disabled"}]})); }
            => ("Cluster", Some("Properties.ClusterSettings")),
        satisfies: |s| { raw(s, "Cluster", "AWS::ECS::Cluster", json!({"ClusterSettings": [{"Name": "containerInsights", "Value": "enhanced"}]})); },
    }
    ops_ecs_circuit_breaker: "ops-ecs-circuit-breaker" {
        breaks: |s| { raw(s, "Service", "AWS::ECS::Service", json!({"DesiredCount": 1})); }
            => ("Service", Some("Properties.DeploymentConfiguration.DeploymentCircuitBreaker")),
        satisfies: |s| { raw(s, "Service", "AWS::ECS::Service", json!({"DeploymentConfiguration": {
            "DeploymentCircuitBreaker": {"Enable": true, "Rollback": true}}})); },
    }
    ops_target_group_health_check: "ops-target-group-health-check" {
        breaks: |s| { raw(s, "Targets", TG, json!({"Port": 80, "Protocol": "HTTP", "VpcId": "vpc-1", "HealthCheckEnabled": false})); }
            => ("Targets", Some("Properties.HealthCheckEnabled")),
        satisfies: |s| { raw(s, "Targets", TG, json!({"Port": 80, "Protocol": "HTTP", "VpcId": "vpc-1", "HealthCheckPath": "/health"})); },
    }
    ops_s3_access_logs: "ops-s3-access-logs" {
        breaks: |s| { raw(s, "Bucket", BUCKET, json!({})); } => ("Bucket", Some("Properties.LoggingConfiguration")),
        satisfies: |s| { raw(s, "Bucket", BUCKET, json!({"LoggingConfiguration": {"DestinationBucketName": "logs", "LogFilePrefix": "b/"}})); },
    }
    ops_alb_access_logs: "ops-alb-access-logs" {
        breaks: |s| { raw(s, "Alb", LB, alb_with(json!([{"Key": "access_logs.s3.enabled", "Value": "false"}]))); }
            => ("Alb", Some("Properties.LoadBalancerAttributes")),
        satisfies: |s| { raw(s, "Alb", LB, alb_with(json!([{"Key": "access_logs.s3.enabled", "Value": "true"},
            {"Key": "access_logs.s3.bucket", "Value": "logs"}]))); },
    }
    alb_drop_invalid_headers: "alb-drop-invalid-headers" {
        breaks: |s| { raw(s, "Alb", LB, alb_with(json!([]))); } => ("Alb", Some("Properties.LoadBalancerAttributes")),
        satisfies: |s| { raw(s, "Alb", LB, alb_with(json!([{"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"}]))); },
    }
}

cases! {
    alb_rule_priority_unique: "alb-rule-priority-unique" {
        breaks: |s| {
            raw(s, "A", "AWS::ElasticLoadBalancingV2::ListenerRule", listener_rule(10, json!([forward_to_t()])));
            raw(s, "B", "AWS::ElasticLoadBalancingV2::ListenerRule", listener_rule(10, json!([forward_to_t()])));
        } => ("B", Some("Properties.Priority")),
        satisfies: |s| {
            raw(s, "A", "AWS::ElasticLoadBalancingV2::ListenerRule", listener_rule(10, json!([forward_to_t()])));
            raw(s, "B", "AWS::ElasticLoadBalancingV2::ListenerRule", listener_rule(11, json!([forward_to_t()])));
        },
    }
    alb_auth_secret_reference: "alb-auth-secret-reference" {
        breaks: |s| {
            raw(s, "Sso", "AWS::ElasticLoadBalancingV2::ListenerRule", listener_rule(30, json!([oidc("hunter2"), forward_to_t()])));
        } => ("Sso", Some("Properties.Actions.0.AuthenticateOidcConfig.ClientSecret")),
        satisfies: |s| {
            let secret = "{{resolve:secretsmanager:arn:aws:secretsmanager:us-east-1:123456789012:secret:oidc-AbCdEf:SecretString:client_secret}}";
            raw(s, "Sso", "AWS::ElasticLoadBalancingV2::ListenerRule", listener_rule(30, json!([oidc(secret), forward_to_t()])));
        },
    }
}

fn listener_rule(priority: i64, actions: Value) -> Value {
    json!({
        "ListenerArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/a/1/2",
        "Priority": priority,
        "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/x/*"]}}],
        "Actions": actions
    })
}

fn forward_to_t() -> Value {
    json!({"Type": "forward", "Order": 2, "TargetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/t/1"})
}

fn oidc(secret: &str) -> Value {
    json!({"Type": "authenticate-oidc", "Order": 1, "AuthenticateOidcConfig": {
        "Issuer": "https://login.example.com", "AuthorizationEndpoint": "https://login.example.com/a",
        "TokenEndpoint": "https://login.example.com/t", "UserInfoEndpoint": "https://login.example.com/u",
        "ClientId": "dify", "ClientSecret": secret
    }})
}

// secret-parameter-noecho is about the template, not a resource: its own pair.

fn parameter_stack(p: Parameter) -> Synthesized {
    let mut stack = Stack::new("T");
    stack.set_guardrails(default_pack(Profile::Production), Enforcement::Advise);
    let p = stack.add_parameter("DbPassword", p);
    stack.root().add_raw(
        "Param",
        "AWS::SSM::Parameter",
        None,
        json!({"Type": "String", "Value": p.value()}),
    );
    stack.synth().unwrap()
}

#[test]
fn secret_parameter_noecho_breaks() {
    let out = parameter_stack(Parameter::new(ParameterType::String));
    let f = of(&out, "secret-parameter-noecho");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].logical_id, "DbPassword");
    assert_eq!(f[0].construct_path, "T");
    assert_eq!(
        f[0].property.as_deref(),
        Some("Parameters.DbPassword.NoEcho")
    );
}

#[test]
fn secret_parameter_noecho_satisfies() {
    let out = parameter_stack(Parameter::new(ParameterType::String).no_echo());
    assert!(of(&out, "secret-parameter-noecho").is_empty());
}

// Finer judgements.

#[test]
fn enc_rds_storage_judges_instances_by_their_cluster() {
    let out = run(|s| {
        let db = raw(s, "Db", CLUSTER, aurora(json!({"StorageEncrypted": true})));
        raw(
            s,
            "Writer",
            INSTANCE,
            json!({"DBClusterIdentifier": {"Ref": db.logical_id()},
            "Engine": "aurora-postgresql", "DBInstanceClass": "db.r6g.large"}),
        );
        raw(
            s,
            "Standalone",
            INSTANCE,
            json!({"Engine": "postgres", "DBInstanceClass": "db.t4g.micro",
            "DBSubnetGroupName": "private"}),
        );
        raw(
            s,
            "Restored",
            CLUSTER,
            aurora(json!({"SnapshotIdentifier": "snap"})),
        );
    });
    assert_eq!(
        props(&out, "enc-rds-storage"),
        ["T/Case/Standalone Properties.StorageEncrypted"]
    );
}

#[test]
fn a_parameter_default_counts_and_an_unknown_value_is_not_a_finding() {
    let mut stack = Stack::new("T");
    stack.set_guardrails(default_pack(Profile::Production), Enforcement::Advise);
    let off = stack.add_parameter(
        "Encrypt",
        Parameter::new(ParameterType::String).default_value("false"),
    );
    let unknown = stack.add_parameter("EncryptUnknown", Parameter::new(ParameterType::String));
    let mut root = stack.root();
    let mut case = root.child("Case");
    case.add_raw(
        "Off",
        "AWS::EFS::FileSystem",
        None,
        json!({"Encrypted": off.value()}),
    );
    case.add_raw(
        "Unknown",
        "AWS::EFS::FileSystem",
        None,
        json!({"Encrypted": unknown.value()}),
    );
    let out = stack.synth().unwrap();
    assert_eq!(props(&out, "enc-efs"), ["T/Case/Off Properties.Encrypted"]);
}

#[test]
fn enc_secret_kms_wants_a_key_at_all() {
    let out = run(|s| {
        raw(s, "Secret", "AWS::SecretsManager::Secret", json!({}));
    });
    assert_eq!(
        props(&out, "enc-secret-kms"),
        ["T/Case/Secret Properties.KmsKeyId"]
    );
}

#[test]
fn tls_elasticache_needs_tls_on() {
    let out = run(|s| {
        raw(
            s,
            "Cache",
            CACHE,
            json!({"ReplicationGroupDescription": "c"}),
        );
    });
    assert_eq!(
        props(&out, "tls-elasticache"),
        ["T/Case/Cache Properties.TransitEncryptionEnabled"]
    );
}

#[test]
fn tls_alb_https_sees_rules_that_forward_on_a_redirecting_listener() {
    let out = run(|s| {
        let l = listener(
            s,
            json!({"Port": 80, "Protocol": "HTTP", "DefaultActions": [
            {"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "StatusCode": "HTTP_301"}}]}),
        );
        raw(
            s,
            "Bypass",
            "AWS::ElasticLoadBalancingV2::ListenerRule",
            json!({
                "ListenerArn": {"Ref": l.logical_id()},
                "Priority": 1,
                "Conditions": [{"Field": "path-pattern", "Values": ["/api/*"]}],
                "Actions": [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}},
                            {"Type": "forward", "TargetGroupArn": "arn:aws:elasticloadbalancing:x"}]
            }),
        );
    });
    assert_eq!(
        props(&out, "tls-alb-https"),
        ["T/Case/Bypass Properties.Actions.1"]
    );
}

#[test]
fn tls_alb_policy_rejects_policies_that_accept_old_tls() {
    for (policy, bad) in [
        ("ELBSecurityPolicy-2016-08", true),
        ("ELBSecurityPolicy-TLS13-1-0-2021-06", true),
        ("ELBSecurityPolicy-TLS-1-1-2017-01", true),
        ("ELBSecurityPolicy-TLS13-1-3-2021-06", false),
        ("ELBSecurityPolicy-FS-1-2-Res-2020-10", false),
        ("ELBSecurityPolicy-TLS-1-2-Ext-2018-06", false),
    ] {
        let mut stack = Stack::new("T");
        stack.set_guardrails(default_pack(Profile::Production), Enforcement::Advise);
        let mut root = stack.root();
        let mut case = root.child("Case");
        let nlb = case.add_raw(
            "Nlb",
            LB,
            None,
            json!({"Type": "network", "Subnets": ["subnet-1"]}),
        );
        case.add_raw("Listener", LISTENER, None, json!({
            "LoadBalancerArn": {"Ref": nlb.logical_id()}, "Port": 443, "Protocol": "TLS", "SslPolicy": policy,
            "Certificates": [{"CertificateArn": "arn:aws:acm:us-east-1:111111111111:certificate/x"}],
            "DefaultActions": [{"Type": "forward", "TargetGroupArn": "arn:aws:elasticloadbalancing:x"}]
        }));
        let out = stack.synth().unwrap();
        assert_eq!(!of(&out, "tls-alb-policy").is_empty(), bad, "{policy}");
    }
}

#[test]
fn tls_s3_bucket_policy_matches_by_name_and_wants_the_condition() {
    let out = run(|s| {
        raw(s, "Named", BUCKET, json!({"BucketName": "named-bucket"}));
        raw(
            s,
            "NamedPolicy",
            "AWS::S3::BucketPolicy",
            tls_policy(json!("named-bucket")),
        );
        let b = raw(s, "Weak", BUCKET, json!({}));
        let mut p = tls_policy(json!({"Ref": b.logical_id()}));
        p["PolicyDocument"]["Statement"][0]["Condition"] =
            json!({"NumericLessThan": {"s3:TlsVersion": "1.2"}});
        raw(s, "WeakPolicy", "AWS::S3::BucketPolicy", p);
    });
    assert_eq!(props(&out, "tls-s3-bucket-policy"), ["T/Case/Weak -"]);
}

#[test]
fn tls_rds_force_ssl_must_see_the_parameter_group() {
    let out = run(|s| {
        raw(s, "Default", CLUSTER, aurora(json!({})));
        raw(
            s,
            "External",
            CLUSTER,
            aurora(json!({"DBClusterParameterGroupName": "shared-params"})),
        );
        cluster_with_params(s, json!({"log_min_duration_statement": "1000"}));
        // RDS for PostgreSQL 15+ forces TLS in its default group; MySQL is out of scope.
        raw(
            s,
            "Pg16",
            INSTANCE,
            json!({"Engine": "postgres", "EngineVersion": "16.4",
            "DBInstanceClass": "db.t4g.micro", "DBSubnetGroupName": "private"}),
        );
        raw(
            s,
            "Mysql",
            INSTANCE,
            json!({"Engine": "mysql", "DBInstanceClass": "db.t4g.micro",
            "DBSubnetGroupName": "private"}),
        );
    });
    assert_eq!(
        props(&out, "tls-rds-force-ssl"),
        [
            "T/Case/Default Properties.DBClusterParameterGroupName",
            "T/Case/External Properties.DBClusterParameterGroupName",
            "T/Case/Params Properties.Parameters",
        ]
    );
}

#[test]
fn tls_rds_force_ssl_on_an_instance_depends_on_its_version_and_group() {
    let out = run(|s| {
        // Before PostgreSQL 15 the default group does not force TLS.
        raw(
            s,
            "Pg14",
            INSTANCE,
            json!({"Engine": "postgres", "EngineVersion": "14.12",
            "DBInstanceClass": "db.t4g.micro", "DBSubnetGroupName": "private"}),
        );
        // From 15 on it does, but a group of one's own is read.
        let g = raw(
            s,
            "Group",
            "AWS::RDS::DBParameterGroup",
            json!({"Description": "d", "Family": "postgres16",
            "Parameters": {"rds.force_ssl": "0"}}),
        );
        raw(
            s,
            "Pg16",
            INSTANCE,
            json!({"Engine": "postgres", "EngineVersion": "16.4",
            "DBInstanceClass": "db.t4g.micro", "DBSubnetGroupName": "private",
            "DBParameterGroupName": {"Ref": g.logical_id()}}),
        );
    });
    assert_eq!(
        props(&out, "tls-rds-force-ssl"),
        [
            "T/Case/Pg14 Properties.DBParameterGroupName",
            "T/Case/Group Properties.Parameters.rds.force_ssl",
        ]
    );
}

#[test]
fn tls_verification_disabled_reads_names_and_values() {
    let out = run(|s| {
        raw(
            s,
            "Task",
            TASK,
            json!({"ContainerDefinitions": [{"Name": "app", "Image": "app:1", "Environment": [
                {"Name": "NODE_TLS_REJECT_UNAUTHORIZED", "Value": "0"},
                {"Name": "DATABASE_OPTIONS", "Value": "sslmode=disable"},
                {"Name": "REDIS_SSL_CERT_REQS", "Value": "none"},
                {"Name": "SSL_VERIFY", "Value": "false"},
                {"Name": "DB_SSL_MODE", "Value": "require"},
                {"Name": "FORCE_VERIFYING_SIGNATURE", "Value": "false"}
            ]}]}),
        );
    });
    let p = props(&out, "tls-verification-disabled");
    assert_eq!(p.len(), 4, "{p:#?}");
    assert!(p[3].ends_with("Environment.3.Value"));
}

#[test]
fn exposure_sg_open_ingress_allows_only_a_public_albs_web_ports() {
    let out = run(|s| {
        let web = raw(
            s,
            "Web",
            SG,
            json!({"GroupDescription": "alb", "VpcId": "vpc-1", "SecurityGroupIngress": [
                {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"},
                {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "CidrIpv6": "::/0"},
                {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"}
            ]}),
        );
        let internal = raw(s, "Internal", SG, open_sg(443, "0.0.0.0/0"));
        raw(
            s,
            "Public",
            LB,
            json!({"Subnets": ["subnet-1"], "SecurityGroups": [{"Fn::GetAtt": [web.logical_id(), "GroupId"]}]}),
        );
        raw(
            s,
            "Private",
            LB,
            json!({"Scheme": "internal", "Subnets": ["subnet-1"], "SecurityGroups": [{"Ref": internal.logical_id()}]}),
        );
        raw(
            s,
            "Everything",
            "AWS::EC2::SecurityGroupIngress",
            json!({"GroupId": {"Ref": web.logical_id()},
            "IpProtocol": "-1", "CidrIpv6": "::/0"}),
        );
        raw(
            s,
            "WebAgain",
            "AWS::EC2::SecurityGroupIngress",
            json!({"GroupId": {"Ref": web.logical_id()},
            "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"}),
        );
    });
    assert_eq!(
        props(&out, "exposure-sg-open-ingress"),
        [
            "T/Case/Web Properties.SecurityGroupIngress.2.CidrIp",
            "T/Case/Internal Properties.SecurityGroupIngress.0.CidrIp",
            "T/Case/Everything Properties.CidrIpv6",
        ]
    );
}

#[test]
fn exposure_s3_public_access_names_each_missing_block_and_public_acls() {
    let out = run(|s| {
        raw(
            s,
            "Bucket",
            BUCKET,
            json!({"AccessControl": "PublicRead", "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": true, "BlockPublicPolicy": false, "IgnorePublicAcls": true}}),
        );
    });
    assert_eq!(
        props(&out, "exposure-s3-public-access"),
        [
            "T/Case/Bucket Properties.AccessControl",
            "T/Case/Bucket Properties.PublicAccessBlockConfiguration.BlockPublicPolicy",
            "T/Case/Bucket Properties.PublicAccessBlockConfiguration.RestrictPublicBuckets",
        ]
    );
}

#[test]
fn exposure_db_public_knows_the_default_vpc_default() {
    let out = run(|s| {
        raw(
            s,
            "Db",
            INSTANCE,
            json!({"Engine": "postgres", "DBInstanceClass": "db.t4g.micro"}),
        );
    });
    assert_eq!(
        props(&out, "exposure-db-public"),
        ["T/Case/Db Properties.PubliclyAccessible"]
    );
}

#[test]
fn exposure_sg_open_ingress_allows_web_ports_on_tcp_only_by_name_or_number() {
    let out = run(|s| {
        let web = raw(
            s,
            "Web",
            SG,
            json!({"GroupDescription": "alb", "VpcId": "vpc-1", "SecurityGroupIngress": [
                {"IpProtocol": "6", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"},
                {"IpProtocol": "udp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"}
            ]}),
        );
        raw(
            s,
            "Public",
            LB,
            json!({"Subnets": ["subnet-1"], "SecurityGroups": [{"Ref": web.logical_id()}]}),
        );
    });
    assert_eq!(
        props(&out, "exposure-sg-open-ingress"),
        ["T/Case/Web Properties.SecurityGroupIngress.1.CidrIp"],
        "TCP 443 by protocol number is the ALB's; UDP 443 is not"
    );
}

#[test]
fn iam_inline_admin_needs_every_action_and_every_resource_in_one_statement() {
    let out = run(|s| {
        raw(
            s,
            "AllActions",
            ROLE,
            role_with(
                json!({"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::bucket/*"}),
            ),
        );
        raw(
            s,
            "AllResources",
            ROLE,
            role_with(json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})),
        );
    });
    assert!(
        props(&out, "iam-inline-admin").is_empty(),
        "every action on one bucket, or one action everywhere, is not administrator access"
    );
}

#[test]
fn iam_rules_read_every_identity_policy_and_skip_resource_policies() {
    let out = run(|s| {
        raw(
            s,
            "Managed",
            "AWS::IAM::ManagedPolicy",
            json!({"PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Deny", "Action": "*", "Resource": "*"},
                {"Effect": "Allow", "Action": ["s3:GetObject", "ssm:*"], "Resource": {"Fn::Sub": "arn:${AWS::Partition}:ssm:*"}},
                {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}
            ]}}),
        );
        raw(
            s,
            "Key",
            "AWS::KMS::Key",
            json!({"EnableKeyRotation": true, "KeyPolicy": {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "kms:*", "Resource": "*"}]}}),
        );
        raw(
            s,
            "Ops",
            ROLE,
            json!({
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
                "ManagedPolicyArns": [{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AdministratorAccess"}]
            }),
        );
    });
    assert_eq!(
        props(&out, "iam-wildcard-action"),
        [
            "T/Case/Managed Properties.PolicyDocument.Statement.1.Action.1",
            "T/Case/Managed Properties.PolicyDocument.Statement.2.NotAction",
        ]
    );
    assert_eq!(
        props(&out, "iam-wildcard-resource"),
        ["T/Case/Managed Properties.PolicyDocument.Statement.2.Resource"]
    );
    assert_eq!(
        props(&out, "iam-inline-admin"),
        [
            "T/Case/Managed Properties.PolicyDocument.Statement.2",
            "T/Case/Ops Properties.ManagedPolicyArns.0",
        ]
    );
}

#[test]
fn iam_wildcard_resource_allows_star_only_actions_and_skips_unknown_ones() {
    assert!(cfn_rules::star_only("ec2:DescribeNetworkInterfaces"));
    assert!(cfn_rules::star_only("ECR:GetAuthorizationToken"));
    assert!(!cfn_rules::star_only("ec2:*"));
    assert!(!cfn_rules::star_only("s3:GetObject"));
    let mut stack = Stack::new("T");
    stack.set_guardrails(default_pack(Profile::Production), Enforcement::Advise);
    let action = stack.add_parameter("Action", Parameter::new(ParameterType::String));
    stack.root().add_raw(
        "Role",
        ROLE,
        None,
        role_with(json!({"Effect": "Allow", "Action": action.value(), "Resource": "*"})),
    );
    let out = stack.synth().unwrap();
    assert!(of(&out, "iam-wildcard-resource").is_empty());
}

#[test]
fn secret_env_rules_read_references_urls_and_lambda_variables() {
    let mut stack = Stack::new("T");
    stack.set_guardrails(default_pack(Profile::Production), Enforcement::Advise);
    let hidden = stack.add_parameter("CacheAuth", Parameter::new(ParameterType::String).no_echo());
    let mut root = stack.root();
    let mut case = root.child("Case");
    case.add_raw("Task", TASK, None, json!({"ContainerDefinitions": [{"Name": "app", "Image": "app:1", "Environment": [
        {"Name": "BROKER", "Value": {"Fn::Sub": ["rediss://:${T}@cache:6379/0", {"T": hidden.value()}]}},
        {"Name": "DATABASE", "Value": "{{resolve:secretsmanager:db:SecretString:password}}"},
        {"Name": "CACHE", "Value": hidden.value()},
        {"Name": "UPLOAD_URL", "Value": "https://files.example.com/upload"},
        {"Name": "ACCESS_TOKEN_EXPIRE_MINUTES", "Value": "60"}
    ]}]}));
    case.add_raw("Fn", "AWS::Lambda::Function", None, json!({"Role": "arn:aws:iam::111111111111:role/f",
        "Code": {"ZipFile": "x"}, "Environment": {"Variables": {"OPENAI_API_KEY": "sk-proj-abcdefghijklmnopqrstuvwxyz0123"}}}));
    let out = stack.synth().unwrap();
    assert_eq!(
        props(&out, "secret-env-value"),
        [
            "T/Case/Task Properties.ContainerDefinitions.0.Environment.0.Value",
            "T/Case/Task Properties.ContainerDefinitions.0.Environment.1.Value",
            "T/Case/Task Properties.ContainerDefinitions.0.Environment.2.Value",
            "T/Case/Fn Properties.Environment.Variables.OPENAI_API_KEY",
        ]
    );
    assert_eq!(
        props(&out, "secret-env-name"),
        ["T/Case/Fn Properties.Environment.Variables.OPENAI_API_KEY"]
    );
}

#[test]
fn secret_parameter_noecho_also_refuses_a_default() {
    let out = parameter_stack(
        Parameter::new(ParameterType::String)
            .no_echo()
            .default_value("hunter2"),
    );
    let f = of(&out, "secret-parameter-noecho");
    assert_eq!(f.len(), 1);
    assert_eq!(
        f[0].property.as_deref(),
        Some("Parameters.DbPassword.Default")
    );
    // The SSM parameter holding it is a plain-text secret too.
    assert_eq!(
        props(&out, "secret-ssm-plaintext"),
        ["T/Param Properties.Value"]
    );
}

#[test]
fn secret_ssm_plaintext_reads_generated_values() {
    let out = run(|s| {
        raw(
            s,
            "Param",
            "AWS::SSM::Parameter",
            json!({"Type": "String", "Name": "/app/plugin",
            "Value": "Zq8rT4wLp2Xv9NcB7yHs3KdM6fJa1UeG"}),
        );
    });
    assert_eq!(
        props(&out, "secret-ssm-plaintext"),
        ["T/Case/Param Properties.Value"]
    );
}

#[test]
fn data_rules_judge_defaults_and_parameters() {
    let mut stack = Stack::new("T");
    stack.set_guardrails(default_pack(Profile::Production), Enforcement::Advise);
    let days = stack.add_parameter(
        "Days",
        Parameter::new(ParameterType::Number).default_value("14"),
    );
    let mut root = stack.root();
    let mut case = root.child("Case");
    case.add_raw(
        "FromParameter",
        CLUSTER,
        None,
        aurora(json!({"BackupRetentionPeriod": days.value(), "DeletionProtection": true})),
    );
    let default = case.add_raw(
        "Default",
        CLUSTER,
        None,
        aurora(json!({"DeletionProtection": true})),
    );
    case.add_raw(
        "Cache",
        CACHE,
        None,
        json!({"ReplicationGroupDescription": "c", "SnapshotRetentionLimit": 0}),
    );
    case.add_raw(
        "Writer",
        INSTANCE,
        None,
        json!({"DBClusterIdentifier": {"Ref": default.logical_id()},
        "Engine": "aurora-postgresql", "DBInstanceClass": "db.r6g.large"}),
    );
    let out = stack.synth().unwrap();
    assert_eq!(
        props(&out, "data-db-backup-retention"),
        ["T/Case/Default Properties.BackupRetentionPeriod"]
    );
    assert_eq!(
        props(&out, "data-cache-snapshots"),
        ["T/Case/Cache Properties.SnapshotRetentionLimit"]
    );
    assert!(props(&out, "data-deletion-protection").is_empty());
    // Both attributes, on each stateful resource except the instance its cluster covers.
    assert_eq!(
        props(&out, "data-removal-policy"),
        [
            "T/Case/FromParameter DeletionPolicy",
            "T/Case/FromParameter UpdateReplacePolicy",
            "T/Case/Default DeletionPolicy",
            "T/Case/Default UpdateReplacePolicy",
            "T/Case/Cache DeletionPolicy",
            "T/Case/Cache UpdateReplacePolicy",
        ]
    );
}

#[test]
fn ops_rules_know_their_exceptions() {
    let out = run(|s| {
        raw(
            s,
            "CodeDeploy",
            "AWS::ECS::Service",
            json!({"DeploymentController": {"Type": "CODE_DEPLOY"}}),
        );
        raw(
            s,
            "NoRollback",
            "AWS::ECS::Service",
            json!({"DeploymentConfiguration": {
            "DeploymentCircuitBreaker": {"Enable": true, "Rollback": false}}}),
        );
        raw(s, "Lambda", TG, json!({"TargetType": "lambda"}));
        raw(
            s,
            "RootPath",
            TG,
            json!({"Port": 80, "Protocol": "HTTP", "VpcId": "vpc-1"}),
        );
        raw(
            s,
            "Tcp",
            TG,
            json!({"Port": 5432, "Protocol": "TCP", "VpcId": "vpc-1"}),
        );
        raw(
            s,
            "Nlb",
            LB,
            json!({"Type": "network", "Subnets": ["subnet-1"]}),
        );
    });
    assert_eq!(
        props(&out, "ops-ecs-circuit-breaker"),
        ["T/Case/NoRollback Properties.DeploymentConfiguration.DeploymentCircuitBreaker.Rollback"]
    );
    assert_eq!(
        props(&out, "ops-target-group-health-check"),
        ["T/Case/RootPath Properties.HealthCheckPath"]
    );
    assert!(props(&out, "alb-drop-invalid-headers").is_empty());
    assert!(props(&out, "ops-alb-access-logs").is_empty());
}

// The pack itself.

#[test]
fn the_production_pack_has_every_rule_and_non_production_drops_the_production_only_ones() {
    let prd = default_pack(Profile::Production);
    let dev = default_pack(Profile::NonProduction);
    let staged = staged_pack(Profile::Production);
    assert_eq!(prd.rules().count(), 48);
    let in_pack = PRODUCTION_ONLY.iter().filter(|id| prd.get(id).is_some());
    assert_eq!(dev.rules().count(), 48 - in_pack.count());
    for id in PRODUCTION_ONLY {
        assert!(prd.get(id).is_some(), "{id}");
        assert!(dev.get(id).is_none(), "{id}");
    }
    // The nine newer rules are registered too.
    for r in staged.rules() {
        assert!(prd.get(r.id()).is_some(), "{} is not registered", r.id());
    }
    assert_eq!(prd.name(), "default-production");
    assert_eq!(dev.name(), "default-non-production");
}

#[test]
fn rule_ids_are_stable_kebab_case_with_a_category_prefix() {
    let prefixes = [
        "enc-",
        "tls-",
        "exposure-",
        "iam-",
        "secret-",
        "data-",
        "ops-",
        "alb-",
    ];
    let mut seen = std::collections::HashSet::new();
    let all = default_pack(Profile::Production).extend(&staged_pack(Profile::Production));
    for r in all.rules() {
        let id = r.id();
        assert!(seen.insert(id), "duplicate {id}");
        assert!(prefixes.iter().any(|p| id.starts_with(p)), "{id}");
        assert!(
            id.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{id}"
        );
        assert!(!r.summary().is_empty() && !r.fix().is_empty(), "{id}");
        for ck in r.checkov_ids() {
            assert!(
                ck.starts_with("CKV_AWS_") || ck.starts_with("CKV2_AWS_"),
                "{id}: {ck}"
            );
        }
    }
}

#[test]
fn enforced_in_production_a_finding_fails_synth_and_a_suppression_is_recorded() {
    fn build(suppress: bool) -> (Stack, String) {
        let mut stack = Stack::new("T");
        stack.set_guardrails(default_pack(Profile::Production), Enforcement::Enforce);
        let logs = stack.root().child("Case").add_raw(
            "Logs",
            "AWS::Logs::LogGroup",
            None,
            json!({
            "KmsKeyId": "arn:aws:kms:us-east-1:111111111111:key/abc"}),
        );
        if suppress {
            let node = stack.resource_node(logs.logical_id()).unwrap();
            stack.scope(node).suppress(
                "ops-log-retention",
                "audit logs are kept forever by the records policy",
            );
        }
        (stack, logs.logical_id().to_owned())
    }
    let (stack, _) = build(false);
    let err = stack.synth().unwrap_err().to_string();
    assert!(
        err.contains("error[ops-log-retention] T/Case/Logs"),
        "{err}"
    );
    assert!(err.contains("Properties.RetentionInDays"), "{err}");

    let (stack, id) = build(true);
    let out = stack.synth().unwrap();
    assert!(out.findings.is_empty(), "{:#?}", out.findings);
    let meta = &out.template["Resources"][&id]["Metadata"];
    assert_eq!(
        meta["guardrails"]["suppressions"][0]["rule"],
        "ops-log-retention"
    );
    assert_eq!(meta["checkov"]["skip"][0]["id"], "CKV_AWS_66");
    assert_eq!(
        meta["checkov"]["skip"][0]["comment"],
        "audit logs are kept forever by the records policy"
    );
}

#[test]
fn the_rules_catalogue_documents_every_rule() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/rules.md"))
        .unwrap();
    let all = default_pack(Profile::Production).extend(&staged_pack(Profile::Production));
    for r in all.rules() {
        let row = doc
            .lines()
            .find(|l| l.starts_with(&format!("| `{}` |", r.id())))
            .unwrap_or_else(|| panic!("docs/rules.md has no catalogue row for {}", r.id()));
        for ck in r.checkov_ids() {
            assert!(
                row.contains(ck),
                "docs/rules.md: {} should list {ck}",
                r.id()
            );
        }
        let profile = if PRODUCTION_ONLY.contains(&r.id()) {
            "production"
        } else {
            "all"
        };
        assert!(
            row.contains(&format!("| {profile} |")),
            "docs/rules.md: {} profile",
            r.id()
        );
    }
}
