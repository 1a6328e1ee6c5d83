//! End to end against a real moto server: the starter app's stack created, left alone when
//! nothing changed, updated, diffed and destroyed; a template over 51,200 bytes through the S3
//! staging bucket; the account and region guards. Retries are off, so a 500 from moto fails
//! the test instead of being retried away.
//!
//! The starter's project module is compiled in as is (`#[path]`), so this deploys exactly the
//! stack `cargo run -p starter-app -- deploy` would.

mod support;

#[path = "../../../apps/starter-app/src/project.rs"]
#[allow(dead_code)] // `load` and the built-in config are the binary's, not the tests'.
mod starter;

use std::sync::atomic::{AtomicU32, Ordering};

use cfn_deploy::aws::{ApiLog, Aws, AwsSettings, RetryPolicy};
use cfn_deploy::cli::Exit;
use cfn_deploy::project::{Environment, Project};
use serde_json::json;
use starter::Starter;
use support::{Opts, RawProject, count, run};

const MOTO_ACCOUNT: &str = "123456789012";
const MOTO_REGION: &str = "us-east-1";

fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn opts(endpoint: &str) -> Opts {
    Opts::at(endpoint)
        .region(MOTO_REGION)
        .retry(RetryPolicy::none())
}

/// A starter configuration with one environment named like the stack (lowercase: SSM
/// parameter and log group names derive from it, and tests run in parallel on one moto).
fn starter(stack: &str, extra: &str) -> Starter {
    let env = stack.to_lowercase();
    Starter::from_toml(
        "test.toml",
        &format!(
            "app = \"starter\"\n[[environment]]\nname = \"{env}\"\nstack = \"{stack}\"\naccount = \"{MOTO_ACCOUNT}\"\nregion = \"{MOTO_REGION}\"\n{extra}\n"
        ),
    )
}

fn aws(endpoint: &str) -> (tokio::runtime::Runtime, Aws) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let settings = AwsSettings {
        region: Some(MOTO_REGION.into()),
        endpoint_url: Some(endpoint.into()),
        static_credentials: Some(("AKIDTEST".into(), "secret".into())),
        retry: RetryPolicy::none(),
        ..AwsSettings::default()
    };
    let aws = rt
        .block_on(Aws::connect(&settings, None, ApiLog::new()))
        .expect("connect");
    (rt, aws)
}

#[test]
fn starter_stack_create_no_change_update_diff_and_destroy() {
    let moto = support::moto::endpoint();
    let stack = unique("StarterE2e");
    let env = stack.to_lowercase();
    let o = opts(&moto);

    // Create.
    let v1 = starter(&stack, "retention_days = 7");
    let r = run(&v1, &["deploy", &env, "--yes"], &o);
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed(&format!(
        "Deploying {stack} ({env}) to account {MOTO_ACCOUNT} in {MOTO_REGION}: 3 resources"
    ));
    r.assert_printed(&format!("(create of {stack}, 3 changes)"));
    r.assert_printed(&format!(
        "+  AWS::S3::Bucket      Data                      {stack}/Data"
    ));
    r.assert_printed(&format!("✓ {stack}: CREATE_COMPLETE"));
    assert_eq!(
        r.calls,
        [
            "GetCallerIdentity",
            "DescribeStacks",
            "CreateChangeSet",
            "DescribeChangeSet",
            "DescribeStacks",
            "DescribeStackEvents",
            "ExecuteChangeSet",
            "DescribeStackEvents",
            "DescribeStacks",
        ]
    );
    let (rt, aws) = aws(&moto);
    let deployed = rt
        .block_on(cfn_deploy::stack::describe(&aws, &stack))
        .expect("describe")
        .expect("the stack exists");
    assert_eq!(deployed.status, "CREATE_COMPLETE");
    assert_eq!(
        deployed.tags.get("app").map(String::as_str),
        Some("starter")
    );
    assert_eq!(
        deployed.tags.get("env").map(String::as_str),
        Some(env.as_str())
    );
    assert!(deployed.tags.contains_key("version"));

    // Nothing changed: no change set at all.
    let r = run(&v1, &["deploy", &env, "--yes"], &o);
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed(&format!("No changes: {stack} is up to date."));
    assert_eq!(
        r.calls,
        ["GetCallerIdentity", "DescribeStacks", "GetTemplate"]
    );

    // Update: longer retention and two feature flags.
    let v2 = starter(&stack, "retention_days = 30\nflags = 2");
    let r = run(&v2, &["diff", &env, "--fail"], &o);
    assert_eq!(r.exit, Exit::Failed, "{}", r.all());
    r.assert_printed(&format!("[~] AWS::Logs::LogGroup Logs ({stack}/Logs)"));
    r.assert_printed("    ~ Properties/RetentionInDays: 7 → 30");
    r.assert_printed(&format!(
        "[+] AWS::SSM::Parameter ConfigFlagsFlag0F5B509E5 ({stack}/Config/Flags/Flag0)"
    ));
    let r = run(&v2, &["deploy", &env, "--yes"], &o);
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed(&format!("(update of {stack}, 3 changes)"));
    r.assert_printed(&format!(
        "~  AWS::Logs::LogGroup  Logs                      {stack}/Logs"
    ));
    r.assert_printed(&format!("✓ {stack}: UPDATE_COMPLETE"));
    assert_eq!(count(&r.calls, "ExecuteChangeSet"), 1);
    let r = run(&v2, &["diff", &env, "--fail"], &o);
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed("No differences.");

    // Watch a settled stack: reports its status.
    let r = run(&v2, &["watch", &env], &o);
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed(&format!("{stack} is UPDATE_COMPLETE"));

    // Destroy.
    let r = run(&v2, &["destroy", &env, "--force"], &o);
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed(&format!(
        "Destroying {stack} ({env}) in account {MOTO_ACCOUNT} in {MOTO_REGION}: 5 resources"
    ));
    r.assert_printed("bucket: deleted only if empty");
    r.assert_printed(&format!("✓ {stack}: DELETE_COMPLETE"));
    assert_eq!(count(&r.calls, "DeleteStack"), 1);
    assert!(
        rt.block_on(cfn_deploy::stack::describe(&aws, &stack))
            .expect("describe")
            .is_none(),
        "the stack is gone"
    );
    let r = run(&v2, &["list"], &o);
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed(&format!("{env}  {stack}"));
    r.assert_printed("not deployed");
}

#[test]
fn a_template_over_51200_bytes_goes_through_the_s3_staging_bucket() {
    let moto = support::moto::endpoint();
    let stack = unique("StarterBig");
    let env = stack.to_lowercase();
    let big = starter(&stack, "flags = 150");
    let environment = big.environments().expect("envs").remove(0);
    let bytes = big.synth(&environment).expect("synth").stacks[0].bytes();
    assert!(bytes > 51_200, "the padded template is {bytes} bytes");

    let o = opts(&moto);
    let r = run(
        &big,
        &[
            "synth",
            &env,
            "--out",
            &std::env::temp_dir().join(&stack).to_string_lossy(),
        ],
        &o,
    );
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed("via S3");

    let r = run(&big, &["deploy", &env, "--yes"], &o);
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    let bucket = format!("cfn-deploy-staging-{MOTO_ACCOUNT}-{MOTO_REGION}");
    r.assert_printed(&format!(
        "The template is over 51,200 bytes: staged at https://{bucket}.s3.{MOTO_REGION}.amazonaws.com/templates/{stack}/"
    ));
    r.assert_printed(&format!("✓ {stack}: CREATE_COMPLETE"));
    let calls = &r.calls;
    let put = calls
        .iter()
        .position(|c| *c == "PutObject")
        .expect("PutObject");
    let create = calls
        .iter()
        .position(|c| *c == "CreateChangeSet")
        .expect("CreateChangeSet");
    assert!(put < create, "staged before the change set: {calls:?}");
    assert_eq!(count(calls, "HeadBucket"), 1);
    if count(calls, "CreateBucket") == 1 {
        // First use: the bucket was created and configured.
        for op in [
            "PutBucketEncryption",
            "PutPublicAccessBlock",
            "PutBucketLifecycleConfiguration",
        ] {
            assert_eq!(count(calls, op), 1, "{op} in {calls:?}");
        }
        // Over moto's plain HTTP the TLS-only policy would deny the upload (moto enforces
        // bucket policies), so it is left out there and said so; see the next test for the
        // policy itself.
        assert_eq!(count(calls, "PutBucketPolicy"), 0);
        r.assert_printed("no TLS-only policy: the S3 endpoint is plain HTTP");
    }

    let (rt, aws) = aws(&moto);
    rt.block_on(async {
        let enc = aws
            .s3
            .get_bucket_encryption()
            .bucket(&bucket)
            .send()
            .await
            .expect("encryption");
        let rule = &enc
            .server_side_encryption_configuration()
            .expect("configuration")
            .rules()[0];
        assert_eq!(
            rule.apply_server_side_encryption_by_default()
                .map(|d| d.sse_algorithm().as_str()),
            Some("AES256")
        );
        let pab = aws
            .s3
            .get_public_access_block()
            .bucket(&bucket)
            .send()
            .await
            .expect("public access block");
        let c = pab
            .public_access_block_configuration()
            .expect("configuration");
        assert_eq!(
            (
                c.block_public_acls(),
                c.ignore_public_acls(),
                c.block_public_policy(),
                c.restrict_public_buckets()
            ),
            (Some(true), Some(true), Some(true), Some(true))
        );
        let lc = aws
            .s3
            .get_bucket_lifecycle_configuration()
            .bucket(&bucket)
            .send()
            .await
            .expect("lifecycle");
        let rule = &lc.rules()[0];
        assert_eq!(rule.expiration().and_then(|e| e.days()), Some(30));
        let deployed = cfn_deploy::stack::template_body(&aws, &stack)
            .await
            .expect("template")
            .expect("a template");
        assert_eq!(
            deployed.len(),
            bytes,
            "CloudFormation read the staged template"
        );
    });

    let r = run(&big, &["destroy", &env, "--force"], &o);
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
}

#[test]
fn the_staging_bucket_policy_denies_plain_http_on_a_real_policy_evaluator() {
    let moto = support::moto::endpoint();
    let bucket = unique("tls-only").to_lowercase();
    let (rt, aws) = aws(&moto);
    rt.block_on(async {
        aws.s3
            .create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("bucket");
        let put = |key: &'static str| {
            aws.s3
                .put_object()
                .bucket(&bucket)
                .key(key)
                .body(aws_sdk_s3::primitives::ByteStream::from_static(b"{}"))
                .send()
        };
        put("before")
            .await
            .expect("plain HTTP works without the policy");
        aws.s3
            .put_bucket_policy()
            .bucket(&bucket)
            .policy(cfn_deploy::staging::tls_only_policy(&bucket))
            .send()
            .await
            .expect("policy");
        let denied = put("after")
            .await
            .expect_err("plain HTTP is denied with the policy");
        assert_eq!(
            denied.raw_response().map(|r| r.status().as_u16()),
            Some(403),
            "{denied:?}"
        );
    });
}

#[test]
fn the_account_and_region_guards_refuse_before_anything_is_called() {
    let moto = support::moto::endpoint();
    let stack = unique("StarterGuard");
    let o = opts(&moto);

    let other_account = Starter::from_toml(
        "guard.toml",
        &format!(
            "app = \"starter\"\n[[environment]]\nname = \"prd\"\nstack = \"{stack}\"\naccount = \"000000000000\"\nregion = \"{MOTO_REGION}\"\nprotected = true\n"
        ),
    );
    let r = run(&other_account, &["deploy", "prd", "--yes"], &o);
    assert_eq!(r.exit, Exit::Refused, "{}", r.all());
    r.assert_printed(&format!(
        "error: checking the credentials for 'prd': the credentials are for account {MOTO_ACCOUNT}, but environment 'prd' deploys to account 000000000000; refusing"
    ));
    assert_eq!(r.calls, ["GetCallerIdentity"]);

    let other_region = starter(&stack, "");
    let env = stack.to_lowercase();
    let r = run(
        &other_region,
        &["deploy", &env, "--yes", "--region", "eu-west-1"],
        &o,
    );
    assert_eq!(r.exit, Exit::Refused, "{}", r.all());
    r.assert_printed(&format!(
        "the resolved region is eu-west-1, but environment '{env}' deploys to us-east-1; refusing"
    ));
    assert!(r.calls.is_empty(), "no call at all: {:?}", r.calls);

    let r = run(&other_account, &["destroy", "prd", "--force"], &o);
    assert_eq!(r.exit, Exit::Refused, "{}", r.all());
    assert_eq!(r.calls, ["GetCallerIdentity"]);
}

#[test]
fn with_retries_off_a_moto_500_is_reported_not_hidden() {
    let moto = support::moto::endpoint();
    // moto 5.2.5 crashes (HTTP 500) on an SSM parameter's map-shaped Tags, which is the shape
    // CloudFormation documents.
    let stack = unique("Moto500");
    let p = RawProject::new(vec![
        Environment::new("e").stack_name(&stack).region(MOTO_REGION),
    ])
    .without("Queue")
    .without("Bucket")
    .with(
        "Param",
        "AWS::SSM::Parameter",
        json!({"Type": "String", "Value": "v", "Tags": {"team": "platform"}}),
    );
    let r = run(&p, &["deploy", "e", "--yes"], &opts(&moto));
    // A 500 does not say whether the execution started: the outcome is unknown (exit 4), and
    // the change set is left for `watch` to follow.
    assert_eq!(r.exit, Exit::LostTrack, "{}", r.all());
    r.assert_printed("cloudformation ExecuteChangeSet failed: ");
    r.assert_printed("HTTP 500");
    r.assert_not_printed("retrying");
    r.assert_not_printed("✓");
    assert_eq!(count(&r.calls, "ExecuteChangeSet"), 1);
}
