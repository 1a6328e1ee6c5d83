//! End to end against a real moto server: the starter app's stack created, left alone when
//! nothing changed, updated, diffed and destroyed; a template over 51,200 bytes through the S3
//! staging bucket; a Lambda function whose code is a file asset, uploaded once, also through a
//! proxy that throttles and fails S3 calls; the account and region guards. Retries are off
//! (except behind the fault proxy), so a 500 from moto fails the test instead of being retried
//! away.
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
use support::faults::{FaultProxy, HttpFault};
use support::{AssetProject, Opts, RawProject, count, run};

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

/// An environment of `AssetProject` in moto's account and region.
fn asset_env(stack: &str) -> Environment {
    Environment::new(stack.to_lowercase())
        .stack_name(stack)
        .account(MOTO_ACCOUNT)
        .region(MOTO_REGION)
}

/// Lambda's GetFunction, over plain HTTP: moto answers without checking the signature, and
/// routes by the service the credential scope names.
fn get_function(endpoint: &str, name: &str) -> serde_json::Value {
    use std::io::{Read, Write};
    let addr = endpoint.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).expect("connect to moto");
    write!(
        s,
        "GET /2015-03-31/functions/{name} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDTEST/20240101/{MOTO_REGION}/lambda/aws4_request, SignedHeaders=host, Signature=0\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut response = String::new();
    s.read_to_string(&mut response).expect("response");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("GetFunction: {e}: {response}"))
}

/// The physical ID of a stack's resource.
fn physical_id(rt: &tokio::runtime::Runtime, aws: &Aws, stack: &str, logical: &str) -> String {
    rt.block_on(
        aws.cfn
            .describe_stack_resource()
            .stack_name(stack)
            .logical_resource_id(logical)
            .send(),
    )
    .expect("DescribeStackResource")
    .stack_resource_detail()
    .and_then(|d| d.physical_resource_id())
    .expect("a physical ID")
    .to_owned()
}

/// Base64 of a SHA-256, as Lambda reports `CodeSha256`.
fn code_sha256(hex: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn a_file_asset_is_uploaded_once_and_the_function_is_created_from_it() {
    let moto = support::moto::endpoint();
    let stack = unique("AssetE2e");
    let env = stack.to_lowercase();
    let mut p = AssetProject::new(vec![asset_env(&stack)], &stack);
    let asset = p.synth(&p.envs[0]).expect("synth").stacks[0].assets[0].clone();
    let bucket = format!("cfn-deploy-staging-{MOTO_ACCOUNT}-{MOTO_REGION}");
    let o = opts(&moto);

    // First deploy: the zip is uploaded before the change set, then the function created.
    let r = run(&p, &["deploy", &env, "--yes"], &o);
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed(&format!(
        "Assets: 1 uploaded ({} bytes), 0 already there",
        asset.size()
    ));
    r.assert_printed(&format!("✓ {stack}: CREATE_COMPLETE"));
    let calls = &r.calls;
    let at = |op: &str| calls.iter().position(|c| *c == op).unwrap_or(usize::MAX);
    assert_eq!(count(calls, "HeadObject"), 1, "{calls:?}");
    assert_eq!(count(calls, "PutObject"), 1, "{calls:?}");
    assert!(at("HeadObject") < at("PutObject"), "{calls:?}");
    assert!(at("PutObject") < at("CreateChangeSet"), "{calls:?}");

    let (rt, aws) = aws(&moto);
    let object = rt
        .block_on(
            aws.s3
                .get_object()
                .bucket(&bucket)
                .key(format!("assets/{}.zip", asset.hash()))
                .send(),
        )
        .expect("the zip is in the staging bucket under assets/<sha256>.zip");
    let body = rt
        .block_on(object.body.collect())
        .expect("object body")
        .into_bytes();
    assert_eq!(&body[..], asset.bytes());
    // The lifecycle rule expires staged templates only: the asset is kept.
    let lc = rt
        .block_on(
            aws.s3
                .get_bucket_lifecycle_configuration()
                .bucket(&bucket)
                .send(),
        )
        .expect("lifecycle");
    for rule in lc.rules() {
        assert_eq!(
            rule.filter().and_then(|f| f.prefix()),
            Some("templates/"),
            "{rule:?}"
        );
    }

    // The function was created from that object (moto fetched it: the code's hash and size
    // are the zip's).
    let name = physical_id(&rt, &aws, &stack, "Function");
    let f = get_function(&moto, &name);
    assert_eq!(f["Configuration"]["Handler"], "index.handler", "{f}");
    assert_eq!(
        f["Configuration"]["CodeSha256"],
        code_sha256(asset.hash()),
        "{f}"
    );
    assert_eq!(f["Configuration"]["CodeSize"], asset.size(), "{f}");

    // Second deploy, the template changed but not the code: no upload.
    p.memory = 256;
    let r = run(&p, &["deploy", &env, "--yes"], &o);
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed("Assets: 0 uploaded (0 bytes), 1 already there");
    r.assert_printed(&format!("✓ {stack}: UPDATE_COMPLETE"));
    assert_eq!(count(&r.calls, "HeadObject"), 1, "{:?}", r.calls);
    assert_eq!(count(&r.calls, "PutObject"), 0, "{:?}", r.calls);
    assert_eq!(
        get_function(&moto, &name)["Configuration"]["MemorySize"],
        256
    );

    // Nothing changed: no asset call at all; diff never uploads.
    let r = run(&p, &["deploy", &env, "--yes"], &o);
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed(&format!("No changes: {stack} is up to date."));
    p.memory = 512;
    let r = run(&p, &["diff", &env], &o);
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    assert_eq!(
        count(&r.calls, "HeadObject") + count(&r.calls, "PutObject"),
        0
    );

    let r = run(&p, &["destroy", &env, "--force"], &o);
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    let _ = std::fs::remove_dir_all(&p.code);
}

#[test]
fn asset_uploads_through_throttling_and_server_errors_are_retried_or_reported() {
    let moto = support::moto::endpoint();
    let proxy = FaultProxy::start(&moto);
    let stack = unique("AssetFaults");
    let env = stack.to_lowercase();
    let p = AssetProject::new(vec![asset_env(&stack)], &stack);
    let asset = p.synth(&p.envs[0]).expect("synth").stacks[0].assets[0].clone();
    let key = format!("/assets/{}.zip", asset.hash());

    // HeadObject answered 500 more often than the retries allow: reported with the asset,
    // the bucket and the key; no change set was made.
    proxy.fail("HEAD", &key, HttpFault::Internal, 3);
    let o = Opts::at(&proxy.url())
        .region(MOTO_REGION)
        .retry(RetryPolicy::fast(3));
    let r = run(&p, &["deploy", &env, "--yes"], &o);
    assert_eq!(r.exit, Exit::Failed, "{}", r.all());
    r.assert_printed(&format!(
        "error: publishing the file assets: publishing the asset {} to s3://cfn-deploy-staging-{MOTO_ACCOUNT}-{MOTO_REGION}{key}: s3 HeadObject failed after 3 attempts: HTTP 500",
        p.code.display()
    ));
    assert_eq!(count(&r.calls, "HeadObject"), 3, "{:?}", r.calls);
    assert_eq!(count(&r.calls, "PutObject"), 0, "{:?}", r.calls);
    assert_eq!(count(&r.calls, "CreateChangeSet"), 0, "{:?}", r.calls);

    // S3 throttles the upload twice, then a 500 on the HEAD: each is retried and the deploy
    // goes through.
    proxy.fail("HEAD", &key, HttpFault::Internal, 1);
    proxy.fail("PUT", &key, HttpFault::SlowDown, 2);
    let o = o.retry(RetryPolicy::fast(6));
    let r = run(&p, &["deploy", &env, "--yes"], &o);
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed("s3:PutObject throttled");
    r.assert_printed("s3:HeadObject failed");
    r.assert_printed(&format!(
        "Assets: 1 uploaded ({} bytes), 0 already there",
        asset.size()
    ));
    r.assert_printed(&format!("✓ {stack}: CREATE_COMPLETE"));
    assert_eq!(count(&r.calls, "HeadObject"), 2, "{:?}", r.calls);
    assert_eq!(count(&r.calls, "PutObject"), 3, "{:?}", r.calls);
    let statuses: Vec<u16> = proxy
        .requests()
        .iter()
        .filter(|(m, path, _)| m == "PUT" && path.contains(&key))
        .map(|(_, _, s)| *s)
        .collect();
    assert_eq!(statuses, [503, 503, 200]);

    let r = run(&p, &["destroy", &env, "--force"], &o);
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    let _ = std::fs::remove_dir_all(&p.code);
}
