//! The pre-rollout step: bootstrap the database, then run Dify's migrations, once per rollout,
//! before any service changes.
//!
//! An init container in each api task would race: the tasks that lose Dify's
//! `db_upgrade_lock` start serving at once, before the winner has finished. Instead a custom
//! resource runs one Fargate task and waits for it to exit 0; every ECS service depends on it.
//! The task's definition changes with the image, so the step re-runs on every Dify upgrade,
//! while the old tasks keep serving. A failed step fails the custom resource, and CloudFormation
//! rolls back before any service was touched.
//!
//! The task has three containers, each starting when the one before exited 0:
//! - `bootstrap` (the api image's Python with psycopg2, master credentials, nothing else)
//!   creates the application role (owner of `dify`), the plugin daemon's role (owner of
//!   `dify_plugin` only) and the `vector` and `uuid-ossp` extensions that need the master user
//!   on Aurora. It retries its first connection for a bounded time: the writer instance may
//!   still be coming up.
//! - `migrate` (`MODE=migration`, application credentials) runs Dify's `flask upgrade-db`.
//! - `verify` fails unless the database is at the image's alembic head: `upgrade-db` prints
//!   "Database migration skipped" and exits 0 when another task holds `db_upgrade_lock`
//!   (`api/commands.py` at 1.13.3), so its exit code alone proves nothing.
//!
//! No service ever holds the master password. The custom resource waits for the writer
//! instance and for the security-group rules the task needs (an Aurora cluster is
//! CREATE_COMPLETE before any instance exists), and its handler waits across Lambda
//! invocations up to CloudFormation's one-hour limit, stopping the task on every failure path.

use cfn_core::{ResourceRef, Scope, Value, fns};
use cfn_resources::ec2::SecurityGroupHandle;
use cfn_resources::ecs::ClusterHandle;
use cfn_resources::{iam, lambda};
use serde_json::json;

use crate::common::{LogGroupProps, SecurityGroupProps, closed_security_group, log_group};
use crate::components::Wiring;
use crate::database;
use crate::task::{ContainerSpec, SecretSource, Task, TaskProps, TaskSize};

/// Runs in the api image as the master user; idempotent, so every rollout may run it.
/// Tested against a real PostgreSQL in `tests/artifact/test_migration_bootstrap.py`.
pub const BOOTSTRAP_SCRIPT: &str = include_str!("../assets/migration/bootstrap.py");

/// Runs in the api image after `upgrade-db`, as the application user: exits 0 only when the
/// database is at the alembic head(s) of the image's migrations.
pub const VERIFY_SCRIPT: &str = include_str!("../assets/migration/verify.py");

/// Where the api image keeps Dify's alembic migrations (`api/migrations` in the repository,
/// `WORKDIR /app/api` in `api/Dockerfile`).
pub const MIGRATIONS_DIR: &str = "/app/api/migrations";

/// How long the custom resource may take: CloudFormation's maximum `ServiceTimeout`.
pub const SERVICE_TIMEOUT_SECONDS: u32 = 3600;

/// The custom resource handler: start the task, wait for it to stop (re-invoking itself when
/// one Lambda invocation is not long enough), report its containers' exit codes, and stop the
/// task on every failure path. During a rollback, or a deliberate downgrade of
/// `images.dify_version`, it reports success without running anything: the older image's
/// migration would run against the already newer schema, and Dify's migrations only move
/// forward. Tested in `tests/artifact/test_migration_handler.py` against a stateful fake of
/// ECS, Lambda and CloudFormation.
pub const HANDLER: &str = include_str!("../assets/migration/handler.py");

/// The migration task, its security group and the custom resource that runs it.
#[derive(Debug, Clone)]
pub struct Migration {
    /// The custom resource every service depends on.
    pub resource: ResourceRef,
    /// The task's security group (needs the database and the cache).
    pub security_group: SecurityGroupHandle,
    /// The task.
    pub task: Task,
    /// The name of the handler's log group, where each outcome is logged (`SUCCESS …` or
    /// `FAILED …`).
    pub handler_log_group: Value<String>,
}

/// Inputs of [`Migration`]: what the step runs on. It runs in the network's private subnets,
/// encrypts with the wiring's key, and names its task family and function
/// `<name_prefix>-migration`.
#[derive(Debug, Clone, Copy)]
pub struct MigrationProps<'a> {
    /// What the containers connect to (the api's environment and secrets, the database's
    /// master and application credentials) and the settings they run with.
    pub wiring: &'a Wiring<'a>,
    /// The ECS cluster the task runs in.
    pub cluster: &'a ClusterHandle,
}

impl Migration {
    /// Creates the task, its HTTPS egress, the handler and the custom resource; the paths to
    /// the database and the cache come with [`Self::connect`].
    pub fn new(scope: &mut Scope<'_>, id: &str, props: MigrationProps<'_>) -> Migration {
        let w = props.wiring;
        let mut s = scope.child(id);
        let security_group = closed_security_group(
            &mut s,
            "SecurityGroup",
            SecurityGroupProps {
                description: "Dify migration task",
                vpc_id: &w.network.vpc_id,
            },
        );
        let needs = w.outbound_internet(&mut s, &security_group);
        let family = format!("{}-migration", w.app.name_prefix);
        let task = Task::add_to(
            &mut s,
            TaskProps {
                containers: containers(w).into(),
                family: Some(family.clone()),
                log_group_name: Some(format!("/dify/{}/migration", w.app.environment)),
                log_retention_days: w.app.log_retention_days,
                kms_key: w.kms_key.cloned(),
                task_statements: std::iter::once(w.storage.read_write_statement())
                    .chain(w.storage.key_statement())
                    .collect(),
                execution_statements: w.pull_statements(),
                size: TaskSize {
                    cpu: 1024,
                    memory: 2048,
                    ephemeral_storage_gib: 21,
                },
            },
        );
        let (function, handler_log_group) = handler(&mut s, w, props.cluster, &task, &family);
        let resource = s.add_raw(
            "Run",
            "Custom::DifyMigration",
            None,
            json!({
                "ServiceToken": function.arn(),
                "ServiceTimeout": SERVICE_TIMEOUT_SECONDS,
                "Cluster": props.cluster.reference(),
                "TaskDefinition": task.definition.reference(),
                "Family": family,
                "Subnets": w.network.private_subnets,
                "SecurityGroups": [security_group.group_id()],
                "LogGroup": task.log_group.reference(),
                "DifyVersion": w.app.images.dify_version
            }),
        );
        let mut r = s.stack().resource(&resource);
        for rule in &needs {
            r = r.depends_on(rule);
        }
        if let Some(rule) = &w.pull_through {
            r = r.depends_on(rule);
        }
        if let Some(writer) = w.database.writer() {
            r.depends_on(writer);
        }
        Migration {
            resource,
            security_group,
            task,
            handler_log_group,
        }
    }

    /// Opens the paths to the database and the cache (in `rules`, beside the services' own)
    /// and makes the step wait for them: it connects as soon as it starts.
    pub fn connect(&self, rules: &mut Scope<'_>, w: &Wiring<'_>) {
        let mut needs = w
            .database
            .allow_from(rules, "MigrationToDatabase", &self.security_group);
        needs.extend(
            w.cache
                .allow_from(rules, "MigrationToCache", &self.security_group),
        );
        let mut r = rules.stack().resource(&self.resource);
        for rule in &needs {
            r = r.depends_on(rule);
        }
    }

    /// The logical ID services depend on.
    pub fn logical_id(&self) -> &str {
        self.resource.logical_id()
    }
}

/// `bootstrap` → `migrate` → `verify`, each only after the one before exited 0.
fn containers(w: &Wiring<'_>) -> [ContainerSpec; 3] {
    let api_image = w.image(w.app.images.api());
    let db_env = || -> Vec<(String, Value<String>)> {
        vec![
            ("DB_HOST".into(), w.database.host()),
            ("DB_PORT".into(), database::PORT.to_string().into()),
            ("DB_DATABASE".into(), database::DATABASE_NAME.into()),
        ]
    };
    let secret = |s: &crate::common::GeneratedSecret, key: &'static str| {
        SecretSource::Generated(s.clone(), Some(key))
    };
    let mut bootstrap = ContainerSpec {
        name: "bootstrap".into(),
        image: api_image.clone(),
        ..ContainerSpec::default()
    };
    bootstrap.essential = false;
    bootstrap.entry_point = Some(vec!["python".into(), "-c".into()]);
    bootstrap.command = Some(vec![BOOTSTRAP_SCRIPT.into()]);
    bootstrap.environment = db_env();
    bootstrap.environment.push((
        "PLUGIN_DB_DATABASE".into(),
        database::PLUGIN_DATABASE_NAME.into(),
    ));
    bootstrap.secrets = vec![
        (
            "MASTER_CREDENTIALS".into(),
            SecretSource::Managed(w.database.master_secret_arn.clone()),
        ),
        ("APP_USER".into(), secret(&w.database.app, "username")),
        ("APP_PASSWORD".into(), secret(&w.database.app, "password")),
        (
            "APP_ALT_USER".into(),
            secret(&w.database.app_alt, "username"),
        ),
        (
            "APP_ALT_PASSWORD".into(),
            secret(&w.database.app_alt, "password"),
        ),
        (
            "PLUGIN_DB_USER".into(),
            secret(&w.database.plugin, "username"),
        ),
        (
            "PLUGIN_DB_PASSWORD".into(),
            secret(&w.database.plugin, "password"),
        ),
    ];

    let mut migrate = ContainerSpec {
        name: "migrate".into(),
        image: api_image.clone(),
        ..ContainerSpec::default()
    };
    migrate.essential = false;
    migrate
        .environment
        .push(("MODE".into(), "migration".into()));
    migrate.environment.extend(
        w.api_environment()
            .into_iter()
            .filter(|(k, _)| k != "MIGRATION_ENABLED"),
    );
    migrate
        .environment
        .push(("MIGRATION_ENABLED".into(), "true".into()));
    migrate.secrets = w.api_secrets();
    migrate.depends_on = vec![("bootstrap".into(), "SUCCESS")];

    let mut verify = ContainerSpec {
        name: "verify".into(),
        image: api_image,
        ..ContainerSpec::default()
    };
    verify.entry_point = Some(vec!["python".into(), "-c".into()]);
    verify.command = Some(vec![VERIFY_SCRIPT.into()]);
    verify.environment = db_env();
    verify
        .environment
        .push(("MIGRATIONS_DIR".into(), MIGRATIONS_DIR.into()));
    verify.secrets = vec![
        (
            "DB_USERNAME".into(),
            secret(w.database.active_app(), "username"),
        ),
        (
            "DB_PASSWORD".into(),
            secret(w.database.active_app(), "password"),
        ),
    ];
    verify.depends_on = vec![("migrate".into(), "SUCCESS")];
    [bootstrap, migrate, verify]
}

/// The Lambda function that serves the custom resource, with its role and log group.
fn handler(
    s: &mut Scope<'_>,
    w: &Wiring<'_>,
    cluster: &ClusterHandle,
    task: &Task,
    family: &str,
) -> (lambda::FunctionHandle, Value<String>) {
    let function_name = format!("{}-migration", w.app.name_prefix);
    let mut pass_roles = vec![task.execution_role.arn()];
    if let Some(r) = &task.task_role {
        pass_roles.push(r.arn());
    }
    let handler_logs = log_group(
        s,
        "HandlerLogs",
        LogGroupProps {
            name: Some(&format!("/dify/{}/migration-handler", w.app.environment)),
            retention_days: w.app.log_retention_days,
            kms_key: w.kms_key,
        },
    );
    let in_cluster = json!({"ArnEquals": {"ecs:cluster": cluster.arn()}});
    let role = s.add(
        "HandlerRole",
        iam::Role::builder().assume_role_policy_document(json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole"
            }]
        })).build()
        .policies(vec![iam::role::Policy::builder().policy_document(json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "RunMigrationTask",
                    "Effect": "Allow",
                    "Action": "ecs:RunTask",
                    // The family, not the revision: an upgrade must not rewrite this policy.
                    "Resource": fns::sub(format!("arn:${{AWS::Partition}}:ecs:${{AWS::Region}}:${{AWS::AccountId}}:task-definition/{family}:*")),
                    "Condition": in_cluster
                }, {
                    "Sid": "WatchAndStopMigrationTask",
                    "Effect": "Allow",
                    "Action": ["ecs:DescribeTasks", "ecs:StopTask"],
                    "Resource": fns::sub("arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:task/*"),
                    "Condition": in_cluster
                }, {
                    "Sid": "FindOrphanedMigrationTasks",
                    "Effect": "Allow",
                    "Action": "ecs:ListTasks",
                    // ListTasks is authorized on container instances (the service
                    // authorization reference); the cluster condition narrows it.
                    "Resource": fns::sub("arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:container-instance/*"),
                    "Condition": in_cluster
                }, {
                    "Sid": "WaitPastOneInvocation",
                    "Effect": "Allow",
                    "Action": "lambda:InvokeFunction",
                    "Resource": fns::sub(format!("arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:{function_name}"))
                }, {
                    "Sid": "SeeRollbacks",
                    "Effect": "Allow",
                    "Action": "cloudformation:DescribeStacks",
                    "Resource": cfn_core::pseudo::stack_id()
                }, {
                    "Sid": "PassTaskRoles",
                    "Effect": "Allow",
                    "Action": "iam:PassRole",
                    "Resource": pass_roles
                }, {
                    "Sid": "Logs",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": handler_logs.arn()
                }]
            })).policy_name("run-and-watch-the-migration").build()]),
    );
    let function = s.add(
        "Handler",
        lambda::Function::builder()
            .code(lambda::function::Code::new().zip_file(HANDLER))
            .role(role.arn())
            .build()
            .function_name(function_name.as_str())
            .runtime("python3.12")
            .handler("index.handler")
            .timeout(900)
            .memory_size(256)
            // One rollout at a time, plus the handler's own re-invocation while it waits.
            .reserved_concurrent_executions(2)
            .description("Runs Dify's migration task once per rollout and waits for it")
            .logging_config(
                lambda::function::LoggingConfig::new().log_group(handler_logs.reference()),
            ),
    );
    // Lambda retries a failed asynchronous invocation twice by default. A handler that
    // crashed after RunTask would then start a second migration beside the first; the
    // handler replies FAILED itself on every error it can see, so never retry.
    s.add(
        "HandlerAsyncConfig",
        lambda::EventInvokeConfig::builder()
            .function_name(function.reference())
            .qualifier("$LATEST")
            .build()
            .maximum_retry_attempts(0),
    );
    s.stack().resource(&function).metadata(
        "checkov",
        json!({"skip": [{
            "id": "CKV_AWS_116",
            "comment": "CloudFormation is the only caller and the handler always answers it; an invocation that never answers fails the custom resource after ServiceTimeout, which rolls the stack back. A DLQ would hold nothing anyone acts on."
        }, {
            "id": "CKV_AWS_117",
            "comment": "The handler only calls the ECS API and CloudFormation's pre-signed response URL; it touches no data in the VPC, and outside it needs no NAT or interface endpoints."
        }]}),
    );
    (function, handler_logs.reference().untyped())
}
