//! `EcsExec`: a way into a running api task when something breaks, without a bastion. ECS
//! Exec opens a shell (or a Session Manager port forward to Aurora) through the SSM agent ECS
//! injects into the task; every session is encrypted with a KMS key and logged, keystrokes'
//! output included, to a KMS-encrypted CloudWatch log group, and every start is a CloudTrail
//! `ExecuteCommand` event naming who ran it.
//!
//! The pieces (<https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html>):
//! the cluster's `Configuration.ExecuteCommandConfiguration` (key, `Logging: OVERRIDE`, log
//! group with `CloudWatchEncryptionEnabled`), `EnableExecuteCommand` on the service, and on
//! the task role the `ssmmessages` channel actions, the log group and `kms:Decrypt` on the
//! key. The runbook is in docs/operations.md ("Getting into a running task").

use cfn_core::refs::KmsKeyArn;
use cfn_core::{Scope, Value, fns};
use cfn_resources::ecs::cluster as ecs_cluster;
use cfn_resources::logs::LogGroupHandle;
use serde_json::json;

use crate::common::{LogGroupProps, log_group};
use crate::data_key::{DataKey, DataKeyProps};

/// Inputs of [`EcsExec`].
#[derive(Debug, Clone, PartialEq)]
pub struct EcsExecProps {
    /// The environment's name: the session log group is `/dify/<environment>/ecs-exec`.
    /// Default `dev`.
    pub environment: String,
    /// Prefix of the key's alias (`alias/<prefix>-ecs-exec`) when one is created. Default
    /// `dify-dev`.
    pub name_prefix: String,
    /// Days the session logs are kept. Default 30: long enough to answer "who ran what" after
    /// an incident review.
    pub log_retention_days: u32,
    /// The key sessions and their logs are encrypted with. Default `None`: a key of its own
    /// (`Key`), which CloudWatch Logs may use for `/dify/*` log groups only.
    pub kms_key: Option<Value<KmsKeyArn>>,
}

impl Default for EcsExecProps {
    fn default() -> Self {
        EcsExecProps {
            environment: "dev".into(),
            name_prefix: "dify-dev".into(),
            log_retention_days: 30,
            kms_key: None,
        }
    }
}

/// The session key and log group.
#[derive(Debug, Clone)]
pub struct EcsExec {
    /// The key sessions and their logs are encrypted with.
    pub key: Value<KmsKeyArn>,
    /// Where every session's output goes.
    pub log_group: LogGroupHandle,
    log_group_name: String,
}

impl EcsExec {
    /// Creates the key (unless the props give one) and the session log group.
    pub fn new(scope: &mut Scope<'_>, id: &str, props: EcsExecProps) -> EcsExec {
        let mut s = scope.child(id);
        let key = match props.kms_key {
            Some(k) => k,
            None => DataKey::new(
                &mut s,
                "Key",
                DataKeyProps {
                    description: format!("Dify {} ECS Exec sessions", props.environment),
                    alias: Some(format!("alias/{}-ecs-exec", props.name_prefix)),
                },
            )
            .key
            .arn(),
        };
        let log_group_name = format!("/dify/{}/ecs-exec", props.environment);
        let log_group = log_group(
            &mut s,
            "Sessions",
            LogGroupProps {
                name: Some(&log_group_name),
                retention_days: props.log_retention_days,
                kms_key: Some(&key),
            },
        );
        EcsExec {
            key,
            log_group,
            log_group_name,
        }
    }

    /// The cluster's `Configuration`: sessions encrypted with the key and logged to the
    /// encrypted log group.
    pub fn cluster_configuration(&self) -> ecs_cluster::ClusterConfiguration {
        ecs_cluster::ClusterConfiguration::new().execute_command_configuration(
            ecs_cluster::ExecuteCommandConfiguration::new()
                .kms_key_id(self.key.clone())
                .logging(ecs_cluster::Logging::Override)
                .log_configuration(
                    ecs_cluster::ExecuteCommandLogConfiguration::new()
                        .cloud_watch_log_group_name(self.log_group.reference().untyped())
                        .cloud_watch_encryption_enabled(true),
                ),
        )
    }

    /// What the task role of a task operators exec into needs: the SSM agent's channels
    /// (actions with no resource-level permission), the session log group, and the key.
    pub fn task_statements(&self) -> Vec<serde_json::Value> {
        vec![
            json!({
                "Sid": "EcsExecChannels",
                "Effect": "Allow",
                "Action": [
                    "ssmmessages:CreateControlChannel",
                    "ssmmessages:CreateDataChannel",
                    "ssmmessages:OpenControlChannel",
                    "ssmmessages:OpenDataChannel"
                ],
                "Resource": "*"
            }),
            json!({
                "Sid": "EcsExecFindsItsLogGroup",
                "Effect": "Allow",
                "Action": "logs:DescribeLogGroups",
                "Resource": fns::sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*")
            }),
            json!({
                "Sid": "EcsExecWritesSessionLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                "Resource": fns::sub(format!(
                    "arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{}:*",
                    self.log_group_name
                ))
            }),
            json!({
                "Sid": "EcsExecSessionKey",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": self.key
            }),
        ]
    }
}
