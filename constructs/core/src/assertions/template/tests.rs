#![allow(clippy::unwrap_used)]

use serde_json::json;

use super::*;
use crate::assertions::Match;
use crate::rules::{Enforcement, Rule, RuleContext, RulePack};
use crate::{RemovalPolicy, Severity};

fn bucket_stack() -> Stack {
    let mut stack = Stack::new("Demo");
    let mut root = stack.root();
    let mut storage = root.child("Storage");
    let files = storage.add_raw(
        "Files",
        "AWS::S3::Bucket",
        None,
        json!({"VersioningConfiguration": {"Status": "Enabled"}, "BucketName": "files"}),
    );
    storage.add_raw(
        "Logs",
        "AWS::S3::Bucket",
        None,
        json!({"BucketName": "logs"}),
    );
    storage.add_raw("Queue", "AWS::SQS::Queue", None, json!({}));
    stack.resource(&files).removal_policy(RemovalPolicy::Retain);
    stack.add_output(
        "FilesBucket",
        crate::Output::new::<String>(files.reference::<String>()).description("the files"),
    );
    stack
}

#[test]
fn resource_assertions_pass_on_a_match() {
    let t = Template::from_stack(&bucket_stack());
    t.resource_count_is("AWS::S3::Bucket", 2);
    t.resource_count_is("AWS::SNS::Topic", 0);
    t.has_resource_properties("AWS::S3::Bucket", json!({"BucketName": "logs"}));
    t.has_resource_properties("AWS::SQS::Queue", json!({}));
    t.has_resource(
        "AWS::S3::Bucket",
        json!({"DeletionPolicy": "Retain", "Properties": {"BucketName": "files"}}),
    );
    let found = t.find_resources("AWS::S3::Bucket", json!({"DeletionPolicy": "Retain"}));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, t.logical_id_at("Demo/Storage/Files"));
    assert_eq!(t.find_resources("AWS::S3::Bucket", json!({})).len(), 2);
    t.has_output("FilesBucket", json!({"Description": "the files"}));
    t.has_output("*", json!({"Value": {"Ref": Match::any_value()}}));
}

#[test]
fn a_failed_property_match_names_the_closest_candidate_and_the_mismatch() {
    let t = Template::from_stack(&bucket_stack());
    let id = t.logical_id_at("Demo/Storage/Files").to_owned();
    let msg = t
        .try_has(
            "AWS::S3::Bucket",
            &json!({"VersioningConfiguration": {"Status": "Suspended"}, "BucketName": "files"}),
            Part::Properties,
        )
        .unwrap_err();
    assert!(
        msg.starts_with(&format!(
            "no AWS::S3::Bucket has the expected properties (2 resources of that type)\n\
             closest: {id} (Demo/Storage/Files), 1 mismatch:\n  \
             at Properties.VersioningConfiguration.Status: expected \"Suspended\", found \"Enabled\"\n\
             expected (partial match): {{\"VersioningConfiguration\": {{\"Status\": \"Suspended\"}}, \"BucketName\": \"files\"}}\n\
             Properties of {id}:\n  {{\n"
        )),
        "{msg}"
    );
    assert!(msg.contains("other candidates: StorageLogs"), "{msg}");
    assert!(msg.contains("(2 mismatches)"), "{msg}");
}

#[test]
fn a_missing_type_lists_the_types_present_and_a_likely_spelling() {
    let t = Template::from_stack(&bucket_stack());
    let msg = t
        .try_has("AWS::S3::bucket", &json!({}), Part::Properties)
        .unwrap_err();
    assert_eq!(
        msg,
        "no AWS::S3::bucket has the expected properties: the template has no resource of that type; \
         did you mean AWS::S3::Bucket?\ntypes present: AWS::S3::Bucket (2), AWS::SQS::Queue (1)"
    );
    let msg = t.try_resource_count_is("AWS::S3::Bucket", 1).unwrap_err();
    assert!(
        msg.starts_with("expected 1 resource(s) of type AWS::S3::Bucket, found 2:\n  "),
        "{msg}"
    );
    assert!(msg.contains("(Demo/Storage/Logs)"), "{msg}");
}

#[test]
fn a_failed_whole_resource_match_shows_the_resource() {
    let t = Template::from_stack(&bucket_stack());
    let msg = t
        .try_has(
            "AWS::SQS::Queue",
            &json!({"DeletionPolicy": "Retain"}),
            Part::Whole,
        )
        .unwrap_err();
    assert!(
        msg.contains("no AWS::SQS::Queue matches the expected resource (1 resource of that type)"),
        "{msg}"
    );
    assert!(
        msg.contains("at DeletionPolicy: expected \"Retain\", found nothing"),
        "{msg}"
    );
    assert!(
        msg.contains("\"aws:cdk:path\": \"Demo/Storage/Queue\""),
        "{msg}"
    );
}

#[test]
fn output_and_parameter_failures_list_what_exists() {
    let mut stack = bucket_stack();
    let p = stack.add_parameter(
        "Env",
        crate::Parameter::new(crate::ParameterType::String).default_value("dev"),
    );
    stack.add_output("Env", crate::Output::new(p.value()));
    let t = Template::from_stack(&stack);
    t.has_parameter("Env", json!({"Type": "String", "Default": "dev"}));
    let msg = t
        .try_section("Parameters", "parameter", "Env", &json!({"Default": "prd"}))
        .unwrap_err();
    assert!(
        msg.starts_with("parameter 'Env' does not match:\n  at Parameters.Env.Default: expected \"prd\", found \"dev\""),
        "{msg}"
    );
    let msg = t
        .try_section("Outputs", "output", "Url", &json!({}))
        .unwrap_err();
    assert_eq!(msg, "no output 'Url'; the template has: FilesBucket, Env");
}

#[test]
#[should_panic(expected = "at Properties.BucketName: expected \"nope\", found")]
fn has_resource_properties_panics_with_the_message() {
    Template::from_stack(&bucket_stack())
        .has_resource_properties("AWS::S3::Bucket", json!({"BucketName": "nope"}));
}

#[test]
#[should_panic(expected = "Template::from_stack: the stack does not synthesize")]
fn from_stack_panics_on_an_invalid_stack() {
    let mut stack = Stack::new("Demo");
    stack.root().add_raw(
        "Topic",
        "AWS::SNS::Topic",
        None,
        json!({"KmsMasterKeyId": {"Ref": "Nowhere"}}),
    );
    Template::from_stack(&stack);
}

#[test]
fn from_json_reads_paths_from_metadata() {
    let synthesized = bucket_stack().synth().unwrap();
    let t = Template::from_json(synthesized.template.clone());
    let queue = synthesized
        .paths
        .iter()
        .find(|(_, p)| *p == "Demo/Storage/Queue")
        .map(|(id, _)| id.as_str())
        .unwrap();
    assert_eq!(t.logical_id_at("Demo/Storage/Queue"), queue);
    t.has_resource_properties("AWS::S3::Bucket", json!({"BucketName": "files"}));
}

struct NoQueues;
impl Rule for NoQueues {
    fn id(&self) -> &'static str {
        "team-no-queues"
    }
    fn severity(&self) -> Severity {
        Severity::Warning
    }
    fn summary(&self) -> &'static str {
        "queues are not allowed"
    }
    fn fix(&self) -> &'static str {
        "remove the queue"
    }
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for r in ctx.resources_of_type("AWS::SQS::Queue") {
            out.push(r.finding(self, None, "a queue"));
        }
    }
}

#[test]
fn findings_assertions_read_the_guardrails() {
    let mut stack = bucket_stack();
    stack.set_guardrails(RulePack::new("team").with(NoQueues), Enforcement::Advise);
    let t = Template::from_stack(&stack);
    t.has_findings("team-no-queues");
    t.has_findings("*");
    t.has_no_findings("enc-s3-bucket");
    assert_eq!(
        t.findings("team-no-queues")[0].construct_path,
        "Demo/Storage/Queue"
    );
    let msg = t.try_has_no_findings("*").unwrap_err();
    assert!(
        msg.starts_with("expected no findings of any rule, found 1:\n  warning[team-no-queues] Demo/Storage/Queue"),
        "{msg}"
    );

    // Suppressed, the finding moves to `suppressed` and `has_findings` says why it failed.
    let mut stack = bucket_stack();
    stack.set_guardrails(RulePack::new("team").with(NoQueues), Enforcement::Advise);
    stack
        .root()
        .child("Extra")
        .suppress("team-no-queues", "nothing to suppress here");
    let node = stack
        .resource_node(
            stack
                .resource_ids()
                .find(|id| id.starts_with("StorageQueue"))
                .unwrap(),
        )
        .unwrap();
    stack
        .scope(node)
        .suppress("team-no-queues", "the platform's own queue, reviewed");
    let t = Template::from_stack(&stack);
    t.has_no_findings("*");
    assert_eq!(
        t.suppressed("team-no-queues")[0].suppressed.as_deref(),
        Some("the platform's own queue, reviewed")
    );
    let msg = t.try_has_findings("team-no-queues").unwrap_err();
    assert!(
        msg.starts_with("expected findings of rule 'team-no-queues', found none; 1 are suppressed:\n  Demo/Storage/Queue"),
        "{msg}"
    );
}

#[test]
#[should_panic(expected = "stack 'Demo' has no guardrails")]
fn findings_assertions_refuse_a_stack_without_guardrails() {
    Template::from_stack(&bucket_stack()).has_no_findings("*");
}

#[test]
#[should_panic(expected = "this Template was built from JSON")]
fn findings_assertions_refuse_a_template_from_json() {
    Template::from_json(json!({"Resources": {}})).has_no_findings("*");
}
