//! The starter app: a platform team's stack (a bucket, a log group, SSM parameters) with the
//! full deploy CLI.
//!
//! ```text
//! cargo run -p starter-app -- synth
//! cargo run -p starter-app -- diff dev
//! cargo run -p starter-app -- deploy dev
//! ```
//!
//! Environments come from `starter.toml` (built in), or the file `STARTER_CONFIG` names.

mod project;

fn main() -> std::process::ExitCode {
    cfn_deploy::cli::main(project::Starter::load())
}
