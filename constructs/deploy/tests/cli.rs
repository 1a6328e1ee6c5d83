//! The CLI without AWS: `synth` (all or nothing, atomic, the table, file assets beside the
//! templates), usage errors and their exit codes, project errors reported with context.

mod support;

use std::fs;
use std::path::PathBuf;

use cfn_deploy::cli::Exit;
use cfn_deploy::project::{Environment, Project, ProjectError, SynthOutput};
use support::{AssetProject, Opts, RawProject, run};

fn envs() -> Vec<Environment> {
    vec![
        Environment::new("dev")
            .stack_name("Dev")
            .region("eu-west-1"),
        Environment::new("prd")
            .stack_name("Prd")
            .region("eu-west-1")
            .protected(true),
    ]
}

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cfn-deploy-cli-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    d
}

fn files(dir: &PathBuf) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .map(|r| {
            r.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn synth_writes_every_environment_and_prints_the_table() {
    let dir = tempdir("all");
    let mut p = RawProject::new(envs());
    p.pad = 60_000;
    let r = run(
        &p,
        &["synth", "--out", &dir.to_string_lossy()],
        &Opts::offline(),
    );
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    assert_eq!(files(&dir), ["Dev.template.json", "Prd.template.json"]);
    let body = fs::read_to_string(dir.join("Dev.template.json")).expect("written");
    assert_eq!(body, p.template("dev"));
    let bytes = body.len();
    let lines: Vec<&str> = r.out.lines().collect();
    assert_eq!(lines[0], "  STACK  ENV  RESOURCES   BYTES  NOTE");
    assert_eq!(
        lines[1],
        format!(
            "  Dev    dev          2  {}  via S3",
            cfn_deploy::render::thousands(bytes)
        )
    );
    assert!(
        lines[2].starts_with("  Prd    prd          2  "),
        "{}",
        r.out
    );
    r.assert_printed(&format!("Wrote 2 templates to {}", dir.display()));
    r.assert_printed("[dev] warning[template-needs-s3] Dev");
    assert!(r.calls.is_empty(), "synth needs no AWS");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn synth_writes_assets_beside_the_templates_with_a_manifest_and_removes_stale_zips() {
    let dir = tempdir("assets");
    let marker = format!("cli-{}", std::process::id());
    let mut p = AssetProject::new(envs(), &marker);
    let out_dir = dir.to_string_lossy().into_owned();
    let v1 = p.synth(&envs()[0]).expect("synth").stacks[0].assets[0].clone();
    let r = run(&p, &["synth", "--out", &out_dir], &Opts::offline());
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    let zip1 = v1.file_name();
    assert_eq!(
        files(&dir),
        [
            "Dev.assets.json",
            "Dev.template.json",
            "Prd.assets.json",
            "Prd.template.json",
            zip1.as_str()
        ]
    );
    assert_eq!(fs::read(dir.join(&zip1)).expect("zip"), v1.bytes());
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("Dev.assets.json")).expect("manifest"))
            .expect("JSON");
    assert_eq!(
        manifest,
        serde_json::json!({
            "version": 1,
            "stack": "Dev",
            "assets": [{
                "hash": v1.hash(),
                "file": zip1,
                "bucket": "cfn-deploy-staging-${AWS::AccountId}-${AWS::Region}",
                "key": format!("assets/{}.zip", v1.hash()),
                "packaging": "directory",
                "source": p.code.display().to_string(),
                "bytes": v1.size(),
            }]
        })
    );
    r.assert_printed(&format!(
        "Wrote 1 asset ({} bytes) beside them: {zip1}",
        v1.size()
    ));
    let template = fs::read_to_string(dir.join("Dev.template.json")).expect("template");
    assert!(template.contains(&format!("\"S3Key\": \"assets/{}.zip\"", v1.hash())));

    // A file no manifest names is never removed.
    let foreign = format!("asset.{}.zip", "0".repeat(64));
    fs::write(dir.join(&foreign), "not ours").expect("foreign file");

    // New handler content, one environment synthesized: Prd's manifest still lists the old
    // zip, so it stays.
    fs::write(
        p.code.join("index.py"),
        "def handler(e, c):\n    return 2\n",
    )
    .expect("edit");
    let v2 = p.synth(&envs()[0]).expect("synth").stacks[0].assets[0].clone();
    assert_ne!(v1.hash(), v2.hash());
    let r = run(&p, &["synth", "dev", "--out", &out_dir], &Opts::offline());
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    assert!(dir.join(&zip1).exists(), "still listed by Prd.assets.json");
    assert!(dir.join(v2.file_name()).exists());

    // Both synthesized: nothing lists the old zip any more.
    let r = run(&p, &["synth", "--out", &out_dir], &Opts::offline());
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    assert!(!dir.join(&zip1).exists(), "the stale zip is removed");
    assert!(dir.join(v2.file_name()).exists());
    assert!(
        dir.join(&foreign).exists(),
        "a file no manifest lists stays"
    );

    // A stack without assets: no manifest (and its old one goes, with its zip).
    p.code = PathBuf::from("/nonexistent/cfn-deploy-asset");
    let raw = RawProject::new(envs());
    let r = run(&raw, &["synth", "--out", &out_dir], &Opts::offline());
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_not_printed("beside them");
    assert_eq!(
        files(&dir),
        ["Dev.template.json", "Prd.template.json", foreign.as_str()]
    );

    // A path that cannot be packaged fails synthesis with the path; nothing is written.
    let r = run(&p, &["synth", "--out", &out_dir], &Opts::offline());
    assert_eq!(r.exit, Exit::Failed, "{}", r.all());
    r.assert_printed("asset /nonexistent/cfn-deploy-asset: no such file or directory");
    let _ = fs::remove_dir_all(&dir);
    let _ = fs::remove_dir_all(&p.code);
}

#[test]
fn synth_of_one_environment_writes_only_that_one() {
    let dir = tempdir("one");
    let r = run(
        &RawProject::new(envs()),
        &["synth", "prd", "--out", &dir.to_string_lossy()],
        &Opts::offline(),
    );
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    assert_eq!(files(&dir), ["Prd.template.json"]);
    r.assert_not_printed("via S3");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn synth_is_all_or_nothing() {
    let dir = tempdir("none");
    fs::create_dir_all(&dir).expect("dir");
    fs::write(dir.join("Dev.template.json"), "old").expect("old file");
    let mut p = RawProject::new(envs());
    p.broken_env = Some("prd".into());
    let r = run(
        &p,
        &["synth", "--out", &dir.to_string_lossy()],
        &Opts::offline(),
    );
    assert_eq!(r.exit, Exit::Failed, "{}", r.all());
    r.assert_printed("error: synthesizing environment 'prd': the prd configuration is broken");
    r.assert_printed(&format!(
        "error: 1 environment failed to synthesize; nothing was written to {}",
        dir.display()
    ));
    assert_eq!(
        files(&dir),
        ["Dev.template.json"],
        "no new file, no temp file"
    );
    assert_eq!(
        fs::read_to_string(dir.join("Dev.template.json")).expect("old file"),
        "old",
        "the good environment's old template is untouched"
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn synth_into_an_unusable_directory_fails_cleanly() {
    let file = tempdir("file");
    fs::write(&file, "not a directory").expect("file");
    let r = run(
        &RawProject::new(envs()),
        &["synth", "--out", &file.to_string_lossy()],
        &Opts::offline(),
    );
    assert_eq!(r.exit, Exit::Failed, "{}", r.all());
    r.assert_printed(&format!("error: creating {}", file.display()));
    let _ = fs::remove_file(&file);
}

#[test]
fn an_unknown_environment_is_a_usage_error() {
    let r = run(&RawProject::new(envs()), &["diff", "qa"], &Opts::offline());
    assert_eq!(r.exit, Exit::Usage, "{}", r.all());
    r.assert_printed("error: unknown environment 'qa'; known: dev, prd");
    assert!(r.calls.is_empty());
}

#[test]
fn bad_arguments_exit_2_and_help_exits_0() {
    let p = RawProject::new(envs());
    let r = run(&p, &["deploy"], &Opts::offline());
    assert_eq!(r.exit, Exit::Usage, "{}", r.all());
    r.assert_printed("<ENV>");
    let r = run(&p, &["frobnicate"], &Opts::offline());
    assert_eq!(r.exit, Exit::Usage, "{}", r.all());
    let r = run(&p, &["--help"], &Opts::offline());
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    for cmd in ["synth", "diff", "deploy", "destroy", "list", "watch"] {
        r.assert_printed(cmd);
    }
    let r = run(&p, &["deploy", "--help"], &Opts::offline());
    assert_eq!(r.exit, Exit::Ok);
    r.assert_printed("--allow-replacement");
    r.assert_printed("--yes");
}

#[test]
fn destroy_without_a_terminal_needs_force() {
    let r = run(
        &RawProject::new(envs()),
        &["destroy", "dev"],
        &Opts::offline(),
    );
    assert_eq!(r.exit, Exit::Usage, "{}", r.all());
    r.assert_printed(
        "error: destroy needs --force when there is no terminal to type the stack name",
    );
    assert!(r.calls.is_empty());
}

struct Broken;

impl Project for Broken {
    fn name(&self) -> &str {
        "broken"
    }
    fn version(&self) -> &str {
        "0"
    }
    fn environments(&self) -> Result<Vec<Environment>, ProjectError> {
        Err(
            "environments/prd.toml: unknown field `regoin`, expected one of `region`, `account`"
                .into(),
        )
    }
    fn synth(&self, _: &Environment) -> Result<SynthOutput, ProjectError> {
        Err("unreachable".into())
    }
}

#[test]
fn project_errors_are_reported_with_context() {
    for args in [&["synth"][..], &["list"], &["deploy", "prd", "--yes"]] {
        let r = run(&Broken, args, &Opts::offline());
        assert_eq!(r.exit, Exit::Usage, "{args:?}: {}", r.all());
        r.assert_printed("error: reading the environments of broken: environments/prd.toml: unknown field `regoin`");
    }
}

#[test]
fn exit_codes_are_the_documented_numbers() {
    assert_eq!(
        [
            Exit::Ok,
            Exit::Failed,
            Exit::Usage,
            Exit::Refused,
            Exit::Interrupted
        ]
        .map(Exit::code),
        [0, 1, 2, 3, 130]
    );
}

#[test]
fn a_project_without_environments_is_a_configuration_error() {
    let dir = tempdir("noenvs");
    let p = RawProject::new(Vec::new());
    for args in [
        &["synth", "--out", dir.to_str().unwrap_or_default()][..],
        &["list"][..],
    ] {
        let r = run(&p, args, &Opts::offline());
        assert_eq!(r.exit, Exit::Usage, "{args:?}: {}", r.err);
        assert!(r.err.contains("defines no environments"), "{}", r.err);
    }
    assert!(!dir.exists(), "nothing is written");
}

/// A project that hands the CLI a report with each environment.
struct Reporting(RawProject);

impl Project for Reporting {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn version(&self) -> &str {
        self.0.version()
    }
    fn environments(&self) -> Result<Vec<Environment>, ProjectError> {
        self.0.environments()
    }
    fn synth(&self, env: &Environment) -> Result<SynthOutput, ProjectError> {
        let usd = if env.name == "prd" { 120 } else { 12 };
        Ok(self.0.synth(env)?.report(
            "cost_estimate",
            format!("Estimated {usd} USD a month\n  fargate  {usd}.00"),
            serde_json::json!({"monthly_usd": usd}),
        ))
    }
}

#[test]
fn synth_prints_the_projects_reports_and_carries_their_data_in_json() {
    let dir = tempdir("reports");
    let p = Reporting(RawProject::new(envs()));
    let r = run(
        &p,
        &["synth", "--out", &dir.to_string_lossy()],
        &Opts::offline(),
    );
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    assert!(
        r.out
            .contains("[dev] Estimated 12 USD a month\n  fargate  12.00\n"),
        "{}",
        r.out
    );
    assert!(
        r.out.contains("[prd] Estimated 120 USD a month\n"),
        "{}",
        r.out
    );

    let r = run(
        &p,
        &["synth", "--json", "--out", &dir.to_string_lossy()],
        &Opts::offline(),
    );
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    let report: serde_json::Value = serde_json::from_str(&r.out).expect("JSON");
    let by_env: Vec<(String, serde_json::Value)> = report["stacks"]
        .as_array()
        .expect("stacks")
        .iter()
        .map(|s| {
            (
                s["env"].as_str().unwrap_or_default().to_owned(),
                s["reports"].clone(),
            )
        })
        .collect();
    assert_eq!(
        by_env,
        [
            (
                "dev".to_owned(),
                serde_json::json!({"cost_estimate": {"monthly_usd": 12}})
            ),
            (
                "prd".to_owned(),
                serde_json::json!({"cost_estimate": {"monthly_usd": 120}})
            ),
        ]
    );
}
