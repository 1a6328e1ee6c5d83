//! `Jobs`: a queue of work items, a Lambda function that consumes them inside a VPC, and a
//! table where it writes results. Every wire between them is a typed reference: the function
//! takes its role's ARN (`refs::RoleArn`), its subnets (`refs::SubnetId`) and its security
//! group (`refs::SecurityGroupId`), so none of them can be swapped for another string. Its
//! code is a file asset: `handler.py`, zipped at synth, uploaded by `deploy` to the staging
//! bucket and referred to by bucket and key.

use std::path::PathBuf;

use cfn_assets::{FileAsset, FileAssetProps};
use cfn_core::refs::{SubnetId, VpcId};
use cfn_core::{Json, RemovalPolicy, Scope, Value, fns, pseudo};
use cfn_resources::dynamodb::table::{
    AttributeDefinition, PointInTimeRecoverySpecification, SseSpecification,
};
use cfn_resources::dynamodb::{Table, TableHandle};
use cfn_resources::ec2::{SecurityGroup, SecurityGroupHandle};
use cfn_resources::iam::role::Policy;
use cfn_resources::iam::{Role, RoleHandle};
use cfn_resources::lambda::function::{Environment, VpcConfig};
use cfn_resources::lambda::{EventSourceMapping, Function, FunctionHandle};
use cfn_resources::sqs::{Queue, QueueHandle};
use indexmap::IndexMap;
use serde_json::json;

/// The handler the function runs (`handler.handler`): it stores each message body under its
/// message id. Read at synth time, from the crate's sources wherever the binary runs.
pub const HANDLER_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/handler.py");

/// Inputs of [`Jobs`].
#[derive(Clone, Debug)]
pub struct JobsProps {
    /// The VPC the function runs in.
    pub vpc_id: Value<VpcId>,
    /// The private subnets the function's network interfaces go in.
    pub subnets: Vec<Value<SubnetId>>,
    /// How long a message stays invisible after a receive, in seconds. Default: 60, which
    /// must stay above the function's timeout or messages are processed twice.
    pub visibility_timeout_seconds: u32,
    /// The function's timeout, in seconds. Default: 30.
    pub timeout_seconds: u32,
    /// Messages per invocation. Default: 10.
    pub batch_size: u32,
    /// The function's code: a Python file defining `handler(event, context)`, packaged as a
    /// file asset. Default: [`HANDLER_PATH`].
    pub handler_path: PathBuf,
}

impl JobsProps {
    /// Props with the defaults above, in a VPC and its subnets.
    pub fn new(vpc_id: Value<VpcId>, subnets: Vec<Value<SubnetId>>) -> JobsProps {
        JobsProps {
            vpc_id,
            subnets,
            visibility_timeout_seconds: 60,
            timeout_seconds: 30,
            batch_size: 10,
            handler_path: PathBuf::from(HANDLER_PATH),
        }
    }
}

/// The queue, the table, the function and what connects them.
#[derive(Clone, Debug)]
pub struct Jobs {
    /// The work queue.
    pub queue: QueueHandle,
    /// The results table (key `id`).
    pub table: TableHandle,
    /// The consumer.
    pub function: FunctionHandle,
    /// The consumer's execution role.
    pub role: RoleHandle,
    /// The consumer's security group (egress only).
    pub security_group: SecurityGroupHandle,
    /// The consumer's code.
    pub code: FileAsset,
}

impl Jobs {
    /// Adds the jobs pipeline under `scope/id`.
    pub fn new(scope: &mut Scope<'_>, id: &str, props: JobsProps) -> Jobs {
        let mut scope = scope.child(id);
        let queue = scope.add("Queue", queue(&props));
        let table = scope.add("Table", table());
        // The results outlive the stack: deleting or replacing it must not drop the table.
        scope
            .stack()
            .resource(&table)
            .removal_policy(RemovalPolicy::Retain);
        let role = scope.add("Role", role(&queue, &table));
        let security_group = scope.add("SecurityGroup", security_group(&props));
        let code = FileAsset::new(
            &mut scope,
            "Code",
            FileAssetProps::new(props.handler_path.clone()),
        );
        let function = scope.add(
            "Function",
            function(&props, &role, &security_group, &table, &code),
        );
        scope.add(
            "Trigger",
            EventSourceMapping::builder()
                .function_name(function.reference())
                .build()
                .event_source_arn(queue.arn())
                .batch_size(props.batch_size),
        );
        Jobs {
            queue,
            table,
            function,
            role,
            security_group,
            code,
        }
    }
}

fn queue(props: &JobsProps) -> Queue {
    Queue::new()
        .visibility_timeout(props.visibility_timeout_seconds)
        .sqs_managed_sse_enabled(true)
}

fn table() -> Table {
    Table::builder()
        .key_schema(serde_json::json!([{"AttributeName": "id", "KeyType": "HASH"}]))
        .build()
        .attribute_definitions(vec![
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type("S")
                .build(),
        ])
        .billing_mode("PAY_PER_REQUEST")
        .sse_specification(SseSpecification::builder().sse_enabled(true).build())
        .point_in_time_recovery_specification(
            PointInTimeRecoverySpecification::new().point_in_time_recovery_enabled(true),
        )
}

/// Least privilege: receive from this queue, write to this table, and the VPC and log
/// permissions of the AWS managed policy for VPC Lambdas.
fn role(queue: &QueueHandle, table: &TableHandle) -> Role {
    let assume = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole"
        }]
    });
    let statements = json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
                "Resource": Json::from(queue.arn())
            },
            {
                "Effect": "Allow",
                "Action": ["dynamodb:PutItem"],
                "Resource": Json::from(table.arn())
            }
        ]
    });
    Role::builder()
        .assume_role_policy_document(assume)
        .build()
        .managed_policy_arns(vec![fns::sub(
            "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole",
        )])
        .policies(vec![
            Policy::builder()
                .policy_name("jobs")
                .policy_document(statements)
                .build(),
        ])
}

fn security_group(props: &JobsProps) -> SecurityGroup {
    SecurityGroup::builder()
        .group_description("Jobs consumer: no inbound, HTTPS out to AWS APIs")
        .build()
        .vpc_id(props.vpc_id.clone())
        .security_group_egress(vec![
            cfn_resources::ec2::security_group::Egress::builder()
                .ip_protocol("tcp")
                .build()
                .cidr_ip("0.0.0.0/0")
                .from_port(443)
                .to_port(443)
                .description("AWS APIs (SQS, DynamoDB) over HTTPS"),
        ])
}

fn function(
    props: &JobsProps,
    role: &RoleHandle,
    security_group: &SecurityGroupHandle,
    table: &TableHandle,
    code: &FileAsset,
) -> Function {
    let mut variables: IndexMap<String, Value<Json>> = IndexMap::new();
    variables.insert(
        "TABLE_NAME".into(),
        Value::Literal(table.reference().into()),
    );
    variables.insert("REGION".into(), Value::Literal(pseudo::region().into()));
    Function::builder()
        .code(code.lambda_code())
        .role(role.arn())
        .build()
        .runtime("python3.12")
        .handler("handler.handler")
        .timeout(props.timeout_seconds)
        .environment(Environment::new().variables(variables))
        .vpc_config(
            VpcConfig::new()
                .subnet_ids(props.subnets.clone())
                .security_group_ids(vec![security_group.group_id()]),
        )
}
