//! `destroy <env> [--force]`, and `continue-rollback <env>`: the verbs that get a stack out of
//! the way or out of a stuck state.

use indexmap::IndexMap;

use super::follow::{Followed, failure, follow, interrupted, success};
use super::{CliError, Exit, Run, Select};
use crate::console::Answer;
use crate::diff::table;
use crate::engine;
use crate::error::DeployError;
use crate::project::Project;
use crate::stack::{self, StatusClass, classify_status};

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

/// Destroys the environment's stack `env.stack_name`.
async fn destroy_stack<P: Project + ?Sized>(
    run: &Run<'_, P>,
    env: &crate::project::Environment,
    force: bool,
) -> Result<Exit, CliError> {
    let console = run.console();
    let name = env.stack_name.clone();
    let prepared = run
        .interruptible(async {
            let super::StackState { aws, id, stack } = run.read_stack(env, &name).await?;
            let Some(s) = stack else {
                return Ok(None);
            };
            if classify_status(&s.status) == StatusClass::Busy {
                let next_step =
                    stack::blocked_next_step(&s, &run.bin, &env.name).unwrap_or_default();
                return Err(CliError::deploy(
                    "destroy refused",
                    DeployError::Blocked {
                        stack: name.clone(),
                        status: s.status.clone(),
                        next_step,
                    },
                ));
            }
            if s.termination_protection {
                return Err(CliError::new(
                    Exit::Refused,
                    format!("stack {name} has termination protection on; refusing to destroy it"),
                )
                .hint(format!(
                    "turn it off in environment '{}' and deploy, or run `aws cloudformation update-termination-protection --no-enable-termination-protection --stack-name {name}`",
                    env.name
                )));
            }
            let template = stack::template(&aws, &s.stack_id)
                .await
                .map_err(|e| CliError::deploy(&format!("reading the template of {name}"), e.into()))?;
            refuse_imported_exports(run, &aws, &name, template.as_ref()).await?;
            let resources = stack::resources(&aws, &s.stack_id)
                .await
                .map_err(|e| CliError::deploy(&format!("reading the resources of {name}"), e.into()))?;
            Ok(Some((aws, id, s, template, resources)))
        })
        .await?;
    let Some((aws, id, s, template, resources)) = prepared else {
        console.out(format!("{name} does not exist: nothing to destroy."));
        return Ok(Exit::Ok);
    };
    console.out(format!(
        "Destroying {name} ({}) in account {} in {}: {} resource{} ({}).",
        env.name,
        id.account,
        id.region,
        resources.len(),
        if resources.len() == 1 { "" } else { "s" },
        s.status
    ));
    let physical: IndexMap<String, String> = resources
        .iter()
        .filter_map(|r| Some((r.logical_id.clone(), r.physical_id.clone()?)))
        .collect();
    let kept = template
        .as_ref()
        .map(|t| engine::retained(t, &physical))
        .unwrap_or_default();
    if kept.is_empty() {
        console.out("Nothing is retained: every resource is deleted.");
    } else {
        console.out("Retained or needing attention (delete by hand when no longer needed):");
        let rows: Vec<[String; 4]> = kept
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
    let op = engine::delete_stack(&aws, &s, resources.len(), &run.ctx.poll)
        .await
        .map_err(|e| CliError::deploy(&format!("deleting {name}"), e))?;
    let paths = crate::diff::paths_in(template.as_ref());
    match follow(run, op, paths).await {
        Followed::Interrupted => interrupted(run, &name, &env.name),
        Followed::Done(Ok(o)) => {
            success(run, &name, &o);
            Ok(Exit::Ok)
        }
        Followed::Done(Err(e)) => Err(failure(run, "destroy", &name, &env.name, e)),
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

/// A stack whose exports another stack imports cannot be deleted (CloudFormation fails the
/// delete after it started): say so before, naming the importers. An endpoint that cannot
/// answer `ListImports` leaves the check to CloudFormation, with a warning.
async fn refuse_imported_exports<P: Project + ?Sized>(
    run: &Run<'_, P>,
    aws: &crate::aws::Aws,
    name: &str,
    template: Option<&serde_json::Value>,
) -> Result<(), CliError> {
    let Some(template) = template else {
        return Ok(());
    };
    let names = crate::deployment::exports::export_names(template, name);
    let (in_use, unknown) = crate::deployment::exports::first_in_use(aws, name, names).await;
    for (export, e) in unknown {
        run.console().err(format!(
            "warning: could not check who imports {export} ({e}); CloudFormation refuses the delete if a stack still imports it"
        ));
    }
    let Some((export, importers)) = in_use else {
        return Ok(());
    };
    Err(CliError::new(
        Exit::Refused,
        format!(
            "stack {name} exports {export}, which {} still import{}; refusing to destroy it",
            importers.join(", "),
            if importers.len() == 1 { "s" } else { "" }
        ),
    )
    .hint(format!("destroy {} first", importers.join(" and "))))
}
