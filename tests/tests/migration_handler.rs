//! The migration custom resource's Lambda handler (Python, shipped inline in the template),
//! run under python3 with boto3 stubbed and the CloudFormation response captured: what it
//! answers, and which ECS calls it makes, in each situation it meets.
#![allow(missing_docs, clippy::unwrap_used)]

use std::process::Command;

use dify_constructs::migration::HANDLER;
use serde_json::{Value as Json, json};

/// Runs the handler once. `scenario` scripts the stubs: the stack status, what RunTask returns,
/// the task states DescribeTasks walks through, and the time left before the Lambda times out.
fn run(event: Json, scenario: Json) -> (Json, Vec<String>) {
    let dir = std::env::temp_dir().join(format!(
        "migration-handler-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(dir.join("boto3")).unwrap();
    std::fs::write(dir.join("index.py"), HANDLER).unwrap();
    std::fs::write(
        dir.join("boto3/__init__.py"),
        r#"import json, os
SCENARIO = json.loads(os.environ["SCENARIO"])
CALLS = []
class _Ecs:
    def __init__(self):
        self.states = list(SCENARIO.get("tasks", []))
    def run_task(self, **kw):
        CALLS.append("ecs.RunTask " + kw["taskDefinition"])
        return SCENARIO["run_task"]
    def describe_tasks(self, **kw):
        CALLS.append("ecs.DescribeTasks")
        return {"tasks": [self.states.pop(0)]}
class _Cfn:
    def describe_stacks(self, **kw):
        CALLS.append("cloudformation.DescribeStacks")
        return {"Stacks": [{"StackStatus": SCENARIO.get("stack_status", "UPDATE_IN_PROGRESS")}]}
def client(name):
    return {"ecs": _Ecs, "cloudformation": _Cfn}[name]()
"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("harness.py"),
        r#"import json, os, sys, time, urllib.request
sys.path.insert(0, os.path.dirname(__file__))
import boto3, index
time.sleep = lambda s: None
replies = []
def urlopen(req, timeout):
    replies.append(json.loads(req.data))
urllib.request.urlopen = urlopen
class Context:
    def __init__(self, left):
        self.left = list(left)
    def get_remaining_time_in_millis(self):
        return self.left.pop(0) if len(self.left) > 1 else self.left[0]
event = json.loads(os.environ["EVENT"])
index.handler(event, Context(boto3.SCENARIO.get("time_left", [900000])))
print(json.dumps({"replies": replies, "calls": boto3.CALLS}))
"#,
    )
    .unwrap();
    let out = Command::new("python3")
        .arg(dir.join("harness.py"))
        .env("EVENT", event.to_string())
        .env("SCENARIO", scenario.to_string())
        .output()
        .expect("python3 runs");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "harness failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap();
    let result: Json = serde_json::from_str(last).unwrap();
    let replies = result["replies"].as_array().unwrap();
    assert_eq!(
        replies.len(),
        1,
        "exactly one answer to CloudFormation: {replies:?}"
    );
    let calls = result["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (replies[0].clone(), calls)
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

fn event(kind: &str) -> Json {
    json!({
        "RequestType": kind,
        "StackId": "arn:aws:cloudformation:ap-northeast-1:111111111111:stack/dify-dev/x",
        "RequestId": "r-1",
        "LogicalResourceId": "AppMigrationRun",
        "PhysicalResourceId": "dify-migration",
        "ResponseURL": "https://example.invalid/response",
        "ResourceProperties": {
            "Cluster": "dify-dev",
            "TaskDefinition": "arn:aws:ecs:ap-northeast-1:111111111111:task-definition/dify-dev-migration:7",
            "Subnets": ["subnet-1"],
            "SecurityGroups": ["sg-1"],
            "LogGroup": "/dify/dev/migration"
        }
    })
}

fn started() -> Json {
    json!({"failures": [], "tasks": [{"taskArn": "arn:aws:ecs:task/abc"}]})
}

fn stopped(bootstrap: i64, migrate: i64) -> Json {
    json!({"lastStatus": "STOPPED", "stoppedReason": "Essential container in task exited",
           "containers": [{"name": "bootstrap", "exitCode": bootstrap}, {"name": "migrate", "exitCode": migrate}]})
}

#[test]
fn a_successful_migration_reports_success_after_the_task_stops() {
    let (reply, calls) = run(
        event("Update"),
        json!({"run_task": started(), "tasks": [{"lastStatus": "RUNNING", "containers": []}, stopped(0, 0)]}),
    );
    assert_eq!(reply["Status"], "SUCCESS");
    assert_eq!(reply["PhysicalResourceId"], "dify-migration");
    assert!(
        reply["Reason"]
            .as_str()
            .unwrap()
            .contains("dify-dev-migration:7")
    );
    assert_eq!(
        calls,
        [
            "cloudformation.DescribeStacks",
            "ecs.RunTask arn:aws:ecs:ap-northeast-1:111111111111:task-definition/dify-dev-migration:7",
            "ecs.DescribeTasks",
            "ecs.DescribeTasks"
        ]
    );
}

#[test]
fn a_failed_container_fails_the_resource_with_its_exit_code_and_logs() {
    let (reply, _) = run(
        event("Create"),
        json!({"run_task": started(), "tasks": [stopped(0, 1)]}),
    );
    assert_eq!(reply["Status"], "FAILED");
    let reason = reply["Reason"].as_str().unwrap();
    assert!(reason.contains("'migrate': 1"), "{reason}");
    assert!(reason.contains("/dify/dev/migration"), "{reason}");
}

#[test]
fn a_rollback_keeps_the_migrated_schema_and_runs_nothing() {
    let (reply, calls) = run(
        event("Update"),
        json!({"stack_status": "UPDATE_ROLLBACK_IN_PROGRESS", "run_task": started()}),
    );
    assert_eq!(reply["Status"], "SUCCESS");
    assert_eq!(calls, ["cloudformation.DescribeStacks"]);
}

#[test]
fn a_downgrade_keeps_the_migrated_schema_and_runs_nothing() {
    let mut e = event("Update");
    e["ResourceProperties"]["DifyVersion"] = json!("1.13.2");
    e["OldResourceProperties"] = json!({"DifyVersion": "1.13.3"});
    let (reply, calls) = run(e, json!({"run_task": started()}));
    assert_eq!(reply["Status"], "SUCCESS");
    assert!(reply["Reason"].as_str().unwrap().starts_with("downgrade"));
    assert_eq!(calls, ["cloudformation.DescribeStacks"]);
}

#[test]
fn an_upgrade_migrates() {
    let mut e = event("Update");
    e["ResourceProperties"]["DifyVersion"] = json!("1.14.0");
    e["OldResourceProperties"] = json!({"DifyVersion": "1.13.3"});
    let (reply, calls) = run(e, json!({"run_task": started(), "tasks": [stopped(0, 0)]}));
    assert_eq!(reply["Status"], "SUCCESS");
    assert!(calls.iter().any(|c| c.starts_with("ecs.RunTask")));
}

#[test]
fn delete_has_nothing_to_undo() {
    let (reply, calls) = run(event("Delete"), json!({}));
    assert_eq!(reply["Status"], "SUCCESS");
    assert!(calls.is_empty());
}

#[test]
fn a_task_that_cannot_start_fails_the_resource() {
    let (reply, _) = run(
        event("Create"),
        json!({"run_task": {"failures": [{"reason": "RESOURCE:ENI"}], "tasks": []}}),
    );
    assert_eq!(reply["Status"], "FAILED");
    assert!(reply["Reason"].as_str().unwrap().contains("RESOURCE:ENI"));
}

#[test]
fn a_migration_outliving_the_handler_fails_instead_of_hanging() {
    let (reply, _) = run(
        event("Create"),
        json!({"run_task": started(), "time_left": [900000, 20000],
               "tasks": [{"lastStatus": "RUNNING", "containers": []}]}),
    );
    assert_eq!(reply["Status"], "FAILED");
    assert!(reply["Reason"].as_str().unwrap().contains("still running"));
}
