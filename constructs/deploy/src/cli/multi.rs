//! `deploy ENV --all` and `destroy ENV --all` over an environment of several stacks: stacks
//! in dependency order, independent ones side by side (bounded), a failure stopping what
//! depends on it, and one summary at the end.

use std::collections::HashMap;

use futures_util::StreamExt;

use super::deploy::deploy_stack;
use super::options::DeployOptions;
use super::{CliError, Exit, Run};
use crate::project::{Environment, Project};
use cfn_core::Synthesized;

/// How one stack of a multi-stack deploy ended.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Ended {
    Done(Exit),
    Error(Exit, String),
    /// Not attempted: a stack it imports from did not deploy.
    Skipped(String),
}

impl Ended {
    /// A skipped stack adds nothing: the stack whose failure skipped it carries the code.
    fn exit(&self) -> Exit {
        match self {
            Ended::Done(e) | Ended::Error(e, _) => *e,
            Ended::Skipped(_) => Exit::Ok,
        }
    }
    fn ok(&self) -> bool {
        matches!(self, Ended::Done(Exit::Ok))
    }
}

/// Deploys `stacks` (producers first) in waves: each wave is every stack whose dependencies
/// have deployed, `width` at a time. After a failure nothing further starts.
pub(super) async fn deploy_all<P: Project + ?Sized>(
    run: &Run<'_, P>,
    env: &Environment,
    stacks: Vec<Synthesized>,
    width: usize,
    opts: &DeployOptions,
) -> Result<Exit, CliError> {
    let order: Vec<String> = stacks.iter().map(|s| s.stack_name.clone()).collect();
    run.console().out(format!(
        "Deploying {} stacks of {}: {} ({} at a time)",
        order.len(),
        env.name,
        order.join(" → "),
        width
    ));
    let mut ended: HashMap<String, Ended> = HashMap::new();
    let mut pending = stacks;
    while !pending.is_empty() {
        let (wave, rest) = next_wave(pending, &order, &ended);
        pending = rest;
        if wave.is_empty() {
            skip_all(&mut pending, &mut ended, "an earlier stack did not deploy");
            break;
        }
        let results: Vec<(String, Ended)> = futures_util::stream::iter(wave.into_iter().map(|s| {
            let name = s.stack_name.clone();
            async move { (name, ended_of(deploy_stack(run, env, s, opts).await, run)) }
        }))
        .buffer_unordered(width)
        .collect()
        .await;
        let failed = results.iter().any(|(_, e)| !e.ok());
        ended.extend(results);
        if failed {
            skip_all(&mut pending, &mut ended, "an earlier stack did not deploy");
        }
    }
    Ok(summary(run, &order, &ended))
}

/// The stacks whose dependencies (within this deploy) all deployed, and the rest. A stack
/// depending on one that did not deploy is marked skipped.
fn next_wave(
    pending: Vec<Synthesized>,
    order: &[String],
    ended: &HashMap<String, Ended>,
) -> (Vec<Synthesized>, Vec<Synthesized>) {
    pending.into_iter().partition(|s| {
        s.dependencies
            .iter()
            .filter(|d| order.contains(d))
            .all(|d| ended.get(d).is_some_and(Ended::ok))
    })
}

fn skip_all(pending: &mut Vec<Synthesized>, ended: &mut HashMap<String, Ended>, why: &str) {
    for s in pending.drain(..) {
        ended.insert(s.stack_name, Ended::Skipped(why.to_owned()));
    }
}

/// A stack's result; its error is printed now, where it happened.
fn ended_of<P: Project + ?Sized>(r: Result<Exit, CliError>, run: &Run<'_, P>) -> Ended {
    match r {
        Ok(exit) => Ended::Done(exit),
        Err(e) => {
            let exit = e.exit;
            let message = e.message.clone();
            run.report(e);
            Ended::Error(exit, message)
        }
    }
}

/// Prints one line per stack and returns the exit code of the worst outcome.
fn summary<P: Project + ?Sized>(
    run: &Run<'_, P>,
    order: &[String],
    ended: &HashMap<String, Ended>,
) -> Exit {
    let mut worst = Exit::Ok;
    run.console().out("Summary:");
    for name in order {
        let e = ended
            .get(name)
            .cloned()
            .unwrap_or(Ended::Skipped("not reached".to_owned()));
        let what = match &e {
            Ended::Done(Exit::Ok) => "✓ deployed (or up to date)".to_owned(),
            Ended::Done(x) => format!("✗ ended with exit code {}", x.code()),
            Ended::Error(_, m) => format!("✗ {m}"),
            Ended::Skipped(why) => format!("- not deployed: {why}"),
        };
        run.console().out(format!("  {name:<24} {what}"));
        if severity(e.exit()) > severity(worst) {
            worst = e.exit();
        }
    }
    worst
}

/// Which exit code wins when several stacks end differently.
fn severity(e: Exit) -> u8 {
    match e {
        Exit::Ok => 0,
        Exit::Refused => 1,
        Exit::Usage => 2,
        Exit::Failed => 3,
        Exit::LostTrack => 4,
        Exit::Interrupted => 5,
    }
}
