//! `team-stack`: the team's Dify and jobs pipeline with the full deploy CLI
//! (`synth`, `diff`, `deploy`, `destroy`, `list`, `watch`).

fn main() -> std::process::ExitCode {
    cfn_deploy::cli::main(team_stack::project::TeamProject)
}
