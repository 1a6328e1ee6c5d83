//! The CLI against endpoints that misbehave at the network level: one that accepts connections
//! and never answers, and one that refuses them. Every command must end, in bounded time, with
//! a message that says what happened; none may hang.

mod support;

use std::net::TcpListener;
use std::thread;
use std::time::{Duration, Instant};

use cfn_deploy::aws::{RetryPolicy, Timeouts};
use cfn_deploy::cli::Exit;
use cfn_deploy::project::Environment;
use cfn_deploy::testing::silent_endpoint;
use support::{Opts, RawProject, run};

/// Runs the CLI on a thread of its own and fails the test, instead of hanging it, when the
/// command has not ended within `deadline`.
fn run_within(deadline: Duration, args: &[&str], opts: Opts) -> support::Ran {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let _ = tx.send(run(&project(), &argv, &opts));
    });
    rx.recv_timeout(deadline)
        .unwrap_or_else(|_| panic!("the command was still running after {deadline:?}: it hangs"))
}

fn project() -> RawProject {
    RawProject::new(vec![
        Environment::new("dev")
            .stack_name("NetDev")
            .region("eu-west-1"),
    ])
}

fn short(timeouts: Duration) -> Opts {
    Opts {
        retry: RetryPolicy::fast(8),
        timeouts: Timeouts {
            connect: timeouts,
            attempt: timeouts,
            attempts_after_timeout: 2,
        },
        ..Opts::at(&silent_endpoint())
    }
}

#[test]
fn a_silent_endpoint_fails_each_command_in_bounded_time_and_says_so() {
    for args in [
        &["diff", "dev"][..],
        &["deploy", "dev", "--yes"][..],
        &["watch", "dev"][..],
        &["destroy", "dev", "--force"][..],
    ] {
        let started = Instant::now();
        let r = run_within(
            Duration::from_secs(20),
            args,
            short(Duration::from_millis(400)),
        );
        let took = started.elapsed();
        assert_eq!(r.exit, Exit::Failed, "{args:?}: {}", r.err);
        // Two attempts of 0.4 s and one short backoff; far from "forever".
        assert!(took < Duration::from_secs(5), "{args:?} took {took:?}");
        assert!(
            r.err.contains("no answer from http://127.0.0.1:"),
            "{args:?}: {}",
            r.err
        );
        assert!(r.err.contains("within 0.4s"), "{args:?}: {}", r.err);
        assert!(
            r.err.contains("hint: check the network path"),
            "{args:?}: {}",
            r.err
        );
        // The first call was tried twice, not eight times: waiting again rarely helps.
        assert_eq!(r.calls.len(), 2, "{args:?}: {:?}", r.calls);
    }
}

#[test]
fn the_call_timeout_flag_overrides_the_default() {
    let opts = short(Duration::from_secs(600));
    let started = Instant::now();
    let r = run_within(
        Duration::from_secs(20),
        &["diff", "dev", "--call-timeout", "0.3"],
        short(Duration::from_secs(600)),
    );
    assert_eq!(r.exit, Exit::Failed, "{}", r.err);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(r.err.contains("within 0.3s"), "{}", r.err);

    let r = run(&project(), &["diff", "dev", "--call-timeout", "0"], &opts);
    assert_eq!(r.exit, Exit::Usage, "{}", r.err);
    assert!(r.err.contains("outside 0 < seconds"), "{}", r.err);
}

#[test]
fn a_refused_connection_is_retried_then_reported_not_hung() {
    // A port nothing listens on: connections are refused at once.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let opts = Opts {
        retry: RetryPolicy::fast(3),
        ..Opts::at(&format!("http://127.0.0.1:{port}"))
    };
    let started = Instant::now();
    let r = run(&project(), &["diff", "dev"], &opts);
    assert_eq!(r.exit, Exit::Failed, "{}", r.err);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(r.err.contains("after 3 attempts"), "{}", r.err);
}

#[test]
fn list_reads_every_environment_at_once_against_a_silent_endpoint() {
    let envs: Vec<Environment> = ["a", "b", "c", "d"]
        .iter()
        .map(|n| {
            Environment::new(*n)
                .stack_name(format!("Net{n}"))
                .region("eu-west-1")
        })
        .collect();
    let opts = short(Duration::from_millis(500));
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(run(&RawProject::new(envs), &["list"], &opts));
    });
    let started = Instant::now();
    let r = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("list ended");
    // One environment costs two 0.5 s attempts and a short backoff; four, read one after
    // another, would take four times that.
    assert!(
        started.elapsed() < Duration::from_millis(2_500),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(r.exit, Exit::Failed, "{}", r.out);
    assert_eq!(
        r.out
            .matches("error: reading the stack: sts GetCallerIdentity")
            .count(),
        4,
        "{}",
        r.out
    );
}
