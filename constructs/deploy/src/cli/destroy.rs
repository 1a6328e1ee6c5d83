//! `destroy <env> [--force]`, and `continue-rollback <env>`: the verbs that get a stack out of
//! the way or out of a stuck state.

use super::follow::{Followed, failure, follow, follow_execution, interrupted, success};
use super::{CliError, Exit, Run, Select};
use crate::console::Answer;
use crate::deployment::{Destruction, StackRequest};
use crate::diff::table;
use crate::engine;
use crate::error::DeployError;
use crate::project::Project;

pub(super) async fn destroy<P: Project + ?Sized>(
    run: &Run<'_, P>,
    env_name: &str,
    select: &Select,
    force: bool,
) -> Result<Exit, CliError> {
    if !force && !run.console().is_interactive() {
        return Err(CliError::new(
            Exit::Usage,
            "destroy needs --force when there is no terminal to type the stack name",
        ));
    }
    let env = run.environment(env_name)?;
    // The stacks come from synthesis; an environment that no longer synthesizes can still
    // be destroyed by its stack name when nothing else was asked.
    let stacks = match run.synth(&env) {
        Ok(out) => select.pick(&format!("{} destroy", run.bin), &env, out, false)?,
        Err(e) if select.stack.is_some() || select.all => return Err(e),
        Err(_) => Vec::new(),
    };
    let names: Vec<String> = if stacks.is_empty() {
        vec![env.stack_name.clone()]
    } else {
        // Consumers first: a stack's exports cannot go while another stack imports them.
        stacks.iter().rev().map(|s| s.stack_name.clone()).collect()
    };
    for name in names {
        let mut env = env.clone();
        env.stack_name = name;
        let exit = destroy_stack(run, &env, force).await?;
        if exit != Exit::Ok {
            return Ok(exit);
        }
    }
    Ok(Exit::Ok)
}

/// Destroys the environment's stack `env.stack_name`: the library's [`Destruction`] reads and
/// refuses; this prints what goes and what stays, asks, and follows the delete.
async fn destroy_stack<P: Project + ?Sized>(
    run: &Run<'_, P>,
    env: &crate::project::Environment,
    force: bool,
) -> Result<Exit, CliError> {
    let console = run.console();
    let name = env.stack_name.clone();
    let prepared = run
        .interruptible(async {
            let aws = run.connect(env).await?;
            let mut request = StackRequest::new(env.clone());
            request.program = run.bin.clone();
            request.poll = run.ctx.poll.clone();
            Destruction::prepare(aws, request)
                .await
                .map_err(|e| refused(env, e))
        })
        .await?;
    let Some(destruction) = prepared else {
        console.out(format!("{name} does not exist: nothing to destroy."));
        return Ok(Exit::Ok);
    };
    for note in destruction.notes() {
        console.err(format!("warning: {note}"));
    }
    describe(run, env, &destruction);
    if !force {
        match console
            .prompt(
                &format!("Type the stack name ({name}) to delete it:"),
                &run.ctx.interrupt,
            )
            .await
        {
            Answer::Line(l) if l.trim() == name => {}
            Answer::Interrupted => {
                console.err("Interrupted; nothing was deleted.");
                return Ok(Exit::Interrupted);
            }
            _ => {
                console.out("Not destroyed: the name did not match.");
                return Ok(Exit::Refused);
            }
        }
    }
    let execution = destruction
        .execute()
        .await
        .map_err(|e| CliError::deploy(&format!("deleting {name}"), e))?;
    match follow_execution(run, execution).await {
        Followed::Interrupted => interrupted(run, &name, &env.name),
        Followed::Done(Ok(o)) => {
            success(run, &name, &o);
            Ok(Exit::Ok)
        }
        Followed::Done(Err(e)) => Err(failure(run, "destroy", &name, &env.name, e)),
    }
}

/// What goes and what stays.
fn describe<P: Project + ?Sized>(
    run: &Run<'_, P>,
    env: &crate::project::Environment,
    d: &Destruction,
) {
    let console = run.console();
    let (s, id, n) = (d.stack(), d.identity(), d.resources().len());
    console.out(format!(
        "Destroying {} ({}) in account {} in {}: {n} resource{} ({}).",
        s.name,
        env.name,
        id.account,
        id.region,
        if n == 1 { "" } else { "s" },
        s.status
    ));
    if d.retained().is_empty() {
        console.out("Nothing is retained: every resource is deleted.");
        return;
    }
    console.out("Retained or needing attention (delete by hand when no longer needed):");
    let rows: Vec<[String; 4]> = d
        .retained()
        .iter()
        .map(|r| {
            [
                r.logical_id.clone(),
                r.resource_type.clone(),
                r.physical_id.clone().unwrap_or_else(|| "-".into()),
                r.why.clone(),
            ]
        })
        .collect();
    console.out_raw(&table(&["LOGICAL ID", "TYPE", "PHYSICAL ID", "WHY"], &rows));
}

/// The library's refusals as the CLI words them: the refusal itself is the message, with
/// the way out as a hint.
fn refused(env: &crate::project::Environment, e: DeployError) -> CliError {
    match &e {
        DeployError::TerminationProtected {
            stack,
            env: env_name,
        } => {
            let hint = format!(
                "turn it off in environment '{env_name}' and deploy, or run `aws cloudformation update-termination-protection --no-enable-termination-protection --stack-name {stack}`"
            );
            CliError::new(Exit::Refused, e.to_string()).hint(hint)
        }
        DeployError::DeleteExportInUse { importers, .. } => {
            let hint = format!("destroy {} first", importers.join(" and "));
            CliError::new(Exit::Refused, e.to_string()).hint(hint)
        }
        DeployError::Blocked { .. } => CliError::deploy("destroy refused", e),
        _ => CliError::reading(env, e),
    }
}

/// `continue-rollback`: resumes a rollback that failed, skipping the resources named, and
/// follows it. Anything but `UPDATE_ROLLBACK_FAILED` is refused: there is nothing to resume.
pub(super) async fn continue_rollback<P: Project + ?Sized>(
    run: &Run<'_, P>,
    env_name: &str,
    skip: &[String],
) -> Result<Exit, CliError> {
    let env = run.environment(env_name)?;
    let name = env.stack_name.clone();
    let super::StackState { aws, stack, .. } =
        run.interruptible(run.read_stack(&env, &name)).await?;
    let Some(stack) = stack.filter(|s| s.status == "UPDATE_ROLLBACK_FAILED") else {
        return Err(CliError::new(
            Exit::Refused,
            format!(
                "{name} is not in UPDATE_ROLLBACK_FAILED: there is no failed rollback to continue"
            ),
        ));
    };
    let op = engine::continue_rollback(&aws, &stack, skip, &run.ctx.poll)
        .await
        .map_err(|e| CliError::deploy(&format!("continuing the rollback of {name}"), e))?;
    run.console().out(format!(
        "Continuing the rollback of {name}{}…",
        if skip.is_empty() {
            String::new()
        } else {
            format!(", skipping {}", skip.join(", "))
        }
    ));
    match follow(run, op, Default::default()).await {
        Followed::Interrupted => interrupted(run, &name, &env.name),
        Followed::Done(Ok(o)) => {
            success(run, &name, &o);
            run.console().out(format!(
                "The previous version is live; deploy again with `{} deploy {env_name}`.",
                run.bin
            ));
            Ok(Exit::Ok)
        }
        Followed::Done(Err(e)) => Err(failure(run, "continued rollback", &name, &env.name, e)),
    }
}
