//! Importing existing resources: IMPORT change sets on the CloudFormation simulator, its rules
//! refused in CloudFormation's words with nothing changed, and the `cfn_deploy::import`
//! library (its own pre-check, the change set, the followed operation, cleanup).

mod support;

use cfn_deploy::DeployError;
use cfn_deploy::aws::{ApiLog, Aws, AwsSettings, RetryPolicy, Timeouts};
use cfn_deploy::changeset::{
    self, Action, ChangeSetRequest, Created, Kind, ResourceToImport, TemplateSource,
};
use cfn_deploy::deployment::StepError;
use cfn_deploy::events::{Outcome, PollConfig};
use cfn_deploy::import::{Import, ImportProblem, ImportRequest};
use cfn_deploy::project::Environment;
use cfn_deploy::stack;
use indexmap::IndexMap;
use serde_json::{Value as Json, json};
use support::sim::{Fault, REGION, Sim, StackSeed};

const BUCKET: (&str, &str) = ("BucketName", "dify-prd-data");
const LOGS: (&str, &str) = ("LogGroupName", "/dify/prd/api");

fn settings(sim: &Sim) -> AwsSettings {
    AwsSettings {
        profile: None,
        region: Some(REGION.to_owned()),
        endpoint_url: Some(sim.url()),
        static_credentials: Some(("AKIDTEST".into(), "secret".into())),
        retry: RetryPolicy::fast(3),
        timeouts: Timeouts::default(),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

async fn connect(sim: &Sim) -> Aws {
    Aws::connect(&settings(sim), None, ApiLog::new())
        .await
        .expect("aws")
}

fn topic() -> Json {
    json!({"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": "alerts"}})
}

/// The stack as deployed before the import: one topic.
fn deployed() -> Json {
    json!({"Resources": {"Alerts": topic()}})
}

fn bucket_def() -> Json {
    json!({"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain",
           "Properties": {"BucketName": BUCKET.1},
           "Metadata": {"aws:cdk:path": "Dev/Data/Resource"}})
}

fn logs_def() -> Json {
    json!({"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain",
           "Properties": {"LogGroupName": LOGS.1, "RetentionInDays": 30}})
}

/// The import template: `base`'s resources unchanged plus the bucket and the log group.
fn import_template(base: Option<&Json>) -> Json {
    let mut t = base.cloned().unwrap_or_else(|| json!({"Resources": {}}));
    t["Resources"]["Data"] = bucket_def();
    t["Resources"]["Logs"] = logs_def();
    t
}

fn identifier((k, v): (&str, &str)) -> IndexMap<String, String> {
    IndexMap::from([(k.to_owned(), v.to_owned())])
}

fn to_import() -> Vec<ResourceToImport> {
    vec![
        ResourceToImport {
            logical_id: "Data".into(),
            resource_type: "AWS::S3::Bucket".into(),
            identifier: identifier(BUCKET),
        },
        ResourceToImport {
            logical_id: "Logs".into(),
            resource_type: "AWS::Logs::LogGroup".into(),
            identifier: identifier(LOGS),
        },
    ]
}

fn seed_existing(sim: &Sim) {
    sim.existing_resource("AWS::S3::Bucket", &[BUCKET]);
    sim.existing_resource("AWS::Logs::LogGroup", &[LOGS]);
}

fn seed_deployed(sim: &Sim, name: &str) {
    sim.seed(
        StackSeed::new(name, "CREATE_COMPLETE")
            .template(&deployed().to_string())
            .tags(&[("team", "dify")]),
    );
}

fn request(stack: &str, template: Json, resources: Vec<ResourceToImport>) -> ImportRequest {
    let env = Environment::new("dev").stack_name(stack).region(REGION);
    let mut r = ImportRequest::new(env, template, resources);
    r.poll = PollConfig::every_ms(1);
    r
}

/// Prepares, plans and executes an import; the outcome and every streamed (logical ID,
/// status).
async fn run_import(
    aws: Aws,
    req: ImportRequest,
) -> (Result<Outcome, DeployError>, Vec<(String, String)>) {
    let mut import = Import::prepare(aws, req).await.expect("prepare");
    let cs = import.plan().await.expect("plan");
    let (done, mut events) = import.execute(&cs).await.expect("execute").into_parts();
    let reader = async {
        let mut seen = Vec::new();
        while let Some(p) = events.next().await {
            seen.push((p.event.logical_id, p.event.status));
        }
        seen
    };
    tokio::join!(done, reader)
}

/// Logical ID → physical ID of the stack's resources, as ListStackResources says.
async fn physical_ids(aws: &Aws, stack: &str) -> Vec<(String, String)> {
    let mut ids: Vec<(String, String)> = stack::resources(aws, stack)
        .await
        .expect("resources")
        .into_iter()
        .map(|r| (r.logical_id, r.physical_id.unwrap_or_default()))
        .collect();
    ids.sort();
    ids
}

#[test]
fn an_import_into_a_new_stack_completes_and_the_stack_holds_the_resources_by_their_identifiers() {
    let sim = Sim::start();
    seed_existing(&sim);
    runtime().block_on(async {
        let aws = connect(&sim).await;
        let mut import = Import::prepare(
            aws.clone(),
            request("Dev", import_template(None), to_import()),
        )
        .await
        .expect("prepare");
        assert!(import.creates_stack());
        let cs = import.plan().await.expect("plan");
        assert_eq!(cs.kind, Kind::Import);
        let actions: Vec<(Action, &str, Option<&str>)> = cs
            .changes
            .iter()
            .map(|c| (c.action.clone(), c.logical_id.as_str(), c.path.as_deref()))
            .collect();
        assert_eq!(
            actions,
            [
                (Action::Import, "Data", Some("Dev/Data/Resource")),
                (Action::Import, "Logs", None)
            ]
        );
        let sent = &sim.requests("CreateChangeSet")[0].params;
        assert_eq!(sent["ChangeSetType"], "IMPORT");
        assert_eq!(sent["ResourcesToImport.member.1.LogicalResourceId"], "Data");
        assert_eq!(
            sent["ResourcesToImport.member.1.ResourceIdentifier.entry.1.key"],
            "BucketName"
        );
        assert_eq!(
            sent["ResourcesToImport.member.2.ResourceIdentifier.entry.1.value"],
            LOGS.1
        );
        let (done, mut events) = import.execute(&cs).await.expect("execute").into_parts();
        let reader = async {
            let mut seen = Vec::new();
            while let Some(p) = events.next().await {
                seen.push((p.event.logical_id, p.event.status, p.path));
            }
            seen
        };
        let (outcome, seen) = tokio::join!(done, reader);
        assert_eq!(outcome.expect("imported").status, "IMPORT_COMPLETE");
        for id in ["Data", "Logs"] {
            for status in ["IMPORT_IN_PROGRESS", "IMPORT_COMPLETE"] {
                assert!(
                    seen.iter().any(|(l, s, _)| l == id && s == status),
                    "{id} {status} in {seen:?}"
                );
            }
        }
        assert!(
            seen.iter()
                .any(|(l, _, p)| l == "Data" && p.as_deref() == Some("Dev/Data/Resource"))
        );
        assert_eq!(sim.status("Dev").as_deref(), Some("IMPORT_COMPLETE"));
        assert_eq!(
            physical_ids(&aws, "Dev").await,
            [
                ("Data".into(), BUCKET.1.into()),
                ("Logs".into(), LOGS.1.into())
            ]
        );
        assert_eq!(
            sim.resource_holder("AWS::S3::Bucket", &[BUCKET]),
            Some(Some("Dev".into()))
        );
    });
}

#[test]
fn an_import_into_an_existing_stack_keeps_its_resources_and_tags_and_adds_the_imported_ones() {
    let sim = Sim::start();
    seed_existing(&sim);
    seed_deployed(&sim, "Dev");
    runtime().block_on(async {
        let aws = connect(&sim).await;
        let template = import_template(Some(&deployed()));
        let mut req = request("Dev", template.clone(), to_import());
        req.tags = IndexMap::from([("other".to_owned(), "tags".to_owned())]);
        let (outcome, seen) = run_import(aws.clone(), req).await;
        assert_eq!(outcome.expect("imported").status, "IMPORT_COMPLETE");
        assert!(
            !seen.iter().any(|(l, _)| l == "Alerts"),
            "the deployed topic is not touched: {seen:?}"
        );
        assert_eq!(
            physical_ids(&aws, "Dev").await,
            [
                ("Alerts".into(), "Alerts-physical".into()),
                ("Data".into(), BUCKET.1.into()),
                ("Logs".into(), LOGS.1.into())
            ]
        );
        let installed: Json =
            serde_json::from_str(&sim.template("Dev").expect("template")).expect("json");
        assert_eq!(installed, template);
        let sent = &sim.requests("CreateChangeSet")[0].params;
        assert_eq!(
            sent["Tags.member.1.Key"], "team",
            "the stack keeps its own tags"
        );
        assert!(!sent.contains_key("Tags.member.2.Key"));
    });
}

/// Creates an IMPORT change set straight through the engine, past the library's pre-check, so
/// the simulator's own rules answer.
async fn raw_import(
    aws: &Aws,
    stack: &str,
    template: &Json,
    resources: Vec<ResourceToImport>,
) -> Result<Created, DeployError> {
    let req = ChangeSetRequest {
        stack_name: stack.into(),
        kind: Kind::Import,
        template: TemplateSource::Body(template.to_string()),
        parameters: IndexMap::new(),
        keep_parameters: Vec::new(),
        tags: IndexMap::new(),
        name: changeset::unique_name("import"),
        description: "test".into(),
        role_arn: None,
        notification_arns: Vec::new(),
        resources_to_import: resources,
    };
    changeset::create(aws, &req, &PollConfig::every_ms(1)).await
}

#[test]
fn each_import_rule_is_refused_in_cloudformations_words_and_changes_nothing() {
    let sim = Sim::start();
    seed_existing(&sim);
    seed_deployed(&sim, "Dev");
    sim.existing_resource("AWS::S3::Bucket", &[("BucketName", "taken")]);
    sim.seed(StackSeed::new("Other", "CREATE_COMPLETE").template(r#"{"Resources":{}}"#));
    runtime().block_on(async {
        let aws = connect(&sim).await;
        // The bucket "taken" becomes another stack's first.
        let mut other = json!({"Resources": {"Data": bucket_def()}});
        other["Resources"]["Data"]["Properties"]["BucketName"] = json!("taken");
        let taken = vec![ResourceToImport { logical_id: "Data".into(), resource_type: "AWS::S3::Bucket".into(), identifier: identifier(("BucketName", "taken")) }];
        let (outcome, _) = run_import(aws.clone(), request("Other", other.clone(), taken.clone())).await;
        outcome.expect("Other imports the bucket");

        let base = import_template(Some(&deployed()));
        let mut no_policy = base.clone();
        no_policy["Resources"]["Data"]
            .as_object_mut()
            .expect("object")
            .remove("DeletionPolicy");
        let mut modified = base.clone();
        modified["Resources"]["Alerts"]["Properties"]["DisplayName"] = json!("changed");
        let mut added = base.clone();
        added["Resources"]["Queue"] = json!({"Type": "AWS::SQS::Queue"});
        let mut removed = base.clone();
        removed["Resources"].as_object_mut().expect("object").remove("Alerts");
        let mut outputs = base.clone();
        outputs["Outputs"] = json!({"Bucket": {"Value": {"Ref": "Data"}}});
        let mut wrong_key = to_import();
        wrong_key[0].identifier = identifier(("Name", BUCKET.1));
        let mut missing = to_import();
        missing[1].identifier = identifier(("LogGroupName", "/not/there"));
        let mut in_stack = to_import();
        in_stack.push(ResourceToImport { logical_id: "Alerts".into(), resource_type: "AWS::SNS::Topic".into(), identifier: identifier(("TopicArn", "arn:aws:sns:eu-west-1:111122223333:alerts")) });
        let mut with_taken = import_template(Some(&deployed()));
        with_taken["Resources"]["Data"] = other["Resources"]["Data"].clone();

        let cases: Vec<(&str, Json, Vec<ResourceToImport>, &str)> = vec![
            ("no DeletionPolicy", no_policy, to_import(),
             "The following resources to import [Data] must have DeletionPolicy attribute specified in the template."),
            ("a resource changed", modified, to_import(),
             "You have modified resources [Alerts] in your template that are not being imported. Update, create or delete operations cannot be executed during import operations."),
            ("a resource added", added, to_import(), "You have modified resources [Queue]"),
            ("a resource removed", removed, to_import(), "You have modified resources [Alerts]"),
            ("outputs added", outputs, to_import(),
             "As part of the import operation, you cannot modify or add [Outputs]"),
            ("wrong identifier keys", base.clone(), wrong_key,
             "Invalid ResourceIdentifier for resource [Data] of type [AWS::S3::Bucket]: expected [BucketName], got [Name=dify-prd-data]."),
            ("already in the stack", base.clone(), in_stack,
             "Resources [Alerts] passed in ResourceToImport are already in a stack and cannot be imported."),
            ("a resource that does not exist", base.clone(), missing,
             "Resource [Logs] of type [AWS::Logs::LogGroup] with identifier [LogGroupName=/not/there] does not exist."),
            ("a resource of another stack", with_taken, {
                let mut r = to_import();
                r[0] = taken[0].clone();
                r
             }, "taken already exists in stack arn:aws:cloudformation:eu-west-1:111122223333:stack/Other/"),
        ];
        for (what, template, resources, words) in cases {
            let err = raw_import(&aws, "Dev", &template, resources)
                .await
                .err()
                .unwrap_or_else(|| panic!("{what}: accepted"));
            let message = err.to_string();
            assert!(message.contains(words), "{what}: {message}");
            assert_eq!(sim.status("Dev").as_deref(), Some("CREATE_COMPLETE"), "{what}");
            assert_eq!(sim.template("Dev"), Some(deployed().to_string()), "{what}");
            assert!(
                sim.change_sets().iter().all(|(_, _, executed)| *executed),
                "{what}: no change set left: {:?}",
                sim.change_sets()
            );
        }
        assert_eq!(sim.resource_holder("AWS::S3::Bucket", &[BUCKET]), Some(None));
        assert_eq!(
            sim.resource_holder("AWS::S3::Bucket", &[("BucketName", "taken")]),
            Some(Some("Other".into()))
        );
        assert!(sim.requests("ExecuteChangeSet").len() == 1, "only Other's import ran");
    });
}

#[test]
fn a_refused_import_into_a_new_stack_leaves_no_stack_behind() {
    let sim = Sim::start();
    sim.existing_resource("AWS::S3::Bucket", &[BUCKET]);
    runtime().block_on(async {
        let aws = connect(&sim).await;
        let mut no_policy = import_template(None);
        no_policy["Resources"]["Data"]
            .as_object_mut()
            .expect("object")
            .remove("DeletionPolicy");
        let err = raw_import(&aws, "New", &no_policy, to_import())
            .await
            .expect_err("refused");
        assert!(
            err.to_string().contains("must have DeletionPolicy"),
            "{err}"
        );
        assert!(!sim.exists("New"), "a refused request creates no stack");

        // The log group does not exist: the change set fails once computed, and the library
        // removes it and the empty stack it made.
        let mut import = Import::prepare(
            aws.clone(),
            request("New", import_template(None), to_import()),
        )
        .await
        .expect("the templates pass the pre-check");
        let Err(StepError::Failed { error, cleanup }) = import.plan().await else {
            panic!("a missing resource fails the change set");
        };
        assert!(error.to_string().contains("does not exist"), "{error}");
        assert!(
            cleanup.removed.iter().any(|r| r == "the empty stack New"),
            "{cleanup:?}"
        );
        assert!(!sim.exists("New"));
        assert!(sim.change_sets().is_empty());
    });
}

#[test]
fn a_failed_import_rolls_back_and_releases_the_resources_without_deleting_them() {
    let sim = Sim::start();
    seed_existing(&sim);
    seed_deployed(&sim, "Dev");
    runtime().block_on(async {
        let aws = connect(&sim).await;
        let mut import = Import::prepare(
            aws.clone(),
            request("Dev", import_template(Some(&deployed())), to_import()),
        )
        .await
        .expect("prepare");
        let cs = import.plan().await.expect("plan");
        // Someone deletes the log group between plan and execute: its import fails.
        sim.remove_existing_resource("AWS::Logs::LogGroup", &[LOGS]);
        let (done, events) = import.execute(&cs).await.expect("execute").into_parts();
        drop(events);
        let err = done.await.expect_err("the import fails");
        let DeployError::StackFailed(failure) = err else {
            panic!("a stack failure: {err}");
        };
        assert_eq!(failure.status, "IMPORT_ROLLBACK_COMPLETE");
        assert_eq!(failure.failed.len(), 1, "{:?}", failure.failed);
        assert_eq!(failure.failed[0].logical_id, "Logs");
        assert_eq!(failure.failed[0].status, "IMPORT_FAILED");
        assert_eq!(
            sim.status("Dev").as_deref(),
            Some("IMPORT_ROLLBACK_COMPLETE")
        );
        assert_eq!(sim.template("Dev"), Some(deployed().to_string()));
        assert_eq!(
            physical_ids(&aws, "Dev").await,
            [("Alerts".into(), "Alerts-physical".into())]
        );
        assert_eq!(
            sim.resource_holder("AWS::S3::Bucket", &[BUCKET]),
            Some(None),
            "the bucket still exists, outside any stack"
        );

        // The stack is usable again: the same import, once the log group is back, completes.
        sim.existing_resource("AWS::Logs::LogGroup", &[LOGS]);
        let (outcome, _) = run_import(
            aws.clone(),
            request("Dev", import_template(Some(&deployed())), to_import()),
        )
        .await;
        assert_eq!(outcome.expect("imported").status, "IMPORT_COMPLETE");
    });
}

#[test]
fn the_library_refuses_a_bad_import_before_any_change_set() {
    let sim = Sim::start();
    seed_existing(&sim);
    seed_deployed(&sim, "Dev");
    runtime().block_on(async {
        let aws = connect(&sim).await;
        let mut bad = import_template(Some(&deployed()));
        bad["Resources"]["Data"]
            .as_object_mut()
            .expect("object")
            .remove("DeletionPolicy");
        bad["Resources"]["Alerts"]["Properties"]["DisplayName"] = json!("changed");
        bad["Outputs"] = json!({"B": {"Value": "x"}});
        let mut resources = to_import();
        resources[1].identifier = identifier(("Name", LOGS.1));
        let err = Import::prepare(aws.clone(), request("Dev", bad, resources))
            .await
            .expect_err("refused");
        let DeployError::ImportRefused { stack, problems } = &err else {
            panic!("an import refusal: {err}");
        };
        assert_eq!(stack, "Dev");
        assert_eq!(
            problems,
            &[
                ImportProblem::NoDeletionPolicy {
                    logical_id: "Data".into()
                },
                ImportProblem::IdentifierKeys {
                    logical_id: "Logs".into(),
                    resource_type: "AWS::Logs::LogGroup".into(),
                    expected: vec!["LogGroupName".into()],
                    given: vec!["Name".into()],
                },
                ImportProblem::OtherChange {
                    logical_id: "Alerts".into(),
                    how: "changed"
                },
                ImportProblem::OutputsChanged,
            ]
        );
        assert!(
            err.to_string().contains("Data has no DeletionPolicy"),
            "{err}"
        );
        assert!(sim.requests("CreateChangeSet").is_empty());

        // A template that drops a deployed resource is refused too.
        let mut dropped = import_template(Some(&deployed()));
        dropped["Resources"]
            .as_object_mut()
            .expect("object")
            .remove("Alerts");
        let err = Import::prepare(aws.clone(), request("Dev", dropped, to_import()))
            .await
            .expect_err("refused");
        assert!(err.to_string().contains("Alerts would be removed"), "{err}");
        assert!(sim.requests("CreateChangeSet").is_empty());
    });
}

#[test]
fn a_busy_or_failed_stack_is_refused_with_the_next_step() {
    let sim = Sim::start();
    sim.seed(StackSeed::new("Busy", "UPDATE_IN_PROGRESS").template(&deployed().to_string()));
    sim.seed(StackSeed::new("Failed", "ROLLBACK_COMPLETE"));
    sim.seed(StackSeed::new("Stuck", "IMPORT_ROLLBACK_FAILED").template(&deployed().to_string()));
    runtime().block_on(async {
        let aws = connect(&sim).await;
        for (name, words) in [
            ("Busy", "an operation is in progress"),
            ("Failed", "destroy dev"),
            ("Stuck", "nothing was deleted"),
        ] {
            let err = Import::prepare(
                aws.clone(),
                request(name, import_template(Some(&deployed())), to_import()),
            )
            .await
            .expect_err("refused");
            assert!(
                matches!(&err, DeployError::Blocked { .. }) && err.to_string().contains(words),
                "{name}: {err}"
            );
        }
        assert!(sim.requests("CreateChangeSet").is_empty());
    });
}

#[test]
fn an_import_template_over_51200_bytes_is_staged_in_s3() {
    let sim = Sim::start();
    seed_existing(&sim);
    runtime().block_on(async {
        let aws = connect(&sim).await;
        let mut template = import_template(None);
        template["Resources"]["Data"]["Metadata"]["padding"] = json!("x".repeat(60_000));
        let (outcome, _) = run_import(aws, request("Dev", template, to_import())).await;
        assert_eq!(outcome.expect("imported").status, "IMPORT_COMPLETE");
        let sent = &sim.requests("CreateChangeSet")[0].params;
        assert!(sent.contains_key("TemplateURL") && !sent.contains_key("TemplateBody"));
    });
}

#[test]
fn an_import_whose_stack_changed_meanwhile_is_not_executed_and_its_change_set_is_removed() {
    let sim = Sim::start();
    seed_existing(&sim);
    seed_deployed(&sim, "Dev");
    runtime().block_on(async {
        let aws = connect(&sim).await;
        let mut import = Import::prepare(
            aws,
            request("Dev", import_template(Some(&deployed())), to_import()),
        )
        .await
        .expect("prepare");
        let cs = import.plan().await.expect("plan");
        sim.touch("Dev");
        let Err(StepError::ChangedMeanwhile { why, cleanup }) = import.execute(&cs).await else {
            panic!("refused");
        };
        assert!(why.contains("changed since this import read it"), "{why}");
        assert_eq!(cleanup.removed, [format!("change set {}", cs.name)]);
        assert!(sim.requests("ExecuteChangeSet").is_empty());
        assert_eq!(
            sim.resource_holder("AWS::S3::Bucket", &[BUCKET]),
            Some(None)
        );
    });
}

#[test]
fn an_execute_request_lost_on_the_way_is_lost_track_not_a_failure() {
    let sim = Sim::start();
    seed_existing(&sim);
    runtime().block_on(async {
        let aws = connect(&sim).await;
        let mut import = Import::prepare(aws, request("Dev", import_template(None), to_import()))
            .await
            .expect("prepare");
        let cs = import.plan().await.expect("plan");
        sim.fault("ExecuteChangeSet", Fault::Drop, 10);
        let Err(StepError::LostTrack(e)) = import.execute(&cs).await else {
            panic!("lost track");
        };
        assert!(e.to_string().contains("ExecuteChangeSet"), "{e}");
        assert!(
            !sim.change_sets().is_empty(),
            "nothing is removed when the import may be running"
        );
    });
}

#[test]
fn an_import_into_an_empty_review_stack_creates_it() {
    let sim = Sim::start();
    seed_existing(&sim);
    sim.seed(StackSeed::new("Dev", "REVIEW_IN_PROGRESS"));
    runtime().block_on(async {
        let aws = connect(&sim).await;
        let import = Import::prepare(
            aws.clone(),
            request("Dev", import_template(None), to_import()),
        )
        .await
        .expect("prepare");
        assert!(import.creates_stack());
        let (outcome, _) = run_import(
            aws.clone(),
            request("Dev", import_template(None), to_import()),
        )
        .await;
        assert_eq!(outcome.expect("imported").status, "IMPORT_COMPLETE");
        assert_eq!(physical_ids(&aws, "Dev").await.len(), 2);
    });
}

#[test]
fn deleting_the_stack_keeps_the_retained_imports_and_deletes_the_others() {
    let sim = Sim::start();
    seed_existing(&sim);
    runtime().block_on(async {
        let aws = connect(&sim).await;
        let mut template = import_template(None);
        template["Resources"]["Logs"]["DeletionPolicy"] = json!("Delete");
        let (outcome, _) = run_import(aws.clone(), request("Dev", template, to_import())).await;
        outcome.expect("imported");
        let deployed = stack::describe(&aws, "Dev")
            .await
            .expect("describe")
            .expect("exists");
        cfn_deploy::engine::delete_stack(&aws, &deployed, 2, &PollConfig::every_ms(1))
            .await
            .expect("delete")
            .finish(&|_| None)
            .await
            .expect("deleted");
        assert_eq!(
            sim.resource_holder("AWS::S3::Bucket", &[BUCKET]),
            Some(None),
            "Retain: the bucket outlives the stack"
        );
        assert_eq!(
            sim.resource_holder("AWS::Logs::LogGroup", &[LOGS]),
            None,
            "Delete: the log group went with it"
        );
    });
}
