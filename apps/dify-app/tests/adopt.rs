//! `dify-app adopt` on the seed's Terraform state (tests/fixtures/terraform): the shipped prd
//! environment differs from what the seed's module created, so the plan refuses and says what
//! to set; the JSON plan carries the same. Planning is offline: no AWS endpoint is reachable
//! here, and none is needed.
#![allow(missing_docs)]

use std::path::PathBuf;
use std::process::{Command, Output};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/terraform/seed-prd.tfstate.json")
}

fn adopt(extra: &[&str]) -> Output {
    let state = fixture();
    let mut args = vec![
        "adopt",
        "prd",
        "--terraform-state",
        state.to_str().expect("utf-8 path"),
    ];
    args.extend_from_slice(extra);
    Command::new(env!("CARGO_BIN_EXE_dify-app"))
        .args(&args)
        // Any AWS call would fail against this endpoint: the plan must not make one.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("run dify-app")
}

#[test]
fn the_shipped_prd_environment_is_refused_with_what_to_set() {
    let o = adopt(&[]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("aws_rds_cluster.dify"), "{out}");
    assert!(
        out.contains("Set in the environment file to match what exists:"),
        "{out}"
    );
    assert!(out.contains("Not importable as planned"), "{out}");
}

#[test]
fn the_json_plan_lists_the_stateful_imports_and_the_settings() {
    let o = adopt(&["--json"]);
    assert_eq!(o.status.code(), Some(3));
    let plan: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let imported: Vec<&str> = plan["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter(|r| r["disposition"] != "created_new" && r["disposition"] != "left_to_terraform")
        .filter_map(|r| r["resource_type"].as_str())
        .collect();
    for ty in [
        "AWS::RDS::DBCluster",
        "AWS::RDS::DBInstance",
        "AWS::ElastiCache::ReplicationGroup",
        "AWS::S3::Bucket",
        "AWS::Logs::LogGroup",
    ] {
        assert!(imported.contains(&ty), "{ty} in {imported:?}");
    }
    assert!(
        !plan["env_changes"].as_array().expect("changes").is_empty(),
        "the shipped prd differs from the seed's"
    );
}
