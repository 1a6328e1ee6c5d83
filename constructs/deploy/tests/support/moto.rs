//! Finds or starts a moto server for the end-to-end tests.
//!
//! `MOTO_ENDPOINT` (set by `scripts/test.sh`) wins. Otherwise the tests start
//! `scripts/moto_server.py -H 127.0.0.1 -p <free port>` (moto with the exports of executed
//! change sets registered) with the Python of `.venv` (or `/tmp/venv`), once per test binary; it dies with the test process (a shell holds moto and kills it when our end of its
//! stdin closes). Without moto the tests fail, with the reason and how to get moto.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

static SERVER: OnceLock<Result<String, String>> = OnceLock::new();
static HOLD: Mutex<Option<Child>> = Mutex::new(None);

/// The Python of a venv with moto: it runs `scripts/moto_server.py`, moto with the exports
/// of executed change sets registered (moto 5.2.5 only registers CreateStack's).
fn candidates() -> Vec<PathBuf> {
    vec![
        repo_root().join(".venv/bin/python"),
        PathBuf::from("/tmp/venv/bin/python"),
    ]
}

/// The repository root: every crate including this file (`constructs/deploy`, the example
/// apps) sits two levels below it.
fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn answers(endpoint: &str) -> bool {
    let addr = endpoint.trim_start_matches("http://");
    let Ok(mut s) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /moto-api/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 16];
    matches!(s.read(&mut buf), Ok(n) if n > 0 && buf.starts_with(b"HTTP/1"))
}

fn start() -> Result<String, String> {
    if let Ok(e) = std::env::var("MOTO_ENDPOINT") {
        return Ok(e);
    }
    let Some(bin) = candidates().into_iter().find(|p| p.exists()) else {
        return Err(format!(
            "no moto server: MOTO_ENDPOINT is unset and moto_server is not at {} (run scripts/test.sh)",
            candidates()
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(" or ")
        ));
    };
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let log = std::env::temp_dir().join(format!("moto-test-{port}.log"));
    let child = Command::new("sh")
        .arg("-c")
        .arg(r#""$0" "$3" -H 127.0.0.1 -p "$1" > "$2" 2>&1 < /dev/null & pid=$!; cat > /dev/null; kill $pid"#)
        .arg(&bin)
        .arg(port.to_string())
        .arg(&log)
        .arg(repo_root().join("scripts/moto_server.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting {}: {e}", bin.display()))?;
    if let Ok(mut h) = HOLD.lock() {
        *h = Some(child);
    }
    let endpoint = format!("http://127.0.0.1:{port}");
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(30) {
        if answers(&endpoint) {
            return Ok(endpoint);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!(
        "moto did not answer on {endpoint} within 30s; see {}",
        log.display()
    ))
}

/// The moto endpoint. A missing moto fails the test with the reason and how to get it: a
/// test that returned early would count as passed and prove nothing.
pub fn endpoint() -> String {
    match SERVER.get_or_init(start) {
        Ok(e) => e.clone(),
        Err(reason) => panic!(
            "the moto end-to-end tests need moto (scripts/test.sh installs and starts it): {reason}"
        ),
    }
}
