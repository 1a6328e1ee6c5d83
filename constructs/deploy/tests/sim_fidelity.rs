//! What CloudFormation checks, played by the simulator and met by the engine: templates by URL
//! from the simulator's S3 and the size limits on both ways of handing a template over; exports
//! and imports across stacks; several stacks deployed at once by concurrent clients.

mod support;

use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use cfn_core::{Output, Stack};
use cfn_deploy::aws::{Aws, RetryPolicy};
use cfn_deploy::cli::Exit;
use cfn_deploy::project::{Environment, Project, ProjectError, SynthOutput};
use serde_json::{Value as Json, json};
use support::sim::{
    ACCOUNT, REGION, S3_ACCESS_DENIED, Sim, TEMPLATE_BODY_LIMIT, TEMPLATE_URL_LIMIT, event,
    stack_event,
};
use support::{Opts, count, run};

/// A project whose environments each synthesize their own resources and outputs.
#[derive(Clone, Debug, Default)]
struct Apps {
    envs: Vec<(Environment, App)>,
}

/// One environment's stack: resources (id, type, properties), outputs (name, value, export
/// name) and metadata padding.
#[derive(Clone, Debug, Default)]
struct App {
    resources: Vec<(String, String, Json)>,
    outputs: Vec<(String, String, Option<String>)>,
    pad: usize,
}

impl App {
    fn resource(mut self, id: &str, ty: &str, props: Json) -> Self {
        self.resources.push((id.into(), ty.into(), props));
        self
    }
    fn export(mut self, output: &str, value: &str, name: &str) -> Self {
        self.outputs
            .push((output.into(), value.into(), Some(name.into())));
        self
    }
    fn padded(mut self, bytes: usize) -> Self {
        self.pad = bytes;
        self
    }
}

impl Apps {
    fn with(mut self, env: &str, stack: &str, app: App) -> Self {
        self.envs.retain(|(e, _)| e.name != env);
        self.envs
            .push((Environment::new(env).stack_name(stack).region(REGION), app));
        self
    }
    fn body(&self, env: &str) -> String {
        let e = self
            .envs
            .iter()
            .find(|(e, _)| e.name == env)
            .map(|(e, _)| e.clone())
            .expect("known environment");
        self.synth(&e).expect("synthesizes").stacks.remove(0).body
    }
}

impl Project for Apps {
    fn name(&self) -> &str {
        "apps"
    }
    fn version(&self) -> &str {
        "1.0.0"
    }
    fn environments(&self) -> Result<Vec<Environment>, ProjectError> {
        Ok(self.envs.iter().map(|(e, _)| e.clone()).collect())
    }
    fn synth(&self, env: &Environment) -> Result<SynthOutput, ProjectError> {
        let app = self
            .envs
            .iter()
            .find(|(e, _)| e.name == env.name)
            .map(|(_, a)| a.clone())
            .unwrap_or_default();
        let mut stack = Stack::new(&env.stack_name);
        if app.pad > 0 {
            stack.set_template_metadata("Padding", json!("x".repeat(app.pad)));
        }
        for (name, value, export) in &app.outputs {
            let mut o = Output::new::<String>(value.as_str());
            if let Some(x) = export {
                o = o.export_name(x.as_str());
            }
            stack.add_output(name, o);
        }
        let mut root = stack.root();
        for (id, ty, props) in &app.resources {
            root.add_raw(id, ty, None, props.clone());
        }
        Ok(stack.synth()?.into())
    }
}

fn queue() -> App {
    App::default().resource("Queue", "AWS::SQS::Queue", json!({"VisibilityTimeout": 30}))
}

/// A stack importing `export` into a queue's name.
fn importer(export: &str) -> App {
    App::default().resource(
        "Queue",
        "AWS::SQS::Queue",
        json!({"QueueName": {"Fn::ImportValue": export}}),
    )
}

fn opts(sim: &Sim) -> Opts {
    Opts::at(&sim.url()).region(REGION)
}

/// An SDK client against the simulator, and a runtime to drive it.
fn client(sim: &Sim) -> (tokio::runtime::Runtime, Aws) {
    support::local_client(&sim.url(), RetryPolicy::none())
}

/// A template of exactly `bytes` bytes: one queue, padded in its description.
fn template_of_size(bytes: usize) -> String {
    let head = r#"{"Resources":{"Q":{"Type":"AWS::SQS::Queue"}},"Description":""#;
    let tail = r#""}"#;
    let t = format!(
        "{head}{}{tail}",
        "x".repeat(bytes - head.len() - tail.len())
    );
    assert_eq!(t.len(), bytes);
    t
}

/// The (code, message) of a failed call.
fn refusal<T, E: ProvideErrorMetadata>(r: Result<T, E>) -> (String, String) {
    match r {
        Ok(_) => panic!("expected a refusal"),
        Err(e) => (
            e.code().unwrap_or_default().to_owned(),
            e.message().unwrap_or_default().to_owned(),
        ),
    }
}

#[test]
fn a_template_over_51200_bytes_is_staged_in_s3_and_deployed_by_url() {
    let sim = Sim::start();
    let p = Apps::default().with("dev", "Big", queue().padded(60_000));
    let body = p.body("dev");
    assert!(body.len() > TEMPLATE_BODY_LIMIT, "{} bytes", body.len());

    let r = run(&p, &["deploy", "dev", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed("✓ Big: CREATE_COMPLETE");
    let bucket = format!("cfn-deploy-staging-{ACCOUNT}-{REGION}");
    assert_eq!(sim.buckets(), std::slice::from_ref(&bucket));
    // First use: the bucket is created and configured, then the template uploaded, then the
    // change set created from its URL.
    let a = sim.actions();
    let at = |op: &str| a.iter().position(|x| x == op).unwrap_or(usize::MAX);
    for op in [
        "HeadBucket",
        "CreateBucket",
        "PutBucketEncryption",
        "PutPublicAccessBlock",
        "PutBucketLifecycleConfiguration",
        "PutObject",
    ] {
        assert_eq!(count(&a, op), 1, "{op} in {a:?}");
        assert!(
            at(op) < at("CreateChangeSet"),
            "{op} before the change set: {a:?}"
        );
    }
    // Plain HTTP: no TLS-only policy, as against moto.
    assert_eq!(count(&a, "PutBucketPolicy"), 0);
    let config: Vec<String> = sim
        .bucket_config(&bucket)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(config, ["encryption", "lifecycle", "publicAccessBlock"]);
    assert!(
        sim.bucket_config(&bucket)[0].1.contains("AES256"),
        "{:?}",
        sim.bucket_config(&bucket)
    );

    let create = &sim.requests("CreateChangeSet")[0].params;
    assert!(!create.contains_key("TemplateBody"));
    let url = &create["TemplateURL"];
    let key = url
        .strip_prefix(&format!("https://{bucket}.s3.{REGION}.amazonaws.com/"))
        .expect("a virtual-hosted S3 URL");
    assert!(key.starts_with("templates/Big/"), "{key}");
    let put = &sim.requests("PutObject")[0].params;
    assert_eq!(
        (put["Bucket"].as_str(), put["Key"].as_str()),
        (bucket.as_str(), key)
    );
    // The object is the template byte for byte, and what the stack now runs.
    assert_eq!(sim.object(&bucket, key), Some(body.clone().into_bytes()));
    assert_eq!(sim.template("Big"), Some(body));
    assert_eq!(r.calls.len(), a.len(), "every request is in the API log");

    // Again: nothing changed, nothing staged.
    let r = run(&p, &["deploy", "dev", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    assert_eq!(count(&r.calls, "PutObject"), 0, "{:?}", r.calls);
}

#[test]
fn an_inline_body_over_51200_bytes_is_refused_with_cloudformations_message() {
    let sim = Sim::start();
    let (rt, aws) = client(&sim);
    let at_limit = template_of_size(TEMPLATE_BODY_LIMIT);
    let over = template_of_size(TEMPLATE_BODY_LIMIT + 1);
    rt.block_on(async {
        aws.cfn
            .validate_template()
            .template_body(&at_limit)
            .send()
            .await
            .expect("51,200 bytes inline are taken");
        let (code, message) = refusal(
            aws.cfn
                .create_change_set()
                .stack_name("S")
                .change_set_name("c1")
                .change_set_type(aws_sdk_cloudformation::types::ChangeSetType::Create)
                .template_body(&over)
                .send()
                .await,
        );
        assert_eq!(code, "ValidationError");
        assert_eq!(
            message,
            format!(
                "1 validation error detected: Value '{over}' at 'templateBody' failed to satisfy constraint: Member must have length less than or equal to 51200"
            )
        );
        for refused in [
            refusal(aws.cfn.validate_template().template_body(&over).send().await),
            refusal(
                aws.cfn
                    .create_stack()
                    .stack_name("S")
                    .template_body(&over)
                    .send()
                    .await,
            ),
        ] {
            assert!(
                refused
                    .1
                    .ends_with("Member must have length less than or equal to 51200"),
                "{refused:?}"
            );
        }
    });
    assert!(!sim.exists("S"), "nothing was created");
}

#[test]
fn a_template_url_must_name_a_stored_object_of_at_most_1000000_bytes() {
    let sim = Sim::start();
    let (rt, aws) = client(&sim);
    let url = |key: &str| format!("https://b.s3.{REGION}.amazonaws.com/{key}");
    sim.put_object(
        "b",
        "at-limit.json",
        template_of_size(TEMPLATE_URL_LIMIT).as_bytes(),
    );
    sim.put_object(
        "b",
        "over.json",
        template_of_size(TEMPLATE_URL_LIMIT + 1).as_bytes(),
    );
    rt.block_on(async {
        aws.cfn
            .validate_template()
            .template_url(url("at-limit.json"))
            .send()
            .await
            .expect("1,000,000 bytes by URL are taken");
        // Path-style URLs too.
        aws.cfn
            .validate_template()
            .template_url(format!("https://s3.{REGION}.amazonaws.com/b/at-limit.json"))
            .send()
            .await
            .expect("a path-style URL");
        let cases = [
            (
                url("over.json"),
                "Template may not exceed 1000000 bytes in size.",
            ),
            (url("missing.json"), S3_ACCESS_DENIED),
            (
                format!("https://nobucket.s3.{REGION}.amazonaws.com/t.json"),
                S3_ACCESS_DENIED,
            ),
            (
                "https://example.com/t.json".to_owned(),
                "TemplateURL must be a supported URL.",
            ),
        ];
        for (u, expected) in cases {
            let refused = refusal(
                aws.cfn
                    .create_change_set()
                    .stack_name("S")
                    .change_set_name("c1")
                    .change_set_type(aws_sdk_cloudformation::types::ChangeSetType::Create)
                    .template_url(&u)
                    .send()
                    .await,
            );
            assert_eq!(
                refused,
                ("ValidationError".to_owned(), expected.to_owned()),
                "{u}"
            );
        }
        let neither = refusal(aws.cfn.validate_template().send().await);
        assert_eq!(
            neither.1,
            "Either Template URL or Template Body must be specified."
        );
    });
    assert!(!sim.exists("S"));
}

#[test]
fn create_stack_update_stack_and_validate_template_take_a_template_url() {
    let sim = Sim::start();
    let (rt, aws) = client(&sim);
    let v1 = json!({
        "Parameters": {"Size": {"Type": "String", "Default": "1"}},
        "Resources": {
            "Q": {"Type": "AWS::SQS::Queue"},
            "R": {"Type": "AWS::IAM::Role", "Properties": {}}
        }
    })
    .to_string();
    let v2 =
        json!({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"DelaySeconds": 1}}}})
            .to_string();
    sim.put_object("b", "v1.json", v1.as_bytes());
    sim.put_object("b", "v2.json", v2.as_bytes());
    let url = |k: &str| format!("https://b.s3.{REGION}.amazonaws.com/{k}");
    let settle = |aws: &Aws| {
        let aws = aws.clone();
        async move {
            for _ in 0..10 {
                aws.cfn
                    .describe_stack_events()
                    .stack_name("S")
                    .send()
                    .await
                    .expect("events");
            }
        }
    };
    rt.block_on(async {
        let v = aws
            .cfn
            .validate_template()
            .template_url(url("v1.json"))
            .send()
            .await
            .expect("validates");
        let p = &v.parameters()[0];
        assert_eq!(
            (p.parameter_key(), p.default_value()),
            (Some("Size"), Some("1"))
        );
        assert_eq!(
            v.capabilities().len(),
            1,
            "an IAM role needs CAPABILITY_IAM"
        );

        let created = aws
            .cfn
            .create_stack()
            .stack_name("S")
            .template_url(url("v1.json"))
            .send()
            .await
            .expect("created");
        assert!(
            created
                .stack_id()
                .is_some_and(|id| id.contains(":stack/S/"))
        );
        let again = refusal(
            aws.cfn
                .create_stack()
                .stack_name("S")
                .template_url(url("v1.json"))
                .send()
                .await,
        );
        assert_eq!(again.0, "AlreadyExistsException");
        settle(&aws).await;
        let same = refusal(
            aws.cfn
                .update_stack()
                .stack_name("S")
                .template_url(url("v1.json"))
                .send()
                .await,
        );
        assert_eq!(same.1, "No updates are to be performed.");
        aws.cfn
            .update_stack()
            .stack_name("S")
            .template_url(url("v2.json"))
            .send()
            .await
            .expect("updated");
        let busy = refusal(
            aws.cfn
                .update_stack()
                .stack_name("S")
                .template_url(url("v1.json"))
                .send()
                .await,
        );
        assert!(
            busy.1
                .ends_with("is in UPDATE_IN_PROGRESS state and can not be updated."),
            "{busy:?}"
        );
        settle(&aws).await;
    });
    assert_eq!(sim.status("S").as_deref(), Some("UPDATE_COMPLETE"));
    assert_eq!(sim.template("S"), Some(v2));
}

#[test]
fn an_import_waits_for_its_export_and_then_is_listed() {
    let sim = Sim::start();
    let p = Apps::default()
        .with("consumer", "Consumer", importer("shared-queue"))
        .with(
            "producer",
            "Producer",
            queue().export("QueueName", "queue-1", "shared-queue"),
        );

    // The importer first: CloudFormation cannot compute its change set.
    let r = run(&p, &["deploy", "consumer", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Failed, "{}", r.all());
    r.assert_printed("No export named shared-queue found.");
    assert!(
        !sim.exists("Consumer") || sim.status("Consumer").as_deref() == Some("REVIEW_IN_PROGRESS")
    );
    assert_eq!(count(&r.calls, "ExecuteChangeSet"), 0);

    // The exporter, then the importer.
    let r = run(&p, &["deploy", "producer", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    assert_eq!(
        sim.exports(),
        [(
            "shared-queue".to_owned(),
            "queue-1".to_owned(),
            "Producer".to_owned()
        )]
    );
    let r = run(&p, &["deploy", "consumer", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed("✓ Consumer: CREATE_COMPLETE");

    let (rt, aws) = client(&sim);
    rt.block_on(async {
        let imports = aws
            .cfn
            .list_imports()
            .export_name("shared-queue")
            .send()
            .await
            .expect("imports");
        assert_eq!(imports.imports(), ["Consumer"]);
        let none = refusal(aws.cfn.list_imports().export_name("other").send().await);
        assert_eq!(none.1, "Export 'other' is not imported by any stack.");
        let described = aws
            .cfn
            .describe_stacks()
            .stack_name("Producer")
            .send()
            .await
            .expect("described");
        let outputs = described.stacks()[0].outputs();
        let exported = outputs
            .iter()
            .find(|o| o.output_key() == Some("QueueName"))
            .expect("the output");
        assert_eq!(exported.output_value(), Some("queue-1"));
        assert_eq!(exported.export_name(), Some("shared-queue"));
    });
}

#[test]
fn list_exports_and_list_imports_page() {
    let sim = Sim::start();
    sim.export_page_size(2);
    let mut p = Apps::default();
    let mut producer = queue();
    for i in 0..5 {
        producer = producer.export(&format!("O{i}"), &format!("v{i}"), &format!("x{i}"));
    }
    p = p.with("producer", "Producer", producer);
    for i in 0..3 {
        p = p.with(&format!("c{i}"), &format!("C{i}"), importer("x0"));
    }
    for env in ["producer", "c0", "c1", "c2"] {
        let r = run(&p, &["deploy", env, "--yes"], &opts(&sim));
        assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    }
    let (rt, aws) = client(&sim);
    rt.block_on(async {
        let mut names = Vec::new();
        let mut pages = 0;
        let mut next: Option<String> = None;
        loop {
            let out = aws
                .cfn
                .list_exports()
                .set_next_token(next.clone())
                .send()
                .await
                .expect("exports");
            pages += 1;
            names.extend(
                out.exports()
                    .iter()
                    .filter_map(|e| e.name().map(str::to_owned)),
            );
            match out.next_token() {
                Some(t) => next = Some(t.to_owned()),
                None => break,
            }
        }
        assert_eq!(names, ["x0", "x1", "x2", "x3", "x4"]);
        assert_eq!(pages, 3);
        let first = aws
            .cfn
            .list_imports()
            .export_name("x0")
            .send()
            .await
            .expect("imports");
        assert_eq!(first.imports(), ["C0", "C1"]);
        let second = aws
            .cfn
            .list_imports()
            .export_name("x0")
            .set_next_token(first.next_token().map(str::to_owned))
            .send()
            .await
            .expect("imports");
        assert_eq!(second.imports(), ["C2"]);
        assert_eq!(second.next_token(), None);
    });
}

#[test]
fn an_export_in_use_cannot_be_removed_changed_or_deleted() {
    let sim = Sim::start();
    let producer = queue().export("QueueName", "queue-1", "shared-queue");
    let p = Apps::default().with("producer", "Producer", producer).with(
        "consumer",
        "Consumer",
        importer("shared-queue"),
    );
    for env in ["producer", "consumer"] {
        let r = run(&p, &["deploy", env, "--yes"], &opts(&sim));
        assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    }

    // Removing the export: refused before any change set (the deadly embrace), naming the
    // importer and the order that works.
    let removed = p.clone().with("producer", "Producer", queue());
    let creates = sim.requests("CreateChangeSet").len();
    let r = run(&removed, &["deploy", "producer", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Refused, "{}", r.all());
    r.assert_printed("stack Producer would stop exporting shared-queue, which Consumer still imports; deploy Consumer first so that it no longer imports it, then Producer");
    assert_eq!(
        sim.requests("CreateChangeSet").len(),
        creates,
        "no change set"
    );
    assert_eq!(sim.exports().len(), 1, "the export stays");

    // Changing its value: the same.
    let changed = p.clone().with(
        "producer",
        "Producer",
        queue().export("QueueName", "queue-2", "shared-queue"),
    );
    let r = run(&changed, &["deploy", "producer", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Failed, "{}", r.all());
    r.assert_printed("Export shared-queue cannot be updated as it is in use by Consumer");
    assert_eq!(sim.exports()[0].1, "queue-1");

    // Deleting the stack: refused before DeleteStack, naming the importer.
    let r = run(&p, &["destroy", "producer", "--force"], &opts(&sim));
    assert_eq!(r.exit, Exit::Refused, "{}", r.all());
    r.assert_printed(
        "stack Producer exports shared-queue, which Consumer still imports; refusing to destroy it",
    );
    assert!(sim.requests("DeleteStack").is_empty());
    assert!(sim.exists("Producer"));

    // Without the importer, the exporter goes.
    for env in ["consumer", "producer"] {
        let r = run(&p, &["destroy", env, "--force"], &opts(&sim));
        assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    }
    assert!(sim.exports().is_empty());
}

#[test]
fn an_export_name_another_stack_has_fails_the_operation() {
    let sim = Sim::start();
    let p = Apps::default()
        .with("a", "A", queue().export("Name", "a", "shared"))
        .with("b", "B", queue().export("Name", "b", "shared"));
    let r = run(&p, &["deploy", "a", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    let r = run(&p, &["deploy", "b", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Failed, "{}", r.all());
    r.assert_printed("Export with name shared is already exported by stack A");
    assert_eq!(sim.status("B").as_deref(), Some("ROLLBACK_COMPLETE"));
    assert_eq!(
        sim.exports(),
        [("shared".to_owned(), "a".to_owned(), "A".to_owned())]
    );
}

#[test]
fn two_stacks_deploy_at_once_each_following_its_own_operation() {
    let sim = Sim::start();
    let p = Apps::default()
        .with("a", "A", queue())
        .with("b", "B", queue());
    // A fails on its own script, B goes the default way; both are held until both have
    // started, so the two operations surely overlap.
    sim.script_for(
        "A",
        vec![
            vec![
                stack_event("CREATE_IN_PROGRESS").reason("User Initiated"),
                event("Queue", "AWS::SQS::Queue", "CREATE_IN_PROGRESS"),
            ],
            vec![event("Queue", "AWS::SQS::Queue", "CREATE_FAILED").reason("A's queue failed")],
            vec![stack_event("ROLLBACK_IN_PROGRESS")],
            vec![event("Queue", "AWS::SQS::Queue", "DELETE_COMPLETE")],
            vec![stack_event("ROLLBACK_COMPLETE")],
        ],
    );
    sim.hold("A");
    sim.hold("B");
    let releaser = sim.clone();
    sim.on_call("ExecuteChangeSet", 2, move || {
        releaser.release("A");
        releaser.release("B");
    });
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| run(&p, &["deploy", "a", "--yes"], &opts(&sim)));
        let b = s.spawn(|| run(&p, &["deploy", "b", "--yes"], &opts(&sim)));
        (
            a.join().expect("deploy of A"),
            b.join().expect("deploy of B"),
        )
    });
    assert_eq!(a.exit, Exit::Failed, "{}", a.all());
    a.assert_printed("A's queue failed");
    a.assert_printed("✗ A: ROLLBACK_COMPLETE");
    a.assert_not_printed("B:");
    assert_eq!(b.exit, Exit::Ok, "{}", b.all());
    b.assert_printed("✓ B: CREATE_COMPLETE");
    b.assert_not_printed("A's queue failed");
    b.assert_not_printed("A:");
    assert_eq!(sim.status("A").as_deref(), Some("ROLLBACK_COMPLETE"));
    assert_eq!(sim.status("B").as_deref(), Some("CREATE_COMPLETE"));
    // Both were executing before either saw an event: the operations overlapped.
    let polls: Vec<String> = sim
        .requests("DescribeStackEvents")
        .into_iter()
        .map(|r| r.params["StackName"].clone())
        .collect();
    assert!(polls.iter().any(|s| s.contains("/A/")) && polls.iter().any(|s| s.contains("/B/")));
    assert_eq!(count(&sim.actions(), "ExecuteChangeSet"), 2);
    assert_eq!(a.calls.len() + b.calls.len(), sim.actions().len());
}

/// A change set runs once. Re-sending ExecuteChangeSet with the token it was executed with is
/// the retry ClientRequestToken exists for and succeeds; another token is refused, worded by the
/// execution status as AWS does.
#[test]
fn an_executed_change_set_is_idempotent_for_its_token_and_refused_for_another() {
    let sim = Sim::start();
    let (rt, aws) = client(&sim);
    rt.block_on(async {
        aws.cfn
            .create_change_set()
            .stack_name("S")
            .change_set_name("cs1")
            .change_set_type(aws_sdk_cloudformation::types::ChangeSetType::Create)
            .template_body(json!({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}).to_string())
            .send()
            .await
            .expect("created");
        let computed = || async {
            for _ in 0..20 {
                let d = aws
                    .cfn
                    .describe_change_set()
                    .stack_name("S")
                    .change_set_name("cs1")
                    .send()
                    .await
                    .expect("described");
                if d.status().is_some_and(|s| s.as_str() == "CREATE_COMPLETE") {
                    return;
                }
            }
            panic!("the change set was never computed");
        };
        computed().await;
        let execute = |token: &'static str| {
            aws.cfn
                .execute_change_set()
                .stack_name("S")
                .change_set_name("cs1")
                .client_request_token(token)
                .send()
        };
        execute("t1").await.expect("executed");
        execute("t1").await.expect("the same token is a retry");
        let (code, message) = refusal(execute("t2").await);
        assert_eq!(code, "InvalidChangeSetStatus");
        assert!(
            message.starts_with(
                "ChangeSet [cs1] cannot be executed in its current execution status of [EXECUTE_"
            ),
            "{message}"
        );
    });
    assert_eq!(count(&sim.actions(), "ExecuteChangeSet"), 3);
}
