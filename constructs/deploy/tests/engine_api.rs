//! The engine as a library, against the simulator: a change set created, executed and followed
//! through `cfn_deploy::changeset`, `cfn_deploy::engine` and `cfn_deploy::events` without the
//! CLI — paging that stops at an empty `NextToken`, what a followed operation reports, and how
//! often it polls.

mod support;

use std::time::{Duration, Instant};

use cfn_deploy::aws::{Aws, RetryPolicy};
use cfn_deploy::changeset::{
    self, ChangeSet, ChangeSetRequest, Created, Kind, OnFailure, TemplateSource,
};
use cfn_deploy::engine;
use cfn_deploy::events::{PollConfig, latest_operation};
use indexmap::IndexMap;
use support::count;
use support::sim::{Sim, event, stack_event};

const TEMPLATE: &str = r#"{"Resources":{"Queue":{"Type":"AWS::SQS::Queue"}}}"#;

fn client(sim: &Sim) -> (tokio::runtime::Runtime, Aws) {
    support::local_client(&sim.url(), RetryPolicy::fast(4))
}

/// Creates stack `S`'s first change set and waits until it is ready.
async fn change_set(aws: &Aws) -> ChangeSet {
    let req = ChangeSetRequest {
        stack_name: "S".into(),
        kind: Kind::Create,
        template: TemplateSource::Body(TEMPLATE.into()),
        parameters: IndexMap::new(),
        keep_parameters: Vec::new(),
        tags: IndexMap::new(),
        name: changeset::unique_name("cfn-deploy"),
        description: "test".into(),
        role_arn: None,
        notification_arns: Vec::new(),
        resources_to_import: Vec::new(),
    };
    match changeset::create(aws, &req, &PollConfig::every_ms(1))
        .await
        .expect("created")
    {
        Created::Ready(cs) => cs,
        Created::Empty { reason } => panic!("empty: {reason}"),
    }
}

#[test]
fn paging_stops_at_an_empty_next_token() {
    let sim = Sim::start();
    sim.empty_next_tokens();
    let (rt, aws) = client(&sim);
    // A client that reads an empty NextToken as another page never stops: bounded here.
    let paged = async {
        let cs = change_set(&aws).await;
        let before = count(&sim.actions(), "DescribeChangeSet");
        let d = changeset::describe(&aws, &cs.id, "S")
            .await
            .expect("described");
        assert_eq!(d.status, "CREATE_COMPLETE");
        assert_eq!(count(&sim.actions(), "DescribeChangeSet"), before + 1);

        let mut op = engine::execute(&aws, &cs, &PollConfig::every_ms(1), OnFailure::Rollback)
            .await
            .expect("executed");
        while op.next_event().await.expect("followed").is_some() {}
        let before = count(&sim.actions(), "DescribeStackEvents");
        let latest = latest_operation(&aws, "S").await.expect("latest operation");
        assert_eq!(
            count(&sim.actions(), "DescribeStackEvents"),
            before + 1,
            "one page"
        );
        assert_eq!(latest.token, op.token().map(str::to_owned));

        // A stack created without a change set: its first event starts the operation and
        // ends the first page, so the next page would be asked for.
        aws.cfn
            .create_stack()
            .stack_name("T")
            .template_body(TEMPLATE)
            .send()
            .await
            .expect("created");
        for _ in 0..4 {
            aws.cfn
                .describe_stack_events()
                .stack_name("T")
                .send()
                .await
                .expect("events");
        }
        let before = count(&sim.actions(), "DescribeStackEvents");
        let latest = latest_operation(&aws, "T").await.expect("latest operation");
        assert_eq!(count(&sim.actions(), "DescribeStackEvents"), before + 1);
        let statuses: Vec<&str> = latest.events.iter().map(|e| e.status.as_str()).collect();
        assert_eq!(
            statuses,
            [
                "CREATE_IN_PROGRESS",
                "CREATE_IN_PROGRESS",
                "CREATE_COMPLETE",
                "CREATE_COMPLETE"
            ]
        );
    };
    rt.block_on(async { tokio::time::timeout(Duration::from_secs(10), paged).await })
        .expect("an empty NextToken ends every paging");
}

#[test]
fn a_followed_operation_names_its_stack_token_and_time_and_polls_first_at_once() {
    let sim = Sim::start();
    // The whole operation is there at the first poll.
    sim.script(vec![vec![
        stack_event("CREATE_IN_PROGRESS").reason("User Initiated"),
        event("Queue", "AWS::SQS::Queue", "CREATE_COMPLETE"),
        stack_event("CREATE_COMPLETE"),
    ]]);
    let (rt, aws) = client(&sim);
    rt.block_on(async {
        let cs = change_set(&aws).await;
        // A long interval: only the polls after the first wait for it.
        let poll = PollConfig {
            interval: Duration::from_secs(3),
            max_interval: Duration::from_secs(3),
        };
        let t0 = Instant::now();
        let mut op = engine::execute(&aws, &cs, &poll, OnFailure::Rollback)
            .await
            .expect("executed");
        assert_eq!(op.stack_id(), cs.stack_id);
        assert!(
            op.token()
                .is_some_and(|t| t.starts_with("cfn-deploy-exec-")),
            "{:?}",
            op.token()
        );
        let mut seen = Vec::new();
        while let Some(e) = op.next_event().await.expect("followed") {
            seen.push(e.status);
        }
        let took = t0.elapsed();
        assert_eq!(
            seen,
            ["CREATE_IN_PROGRESS", "CREATE_COMPLETE", "CREATE_COMPLETE"]
        );
        assert!(took < Duration::from_millis(1500), "took {took:?}");
        // Counted from when the operation was started, so within the whole.
        assert!(
            op.elapsed() > Duration::ZERO && op.elapsed() <= took,
            "{:?} vs {took:?}",
            op.elapsed()
        );
        assert_eq!(op.history().len(), 3);
    });
}

#[test]
fn polls_stretch_only_after_throttling() {
    let sim = Sim::start();
    // Six polls' worth of events, none throttled: every poll waits the base interval.
    let mut script = vec![vec![
        stack_event("CREATE_IN_PROGRESS").reason("User Initiated"),
    ]];
    for s in ["CREATE_IN_PROGRESS", "CREATE_COMPLETE"] {
        for _ in 0..2 {
            script.push(vec![event("Queue", "AWS::SQS::Queue", s)]);
        }
    }
    script.push(vec![stack_event("CREATE_COMPLETE")]);
    sim.script(script);
    let (rt, aws) = client(&sim);
    rt.block_on(async {
        let cs = change_set(&aws).await;
        let poll = PollConfig {
            interval: Duration::from_millis(40),
            max_interval: Duration::from_secs(5),
        };
        let t0 = Instant::now();
        let mut op = engine::execute(&aws, &cs, &poll, OnFailure::Rollback)
            .await
            .expect("executed");
        while op.next_event().await.expect("followed").is_some() {}
        let took = t0.elapsed();
        // 5 waits of 40 ms; doubling each time would be 80 + 160 + … = 2.5 s.
        assert!(took < Duration::from_millis(1200), "took {took:?}");
    });
    assert_eq!(sim.status("S").as_deref(), Some("CREATE_COMPLETE"));
}
