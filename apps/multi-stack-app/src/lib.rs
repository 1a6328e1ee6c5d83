//! An environment of three stacks that refer to each other, the shape platform teams use to
//! deploy and change parts of a system separately:
//!
//! - `<Env>Storage`: an SQS queue and an S3 bucket;
//! - `<Env>Data`: a DynamoDB table;
//! - `<Env>Worker`: a Lambda function (its code a file asset, `handler/worker.py`) and its
//!   role, using the queue, the bucket and the table of the other two stacks.
//!
//! The worker's references to the other stacks' handles become exports and `Fn::ImportValue`
//! at synth (`cfn_core::cross_stack`), so `deploy dev --all` deploys Storage and Data side by
//! side, then Worker; `destroy dev --all` goes the other way.
//!
//! ```
//! use cfn_deploy::project::Project;
//! let p = multi_stack_app::MultiStackProject;
//! let out = p.synth(&p.environments().unwrap()[0]).unwrap();
//! let names: Vec<&str> = out.stacks.iter().map(|s| s.stack_name.as_str()).collect();
//! assert_eq!(names, ["DevStorage", "DevData", "DevWorker"]);
//! assert_eq!(out.stacks[2].dependencies, ["DevData", "DevStorage"]);
//! ```

use std::path::{Path, PathBuf};

use cfn_assets::{FileAsset, FileAssetProps};
use cfn_core::{App, Json, Output, Scope, Stack, Value, fns};
use cfn_deploy::project::{Environment, Project, ProjectError, SynthErrors, SynthOutput};
use cfn_resources::dynamodb::Table;
use cfn_resources::dynamodb::table::{AttributeDefinition, SseSpecification};
use cfn_resources::iam::Role;
use cfn_resources::iam::role::Policy;
use cfn_resources::lambda::Function;
use cfn_resources::lambda::function::Environment as FunctionEnvironment;
use cfn_resources::s3::Bucket;
use cfn_resources::sqs::{Queue, QueueHandle};
use indexmap::IndexMap;
use serde_json::json;

/// The worker's code, read at synth time from the crate's sources wherever the binary runs.
pub const HANDLER_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/handler/worker.py");

/// The example's app: environments `dev` and `stg`, three stacks each.
#[derive(Clone, Copy, Debug, Default)]
pub struct MultiStackProject;

impl Project for MultiStackProject {
    fn name(&self) -> &str {
        "multi-stack-app"
    }

    fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }

    /// Beside the app, never the repository's `cfn-out/` (dify-app's committed templates).
    fn out_dir(&self) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("cfn-out")
    }

    fn environments(&self) -> Result<Vec<Environment>, ProjectError> {
        Ok(["dev", "stg"]
            .iter()
            .map(|name| {
                Environment::new(*name)
                    .stack_name(format!("{}Worker", prefix(name)))
                    .region("us-east-1")
                    .tag("example", "multi-stack")
            })
            .collect())
    }

    fn synth(&self, env: &Environment) -> Result<SynthOutput, ProjectError> {
        Ok(app(&prefix(&env.name))
            .synth()
            .map_err(SynthErrors::from)?
            .into())
    }
}

/// `dev` → `Dev`.
fn prefix(env: &str) -> String {
    let mut c = env.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The three stacks of an environment whose stack names start with `prefix`.
pub fn app(prefix: &str) -> App {
    let mut storage = Stack::new(format!("{prefix}Storage"));
    let (queue, bucket) = {
        let mut root = storage.root();
        let queue = root.add("Queue", Queue::new().sqs_managed_sse_enabled(true));
        let bucket = root.add("Bucket", Bucket::new());
        (queue, bucket)
    };
    let mut data = Stack::new(format!("{prefix}Data"));
    let table = data.root().add("Table", table());
    let mut worker = Stack::new(format!("{prefix}Worker"));
    let function = {
        let mut root = worker.root();
        let role = root.add("Role", role(&queue, &bucket.arn(), &table.arn()));
        let code = FileAsset::new(&mut root, "Code", FileAssetProps::new(HANDLER_PATH));
        let mut variables: IndexMap<String, Value<Json>> = IndexMap::new();
        variables.insert(
            "BUCKET_NAME".into(),
            Value::Literal(bucket.reference().into()),
        );
        variables.insert(
            "TABLE_NAME".into(),
            Value::Literal(table.reference().into()),
        );
        // An SQS queue's Ref is its URL.
        variables.insert("QUEUE_URL".into(), Value::Literal(queue.reference().into()));
        add_function(&mut root, &code, &role, variables)
    };
    worker.add_output("FunctionName", Output::new(function.reference()));
    let mut app = App::new();
    app.add_stack(storage);
    app.add_stack(data);
    app.add_stack(worker);
    app
}

fn table() -> Table {
    Table::builder()
        .key_schema(json!([{"AttributeName": "id", "KeyType": "HASH"}]))
        .build()
        .attribute_definitions(vec![
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type("S")
                .build(),
        ])
        .billing_mode("PAY_PER_REQUEST")
        .sse_specification(SseSpecification::builder().sse_enabled(true).build())
}

/// Least privilege on the other stacks' resources: receive from the queue, write objects to
/// the bucket, put items in the table.
fn role(queue: &QueueHandle, bucket_arn: &Value<String>, table_arn: &Value<String>) -> Role {
    let assume = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole"
        }]
    });
    let objects = fns::join("", vec![bucket_arn.clone(), "/messages/*".into()]);
    let statements = json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow",
             "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
             "Resource": Json::from(queue.arn())},
            {"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": Json::from(objects)},
            {"Effect": "Allow", "Action": ["dynamodb:PutItem"], "Resource": Json::from(table_arn.clone())}
        ]
    });
    Role::builder()
        .assume_role_policy_document(assume)
        .build()
        .policies(vec![
            Policy::builder()
                .policy_name("worker")
                .policy_document(statements)
                .build(),
        ])
}

fn add_function(
    scope: &mut Scope<'_>,
    code: &FileAsset,
    role: &cfn_resources::iam::RoleHandle,
    variables: IndexMap<String, Value<Json>>,
) -> cfn_resources::lambda::FunctionHandle {
    scope.add(
        "Function",
        Function::builder()
            .code(code.lambda_code())
            .role(role.arn())
            .build()
            .runtime("python3.12")
            .handler("worker.handler")
            .timeout(30)
            .environment(FunctionEnvironment::new().variables(variables)),
    )
}
