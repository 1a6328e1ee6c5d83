//! `synth` and guardrails: findings grouped by construct, `--strict`, `--json`, and enforced
//! environments failing with the rule named.

mod support;

use std::fs;
use std::path::PathBuf;

use cfn_core::rules::{Enforcement, Finding, Rule, RuleContext, RulePack};
use cfn_core::{Severity, Stack};
use cfn_deploy::cli::Exit;
use cfn_deploy::project::{Environment, Project, ProjectError, SynthOutput};
use serde_json::json;
use support::{Opts, run};

/// Toy buckets must say `Encrypted: true`; a second rule warns about missing names.
struct Encrypted;
impl Rule for Encrypted {
    fn id(&self) -> &'static str {
        "toy-encrypted"
    }
    fn summary(&self) -> &'static str {
        "toys must be encrypted"
    }
    fn fix(&self) -> &'static str {
        "set Encrypted"
    }
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for r in ctx.resources_of_type("Toy::Thing") {
            if !ctx.is_true(r.get("Encrypted")) {
                out.push(r.finding(self, Some("Encrypted"), "not encrypted"));
            }
        }
    }
}
struct Named;
impl Rule for Named {
    fn id(&self) -> &'static str {
        "toy-named"
    }
    fn severity(&self) -> Severity {
        Severity::Warning
    }
    fn summary(&self) -> &'static str {
        "toys should be named"
    }
    fn fix(&self) -> &'static str {
        "set Name"
    }
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for r in ctx.resources_of_type("Toy::Thing") {
            if r.get("Name").is_none() {
                out.push(r.finding(self, Some("Name"), "no name"));
            }
        }
    }
}

struct Guarded {
    only_dev: bool,
}

impl Project for Guarded {
    fn name(&self) -> &str {
        "guarded"
    }
    fn version(&self) -> &str {
        "1.0.0"
    }
    fn environments(&self) -> Result<Vec<Environment>, ProjectError> {
        let mut v = vec![Environment::new("dev").stack_name("GuardedDev")];
        if !self.only_dev {
            v.push(
                Environment::new("prd")
                    .stack_name("GuardedPrd")
                    .protected(true),
            );
        }
        Ok(v)
    }
    fn synth(&self, env: &Environment) -> Result<SynthOutput, ProjectError> {
        let mut stack = Stack::new(&env.stack_name);
        let enforcement = if env.name == "prd" {
            Enforcement::Enforce
        } else {
            Enforcement::Advise
        };
        stack.set_guardrails(
            RulePack::new("toys").with(Encrypted).with(Named),
            enforcement,
        );
        let mut root = stack.root();
        let mut data = root.child("Data");
        data.add_raw("Box", "Toy::Thing", None, json!({}));
        let mut legacy = root.child("Legacy");
        legacy.suppress("toy-encrypted", "public fixtures only, nothing to protect");
        legacy.add_raw("Old", "Toy::Thing", None, json!({"Name": "old"}));
        Ok(stack.synth()?.into())
    }
}

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cfn-guard-cli-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    d
}

#[test]
fn advisory_findings_are_printed_grouped_by_construct() {
    let dir = tempdir("advisory");
    let r = run(
        &Guarded { only_dev: true },
        &["synth", "--out", &dir.to_string_lossy()],
        &Opts::offline(),
    );
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed(
        "Guardrails, dev: 1 error, 1 warning (advisory; --strict enforces them), 1 suppressed",
    );
    r.assert_printed("  GuardedDev/Data/Box (DataBox");
    r.assert_printed(
        "    error    toy-encrypted  Properties.Encrypted: not encrypted — fix: set Encrypted",
    );
    r.assert_printed("    warning  toy-named  Properties.Name: no name — fix: set Name");
    assert!(dir.join("GuardedDev.template.json").exists());
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn strict_turns_advisory_errors_into_a_failure_and_writes_nothing() {
    let dir = tempdir("strict");
    let r = run(
        &Guarded { only_dev: true },
        &["synth", "--strict", "--out", &dir.to_string_lossy()],
        &Opts::offline(),
    );
    assert_eq!(r.exit, Exit::Failed, "{}", r.all());
    r.assert_printed("[dev] error[toy-encrypted] GuardedDev/Data/Box");
    r.assert_printed("--strict: 1 guardrail error (shown above); nothing was written");
    assert!(!dir.exists(), "nothing written");
}

#[test]
fn enforced_environments_fail_with_the_rule_named() {
    let dir = tempdir("enforced");
    let r = run(
        &Guarded { only_dev: false },
        &["synth", "--out", &dir.to_string_lossy()],
        &Opts::offline(),
    );
    assert_eq!(r.exit, Exit::Failed, "{}", r.all());
    r.assert_printed("error[toy-encrypted] GuardedPrd/Data/Box");
    r.assert_printed("not encrypted (fix: set Encrypted)");
    assert!(!dir.exists(), "all or nothing: dev is not written either");
}

#[test]
fn json_reports_findings_and_suppressions_for_ci() {
    let dir = tempdir("json");
    let r = run(
        &Guarded { only_dev: true },
        &["synth", "--json", "--out", &dir.to_string_lossy()],
        &Opts::offline(),
    );
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    let report: serde_json::Value = serde_json::from_str(&r.out).expect("stdout is JSON");
    let stack = &report["stacks"][0];
    assert_eq!(stack["env"], "dev");
    assert_eq!(stack["resources"], 2);
    let findings = stack["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 2);
    assert_eq!(findings[0]["rule_id"], "toy-encrypted");
    assert_eq!(findings[0]["severity"], "error");
    assert_eq!(findings[0]["construct_path"], "GuardedDev/Data/Box");
    assert_eq!(findings[0]["property"], "Properties.Encrypted");
    assert_eq!(findings[0]["fix"], "set Encrypted");
    assert_eq!(
        stack["suppressed"][0]["suppressed"],
        "public fixtures only, nothing to protect"
    );
    let _ = fs::remove_dir_all(&dir);
}
