//! The team's stack: what each wire resolves to, the handler shipped as a file asset, the two
//! Dify overrides, and production passing the enforced guardrails.

use cfn_core::assertions::{Match, Template};
use serde_json::json;
use team_stack::stack::{TeamEnv, team_stack};

fn template(env: &TeamEnv) -> Template {
    let stack = team_stack(env).expect("valid settings");
    Template::from_synthesized(&stack.synth().expect("synthesizes"))
}

#[test]
fn the_function_runs_in_difys_private_subnets_with_its_own_role_and_group() {
    let t = template(&TeamEnv::dev());
    let role = t.logical_id_at("team-dev/Jobs/Role").to_owned();
    let sg = t.logical_id_at("team-dev/Jobs/SecurityGroup").to_owned();
    let subnet_a = t.logical_id_at("team-dev/Dify/Network/Private0").to_owned();
    t.has_resource_properties(
        "AWS::Lambda::Function",
        json!({
            "Role": {"Fn::GetAtt": [role, "Arn"]},
            "Runtime": "python3.12",
            "VpcConfig": {
                "SecurityGroupIds": [{"Fn::GetAtt": [sg, "GroupId"]}],
                "SubnetIds": Match::array_with(json!([{"Fn::GetAtt": [subnet_a, "SubnetId"]}]))
            }
        }),
    );
}

#[test]
fn the_handler_is_a_file_asset_in_the_staging_bucket_shared_by_both_environments() {
    let dev = team_stack(&TeamEnv::dev()).expect("valid settings");
    let out = dev.synth().expect("synthesizes");
    assert_eq!(out.assets.len(), 1, "one asset: the handler");
    let asset = &out.assets[0];
    assert_eq!(asset.source(), team_stack::jobs::HANDLER_PATH);
    Template::from_synthesized(&out).has_resource_properties(
        "AWS::Lambda::Function",
        json!({
            "Handler": "handler.handler",
            "Code": {
                "S3Bucket": {"Fn::Sub": "cfn-deploy-staging-${AWS::AccountId}-${AWS::Region}"},
                "S3Key": format!("assets/{}.zip", asset.hash())
            }
        }),
    );
    // The zip holds the handler under the name the Handler property imports.
    let zip = String::from_utf8_lossy(asset.bytes()).into_owned();
    assert!(asset.bytes().starts_with(b"PK\x03\x04"), "a zip");
    assert!(zip.contains("handler.py"), "the entry is handler.py");
    // Production ships the same bytes: one object in each account's staging bucket.
    let prd = team_stack(&TeamEnv::prd()).expect("valid settings");
    let prd = prd.synth().expect("synthesizes");
    assert_eq!(prd.assets[0].hash(), asset.hash());
    // And synthesis stays byte-identical run to run.
    let again = dev.synth().expect("synthesizes");
    assert_eq!(again.body, out.body);
    assert_eq!(again.assets, out.assets);
}

#[test]
fn a_missing_handler_fails_synthesis_at_the_code_construct() {
    use cfn_core::Stack;
    use team_stack::jobs::{Jobs, JobsProps};
    let mut stack = Stack::new("team-test");
    let mut props = JobsProps::new("vpc-0abc".into(), vec!["subnet-0abc".into()]);
    props.handler_path = "does/not/exist.py".into();
    Jobs::new(&mut stack.root(), "Jobs", props);
    let err = stack.synth().expect_err("no handler, no stack").to_string();
    assert!(
        err.contains("error[asset-missing] team-test/Jobs/Code: asset does/not/exist.py: no such file or directory"),
        "{err}"
    );
}

#[test]
fn the_queue_triggers_the_function_and_the_role_reaches_only_its_queue_and_table() {
    let t = template(&TeamEnv::dev());
    let queue = t.logical_id_at("team-dev/Jobs/Queue").to_owned();
    let table = t.logical_id_at("team-dev/Jobs/Table").to_owned();
    let function = t.logical_id_at("team-dev/Jobs/Function").to_owned();
    t.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        json!({"EventSourceArn": {"Fn::GetAtt": [queue, "Arn"]}, "FunctionName": {"Ref": function}}),
    );
    t.has_resource_properties(
        "AWS::IAM::Role",
        json!({"Policies": [{"PolicyDocument": {"Statement": [
            {"Resource": {"Fn::GetAtt": [queue, "Arn"]}},
            {"Action": ["dynamodb:PutItem"], "Resource": {"Fn::GetAtt": [table, "Arn"]}}
        ]}}]}),
    );
    t.has_resource(
        "AWS::DynamoDB::Table",
        json!({"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}),
    );
    t.has_resource_properties("AWS::SQS::Queue", json!({"SqsManagedSseEnabled": true}));
}

#[test]
fn the_two_dify_overrides_apply() {
    let t = template(&TeamEnv::dev());
    // Log retention: every Dify log group keeps 90 days (the settings say 30 by default).
    let groups = t.find_resources("AWS::Logs::LogGroup", json!({}));
    assert!(!groups.is_empty());
    for (id, group) in groups {
        assert_eq!(group["Properties"]["RetentionInDays"], 90, "{id}");
    }
    // The WAF: present (the settings have none) and counting outside production.
    t.resource_count_is("AWS::WAFv2::WebACL", 1);
    t.has_resource_properties(
        "AWS::WAFv2::WebACL",
        json!({"Rules": Match::array_with(json!([{"Action": {"Count": {}}}]))}),
    );
}

#[test]
fn production_passes_the_enforced_guardrails_and_blocks() {
    let t = template(&TeamEnv::prd());
    t.has_resource_properties(
        "AWS::WAFv2::WebACL",
        json!({"Rules": Match::array_with(json!([{"Action": {"Block": {}}}]))}),
    );
    t.resource_count_is("AWS::Lambda::Function", 2);
}
