//! Shared fixtures for the cross-crate tests: sample stacks and the external linters.
//!
//! The tests themselves live in `tests/tests/`; benches in `tests/benches/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use cfn_core::refs::LogGroupName;
use cfn_core::{
    Condition, Output, Parameter, ParameterType, RemovalPolicy, Stack, Value, fns, pseudo,
};
use cfn_resources::{cloudwatch, ec2, ecs, elasticloadbalancingv2 as elbv2, iam, kms, logs, s3};
use cfn_resources::{secretsmanager, sns, ssm};
use serde_json::json;

/// A small but realistic web service using 26 resource types: VPC plumbing, security groups,
/// KMS, logs, S3 with a TLS-only policy, a generated secret, SSM, IAM, ECS on Fargate behind an
/// ALB, SNS and an alarm. Every intrinsic kind the core models appears at least once.
pub fn sample_stack() -> Stack {
    let mut stack = Stack::new("Sample");
    stack.set_description("Sample web service (cfn-core fixture)");
    stack.add_tag("app", "sample");
    let env = stack.add_parameter(
        "Env",
        Parameter::new(ParameterType::String)
            .description("Deployment environment")
            .allowed_values(["dev", "prd"])
            .default_value("dev"),
    );
    let is_prd = stack.add_condition("IsPrd", Condition::equals(env.value(), "prd"));

    let mut root = stack.root();
    let mut net = root.child("Network");
    let vpc = net.add(
        "Vpc",
        ec2::Vpc::new()
            .cidr_block("10.0.0.0/16")
            .enable_dns_hostnames(true)
            .enable_dns_support(true),
    );
    let igw = net.add("Igw", ec2::InternetGateway::new());
    let attach = net.add(
        "IgwAttachment",
        ec2::VpcGatewayAttachment::builder()
            .vpc_id(vpc.vpc_id())
            .build()
            .internet_gateway_id(igw.internet_gateway_id()),
    );
    let table = net.add(
        "PublicRoutes",
        ec2::RouteTable::builder().vpc_id(vpc.vpc_id()).build(),
    );
    let route = net.add(
        "DefaultRoute",
        ec2::Route::builder()
            .route_table_id(table.route_table_id())
            .build()
            .destination_cidr_block("0.0.0.0/0")
            .gateway_id(igw.internet_gateway_id()),
    );
    let mut subnets = Vec::new();
    for i in 0..2u32 {
        let subnet = net.add(
            &format!("Public{i}"),
            ec2::Subnet::builder()
                .vpc_id(vpc.vpc_id())
                .build()
                .availability_zone(fns::select(i, fns::get_azs("")))
                .cidr_block(fns::select(i, fns::cidr("10.0.0.0/16", 2, 8)))
                .map_public_ip_on_launch(false),
        );
        net.add(
            &format!("Public{i}Routes"),
            ec2::SubnetRouteTableAssociation::builder()
                .route_table_id(table.route_table_id())
                .subnet_id(subnet.subnet_id())
                .build(),
        );
        subnets.push(subnet);
    }
    let alb_sg = net.add(
        "AlbSecurityGroup",
        ec2::SecurityGroup::builder()
            .group_description("Load balancer: HTTPS from the office")
            .build()
            .vpc_id(vpc.vpc_id())
            .security_group_ingress(vec![
                ec2::security_group::Ingress::builder()
                    .ip_protocol("tcp")
                    .build()
                    .from_port(443)
                    .to_port(443)
                    .cidr_ip("203.0.113.0/24")
                    .description("office"),
            ]),
    );
    let svc_sg = net.add(
        "ServiceSecurityGroup",
        ec2::SecurityGroup::builder()
            .group_description("Service: from the load balancer only")
            .build()
            .vpc_id(vpc.vpc_id()),
    );
    net.add(
        "ServiceFromAlb",
        ec2::SecurityGroupIngress::builder()
            .ip_protocol("tcp")
            .build()
            .group_id(svc_sg.group_id())
            .source_security_group_id(alb_sg.group_id())
            .from_port(8080)
            .to_port(8080)
            .description("ALB to service"),
    );

    let mut data = root.child("Data");
    let key = data.add(
        "Key",
        kms::Key::new()
            .description("Sample data key")
            .enable_key_rotation(true)
            .key_policy(json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "AccountAdmin",
                    "Effect": "Allow",
                    "Principal": {"AWS": fns::sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")},
                    "Action": "kms:*",
                    "Resource": "*"
                }]
            })),
    );
    data.add(
        "KeyAlias",
        kms::Alias::builder()
            .alias_name(fns::sub("alias/${AWS::StackName}-data"))
            .target_key_id(key.reference())
            .build(),
    );
    let logs = data.add(
        "Logs",
        logs::LogGroup::new()
            .retention_in_days(fns::if_(&is_prd, 30, 7))
            .kms_key_id(key.arn()),
    );
    let bucket = data.add(
        "Bucket",
        s3::Bucket::new()
            .bucket_encryption(
                s3::bucket::BucketEncryption::builder()
                    .server_side_encryption_configuration(vec![
                        s3::bucket::ServerSideEncryptionRule::new()
                            .server_side_encryption_by_default(
                                s3::bucket::ServerSideEncryptionByDefault::builder()
                                    .sse_algorithm("aws:kms")
                                    .build()
                                    .kms_master_key_id(key.arn()),
                            ),
                    ])
                    .build(),
            )
            .versioning_configuration(
                s3::bucket::VersioningConfiguration::builder()
                    .status("Enabled")
                    .build(),
            )
            .public_access_block_configuration(
                s3::bucket::PublicAccessBlockConfiguration::new()
                    .block_public_acls(true)
                    .block_public_policy(true)
                    .ignore_public_acls(true)
                    .restrict_public_buckets(true),
            ),
    );
    data.add(
        "BucketPolicy",
        s3::BucketPolicy::builder()
            .bucket(bucket.reference())
            .policy_document(json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "TlsOnly",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket.arn(), fns::join("", [bucket.arn(), "/*".into()])],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}}
                }]
            }))
            .build(),
    );
    let secret = data.add(
        "ApiKey",
        secretsmanager::Secret::new()
            .description("Generated API key")
            .kms_key_id(key.arn())
            .generate_secret_string(
                secretsmanager::secret::GenerateSecretString::new()
                    .password_length(32)
                    .exclude_punctuation(true),
            ),
    );
    data.add(
        "Endpoint",
        ssm::Parameter::builder()
            .type_("String")
            .value(fns::sub("https://${AWS::StackName}.example.com"))
            .build()
            .description("Public endpoint"),
    );

    let mut app = root.child("App");
    let role = app.add(
        "ExecutionRole",
        iam::Role::builder()
            .assume_role_policy_document(json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                    "Action": "sts:AssumeRole"
                }]
            }))
            .build()
            .policies(vec![
                iam::role::Policy::builder()
                    .policy_document(json!({
                        "Version": "2012-10-17",
                        "Statement": [{
                            "Effect": "Allow",
                            "Action": "secretsmanager:GetSecretValue",
                            "Resource": secret.reference()
                        }, {
                            "Effect": "Allow",
                            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                            "Resource": logs.arn()
                        }]
                    }))
                    .policy_name("read-secret-and-log")
                    .build(),
            ]),
    );
    let cluster = app.add(
        "Cluster",
        ecs::Cluster::new().cluster_settings(vec![
            ecs::cluster::ClusterSettings::new()
                .name("containerInsights")
                .value("enabled"),
        ]),
    );
    let task = app.add(
        "Task",
        ecs::TaskDefinition::new()
            .family(fns::sub("${AWS::StackName}-web"))
            .cpu("256")
            .memory("512")
            .network_mode("awsvpc")
            .requires_compatibilities(vec!["FARGATE"])
            .execution_role_arn(role.arn())
            .container_definitions(vec![
                ecs::task_definition::ContainerDefinition::builder()
                    .image("nginx:1.27")
                    .name("web")
                    .build()
                    .essential(true)
                    .port_mappings(vec![
                        ecs::task_definition::PortMapping::new().container_port(8080),
                    ])
                    .secrets(vec![
                        ecs::task_definition::Secret::builder()
                            .name("API_KEY")
                            .value_from(secret.reference())
                            .build(),
                    ])
                    .log_configuration(
                        ecs::task_definition::LogConfiguration::builder()
                            .log_driver("awslogs")
                            .build()
                            .options(indexmap::indexmap! {
                                "awslogs-group".to_owned() => logs.reference().untyped(),
                                "awslogs-region".to_owned() => pseudo::region(),
                                "awslogs-stream-prefix".to_owned() => "web".into(),
                            }),
                    ),
            ]),
    );
    let lb = app.add(
        "Alb",
        elbv2::LoadBalancer::new()
            .scheme("internet-facing")
            .security_groups(vec![alb_sg.group_id()])
            .subnets(subnets.iter().map(|s| s.subnet_id()).collect::<Vec<_>>())
            .load_balancer_attributes(vec![
                elbv2::load_balancer::LoadBalancerAttribute::new()
                    .key("routing.http.drop_invalid_header_fields.enabled")
                    .value("true"),
            ]),
    );
    let tg = app.add(
        "TargetGroup",
        elbv2::TargetGroup::new()
            .port(8080)
            .protocol("HTTP")
            .target_type("ip")
            .vpc_id(vpc.vpc_id())
            .health_check_path("/health"),
    );
    let listener = app.add(
        "Listener",
        elbv2::Listener::builder()
            .default_actions(vec![
                elbv2::listener::Action::builder()
                    .type_("forward")
                    .build()
                    .target_group_arn(tg.target_group_arn()),
            ])
            .load_balancer_arn(lb.load_balancer_arn())
            .build()
            .port(80)
            .protocol("HTTP"),
    );
    let service = app.add(
        "Service",
        ecs::Service::new()
            .cluster(cluster.reference())
            .task_definition(task.reference())
            .launch_type("FARGATE")
            .desired_count(fns::if_(&is_prd, 2, 1))
            .network_configuration(
                ecs::service::NetworkConfiguration::new().awsvpc_configuration(
                    ecs::service::AwsVpcConfiguration::new()
                        .subnets(subnets.iter().map(|s| s.subnet_id()).collect::<Vec<_>>())
                        .security_groups(vec![svc_sg.group_id()])
                        .assign_public_ip("DISABLED"),
                ),
            )
            .load_balancers(vec![
                ecs::service::LoadBalancer::new()
                    .container_port(8080)
                    .container_name("web")
                    .target_group_arn(tg.target_group_arn()),
            ]),
    );
    let topic = app.add(
        "Alerts",
        sns::Topic::new().kms_master_key_id("alias/aws/sns"),
    );
    app.add(
        "Unhealthy",
        cloudwatch::Alarm::new()
            .comparison_operator("GreaterThanThreshold")
            .evaluation_periods(2)
            .metric_name("UnHealthyHostCount")
            .namespace("AWS/ApplicationELB")
            .statistic("Maximum")
            .period(60)
            .threshold(0.0)
            .alarm_actions(vec![topic.reference()])
            .dimensions(vec![
                cloudwatch::alarm::Dimension::builder()
                    .name("LoadBalancer")
                    .value(lb.load_balancer_full_name())
                    .build(),
                cloudwatch::alarm::Dimension::builder()
                    .name("TargetGroup")
                    .value(tg.target_group_full_name())
                    .build(),
            ]),
    );
    stack.resource(&route).depends_on(&attach);
    stack.resource(&service).depends_on(&listener);
    stack
        .resource(&bucket)
        .removal_policy(RemovalPolicy::Retain);
    stack.resource(&logs).removal_policy(RemovalPolicy::Retain);
    stack.add_output(
        "Url",
        Output::new(fns::join("", ["http://".into(), lb.dns_name()]))
            .description("Load balancer URL")
            .export_name(fns::sub("${AWS::StackName}-url")),
    );
    stack.add_output("SecretArn", Output::new::<String>(secret.reference()));
    stack.add_output(
        "Env",
        Output::new::<String>(Value::<String>::from("sample")),
    );
    stack
}

/// A stack of exactly `n` resources of a few common types, for benchmarks.
pub fn wide_stack(n: usize) -> Stack {
    let mut stack = Stack::new("Wide");
    stack.add_tag("app", "bench");
    let mut root = stack.root();
    let mut group = root.child("Group");
    let vpc = group.add("Vpc", ec2::Vpc::new().cidr_block("10.0.0.0/16"));
    for i in 1..n {
        let mut part = group.child(&format!("Part{i}"));
        match i % 4 {
            0 => {
                part.add(
                    "Sg",
                    ec2::SecurityGroup::builder()
                        .group_description(format!("group {i}"))
                        .build()
                        .vpc_id(vpc.vpc_id()),
                );
            }
            1 => {
                part.add(
                    "Logs",
                    logs::LogGroup::new().retention_in_days(30).log_group_name(
                        fns::sub(format!("/bench/${{AWS::StackName}}/{i}"))
                            .assume::<LogGroupName>(),
                    ),
                );
            }
            2 => {
                part.add(
                    "Bucket",
                    s3::Bucket::new().versioning_configuration(
                        s3::bucket::VersioningConfiguration::builder()
                            .status("Enabled")
                            .build(),
                    ),
                );
            }
            _ => {
                part.add(
                    "Param",
                    ssm::Parameter::builder()
                        .type_("String")
                        .value(format!("value-{i}"))
                        .build()
                        .description("bench"),
                );
            }
        }
    }
    stack
}

/// A stack of exactly `n` resources of the types the default guardrail pack reads (buckets and
/// their policies, log groups, security groups, roles with inline policies, task definitions
/// with environments, Aurora clusters, caches, load balancers and listeners, secrets, SSM
/// parameters), mostly compliant, for the rules benchmark.
pub fn guarded_stack(n: usize) -> Stack {
    let mut stack = Stack::new("Guarded");
    let mut root = stack.root();
    let mut group = root.child("Group");
    let vpc = group.add("Vpc", ec2::Vpc::new().cidr_block("10.0.0.0/16"));
    let (mut bucket, mut lb) = (String::new(), String::new());
    for i in 1..n {
        let mut part = group.child(&format!("Part{i}"));
        let mut raw = |ty: &str, props: serde_json::Value| {
            part.add_raw("R", ty, None, props).logical_id().to_owned()
        };
        match (i - 1) % 12 {
            0 => {
                bucket = raw(
                    "AWS::S3::Bucket",
                    json!({
                        "BucketEncryption": {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
                        "VersioningConfiguration": {"Status": "Enabled"},
                        "PublicAccessBlockConfiguration": {"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true}
                    }),
                );
            }
            1 => {
                raw(
                    "AWS::S3::BucketPolicy",
                    json!({"Bucket": {"Ref": bucket}, "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*",
                    "Resource": [{"Fn::GetAtt": [bucket, "Arn"]}, {"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, "/*"]]}],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}}),
                );
            }
            2 => {
                raw(
                    "AWS::Logs::LogGroup",
                    json!({"RetentionInDays": 30, "LogGroupName": format!("/bench/{i}")}),
                );
            }
            3 => {
                raw(
                    "AWS::EC2::SecurityGroup",
                    json!({"GroupDescription": format!("group {i}"), "VpcId": vpc.vpc_id(),
                    "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.0.0.0/8"},
                                             {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"}]}),
                );
            }
            4 => {
                raw(
                    "AWS::IAM::Role",
                    json!({
                    "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                        "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
                    "Policies": [{"PolicyName": "app", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": {"Fn::Sub": "arn:${AWS::Partition}:s3:::bench/*"}},
                        {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
                        {"Effect": "Allow", "Action": "logs:*", "Resource": "*"}]}}]}),
                );
            }
            5 => {
                raw(
                    "AWS::ECS::TaskDefinition",
                    json!({"ContainerDefinitions": [{"Name": "app", "Image": "app:1", "Environment": [
                    {"Name": "DB_HOST", "Value": "db.internal"},
                    {"Name": "APP_URL", "Value": "https://app.example.com"},
                    {"Name": "LOG_LEVEL", "Value": "INFO"},
                    {"Name": "BROKER_URL", "Value": {"Fn::Join": ["", ["rediss://cache:6379/1?ssl_cert_reqs=CERT_REQUIRED"]]}},
                    {"Name": "API_TOKEN", "Value": "Zq8rT4wLp2Xv9NcB7yHs3KdM6fJa1UeG"}]}]}),
                );
            }
            6 => {
                raw(
                    "AWS::RDS::DBCluster",
                    json!({"Engine": "aurora-postgresql", "MasterUsername": "admin",
                    "ManageMasterUserPassword": true, "StorageEncrypted": true, "DeletionProtection": true,
                    "BackupRetentionPeriod": 14, "DBClusterParameterGroupName": "shared"}),
                );
            }
            7 => {
                raw(
                    "AWS::ElastiCache::ReplicationGroup",
                    json!({"ReplicationGroupDescription": "c",
                    "AtRestEncryptionEnabled": true, "TransitEncryptionEnabled": true,
                    "AuthToken": "{{resolve:secretsmanager:cache}}", "SnapshotRetentionLimit": 5}),
                );
            }
            8 => {
                lb = raw(
                    "AWS::ElasticLoadBalancingV2::LoadBalancer",
                    json!({"Subnets": ["subnet-1", "subnet-2"],
                    "LoadBalancerAttributes": [{"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"}]}),
                );
            }
            9 => {
                raw(
                    "AWS::ElasticLoadBalancingV2::Listener",
                    json!({"LoadBalancerArn": {"Ref": lb}, "Port": 80, "Protocol": "HTTP",
                    "DefaultActions": [{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "StatusCode": "HTTP_301"}}]}),
                );
            }
            10 => {
                raw(
                    "AWS::SecretsManager::Secret",
                    json!({"GenerateSecretString": {"PasswordLength": 32}}),
                );
            }
            _ => {
                raw(
                    "AWS::SSM::Parameter",
                    json!({"Type": "String", "Name": format!("/bench/{i}/endpoint"),
                    "Value": "https://api.example.com"}),
                );
            }
        }
    }
    stack
}

/// The workspace root (where `.venv` and `cfn-out/` live).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// A Python tool the suite drives (`cfn-lint`, `checkov`): `$ENV_VAR` if set, else the
/// project's `.venv/bin/<name>`. `None` when neither exists.
pub fn python_tool(env_var: &str, name: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env_var) {
        return Some(PathBuf::from(p));
    }
    let p = workspace_root().join(".venv/bin").join(name);
    p.exists().then_some(p)
}

/// Finds a tool the test needs. A missing tool fails the test with the command that installs
/// it: a test that returned early would count as passed and prove nothing.
pub fn require_tool(env_var: &str, name: &str) -> PathBuf {
    python_tool(env_var, name).unwrap_or_else(|| {
        panic!("{name} is not installed: run scripts/test.sh, which installs it into .venv (or set {env_var})")
    })
}

/// One cfn-lint finding.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct LintFinding {
    /// `Error`, `Warning` or `Informational`.
    #[serde(rename = "Level")]
    pub level: String,
    /// The rule, e.g. `{"Id": "E3012", …}`.
    #[serde(rename = "Rule")]
    pub rule: serde_json::Value,
    /// What cfn-lint says.
    #[serde(rename = "Message")]
    pub message: String,
}

/// Runs cfn-lint on template files and returns its findings (all levels).
pub fn cfn_lint(cfn_lint: &Path, files: &[PathBuf]) -> Vec<LintFinding> {
    let out = Command::new(cfn_lint)
        .args(["--format", "json", "--regions", "us-east-1", "--"])
        .args(files)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", cfn_lint.display()));
    // cfn-lint exits non-zero when it finds something; the JSON says what.
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "cfn-lint printed no JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Writes a template to a fresh temporary file named after the stack.
pub fn write_temp(name: &str, body: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cfn-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let path = dir.join(format!("{name}.template.json"));
    std::fs::write(&path, body).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    path
}

/// Runs checkov (CloudFormation framework, no downloads) on one template file and returns its
/// report (the first one when checkov prints a list).
pub fn checkov(checkov: &Path, file: &Path) -> serde_json::Value {
    let run = Command::new(checkov)
        .args([
            "--framework",
            "cloudformation",
            "--skip-download",
            "--quiet",
            "-o",
            "json",
            "-f",
        ])
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", checkov.display()));
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "checkov printed no JSON ({e}): {}",
            String::from_utf8_lossy(&run.stderr)
        )
    });
    match report {
        serde_json::Value::Array(mut a) if !a.is_empty() => a.swap_remove(0),
        other => other,
    }
}

/// Every distinct `pattern` in the vendored types' schemas (top level and nested).
pub fn registry_patterns() -> Vec<&'static str> {
    use cfn_core::schema::{PropSpec, Shape};
    fn props(list: &'static [PropSpec], out: &mut Vec<&'static str>, depth: usize) {
        // Recursive definitions (WAFv2 statements) repeat the same patterns further down.
        if depth > 12 {
            return;
        }
        for p in list {
            shape(&p.shape, out, depth);
        }
    }
    fn shape(s: &'static Shape, out: &mut Vec<&'static str>, depth: usize) {
        match s {
            Shape::String(rule) => out.extend(rule.pattern),
            Shape::List { item, .. } | Shape::Map(item) => shape(item, out, depth + 1),
            Shape::Object { properties, .. } => props(properties, out, depth + 1),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for t in cfn_resources::TYPE_NAMES {
        if let Some(schema) = cfn_resources::schema_for(t) {
            props(schema.properties, &mut out, 0);
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}
