//! `adopt <env> --terraform-state FILE [--json] [--execute] [--yes]`: brings what a Terraform
//! state manages under the environment's stack without recreating it. The plan is
//! `cfn_adopt::plan` (the project's mappings from Terraform addresses to our logical IDs);
//! the import is `crate::import::Import` (an IMPORT change set). This file prints, asks, and
//! hands over to Terraform; docs/adopt.md is the walk-through.

use std::path::PathBuf;

use cfn_adopt::{AdoptPlan, Disposition, TerraformState};

use super::deploy::{ask, interrupted_cleanup, step_error};
use super::follow::{Followed, failure, follow_execution, interrupted, success};
use super::{CliError, Exit, Run, Select};
use crate::changeset::{ChangeSet, ResourceToImport};
use crate::diff::table;
use crate::import::{Import, ImportRequest};
use crate::project::{Environment, Project, stack_tags};
use crate::render;

/// The options of `adopt`.
pub(super) struct AdoptOptions {
    /// The Terraform state (the state file, or `terraform show -json` output).
    pub(super) state: PathBuf,
    /// The stack of the environment to import into, when it has several.
    pub(super) stack: Option<String>,
    /// Print the plan as JSON and stop.
    pub(super) json: bool,
    /// Run the import after the plan.
    pub(super) execute: bool,
    /// Do not ask before executing.
    pub(super) yes: bool,
}

pub(super) async fn adopt<P: Project + ?Sized>(
    run: &Run<'_, P>,
    env_name: &str,
    opts: &AdoptOptions,
) -> Result<Exit, CliError> {
    let env = run.environment(env_name)?;
    let out = run.synth(&env)?;
    let select = Select {
        stack: opts.stack.clone(),
        all: false,
    };
    let Some(synth) = select
        .pick(&format!("{} adopt", run.bin), &env, out, false)?
        .into_iter()
        .next()
    else {
        return Err(CliError::new(Exit::Usage, "no stack to import into"));
    };
    let plan = plan(run, &env, &synth.template, opts)?;
    if opts.json {
        let text = serde_json::to_string_pretty(&plan)
            .map_err(|e| CliError::new(Exit::Failed, format!("writing the plan as JSON: {e}")))?;
        run.console().out_raw(&format!("{text}\n"));
        return Ok(if plan.is_clean() {
            Exit::Ok
        } else {
            Exit::Refused
        });
    }
    render_plan(run, &plan);
    if !plan.is_clean() {
        run.console().out(
            "Not importable as planned: set what the plan lists in the environment file, then plan again.",
        );
        return Ok(Exit::Refused);
    }
    if !opts.execute {
        run.console().out(format!(
            "Nothing was changed. To import, run `{} adopt {env_name} --terraform-state {} --execute`.",
            run.bin,
            opts.state.display()
        ));
        return Ok(Exit::Ok);
    }
    let mut env = env;
    env.stack_name = synth.stack_name.clone();
    let tags = stack_tags(run.project, &env, &synth);
    import(run, &env, tags, &plan, opts).await
}

/// Reads the state and plans with the project's mappings.
fn plan<P: Project + ?Sized>(
    run: &Run<'_, P>,
    env: &Environment,
    template: &serde_json::Value,
    opts: &AdoptOptions,
) -> Result<AdoptPlan, CliError> {
    let mappings = run.project.adoption_mappings(env);
    if mappings.is_empty() {
        return Err(CliError::new(
            Exit::Usage,
            format!(
                "{} has no mappings from Terraform resources to its stack: nothing can be adopted",
                run.project.name()
            ),
        )
        .hint("implement Project::adoption_mappings (cfn_adopt::Mapping) for your stacks"));
    }
    let path = opts.state.display();
    let text = std::fs::read_to_string(&opts.state)
        .map_err(|e| CliError::new(Exit::Usage, format!("reading {path}: {e}")))?;
    let state = TerraformState::parse(&text)
        .map_err(|e| CliError::new(Exit::Usage, format!("{path}: {e}")))?;
    cfn_adopt::plan(template, &state, &mappings, run.schemas())
        .map_err(|e| CliError::new(Exit::Usage, format!("planning the adoption of {path}: {e}")))
}

fn disposition(d: &Disposition) -> &'static str {
    match d {
        Disposition::Import => "import",
        Disposition::ImportThenReplace => "import, then REPLACED by the next deploy",
        Disposition::Refused => "REFUSED",
        Disposition::CreatedNew => "created new by the stack",
        Disposition::LeftToTerraform => "left to Terraform",
        Disposition::MergedInto => "merged into another resource",
    }
}

fn render_plan<P: Project + ?Sized>(run: &Run<'_, P>, plan: &AdoptPlan) {
    let console = run.console();
    let rows: Vec<[String; 4]> = plan
        .resources
        .iter()
        .map(|r| {
            [
                r.address.clone(),
                r.logical_id.clone().unwrap_or_else(|| "-".into()),
                disposition(&r.disposition).to_owned(),
                r.reason.clone().unwrap_or_default(),
            ]
        })
        .collect();
    console.out_raw(&table(
        &["TERRAFORM ADDRESS", "LOGICAL ID", "WHAT HAPPENS", "WHY"],
        &rows,
    ));
    let diffs: Vec<[String; 4]> = plan
        .resources
        .iter()
        .flat_map(|r| {
            r.differences.iter().map(move |d| {
                [
                    format!("{} {}", r.address, d.property),
                    format!("ours {} / theirs {}", d.ours, d.theirs),
                    format!("{:?}", d.replacement).to_lowercase(),
                    d.env_key.clone().unwrap_or_else(|| "-".into()),
                ]
            })
        })
        .collect();
    if !diffs.is_empty() {
        console.out("Differences (the follow-up deploy changes each):");
        console.out_raw(&table(
            &["PROPERTY", "VALUES", "REPLACES", "FIX IN"],
            &diffs,
        ));
    }
    if !plan.env_changes.is_empty() {
        console.out("Set in the environment file to match what exists:");
        for c in &plan.env_changes {
            console.out(format!(
                "  {} = {}{}",
                c.key,
                c.value,
                if c.prevents_replacement {
                    "   (prevents a replacement)"
                } else {
                    ""
                }
            ));
        }
    }
    for u in &plan.unmapped {
        console.out(format!(
            "  not mapped: {} ({}): stays with Terraform",
            u.address, u.terraform_type
        ));
    }
    let s = &plan.summary;
    console.out(format!(
        "{} to import, {} replacement{}, {} refused, {} created new, {} left to Terraform, {} unmapped",
        s.imports,
        s.replacements,
        if s.replacements == 1 { "" } else { "s" },
        s.refused,
        s.created_new,
        s.left_to_terraform,
        s.unmapped
    ));
}

/// The IMPORT change set: prepare, plan, confirm, execute, follow, hand over.
async fn import<P: Project + ?Sized>(
    run: &Run<'_, P>,
    env: &Environment,
    tags: indexmap::IndexMap<String, String>,
    plan: &AdoptPlan,
    opts: &AdoptOptions,
) -> Result<Exit, CliError> {
    if !opts.yes && !run.console().is_interactive() {
        return Err(CliError::new(
            Exit::Usage,
            "adopt --execute needs --yes when there is no terminal to confirm the import",
        ));
    }
    let resources: Vec<ResourceToImport> = plan
        .resources_to_import()
        .into_iter()
        .map(|(id, ty, identifier)| ResourceToImport {
            logical_id: id,
            resource_type: ty,
            identifier,
        })
        .collect();
    if resources.is_empty() {
        run.console().out("Nothing to import.");
        return Ok(Exit::Ok);
    }
    let mut import = prepare(run, env, tags, plan, resources).await?;
    let Some(cs) = plan_change_set(run, &mut import, env).await? else {
        return Ok(Exit::Interrupted);
    };
    run.console().out_raw(&render::change_set(&cs, run.style()));
    if !opts.yes
        && let Some(exit) = confirm(run, &import, &cs).await
    {
        return Ok(exit);
    }
    let name = env.stack_name.clone();
    let execution = import
        .execute(&cs)
        .await
        .map_err(|e| step_error(run, &name, &env.name, &format!("importing into {name}"), e))?;
    match follow_execution(run, execution).await {
        Followed::Interrupted => interrupted(run, &name, &env.name),
        Followed::Done(Ok(o)) => {
            success(run, &name, &o);
            hand_over(run, env, plan);
            Ok(Exit::Ok)
        }
        Followed::Done(Err(e)) => Err(failure(run, "import", &name, &env.name, e)),
    }
}

async fn prepare<P: Project + ?Sized>(
    run: &Run<'_, P>,
    env: &Environment,
    tags: indexmap::IndexMap<String, String>,
    plan: &AdoptPlan,
    resources: Vec<ResourceToImport>,
) -> Result<Import, CliError> {
    run.interruptible(async {
        let aws = run.connect(env).await?;
        let deployed = match crate::stack::describe(&aws, &env.stack_name).await {
            Ok(Some(s)) => crate::stack::template(&aws, &s.stack_id)
                .await
                .map_err(|e| CliError::reading(env, e.into()))?,
            Ok(None) => None,
            Err(e) => return Err(CliError::reading(env, e)),
        };
        let template = plan.import_template(deployed.as_ref()).map_err(|e| {
            CliError::new(Exit::Refused, format!("building the import template: {e}"))
        })?;
        let mut request = ImportRequest::new(env.clone(), template, resources);
        request.tags = tags;
        request.program = run.bin.clone();
        request.poll = run.ctx.poll.clone();
        Import::prepare(aws, request)
            .await
            .map_err(|e| CliError::reading(env, e))
    })
    .await
}

/// The change set, unless an interrupt comes first (`None`: removed what it made).
async fn plan_change_set<P: Project + ?Sized>(
    run: &Run<'_, P>,
    import: &mut Import,
    env: &Environment,
) -> Result<Option<ChangeSet>, CliError> {
    let name = env.stack_name.clone();
    let planned = tokio::select! {
        biased;
        _ = run.ctx.interrupt.triggered() => None,
        r = import.plan() => Some(r),
    };
    match planned {
        None => {
            interrupted_cleanup(run, &import.discard().await);
            Ok(None)
        }
        Some(r) => r.map(Some).map_err(|e| {
            step_error(
                run,
                &name,
                &env.name,
                &format!("creating the import change set for {name}"),
                e,
            )
        }),
    }
}

async fn confirm<P: Project + ?Sized>(
    run: &Run<'_, P>,
    import: &Import,
    cs: &ChangeSet,
) -> Option<Exit> {
    let question = format!(
        "Import these {} into {}? [y/N]",
        render::change_count(cs),
        cs.stack_name
    );
    ask(run, &question, "Not imported", || import.discard()).await
}

/// After IMPORT_COMPLETE: Terraform must forget what the stack now owns, then the ordinary
/// deploy brings the stack to its full template.
fn hand_over<P: Project + ?Sized>(run: &Run<'_, P>, env: &Environment, plan: &AdoptPlan) {
    let console = run.console();
    let t = &plan.terraform;
    console.out(format!(
        "Next, take them out of Terraform without destroying them, {}:",
        t.when
    ));
    for c in &t.state_rm {
        console.out(format!("  {c}"));
    }
    if !t.removed_blocks.is_empty() {
        console.out("or, with Terraform 1.7 or later, put these in place of the resource blocks:");
        for b in &t.removed_blocks {
            console.out_raw(&format!("{b}\n"));
        }
    }
    for d in &t.dangling_references {
        console.out(format!("  edit before the next terraform plan: {d}"));
    }
    console.out(format!(
        "Then deploy the full stack: `{} deploy {}` (docs/adopt.md, step 3).",
        run.bin, env.name
    ));
}
