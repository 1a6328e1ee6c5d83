//! The SSRF proxy's squid configuration ships inside the task definition, so nothing else
//! would notice a typo until a task crash-looped: parse it with a real squid.
#![allow(missing_docs, clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;

use dify_constructs::components::SQUID_CONF;

fn squid() -> Option<PathBuf> {
    let p = std::env::var_os("SQUID")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/squid"));
    if p.exists() {
        return Some(p);
    }
    if std::env::var_os("CI").is_some() {
        panic!("squid is not installed; .ci/run installs it (apt-get install squid)");
    }
    eprintln!("skipped: squid is not installed (apt-get install squid)");
    None
}

#[test]
fn squid_accepts_the_ssrf_proxy_configuration() {
    let Some(squid) = squid() else { return };
    let path = std::env::temp_dir().join(format!("dify-squid-{}.conf", std::process::id()));
    std::fs::write(&path, SQUID_CONF).unwrap();
    let out = Command::new(squid)
        .args(["-k", "parse", "-f"])
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "squid rejected the configuration:\n{log}"
    );
    let complaints: Vec<&str> = log
        .lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("error") || l.contains("warning") || l.contains("bungled")
        })
        .collect();
    assert!(complaints.is_empty(), "{complaints:#?}");
    // Every directive was read (a misspelt one is reported, not silently skipped).
    for directive in [
        "http_access deny to_private",
        "http_port 3128",
        "cache deny all",
    ] {
        assert!(
            log.contains(&format!("Processing: {directive}")),
            "{directive} not read:\n{log}"
        );
    }
}
