//! The deploy engine as a library: `Deployment` driven from plain Rust against the
//! CloudFormation simulator, with the caller deciding between plan and execute and reading
//! the typed event stream.

mod support;

use cfn_deploy::aws::{ApiLog, Aws, AwsSettings, RetryPolicy};
use cfn_deploy::deployment::{
    DeployRequest, Deployment, Plan, SettingChange, Start, StepError, preview,
};
use cfn_deploy::events::PollConfig;
use cfn_deploy::project::{Environment, Project};
use support::RawProject;
use support::sim::{Fault, REGION, Sim, StackSeed, stack_event};

fn settings(sim: &Sim) -> AwsSettings {
    support::local_settings(&sim.url(), RetryPolicy::fast(3))
}

fn request(project: &RawProject) -> DeployRequest {
    let env = Environment::new("dev").stack_name("Dev").region(REGION);
    let synth = project.synth(&env).expect("synthesizes").stacks.remove(0);
    let mut r = DeployRequest::new(env, synth);
    r.poll = PollConfig::every_ms(1);
    r
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn plan_then_execute_streams_every_event_and_resolves_to_the_outcome() {
    let sim = Sim::start();
    let project = RawProject::new(Vec::new());
    runtime().block_on(async {
        let aws = Aws::connect(&settings(&sim), None, ApiLog::new())
            .await
            .expect("aws");
        let mut d = Deployment::prepare(aws, request(&project))
            .await
            .expect("prepare");
        assert_eq!(d.start(), &Start::Create);
        assert_eq!(d.identity().region, REGION);
        let source = d.stage().await.expect("stage");
        let Plan::Changes(cs) = d.plan(source).await.expect("plan") else {
            panic!("a new stack has changes");
        };
        assert_eq!(cs.changes.len(), 2);
        assert!(
            d.stateful_changes(&cs).is_empty(),
            "an added bucket replaces nothing"
        );
        let (done, mut events) = d.execute(&cs, false).await.expect("execute").into_parts();
        let reader = async {
            let mut seen = Vec::new();
            let mut last = None;
            while let Some(p) = events.next().await {
                assert!(p.progress.done <= p.progress.total);
                last = Some(p.progress.clone());
                seen.push((p.event.logical_id.clone(), p.event.status.clone(), p.path));
            }
            (seen, last)
        };
        let (outcome, (seen, last)) = tokio::join!(done, reader);
        let last = last.expect("events came");
        assert_eq!(
            (last.done, last.total),
            (2, 2),
            "both resources counted done by the end"
        );
        let outcome = outcome.expect("the stack settles in CREATE_COMPLETE");
        assert_eq!(outcome.status, "CREATE_COMPLETE");
        assert_eq!(
            seen.len(),
            outcome.events.len(),
            "the stream carries every event"
        );
        assert!(
            seen.iter().any(|(id, status, path)| id == "Bucket"
                && status == "CREATE_COMPLETE"
                && path.as_deref() == Some("Dev/Bucket")),
            "{seen:?}"
        );
        let finished = d.finish(&outcome).await.expect("finish");
        assert_eq!(finished.termination_protection, None);
    });
    assert_eq!(sim.status("Dev").as_deref(), Some("CREATE_COMPLETE"));
}

/// A deployment of the raw project's `dev` stack, prepared and planned: the change set of a
/// new stack.
async fn planned(sim: &Sim) -> (Deployment, cfn_deploy::changeset::ChangeSet) {
    let project = RawProject::new(Vec::new());
    let aws = Aws::connect(&settings(sim), None, ApiLog::new())
        .await
        .expect("aws");
    let mut d = Deployment::prepare(aws, request(&project))
        .await
        .expect("prepare");
    let source = d.stage().await.expect("stage");
    let Plan::Changes(cs) = d.plan(source).await.expect("plan") else {
        panic!("a new stack has changes");
    };
    (d, cs)
}

#[test]
fn a_caller_that_refuses_the_plan_discards_it_and_nothing_is_left() {
    let sim = Sim::start();
    runtime().block_on(async {
        let (d, _) = planned(&sim).await;
        let cleanup = d.discard().await;
        assert_eq!(cleanup.removed.len(), 2, "{cleanup:?}");
        assert!(cleanup.left.is_empty());
        assert!(
            cleanup
                .summary()
                .starts_with("deleted change set cfn-deploy-")
        );
    });
    assert!(sim.change_sets().is_empty());
    assert!(
        !sim.exists("Dev"),
        "the empty REVIEW_IN_PROGRESS stack is gone too"
    );
    assert_eq!(sim.requests("ExecuteChangeSet").len(), 0);
}

#[test]
fn an_up_to_date_stack_needs_no_change_set_and_a_busy_one_is_refused() {
    let sim = Sim::start();
    let project = RawProject::new(Vec::new());
    let req = request(&project);
    sim.seed(
        StackSeed::new("Dev", "UPDATE_COMPLETE")
            .template(&req.synth.body)
            .tags(&[])
            .events(vec![stack_event("CREATE_COMPLETE")]),
    );
    runtime().block_on(async {
        let aws = Aws::connect(&settings(&sim), None, ApiLog::new())
            .await
            .expect("aws");
        let d = Deployment::prepare(aws.clone(), req.clone())
            .await
            .expect("prepare");
        assert_eq!(
            d.start(),
            &Start::UpToDate {
                termination_protection: None
            }
        );
        assert_eq!(d.settle().await.expect("settle"), None);
        sim.set_status("Dev", "UPDATE_IN_PROGRESS");
        let err = Deployment::prepare(aws, req).await.expect_err("busy");
        assert!(err.to_string().contains("UPDATE_IN_PROGRESS"), "{err}");
    });
    assert!(sim.requests("CreateChangeSet").is_empty());
}

#[test]
fn a_stack_changed_between_plan_and_execute_is_not_executed() {
    let sim = Sim::start();
    runtime().block_on(async {
        let (mut d, cs) = planned(&sim).await;
        // Someone else's deploy created and finished the stack meanwhile.
        sim.set_status("Dev", "CREATE_COMPLETE");
        match d.execute(&cs, false).await {
            Err(StepError::ChangedMeanwhile { why, cleanup }) => {
                assert!(why.contains("created by someone else"), "{why}");
                assert_eq!(cleanup.removed.len(), 1, "{cleanup:?}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    });
    assert_eq!(sim.requests("ExecuteChangeSet").len(), 0);
}

#[test]
fn a_preview_compares_without_a_change_set_even_while_the_stack_is_busy() {
    let sim = Sim::start();
    let project = RawProject::new(Vec::new());
    let mut req = request(&project);
    sim.seed(
        StackSeed::new("Dev", "UPDATE_IN_PROGRESS")
            .template(r#"{"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}}"#)
            .tags(&[("team", "old")])
            .events(vec![stack_event("CREATE_COMPLETE")]),
    );
    req.tags.insert("team".to_owned(), "new".to_owned());
    runtime().block_on(async {
        let aws = Aws::connect(&settings(&sim), None, ApiLog::new())
            .await
            .expect("aws");
        let p = preview(aws, &req, &cfn_resources::schema_for)
            .await
            .expect("a busy stack can still be looked at");
        assert_eq!(
            p.deployed.as_ref().map(|d| d.status.as_str()),
            Some("UPDATE_IN_PROGRESS")
        );
        assert!(!p.is_empty());
        let ids: Vec<&str> = p
            .diff
            .resources
            .iter()
            .map(|r| r.logical_id.as_str())
            .collect();
        assert!(ids.contains(&"Bucket"), "the bucket is new: {ids:?}");
        assert!(
            p.settings.contains(&SettingChange::Tag {
                key: "team".into(),
                old: Some("old".into()),
                new: Some("new".into())
            }),
            "{:?}",
            p.settings
        );
    });
    assert!(sim.requests("CreateChangeSet").is_empty());
}

/// A GetTemplate that fails is an error: taking it for "no template" would show every resource
/// as new in a diff, and plan an update against nothing.
#[test]
fn a_failing_get_template_is_an_error_not_an_empty_stack() {
    let sim = Sim::start();
    let project = RawProject::new(Vec::new());
    let req = request(&project);
    sim.seed(
        StackSeed::new("Dev", "UPDATE_COMPLETE")
            .template(&req.synth.body)
            .events(vec![stack_event("CREATE_COMPLETE")]),
    );
    sim.fault("GetTemplate", Fault::Internal, 100);
    runtime().block_on(async {
        let aws = Aws::connect(&settings(&sim), None, ApiLog::new())
            .await
            .expect("aws");
        let previewed = preview(aws.clone(), &req, &cfn_resources::schema_for).await;
        assert!(previewed.is_err(), "{previewed:?}");
        let prepared = Deployment::prepare(aws, req).await;
        assert!(prepared.is_err(), "{prepared:?}");
    });
    assert!(sim.requests("CreateChangeSet").is_empty());
}
