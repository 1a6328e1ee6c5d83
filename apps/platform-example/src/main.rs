//! `platform-example`: the platform team's Dify, with the full deploy CLI
//! (`synth`, `diff`, `deploy`, `destroy`, `list`, `watch`).

use std::process::ExitCode;

use platform_example::project::PlatformProject;

fn main() -> ExitCode {
    cfn_deploy::cli::main(PlatformProject::load())
}
