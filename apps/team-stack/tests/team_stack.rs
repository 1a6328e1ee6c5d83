//! The team's stack: what each wire resolves to, the two Dify overrides, and production
//! passing the enforced guardrails.

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
