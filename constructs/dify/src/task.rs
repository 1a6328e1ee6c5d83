//! Fargate task definitions with least-privilege roles, built from a plain description of their
//! containers. Shared by the Dify services and the one-off migration task.

use cfn_core::refs::KmsKeyArn;
use cfn_core::{Scope, Value, fns, pseudo};
use cfn_resources::ecs::{self, TaskDefinitionHandle, task_definition as td};
use cfn_resources::iam::{self, RoleHandle};
use cfn_resources::logs::LogGroupHandle;
use serde_json::{Value as JsonValue, json};

use crate::common::{GeneratedSecret, LogGroupProps};

/// Where an environment variable of type secret comes from.
#[derive(Debug, Clone)]
pub enum SecretSource {
    /// A secret the stack generates, optionally one JSON key of it.
    Generated(GeneratedSecret, Option<&'static str>),
    /// An existing Secrets Manager secret, by ARN (e.g. the SMTP password).
    External(String),
    /// A secret another resource manages (e.g. RDS's master secret), by its ARN.
    Managed(Value<String>),
}

impl SecretSource {
    fn value_from(&self) -> Value<String> {
        match self {
            SecretSource::Generated(s, key) => s.value_from_key(*key),
            SecretSource::External(arn) => arn.into(),
            SecretSource::Managed(arn) => arn.clone(),
        }
    }

    /// The secret's ARN, for the execution role's policy. An external ARN may carry a
    /// `:json-key::` suffix in `valueFrom`; the policy names the secret itself.
    fn arn(&self) -> Value<String> {
        match self {
            SecretSource::Generated(s, _) => s.arn(),
            SecretSource::External(arn) => Value::from(format!("{arn}*")),
            SecretSource::Managed(arn) => arn.clone(),
        }
    }
}

/// One container of a task.
#[derive(Debug, Clone)]
pub struct ContainerSpec {
    /// Container name.
    pub name: String,
    /// Image reference (an intrinsic when the registry is the account's own ECR).
    pub image: Value<String>,
    /// Plain environment: never a secret (a test checks names and values).
    pub environment: Vec<(String, Value<String>)>,
    /// Secrets injected by ECS from Secrets Manager.
    pub secrets: Vec<(String, SecretSource)>,
    /// Container port served, if any.
    pub port: Option<u16>,
    /// The container's health check.
    pub health: Option<Health>,
    /// Seconds between SIGTERM and SIGKILL (Fargate's maximum is 120).
    pub stop_timeout: u32,
    /// Overrides the image's entry point.
    pub entry_point: Option<Vec<String>>,
    /// Overrides the image's command.
    pub command: Option<Vec<String>>,
    /// Whether the task stops when this container stops.
    pub essential: bool,
    /// Containers that must reach a condition (`SUCCESS`, `HEALTHY`, …) before this one starts.
    pub depends_on: Vec<(String, &'static str)>,
}

impl Default for ContainerSpec {
    /// A long-running, essential container with no port, health check, environment, secrets
    /// or overrides, and 30 s to stop. Its name and image are empty: set both (a task refuses
    /// a container without them).
    fn default() -> Self {
        ContainerSpec {
            name: String::new(),
            image: Value::Literal(String::new()),
            environment: Vec::new(),
            secrets: Vec::new(),
            port: None,
            health: None,
            stop_timeout: 30,
            entry_point: None,
            command: None,
            essential: true,
            depends_on: Vec::new(),
        }
    }
}

/// A `CMD-SHELL` container health check and its timing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// The shell command; exit 0 means healthy.
    pub command: String,
    /// Seconds after start during which failures do not count (at most 300).
    pub start_period: u32,
    /// Seconds between checks.
    pub interval: u32,
    /// Seconds one check may take.
    pub timeout: u32,
    /// Consecutive failures before the container is unhealthy.
    pub retries: u32,
}

impl Health {
    /// Runs `command` every 15 s, 5 s each, unhealthy after 3 failures; failures count from
    /// the start (`start_period` 0: set it for a container that takes time to come up).
    pub fn new(command: impl Into<String>) -> Health {
        Health {
            command: command.into(),
            start_period: 0,
            interval: 15,
            timeout: 5,
            retries: 3,
        }
    }
}

/// CPU, memory and disk of a task.
#[derive(Debug, Clone, Copy)]
pub struct TaskSize {
    /// CPU units.
    pub cpu: u32,
    /// Memory, MiB.
    pub memory: u32,
    /// Ephemeral storage, GiB (≤ 20 means Fargate's default).
    pub ephemeral_storage_gib: u32,
}

/// A task definition with its log group and roles.
#[derive(Debug, Clone)]
pub struct Task {
    /// The task definition.
    pub definition: TaskDefinitionHandle,
    /// The log group every container writes to (one stream prefix per container).
    pub log_group: LogGroupHandle,
    /// The execution role: pulls, logs, and reads exactly the secrets the task injects.
    pub execution_role: RoleHandle,
    /// The task role, when the application needs AWS permissions.
    pub task_role: Option<RoleHandle>,
}

impl Default for TaskSize {
    /// ¼ vCPU, 512 MiB, Fargate's free 20 GiB of disk.
    fn default() -> Self {
        TaskSize {
            cpu: 256,
            memory: 512,
            ephemeral_storage_gib: 20,
        }
    }
}

/// Inputs of [`Task::add_to`].
#[derive(Debug, Clone)]
pub struct TaskProps {
    /// The containers, each started as its `depends_on` allows. Default: none (a task needs
    /// at least one).
    pub containers: Vec<ContainerSpec>,
    /// `family` of the task definition. Default `None`: CloudFormation names it.
    pub family: Option<String>,
    /// The log group's name. Default `None`: CloudFormation names it.
    pub log_group_name: Option<String>,
    /// Days the logs are kept. Default 7.
    pub log_retention_days: u32,
    /// A customer key the logs and the injected secrets are encrypted with. Default `None`.
    pub kms_key: Option<Value<KmsKeyArn>>,
    /// IAM statements for the task role. Default: none, and then no task role.
    pub task_statements: Vec<JsonValue>,
    /// Extra IAM statements for the execution role (e.g. pulling through an ECR cache).
    /// Default: none.
    pub execution_statements: Vec<JsonValue>,
    /// CPU, memory and disk. Default: [`TaskSize::default`].
    pub size: TaskSize,
}

impl Default for TaskProps {
    fn default() -> Self {
        TaskProps {
            containers: Vec::new(),
            family: None,
            log_group_name: None,
            log_retention_days: 7,
            kms_key: None,
            task_statements: Vec::new(),
            execution_statements: Vec::new(),
            size: TaskSize::default(),
        }
    }
}

fn assume_ecs_tasks() -> JsonValue {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"ArnLike": {"aws:SourceArn": fns::sub("arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:*")}}
        }]
    })
}

fn dedup(values: Vec<Value<String>>) -> Vec<Value<String>> {
    let mut seen = std::collections::HashSet::new();
    values
        .into_iter()
        .filter(|v| seen.insert(v.to_json().to_string()))
        .collect()
}

impl Task {
    /// Adds the log group (`Logs`), the roles (`ExecutionRole`, `TaskRole`) and the task
    /// definition (`TaskDefinition`) to `scope` itself, not to a child: a task is part of the
    /// construct that runs it (a service, the migration step), whose resources sit beside it.
    /// A container without a name or an image is reported as an error at synthesis.
    pub fn add_to(scope: &mut Scope<'_>, props: TaskProps) -> Task {
        let opts = props;
        let containers = opts.containers.as_slice();
        for (i, c) in containers.iter().enumerate() {
            if c.name.is_empty() || c.image == Value::Literal(String::new()) {
                scope.report(
                    cfn_core::Severity::Error,
                    "dify-task-container",
                    format!("container {i} of the task needs a name and an image"),
                );
            }
        }
        let log_group = crate::common::log_group(
            scope,
            "Logs",
            LogGroupProps {
                name: opts.log_group_name.as_deref(),
                retention_days: opts.log_retention_days,
                kms_key: opts.kms_key.as_ref(),
            },
        );

        let secret_arns = dedup(
            containers
                .iter()
                .flat_map(|c| c.secrets.iter().map(|(_, s)| s.arn()))
                .collect(),
        );
        let mut statements = vec![json!({
            "Sid": "Logs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": log_group.arn()
        })];
        if !secret_arns.is_empty() {
            statements.push(json!({
                "Sid": "InjectedSecrets",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": secret_arns
            }));
        }
        if let Some(k) = &opts.kms_key {
            statements.push(json!({
                "Sid": "DecryptSecrets",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": k,
                "Condition": {"StringEquals": {"kms:ViaService": fns::sub("secretsmanager.${AWS::Region}.amazonaws.com")}}
            }));
        }
        statements.extend(opts.execution_statements.iter().cloned());
        let execution_role = scope.add(
            "ExecutionRole",
            iam::Role::builder()
                .assume_role_policy_document(assume_ecs_tasks())
                .build()
                .policies(vec![
                    iam::role::Policy::builder()
                        .policy_document(json!({"Version": "2012-10-17", "Statement": statements}))
                        .policy_name("pull-log-and-read-own-secrets")
                        .build(),
                ]),
        );
        let task_role = (!opts.task_statements.is_empty()).then(|| {
            scope.add(
                "TaskRole",
                iam::Role::builder()
                    .assume_role_policy_document(assume_ecs_tasks())
                    .build()
                    .policies(vec![
                        iam::role::Policy::builder()
                            .policy_document(
                                json!({"Version": "2012-10-17", "Statement": opts.task_statements}),
                            )
                            .policy_name("application")
                            .build(),
                    ]),
            )
        });

        let defs: Vec<td::ContainerDefinition> = containers
            .iter()
            .map(|c| container_definition(c, &log_group))
            .collect();
        let mut def = ecs::TaskDefinition::new()
            .cpu(opts.size.cpu.to_string())
            .memory(opts.size.memory.to_string())
            .network_mode("awsvpc")
            .requires_compatibilities(vec!["FARGATE"])
            .runtime_platform(
                td::RuntimePlatform::new()
                    .operating_system_family("LINUX")
                    .cpu_architecture("X86_64"),
            )
            .execution_role_arn(execution_role.arn())
            .container_definitions(defs);
        if opts.size.ephemeral_storage_gib > 20 {
            def = def.ephemeral_storage(
                td::EphemeralStorage::new()
                    .size_in_gi_b(i64::from(opts.size.ephemeral_storage_gib)),
            );
        }
        if let Some(r) = &task_role {
            def = def.task_role_arn(r.arn());
        }
        if let Some(family) = &opts.family {
            def = def.family(family.as_str());
        }
        let definition = scope.add("TaskDefinition", def);
        Task {
            definition,
            log_group,
            execution_role,
            task_role,
        }
    }
}

fn container_definition(c: &ContainerSpec, log_group: &LogGroupHandle) -> td::ContainerDefinition {
    let mut d = td::ContainerDefinition::builder()
        .image(c.image.clone())
        .name(c.name.as_str())
        .build()
        .essential(c.essential)
        .stop_timeout(i64::from(c.stop_timeout.min(120)))
        .linux_parameters(td::LinuxParameters::new().init_process_enabled(true))
        .ulimits(vec![
            td::Ulimit::builder()
                .hard_limit(65536)
                .name("nofile")
                .soft_limit(65536)
                .build(),
        ])
        .log_configuration(
            td::LogConfiguration::builder()
                .log_driver("awslogs")
                .build()
                .options(indexmap::indexmap! {
                    "awslogs-group".to_owned() => log_group.reference().untyped(),
                    "awslogs-region".to_owned() => pseudo::region(),
                    "awslogs-stream-prefix".to_owned() => Value::<String>::from(c.name.as_str()),
                    // Never block the application on a slow log pipe.
                    "mode".to_owned() => Value::from("non-blocking"),
                    "max-buffer-size".to_owned() => Value::from("25m"),
                }),
        );
    if !c.environment.is_empty() {
        d = d.environment(
            c.environment
                .iter()
                .map(|(k, v)| td::KeyValuePair::new().name(k.as_str()).value(v.clone()))
                .collect::<Vec<_>>(),
        );
    }
    if !c.secrets.is_empty() {
        d = d.secrets(
            c.secrets
                .iter()
                .map(|(k, s)| {
                    td::Secret::builder()
                        .name(k.as_str())
                        .value_from(s.value_from())
                        .build()
                })
                .collect::<Vec<_>>(),
        );
    }
    if let Some(port) = c.port {
        d = d.port_mappings(vec![
            td::PortMapping::new()
                .container_port(i64::from(port))
                .protocol("tcp")
                .name(format!("{}-{port}", c.name)),
        ]);
    }
    if let Some(h) = &c.health {
        d = d.health_check(
            td::HealthCheck::new()
                .command(vec!["CMD-SHELL".to_owned(), h.command.clone()])
                .interval(i64::from(h.interval))
                .timeout(i64::from(h.timeout))
                .retries(i64::from(h.retries))
                .start_period(i64::from(h.start_period.min(300))),
        );
    }
    if let Some(e) = &c.entry_point {
        d = d.entry_point(e.clone());
    }
    if let Some(cmd) = &c.command {
        d = d.command(cmd.clone());
    }
    if !c.depends_on.is_empty() {
        d = d.depends_on(
            c.depends_on
                .iter()
                .map(|(name, cond)| {
                    td::ContainerDependency::new()
                        .container_name(name.as_str())
                        .condition(*cond)
                })
                .collect::<Vec<_>>(),
        );
    }
    d
}
