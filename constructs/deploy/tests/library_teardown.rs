//! The rest of the library beside `Deployment`: `Destruction` (what `destroy` renders),
//! `watch` and `status` (what `watch` and `list` render), driven from plain Rust against the
//! CloudFormation simulator.

mod support;

use cfn_deploy::aws::{ApiLog, Aws, AwsSettings, RetryPolicy};
use cfn_deploy::deployment::{Destruction, StackRequest, StackSummary, Watched, status, watch};
use cfn_deploy::error::DeployError;
use cfn_deploy::events::PollConfig;
use cfn_deploy::project::{Environment, Project};
use cfn_deploy::stack::StatusClass;
use support::RawProject;
use support::sim::{ACCOUNT, Fault, REGION, Sim, StackSeed, event, stack_event};

fn settings(sim: &Sim) -> AwsSettings {
    support::local_settings(&sim.url(), RetryPolicy::fast(3))
}

fn env() -> Environment {
    Environment::new("dev").stack_name("Dev").region(REGION)
}

fn request() -> StackRequest {
    let mut r = StackRequest::new(env());
    r.program = "demo".to_owned();
    r.poll = PollConfig::every_ms(1);
    r
}

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

async fn aws(sim: &Sim) -> Aws {
    Aws::connect(&settings(sim), None, ApiLog::new())
        .await
        .expect("aws")
}

/// The raw project's `dev` template: a bucket and a queue.
fn template() -> String {
    let project = RawProject::new(Vec::new());
    project.synth(&env()).expect("synthesizes").stacks[0]
        .body
        .clone()
}

fn deployed(status: &str) -> StackSeed {
    StackSeed::new("Dev", status)
        .template(&template())
        .events(vec![
            stack_event("CREATE_IN_PROGRESS").reason("User Initiated"),
            event("Bucket", "AWS::S3::Bucket", "CREATE_COMPLETE"),
            stack_event("CREATE_COMPLETE"),
        ])
}

#[test]
fn a_destruction_says_what_goes_and_stays_then_deletes_through_the_event_stream() {
    let sim = Sim::start();
    sim.seed(deployed("CREATE_COMPLETE"));
    block_on(async {
        let d = Destruction::prepare(aws(&sim).await, request())
            .await
            .expect("prepare")
            .expect("the stack is deployed");
        assert_eq!(d.stack().name, "Dev");
        assert_eq!(d.identity().account, ACCOUNT);
        let kept: Vec<&str> = d.retained().iter().map(|r| r.logical_id.as_str()).collect();
        assert_eq!(kept, ["Bucket"], "a bucket is deleted only if empty");
        assert!(d.notes().is_empty(), "{:?}", d.notes());
        assert!(
            sim.requests("DeleteStack").is_empty(),
            "prepare deletes nothing"
        );
        let (done, mut events) = d.execute().await.expect("delete starts").into_parts();
        let reader = async {
            let mut n = 0;
            while events.next().await.is_some() {
                n += 1;
            }
            n
        };
        let (outcome, seen) = tokio::join!(done, reader);
        let outcome = outcome.expect("the delete completes");
        assert_eq!(outcome.status, "DELETE_COMPLETE");
        assert_eq!(seen, outcome.events.len(), "the stream carries every event");
    });
    assert_eq!(sim.requests("DeleteStack").len(), 1);
    assert!(!sim.exists("Dev"));
}

#[test]
fn a_destruction_refuses_what_cloudformation_would_refuse_before_any_delete() {
    let sim = Sim::start();
    block_on(async {
        let none = Destruction::prepare(aws(&sim).await, request())
            .await
            .expect("prepare");
        assert!(none.is_none(), "nothing deployed, nothing to destroy");

        sim.seed(deployed("CREATE_COMPLETE").protected());
        match Destruction::prepare(aws(&sim).await, request()).await {
            Err(DeployError::TerminationProtected { stack, env }) => {
                assert_eq!((stack.as_str(), env.as_str()), ("Dev", "dev"));
            }
            other => panic!("expected a refusal, got {other:?}"),
        }

        sim.seed(deployed("UPDATE_IN_PROGRESS"));
        match Destruction::prepare(aws(&sim).await, request()).await {
            Err(DeployError::Blocked { next_step, .. }) => {
                assert!(next_step.contains("`demo watch dev`"), "{next_step}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }

        // A stuck stack is not refused: deleting it is often the way out.
        sim.seed(deployed("DELETE_FAILED"));
        let stuck = Destruction::prepare(aws(&sim).await, request()).await;
        assert!(matches!(stuck, Ok(Some(_))), "{stuck:?}");
    });
    assert!(sim.requests("DeleteStack").is_empty());
}

#[test]
fn watch_attaches_to_a_running_operation_and_follows_it_to_its_end() {
    let sim = Sim::start();
    sim.seed(deployed("UPDATE_IN_PROGRESS").in_progress(
        "Console-UpdateStack-abc",
        vec![
            vec![
                stack_event("UPDATE_IN_PROGRESS").reason("User Initiated"),
                event("Queue", "AWS::SQS::Queue", "UPDATE_IN_PROGRESS"),
            ],
            vec![event("Queue", "AWS::SQS::Queue", "UPDATE_COMPLETE")],
            vec![stack_event("UPDATE_COMPLETE")],
        ],
    ));
    block_on(async {
        let Some(Watched::Running { stack, execution }) =
            watch(aws(&sim).await, request()).await.expect("watch")
        else {
            panic!("an operation is running");
        };
        assert_eq!(stack.status, "UPDATE_IN_PROGRESS");
        let (done, mut events) = execution.into_parts();
        let reader = async {
            let mut seen = Vec::new();
            while let Some(p) = events.next().await {
                seen.push((p.event.logical_id, p.event.status, p.path));
            }
            seen
        };
        let (outcome, seen) = tokio::join!(done, reader);
        assert_eq!(outcome.expect("settles").status, "UPDATE_COMPLETE");
        assert!(
            seen.iter().any(|(id, status, path)| id == "Queue"
                && status == "UPDATE_COMPLETE"
                && path.as_deref() == Some("Dev/Queue")),
            "{seen:?}"
        );
        assert!(
            seen.iter()
                .all(|(_, status, _)| status != "CREATE_COMPLETE"),
            "only the running operation's events: {seen:?}"
        );
    });
}

#[test]
fn watch_reports_a_settled_stack_and_how_its_last_operation_failed() {
    let sim = Sim::start();
    block_on(async {
        assert!(
            watch(aws(&sim).await, request())
                .await
                .expect("watch")
                .is_none()
        );
        sim.seed(deployed("UPDATE_ROLLBACK_COMPLETE").events(vec![
            stack_event("UPDATE_IN_PROGRESS").reason("User Initiated"),
            event("Queue", "AWS::SQS::Queue", "UPDATE_FAILED").reason("Queue policy is invalid"),
            stack_event("UPDATE_ROLLBACK_IN_PROGRESS"),
            stack_event("UPDATE_ROLLBACK_COMPLETE"),
        ]));
        let Some(Watched::Settled {
            class,
            failed,
            next_step,
            ..
        }) = watch(aws(&sim).await, request()).await.expect("watch")
        else {
            panic!("nothing is running");
        };
        assert_eq!(class, StatusClass::RolledBack);
        assert_eq!(failed.len(), 1, "{failed:?}");
        assert_eq!(failed[0].logical_id, "Queue");
        assert_eq!(failed[0].path.as_deref(), Some("Dev/Queue"));
        assert_eq!(failed[0].reason, "Queue policy is invalid");
        assert_eq!(next_step, None, "a rolled-back stack can be deployed again");

        sim.seed(deployed("UPDATE_ROLLBACK_FAILED"));
        let Some(Watched::Settled { next_step, .. }) =
            watch(aws(&sim).await, request()).await.expect("watch")
        else {
            panic!("nothing is running");
        };
        assert!(
            next_step.is_some_and(|s| s.contains("`demo continue-rollback dev`")),
            "a stuck stack names the way out"
        );
    });
}

#[test]
fn status_reads_one_row_of_list_and_names_another_account_rather_than_failing() {
    let sim = Sim::start();
    block_on(async {
        let aws = aws(&sim).await;
        assert_eq!(
            status(&aws, &env()).await.expect("status"),
            StackSummary::NotDeployed {
                region: REGION.to_owned()
            }
        );
        sim.seed(deployed("UPDATE_COMPLETE").protected());
        match status(&aws, &env()).await.expect("status") {
            StackSummary::Deployed {
                status, protected, ..
            } => assert_eq!((status.as_str(), protected), ("UPDATE_COMPLETE", true)),
            other => panic!("expected the stack, got {other:?}"),
        }
        let elsewhere = env().account("999999999999");
        assert_eq!(
            status(&aws, &elsewhere).await.expect("status"),
            StackSummary::OtherAccount {
                region: REGION.to_owned(),
                account: ACCOUNT.to_owned()
            }
        );
    });
}

/// A DescribeStacks that fails (not "does not exist") is an error: taking it for a missing
/// stack would make `destroy` say "nothing to destroy" and `list` "not deployed", falsely.
#[test]
fn a_failing_describe_is_an_error_not_a_missing_stack() {
    let sim = Sim::start();
    sim.seed(deployed("CREATE_COMPLETE"));
    sim.fault("DescribeStacks", Fault::Internal, 100);
    block_on(async {
        let aws = aws(&sim).await;
        let listed = status(&aws, &env()).await;
        assert!(listed.is_err(), "{listed:?}");
        let destroyed = Destruction::prepare(aws.clone(), request()).await;
        assert!(destroyed.is_err(), "{destroyed:?}");
        let watched = watch(aws, request()).await;
        assert!(watched.is_err(), "{watched:?}");
    });
    assert!(sim.requests("DeleteStack").is_empty());
}

/// An operation started without a ClientRequestToken on a stack with no earlier events (a
/// CreateStack call without one): watch has neither a token nor a horizon to stop at, so it reads back to the
/// operation's own stack-level start, and every event of it is in the stream.
#[test]
fn watch_without_a_token_or_a_horizon_reads_back_to_the_operations_start() {
    let sim = Sim::start();
    sim.seed(
        StackSeed::new("Dev", "CREATE_IN_PROGRESS")
            .template(&template())
            .events(vec![
                stack_event("CREATE_IN_PROGRESS").reason("User Initiated"),
                event("Queue", "AWS::SQS::Queue", "CREATE_IN_PROGRESS"),
                event("Queue", "AWS::SQS::Queue", "CREATE_COMPLETE"),
            ])
            .in_progress("unused", vec![vec![stack_event("CREATE_COMPLETE")]])
            .untokened(),
    );
    block_on(async {
        let Some(Watched::Running { execution, .. }) =
            watch(aws(&sim).await, request()).await.expect("watch")
        else {
            panic!("an operation is running");
        };
        let (done, mut events) = execution.into_parts();
        let reader = async {
            let mut seen = Vec::new();
            while let Some(p) = events.next().await {
                seen.push(format!("{} {}", p.event.logical_id, p.event.status));
            }
            seen
        };
        let (outcome, seen) = tokio::join!(done, reader);
        assert_eq!(outcome.expect("settles").status, "CREATE_COMPLETE");
        assert_eq!(
            seen,
            [
                "Dev CREATE_IN_PROGRESS",
                "Queue CREATE_IN_PROGRESS",
                "Queue CREATE_COMPLETE",
                "Dev CREATE_COMPLETE"
            ]
        );
    });
}
