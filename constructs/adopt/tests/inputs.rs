//! The two state shapes, addresses, and the import template into a stack that exists.
#![allow(missing_docs, clippy::unwrap_used)]

use cfn_adopt::state::{address_matches, strip_modules};
use cfn_adopt::{Disposition, Mapping, StateError, Target, TerraformState, plan};
use serde_json::json;

const SHOW_JSON: &str = r#"{
  "format_version": "1.0", "terraform_version": "1.9.8",
  "values": {"root_module": {
    "resources": [{"address": "data.aws_vpc.main", "mode": "data", "type": "aws_vpc", "name": "main", "values": {"id": "vpc-1"}}],
    "child_modules": [{"address": "module.dify[\"prd\"]", "resources": [
      {"address": "module.dify[\"prd\"].aws_kms_key.rds[0]", "mode": "managed", "type": "aws_kms_key",
       "name": "rds", "index": 0, "provider_name": "registry.terraform.io/hashicorp/aws",
       "values": {"key_id": "k-1", "arn": "arn:aws:kms:ap-northeast-1:1:key/k-1"}},
      {"address": "module.dify[\"prd\"].aws_cloudwatch_log_group.logs[\"api\"]", "mode": "managed",
       "type": "aws_cloudwatch_log_group", "name": "logs", "index": "api",
       "values": {"name": "/ecs/api", "retention_in_days": 30, "kms_key_id": "arn:aws:kms:ap-northeast-1:1:key/k-1"},
       "depends_on": ["aws_kms_key.rds"]}
    ]}]
  }}
}"#;

#[test]
fn show_json_reads_child_modules_keys_and_skips_data_sources() {
    let s = TerraformState::parse(SHOW_JSON).unwrap();
    let addresses: Vec<&str> = s.resources.iter().map(|r| r.address.as_str()).collect();
    assert_eq!(
        addresses,
        [
            "module.dify[\"prd\"].aws_kms_key.rds[0]",
            "module.dify[\"prd\"].aws_cloudwatch_log_group.logs[\"api\"]"
        ]
    );
    assert_eq!(
        s.resources[1].base_address,
        "module.dify[\"prd\"].aws_cloudwatch_log_group.logs"
    );
    assert_eq!(s.skipped_data_sources, ["data.aws_vpc.main"]);
    assert_eq!(s.terraform_version.as_deref(), Some("1.9.8"));
    assert_eq!(
        strip_modules(&s.resources[1].address),
        "aws_cloudwatch_log_group.logs[\"api\"]"
    );
    assert!(address_matches(
        "aws_cloudwatch_log_group.logs[*]",
        &s.resources[1].address
    ));
    assert!(address_matches(
        "module.dify*.aws_kms_key.rds[0]",
        &s.resources[0].address
    ));
    assert!(!address_matches(
        "aws_kms_key.rds[1]",
        &s.resources[0].address
    ));
}

#[test]
fn raw_state_keys_and_versions() {
    let s = TerraformState::parse(
        r#"{"version": 4, "resources": [{"mode": "managed", "type": "aws_s3_bucket", "name": "b",
            "instances": [{"index_key": "x", "attributes": {"bucket": "b-x"}},
                          {"index_key": "y", "attributes": {"bucket": "b-y"}}]}]}"#,
    )
    .unwrap();
    assert_eq!(s.resources[1].address, "aws_s3_bucket.b[\"y\"]");
    assert_eq!(s.resources[1].attribute("bucket"), Some(&json!("b-y")));
    let e = TerraformState::parse(r#"{"format_version": "2.0", "values": {}}"#).unwrap_err();
    assert!(matches!(e, StateError::UnsupportedFormat { .. }), "{e}");
    let empty = TerraformState::parse(r#"{"format_version": "1.0"}"#).unwrap();
    assert!(
        empty.resources.is_empty(),
        "show -json of an empty state has no values"
    );
    let e =
        TerraformState::parse(r#"{"format_version": "1.2", "planned_values": {}}"#).unwrap_err();
    assert!(e.to_string().contains("plan"), "{e}");
    let e =
        TerraformState::parse(r#"{"version": 4, "resources": [{"mode": "managed"}]}"#).unwrap_err();
    assert!(matches!(e, StateError::Malformed { .. }), "{e}");
    assert!(matches!(
        TerraformState::parse("[]"),
        Err(StateError::NotAState(_))
    ));
}

fn template() -> serde_json::Value {
    json!({"Resources": {
        "Key": {"Type": "AWS::KMS::Key", "Properties": {"Description": "data"},
                "Metadata": {"aws:cdk:path": "s/Key"}},
        "Logs": {"Type": "AWS::Logs::LogGroup", "DependsOn": ["Key", "Other"],
                 "Properties": {"LogGroupName": "/ecs/api", "RetentionInDays": 30,
                                "KmsKeyId": {"Fn::GetAtt": ["Key", "Arn"]}}},
        "Other": {"Type": "AWS::Logs::LogGroup", "Properties": {}}
    }})
}

fn mappings(import_key: bool) -> Vec<Mapping> {
    let mut m = vec![
        Mapping::import(
            "aws_cloudwatch_log_group",
            "*",
            Target::LogicalId("Logs".into()),
        )
        .identifier("LogGroupName", "name")
        .compare("LogGroupName", "name", None)
        .compare("KmsKeyId", "kms_key_id", None),
    ];
    if import_key {
        m.push(
            Mapping::import("aws_kms_key", "*", Target::path("AWS::KMS::Key", "Key"))
                .identifier("KeyId", "key_id")
                .attribute("Arn", "arn"),
        );
    }
    m
}

#[test]
fn references_follow_what_is_imported_and_what_the_stack_already_has() {
    let state = TerraformState::parse(SHOW_JSON).unwrap();
    // The key imported too: the reference resolves to its ARN, which matches, and stays.
    let p = plan(
        &template(),
        &state,
        &mappings(true),
        &cfn_resources::schema_for,
    )
    .unwrap();
    let logs = p
        .resources
        .iter()
        .find(|r| r.logical_id.as_deref() == Some("Logs"))
        .unwrap();
    assert_eq!(logs.disposition, Disposition::Import);
    assert!(logs.differences.is_empty(), "{logs:#?}");
    let t = p.import_template(None).unwrap();
    assert_eq!(
        t["Resources"]["Logs"]["Properties"]["KmsKeyId"],
        json!({"Fn::GetAtt": ["Key", "Arn"]})
    );
    assert_eq!(t["Resources"]["Logs"]["DependsOn"], json!(["Key"]));
    // The hand-off: the log group (which depends on the key, by a module-relative address in
    // show -json) leaves Terraform first.
    assert_eq!(
        p.terraform.state_rm,
        [
            "terraform state rm 'module.dify[\"prd\"].aws_cloudwatch_log_group.logs[\"api\"]'",
            "terraform state rm 'module.dify[\"prd\"].aws_kms_key.rds[0]'"
        ]
    );

    // The key not imported: ours is a new key, the reference is written as today's value.
    let p = plan(
        &template(),
        &state,
        &mappings(false),
        &cfn_resources::schema_for,
    )
    .unwrap();
    let logs = &p.resources[0];
    assert_eq!(logs.differences[0].property, "KmsKeyId");
    assert_eq!(logs.differences[0].ours, json!({"new": "Key.Arn"}));
    let t = p.import_template(None).unwrap();
    assert_eq!(
        t["Resources"]["Logs"]["Properties"]["KmsKeyId"],
        "arn:aws:kms:ap-northeast-1:1:key/k-1"
    );
    assert!(t["Resources"]["Logs"].get("DependsOn").is_none());
    // Into a stack that has the key already: the reference stays, the rest is unchanged.
    let deployed = json!({"Description": "mine", "Resources": {"Key": template()["Resources"]["Key"]},
                          "Outputs": {"K": {"Value": {"Ref": "Key"}}}});
    let t = p.import_template(Some(&deployed)).unwrap();
    assert_eq!(
        t["Resources"]["Logs"]["Properties"]["KmsKeyId"],
        json!({"Fn::GetAtt": ["Key", "Arn"]})
    );
    assert_eq!(t["Outputs"], deployed["Outputs"]);
    assert_eq!(t["Resources"]["Key"], deployed["Resources"]["Key"]);
    assert_eq!(t["Resources"]["Logs"]["DeletionPolicy"], "Retain");
}
