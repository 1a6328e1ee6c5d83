//! The example deployed on moto, the way a user runs it: `deploy <env> --all --yes` through a
//! fault-injecting proxy that throttles the asset upload, outputs of every stack in one file,
//! a second deploy that changes nothing, and `destroy <env> --all --force`.

#[path = "../../../constructs/deploy/tests/support/faults.rs"]
mod faults;
#[path = "../../../constructs/deploy/tests/support/moto.rs"]
mod moto;

use cfn_deploy::aws::{ApiLog, AwsSettings, RetryPolicy, Timeouts};
use cfn_deploy::cli::{self, Context, Exit};
use cfn_deploy::console::Console;
use cfn_deploy::events::PollConfig;
use cfn_deploy::interrupt::Interrupt;
use cfn_deploy::project::{Environment, Project, ProjectError, SynthErrors, SynthOutput};
use faults::{FaultProxy, HttpFault};

/// The example's stacks under a prefix of their own, so runs against one moto never meet.
struct Prefixed(String);

impl Project for Prefixed {
    fn name(&self) -> &str {
        "multi-stack-app"
    }
    fn version(&self) -> &str {
        "0.1.0"
    }
    fn environments(&self) -> Result<Vec<Environment>, ProjectError> {
        Ok(vec![
            Environment::new("dev")
                .stack_name(format!("{}Worker", self.0))
                .region("us-east-1"),
        ])
    }
    fn synth(&self, _env: &Environment) -> Result<SynthOutput, ProjectError> {
        Ok(multi_stack_app::app(&self.0)
            .synth()
            .map_err(SynthErrors::from)?
            .into())
    }
}

struct Ran {
    exit: Exit,
    out: String,
    calls: Vec<&'static str>,
}

fn settings(endpoint: &str) -> AwsSettings {
    AwsSettings {
        profile: None,
        region: Some("us-east-1".into()),
        endpoint_url: Some(endpoint.to_owned()),
        static_credentials: Some(("AKIDTEST".into(), "secret".into())),
        retry: RetryPolicy::fast(6),
        timeouts: Timeouts::default(),
    }
}

fn run(project: &dyn Project, endpoint: &str, args: &[&str]) -> Ran {
    let (console, cap) = Console::capture(false, Vec::new());
    let log = ApiLog::new();
    let ctx = Context {
        console,
        interrupt: Interrupt::new(),
        listen_for_ctrl_c: false,
        aws: settings(endpoint),
        poll: PollConfig::every_ms(20),
        log: log.clone(),
        schemas: cfn_resources::schema_for,
    };
    let mut argv = vec!["multi-stack-app"];
    argv.extend_from_slice(args);
    let exit = cli::run(project, argv, ctx);
    Ran {
        exit,
        out: format!("{}{}", cap.stdout(), cap.stderr()),
        calls: log.operations(),
    }
}

/// Removes the worker's code from moto's staging bucket, which earlier runs against the same
/// moto may have filled (assets are content-addressed), so this run uploads it.
fn forget_asset(settings: AwsSettings) {
    let asset = multi_stack_app::app("Any")
        .synth()
        .map(|s| s[2].assets[0].clone())
        .expect("synthesizes");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let aws = cfn_deploy::aws::Aws::connect(&settings, None, ApiLog::new())
            .await
            .expect("clients");
        let bucket = cfn_core::asset::staging_bucket_name("123456789012", "us-east-1");
        // Absent already (a fresh moto) is as good.
        let _ = aws
            .s3
            .delete_object()
            .bucket(bucket)
            .key(asset.key())
            .send()
            .await;
    });
}

fn count(calls: &[&str], op: &str) -> usize {
    calls.iter().filter(|c| **c == op).count()
}

#[test]
fn three_stacks_deploy_in_order_with_their_asset_through_throttling_then_destroy() {
    let moto = moto::endpoint();
    let proxy = FaultProxy::start(&moto);
    let prefix = format!("Ms{}", std::process::id());
    let p = Prefixed(prefix.clone());
    let outputs = std::env::temp_dir().join(format!("{prefix}-outputs.json"));
    let outputs_arg = outputs.to_string_lossy().into_owned();
    forget_asset(settings(&moto));

    // S3 fails the first look for the worker's code and throttles its first two uploads:
    // retried, and the deploy goes on.
    proxy.fail("HEAD", "/assets/", HttpFault::Internal, 1);
    proxy.fail("PUT", "/assets/", HttpFault::SlowDown, 2);
    let r = run(
        &p,
        &proxy.url(),
        &[
            "deploy",
            "dev",
            "--all",
            "--yes",
            "--outputs-file",
            &outputs_arg,
        ],
    );
    assert_eq!(r.exit, Exit::Ok, "{}", r.out);
    let order = format!("{prefix}Storage → {prefix}Data → {prefix}Worker");
    assert!(r.out.contains(&order), "{}", r.out);
    assert!(r.out.contains("s3:PutObject throttled"), "{}", r.out);
    assert!(r.out.contains("Assets: 1 uploaded"), "{}", r.out);
    let faulted: Vec<u16> = proxy
        .requests()
        .iter()
        .filter(|(_, path, _)| path.contains("/assets/"))
        .map(|(_, _, status)| *status)
        .collect();
    // HEAD: 500 then 404 (not there yet); PUT: 503 twice, then stored.
    assert_eq!(faulted, [500, 404, 503, 503, 200], "{faulted:?}");
    for s in ["Storage", "Data", "Worker"] {
        assert!(
            r.out.contains(&format!("✓ {prefix}{s}: CREATE_COMPLETE")),
            "{}",
            r.out
        );
    }
    let at = |needle: &str| r.out.find(needle).unwrap_or(usize::MAX);
    assert!(at(&format!("✓ {prefix}Data:")) < at(&format!("Deploying {prefix}Worker (dev)")));
    assert!(at(&format!("✓ {prefix}Storage:")) < at(&format!("Deploying {prefix}Worker (dev)")));

    // Every stack's outputs in one file: the exports and the worker's function.
    let text = std::fs::read_to_string(&outputs).expect("outputs file");
    let json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert!(
        json[format!("{prefix}Storage")]["ExportsOutputRefBucket"].is_string(),
        "{json}"
    );
    assert!(
        json[format!("{prefix}Data")]["ExportsOutputRefTable"].is_string(),
        "{json}"
    );
    assert!(
        json[format!("{prefix}Worker")]["FunctionName"].is_string(),
        "{json}"
    );
    let _ = std::fs::remove_file(&outputs);

    // Nothing changed: no change set, no upload.
    let r = run(&p, &moto, &["deploy", "dev", "--all", "--yes"]);
    assert_eq!(r.exit, Exit::Ok, "{}", r.out);
    assert_eq!(count(&r.calls, "CreateChangeSet"), 0, "{:?}", r.calls);
    assert_eq!(count(&r.calls, "PutObject"), 0, "{:?}", r.calls);
    assert_eq!(r.out.matches("No changes").count(), 3, "{}", r.out);

    // Consumers first, then the producers.
    let r = run(&p, &moto, &["destroy", "dev", "--all", "--force"]);
    assert_eq!(r.exit, Exit::Ok, "{}", r.out);
    let worker = r.out.find(&format!("Destroying {prefix}Worker"));
    let storage = r.out.find(&format!("Destroying {prefix}Storage"));
    assert!(worker.is_some() && worker < storage, "{}", r.out);
    let r = run(&p, &moto, &["diff", "dev"]);
    assert_eq!(r.out.matches("is not deployed").count(), 3, "{}", r.out);
}
