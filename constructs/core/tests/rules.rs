//! The guardrail engine: packs, enforcement, suppressions and what they leave in the template.
#![allow(missing_docs, clippy::unwrap_used)]

use cfn_core::rules::{Enforcement, Finding, Rule, RuleContext, RulePack};
use cfn_core::{Parameter, ParameterType, Severity, Stack, fns};
use serde_json::json;

/// Buckets must set `Encrypted: true` (a toy property, to keep the test about the engine).
struct Encrypted;
impl Rule for Encrypted {
    fn id(&self) -> &'static str {
        "toy-encrypted"
    }
    fn summary(&self) -> &'static str {
        "toy resources must be encrypted"
    }
    fn fix(&self) -> &'static str {
        "set Encrypted to true"
    }
    fn checkov_ids(&self) -> &'static [&'static str] {
        &["CKV_TOY_1"]
    }
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for r in ctx.resources_of_type("Toy::Thing") {
            if !ctx.is_true(r.get("Encrypted")) {
                out.push(r.finding(self, Some("Encrypted"), "not encrypted"));
            }
        }
    }
}

/// A warning-level rule.
struct Named;
impl Rule for Named {
    fn id(&self) -> &'static str {
        "toy-named"
    }
    fn severity(&self) -> Severity {
        Severity::Warning
    }
    fn summary(&self) -> &'static str {
        "toy resources should be named"
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

fn pack() -> RulePack {
    RulePack::new("toys").with(Encrypted).with(Named)
}

#[test]
fn enforced_errors_fail_synth_and_name_the_construct() {
    let mut stack = Stack::new("S");
    stack.set_guardrails(pack(), Enforcement::Enforce);
    stack
        .root()
        .child("Data")
        .add_raw("Box", "Toy::Thing", None, json!({"Name": "x"}));
    let err = stack.synth().unwrap_err().to_string();
    assert!(
        err.contains("error[toy-encrypted] S/Data/Box (DataBox"),
        "{err}"
    );
    assert!(err.contains("Properties.Encrypted: not encrypted (fix: set Encrypted to true)"));
}

#[test]
fn advisory_guardrails_report_without_failing() {
    let mut stack = Stack::new("S");
    stack.set_guardrails(pack(), Enforcement::Advise);
    stack.root().add_raw("Box", "Toy::Thing", None, json!({}));
    let out = stack.synth().unwrap();
    let ids: Vec<(&str, Severity)> = out
        .findings
        .iter()
        .map(|f| (f.rule_id, f.severity))
        .collect();
    assert_eq!(
        ids,
        vec![
            ("toy-encrypted", Severity::Error),
            ("toy-named", Severity::Warning)
        ]
    );
    assert_eq!(
        out.findings[0].to_string(),
        "error[toy-encrypted] S/Box (Box) Properties.Encrypted: not encrypted — fix: set Encrypted to true"
    );
}

#[test]
fn warnings_never_fail_even_when_enforced() {
    let mut stack = Stack::new("S");
    stack.set_guardrails(pack(), Enforcement::Enforce);
    stack
        .root()
        .add_raw("Box", "Toy::Thing", None, json!({"Encrypted": true}));
    let out = stack.synth().unwrap();
    assert_eq!(out.findings.len(), 1);
    assert_eq!(out.findings[0].rule_id, "toy-named");
}

#[test]
fn suppressions_cover_the_subtree_and_are_recorded_in_metadata() {
    let mut stack = Stack::new("S");
    stack.set_guardrails(pack(), Enforcement::Enforce);
    let mut root = stack.root();
    let mut legacy = root.child("Legacy");
    legacy.suppress("toy-encrypted", "holds only public test fixtures");
    let inner = legacy
        .child("Deep")
        .add_raw("Box", "Toy::Thing", None, json!({"Name": "a"}));
    let outside = root.add_raw(
        "Other",
        "Toy::Thing",
        None,
        json!({"Name": "b", "Encrypted": "true"}),
    );
    let out = stack.synth().unwrap();
    assert!(out.findings.is_empty(), "{:?}", out.findings);
    assert_eq!(out.suppressed.len(), 1);
    assert_eq!(
        out.suppressed[0].suppressed.as_deref(),
        Some("holds only public test fixtures")
    );
    let meta = &out.template["Resources"][inner.logical_id()]["Metadata"];
    assert_eq!(
        meta["guardrails"],
        json!({"suppressions": [{"rule": "toy-encrypted", "reason": "holds only public test fixtures"}]})
    );
    assert_eq!(
        meta["checkov"],
        json!({"skip": [{"id": "CKV_TOY_1", "comment": "holds only public test fixtures"}]})
    );
    assert!(
        out.template["Resources"][outside.logical_id()]["Metadata"]
            .get("guardrails")
            .is_none()
    );
}

#[test]
fn a_suppression_that_suppresses_nothing_is_a_warning() {
    let mut stack = Stack::new("S");
    stack.set_guardrails(pack(), Enforcement::Enforce);
    let mut root = stack.root();
    let mut c = root.child("Clean");
    c.suppress("toy-encrypted", "was needed for the old bucket");
    c.suppress("no-such-rule", "typo in a rule id, say");
    c.add_raw(
        "Box",
        "Toy::Thing",
        None,
        json!({"Name": "a", "Encrypted": true}),
    );
    let out = stack.synth().unwrap();
    let unused: Vec<&str> = out
        .diagnostics
        .iter()
        .filter(|d| d.code == "unused-suppression")
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(unused.len(), 2, "{unused:?}");
    assert!(unused[0].contains("'toy-encrypted' suppresses nothing here"));
    assert!(unused[1].contains("a rule not in pack 'toys'"));
    assert_eq!(out.diagnostics[0].construct_path, "S/Clean");
}

#[test]
fn a_suppression_needs_a_reason() {
    let mut stack = Stack::new("S");
    stack.root().suppress("toy-encrypted", "  ");
    let err = stack.synth().unwrap_err().to_string();
    assert!(err.contains("suppression-without-reason"), "{err}");
}

#[test]
fn packs_are_values_to_extend_trim_and_replace() {
    let p = pack();
    assert_eq!(
        p.rules().map(|r| r.id()).collect::<Vec<_>>(),
        vec!["toy-encrypted", "toy-named"]
    );
    let trimmed = p.clone().without("toy-named");
    assert_eq!(trimmed.rules().count(), 1);
    let extended = RulePack::new("mine").with(Named).extend(&p);
    assert_eq!(extended.rules().count(), 2);
    assert!(extended.get("toy-encrypted").is_some());
    // Adding a rule with an existing ID replaces it.
    assert_eq!(p.with(Named).rules().count(), 2);
}

#[test]
fn rules_see_values_resolved_where_synth_can_know_them() {
    let mut stack = Stack::new("S");
    let flag = stack.add_parameter(
        "Encrypt",
        Parameter::new(ParameterType::String).default_value("true"),
    );
    stack.set_guardrails(pack(), Enforcement::Enforce);
    stack.root().add_raw(
        "Box",
        "Toy::Thing",
        None,
        json!({"Name": fns::join("-", ["a", "b"]), "Encrypted": flag.value()}),
    );
    let out = stack.synth().unwrap();
    assert!(out.findings.is_empty(), "{:?}", out.findings);
}

/// Parameters with no default whose name says "secret" (a toy template-level rule).
struct SecretParameter;
impl Rule for SecretParameter {
    fn id(&self) -> &'static str {
        "toy-secret-parameter"
    }
    fn summary(&self) -> &'static str {
        "parameters named like secrets must not echo"
    }
    fn fix(&self) -> &'static str {
        "set NoEcho"
    }
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        let params = ctx.template().get("Parameters").and_then(|p| p.as_object());
        for (name, p) in params.into_iter().flatten() {
            if name.contains("Secret") && p.get("NoEcho").is_none() {
                out.push(Finding {
                    rule_id: self.id(),
                    severity: self.severity(),
                    construct_path: ctx.stack().name().to_owned(),
                    logical_id: name.clone(),
                    property: Some(format!("Parameters.{name}.NoEcho")),
                    message: "echoes".into(),
                    fix: self.fix(),
                    suppressed: None,
                });
            }
        }
    }
}

#[test]
fn rules_reach_the_stack_for_findings_about_the_template_itself() {
    let mut stack = Stack::new("S");
    stack.add_parameter("ApiSecret", Parameter::new(ParameterType::String));
    stack.set_guardrails(
        RulePack::new("t").with(SecretParameter),
        Enforcement::Advise,
    );
    stack.root().add_raw("Box", "Toy::Thing", None, json!({}));
    let out = stack.synth().unwrap();
    assert_eq!(out.findings.len(), 1);
    assert_eq!(out.findings[0].construct_path, "S");
    assert_eq!(
        out.findings[0].property.as_deref(),
        Some("Parameters.ApiSecret.NoEcho")
    );
}

#[test]
fn the_context_finds_resources_by_type_and_id_in_template_order() {
    let mut stack = Stack::new("S");
    let mut root = stack.root();
    root.add_raw("A", "Toy::Thing", None, json!({}));
    root.child("Deep")
        .add_raw("B", "Toy::Other", None, json!({}));
    root.add_raw("C", "Toy::Thing", None, json!({"Name": "c"}));
    let (template, _) = stack.build_template();
    let ctx = RuleContext::new(&stack, &template);
    let ids = |ty| {
        ctx.resources_of_type(ty)
            .map(|r| r.logical_id.to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids("Toy::Thing"), ["A", "C"]);
    assert_eq!(ids("Toy::Thing"), ["A", "C"], "the index is reused");
    assert!(ids("Toy::None").is_empty());
    let b = ctx.resources_of_type("Toy::Other").next().unwrap();
    assert_eq!((b.type_name, b.path), ("Toy::Other", "S/Deep/B"));
    assert_eq!(ctx.resource("C").unwrap().get("Name"), Some(&json!("c")));
    assert!(ctx.resource("Z").is_none());
    assert_eq!(ctx.resources().count(), 3);
}
