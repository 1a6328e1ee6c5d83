//! The platform team's example app (`apps/platform-example`): every environment it synthesizes
//! passes cfn-lint with nothing reported, through the same `Project::synth` the CLI calls.
#![allow(missing_docs)]

use cfn_deploy::project::Project;
use integration_tests::{cfn_lint, require_tool, write_temp};
use platform_example::project::PlatformProject;

#[test]
fn cfn_lint_reports_nothing_on_the_platform_example() {
    let lint = require_tool("CFN_LINT", "cfn-lint");
    let project = PlatformProject::load();
    let envs = project.environments().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(envs.len(), 2, "dev and prd");
    let files: Vec<_> = envs
        .iter()
        .map(|e| {
            let out = project
                .synth(e)
                .unwrap_or_else(|err| panic!("{}: {err}", e.name));
            write_temp(&out.stacks[0].stack_name, &out.stacks[0].body)
        })
        .collect();
    let findings = cfn_lint(&lint, &files);
    assert!(findings.is_empty(), "{findings:#?}");
}
