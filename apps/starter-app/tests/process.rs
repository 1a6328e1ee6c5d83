//! The starter app as a process, the way CI runs it: signals (SIGTERM from a cancelled job)
//! and a closed pipe on its output. In-process tests cannot see either.
#![allow(missing_docs)]

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use cfn_deploy::testing::silent_endpoint;

fn starter(args: &[&str], endpoint: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_starter-app"));
    c.args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "AKIDTEST")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null());
    c
}

fn signal(child: &Child, name: &str) {
    let ok = Command::new("kill")
        .args([format!("-{name}"), child.id().to_string()])
        .status()
        .expect("run kill")
        .success();
    assert!(ok, "kill -{name} failed");
}

/// Waits for the child to exit, at most `deadline`; kills it and fails the test otherwise.
fn wait(mut child: Child, deadline: Duration) -> (i32, String) {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("poll the child") {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            return (status.code().unwrap_or(-1), err);
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            panic!("still running after {deadline:?}");
        }
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigterm_interrupts_like_ctrl_c_with_its_message_and_exit_code() {
    let endpoint = silent_endpoint();
    let child = starter(&["diff", "dev", "--call-timeout", "600"], &endpoint)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start starter-app");
    // Long enough for the runtime to start and install its signal handlers.
    thread::sleep(Duration::from_millis(700));
    let sent = Instant::now();
    signal(&child, "TERM");
    let (code, err) = wait(child, Duration::from_secs(10));
    assert_eq!(code, 130, "{err}");
    assert!(
        sent.elapsed() < Duration::from_secs(3),
        "took {:?}",
        sent.elapsed()
    );
    assert!(err.contains("interrupted: nothing was changed"), "{err}");
}

#[test]
fn debug_logging_into_a_closed_pipe_does_not_panic() {
    // The endpoint never answers: the command fails after two short attempts, logging both.
    let mut child = starter(
        &["diff", "dev", "--call-timeout", "0.3"],
        &silent_endpoint(),
    )
    .env("CFN_DEPLOY_LOG", "debug")
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .expect("start starter-app");
    // The reader goes away before the first log line: every write to stderr fails (EPIPE).
    drop(child.stderr.take());
    let (code, _) = wait(child, Duration::from_secs(60));
    // A failed AWS call is exit 1; a panic would be 101 (or 134 with panic=abort).
    assert_eq!(code, 1);
}

/// A home directory whose AWS config defines profile `team`, whose credentials come from a
/// process that leaves `marker` behind when it runs.
fn home_with_profile(name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let home = std::env::temp_dir().join(format!("starter-home-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(home.join(".aws")).expect("create ~/.aws");
    let marker = home.join("team-credentials-used");
    let script = home.join("creds.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ntouch '{}'\necho '{{\"Version\": 1, \"AccessKeyId\": \"AKIDTEAM\", \"SecretAccessKey\": \"team\"}}'\n",
            marker.display()
        ),
    )
    .expect("write the credential process");
    std::fs::write(
        home.join(".aws/config"),
        format!(
            "[profile team]\nregion = us-east-1\ncredential_process = sh {}\n",
            script.display()
        ),
    )
    .expect("write ~/.aws/config");
    (home, marker)
}

/// Runs the starter against a silent endpoint with `home` as HOME: exit code and stderr.
fn run_at_home(home: &std::path::Path, args: &[&str]) -> (i32, String) {
    let child = starter(args, &silent_endpoint())
        .env("HOME", home)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start starter-app");
    wait(child, Duration::from_secs(30))
}

#[test]
fn profile_wins_over_exported_keys() {
    let (home, marker) = home_with_profile("wins");
    // AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are exported (starter() sets them).
    let (code, err) = run_at_home(
        &home,
        &["diff", "dev", "--profile", "team", "--call-timeout", "0.3"],
    );
    assert_eq!(code, 1, "the silent endpoint fails the call: {err}");
    assert!(
        marker.exists(),
        "the profile's credentials were not used: {err}"
    );
}

#[test]
fn an_unknown_profile_is_a_usage_error_before_any_call() {
    let (home, _) = home_with_profile("unknown");
    let (code, err) = run_at_home(&home, &["diff", "dev", "--profile", "nosuch"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("profile 'nosuch'"), "{err}");
}
