//! Following an operation on the console: a progress bar on a terminal, one line per event
//! otherwise; Ctrl-C stops following (CloudFormation carries on).

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use indexmap::IndexMap;

use super::{CliError, Exit, Run};
use crate::deployment::Execution;
use crate::error::DeployError;
use crate::events::{Outcome, Progressed, StackOperation};
use crate::project::Project;
use crate::render;

pub(super) enum Followed {
    Done(Result<Outcome, DeployError>),
    Interrupted,
}

/// Follows an operation started elsewhere (a delete, a rollback, `watch`), naming resources
/// by the construct paths in `paths`.
pub(super) async fn follow<P: Project + ?Sized>(
    run: &Run<'_, P>,
    op: StackOperation,
    paths: IndexMap<String, String>,
) -> Followed {
    follow_execution(run, Execution::new(op, paths)).await
}

/// Renders an execution's event stream while its future runs, until it settles or Ctrl-C.
pub(super) async fn follow_execution<P: Project + ?Sized>(
    run: &Run<'_, P>,
    execution: Execution,
) -> Followed {
    let console = run.console();
    let bar = console
        .is_interactive()
        .then(|| progress_bar(run, execution.total()));
    let (done, mut events) = execution.into_parts();
    let mut done = std::pin::pin!(done);
    let mut outcome = None;
    loop {
        tokio::select! {
            biased;
            _ = run.ctx.interrupt.triggered() => {
                if let Some(b) = &bar {
                    b.finish_and_clear();
                }
                return Followed::Interrupted;
            }
            r = &mut done, if outcome.is_none() => outcome = Some(r),
            p = events.next() => match p {
                Some(p) => render_event(run, bar.as_ref(), &p),
                // The future has resolved and every event was shown.
                None => break,
            },
        }
    }
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    match outcome {
        Some(r) => Followed::Done(r),
        None => Followed::Done(done.await),
    }
}

fn progress_bar<P: Project + ?Sized>(run: &Run<'_, P>, total: usize) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(Some(total as u64), run.console().progress_target());
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} resources  {wide_msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

fn render_event<P: Project + ?Sized>(run: &Run<'_, P>, bar: Option<&ProgressBar>, p: &Progressed) {
    let console = run.console();
    let e = &p.event;
    let line = render::event_line(e, p.path.as_deref());
    match bar {
        Some(b) => {
            b.set_length(p.progress.total as u64);
            b.set_position(p.progress.done as u64);
            b.set_message(if p.progress.in_progress.is_empty() {
                String::new()
            } else {
                format!("in progress: {}", p.progress.in_progress.join(", "))
            });
            if e.status.ends_with("_FAILED") {
                b.suspend(|| console.out(&line));
            }
        }
        None => console.out(&line),
    }
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
