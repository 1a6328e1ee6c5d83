//! Drift: what was changed on a deployed stack's resources outside CloudFormation
//! (`DetectStackDrift`, then the resource-level report).

use std::time::{Duration, Instant};

use crate::aws::{Aws, AwsError};
use crate::error::DeployError;

/// One resource whose live configuration differs from its template, or that was deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceDrift {
    /// Logical ID.
    pub logical_id: String,
    /// Type.
    pub resource_type: String,
    /// `MODIFIED` or `DELETED`.
    pub status: String,
    /// The properties that differ: path, expected and actual value, and how.
    pub differences: Vec<PropertyDifference>,
}

/// One property that differs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PropertyDifference {
    /// `/Properties/VisibilityTimeout`.
    pub path: String,
    /// The template's value (JSON text).
    pub expected: String,
    /// The live value (JSON text).
    pub actual: String,
    /// `ADD`, `REMOVE` or `NOT_EQUAL`.
    pub kind: String,
}

/// The stack-level result and the drifted resources.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DriftReport {
    /// `IN_SYNC`, `DRIFTED`, `NOT_CHECKED` or `UNKNOWN`.
    pub status: String,
    /// Resources checked that drifted (modified or deleted).
    pub drifted: Vec<ResourceDrift>,
}

/// Starts drift detection on `stack`, waits for it (polling every `interval`, at most
/// `deadline`), and reads the drifted resources, every page of them.
pub async fn detect(
    aws: &Aws,
    stack: &str,
    interval: Duration,
    deadline: Duration,
) -> Result<DriftReport, DeployError> {
    let id = aws
        .call("cloudformation", "DetectStackDrift", || {
            aws.cfn.detect_stack_drift().stack_name(stack).send()
        })
        .await?
        .stack_drift_detection_id()
        .unwrap_or_default()
        .to_owned();
    let started = Instant::now();
    let status = loop {
        let s = aws
            .call(
                "cloudformation",
                "DescribeStackDriftDetectionStatus",
                || {
                    aws.cfn
                        .describe_stack_drift_detection_status()
                        .stack_drift_detection_id(&id)
                        .send()
                },
            )
            .await?;
        match s.detection_status().map(|d| d.as_str()) {
            Some("DETECTION_COMPLETE") => {
                break s.stack_drift_status().map(|d| d.as_str().to_owned());
            }
            Some("DETECTION_FAILED") => {
                return Err(DeployError::Unexpected {
                    stack: stack.to_owned(),
                    message: format!(
                        "drift detection failed: {}",
                        s.detection_status_reason().unwrap_or("no reason given")
                    ),
                });
            }
            _ if started.elapsed() > deadline => {
                return Err(DeployError::Unexpected {
                    stack: stack.to_owned(),
                    message: format!(
                        "drift detection {id} still running after {}s; it carries on in CloudFormation",
                        deadline.as_secs()
                    ),
                });
            }
            _ => tokio::time::sleep(interval).await,
        }
    };
    Ok(DriftReport {
        status: status.unwrap_or_else(|| "UNKNOWN".into()),
        drifted: drifted_resources(aws, stack).await?,
    })
}

async fn drifted_resources(aws: &Aws, stack: &str) -> Result<Vec<ResourceDrift>, AwsError> {
    use aws_sdk_cloudformation::types::StackResourceDriftStatus as S;
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = aws
            .call("cloudformation", "DescribeStackResourceDrifts", || {
                aws.cfn
                    .describe_stack_resource_drifts()
                    .stack_name(stack)
                    .stack_resource_drift_status_filters(S::Modified)
                    .stack_resource_drift_status_filters(S::Deleted)
                    .set_next_token(token.clone())
                    .send()
            })
            .await?;
        all.extend(out.stack_resource_drifts().iter().map(|d| {
            ResourceDrift {
                logical_id: d.logical_resource_id().unwrap_or_default().to_owned(),
                resource_type: d.resource_type().unwrap_or_default().to_owned(),
                status: d
                    .stack_resource_drift_status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                differences: d
                    .property_differences()
                    .iter()
                    .map(|p| PropertyDifference {
                        path: p.property_path().unwrap_or_default().to_owned(),
                        expected: p.expected_value().unwrap_or_default().to_owned(),
                        actual: p.actual_value().unwrap_or_default().to_owned(),
                        kind: p
                            .difference_type()
                            .map(|k| k.as_str().to_owned())
                            .unwrap_or_default(),
                    })
                    .collect(),
            }
        }));
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(all),
        }
    }
}
