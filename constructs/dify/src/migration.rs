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
//! The task has two containers. `bootstrap` (the api image's Python with psycopg2, master
//! credentials, nothing else) creates the application role, makes it owner of `dify` and
//! `dify_plugin`, and creates the `vector` and `uuid-ossp` extensions that need the master
//! user on Aurora. `migrate` (`MODE=migration`, application credentials) then runs
//! `flask upgrade-db`. No service ever holds the master password.

use cfn_core::{ResourceRef, Scope, Value, fns};
use cfn_resources::ec2::{self, SecurityGroupHandle};
use cfn_resources::ecs::ClusterHandle;
use cfn_resources::{iam, lambda};
use serde_json::json;

use crate::common::log_group;
use crate::components::Wiring;
use crate::database;
use crate::task::{ContainerSpec, SecretSource, Task, TaskOptions, TaskSize};

/// Runs in the api image as the master user; idempotent, so every rollout may run it.
pub const BOOTSTRAP_SCRIPT: &str = include_str!("../assets/migration/bootstrap.py");

/// The custom resource handler: start the task, wait for it to stop, report its exit codes.
/// During a rollback, or a deliberate downgrade of `images.dify_version`, it reports success
/// without running anything: the older image's migration would run against the already newer
/// schema, and Dify's migrations only move forward. Tested in `tests/tests/migration_handler.rs` with boto3 stubbed.
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
}

impl Migration {
    /// Creates the task, the handler and the custom resource.
    pub fn new(
        scope: &mut Scope<'_>,
        id: &str,
        w: &Wiring<'_>,
        cluster: &ClusterHandle,
        subnets: &[Value<String>],
        kms_key: Option<&Value<String>>,
        stack_name: &str,
    ) -> Migration {
        let mut s = scope.child(id);
        let security_group = s.add(
            "SecurityGroup",
            ec2::SecurityGroup::new("Dify migration task").vpc_id(w.network_vpc_id.clone()),
        );
        let api_image = w.env.images.api();
        let mut bootstrap = ContainerSpec::new("bootstrap", api_image.clone());
        bootstrap.essential = false;
        bootstrap.entry_point = Some(vec!["python".into(), "-c".into()]);
        bootstrap.command = Some(vec![BOOTSTRAP_SCRIPT.into()]);
        bootstrap.environment = vec![
            ("DB_HOST".into(), w.database.host()),
            ("DB_PORT".into(), database::PORT.to_string().into()),
            ("DB_DATABASE".into(), database::DATABASE_NAME.into()),
            (
                "PLUGIN_DB_DATABASE".into(),
                database::PLUGIN_DATABASE_NAME.into(),
            ),
        ];
        bootstrap.secrets = vec![
            (
                "MASTER_CREDENTIALS".into(),
                SecretSource::Generated(w.database.master.clone(), None),
            ),
            (
                "APP_USER".into(),
                SecretSource::Generated(w.database.app.clone(), Some("username")),
            ),
            (
                "APP_PASSWORD".into(),
                SecretSource::Generated(w.database.app.clone(), Some("password")),
            ),
        ];
        let mut migrate = ContainerSpec::new("migrate", api_image);
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

        let family = format!("{stack_name}-migration");
        let task = Task::new(
            &mut s,
            TaskOptions {
                family: family.clone(),
                log_group_name: format!("/dify/{}/migration", w.env.name),
                log_retention_days: w.env.log_retention_days,
                kms_key,
                task_statements: vec![w.storage.read_write_statement()],
                size: TaskSize {
                    cpu: 1024,
                    memory: 2048,
                    ephemeral_storage_gib: 21,
                },
            },
            &[bootstrap, migrate],
        );

        let mut pass_roles = vec![task.execution_role.arn()];
        if let Some(r) = &task.task_role {
            pass_roles.push(r.arn());
        }
        let handler_logs = log_group(
            &mut s,
            "HandlerLogs",
            &format!("/dify/{}/migration-handler", w.env.name),
            w.env.log_retention_days,
            kms_key,
        );
        let role = s.add(
            "HandlerRole",
            iam::Role::new(json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole"
                }]
            }))
            .policies(vec![iam::role::Policy::new(
                json!({
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Sid": "RunMigrationTask",
                        "Effect": "Allow",
                        "Action": "ecs:RunTask",
                        // The family, not the revision: an upgrade must not rewrite this policy.
                        "Resource": fns::sub(format!("arn:${{AWS::Partition}}:ecs:${{AWS::Region}}:${{AWS::AccountId}}:task-definition/{family}:*")),
                        "Condition": {"ArnEquals": {"ecs:cluster": cluster.arn()}}
                    }, {
                        "Sid": "WatchMigrationTask",
                        "Effect": "Allow",
                        "Action": "ecs:DescribeTasks",
                        "Resource": fns::sub("arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:task/*"),
                        "Condition": {"ArnEquals": {"ecs:cluster": cluster.arn()}}
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
                }),
                "run-and-watch-the-migration",
            )]),
        );
        let function = s.add(
            "Handler",
            lambda::Function::new(lambda::function::Code::new().zip_file(HANDLER), role.arn())
                .runtime("python3.12")
                .handler("index.handler")
                .timeout(900)
                .memory_size(256)
                // One rollout at a time: a second concurrent migration would only wait on
                // Dify's lock.
                .reserved_concurrent_executions(1)
                .description("Runs Dify's migration task once per rollout and waits for it")
                .logging_config(
                    lambda::function::LoggingConfig::new().log_group(handler_logs.reference()),
                ),
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
        let resource = s.add_raw(
            "Run",
            "Custom::DifyMigration",
            None,
            json!({
                "ServiceToken": function.arn(),
                "ServiceTimeout": 900,
                "Cluster": cluster.reference(),
                "TaskDefinition": task.definition.reference(),
                "Subnets": subnets,
                "SecurityGroups": [security_group.group_id()],
                "LogGroup": task.log_group.reference(),
                "DifyVersion": w.env.images.dify_version
            }),
        );
        Migration {
            resource,
            security_group,
            task,
        }
    }

    /// The logical ID services depend on.
    pub fn logical_id(&self) -> &str {
        self.resource.logical_id()
    }
}
