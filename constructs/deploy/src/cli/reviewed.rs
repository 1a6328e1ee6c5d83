//! Review first, execute later: `deploy ENV --no-execute` leaves its change set for review,
//! and `deploy ENV --change-set NAME` executes one that was reviewed (the AWS CLI's
//! `create-change-set` then `execute-change-set`, or a pipeline's approval step in between).

use super::follow::{Followed, failure, follow, interrupted, success};
use super::options::DeployOptions;
use super::{CliError, Exit, Run};
use crate::changeset::{self, ChangeSet, Kind, OnFailure};
use crate::console::Answer;
use crate::engine;
use crate::project::Project;
use crate::render;
use crate::stack;

/// Executes the change set `name` of the environment's stack, after the same checks as a
/// deploy: account and region, a change set that is ready (not executed, failed or obsolete),
/// the stateful-replacement guard, and the confirmation.
pub(super) async fn execute_reviewed<P: Project + ?Sized>(
    run: &Run<'_, P>,
    env_name: &str,
    name: &str,
    opts: &DeployOptions,
) -> Result<Exit, CliError> {
    if !opts.yes && !run.console().is_interactive() {
        return Err(CliError::new(
            Exit::Usage,
            "deploy --change-set needs --yes when there is no terminal to confirm it",
        ));
    }
    let env = run.environment(env_name)?;
    let stack_name = env.stack_name.clone();
    let (aws, cs, deployed_template) = run
        .interruptible(async {
            let super::StackState { aws, stack, .. } = run.read_stack(&env, &stack_name).await?;
            let deployed = stack.ok_or_else(|| {
                    CliError::new(Exit::Usage, format!("{stack_name} does not exist, so it has no change set {name}"))
                })?;
            let d = changeset::describe(&aws, name, &stack_name)
                .await
                .map_err(|e| CliError::deploy(&format!("reading change set {name} of {stack_name}"), e))?;
            if d.status != "CREATE_COMPLETE" || d.execution_status.as_deref() != Some("AVAILABLE") {
                return Err(CliError::new(
                    Exit::Refused,
                    format!(
                        "change set {name} of {stack_name} cannot be executed: it is {} (execution {}){}",
                        d.status,
                        d.execution_status.as_deref().unwrap_or("unknown"),
                        d.reason.map(|r| format!(": {r}")).unwrap_or_default()
                    ),
                )
                .hint(format!("make a new one with `{} deploy {env_name} --no-execute`", run.bin)));
            }
            let kind = if deployed.status == "REVIEW_IN_PROGRESS" { Kind::Create } else { Kind::Update };
            let cs = ChangeSet {
                id: d.id,
                name: name.to_owned(),
                stack_id: d.stack_id,
                stack_name: stack_name.clone(),
                kind,
                changes: d.changes,
            };
            let template = stack::template(&aws, &deployed.stack_id)
                .await
                .map_err(|e| CliError::deploy(&format!("reading the template of {stack_name}"), e.into()))?;
            Ok((aws, cs, template))
        })
        .await?;
    run.console().out_raw(&render::change_set(&cs, run.style()));
    refuse_stateful(run, &env, &cs, deployed_template.as_ref(), opts)?;
    if !opts.yes {
        let question = format!(
            "Execute change set {name} ({}) on {stack_name}? [y/N]",
            render::change_count(&cs)
        );
        match run.console().prompt(&question, &run.ctx.interrupt).await {
            Answer::Line(a) if super::deploy::is_yes(&a) => {}
            Answer::Interrupted => {
                return Err(CliError::new(
                    Exit::Interrupted,
                    "interrupted; nothing was changed",
                ));
            }
            _ => {
                run.console().out(format!(
                    "Not executed: change set {name} is left for review."
                ));
                return Ok(Exit::Refused);
            }
        }
    }
    let on_failure = if opts.no_rollback {
        OnFailure::Keep
    } else {
        OnFailure::Rollback
    };
    let op = engine::execute(&aws, &cs, &run.ctx.poll, on_failure)
        .await
        .map_err(|e| CliError::deploy(&format!("executing change set {name}"), e))?;
    run.console()
        .out(format!("Executing {name} ({})…", render::change_count(&cs)));
    let template = deployed_template;
    let paths = crate::diff::paths_in(template.as_ref());
    match follow(run, op, paths).await {
        Followed::Interrupted => interrupted(run, &stack_name, &env.name),
        Followed::Done(Ok(outcome)) => {
            success(run, &stack_name, &outcome);
            Ok(Exit::Ok)
        }
        Followed::Done(Err(e)) => Err(failure(run, "deploy", &stack_name, &env.name, e)),
    }
}

/// The stateful-replacement guard of a protected environment, for a reviewed change set: it
/// is refused and left in place (it is the reviewer's, not ours to delete).
fn refuse_stateful<P: Project + ?Sized>(
    run: &Run<'_, P>,
    env: &crate::project::Environment,
    cs: &ChangeSet,
    deployed: Option<&serde_json::Value>,
    opts: &DeployOptions,
) -> Result<(), CliError> {
    let stateful = engine::stateful_replacements(cs, deployed);
    if stateful.is_empty() || !env.refuse_stateful_replacement || opts.allow_replacement {
        return Ok(());
    }
    let list: Vec<String> = stateful
        .iter()
        .map(|c| format!("{} ({})", c.logical_id, c.resource_type))
        .collect();
    Err(CliError::new(
        Exit::Refused,
        format!(
            "change set {} replaces or deletes stateful resources in environment '{}': {}; refusing (the change set is left for review; nothing was changed)",
            cs.name,
            env.name,
            list.join("; ")
        ),
    )
    .hint(format!(
        "if that is intended, run `{} deploy {} --change-set {} --allow-replacement`",
        run.bin, env.name, cs.name
    )))
}
