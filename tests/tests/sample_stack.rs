//! The sample stack (26 resource types) is valid for cfn-lint, and synthesis is deterministic.
#![allow(missing_docs)]

use integration_tests::{cfn_lint, require_tool, sample_stack, write_temp};

#[test]
fn sample_stack_uses_at_least_20_types_and_is_stable() {
    let a = sample_stack().synth().expect("sample stack synthesizes");
    let b = sample_stack().synth().expect("sample stack synthesizes");
    assert_eq!(
        a.body, b.body,
        "synthesis must be byte-identical run to run"
    );
    let mut types: Vec<&str> = a.template["Resources"]
        .as_object()
        .expect("resources")
        .values()
        .filter_map(|r| r["Type"].as_str())
        .collect();
    types.sort_unstable();
    types.dedup();
    assert!(types.len() >= 20, "only {} types: {types:?}", types.len());
    assert!(a.diagnostics.is_empty(), "{:?}", a.diagnostics);
}

#[test]
fn cfn_lint_reports_nothing_on_the_sample_stack() {
    let lint = require_tool("CFN_LINT", "cfn-lint");
    let out = sample_stack().synth().expect("sample stack synthesizes");
    let path = write_temp("Sample", &out.body);
    let findings = cfn_lint(&lint, &[path]);
    assert!(findings.is_empty(), "cfn-lint findings: {findings:#?}");
}

#[test]
fn cfn_lint_harness_sees_real_problems() {
    // Guards the test above against passing vacuously (e.g. cfn-lint printing nothing).
    let lint = require_tool("CFN_LINT", "cfn-lint");
    let mut stack = sample_stack();
    let mut root = stack.root();
    let vpc = root.add_raw(
        "Broken",
        "AWS::EC2::VPC",
        None,
        serde_json::json!({"CidrBlock": "10.0.0.0/16", "NotAProperty": 1}),
    );
    let body = stack
        .synth()
        .expect("no schema given, so core accepts it")
        .body;
    let findings = cfn_lint(&lint, &[write_temp("Broken", &body)]);
    assert!(
        findings
            .iter()
            .any(|f| f.level == "Error" && f.message.contains("NotAProperty")),
        "{findings:#?} (resource {})",
        vpc.logical_id()
    );
}
