//! Following an operation on the console: a progress bar on a terminal, one line per event
//! otherwise; Ctrl-C stops following (CloudFormation carries on).

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::{CliError, Exit, Run};
use crate::error::DeployError;
use crate::events::{Outcome, StackOperation};
use crate::project::Project;
use crate::render;

pub(super) enum Followed {
    Done(Result<Outcome, DeployError>),
    Interrupted,
}

pub(super) async fn follow<P: Project + ?Sized>(
    run: &Run<'_, P>,
    mut op: StackOperation,
    path_of: &dyn Fn(&str) -> Option<String>,
) -> Followed {
    let console = run.console();
    let bar = console.is_interactive().then(|| {
        let pb = ProgressBar::with_draw_target(
            Some(op.progress().total as u64),
            console.progress_target(),
        );
        pb.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} resources  {wide_msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        pb.enable_steady_tick(Duration::from_millis(200));
        pb
    });
    loop {
        let next = tokio::select! {
            biased;
            _ = run.ctx.interrupt.triggered() => {
                if let Some(b) = &bar {
                    b.finish_and_clear();
                }
                return Followed::Interrupted;
            }
            e = op.next_event() => e,
        };
        match next {
            Ok(Some(e)) => {
                let line = render::event_line(&e, path_of(&e.logical_id).as_deref());
                match &bar {
                    Some(b) => {
                        let p = op.progress();
                        b.set_length(p.total as u64);
                        b.set_position(p.done as u64);
                        b.set_message(if p.in_progress.is_empty() {
                            String::new()
                        } else {
                            format!("in progress: {}", p.in_progress.join(", "))
                        });
                        if e.status.ends_with("_FAILED") {
                            b.suspend(|| console.out(&line));
                        }
                    }
                    None => console.out(&line),
                }
            }
            Ok(None) => break,
            Err(e) => {
                if let Some(b) = &bar {
                    b.finish_and_clear();
                }
                return Followed::Done(Err(e));
            }
        }
    }
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    Followed::Done(op.outcome(path_of))
}

/// What to print and return when following was interrupted.
pub(super) fn interrupted<P: Project + ?Sized>(
    run: &Run<'_, P>,
    stack: &str,
    env: &str,
) -> Result<Exit, CliError> {
    run.console().err(format!(
        "Interrupted: stopped following {stack}. CloudFormation carries on with the operation; it is not cancelled."
    ));
    run.console()
        .err(format!("Resume following it with: {} watch {env}", run.bin));
    Ok(Exit::Interrupted)
}

/// Prints a successful outcome.
pub(super) fn success<P: Project + ?Sized>(run: &Run<'_, P>, stack: &str, o: &Outcome) {
    run.console().out(format!(
        "✓ {stack}: {} in {} ({} events)",
        o.status,
        render::duration(o.elapsed),
        o.events.len()
    ));
    run.console().out_raw(&render::outputs(&o.outputs));
}

/// Prints a failed outcome and turns it into the CLI error.
pub(super) fn failure<P: Project + ?Sized>(
    run: &Run<'_, P>,
    what: &str,
    stack: &str,
    env: &str,
    e: DeployError,
) -> CliError {
    match e {
        DeployError::StackFailed(f) => {
            run.console().out(format!("✗ {stack}: {}", f.status));
            run.console()
                .out_raw(&render::failed_resources(&f.failed, f.reason.as_deref()));
            let state = match f.status.as_str() {
                "UPDATE_ROLLBACK_COMPLETE" => {
                    "the update rolled back; the previous version is live".to_owned()
                }
                "ROLLBACK_COMPLETE" => format!(
                    "the first create failed and rolled back; fix the cause, then `{} deploy {env}` deletes the empty stack and creates it again",
                    run.bin
                ),
                "UPDATE_ROLLBACK_FAILED" => format!(
                    "the rollback failed too; fix the cause, then run `{} continue-rollback {env}` (`--skip <LogicalId>` for what cannot roll back)",
                    run.bin
                ),
                "DELETE_FAILED" => format!(
                    "fix the cause (a non-empty bucket, a resource in use) and run `{} destroy {env}` again",
                    run.bin
                ),
                other => format!("the stack ended in {other}"),
            };
            CliError::new(Exit::Failed, format!("{what} of {stack} failed: {state}"))
        }
        other => lost_track(run, what, stack, env, other),
    }
}

/// The operation was started and CloudFormation carries on with it, but following it failed
/// (its events could not be read): its outcome is unknown here, which is not a failure.
pub(super) fn lost_track<P: Project + ?Sized>(
    run: &Run<'_, P>,
    what: &str,
    stack: &str,
    env: &str,
    e: DeployError,
) -> CliError {
    let cause = super::chain(&e);
    CliError::new(
        Exit::LostTrack,
        format!(
            "lost track of the {what} of {stack}: {cause}. CloudFormation carries on with it; it was not cancelled, and its outcome is not known here"
        ),
    )
    .hint(format!("resume following it with: {} watch {env}", run.bin))
}
