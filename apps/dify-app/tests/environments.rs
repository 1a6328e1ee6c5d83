//! dify-app as a process, with environment directories that are empty or hold a bad file:
//! `--help` still works, every other command reports the problem (exit 2), nothing is written.
#![allow(missing_docs)]

use std::path::PathBuf;
use std::process::{Command, Output};

fn dir(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let d = std::env::temp_dir().join(format!("dify-app-envs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create the directory");
    for (file, text) in files {
        std::fs::write(d.join(file), text).expect("write an environment file");
    }
    d
}

fn dify_app(envs: &PathBuf, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dify-app"))
        .args(args)
        .env("DIFY_ENVIRONMENTS", envs)
        .output()
        .expect("run dify-app")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn an_empty_directory_is_an_error_not_zero_templates() {
    let d = dir("empty", &[]);
    let out = d.join("out");
    let o = dify_app(&d, &["synth", "--out", out.to_str().expect("utf-8 path")]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no environment files (*.toml) in"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists(), "nothing is written");
}

#[test]
fn a_bad_file_does_not_block_help_and_is_reported_with_its_key() {
    let d = dir("bad", &[("dev.toml", "region = 5\n")]);
    let help = dify_app(&d, &["--help"]);
    assert_eq!(help.status.code(), Some(0), "{}", stderr(&help));
    assert!(String::from_utf8_lossy(&help.stdout).contains("Usage: dify-app"));
    for args in [&["list"][..], &["synth"][..], &["diff", "dev"][..]] {
        let o = dify_app(&d, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let e = stderr(&o);
        assert!(
            e.contains("dev.toml: region: invalid type: integer `5`"),
            "{args:?}: {e}"
        );
    }
}

#[test]
fn synth_prints_the_cost_estimate_and_carries_it_in_json() {
    let shipped = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("environments");
    let out = std::env::temp_dir().join(format!("dify-app-estimate-{}", std::process::id()));
    let o = dify_app(
        &shipped,
        &["synth", "dev", "--out", out.to_str().expect("utf-8")],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("[dev] Estimated monthly fixed cost (ap-northeast-1, prices as of "),
        "{text}"
    );
    assert!(text.contains("an estimate, not a quote"), "{text}");
    assert!(text.contains("fargate worker (spot)"), "{text}");

    let o = dify_app(
        &shipped,
        &[
            "synth",
            "dev",
            "--json",
            "--out",
            out.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let estimate = &report["stacks"][0]["reports"]["cost_estimate"];
    assert_eq!(estimate["kind"], "estimate");
    assert_eq!(estimate["currency"], "USD");
    assert!(
        estimate["prices_as_of"]
            .as_str()
            .is_some_and(|d| d.len() >= 7)
    );
    assert!(
        estimate["sources"]
            .as_array()
            .is_some_and(|s| !s.is_empty())
    );
    assert!(
        estimate["monthly_usd"]
            .as_f64()
            .is_some_and(|usd| usd > 0.0)
    );
    let _ = std::fs::remove_dir_all(&out);
}
