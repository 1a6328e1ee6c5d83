//! Handing the imported resources over: Terraform must forget them without destroying them.

use serde::Serialize;

use crate::plan::{Disposition, PlannedResource};
use crate::state::{TerraformState, TfResource};

/// When the hand-off commands run.
pub const WHEN: &str = "after the IMPORT change set reaches IMPORT_COMPLETE (the stack now owns the resources, with DeletionPolicy Retain), and before any further `terraform apply`: until then Terraform still manages them, and an apply of the old configuration would fight the stack";

/// The commands and configuration that take the imported resources out of Terraform.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TerraformHandOff {
    /// `terraform state rm '<address>'`, dependants first.
    pub state_rm: Vec<String>,
    /// The Terraform 1.7+ alternative: one `removed` block per resource (instance keys are
    /// not allowed in `from`), to put in place of the resource blocks.
    pub removed_blocks: Vec<String>,
    /// When to run them.
    pub when: String,
    /// Resources Terraform keeps that reference a handed-over one: edit those references
    /// before the next `terraform plan`, or it recreates what it no longer knows.
    pub dangling_references: Vec<String>,
}

/// Builds the hand-off for the resources the plan imports, and those merged into them.
pub(crate) fn hand_off(state: &TerraformState, planned: &[PlannedResource]) -> TerraformHandOff {
    let leaving: Vec<&TfResource> = planned
        .iter()
        .filter(|p| {
            matches!(
                p.disposition,
                Disposition::Import | Disposition::ImportThenReplace | Disposition::MergedInto
            )
        })
        .filter_map(|p| state.get(&p.address))
        .collect();
    if leaving.is_empty() {
        return TerraformHandOff::default();
    }
    let ordered = dependants_first(&leaving);
    let state_rm = ordered
        .iter()
        .map(|r| format!("terraform state rm '{}'", r.address.replace('\'', r"'\''")))
        .collect();
    let mut removed_blocks: Vec<String> = Vec::new();
    for r in &ordered {
        let block = format!(
            "removed {{\n  from = {}\n  lifecycle {{\n    destroy = false\n  }}\n}}",
            r.base_address
        );
        if !removed_blocks.contains(&block) {
            removed_blocks.push(block);
        }
    }
    let dangling_references = state
        .resources
        .iter()
        .filter(|r| !leaving.iter().any(|l| l.address == r.address))
        .flat_map(|r| {
            leaving
                .iter()
                .filter(|l| depends_on(r, l))
                .map(move |l| format!("{} references {}", r.address, l.base_address))
        })
        .collect::<Vec<_>>();
    TerraformHandOff {
        state_rm,
        removed_blocks,
        when: WHEN.to_owned(),
        dangling_references: dedup(dangling_references),
    }
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    v.retain(|s| seen.insert(s.clone()));
    v
}

/// Whether `r` depends on `on`. Raw state files record absolute base addresses; `terraform
/// show -json` may record them relative to the module, so both are accepted.
fn depends_on(r: &TfResource, on: &TfResource) -> bool {
    let module = module_prefix(&r.base_address);
    r.dependencies
        .iter()
        .any(|d| *d == on.base_address || format!("{module}{d}") == on.base_address)
}

fn module_prefix(base: &str) -> &str {
    let below = crate::state::strip_modules(base);
    &base[..base.len() - below.len()]
}

/// A topological order in which every resource comes before those it depends on, so that no
/// step leaves Terraform with a resource whose dependency it no longer knows. Ties keep the
/// state's order; a dependency cycle (which Terraform itself rejects) keeps the rest in order.
fn dependants_first<'r>(resources: &[&'r TfResource]) -> Vec<&'r TfResource> {
    let mut left: Vec<&TfResource> = resources.to_vec();
    let mut out = Vec::new();
    while !left.is_empty() {
        let pos = left
            .iter()
            .position(|r| {
                !left
                    .iter()
                    .any(|o| o.address != r.address && depends_on(o, r))
            })
            .unwrap_or(0);
        out.push(left.remove(pos));
    }
    out
}
