//! The read-only commands: `diff <env> [--fail]`, `list`, `watch <env>`.

use super::follow::{Followed, failure, follow_execution, interrupted, success};
use super::{CliError, Exit, Run};
use crate::deployment::{
    self, DeployRequest, SettingChange, StackRequest, StackSummary, Watched, status,
};
use crate::diff::{render as render_diff, table};
use crate::project::{Environment, Project, stack_tags};
use crate::render;
use crate::stack::StatusClass;

pub(super) async fn diff<P: Project + ?Sized>(
    run: &Run<'_, P>,
    env_name: &str,
    stack: Option<&str>,
    fail: bool,
) -> Result<Exit, CliError> {
    let env = run.environment(env_name)?;
    let out = run.synth(&env)?;
    run.warnings(&env, &out);
    let select = super::Select {
        stack: stack.map(str::to_owned),
        all: true,
    };
    let mut exit = Exit::Ok;
    for synth in select.pick(&format!("{} diff", run.bin), &env, out, true)? {
        if diff_stack(run, &env, synth, fail).await? != Exit::Ok {
            exit = Exit::Failed;
        }
    }
    Ok(exit)
}

/// The diff of one stack of `env`; `Exit::Failed` when it differs and `fail`.
async fn diff_stack<P: Project + ?Sized>(
    run: &Run<'_, P>,
    env: &Environment,
    synth: cfn_core::Synthesized,
    fail: bool,
) -> Result<Exit, CliError> {
    let mut env = env.clone();
    env.stack_name = synth.stack_name.clone();
    let name = synth.stack_name.clone();
    let mut request = DeployRequest::new(env.clone(), synth);
    request.tags = stack_tags(run.project, &env, &request.synth);
    let p = run
        .interruptible(async {
            let aws = run.connect(&env).await?;
            deployment::preview(aws, &request, run.schemas())
                .await
                .map_err(|e| CliError::reading(&env, e))
        })
        .await?;
    let console = run.console();
    let id = &p.identity;
    match &p.deployed {
        Some(d) => console.out(format!(
            "Diff of {name} ({}) against the deployed stack ({}, account {} in {}):",
            env.name, d.status, id.account, id.region
        )),
        None => console.out(format!(
            "{name} ({}) is not deployed in account {} in {}: everything is new.",
            env.name, id.account, id.region
        )),
    }
    if p.is_empty() {
        console.out("No differences.");
        return Ok(Exit::Ok);
    }
    console.out_raw(&render_diff(&p.diff, console.color()));
    if !p.settings.is_empty() {
        console.out("Stack settings");
        for s in &p.settings {
            console.out(setting(s));
        }
    }
    console.out(summary(&p.diff));
    Ok(if fail { Exit::Failed } else { Exit::Ok })
}

fn setting(s: &SettingChange) -> String {
    let on_off = |on: bool| if on { "on" } else { "off" };
    match s {
        SettingChange::Tag { key, old, new } => format!(
            "[~] stack tag {key}: {} → {}",
            old.as_deref().unwrap_or("(none)"),
            new.as_deref().unwrap_or("(removed)")
        ),
        SettingChange::Parameter { key } => format!("[~] parameter {key}"),
        SettingChange::TerminationProtection { on } => format!(
            "[~] termination protection: {} → {}",
            on_off(!on),
            on_off(*on)
        ),
        SettingChange::TemplateText => "[~] template text (not comparable as JSON)".to_owned(),
    }
}

fn summary(d: &crate::diff::TemplateDiff) -> String {
    let replaced: Vec<String> = d
        .replacements()
        .map(|r| format!("{} ({})", r.logical_id, r.resource_type))
        .collect();
    format!(
        "{} resource change{}, {} security change{}, {} predicted replacement{}{}",
        d.resources.len(),
        plural(d.resources.len()),
        d.security.len(),
        plural(d.security.len()),
        replaced.len(),
        plural(replaced.len()),
        if replaced.is_empty() {
            String::new()
        } else {
            format!(": {}", replaced.join(", "))
        }
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Every environment's stack status, read concurrently: against an endpoint that does not
/// answer, `list` takes one call timeout, not one per environment.
pub(super) async fn list<P: Project + ?Sized>(run: &Run<'_, P>) -> Result<Exit, CliError> {
    let envs = run.environments()?;
    let results = run
        .interruptible(async {
            Ok(futures_util::future::join_all(envs.iter().map(|env| list_row(run, env))).await)
        })
        .await?;
    let mut rows: Vec<[String; 6]> = Vec::new();
    let mut errors = 0;
    for (env, row) in envs.iter().zip(results) {
        let (region, status, when) = match row {
            Ok(r) => r,
            Err(e) => {
                errors += 1;
                (
                    env.region.clone().unwrap_or_else(|| "?".into()),
                    format!("error: {}", e.message),
                    String::new(),
                )
            }
        };
        rows.push([
            env.name.clone(),
            env.stack_name.clone(),
            env.account.clone().unwrap_or_else(|| "(any)".into()),
            region,
            status,
            when,
        ]);
    }
    run.console().out_raw(&table(
        &["ENV", "STACK", "ACCOUNT", "REGION", "STATUS", "LAST CHANGE"],
        &rows,
    ));
    Ok(if errors > 0 { Exit::Failed } else { Exit::Ok })
}

/// One environment's region, stack status and last change.
async fn list_row<P: Project + ?Sized>(
    run: &Run<'_, P>,
    env: &Environment,
) -> Result<(String, String, String), CliError> {
    let aws = run.connect_region(env, env.region.as_deref()).await?;
    let summary = status(&aws, env)
        .await
        .map_err(|e| CliError::deploy("reading the stack", e))?;
    Ok(match summary {
        StackSummary::OtherAccount { region, account } => (
            region,
            format!("(other account: credentials are for {account})"),
            String::new(),
        ),
        StackSummary::NotDeployed { region } => (region, "not deployed".to_owned(), String::new()),
        StackSummary::Deployed {
            region,
            mut status,
            protected,
            last_changed,
        } => {
            if protected {
                status.push_str(" (protected)");
            }
            (region, status, last_changed.unwrap_or_default())
        }
    })
}

/// Attaches to the operation in progress, or says how the last one ended.
pub(super) async fn watch<P: Project + ?Sized>(
    run: &Run<'_, P>,
    env_name: &str,
) -> Result<Exit, CliError> {
    let env = run.environment(env_name)?;
    let name = env.stack_name.clone();
    let watched = run
        .interruptible(async {
            let aws = run.connect(&env).await?;
            let mut request = StackRequest::new(env.clone());
            request.program = run.bin.clone();
            request.poll = run.ctx.poll.clone();
            deployment::watch(aws, request)
                .await
                .map_err(|e| CliError::reading(&env, e))
        })
        .await?;
    let console = run.console();
    match watched {
        None => Err(CliError::new(
            Exit::Failed,
            format!("stack {name} does not exist"),
        )),
        Some(Watched::Running { stack, execution }) => {
            console.out(format!("Following {name}: {} …", stack.status));
            match follow_execution(run, *execution).await {
                Followed::Interrupted => interrupted(run, &name, &env.name),
                Followed::Done(Ok(o)) => {
                    success(run, &name, &o);
                    Ok(Exit::Ok)
                }
                Followed::Done(Err(e)) => Err(failure(run, "the operation", &name, &env.name, e)),
            }
        }
        Some(Watched::Settled {
            stack,
            class,
            failed,
            reason,
            next_step,
        }) => {
            console.out(format!(
                "{name} is {}{}; no operation in progress.",
                stack.status,
                stack
                    .last_changed
                    .as_ref()
                    .map(|t| format!(" (last change {t})"))
                    .unwrap_or_default()
            ));
            if class == StatusClass::Stable {
                return Ok(Exit::Ok);
            }
            console.out_raw(&render::failed_resources(&failed, reason.as_deref()));
            if let Some(step) = next_step {
                console.out(format!("Next step: {step}"));
            }
            Ok(Exit::Failed)
        }
    }
}

/// Drift detection on the environment's stack, and its resource-level report.
pub(super) async fn drift<P: Project + ?Sized>(
    run: &Run<'_, P>,
    env_name: &str,
    fail: bool,
) -> Result<Exit, CliError> {
    let env = run.environment(env_name)?;
    let name = env.stack_name.clone();
    let report = run
        .interruptible(async {
            let super::StackState { aws, stack, .. } = run.read_stack(&env, &name).await?;
            if stack.is_none() {
                return Err(CliError::new(
                    Exit::Usage,
                    format!("{name} is not deployed: no drift to detect"),
                ));
            }
            run.console().out(format!("Detecting drift of {name}…"));
            let interval = run
                .ctx
                .poll
                .interval
                .max(std::time::Duration::from_millis(1));
            crate::drift::detect(&aws, &name, interval, std::time::Duration::from_secs(600))
                .await
                .map_err(|e| CliError::deploy(&format!("detecting drift of {name}"), e))
        })
        .await?;
    if report.drifted.is_empty() {
        run.console()
            .out(format!("{name}: {} (no resource drifted)", report.status));
        return Ok(Exit::Ok);
    }
    let mut rows = Vec::new();
    for d in &report.drifted {
        rows.push([
            d.logical_id.clone(),
            d.resource_type.clone(),
            d.status.clone(),
            String::new(),
        ]);
        for p in &d.differences {
            rows.push([
                String::new(),
                String::new(),
                String::new(),
                format!("{} {}: {} → {}", p.kind, p.path, p.expected, p.actual),
            ]);
        }
    }
    run.console().out(format!(
        "{name}: {} ({} resource{} drifted)",
        report.status,
        report.drifted.len(),
        plural(report.drifted.len())
    ));
    run.console().out_raw(&table(
        &["LOGICAL ID", "TYPE", "DRIFT", "DIFFERENCE"],
        &rows,
    ));
    run.console().out(format!(
        "A deploy puts back what the template says for properties it sets; `{} diff {env_name}` shows the template side.",
        run.bin
    ));
    Ok(if fail { Exit::Failed } else { Exit::Ok })
}
