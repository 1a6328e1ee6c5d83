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
pub const BOOTSTRAP_SCRIPT: &str = r#"import json, os, psycopg2
from psycopg2 import sql
master = json.loads(os.environ["MASTER_CREDENTIALS"])
app_user, app_password = os.environ["APP_USER"], os.environ["APP_PASSWORD"]
def connect(db):
    c = psycopg2.connect(host=os.environ["DB_HOST"], port=int(os.environ["DB_PORT"]), dbname=db,
                         user=master["username"], password=master["password"], sslmode="require",
                         connect_timeout=10)
    c.autocommit = True
    return c
cur = connect(os.environ["DB_DATABASE"]).cursor()
role = sql.Identifier(app_user)
cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (app_user,))
verb = "ALTER" if cur.fetchone() else "CREATE"
cur.execute(sql.SQL(verb + " ROLE {} WITH LOGIN PASSWORD %s").format(role), (app_password,))
cur.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(role))
cur.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(os.environ["DB_DATABASE"]), role))
cur.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(role))
for ext in ("vector", "uuid-ossp"):
    cur.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(ext)))
plugin_db = os.environ["PLUGIN_DB_DATABASE"]
cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (plugin_db,))
if not cur.fetchone():
    cur.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(plugin_db), role))
pcur = connect(plugin_db).cursor()
pcur.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(role))
pcur.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier("uuid-ossp")))
print("bootstrap: role, databases and extensions are in place")
"#;

/// The custom resource handler: start the task, wait for it to stop, report its exit codes.
/// During a rollback, or a deliberate downgrade of `images.dify_version`, it reports success
/// without running anything: the older image's migration would run against the already newer
/// schema, and Dify's migrations only move forward. Tested in `tests/tests/migration_handler.rs` with boto3 stubbed.
pub const HANDLER: &str = r#"import json, time, urllib.request
import boto3
ecs = boto3.client("ecs")
cfn = boto3.client("cloudformation")
def reply(event, status, reason, physical_id):
    body = json.dumps({"Status": status, "Reason": reason[:3500], "PhysicalResourceId": physical_id,
                       "StackId": event["StackId"], "RequestId": event["RequestId"],
                       "LogicalResourceId": event["LogicalResourceId"]}).encode()
    req = urllib.request.Request(event["ResponseURL"], data=body, method="PUT",
                                 headers={"Content-Type": ""})
    urllib.request.urlopen(req, timeout=30)
def version(v):
    try:
        return tuple(int(x) for x in v.split("-")[0].split("."))
    except (AttributeError, ValueError):
        return None
def downgrade(event):
    new = version(event["ResourceProperties"].get("DifyVersion"))
    old = version(event.get("OldResourceProperties", {}).get("DifyVersion"))
    return new is not None and old is not None and new < old
def rolling_back(event):
    stacks = cfn.describe_stacks(StackName=event["StackId"])["Stacks"]
    return bool(stacks) and stacks[0]["StackStatus"].endswith("ROLLBACK_IN_PROGRESS")
def handler(event, context):
    physical_id = event.get("PhysicalResourceId") or "dify-migration"
    if event["RequestType"] == "Delete":
        return reply(event, "SUCCESS", "nothing to undo", physical_id)
    p = event["ResourceProperties"]
    try:
        # A rollback brings back the previous image; its upgrade-db would run against a schema
        # that is already newer. Migrations only move forward: leave the schema as it is.
        if event["RequestType"] == "Update" and rolling_back(event):
            return reply(event, "SUCCESS", "rollback: schema kept as migrated", physical_id)
        if event["RequestType"] == "Update" and downgrade(event):
            return reply(event, "SUCCESS", "downgrade: schema kept as migrated", physical_id)
        started = ecs.run_task(cluster=p["Cluster"], taskDefinition=p["TaskDefinition"],
            launchType="FARGATE", count=1, startedBy="cloudformation",
            networkConfiguration={"awsvpcConfiguration": {"subnets": p["Subnets"],
                "securityGroups": p["SecurityGroups"], "assignPublicIp": "DISABLED"}})
        if started["failures"] or not started["tasks"]:
            raise RuntimeError("RunTask failed: %s" % started["failures"])
        arn = started["tasks"][0]["taskArn"]
        print("started", arn)
        while True:
            if context.get_remaining_time_in_millis() < 30000:
                raise RuntimeError("migration task %s still running when the handler timed out" % arn)
            time.sleep(10)
            task = ecs.describe_tasks(cluster=p["Cluster"], tasks=[arn])["tasks"][0]
            if task["lastStatus"] != "STOPPED":
                continue
            codes = {c["name"]: c.get("exitCode") for c in task["containers"]}
            bad = {n: c for n, c in codes.items() if c != 0}
            if bad:
                raise RuntimeError("migration task %s failed: exit codes %s, %s (logs: %s)" % (
                    arn, bad, task.get("stoppedReason", ""), p["LogGroup"]))
            return reply(event, "SUCCESS", "migrated with %s" % p["TaskDefinition"], physical_id)
    except Exception as e:
        print("error:", e)
        return reply(event, "FAILED", str(e), physical_id)
"#;

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
