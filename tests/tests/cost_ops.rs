//! Production with every cost control and way in switched on (auto-pause, Fargate Spot, the
//! off-hours schedule, ECS Exec, the dashboard): cfn-lint and checkov find nothing, and our
//! own guardrails pass.
#![allow(missing_docs, clippy::unwrap_used)]

use dify_constructs::DifyStack;
use dify_constructs::config::Environment;
use integration_tests::{cfn_lint, require_tool, workspace_root, write_temp};

const SWITCHES: &str = r#"
[cost]
spot = ["worker", "worker_long", "sandbox"]
allow_in_production = true

[cost.schedule]
timezone = "Asia/Tokyo"
start = "07:30"
stop = "22:00"

[operations]
ecs_exec = true
"#;

/// The shipped prd file on Serverless v2 with auto-pause instead of provisioned instances,
/// plus every switch.
fn switched_prd() -> cfn_core::Synthesized {
    let shipped =
        std::fs::read_to_string(workspace_root().join("apps/dify-app/environments/prd.toml"))
            .unwrap();
    let text = shipped.replace(
        "[database.provisioned]\ninstance_class = \"db.r6g.large\"\ninstances = 2\n",
        "[database.serverless]\nmin_acu = 0\nmax_acu = 16\n",
    );
    assert_ne!(
        text, shipped,
        "prd.toml changed: update this test's replacement"
    );
    let env = Environment::from_toml_str("prd.toml", &format!("{text}{SWITCHES}"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(env.production && env.operations.ecs_exec && env.cost.schedule.is_some());
    let out = DifyStack::build(&env).stack.synth().unwrap();
    let errors: Vec<_> = out
        .findings
        .iter()
        .filter(|f| f.severity == cfn_core::Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    out
}

#[test]
fn cfn_lint_reports_nothing_with_every_switch_on() {
    let lint = require_tool("CFN_LINT", "cfn-lint");
    let out = switched_prd();
    let findings = cfn_lint(&lint, &[write_temp("cost-ops-prd", &out.body)]);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn checkov_fails_nothing_with_every_switch_on() {
    let checkov = require_tool("CHECKOV", "checkov");
    let out = switched_prd();
    let report = integration_tests::checkov(&checkov, &write_temp("cost-ops-checkov", &out.body));
    assert_eq!(
        report["summary"]["failed"], 0,
        "checkov failures: {:#}",
        report["results"]["failed_checks"]
    );
    assert!(report["summary"]["passed"].as_u64().unwrap() > 300);
}
