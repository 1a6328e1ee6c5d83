//! `deploy <env> [--yes] [--allow-replacement]`: a renderer over
//! [`crate::deployment::Deployment`]: it prints each phase, asks for confirmation between plan
//! and execute, and maps outcomes to exit codes.

use super::follow::{Followed, failure, follow, interrupted, lost_track, success};
use super::options::{DeployOptions, given_parameters, write_outputs};
use super::{CliError, Exit, Run, Select};
use crate::changeset::{ChangeSet, OnFailure, TemplateSource};
use crate::console::Answer;
use crate::deployment::{Cleanup, DeployRequest, Deployment, Plan, Start, StepError};
use crate::project::{Environment, Project, stack_tags};
use crate::render::{self, thousands};
use cfn_core::Synthesized;

pub(super) async fn deploy<P: Project + ?Sized>(
    run: &Run<'_, P>,
    env_name: &str,
    select: &Select,
    concurrency: usize,
    opts: &DeployOptions,
) -> Result<Exit, CliError> {
    require_confirmation_source(run, env_name, opts)?;
    let env = run.environment(env_name)?;
    let out = run.synth(&env)?;
    run.warnings(&env, &out);
    let mut stacks = select.pick(&format!("{} deploy", run.bin), &env, out, false)?;
    if stacks.len() == 1
        && let Some(synth) = stacks.pop()
    {
        return deploy_stack(run, &env, synth, opts).await;
    }
    // Confirmations are asked one at a time; only unattended deploys run side by side.
    let width = if opts.yes && !run.console().is_interactive() {
        concurrency
    } else {
        1
    };
    super::multi::deploy_all(run, &env, stacks, width, opts).await
}

/// Deploys one synthesized stack of `env`.
pub(super) async fn deploy_stack<P: Project + ?Sized>(
    run: &Run<'_, P>,
    env: &Environment,
    synth: Synthesized,
    opts: &DeployOptions,
) -> Result<Exit, CliError> {
    let request = request(run, env, synth, opts)?;
    let env = request.environment.name.clone();
    let mut d = run
        .interruptible(async {
            let aws = run.connect(&request.environment).await?;
            Deployment::prepare(aws, request)
                .await
                .map_err(|e| prepare_error(&env, e))
        })
        .await?;
    announce(run, &d);
    match d.start().clone() {
        Start::UpToDate { .. } => return settle(run, &d).await,
        Start::RecreateAfterFailedCreate => {
            if let Some(exit) = recreate(run, &mut d, opts.yes).await? {
                return Ok(exit);
            }
        }
        Start::Create | Start::Update => {}
    }
    super::publish::publish_assets(run, d.aws(), d.identity(), &d.request().synth).await?;
    let source = stage(run, &d).await?;
    let planned = plan(run, &mut d, source).await;
    for n in d.notes() {
        run.console().err(format!("warning: {n}"));
    }
    let cs = match planned? {
        Ok(cs) => cs,
        Err(exit) => return Ok(exit),
    };
    console_change_set(run, &cs);
    stateful_guard(run, &d, &cs, opts.allow_replacement).await?;
    if opts.no_execute {
        run.console().out(format!(
            "Change set {} is left for review, not executed. Execute it with: {} deploy {} --change-set {}",
            cs.name, run.bin, env, cs.name
        ));
        return Ok(Exit::Ok);
    }
    if !opts.yes
        && let Some(exit) = confirm(run, &d, &cs).await
    {
        return Ok(exit);
    }
    execute_and_follow(run, &mut d, &cs, opts).await
}

/// The environment, one of its stacks and the options as a [`DeployRequest`].
fn request<P: Project + ?Sized>(
    run: &Run<'_, P>,
    env: &Environment,
    synth: Synthesized,
    opts: &DeployOptions,
) -> Result<DeployRequest, CliError> {
    let mut env = env.clone();
    // The stack the template names is the one deployed, whatever the environment said.
    env.stack_name = synth.stack_name.clone();
    given_parameters(&mut env, &synth.template, opts)?;
    let mut tags = stack_tags(run.project, &env, &synth);
    tags.extend(opts.tags.iter().cloned());
    let description = format!(
        "{} {} ({})",
        run.project.name(),
        run.project.version(),
        env.name
    );
    let mut r = DeployRequest::new(env, synth);
    r.tags = tags;
    r.description = description;
    r.role_arn = opts.role_arn.clone();
    r.notification_arns = opts.notification_arns.clone();
    r.on_failure = if opts.no_rollback {
        OnFailure::Keep
    } else {
        OnFailure::Rollback
    };
    r.program = run.bin.clone();
    r.poll = run.ctx.poll.clone();
    Ok(r)
}

fn prepare_error(env: &str, e: crate::error::DeployError) -> CliError {
    use crate::error::DeployError as E;
    let context = match &e {
        E::WrongAccount { .. } | E::WrongRegion { .. } => {
            format!("checking the credentials for '{env}'")
        }
        E::Blocked { .. } => "deploy refused".to_owned(),
        _ => format!("reading the deployed stack of '{env}'"),
    };
    CliError::deploy(&context, e)
}

fn announce<P: Project + ?Sized>(run: &Run<'_, P>, d: &Deployment) {
    let r = d.request();
    run.console().out(format!(
        "Deploying {} ({}) to account {} in {}: {} resources, {} bytes",
        r.synth.stack_name,
        r.environment.name,
        d.identity().account,
        d.identity().region,
        r.synth.resource_count(),
        thousands(r.synth.bytes())
    ));
}

fn console_change_set<P: Project + ?Sized>(run: &Run<'_, P>, cs: &ChangeSet) {
    run.console().out_raw(&render::change_set(cs, run.style()));
}

/// Nothing to deploy: maybe switch termination protection, say so, exit 0.
async fn settle<P: Project + ?Sized>(run: &Run<'_, P>, d: &Deployment) -> Result<Exit, CliError> {
    let stack = &d.request().synth.stack_name;
    let set = d
        .settle()
        .await
        .map_err(|e| CliError::deploy("setting termination protection", e))?;
    run.console().out(match set {
        None => format!("No changes: {stack} is up to date."),
        Some(on) => format!(
            "No changes to the template: {stack} is up to date; termination protection turned {}.",
            on_off(on)
        ),
    });
    Ok(Exit::Ok)
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

/// A stack in ROLLBACK_COMPLETE: confirm, delete, follow. `Some(exit)` ends the deploy.
async fn recreate<P: Project + ?Sized>(
    run: &Run<'_, P>,
    d: &mut Deployment,
    yes: bool,
) -> Result<Option<Exit>, CliError> {
    let console = run.console();
    let (name, env) = (
        d.request().synth.stack_name.clone(),
        d.request().environment.name.clone(),
    );
    console.out(format!(
        "{name} is in ROLLBACK_COMPLETE: its first create failed, and CloudFormation cannot update such a stack. It holds no resources; it will be deleted and created again."
    ));
    if !yes {
        match console
            .prompt(
                &format!("Delete {name} and create it again? [y/N]"),
                &run.ctx.interrupt,
            )
            .await
        {
            Answer::Line(a) if is_yes(&a) => {}
            Answer::Interrupted => {
                console.err("Interrupted; nothing was changed.");
                return Ok(Some(Exit::Interrupted));
            }
            _ => {
                console.out("Not deployed; nothing was changed.");
                return Ok(Some(Exit::Refused));
            }
        }
    }
    let op = d
        .delete_failed_stack()
        .await
        .map_err(|e| CliError::deploy(&format!("deleting {name}"), e))?;
    console.out(format!("Deleting {name} (ROLLBACK_COMPLETE)…"));
    match follow(run, op, Default::default()).await {
        Followed::Interrupted => interrupted(run, &name, &env).map(Some),
        Followed::Done(Ok(_)) => {
            console.out(format!("✓ {name} deleted; creating it again"));
            d.failed_stack_deleted();
            Ok(None)
        }
        Followed::Done(Err(e)) => Err(failure(run, "delete", &name, &env, e)),
    }
}

/// The template inline, or staged in S3 (creating the staging bucket the first time).
async fn stage<P: Project + ?Sized>(
    run: &Run<'_, P>,
    d: &Deployment,
) -> Result<TemplateSource, CliError> {
    let source = run
        .interruptible(async {
            d.stage()
                .await
                .map_err(|e| CliError::deploy("staging the template", e))
        })
        .await?;
    if let TemplateSource::Staged(s) = &source {
        if s.created {
            run.console().out(format!(
                "Created the staging bucket {} (default encryption, public access blocked, {}, staged templates expire after {} days)",
                s.bucket,
                if s.tls_only {
                    "TLS-only policy"
                } else {
                    "no TLS-only policy: the S3 endpoint is plain HTTP"
                },
                crate::staging::EXPIRE_AFTER_DAYS
            ));
        }
        run.console().out(format!(
            "The template is over 51,200 bytes: staged at {}",
            s.url
        ));
    }
    Ok(source)
}

/// Creates the change set unless an interrupt comes first (then removes what it made).
/// `Ok(Err(exit))`: nothing to execute (interrupted, or CloudFormation found no changes).
async fn plan<P: Project + ?Sized>(
    run: &Run<'_, P>,
    d: &mut Deployment,
    source: TemplateSource,
) -> Result<Result<ChangeSet, Exit>, CliError> {
    let stack_name = d.request().synth.stack_name.clone();
    let planned = tokio::select! {
        biased;
        _ = run.ctx.interrupt.triggered() => None,
        r = d.plan(source) => Some(r),
    };
    match planned {
        None => {
            interrupted_cleanup(run, &d.discard().await);
            Ok(Err(Exit::Interrupted))
        }
        Some(Err(e)) => Err(step_error(
            run,
            &stack_name,
            &d.request().environment.name,
            &format!("creating the change set for {stack_name}"),
            e,
        )),
        Some(Ok(Plan::NoChanges { reason })) => {
            run.console().out(format!(
                "No changes: CloudFormation found nothing to change in {stack_name} (\"{reason}\"); the empty change set was deleted."
            ));
            Ok(Err(Exit::Ok))
        }
        Some(Ok(Plan::Changes(cs))) => Ok(Ok(cs)),
    }
}

/// A failed step of a change-set operation on `stack` of `env`, as the CLI reports it, with
/// what its cleanup removed and left.
pub(super) fn step_error<P: Project + ?Sized>(
    run: &Run<'_, P>,
    stack: &str,
    env: &str,
    context: &str,
    e: StepError,
) -> CliError {
    match e {
        StepError::Failed { error, cleanup } => {
            with_cleanup(CliError::deploy(context, error), &cleanup)
        }
        StepError::ChangedMeanwhile { why, cleanup } => CliError::new(
            Exit::Refused,
            format!(
                "not executing: {why}; {}; nothing was changed by this deploy",
                cleanup.summary()
            ),
        )
        .hint(format!(
            "another deploy of {stack} ran meanwhile, from here or elsewhere: run `{} deploy {env}` again once it has finished, to see what is left to change",
            run.bin
        )),
        StepError::LostTrack(error) => lost_track(run, context, stack, env, error),
    }
}

fn with_cleanup(err: CliError, cleanup: &Cleanup) -> CliError {
    if cleanup.is_empty() {
        err
    } else {
        err.hint(format!("{}; nothing was changed", cleanup.summary()))
    }
}

/// In a protected environment, a change set that replaces or deletes stateful resources is
/// deleted and refused unless `--allow-replacement`; elsewhere it is highlighted.
async fn stateful_guard<P: Project + ?Sized>(
    run: &Run<'_, P>,
    d: &Deployment,
    cs: &ChangeSet,
    allow_replacement: bool,
) -> Result<(), CliError> {
    let stateful = d.stateful_changes(cs);
    if stateful.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = stateful
        .iter()
        .map(|c| {
            format!(
                "{} ({}, {})",
                c.path.as_deref().unwrap_or(&c.logical_id),
                c.logical_id,
                c.resource_type
            )
        })
        .collect();
    let env = &d.request().environment;
    if env.refuse_stateful_replacement && !allow_replacement {
        let c = d.discard().await;
        return Err(CliError::new(
            Exit::Refused,
            format!(
                "the change set replaces or deletes stateful resources in environment '{}': {}; refusing ({}; nothing was changed)",
                env.name,
                list.join("; "),
                c.summary()
            ),
        )
        .hint("a replacement creates a new, empty resource and deletes the old one unless it is retained")
        .hint(format!(
            "if that is intended, deploy again with `{} deploy {} --allow-replacement`",
            run.bin, env.name
        )));
    }
    run.console().err(format!(
        "warning: stateful resources will be replaced or deleted: {}",
        list.join("; ")
    ));
    Ok(())
}

/// Asks the person at the terminal; on anything but yes, removes the change set and returns
/// how the deploy ends.
async fn confirm<P: Project + ?Sized>(
    run: &Run<'_, P>,
    d: &Deployment,
    cs: &ChangeSet,
) -> Option<Exit> {
    let question = format!(
        "Execute these {} to {}? [y/N]",
        render::change_count(cs),
        cs.stack_name
    );
    ask(run, &question, "Not deployed", || d.discard()).await
}

/// Asks `question`; on anything but yes, runs `discard` (what removes the change set) and says
/// what it removed: after an interrupt on stderr (exit 130), after a no as `declined` (exit 3).
pub(super) async fn ask<P, F>(
    run: &Run<'_, P>,
    question: &str,
    declined: &str,
    discard: impl FnOnce() -> F,
) -> Option<Exit>
where
    P: Project + ?Sized,
    F: std::future::Future<Output = Cleanup>,
{
    match run.console().prompt(question, &run.ctx.interrupt).await {
        Answer::Line(a) if is_yes(&a) => None,
        Answer::Interrupted => {
            interrupted_cleanup(run, &discard().await);
            Some(Exit::Interrupted)
        }
        _ => {
            let c = discard().await;
            run.console().out(format!("{declined}: {}.", c.summary()));
            Some(Exit::Refused)
        }
    }
}

/// After an interrupt before anything ran: what the cleanup removed, and that nothing changed.
pub(super) fn interrupted_cleanup<P: Project + ?Sized>(run: &Run<'_, P>, c: &Cleanup) {
    run.console().err(format!(
        "Interrupted: {}; nothing was changed.",
        c.summary()
    ));
}

/// Lifts the stack policy if asked, executes, follows, and finishes (outputs file,
/// termination protection, stack policy).
async fn execute_and_follow<P: Project + ?Sized>(
    run: &Run<'_, P>,
    d: &mut Deployment,
    cs: &ChangeSet,
    opts: &DeployOptions,
) -> Result<Exit, CliError> {
    let console = run.console();
    let (stack, env) = (cs.stack_name.clone(), d.request().environment.name.clone());
    let execution = d
        .execute(cs, opts.allow_replacement)
        .await
        .map_err(|e| match e {
            StepError::LostTrack(e) => lost_track(
                run,
                &format!("execution of change set {}", cs.name),
                &stack,
                &env,
                e,
            ),
            e => step_error(
                run,
                &stack,
                &env,
                &format!("executing change set {}", cs.name),
                e,
            ),
        })?;
    if d.policy_lifted() {
        console.out(format!(
            "Stack policy of {stack} lifted for this update (--allow-replacement); it is restored when the update ends."
        ));
    }
    console.out(format!(
        "Executing {} ({})…",
        cs.name,
        render::change_count(cs)
    ));
    match super::follow::follow_execution(run, execution).await {
        Followed::Interrupted => {
            if d.policy_lifted() {
                console.err(format!(
                    "warning: the stack policy stays lifted until the update ends and {} deploys {env} again",
                    run.bin
                ));
            }
            interrupted(run, &stack, &env)
        }
        Followed::Done(Ok(outcome)) => {
            success(run, &stack, &outcome);
            if let Some(path) = &opts.outputs_file {
                write_outputs(path, &stack, &outcome.outputs)?;
                console.out(format!("Outputs written to {}", path.display()));
            }
            let done = d
                .finish(&outcome)
                .await
                .map_err(|e| CliError::deploy("finishing the deploy", e))?;
            report_finished(run, &stack, &done);
            Ok(Exit::Ok)
        }
        Followed::Done(Err(e)) => {
            if d.policy_lifted() {
                let n = d
                    .restore_policy()
                    .await
                    .map_err(|e| CliError::deploy("setting the stack policy", e))?;
                report_policy(run, &stack, n);
            }
            Err(failure(run, "deploy", &stack, &env, e))
        }
    }
}

fn report_finished<P: Project + ?Sized>(
    run: &Run<'_, P>,
    stack: &str,
    done: &crate::deployment::Finished,
) {
    if let Some(on) = done.termination_protection {
        run.console().out(format!(
            "Termination protection turned {} for {stack}",
            on_off(on)
        ));
    }
    report_policy(run, stack, done.policy_resources);
}

fn report_policy<P: Project + ?Sized>(run: &Run<'_, P>, stack: &str, n: Option<usize>) {
    if let Some(n) = n {
        run.console().out(format!(
            "Stack policy of {stack}: replacing or deleting its {n} stateful resource{} is denied, whatever tool updates it.",
            if n == 1 { "" } else { "s" }
        ));
    }
}

/// Without a terminal nobody can confirm: `--yes` is required (not for `--no-execute`).
fn require_confirmation_source<P: Project + ?Sized>(
    run: &Run<'_, P>,
    env_name: &str,
    opts: &DeployOptions,
) -> Result<(), CliError> {
    if opts.yes || opts.no_execute || run.console().is_interactive() {
        return Ok(());
    }
    Err(CliError::new(
        Exit::Usage,
        "deploy needs --yes when there is no terminal to confirm the change set",
    )
    .hint(format!(
        "review it first with `{} diff {env_name}`, then run `{} deploy {env_name} --yes`",
        run.bin, run.bin
    )))
}

/// A yes to "Execute …? [y/N]".
pub(super) fn is_yes(answer: &str) -> bool {
    matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes")
}
