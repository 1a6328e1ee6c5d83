//! `deploy <env> [--yes] [--allow-replacement]`.

use serde_json::Value as Json;

use super::follow::{Followed, failure, follow, interrupted, success};
use super::options::{DeployOptions, given_parameters, write_outputs};
use super::{CliError, Exit, Run};
use crate::aws::{Aws, FailureKind};
use crate::changeset::{self, ChangeSetRequest, Created, Kind, OnFailure, TemplateSource};
use crate::console::Answer;
use crate::engine::{self, Identity};
use crate::error::DeployError;
use crate::project::{Environment, Project, stack_tags};
use crate::render::{self, thousands};
use crate::stack::{self, DeployedStack, StatusClass, classify_status};

/// What the read-only first phase found.
struct Prepared {
    aws: Aws,
    id: Identity,
    deployed: Option<DeployedStack>,
    deployed_template: Option<Json>,
    kind: Kind,
    /// The stack is in ROLLBACK_COMPLETE and must be deleted first.
    recreate: bool,
    /// Nothing to do but this termination-protection switch (or nothing at all).
    settled: Option<Option<bool>>,
}

pub(super) async fn deploy<P: Project + ?Sized>(
    run: &Run<'_, P>,
    env_name: &str,
    opts: &DeployOptions,
) -> Result<Exit, CliError> {
    let (yes, allow_replacement) = (opts.yes, opts.allow_replacement);
    let console = run.console();
    require_confirmation_source(run, env_name, opts)?;
    let mut env = run.environment(env_name)?;
    let out = run.synth(&env)?;
    run.warnings(&env, &out);
    let synth = out.stack;
    let stack_name = synth.stack_name.clone();
    // The stack the template names is the one deployed, whatever the environment said.
    env.stack_name = stack_name.clone();
    given_parameters(&mut env, &synth.template, opts)?;
    let mut tags = stack_tags(run.project, &env, &synth);
    tags.extend(opts.tags.iter().cloned());

    let p = run.interruptible(prepare(run, &env, &synth, &tags)).await?;
    let aws = &p.aws;
    console.out(format!(
        "Deploying {stack_name} ({}) to account {} in {}: {} resources, {} bytes",
        env.name,
        p.id.account,
        p.id.region,
        synth.resource_count(),
        thousands(synth.bytes())
    ));
    if let Some(protection) = p.settled {
        return settle(run, aws, &stack_name, protection).await;
    }

    let mut deployed = p.deployed;
    if p.recreate {
        let Some(old) = deployed.take() else {
            return Err(CliError::new(Exit::Failed, "internal: nothing to recreate"));
        };
        if let Some(exit) = recreate(run, aws, &env, &old, yes).await? {
            return Ok(exit);
        }
    }

    super::publish::publish_assets(run, aws, &p.id, &synth).await?;
    let source = stage(run, aws, &p.id, &synth).await?;
    let (given, keep) = engine::parameters(&synth.template, &env, deployed.as_ref());
    let req = ChangeSetRequest {
        stack_name: stack_name.clone(),
        kind: p.kind,
        template: source,
        parameters: given,
        keep_parameters: keep,
        tags: tags.clone(),
        name: changeset::unique_name("cfn-deploy"),
        description: format!(
            "{} {} ({})",
            run.project.name(),
            run.project.version(),
            env.name
        ),
        role_arn: opts.role_arn.clone(),
        notification_arns: opts.notification_arns.clone(),
    };
    // From here until the change set is executed or deleted, an interrupt must clean up.
    let created_stack = p.kind == Kind::Create && deployed.is_none();
    let pending = Pending {
        aws,
        req: &req,
        created_stack,
    };
    let mut cs = match create(run, &pending).await? {
        Ok(cs) => cs,
        Err(exit) => return Ok(exit),
    };
    engine::annotate_paths(&mut cs, &synth, p.deployed_template.as_ref());
    console.out_raw(&render::change_set(&cs, run.style()));
    stateful_guard(
        run,
        &pending,
        &env,
        &cs,
        p.deployed_template.as_ref(),
        allow_replacement,
    )
    .await?;

    if opts.no_execute {
        console.out(format!(
            "Change set {} is left for review, not executed. Execute it with: {} deploy {} --change-set {}",
            cs.name, run.bin, env.name, cs.name
        ));
        return Ok(Exit::Ok);
    }
    if !yes && let Some(exit) = confirm(run, &pending, &cs, &stack_name).await {
        return Ok(exit);
    }

    if let Some(why) = changed_meanwhile(aws, &stack_name, deployed.as_ref()).await {
        let c = abandon(run, aws, &req, false).await;
        return Err(CliError::new(
            Exit::Refused,
            format!("not executing: {why}; {}; nothing was changed by this deploy", c.summary()),
        )
        .hint(format!(
            "another deploy of {stack_name} ran meanwhile, from here or elsewhere: run `{} deploy {}` again once it has finished, to see what is left to change",
            run.bin, env.name
        )));
    }

    // The stack policy of a protected environment guards the stateful resources of both the
    // deployed and the new template (a failed update rolls back to the deployed one).
    let templates: Vec<&Json> = [Some(&synth.template), p.deployed_template.as_ref()]
        .into_iter()
        .flatten()
        .collect();
    let policy = env
        .refuse_stateful_replacement
        .then(|| engine::protective_stack_policy(&templates))
        .flatten();
    let lifted = lift_policy(run, aws, &env, deployed.is_some(), allow_replacement).await?;
    let op = execute(run, &pending, &cs, &env.name, opts).await?;
    let paths = |id: &str| synth.paths.get(id).cloned();
    match follow(run, op, &paths).await {
        Followed::Interrupted => {
            if lifted {
                console.err(format!(
                    "warning: the stack policy stays lifted until the update ends and {} deploys {} again",
                    run.bin, env.name
                ));
            }
            interrupted(run, &stack_name, &env.name)
        }
        Followed::Done(Ok(outcome)) => {
            let protected_now = deployed.as_ref().is_some_and(|d| d.termination_protection);
            finish(run, aws, &env, protected_now, &outcome, opts).await?;
            apply_policy(run, aws, &stack_name, policy.as_ref()).await?;
            Ok(Exit::Ok)
        }
        Followed::Done(Err(e)) => {
            if lifted {
                apply_policy(run, aws, &stack_name, policy.as_ref()).await?;
            }
            Err(failure(run, "deploy", &stack_name, &env.name, e))
        }
    }
}

/// With `--allow-replacement` in a protected environment, lifts the stack policy for this one
/// update (change sets have no policy-during-update); returns whether it did.
async fn lift_policy<P: Project + ?Sized>(
    run: &Run<'_, P>,
    aws: &Aws,
    env: &Environment,
    exists: bool,
    allow_replacement: bool,
) -> Result<bool, CliError> {
    if !(env.refuse_stateful_replacement && allow_replacement && exists) {
        return Ok(false);
    }
    engine::set_stack_policy(aws, &env.stack_name, &engine::permissive_stack_policy())
        .await
        .map_err(|e| CliError::deploy("lifting the stack policy for --allow-replacement", e))?;
    run.console().out(format!(
        "Stack policy of {} lifted for this update (--allow-replacement); it is restored when the update ends.",
        env.stack_name
    ));
    Ok(true)
}

/// Sets the protective stack policy, when the environment has one.
async fn apply_policy<P: Project + ?Sized>(
    run: &Run<'_, P>,
    aws: &Aws,
    stack_name: &str,
    policy: Option<&Json>,
) -> Result<(), CliError> {
    let Some(policy) = policy else {
        return Ok(());
    };
    engine::set_stack_policy(aws, stack_name, policy)
        .await
        .map_err(|e| CliError::deploy("setting the stack policy", e))?;
    let n = policy["Statement"][1]["Resource"]
        .as_array()
        .map_or(0, Vec::len);
    run.console().out(format!(
        "Stack policy of {stack_name}: replacing or deleting its {n} stateful resource{} is denied, whatever tool updates it.",
        if n == 1 { "" } else { "s" }
    ));
    Ok(())
}

/// The read-only phase: who, where, what is deployed, and whether anything differs.
async fn prepare<P: Project + ?Sized>(
    run: &Run<'_, P>,
    env: &Environment,
    synth: &cfn_core::Synthesized,
    tags: &indexmap::IndexMap<String, String>,
) -> Result<Prepared, CliError> {
    let name = &synth.stack_name;
    let super::StackState {
        aws,
        id,
        stack: deployed,
    } = run.read_stack(env, name).await?;
    let mut prepared = Prepared {
        aws,
        id,
        deployed: None,
        deployed_template: None,
        kind: Kind::Create,
        recreate: false,
        settled: None,
    };
    let Some(d) = deployed else {
        return Ok(prepared);
    };
    match classify_status(&d.status) {
        StatusClass::Busy | StatusClass::Stuck => {
            let next_step = stack::blocked_next_step(&d, &run.bin, &env.name).unwrap_or_default();
            return Err(CliError::deploy(
                "deploy refused",
                crate::error::DeployError::Blocked {
                    stack: d.name.clone(),
                    status: d.status.clone(),
                    next_step,
                },
            ));
        }
        StatusClass::Review | StatusClass::Deleted => {
            prepared.kind = Kind::Create;
        }
        StatusClass::FailedCreate => {
            prepared.recreate = true;
        }
        StatusClass::Stable | StatusClass::RolledBack => {
            prepared.kind = Kind::Update;
            let t = stack::template(&prepared.aws, name).await.map_err(|e| {
                CliError::deploy(&format!("reading the template of {name}"), e.into())
            })?;
            let cmp = engine::compare(&d, t.as_ref(), synth, tags, env);
            if !cmp.needs_change_set() {
                prepared.settled = Some(cmp.termination_protection);
            }
            prepared.deployed_template = t;
        }
    }
    prepared.deployed = Some(d);
    Ok(prepared)
}

/// Nothing to deploy: maybe switch termination protection, say so, exit 0.
async fn settle<P: Project + ?Sized>(
    run: &Run<'_, P>,
    aws: &Aws,
    stack: &str,
    protection: Option<bool>,
) -> Result<Exit, CliError> {
    match protection {
        None => run
            .console()
            .out(format!("No changes: {stack} is up to date.")),
        Some(on) => {
            engine::set_termination_protection(aws, stack, on)
                .await
                .map_err(|e| CliError::deploy("setting termination protection", e))?;
            run.console().out(format!(
                "No changes to the template: {stack} is up to date; termination protection turned {}.",
                if on { "on" } else { "off" }
            ));
        }
    }
    Ok(Exit::Ok)
}

/// A stack in ROLLBACK_COMPLETE: confirm, delete, follow. `Some(exit)` ends the deploy.
async fn recreate<P: Project + ?Sized>(
    run: &Run<'_, P>,
    aws: &Aws,
    env: &Environment,
    old: &DeployedStack,
    yes: bool,
) -> Result<Option<Exit>, CliError> {
    let console = run.console();
    console.out(format!(
        "{} is in ROLLBACK_COMPLETE: its first create failed, and CloudFormation cannot update such a stack. It holds no resources; it will be deleted and created again.",
        old.name
    ));
    if !yes {
        match console
            .prompt(
                &format!("Delete {} and create it again? [y/N]", old.name),
                &run.ctx.interrupt,
            )
            .await
        {
            Answer::Line(a) if matches!(a.trim(), "y" | "Y" | "yes") => {}
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
    let op = engine::delete_stack(aws, old, 0, &run.ctx.poll)
        .await
        .map_err(|e| CliError::deploy(&format!("deleting {}", old.name), e))?;
    console.out(format!("Deleting {} (ROLLBACK_COMPLETE)…", old.name));
    match follow(run, op, &|_| None).await {
        Followed::Interrupted => interrupted(run, &old.name, &env.name).map(Some),
        Followed::Done(Ok(_)) => {
            console.out(format!("✓ {} deleted; creating it again", old.name));
            Ok(None)
        }
        Followed::Done(Err(e)) => Err(failure(run, "delete", &old.name, &env.name, e)),
    }
}

/// Why the stack is no longer the one this deploy read (another deploy running or done
/// since), if it is not: two deploys of one stack must not both execute, and a change set
/// computed against an older stack would undo the newer one's changes.
async fn changed_meanwhile(
    aws: &Aws,
    stack_name: &str,
    read: Option<&DeployedStack>,
) -> Option<String> {
    // An unreadable stack here is not proof of anything: ExecuteChangeSet will say.
    let now = stack::describe(aws, stack_name).await.ok()?;
    let now = now.filter(|s| s.status != "REVIEW_IN_PROGRESS")?;
    if now.status.ends_with("_IN_PROGRESS") {
        return Some(format!(
            "{stack_name} is {} (another operation is running on it)",
            now.status
        ));
    }
    match read {
        None => Some(format!(
            "{stack_name} was created by someone else while this deploy computed its change set ({})",
            now.status
        )),
        Some(r) if r.last_changed != now.last_changed => Some(format!(
            "{stack_name} changed since this deploy read it (last change {} → {})",
            r.last_changed.as_deref().unwrap_or("?"),
            now.last_changed.as_deref().unwrap_or("?")
        )),
        Some(_) => None,
    }
}

/// Whether a CreateChangeSet call succeeded or failed in a way that may have reached
/// CloudFormation (a timeout, a dropped connection): then there may be something to remove.
fn change_set_may_exist(log: &crate::aws::ApiLog) -> bool {
    log.calls()
        .iter()
        .any(|c| c.operation == "CreateChangeSet" && c.failure != Some(FailureKind::Permanent))
}

/// What [`abandon`] removed and what it had to leave, said once and truthfully.
struct Cleanup {
    removed: Vec<String>,
    left: Vec<String>,
}

impl Cleanup {
    fn summary(&self) -> String {
        let removed = if self.removed.is_empty() {
            "nothing to delete".to_owned()
        } else {
            format!("deleted {}", self.removed.join(" and "))
        };
        if self.left.is_empty() {
            removed
        } else {
            format!("{removed}; left behind: {}", self.left.join("; "))
        }
    }
}

/// How long cleaning up may take before it gives up and says what it left: a person who
/// pressed Ctrl-C is waiting, and every call inside is bounded by the call timeout anyway.
const CLEANUP_BUDGET: std::time::Duration = std::time::Duration::from_secs(30);

/// Deletes our change set (waiting for it to settle if CloudFormation is still computing it),
/// and the empty stack a first CREATE change set made, within [`CLEANUP_BUDGET`].
async fn abandon<P: Project + ?Sized>(
    run: &Run<'_, P>,
    aws: &Aws,
    req: &ChangeSetRequest,
    created_stack: bool,
) -> Cleanup {
    let delete_cs = format!(
        "change set {} (delete it with `aws cloudformation delete-change-set --stack-name {} --change-set-name {}`)",
        req.name, req.stack_name, req.name
    );
    match tokio::time::timeout(CLEANUP_BUDGET, cleanup(run, aws, req, created_stack)).await {
        Ok(c) => c,
        Err(_) => Cleanup {
            removed: Vec::new(),
            left: vec![format!(
                "possibly {delete_cs}, and the cleanup gave up after {}s",
                CLEANUP_BUDGET.as_secs()
            )],
        },
    }
}

async fn cleanup<P: Project + ?Sized>(
    run: &Run<'_, P>,
    aws: &Aws,
    req: &ChangeSetRequest,
    created_stack: bool,
) -> Cleanup {
    let mut done = Cleanup {
        removed: Vec::new(),
        left: Vec::new(),
    };
    let mut exists = true;
    for _ in 0..30 {
        match changeset::describe(aws, &req.name, &req.stack_name).await {
            Ok(d) if d.status.ends_with("_IN_PROGRESS") || d.status == "CREATE_PENDING" => {
                tokio::time::sleep(run.ctx.poll.interval).await;
            }
            Err(DeployError::Aws(a)) if a.code() == Some("ChangeSetNotFound") => {
                exists = false;
                break;
            }
            _ => break,
        }
    }
    if exists {
        match changeset::delete(aws, &req.name, &req.stack_name).await {
            Ok(()) => done.removed.push(format!("change set {}", req.name)),
            Err(e) => done.left.push(format!(
                "change set {} (could not delete it: {e}; delete it with `aws cloudformation delete-change-set --stack-name {} --change-set-name {}`)",
                req.name, req.stack_name, req.name
            )),
        }
    }
    if created_stack
        && let Ok(Some(s)) = stack::describe(aws, &req.stack_name).await
        && s.status == "REVIEW_IN_PROGRESS"
    {
        match engine::delete_review_stack(aws, &req.stack_name).await {
            Ok(_) => done
                .removed
                .push(format!("the empty stack {}", req.stack_name)),
            Err(e) => done.left.push(format!(
                "the empty stack {} (REVIEW_IN_PROGRESS; could not delete it: {e})",
                req.stack_name
            )),
        }
    }
    done
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

/// The template inline, or staged in S3 (creating the staging bucket the first time).
async fn stage<P: Project + ?Sized>(
    run: &Run<'_, P>,
    aws: &Aws,
    id: &Identity,
    synth: &cfn_core::Synthesized,
) -> Result<TemplateSource, CliError> {
    let source = run
        .interruptible(async {
            engine::template_source(aws, id, synth)
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

/// A change set this deploy made and has not executed: what a refusal or an interrupt must
/// remove.
struct Pending<'a> {
    aws: &'a Aws,
    req: &'a ChangeSetRequest,
    created_stack: bool,
}

impl Pending<'_> {
    async fn abandon<P: Project + ?Sized>(&self, run: &Run<'_, P>) -> Cleanup {
        abandon(run, self.aws, self.req, self.created_stack).await
    }
}

/// In a protected environment, a change set that replaces or deletes stateful resources is
/// deleted and refused unless `--allow-replacement`; elsewhere it is highlighted.
async fn stateful_guard<P: Project + ?Sized>(
    run: &Run<'_, P>,
    pending: &Pending<'_>,
    env: &Environment,
    cs: &changeset::ChangeSet,
    deployed_template: Option<&Json>,
    allow_replacement: bool,
) -> Result<(), CliError> {
    let stateful = engine::stateful_replacements(cs, deployed_template);
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
    if env.refuse_stateful_replacement && !allow_replacement {
        let c = pending.abandon(run).await;
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
    pending: &Pending<'_>,
    cs: &changeset::ChangeSet,
    stack_name: &str,
) -> Option<Exit> {
    let question = format!(
        "Execute these {} to {stack_name}? [y/N]",
        render::change_count(cs)
    );
    match run.console().prompt(&question, &run.ctx.interrupt).await {
        Answer::Line(a) if is_yes(&a) => None,
        Answer::Interrupted => {
            let c = pending.abandon(run).await;
            run.console().err(format!(
                "Interrupted: {}; nothing was changed.",
                c.summary()
            ));
            Some(Exit::Interrupted)
        }
        _ => {
            let c = pending.abandon(run).await;
            run.console().out(format!("Not deployed: {}.", c.summary()));
            Some(Exit::Refused)
        }
    }
}

/// Creates the change set unless an interrupt comes first, and cleans up after either an
/// interrupt or a failure once CreateChangeSet was accepted. `Ok(Err(exit))`: nothing to
/// execute (interrupted, or CloudFormation found no changes).
async fn create<P: Project + ?Sized>(
    run: &Run<'_, P>,
    pending: &Pending<'_>,
) -> Result<Result<changeset::ChangeSet, Exit>, CliError> {
    let (aws, req) = (pending.aws, pending.req);
    let stack_name = &req.stack_name;
    let created = tokio::select! {
        biased;
        _ = run.ctx.interrupt.triggered() => None,
        r = changeset::create(aws, req, &run.ctx.poll) => Some(r),
    };
    match created {
        None => {
            let c = pending.abandon(run).await;
            run.console().err(format!(
                "Interrupted: {}; nothing was changed.",
                c.summary()
            ));
            Ok(Err(Exit::Interrupted))
        }
        Some(Err(e)) => {
            let err = CliError::deploy(&format!("creating the change set for {stack_name}"), e);
            // Once CreateChangeSet was accepted, a later failure (reading its status) leaves
            // the change set, and a first deploy's empty stack, behind unless we remove them.
            if !change_set_may_exist(&run.ctx.log) {
                return Err(err);
            }
            let c = pending.abandon(run).await;
            if c.removed.is_empty() && c.left.is_empty() {
                return Err(err);
            }
            Err(err.hint(format!("{}; nothing was changed", c.summary())))
        }
        Some(Ok(Created::Empty { reason })) => {
            if pending.created_stack {
                let _ = engine::delete_review_stack(aws, stack_name).await;
            }
            run.console().out(format!(
                "No changes: CloudFormation found nothing to change in {stack_name} (\"{reason}\"); the empty change set was deleted."
            ));
            Ok(Err(Exit::Ok))
        }
        Some(Ok(Created::Ready(cs))) => Ok(Ok(cs)),
    }
}

/// Executes the change set. A failure that may have reached CloudFormation is "lost track"
/// (exit 4); any other removes the change set, since nothing runs it.
async fn execute<P: Project + ?Sized>(
    run: &Run<'_, P>,
    pending: &Pending<'_>,
    cs: &changeset::ChangeSet,
    env_name: &str,
    opts: &DeployOptions,
) -> Result<crate::events::StackOperation, CliError> {
    let on_failure = if opts.no_rollback {
        OnFailure::Keep
    } else {
        OnFailure::Rollback
    };
    let op = match engine::execute(pending.aws, cs, &run.ctx.poll, on_failure).await {
        Ok(op) => op,
        Err(e) => {
            let maybe_running = matches!(
                &e,
                DeployError::Aws(a) if a.operation == "ExecuteChangeSet" && a.kind != FailureKind::Permanent
            );
            if maybe_running {
                return Err(super::follow::lost_track(
                    run,
                    &format!("execution of change set {}", cs.name),
                    &cs.stack_name,
                    env_name,
                    e,
                ));
            }
            let err = CliError::deploy(&format!("executing change set {}", cs.name), e);
            let c = pending.abandon(run).await;
            return Err(err.hint(format!("{}; nothing was changed", c.summary())));
        }
    };
    run.console().out(format!(
        "Executing {} ({})…",
        cs.name,
        render::change_count(cs)
    ));
    Ok(op)
}

/// After success: the outputs file, and termination protection switched to match the
/// environment.
async fn finish<P: Project + ?Sized>(
    run: &Run<'_, P>,
    aws: &Aws,
    env: &Environment,
    protected_now: bool,
    outcome: &crate::events::Outcome,
    opts: &DeployOptions,
) -> Result<(), CliError> {
    let stack_name = &env.stack_name;
    success(run, stack_name, outcome);
    if let Some(path) = &opts.outputs_file {
        write_outputs(path, stack_name, &outcome.outputs)?;
        run.console()
            .out(format!("Outputs written to {}", path.display()));
    }
    if protected_now != env.termination_protection {
        engine::set_termination_protection(aws, stack_name, env.termination_protection)
            .await
            .map_err(|e| CliError::deploy("setting termination protection", e))?;
        run.console().out(format!(
            "Termination protection turned {} for {stack_name}",
            if env.termination_protection {
                "on"
            } else {
                "off"
            }
        ));
    }
    Ok(())
}

/// A yes to "Execute …? [y/N]".
pub(super) fn is_yes(answer: &str) -> bool {
    matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes")
}
