//! `multi-stack-app`: three stacks per environment with the full deploy CLI
//! (`deploy dev --all`, `deploy dev <stack>`, `destroy dev --all`, …).

fn main() -> std::process::ExitCode {
    cfn_deploy::cli::main(multi_stack_app::MultiStackProject)
}
