//! Deploy, diff, destroy and watch against the CloudFormation simulator: each scenario drives
//! the real SDK client through the real CLI and asserts the exit code, what was printed, and
//! the API calls made.

mod support;

use cfn_deploy::cli::Exit;
use cfn_deploy::console::Scripted;
use cfn_deploy::project::Environment;
use serde_json::json;
use support::sim::{ACCOUNT, EMPTY_REASON, Fault, REGION, Sim, StackSeed, event, stack_event};
use support::{Opts, RawProject, count, raw_tags, run};

fn envs() -> Vec<Environment> {
    vec![
        Environment::new("dev").stack_name("Dev").region(REGION),
        Environment::new("prd")
            .stack_name("Prd")
            .account(ACCOUNT)
            .region(REGION)
            .protected(true),
    ]
}

fn project() -> RawProject {
    RawProject::new(envs())
}

fn opts(sim: &Sim) -> Opts {
    Opts::at(&sim.url()).region(REGION)
}

/// A deployed stack whose template, tags and protection match what `p` synthesizes.
fn seed_deployed(sim: &Sim, p: &RawProject, env: &str, stack: &str) {
    let tags: Vec<(String, String)> = raw_tags(env)
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    let tags: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut seed = StackSeed::new(stack, "UPDATE_COMPLETE")
        .template(&p.template(env))
        .tags(&tags)
        .events(vec![
            stack_event("CREATE_IN_PROGRESS").reason("User Initiated"),
            stack_event("CREATE_COMPLETE"),
        ]);
    if env == "prd" {
        seed = seed.protected();
    }
    sim.seed(seed);
}

fn section<'a>(text: &'a str, from: &str) -> &'a str {
    text.find(from).map(|i| &text[i..]).unwrap_or("")
}

#[test]
fn create_follows_resource_events_arriving_over_polls() {
    let sim = Sim::start();
    let r = run(&project(), &["deploy", "dev", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed("Change set cfn-deploy-");
    r.assert_printed("(create of Dev, 2 changes)");
    r.assert_printed("+  AWS::S3::Bucket  Bucket      Dev/Bucket");
    r.assert_printed(
        "CREATE_IN_PROGRESS           AWS::S3::Bucket                    Bucket (Dev/Bucket)",
    );
    r.assert_printed(
        "CREATE_COMPLETE              AWS::SQS::Queue                    Queue (Dev/Queue)",
    );
    r.assert_printed("✓ Dev: CREATE_COMPLETE");
    assert_eq!(
        sim.actions(),
        [
            "GetCallerIdentity",
            "DescribeStacks",
            "CreateChangeSet",
            "DescribeChangeSet",
            "DescribeChangeSet",
            // Nobody else changed the stack meanwhile (two deploys must not both execute).
            "DescribeStacks",
            "DescribeStackEvents",
            "ExecuteChangeSet",
            "DescribeStackEvents",
            "DescribeStackEvents",
            "DescribeStackEvents",
            "DescribeStacks",
        ]
    );
    assert_eq!(
        r.calls.len(),
        sim.actions().len(),
        "every request is in the API log"
    );
    let create = &sim.requests("CreateChangeSet")[0].params;
    assert_eq!(create["ChangeSetType"], "CREATE");
    assert_eq!(create["ClientToken"], create["ChangeSetName"]);
    assert_eq!(create["Capabilities.member.1"], "CAPABILITY_IAM");
    assert_eq!(create["Capabilities.member.2"], "CAPABILITY_NAMED_IAM");
    let tags: Vec<(String, String)> = (1..=3)
        .map(|i| {
            (
                create[&format!("Tags.member.{i}.Key")].clone(),
                create[&format!("Tags.member.{i}.Value")].clone(),
            )
        })
        .collect();
    assert_eq!(
        tags,
        [
            ("app".to_owned(), "raw".to_owned()),
            ("env".to_owned(), "dev".to_owned()),
            ("version".to_owned(), "1.0.0".to_owned())
        ]
    );
    let exec = &sim.requests("ExecuteChangeSet")[0].params;
    assert!(exec["ClientRequestToken"].starts_with("cfn-deploy-exec-"));
    assert_eq!(sim.status("Dev").as_deref(), Some("CREATE_COMPLETE"));
    assert!(!sim.protection("Dev"), "dev is not protected");
}

#[test]
fn protected_environment_gets_termination_protection_after_create() {
    let sim = Sim::start();
    let r = run(&project(), &["deploy", "prd", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed("Termination protection turned on for Prd");
    // After the operation: termination protection, then the stack policy.
    let a = sim.actions();
    assert_eq!(
        &a[a.len() - 2..],
        ["UpdateTerminationProtection", "SetStackPolicy"]
    );
    assert!(sim.protection("Prd"));
}

#[test]
fn create_failed_rolls_back_and_reports_the_root_cause_first() {
    let sim = Sim::start();
    sim.script(vec![
        vec![
            stack_event("CREATE_IN_PROGRESS").reason("User Initiated"),
            event("Bucket", "AWS::S3::Bucket", "CREATE_IN_PROGRESS"),
            event("Queue", "AWS::SQS::Queue", "CREATE_IN_PROGRESS"),
        ],
        vec![
            event("Bucket", "AWS::S3::Bucket", "CREATE_FAILED")
                .reason("dev-data already exists in stack arn:aws:cloudformation:eu-west-1:111122223333:stack/Old/1"),
            event("Queue", "AWS::SQS::Queue", "CREATE_FAILED").reason("Resource creation cancelled"),
        ],
        vec![stack_event("ROLLBACK_IN_PROGRESS").reason(
            "The following resource(s) failed to create: [Queue, Bucket]. Rollback requested by user.",
        )],
        vec![
            event("Queue", "AWS::SQS::Queue", "DELETE_COMPLETE"),
            event("Bucket", "AWS::S3::Bucket", "DELETE_COMPLETE"),
        ],
        vec![stack_event("ROLLBACK_COMPLETE")],
    ]);
    let r = run(&project(), &["deploy", "dev", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Failed, "{}", r.all());
    r.assert_printed("✗ Dev: ROLLBACK_COMPLETE");
    let block = section(&r.out, "Failed resources (root cause first):");
    let rows: Vec<&str> = block.lines().skip(2).collect();
    assert_eq!(
        rows.len(),
        1,
        "only the root cause, no cancellations:\n{block}"
    );
    assert!(
        rows[0].contains("Bucket      AWS::S3::Bucket  Dev/Bucket      CREATE_FAILED"),
        "{block}"
    );
    assert!(
        rows[0].contains("CREATE_FAILED  dev-data already exists"),
        "{block}"
    );
    assert!(!block.contains("Resource creation cancelled"), "{block}");
    r.assert_printed("error: deploy of Dev failed: the first create failed and rolled back");
    assert_eq!(sim.status("Dev").as_deref(), Some("ROLLBACK_COMPLETE"));
}

#[test]
fn update_rollback_reports_the_root_cause_and_says_the_old_version_is_live() {
    let sim = Sim::start();
    let p = project();
    seed_deployed(&sim, &p, "dev", "Dev");
    sim.script(vec![
        vec![
            stack_event("UPDATE_IN_PROGRESS").reason("User Initiated"),
            event("Queue", "AWS::SQS::Queue", "UPDATE_IN_PROGRESS"),
            event("Topic", "AWS::SNS::Topic", "CREATE_IN_PROGRESS"),
        ],
        vec![event("Queue", "AWS::SQS::Queue", "UPDATE_FAILED").reason(
            "Resource handler returned message: \"Invalid value for the parameter VisibilityTimeout.\" (HandlerErrorCode: InvalidRequest)",
        )],
        vec![
            event("Topic", "AWS::SNS::Topic", "CREATE_FAILED").reason("Resource creation cancelled"),
            stack_event("UPDATE_ROLLBACK_IN_PROGRESS")
                .reason("The following resource(s) failed to update: [Queue]."),
        ],
        vec![
            event("Queue", "AWS::SQS::Queue", "UPDATE_COMPLETE"),
            stack_event("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"),
            event("Topic", "AWS::SNS::Topic", "DELETE_COMPLETE"),
        ],
        vec![stack_event("UPDATE_ROLLBACK_COMPLETE")],
    ]);
    let next = p
        .clone()
        .with(
            "Queue",
            "AWS::SQS::Queue",
            json!({"VisibilityTimeout": 99999}),
        )
        .with("Topic", "AWS::SNS::Topic", json!({}));
    let r = run(&next, &["deploy", "dev", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Failed, "{}", r.all());
    assert_eq!(
        sim.requests("CreateChangeSet")[0].params["ChangeSetType"],
        "UPDATE"
    );
    r.assert_printed("~  AWS::SQS::Queue  Queue       Dev/Queue");
    r.assert_printed("+  AWS::SNS::Topic  Topic       Dev/Topic");
    r.assert_printed("✗ Dev: UPDATE_ROLLBACK_COMPLETE");
    let block = section(&r.out, "Failed resources");
    let rows: Vec<&str> = block.lines().skip(2).collect();
    assert_eq!(rows.len(), 1, "{block}");
    assert!(
        rows[0].starts_with("  Queue       AWS::SQS::Queue  Dev/Queue       UPDATE_FAILED  Resource handler returned message: \"Invalid value"),
        "{block}"
    );
    r.assert_printed(
        "error: deploy of Dev failed: the update rolled back; the previous version is live",
    );
}

#[test]
fn a_rollback_complete_stack_is_deleted_after_confirmation_then_created_again() {
    let sim = Sim::start();
    let p = project();
    sim.seed(
        StackSeed::new("Dev", "ROLLBACK_COMPLETE")
            .template(&p.template("dev"))
            .events(vec![
                stack_event("CREATE_IN_PROGRESS").reason("User Initiated"),
                stack_event("ROLLBACK_COMPLETE"),
            ]),
    );
    let o = opts(&sim).interactive(vec![Scripted::Line("y".into()), Scripted::Line("y".into())]);
    let r = run(&p, &["deploy", "dev"], &o);
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed("Dev is in ROLLBACK_COMPLETE: its first create failed");
    r.assert_printed("Delete Dev and create it again? [y/N] y");
    r.assert_printed("✓ Dev deleted; creating it again");
    r.assert_printed("Execute these 2 changes to Dev? [y/N] y");
    r.assert_printed("✓ Dev: CREATE_COMPLETE");
    let a = sim.actions();
    let del = a
        .iter()
        .position(|x| x == "DeleteStack")
        .expect("DeleteStack");
    let create = a
        .iter()
        .position(|x| x == "CreateChangeSet")
        .expect("CreateChangeSet");
    assert!(del < create, "deleted before the new create: {a:?}");
    assert!(
        sim.requests("DeleteStack")[0].params["ClientRequestToken"]
            .starts_with("cfn-deploy-delete-")
    );
    assert_eq!(
        sim.requests("CreateChangeSet")[0].params["ChangeSetType"],
        "CREATE"
    );
    assert_eq!(sim.status("Dev").as_deref(), Some("CREATE_COMPLETE"));
}

#[test]
fn declining_to_delete_a_rollback_complete_stack_changes_nothing() {
    let sim = Sim::start();
    sim.seed(StackSeed::new("Dev", "ROLLBACK_COMPLETE"));
    let o = opts(&sim).interactive(vec![Scripted::Line("n".into())]);
    let r = run(&project(), &["deploy", "dev"], &o);
    assert_eq!(r.exit, Exit::Refused, "{}", r.all());
    r.assert_printed("Not deployed; nothing was changed.");
    assert_eq!(count(&sim.actions(), "DeleteStack"), 0);
    assert_eq!(count(&sim.actions(), "CreateChangeSet"), 0);
}

#[test]
fn a_review_in_progress_stack_gets_a_create_change_set() {
    let sim = Sim::start();
    sim.seed(StackSeed::new("Dev", "REVIEW_IN_PROGRESS").events(vec![
        stack_event("REVIEW_IN_PROGRESS").reason("User Initiated"),
    ]));
    let r = run(&project(), &["deploy", "dev", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    assert_eq!(
        sim.requests("CreateChangeSet")[0].params["ChangeSetType"],
        "CREATE"
    );
    assert_eq!(
        count(&sim.actions(), "GetTemplate"),
        0,
        "nothing deployed to compare with"
    );
    r.assert_printed("✓ Dev: CREATE_COMPLETE");
}

#[test]
fn a_busy_stack_is_refused_with_the_next_step() {
    let sim = Sim::start();
    sim.seed(StackSeed::new("Dev", "UPDATE_IN_PROGRESS"));
    let r = run(&project(), &["deploy", "dev", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Refused, "{}", r.all());
    r.assert_printed("error: deploy refused: stack Dev is UPDATE_IN_PROGRESS: an operation is in progress (UPDATE_IN_PROGRESS); follow it with `app watch dev` and deploy again once it settles");
    assert_eq!(sim.actions(), ["GetCallerIdentity", "DescribeStacks"]);
}

#[test]
fn a_stuck_stack_is_refused_with_continue_update_rollback() {
    let sim = Sim::start();
    sim.seed(StackSeed::new("Dev", "UPDATE_ROLLBACK_FAILED"));
    let r = run(&project(), &["deploy", "dev", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Refused, "{}", r.all());
    r.assert_printed("aws cloudformation continue-update-rollback --stack-name Dev");
    r.assert_not_printed("ValidationError");
    assert_eq!(sim.actions(), ["GetCallerIdentity", "DescribeStacks"]);
}

#[test]
fn watch_follows_the_operation_in_progress_to_its_end() {
    let sim = Sim::start();
    let p = project();
    sim.seed(
        StackSeed::new("Dev", "UPDATE_IN_PROGRESS")
            .template(&p.template("dev"))
            .events(vec![
                stack_event("CREATE_IN_PROGRESS").reason("User Initiated"),
                stack_event("CREATE_COMPLETE"),
            ])
            .in_progress(
                "Console-UpdateStack-abc",
                vec![
                    vec![
                        stack_event("UPDATE_IN_PROGRESS").reason("User Initiated"),
                        event("Queue", "AWS::SQS::Queue", "UPDATE_IN_PROGRESS"),
                    ],
                    vec![event("Queue", "AWS::SQS::Queue", "UPDATE_COMPLETE")],
                    vec![stack_event("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")],
                    vec![stack_event("UPDATE_COMPLETE")],
                ],
            ),
    );
    let r = run(&p, &["watch", "dev"], &opts(&sim));
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed("Following Dev: UPDATE_IN_PROGRESS");
    r.assert_printed(
        "UPDATE_IN_PROGRESS           AWS::SQS::Queue                    Queue (Dev/Queue)",
    );
    r.assert_printed(
        "UPDATE_COMPLETE              AWS::SQS::Queue                    Queue (Dev/Queue)",
    );
    r.assert_printed("✓ Dev: UPDATE_COMPLETE");
    r.assert_not_printed("CREATE_COMPLETE");
    assert_eq!(count(&sim.actions(), "CreateChangeSet"), 0);
}

#[test]
fn watch_reports_how_the_last_operation_failed() {
    let sim = Sim::start();
    let p = project();
    sim.seed(
        StackSeed::new("Dev", "UPDATE_ROLLBACK_COMPLETE")
            .template(&p.template("dev"))
            .events(vec![
                stack_event("UPDATE_IN_PROGRESS").reason("User Initiated"),
                event("Queue", "AWS::SQS::Queue", "UPDATE_FAILED")
                    .reason("Queue policy is invalid"),
                stack_event("UPDATE_ROLLBACK_IN_PROGRESS"),
                stack_event("UPDATE_ROLLBACK_COMPLETE"),
            ]),
    );
    let r = run(&p, &["watch", "dev"], &opts(&sim));
    assert_eq!(r.exit, Exit::Failed, "{}", r.all());
    r.assert_printed("Dev is UPDATE_ROLLBACK_COMPLETE");
    r.assert_printed(
        "Queue       AWS::SQS::Queue  Dev/Queue       UPDATE_FAILED  Queue policy is invalid",
    );
}

#[test]
fn throttling_bursts_are_retried_and_the_deploy_carries_on() {
    let sim = Sim::start();
    sim.fault("CreateChangeSet", Fault::Throttle, 2);
    sim.fault("DescribeStackEvents", Fault::Throttle, 3);
    let r = run(&project(), &["deploy", "dev", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed("cloudformation:CreateChangeSet throttled (Rate exceeded); retrying in");
    r.assert_printed("cloudformation:DescribeStackEvents throttled (Rate exceeded); retrying in");
    r.assert_printed("✓ Dev: CREATE_COMPLETE");
    assert_eq!(count(&sim.actions(), "CreateChangeSet"), 3);
    // One horizon read and three polls, plus the three throttled attempts.
    assert_eq!(count(&sim.actions(), "DescribeStackEvents"), 7);
    let tokens: Vec<String> = sim
        .requests("CreateChangeSet")
        .iter()
        .map(|r| r.params["ClientToken"].clone())
        .collect();
    assert!(
        tokens.windows(2).all(|w| w[0] == w[1]),
        "one ClientToken for every attempt"
    );
}

#[test]
fn server_errors_and_dropped_connections_are_retried() {
    let sim = Sim::start();
    sim.fault("ExecuteChangeSet", Fault::Internal, 1);
    sim.fault("DescribeStackEvents", Fault::Drop, 1);
    sim.fault("DescribeChangeSet", Fault::Drop, 1);
    sim.fault("GetCallerIdentity", Fault::Internal, 1);
    let r = run(&project(), &["deploy", "dev", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed("sts:GetCallerIdentity failed (We encountered an internal error. Please try again.); retrying");
    r.assert_printed("cloudformation:DescribeChangeSet failed (request not completed");
    r.assert_printed("✓ Dev: CREATE_COMPLETE");
    let exec = sim.requests("ExecuteChangeSet");
    assert_eq!(exec.len(), 2);
    assert_eq!(
        exec[0].params["ClientRequestToken"], exec[1].params["ClientRequestToken"],
        "the retry reuses the token, so CloudFormation runs it once"
    );
    assert_eq!(
        r.out
            .matches("CREATE_COMPLETE              AWS::S3::Bucket")
            .count(),
        1
    );
}

#[test]
fn retries_give_up_with_a_clear_error_and_success_is_never_claimed() {
    let sim = Sim::start();
    sim.fault("DescribeStackEvents", Fault::Internal, 100);
    let o = opts(&sim).retry(cfn_deploy::aws::RetryPolicy::fast(3));
    let r = run(&project(), &["deploy", "dev", "--yes"], &o);
    assert_eq!(r.exit, Exit::Failed, "{}", r.all());
    r.assert_printed("error: executing change set");
    r.assert_printed("cloudformation DescribeStackEvents failed after 3 attempts: We encountered an internal error");
    r.assert_not_printed("✓");
    r.assert_printed("hint: deleted change set cfn-deploy-");
    r.assert_printed("and the empty stack Dev; nothing was changed");
    assert_eq!(count(&sim.actions(), "ExecuteChangeSet"), 0);
    assert_eq!(count(&sim.actions(), "DeleteChangeSet"), 1);
    assert!(sim.change_sets().is_empty(), "no change set left behind");
}

#[test]
fn the_failed_empty_change_set_is_deleted_and_reported_as_no_changes() {
    let sim = Sim::start();
    let p = project();
    // Deployed by another tool as YAML: the texts differ, so only CloudFormation can tell.
    sim.seed(
        StackSeed::new("Dev", "UPDATE_COMPLETE")
            .template("Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n")
            .tags(&[("app", "raw"), ("env", "dev"), ("version", "1.0.0")]),
    );
    sim.next_change_set_fails(EMPTY_REASON);
    let r = run(&p, &["deploy", "dev", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed(&format!(
        "No changes: CloudFormation found nothing to change in Dev (\"{EMPTY_REASON}\"); the empty change set was deleted."
    ));
    assert_eq!(count(&sim.actions(), "DeleteChangeSet"), 1);
    assert_eq!(count(&sim.actions(), "ExecuteChangeSet"), 0);
    assert!(sim.change_sets().is_empty(), "no change set left behind");
}

#[test]
fn no_updates_are_to_be_performed_is_no_changes_too() {
    let sim = Sim::start();
    sim.seed(
        StackSeed::new("Dev", "UPDATE_COMPLETE")
            .template("{\"Resources\": {}}")
            .tags(&[("app", "raw"), ("env", "dev"), ("version", "1.0.0")]),
    );
    sim.next_change_set_no_updates();
    let r = run(&project(), &["deploy", "dev", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed("(\"No updates are to be performed.\")");
    assert_eq!(count(&sim.actions(), "DescribeChangeSet"), 0);
    assert_eq!(count(&sim.actions(), "ExecuteChangeSet"), 0);
}

#[test]
fn an_identical_stack_needs_no_change_set() {
    let sim = Sim::start();
    let p = project();
    seed_deployed(&sim, &p, "dev", "Dev");
    let r = run(&p, &["deploy", "dev", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed("No changes: Dev is up to date.");
    assert_eq!(
        sim.actions(),
        ["GetCallerIdentity", "DescribeStacks", "GetTemplate"]
    );
}

#[test]
fn only_termination_protection_differs() {
    let sim = Sim::start();
    let p = project();
    seed_deployed(&sim, &p, "dev", "Dev");
    let protected = RawProject::new(vec![
        Environment::new("dev")
            .stack_name("Dev")
            .region(REGION)
            .protected(true),
    ]);
    let r = run(&protected, &["deploy", "dev", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed("termination protection turned on");
    assert_eq!(
        sim.actions(),
        [
            "GetCallerIdentity",
            "DescribeStacks",
            "GetTemplate",
            "UpdateTerminationProtection"
        ]
    );
    assert!(sim.protection("Dev"));
}

#[test]
fn parameters_not_given_keep_their_previous_value() {
    let sim = Sim::start();
    let p = project();
    let mut seed = StackSeed::new("Dev", "UPDATE_COMPLETE")
        .template(&p.template("dev"))
        .tags(&[("app", "raw"), ("env", "dev"), ("version", "1.0.0")]);
    seed.parameters = vec![("Size".into(), "3".into()), ("Mode".into(), "a".into())];
    sim.seed(seed);
    let mut next = p.with("Queue", "AWS::SQS::Queue", json!({"VisibilityTimeout": 60}));
    next.envs = vec![
        Environment::new("dev")
            .stack_name("Dev")
            .region(REGION)
            .parameter("Mode", "b"),
    ];
    // Declare the parameters in the template.
    struct WithParams(RawProject);
    impl cfn_deploy::project::Project for WithParams {
        fn name(&self) -> &str {
            self.0.name()
        }
        fn version(&self) -> &str {
            self.0.version()
        }
        fn environments(&self) -> Result<Vec<Environment>, cfn_deploy::ProjectError> {
            self.0.environments()
        }
        fn synth(
            &self,
            env: &Environment,
        ) -> Result<cfn_deploy::SynthOutput, cfn_deploy::ProjectError> {
            let mut stack = cfn_core::Stack::new(&env.stack_name);
            stack.add_parameter(
                "Size",
                cfn_core::Parameter::new(cfn_core::ParameterType::Number),
            );
            stack.add_parameter(
                "Mode",
                cfn_core::Parameter::new(cfn_core::ParameterType::String),
            );
            let mut root = stack.root();
            for (id, ty, props) in &self.0.resources {
                root.add_raw(id, ty, None, props.clone());
            }
            Ok(stack.synth()?.into())
        }
    }
    let r = run(&WithParams(next), &["deploy", "dev", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    let params = &sim.requests("CreateChangeSet")[0].params;
    assert_eq!(params["Parameters.member.1.ParameterKey"], "Mode");
    assert_eq!(params["Parameters.member.1.ParameterValue"], "b");
    assert_eq!(params["Parameters.member.2.ParameterKey"], "Size");
    assert_eq!(params["Parameters.member.2.UsePreviousValue"], "true");
}

#[test]
fn ctrl_c_while_following_stops_following_and_cloudformation_carries_on() {
    let sim = Sim::start();
    let o = opts(&sim);
    let interrupt = o.interrupt.clone();
    // 1: the horizon read before executing, 2: the first poll; Ctrl-C during the second poll.
    sim.on_call("DescribeStackEvents", 3, move || interrupt.trigger());
    let r = run(&project(), &["deploy", "dev", "--yes"], &o);
    assert_eq!(r.exit, Exit::Interrupted, "{}", r.all());
    r.assert_printed("Interrupted: stopped following Dev. CloudFormation carries on with the operation; it is not cancelled.");
    r.assert_printed("Resume following it with: app watch dev");
    r.assert_not_printed("✓");
    let a = sim.actions();
    assert_eq!(count(&a, "ExecuteChangeSet"), 1);
    for never in ["DeleteChangeSet", "DeleteStack", "CancelUpdateStack"] {
        assert_eq!(count(&a, never), 0, "{never} in {a:?}");
    }
    assert_eq!(sim.status("Dev").as_deref(), Some("CREATE_IN_PROGRESS"));
}

#[test]
fn ctrl_c_at_the_prompt_deletes_our_change_set_and_the_empty_new_stack() {
    let sim = Sim::start();
    let o = opts(&sim).interactive(vec![Scripted::CtrlC]);
    let r = run(&project(), &["deploy", "dev"], &o);
    assert_eq!(r.exit, Exit::Interrupted, "{}", r.all());
    r.assert_printed("Interrupted: deleted change set cfn-deploy-");
    r.assert_printed("nothing was changed");
    let a = sim.actions();
    assert_eq!(count(&a, "ExecuteChangeSet"), 0);
    assert_eq!(count(&a, "DeleteChangeSet"), 1);
    assert_eq!(
        count(&a, "DeleteStack"),
        1,
        "the REVIEW_IN_PROGRESS stack we made goes too"
    );
    assert!(sim.change_sets().is_empty());
    assert!(!sim.exists("Dev"));
}

#[test]
fn ctrl_c_while_the_change_set_is_computed_deletes_it() {
    let sim = Sim::start();
    let p = project();
    seed_deployed(&sim, &p, "dev", "Dev");
    let o = opts(&sim);
    let interrupt = o.interrupt.clone();
    sim.on_call("DescribeChangeSet", 1, move || interrupt.trigger());
    let next = p.with("Queue", "AWS::SQS::Queue", json!({"VisibilityTimeout": 60}));
    let r = run(&next, &["deploy", "dev", "--yes"], &o);
    assert_eq!(r.exit, Exit::Interrupted, "{}", r.all());
    assert_eq!(count(&sim.actions(), "DeleteChangeSet"), 1);
    assert_eq!(
        count(&sim.actions(), "DeleteStack"),
        0,
        "an existing stack is left alone"
    );
    assert!(sim.change_sets().is_empty());
    assert_eq!(sim.status("Dev").as_deref(), Some("UPDATE_COMPLETE"));
}

#[test]
fn declining_the_change_set_deletes_it() {
    let sim = Sim::start();
    let p = project();
    seed_deployed(&sim, &p, "dev", "Dev");
    let o = opts(&sim).interactive(vec![Scripted::Line("no".into())]);
    let next = p.without("Queue");
    let r = run(&next, &["deploy", "dev"], &o);
    assert_eq!(r.exit, Exit::Refused, "{}", r.all());
    r.assert_printed("-  AWS::SQS::Queue  Queue       Dev/Queue");
    r.assert_printed("Not deployed: deleted change set cfn-deploy-");
    assert_eq!(count(&sim.actions(), "ExecuteChangeSet"), 0);
    assert!(sim.change_sets().is_empty());
}

#[test]
fn stateful_replacements_are_refused_in_protected_environments_unless_allowed() {
    let sim = Sim::start();
    let p = project().with(
        "Bucket",
        "AWS::S3::Bucket",
        json!({"BucketName": "prd-data-1"}),
    );
    seed_deployed(&sim, &p, "prd", "Prd");
    sim.replacement("Bucket", "True");
    sim.replacement("Queue", "Conditional");
    let next = p
        .clone()
        .with(
            "Bucket",
            "AWS::S3::Bucket",
            json!({"BucketName": "prd-data-2"}),
        )
        .with("Queue", "AWS::SQS::Queue", json!({"VisibilityTimeout": 31}));
    let r = run(&next, &["deploy", "prd", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Refused, "{}", r.all());
    r.assert_printed("~  AWS::S3::Bucket  Bucket      Prd/Bucket      REPLACE");
    r.assert_printed("~  AWS::SQS::Queue  Queue       Prd/Queue       may replace (Conditional)");
    r.assert_printed("error: the change set replaces or deletes stateful resources in environment 'prd': Prd/Bucket (Bucket, AWS::S3::Bucket); refusing");
    r.assert_printed(
        "hint: if that is intended, deploy again with `app deploy prd --allow-replacement`",
    );
    assert_eq!(count(&sim.actions(), "ExecuteChangeSet"), 0);
    assert!(sim.change_sets().is_empty());

    let r = run(
        &next,
        &["deploy", "prd", "--yes", "--allow-replacement"],
        &opts(&sim),
    );
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed("warning: stateful resources will be replaced or deleted: Prd/Bucket");
    r.assert_printed("✓ Prd: UPDATE_COMPLETE");
}

#[test]
fn the_same_replacement_in_an_unprotected_environment_is_only_highlighted() {
    let sim = Sim::start();
    let p = project().with(
        "Bucket",
        "AWS::S3::Bucket",
        json!({"BucketName": "dev-data-1"}),
    );
    seed_deployed(&sim, &p, "dev", "Dev");
    sim.replacement("Bucket", "True");
    let next = p.with(
        "Bucket",
        "AWS::S3::Bucket",
        json!({"BucketName": "dev-data-2"}),
    );
    let r = run(&next, &["deploy", "dev", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed("REPLACE");
    r.assert_printed("warning: stateful resources will be replaced or deleted");
}

#[test]
fn without_a_terminal_deploy_needs_yes_and_calls_nothing() {
    let sim = Sim::start();
    let r = run(&project(), &["deploy", "dev"], &opts(&sim));
    assert_eq!(r.exit, Exit::Usage, "{}", r.all());
    r.assert_printed(
        "error: deploy needs --yes when there is no terminal to confirm the change set",
    );
    assert!(sim.actions().is_empty());
}

#[test]
fn the_wrong_account_is_refused_before_anything_else() {
    let sim = Sim::start();
    let p = RawProject::new(vec![
        Environment::new("prd")
            .stack_name("Prd")
            .account("999999999999")
            .region(REGION),
    ]);
    let r = run(&p, &["deploy", "prd", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Refused, "{}", r.all());
    r.assert_printed(&format!("the credentials are for account {ACCOUNT}, but environment 'prd' deploys to account 999999999999; refusing"));
    assert_eq!(sim.actions(), ["GetCallerIdentity"]);
}

#[test]
fn destroy_lists_what_stays_and_needs_the_stack_name_typed() {
    let sim = Sim::start();
    let p = project().with(
        "Db",
        "AWS::RDS::DBCluster",
        json!({"Engine": "aurora-postgresql"}),
    );
    // The deployed template carries deletion policies.
    let mut t: serde_json::Value = serde_json::from_str(&p.template("dev")).expect("json");
    t["Resources"]["Db"]["DeletionPolicy"] = json!("Snapshot");
    sim.seed(
        StackSeed::new("Dev", "UPDATE_COMPLETE")
            .template(&t.to_string())
            .events(vec![stack_event("CREATE_COMPLETE")]),
    );
    let wrong = opts(&sim).interactive(vec![Scripted::Line("dev".into())]);
    let r = run(&p, &["destroy", "dev"], &wrong);
    assert_eq!(r.exit, Exit::Refused, "{}", r.all());
    r.assert_printed("Not destroyed: the name did not match.");
    assert_eq!(count(&sim.actions(), "DeleteStack"), 0);

    let right = opts(&sim).interactive(vec![Scripted::Line("Dev".into())]);
    let r = run(&p, &["destroy", "dev"], &right);
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed("Destroying Dev (dev) in account 111122223333 in eu-west-1: 3 resources");
    r.assert_printed("Db          AWS::RDS::DBCluster  Db-physical      DeletionPolicy Snapshot: a final snapshot is kept");
    r.assert_printed(
        "Bucket      AWS::S3::Bucket      Bucket-physical  bucket: deleted only if empty",
    );
    r.assert_printed("Type the stack name (Dev) to delete it: Dev");
    // A terminal shows a progress bar rather than event lines.
    r.assert_not_printed("DELETE_IN_PROGRESS");
    r.assert_printed("✓ Dev: DELETE_COMPLETE in ");
    r.assert_printed("s (8 events)");
    r.assert_not_printed("Outputs:");
    assert!(
        sim.requests("DeleteStack")[0].params["ClientRequestToken"]
            .starts_with("cfn-deploy-delete-")
    );
    assert!(!sim.exists("Dev"));
}

#[test]
fn destroy_refuses_while_termination_protection_is_on() {
    let sim = Sim::start();
    let p = project();
    seed_deployed(&sim, &p, "prd", "Prd");
    let r = run(&p, &["destroy", "prd", "--force"], &opts(&sim));
    assert_eq!(r.exit, Exit::Refused, "{}", r.all());
    r.assert_printed("error: stack Prd has termination protection on; refusing to destroy it");
    r.assert_printed(
        "update-termination-protection --no-enable-termination-protection --stack-name Prd",
    );
    assert_eq!(count(&sim.actions(), "DeleteStack"), 0);
}

#[test]
fn destroy_failure_shows_the_failed_resources() {
    let sim = Sim::start();
    let p = project();
    seed_deployed(&sim, &p, "dev", "Dev");
    sim.script(vec![
        vec![stack_event("DELETE_IN_PROGRESS").reason("User Initiated")],
        vec![
            event("Queue", "AWS::SQS::Queue", "DELETE_COMPLETE"),
            event("Bucket", "AWS::S3::Bucket", "DELETE_FAILED").reason(
                "Resource handler returned message: \"The bucket you tried to delete is not empty\"",
            ),
        ],
        vec![stack_event("DELETE_FAILED").reason("The following resource(s) failed to delete: [Bucket].")],
    ]);
    let r = run(&p, &["destroy", "dev", "--force"], &opts(&sim));
    assert_eq!(r.exit, Exit::Failed, "{}", r.all());
    r.assert_printed("✗ Dev: DELETE_FAILED");
    r.assert_printed("Bucket      AWS::S3::Bucket  Dev/Bucket      DELETE_FAILED  Resource handler returned message: \"The bucket you tried to delete is not empty\"");
    r.assert_printed("error: destroy of Dev failed: fix the cause (a non-empty bucket, a resource in use) and run `app destroy dev` again");
}

#[test]
fn diff_shows_resources_security_changes_and_replacements_and_fail_exits_1() {
    let sim = Sim::start();
    let role = |actions: serde_json::Value| {
        json!({"AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
            "Principal": {"Service": "ecs-tasks.amazonaws.com"}}]},
            "Policies": [{"PolicyName": "data", "PolicyDocument": {"Statement": [
                {"Effect": "Allow", "Action": actions, "Resource": {"Fn::GetAtt": ["Bucket", "Arn"]}}]}}]})
    };
    let p = project()
        .with(
            "Bucket",
            "AWS::S3::Bucket",
            json!({"BucketName": "dev-data-1"}),
        )
        .with("Role", "AWS::IAM::Role", role(json!("s3:GetObject")));
    seed_deployed(&sim, &p, "dev", "Dev");
    let same = run(&p, &["diff", "dev", "--fail"], &opts(&sim));
    assert_eq!(same.exit, Exit::Ok, "{}", same.all());
    same.assert_printed("No differences.");
    let before = sim.actions().len();

    let next = p
        .with("Bucket", "AWS::S3::Bucket", json!({"BucketName": "dev-data-2"}))
        .with("Role", "AWS::IAM::Role", role(json!(["s3:GetObject", "s3:PutObject"])))
        .with("Sg", "AWS::EC2::SecurityGroup", json!({"GroupDescription": "web",
            "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"}]}))
        .without("Queue");
    let r = run(&next, &["diff", "dev", "--fail"], &opts(&sim));
    assert_eq!(r.exit, Exit::Failed, "{}", r.all());
    r.assert_printed("[~] AWS::S3::Bucket Bucket (Dev/Bucket)  REPLACED");
    r.assert_printed("    ~ Properties/BucketName: \"dev-data-1\" → \"dev-data-2\"  (replaces)");
    r.assert_printed("[+] AWS::EC2::SecurityGroup Sg (Dev/Sg)");
    r.assert_printed("[-] AWS::SQS::Queue Queue (Dev/Queue)");
    r.assert_printed("Security changes (IAM statements, security-group rules)");
    r.assert_printed("+  Role      AWS::IAM::Role           data: Allow s3:GetObject,s3:PutObject on ${Bucket.Arn}");
    r.assert_printed(
        "-  Role      AWS::IAM::Role           data: Allow s3:GetObject on ${Bucket.Arn}",
    );
    r.assert_printed("+  Sg        AWS::EC2::SecurityGroup  ingress tcp 443 from 0.0.0.0/0");
    r.assert_printed(
        "4 resource changes, 3 security changes, 1 predicted replacement: Bucket (AWS::S3::Bucket)",
    );
    assert_eq!(
        sim.actions()[before..],
        ["GetCallerIdentity", "DescribeStacks", "GetTemplate"]
    );

    let r = run(&next, &["diff", "dev"], &opts(&sim));
    assert_eq!(r.exit, Exit::Ok, "without --fail a diff is not a failure");
}

#[test]
fn diff_of_a_stack_that_is_not_deployed_lists_everything_as_new() {
    let sim = Sim::start();
    let r = run(&project(), &["diff", "dev", "--fail"], &opts(&sim));
    assert_eq!(r.exit, Exit::Failed, "{}", r.all());
    r.assert_printed(
        "Dev (dev) is not deployed in account 111122223333 in eu-west-1: everything is new.",
    );
    r.assert_printed("[+] AWS::S3::Bucket Bucket (Dev/Bucket)");
    r.assert_printed("[+] AWS::SQS::Queue Queue (Dev/Queue)");
}

#[test]
fn list_shows_every_environment_and_its_stack_status() {
    let sim = Sim::start();
    let p = project();
    seed_deployed(&sim, &p, "prd", "Prd");
    let r = run(&p, &["list"], &opts(&sim));
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed(
        "ENV  STACK  ACCOUNT       REGION     STATUS                       LAST CHANGE",
    );
    r.assert_printed("dev  Dev    (any)         eu-west-1  not deployed");
    r.assert_printed(
        "prd  Prd    111122223333  eu-west-1  UPDATE_COMPLETE (protected)  2026-11-26T10:00:00Z",
    );
}

#[test]
fn losing_track_of_a_running_deploy_is_not_reported_as_a_failure() {
    let sim = Sim::start();
    // Once the change set executes, every read of its events is throttled past the retries.
    let later = sim.clone();
    sim.on_call("ExecuteChangeSet", 1, move || {
        later.fault("DescribeStackEvents", Fault::Throttle, 1_000);
    });
    let r = run(&project(), &["deploy", "dev", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::LostTrack, "{}", r.all());
    assert_eq!(r.exit.code(), 4);
    r.assert_printed("lost track of the deploy of Dev");
    r.assert_printed("CloudFormation carries on with it; it was not cancelled");
    r.assert_printed("hint: resume following it with: app watch dev");
    r.assert_not_printed("✗");
    r.assert_not_printed("deploy of Dev failed");
    // Following gave up; nothing was cleaned up behind the running operation.
    for never in ["DeleteChangeSet", "DeleteStack", "CancelUpdateStack"] {
        assert_eq!(count(&sim.actions(), never), 0, "{never}");
    }
}

#[test]
fn an_execute_request_that_may_have_reached_cloudformation_is_lost_track_not_failure() {
    let sim = Sim::start();
    sim.fault("ExecuteChangeSet", Fault::Internal, 100);
    let r = run(&project(), &["deploy", "dev", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::LostTrack, "{}", r.all());
    r.assert_printed("lost track of the execution of change set");
    r.assert_printed("hint: resume following it with: app watch dev");
    // Nothing is deleted: the change set may be executing.
    assert_eq!(count(&sim.actions(), "DeleteChangeSet"), 0);
}

#[test]
fn a_failure_after_create_change_set_removes_what_it_made_and_says_so() {
    let sim = Sim::start();
    // CreateChangeSet is accepted; reading its status is then throttled past the retries.
    sim.fault("DescribeChangeSet", Fault::Throttle, 6);
    let r = run(&project(), &["deploy", "dev", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Failed, "{}", r.all());
    r.assert_printed("creating the change set for Dev");
    r.assert_printed("hint: deleted change set cfn-deploy-");
    r.assert_printed("and the empty stack Dev; nothing was changed");
    assert_eq!(count(&sim.actions(), "DeleteChangeSet"), 1);
    assert!(sim.change_sets().is_empty());
    assert!(!sim.exists("Dev"), "the REVIEW_IN_PROGRESS stack is gone");
}

#[test]
fn a_cleanup_that_fails_says_what_it_left_and_never_that_it_deleted_it() {
    let sim = Sim::start();
    let o = opts(&sim).interactive(vec![Scripted::CtrlC]);
    sim.fault("DeleteChangeSet", Fault::Internal, 100);
    let r = run(&project(), &["deploy", "dev"], &o);
    assert_eq!(r.exit, Exit::Interrupted, "{}", r.all());
    r.assert_printed("left behind: change set cfn-deploy-");
    r.assert_printed("delete it with `aws cloudformation delete-change-set --stack-name Dev");
    r.assert_not_printed("deleted change set");
    assert_eq!(
        sim.change_sets().len(),
        1,
        "the change set is still there, as printed"
    );
}

#[test]
fn a_deploy_refuses_to_execute_when_another_operation_runs_on_the_stack() {
    let sim = Sim::start();
    let p = project();
    seed_deployed(&sim, &p, "dev", "Dev");
    // While this deploy computes its change set, another one starts updating the stack.
    let other = sim.clone();
    sim.on_call("DescribeChangeSet", 1, move || {
        other.set_status("Dev", "UPDATE_IN_PROGRESS")
    });
    let next = p.with("Queue", "AWS::SQS::Queue", json!({"VisibilityTimeout": 60}));
    let r = run(&next, &["deploy", "dev", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Refused, "{}", r.all());
    r.assert_printed(
        "not executing: Dev is UPDATE_IN_PROGRESS (another operation is running on it)",
    );
    r.assert_printed("deleted change set cfn-deploy-");
    r.assert_printed("hint: another deploy of Dev ran meanwhile");
    r.assert_not_printed("✓");
    assert_eq!(count(&sim.actions(), "ExecuteChangeSet"), 0);
    assert!(sim.change_sets().is_empty());
}

#[test]
fn a_deploy_refuses_a_change_set_computed_against_an_older_stack() {
    let sim = Sim::start();
    let p = project();
    seed_deployed(&sim, &p, "dev", "Dev");
    // Another deploy finished in between: the stack's LastUpdatedTime moved on.
    let other = sim.clone();
    sim.on_call("DescribeChangeSet", 1, move || other.touch("Dev"));
    let next = p.with("Queue", "AWS::SQS::Queue", json!({"VisibilityTimeout": 60}));
    let r = run(&next, &["deploy", "dev", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Refused, "{}", r.all());
    r.assert_printed("not executing: Dev changed since this deploy read it (last change");
    assert_eq!(count(&sim.actions(), "ExecuteChangeSet"), 0);
}

#[test]
fn the_simulator_refuses_to_execute_on_a_busy_stack_like_cloudformation() {
    let sim = Sim::start();
    let p = project();
    seed_deployed(&sim, &p, "dev", "Dev");
    // Busy only after our pre-execution check has read the stack (the horizon read comes
    // next): CloudFormation's own refusal is what stops this deploy then.
    let other = sim.clone();
    sim.on_call("DescribeStackEvents", 1, move || {
        other.set_status("Dev", "UPDATE_IN_PROGRESS")
    });
    let next = p.with("Queue", "AWS::SQS::Queue", json!({"VisibilityTimeout": 60}));
    let r = run(&next, &["deploy", "dev", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Failed, "{}", r.all());
    r.assert_printed("is in UPDATE_IN_PROGRESS state and can not be updated");
    r.assert_not_printed("✓");
}

#[test]
fn destroy_reads_every_resource_of_a_stack_over_100_through_paged_list_stack_resources() {
    let sim = Sim::start();
    // 205 resources, like the production Dify stack; DescribeStackResources would stop at 100.
    let mut p = project();
    for i in 0..203 {
        p = p.with(&format!("Topic{i:03}"), "AWS::SNS::Topic", json!({}));
    }
    sim.seed(
        StackSeed::new("Dev", "UPDATE_COMPLETE")
            .template(&p.template("dev"))
            .events(vec![stack_event("CREATE_COMPLETE")]),
    );
    let r = run(&p, &["destroy", "dev", "--force"], &opts(&sim));
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed("Destroying Dev (dev) in account 111122223333 in eu-west-1: 205 resources");
    let pages = sim.requests("ListStackResources");
    assert_eq!(pages.len(), 3, "100 + 100 + 5");
    assert_eq!(
        pages[1].params.get("NextToken").map(String::as_str),
        Some("page-100")
    );
    assert_eq!(count(&sim.actions(), "DescribeStackResources"), 0);
}

#[test]
fn a_conditional_replacement_of_a_stateful_resource_is_refused_too() {
    let sim = Sim::start();
    let p = project().with("Bucket", "AWS::S3::Bucket", json!({"BucketName": "prd-a"}));
    seed_deployed(&sim, &p, "prd", "Prd");
    sim.replacement("Bucket", "Conditional");
    let next = p.with("Bucket", "AWS::S3::Bucket", json!({"BucketName": "prd-b"}));
    let r = run(&next, &["deploy", "prd", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Refused, "{}", r.all());
    r.assert_printed("Prd/Bucket (Bucket, AWS::S3::Bucket); refusing");
    assert_eq!(count(&sim.actions(), "ExecuteChangeSet"), 0);
}

#[test]
fn renaming_a_stateful_resource_deletes_it_and_is_refused_unless_it_is_retained() {
    let sim = Sim::start();
    let p = project().with("Data", "AWS::S3::Bucket", json!({}));
    seed_deployed(&sim, &p, "prd", "Prd");
    // A logical-ID rename: the old bucket is removed, an empty one is created.
    let renamed = p
        .clone()
        .without("Data")
        .with("Files", "AWS::S3::Bucket", json!({}));
    let r = run(&renamed, &["deploy", "prd", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Refused, "{}", r.all());
    r.assert_printed("replaces or deletes stateful resources in environment 'prd': Prd/Data (Data, AWS::S3::Bucket); refusing");
    assert_eq!(count(&sim.actions(), "ExecuteChangeSet"), 0);

    // Retained by the deployed template, the removal only lets go of the bucket: allowed.
    let sim = Sim::start();
    let mut t: serde_json::Value = serde_json::from_str(&p.template("prd")).expect("json");
    t["Resources"]["Data"]["DeletionPolicy"] = json!("Retain");
    let tags: Vec<(String, String)> = raw_tags("prd")
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    let tags: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    sim.seed(
        StackSeed::new("Prd", "UPDATE_COMPLETE")
            .template(&t.to_string())
            .tags(&tags)
            .events(vec![stack_event("CREATE_COMPLETE")]),
    );
    let r = run(&renamed, &["deploy", "prd", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
}

#[test]
fn deploy_options_reach_cloudformation_as_the_aws_cli_sends_them() {
    let sim = Sim::start();
    let p = project()
        .with_parameter("Greeting", "hello")
        .with_parameter("Size", "1");
    let dir = std::env::temp_dir().join(format!("sim-opts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let params = dir.join("params.json");
    std::fs::write(
        &params,
        r#"[{"ParameterKey": "Greeting", "ParameterValue": "from the file"}, {"ParameterKey": "Size", "ParameterValue": "3"}]"#,
    )
    .expect("write the parameters file");
    let outputs = dir.join("outputs.json");
    let r = run(
        &p,
        &[
            "deploy",
            "dev",
            "--yes",
            "--parameters-file",
            params.to_str().unwrap_or_default(),
            "--parameters",
            "Size=5",
            "--tags",
            "cost-center=42",
            "--role-arn",
            "arn:aws:iam::111122223333:role/cfn-exec",
            "--notification-arns",
            "arn:aws:sns:eu-west-1:111122223333:deploys",
            "--no-rollback",
            "--outputs-file",
            outputs.to_str().unwrap_or_default(),
        ],
        &opts(&sim),
    );
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    let create = &sim.requests("CreateChangeSet")[0].params;
    let get = |k: &str| create.get(k).map(String::as_str);
    assert_eq!(
        get("RoleARN"),
        Some("arn:aws:iam::111122223333:role/cfn-exec")
    );
    assert_eq!(
        get("NotificationARNs.member.1"),
        Some("arn:aws:sns:eu-west-1:111122223333:deploys")
    );
    let params: Vec<(&str, &str)> = (1..=2)
        .filter_map(|i| {
            Some((
                get(&format!("Parameters.member.{i}.ParameterKey"))?,
                get(&format!("Parameters.member.{i}.ParameterValue"))?,
            ))
        })
        .collect();
    // The file, then the flag over it.
    assert_eq!(params, [("Greeting", "from the file"), ("Size", "5")]);
    let tags: Vec<(&str, &str)> = (1..=10)
        .filter_map(|i| {
            Some((
                get(&format!("Tags.member.{i}.Key"))?,
                get(&format!("Tags.member.{i}.Value"))?,
            ))
        })
        .collect();
    assert!(tags.contains(&("cost-center", "42")), "{tags:?}");
    assert!(
        tags.contains(&("app", "raw")),
        "the usual tags stay: {tags:?}"
    );
    let exec = &sim.requests("ExecuteChangeSet")[0].params;
    assert_eq!(
        exec.get("DisableRollback").map(String::as_str),
        Some("true")
    );
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&outputs).expect("outputs file"))
            .expect("json");
    assert_eq!(written, json!({"Dev": {"Simulated": "yes"}}));
    r.assert_printed(&format!("Outputs written to {}", outputs.display()));
}

#[test]
fn a_deploy_without_options_sends_none_of_them() {
    let sim = Sim::start();
    let r = run(&project(), &["deploy", "dev", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    let create = &sim.requests("CreateChangeSet")[0].params;
    assert!(!create.contains_key("RoleARN") && !create.contains_key("NotificationARNs.member.1"));
    let exec = &sim.requests("ExecuteChangeSet")[0].params;
    assert!(!exec.contains_key("DisableRollback"), "{exec:?}");
}

#[test]
fn an_unknown_parameter_or_a_bad_parameters_file_is_refused_before_any_call() {
    let sim = Sim::start();
    let p = project().with_parameter("Greeting", "hello");
    let r = run(
        &p,
        &["deploy", "dev", "--yes", "--parameters", "Greting=hi"],
        &opts(&sim),
    );
    assert_eq!(r.exit, Exit::Usage, "{}", r.all());
    r.assert_printed(
        "parameter Greting: the template of Dev declares no such parameter (it declares: Greeting)",
    );
    let bad = std::env::temp_dir().join(format!("sim-bad-params-{}.json", std::process::id()));
    std::fs::write(&bad, "[{\"ParameterKey\": \"Greeting\"}]").expect("write");
    let r = run(
        &p,
        &[
            "deploy",
            "dev",
            "--yes",
            "--parameters-file",
            bad.to_str().unwrap_or_default(),
        ],
        &opts(&sim),
    );
    assert_eq!(r.exit, Exit::Usage, "{}", r.all());
    r.assert_printed("each item needs ParameterKey and ParameterValue");
    let r = run(
        &p,
        &["deploy", "dev", "--yes", "--parameters", "novalue"],
        &opts(&sim),
    );
    assert_eq!(r.exit, Exit::Usage, "{}", r.all());
    assert!(sim.actions().is_empty(), "{:?}", sim.actions());
}

#[test]
fn a_change_set_left_for_review_is_executed_later_by_name() {
    let sim = Sim::start();
    let p = project();
    seed_deployed(&sim, &p, "dev", "Dev");
    let next = p.with("Queue", "AWS::SQS::Queue", json!({"VisibilityTimeout": 60}));
    let r = run(&next, &["deploy", "dev", "--no-execute"], &opts(&sim));
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed("~  AWS::SQS::Queue  Queue       Dev/Queue");
    r.assert_printed("is left for review, not executed. Execute it with: app deploy dev --change-set cfn-deploy-");
    assert_eq!(count(&sim.actions(), "ExecuteChangeSet"), 0);
    let name = sim.change_sets()[0].0.clone();

    let r = run(
        &next,
        &["deploy", "dev", "--change-set", &name, "--yes"],
        &opts(&sim),
    );
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed(&format!("Executing {name} (1 change)"));
    r.assert_printed("✓ Dev: UPDATE_COMPLETE");
    assert_eq!(count(&sim.actions(), "ExecuteChangeSet"), 1);
    assert_eq!(
        count(&sim.actions(), "CreateChangeSet"),
        1,
        "no second change set"
    );

    // Executed, it cannot be executed again.
    let r = run(
        &next,
        &["deploy", "dev", "--change-set", &name, "--yes"],
        &opts(&sim),
    );
    assert_ne!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_not_printed("✓");
}

#[test]
fn a_reviewed_change_set_that_replaces_stateful_resources_is_refused_and_left() {
    let sim = Sim::start();
    let p = project().with("Bucket", "AWS::S3::Bucket", json!({"BucketName": "prd-a"}));
    seed_deployed(&sim, &p, "prd", "Prd");
    sim.replacement("Bucket", "True");
    let next = p.with("Bucket", "AWS::S3::Bucket", json!({"BucketName": "prd-b"}));
    // --no-execute shows it (and warns) without refusing: nothing runs.
    let r = run(
        &next,
        &["deploy", "prd", "--no-execute", "--allow-replacement"],
        &opts(&sim),
    );
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    let name = sim.change_sets()[0].0.clone();
    let r = run(
        &next,
        &["deploy", "prd", "--change-set", &name, "--yes"],
        &opts(&sim),
    );
    assert_eq!(r.exit, Exit::Refused, "{}", r.all());
    r.assert_printed("replaces or deletes stateful resources in environment 'prd': Bucket (AWS::S3::Bucket); refusing (the change set is left for review");
    assert_eq!(sim.change_sets().len(), 1, "left in place");
    assert_eq!(count(&sim.actions(), "ExecuteChangeSet"), 0);
}

#[test]
fn drift_lists_modified_and_deleted_resources_with_their_differences() {
    let sim = Sim::start();
    let p = project();
    seed_deployed(&sim, &p, "dev", "Dev");
    sim.drift(
        "Queue",
        "AWS::SQS::Queue",
        "MODIFIED",
        &[("/VisibilityTimeout", "30", "120", "NOT_EQUAL")],
    );
    sim.drift("Bucket", "AWS::S3::Bucket", "DELETED", &[]);
    let r = run(&p, &["drift", "dev"], &opts(&sim));
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed("Dev: DRIFTED (2 resources drifted)");
    r.assert_printed("NOT_EQUAL /VisibilityTimeout: 30 → 120");
    r.assert_printed("Bucket");
    r.assert_printed("DELETED");
    let filters = &sim.requests("DescribeStackResourceDrifts")[0].params;
    assert_eq!(
        filters
            .get("StackResourceDriftStatusFilters.member.1")
            .map(String::as_str),
        Some("MODIFIED")
    );
    assert_eq!(
        count(&sim.actions(), "DescribeStackDriftDetectionStatus"),
        2,
        "polled until complete"
    );

    let r = run(&p, &["drift", "dev", "--fail"], &opts(&sim));
    assert_eq!(r.exit, Exit::Failed, "{}", r.all());
}

#[test]
fn drift_of_a_stack_in_sync_or_not_deployed() {
    let sim = Sim::start();
    let p = project();
    let r = run(&p, &["drift", "dev"], &opts(&sim));
    assert_eq!(r.exit, Exit::Usage, "{}", r.all());
    r.assert_printed("Dev is not deployed: no drift to detect");
    seed_deployed(&sim, &p, "dev", "Dev");
    let r = run(&p, &["drift", "dev", "--fail"], &opts(&sim));
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed("Dev: IN_SYNC (no resource drifted)");
}

#[test]
fn lost_responses_are_retried_with_the_same_tokens_and_nothing_happens_twice() {
    let sim = Sim::start();
    // CreateChangeSet and ExecuteChangeSet are applied, but their answers never arrive.
    sim.fault("CreateChangeSet", Fault::LostResponse, 1);
    sim.fault("ExecuteChangeSet", Fault::LostResponse, 1);
    let r = run(&project(), &["deploy", "dev", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed("✓ Dev: CREATE_COMPLETE");
    let creates = sim.requests("CreateChangeSet");
    assert_eq!(creates.len(), 2, "retried once");
    assert_eq!(
        creates[0].params["ClientToken"],
        creates[1].params["ClientToken"]
    );
    let execs = sim.requests("ExecuteChangeSet");
    assert_eq!(execs.len(), 2, "retried once");
    assert_eq!(
        execs[0].params["ClientRequestToken"],
        execs[1].params["ClientRequestToken"]
    );
    // One change set, one operation: the stack's events show a single create.
    let creates_in_events = r
        .out
        .matches("CREATE_IN_PROGRESS           AWS::CloudFormation::Stack")
        .count();
    assert!(creates_in_events <= 1, "{}", r.out);
}

#[test]
fn a_change_set_that_is_not_ready_is_not_executed_by_name() {
    let sim = Sim::start();
    let p = project();
    seed_deployed(&sim, &p, "dev", "Dev");
    // A reviewed change set that then failed (or went obsolete) is refused before any execute.
    sim.next_change_set_fails("Template error: something is wrong");
    let next = p.with("Queue", "AWS::SQS::Queue", json!({"VisibilityTimeout": 60}));
    let r = run(&next, &["deploy", "dev", "--no-execute"], &opts(&sim));
    assert_eq!(
        r.exit,
        Exit::Failed,
        "a failed change set is reported at once: {}",
        r.all()
    );
    let r = run(
        &next,
        &[
            "deploy",
            "dev",
            "--change-set",
            "cfn-deploy-nosuch",
            "--yes",
        ],
        &opts(&sim),
    );
    assert_ne!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed("reading change set cfn-deploy-nosuch of Dev");
    assert_eq!(count(&sim.actions(), "ExecuteChangeSet"), 0);
}

#[test]
fn more_than_a_page_of_events_in_one_poll_are_all_followed() {
    let sim = Sim::start();
    // 150 resources created in one burst: 300 resource events arrive between two polls,
    // three pages of DescribeStackEvents.
    let mut p = project();
    let mut burst = vec![stack_event("CREATE_IN_PROGRESS").reason("User Initiated")];
    for i in 0..150 {
        let id = format!("Topic{i:03}");
        p = p.with(&id, "AWS::SNS::Topic", json!({}));
        burst.push(event(&id, "AWS::SNS::Topic", "CREATE_IN_PROGRESS"));
        burst.push(event(&id, "AWS::SNS::Topic", "CREATE_COMPLETE"));
    }
    sim.script(vec![burst, vec![stack_event("CREATE_COMPLETE")]]);
    let r = run(&p, &["deploy", "dev", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed("✓ Dev: CREATE_COMPLETE");
    for i in [0, 75, 149] {
        r.assert_printed(&format!(
            "CREATE_COMPLETE              AWS::SNS::Topic                    Topic{i:03}"
        ));
    }
    let paged = sim
        .requests("DescribeStackEvents")
        .iter()
        .filter(|r| r.params.contains_key("NextToken"))
        .count();
    assert!(paged >= 2, "the burst was read over several pages");
}

#[test]
fn a_protected_environment_gets_a_stack_policy_guarding_its_stateful_resources() {
    let sim = Sim::start();
    let r = run(&project(), &["deploy", "prd", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed(
        "Stack policy of Prd: replacing or deleting its 1 stateful resource is denied",
    );
    let policy: serde_json::Value =
        serde_json::from_str(&sim.policy("Prd").expect("a stack policy")).expect("json");
    assert_eq!(
        policy["Statement"][1],
        json!({"Effect": "Deny", "Action": ["Update:Replace", "Update:Delete"], "Principal": "*", "Resource": ["LogicalResourceId/Bucket"]})
    );
    // An unprotected environment gets none.
    let r = run(&project(), &["deploy", "dev", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    assert_eq!(sim.policy("Dev"), None);
}

#[test]
fn allow_replacement_lifts_the_stack_policy_for_one_update_and_restores_it() {
    let sim = Sim::start();
    let p = project().with("Bucket", "AWS::S3::Bucket", json!({"BucketName": "prd-a"}));
    seed_deployed(&sim, &p, "prd", "Prd");
    sim.replacement("Bucket", "True");
    let next = p.with("Bucket", "AWS::S3::Bucket", json!({"BucketName": "prd-b"}));
    let r = run(
        &next,
        &["deploy", "prd", "--yes", "--allow-replacement"],
        &opts(&sim),
    );
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed("Stack policy of Prd lifted for this update (--allow-replacement)");
    let a = sim.actions();
    let lift = a
        .iter()
        .position(|x| x == "SetStackPolicy")
        .expect("lifted");
    let exec = a
        .iter()
        .position(|x| x == "ExecuteChangeSet")
        .expect("executed");
    let restore = a
        .iter()
        .rposition(|x| x == "SetStackPolicy")
        .expect("restored");
    assert!(lift < exec && exec < restore, "{a:?}");
    let bodies: Vec<String> = sim
        .requests("SetStackPolicy")
        .iter()
        .map(|r| r.params["StackPolicyBody"].clone())
        .collect();
    assert!(
        !bodies[0].contains("Deny"),
        "the lift allows everything: {}",
        bodies[0]
    );
    assert!(
        bodies[1].contains("LogicalResourceId/Bucket"),
        "{}",
        bodies[1]
    );
}

#[test]
fn continue_rollback_resumes_a_failed_rollback_and_follows_it() {
    let sim = Sim::start();
    let p = project();
    sim.seed(
        StackSeed::new("Dev", "UPDATE_ROLLBACK_FAILED")
            .template(&p.template("dev"))
            .events(vec![
                stack_event("UPDATE_ROLLBACK_FAILED").reason("Queue failed to roll back"),
            ]),
    );
    // deploy points to the verb.
    let r = run(&p, &["deploy", "dev", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Refused, "{}", r.all());
    r.assert_printed("then run `app continue-rollback dev` (add `--skip <LogicalId>`");

    let r = run(
        &p,
        &["continue-rollback", "dev", "--skip", "Queue"],
        &opts(&sim),
    );
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed("Continuing the rollback of Dev, skipping Queue…");
    r.assert_printed("✓ Dev: UPDATE_ROLLBACK_COMPLETE");
    let req = &sim.requests("ContinueUpdateRollback")[0].params;
    assert_eq!(
        req.get("ResourcesToSkip.member.1").map(String::as_str),
        Some("Queue")
    );
    assert!(req.contains_key("ClientRequestToken"));
    assert_eq!(
        sim.status("Dev").as_deref(),
        Some("UPDATE_ROLLBACK_COMPLETE")
    );

    // Nothing failed now: nothing to continue.
    let r = run(&p, &["continue-rollback", "dev"], &opts(&sim));
    assert_eq!(r.exit, Exit::Refused, "{}", r.all());
    r.assert_printed("no failed rollback to continue");
}

/// The terminal stack event never shows (DescribeStackEvents can miss one): once the
/// operation's own events have gone quiet for three polls, DescribeStacks is asked, and its
/// status ends the wait. Without that check the follower would wait for thirty quiet polls.
#[test]
fn a_missed_terminal_stack_event_is_confirmed_after_three_quiet_polls() {
    let sim = Sim::start();
    sim.script(vec![
        vec![
            stack_event("CREATE_IN_PROGRESS").reason("User Initiated"),
            event("Bucket", "AWS::S3::Bucket", "CREATE_IN_PROGRESS"),
            event("Queue", "AWS::SQS::Queue", "CREATE_IN_PROGRESS"),
        ],
        vec![
            event("Bucket", "AWS::S3::Bucket", "CREATE_COMPLETE"),
            event("Queue", "AWS::SQS::Queue", "CREATE_COMPLETE"),
        ],
    ]);
    // The stack completes, but its CREATE_COMPLETE event is never listed.
    let other = sim.clone();
    sim.on_call("DescribeStackEvents", 3, move || {
        other.set_status("Dev", "CREATE_COMPLETE")
    });
    let r = run(&project(), &["deploy", "dev", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed("✓ Dev: CREATE_COMPLETE");
    let polls = count(&sim.actions(), "DescribeStackEvents");
    assert!(
        polls <= 8,
        "{polls} DescribeStackEvents: the quiet-poll check should have asked DescribeStacks after three"
    );
}
