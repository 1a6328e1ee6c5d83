//! `adopt`: a Terraform state planned against a project's mappings (offline), then imported
//! into the environment's stack with an IMPORT change set on the CloudFormation simulator, and
//! handed over to Terraform; the ordinary deploy completes the stack afterwards.

mod support;

use cfn_adopt::{Mapping, Target};
use cfn_deploy::cli::Exit;
use cfn_deploy::project::{Environment, Project, ProjectError, SynthOutput};
use serde_json::{Value as Json, json};
use support::sim::{REGION, Sim};
use support::{Opts, RawProject, count, run};

/// The raw project's bucket (named) and a log group, mapped from two Terraform resources; its
/// queue is new.
struct Adopting {
    raw: RawProject,
    mappings: bool,
}

impl Adopting {
    fn new() -> Self {
        let raw = RawProject::new(vec![
            Environment::new("dev").stack_name("Dev").region(REGION),
        ])
        .with(
            "Bucket",
            "AWS::S3::Bucket",
            json!({"BucketName": "legacy-data"}),
        )
        .with(
            "Logs",
            "AWS::Logs::LogGroup",
            json!({"LogGroupName": "/legacy/app", "RetentionInDays": 30}),
        );
        Adopting {
            raw,
            mappings: true,
        }
    }
}

impl Project for Adopting {
    fn name(&self) -> &str {
        "adopting"
    }
    fn version(&self) -> &str {
        "1.0.0"
    }
    fn environments(&self) -> Result<Vec<Environment>, ProjectError> {
        self.raw.environments()
    }
    fn synth(&self, env: &Environment) -> Result<SynthOutput, ProjectError> {
        self.raw.synth(env)
    }
    fn adoption_mappings(&self, _env: &Environment) -> Vec<Mapping> {
        if !self.mappings {
            return Vec::new();
        }
        vec![
            Mapping::import(
                "aws_s3_bucket",
                "aws_s3_bucket.data",
                Target::LogicalId("Bucket".into()),
            )
            .identifier("BucketName", "bucket")
            .compare("BucketName", "bucket", Some("storage.bucket_name")),
            Mapping::import(
                "aws_cloudwatch_log_group",
                "aws_cloudwatch_log_group.app",
                Target::LogicalId("Logs".into()),
            )
            .identifier("LogGroupName", "name")
            .compare("LogGroupName", "name", Some("logs.name"))
            .compare(
                "RetentionInDays",
                "retention_in_days",
                Some("logs.retention_days"),
            ),
        ]
    }
}

/// A Terraform state (format 4) holding the bucket and the log group.
fn state(bucket: &str, retention: u32) -> std::path::PathBuf {
    let text = json!({
        "version": 4,
        "terraform_version": "1.9.0",
        "resources": [
            {"mode": "managed", "type": "aws_s3_bucket", "name": "data",
             "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
             "instances": [{"attributes": {"bucket": bucket, "id": bucket,
                 "arn": format!("arn:aws:s3:::{bucket}")}}]},
            {"mode": "managed", "type": "aws_cloudwatch_log_group", "name": "app",
             "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
             "instances": [{"attributes": {"name": "/legacy/app", "id": "/legacy/app",
                 "retention_in_days": retention}}]}
        ]
    });
    let path = std::env::temp_dir().join(format!(
        "adopt-cli-{}-{bucket}-{retention}-{:?}.tfstate",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::write(&path, text.to_string()).expect("write the state");
    path
}

fn opts(sim: &Sim) -> Opts {
    Opts::at(&sim.url()).region(REGION)
}

fn adopt(p: &dyn Project, sim: &Sim, state: &std::path::Path, extra: &[&str]) -> support::Ran {
    let path = state.to_str().expect("utf-8 path");
    let mut args = vec!["adopt", "dev", "--terraform-state", path];
    args.extend_from_slice(extra);
    run(p, &args, &opts(sim))
}

#[test]
fn a_plan_is_offline_and_names_what_happens_to_each_terraform_resource() {
    let sim = Sim::start();
    let r = adopt(&Adopting::new(), &sim, &state("legacy-data", 14), &[]);
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed("aws_s3_bucket.data");
    r.assert_printed("import");
    // Retention differs: updated in place by the follow-up deploy, not a replacement.
    r.assert_printed("RetentionInDays");
    r.assert_printed("logs.retention_days = 14");
    r.assert_printed("2 to import, 0 replacements, 0 refused");
    r.assert_printed("--execute");
    assert!(r.calls.is_empty(), "planning calls nothing: {:?}", r.calls);
}

#[test]
fn a_replacement_of_a_stateful_resource_is_refused_with_both_values() {
    let sim = Sim::start();
    let r = adopt(
        &Adopting::new(),
        &sim,
        &state("other-bucket", 30),
        &["--execute", "--yes"],
    );
    assert_eq!(r.exit, Exit::Refused, "{}", r.all());
    r.assert_printed("\"legacy-data\"");
    r.assert_printed("\"other-bucket\"");
    r.assert_printed("storage.bucket_name = \"other-bucket\"");
    r.assert_printed("Not importable as planned");
    assert!(r.calls.is_empty(), "{:?}", r.calls);
}

#[test]
fn the_json_plan_carries_the_summary_and_the_terraform_hand_off() {
    let sim = Sim::start();
    let r = adopt(
        &Adopting::new(),
        &sim,
        &state("legacy-data", 30),
        &["--json"],
    );
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    let plan: Json = serde_json::from_str(&r.out).expect("the plan is JSON");
    assert_eq!(plan["summary"]["imports"], json!(2));
    assert_eq!(plan["summary"]["replacements"], json!(0));
    let rm = plan["terraform"]["state_rm"].as_array().expect("commands");
    assert_eq!(rm.len(), 2, "{rm:?}");
}

#[test]
fn bad_inputs_are_usage_errors_that_change_nothing() {
    let sim = Sim::start();
    let missing = std::env::temp_dir().join("adopt-cli-no-such-file.tfstate");
    let r = adopt(&Adopting::new(), &sim, &missing, &[]);
    assert_eq!(r.exit, Exit::Usage, "{}", r.all());
    r.assert_printed("adopt-cli-no-such-file.tfstate");

    let not_state = std::env::temp_dir().join(format!("adopt-cli-{}.json", std::process::id()));
    std::fs::write(&not_state, r#"{"hello": "world"}"#).expect("write");
    let r = adopt(&Adopting::new(), &sim, &not_state, &[]);
    assert_eq!(r.exit, Exit::Usage, "{}", r.all());

    let mut none = Adopting::new();
    none.mappings = false;
    let r = adopt(&none, &sim, &state("legacy-data", 30), &[]);
    assert_eq!(r.exit, Exit::Usage, "{}", r.all());
    r.assert_printed("no mappings from Terraform resources");
    assert!(sim.actions().is_empty());
}

#[test]
fn execute_imports_into_a_new_stack_hands_over_to_terraform_and_deploy_completes_it() {
    let sim = Sim::start();
    sim.existing_resource("AWS::S3::Bucket", &[("BucketName", "legacy-data")]);
    sim.existing_resource("AWS::Logs::LogGroup", &[("LogGroupName", "/legacy/app")]);
    let p = Adopting::new();
    let r = adopt(&p, &sim, &state("legacy-data", 30), &["--execute", "--yes"]);
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed("IMPORT_COMPLETE");
    r.assert_printed("terraform state rm 'aws_s3_bucket.data'");
    r.assert_printed("terraform state rm 'aws_cloudwatch_log_group.app'");
    r.assert_printed("removed {");
    r.assert_printed("deploy dev");
    assert_eq!(sim.status("Dev").as_deref(), Some("IMPORT_COMPLETE"));
    let imported: Json =
        serde_json::from_str(&sim.template("Dev").expect("a template")).expect("JSON");
    let resources = imported["Resources"].as_object().expect("resources");
    let ids: Vec<&str> = resources.keys().map(String::as_str).collect();
    assert_eq!(ids, ["Bucket", "Logs"], "the import adds nothing else");
    assert!(
        resources
            .values()
            .all(|r| r["DeletionPolicy"] == json!("Retain"))
    );
    assert_eq!(
        sim.resource_holder("AWS::S3::Bucket", &[("BucketName", "legacy-data")]),
        Some(Some("Dev".to_owned())),
        "the stack holds the bucket"
    );

    // The ordinary deploy brings the stack to its full template: the queue is created.
    let d = run(&p, &["deploy", "dev", "--yes"], &opts(&sim));
    assert_eq!(d.exit, Exit::Ok, "{}", d.all());
    assert_eq!(sim.status("Dev").as_deref(), Some("UPDATE_COMPLETE"));
    assert_eq!(count(&sim.actions(), "ExecuteChangeSet"), 2);
}
