//! `dify-app`: Dify on AWS, one stack per environment file.
//!
//! Environments are the `*.toml` files in `$DIFY_ENVIRONMENTS`, else `apps/dify-app/environments`
//! under the current directory, else the ones shipped beside this crate. Adding a file adds an
//! environment; nothing is recompiled.

use std::path::PathBuf;
use std::process::ExitCode;

// With `--features dev-dylib`, the deploy engine comes from the shared library (a faster edit
// loop); the paths below stay `cfn_deploy::…` either way.
#[cfg(feature = "dev-dylib")]
use cfn_deploy_dylib as cfn_deploy;

use cfn_deploy::project::{self, Project, ProjectError, SynthOutput};
use dify_constructs::config::Environment;
use dify_constructs::cost::CostEstimate;
use dify_constructs::{DifyProps, DifyStack};

struct DifyProject {
    /// The environment files, or the report of everything wrong with them: kept as an error
    /// so that `--help` still works and each command reports it (exit 2).
    environments: Result<Vec<Environment>, String>,
}

impl DifyProject {
    fn load(dir: &std::path::Path) -> DifyProject {
        let environments = match Environment::load_dir(dir) {
            Ok(envs) if envs.is_empty() => Err(format!(
                "no environment files (*.toml) in {}: add one, or point DIFY_ENVIRONMENTS at the directory",
                dir.display()
            )),
            Ok(envs) => Ok(envs),
            Err(errors) => {
                let lines: Vec<String> = errors.0.iter().map(|e| format!("  {e}")).collect();
                Err(format!(
                    "invalid environment configuration in {}:\n{}\nnothing was written",
                    dir.display(),
                    lines.join("\n")
                ))
            }
        };
        DifyProject { environments }
    }

    fn loaded(&self) -> Result<&[Environment], ProjectError> {
        self.environments
            .as_deref()
            .map_err(|report| report.clone().into())
    }
}

fn environments_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("DIFY_ENVIRONMENTS") {
        return PathBuf::from(dir);
    }
    let local = PathBuf::from("apps/dify-app/environments");
    if local.is_dir() {
        return local;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("environments")
}

impl Project for DifyProject {
    fn name(&self) -> &str {
        "dify"
    }

    fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }

    fn environments(&self) -> Result<Vec<project::Environment>, ProjectError> {
        Ok(self
            .loaded()?
            .iter()
            .map(|e| {
                let mut out = project::Environment::new(e.name.as_str())
                    .stack_name(e.stack_name.as_str())
                    .region(e.region.as_str())
                    .protected(e.production)
                    .tag("dify-version", e.images.dify_version.as_str());
                if let Some(a) = &e.account {
                    out = out.account(a.as_str());
                }
                for (k, v) in &e.tags {
                    out = out.tag(k.as_str(), v.as_str());
                }
                out
            })
            .collect())
    }

    fn synth(&self, env: &project::Environment) -> Result<SynthOutput, ProjectError> {
        let config = self
            .loaded()?
            .iter()
            .find(|e| e.name == env.name)
            .ok_or_else(|| format!("no environment file for '{}'", env.name))?;
        let built = DifyStack::build(config);
        let out: SynthOutput = built.stack.synth()?.into();
        // The estimate is advice: a region the price table lacks is a note, never a failure.
        Ok(
            match CostEstimate::for_props(&DifyProps::from_environment(config)) {
                Ok(estimate) => out.report("cost_estimate", estimate.render(), estimate.to_json()),
                Err(e) => out.note(format!("no cost estimate: {e}")),
            },
        )
    }

    /// Every environment can adopt a Dify the seed's Terraform module runs (docs/adopt.md).
    fn adoption_mappings(&self, _env: &project::Environment) -> Vec<cfn_adopt::Mapping> {
        dify_constructs::adopt::seed_mappings()
    }
}

fn main() -> ExitCode {
    cfn_deploy::cli::main(DifyProject::load(&environments_dir()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Vec<project::Environment> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("environments");
        DifyProject::load(&dir)
            .environments()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn production_environments_are_protected_and_others_are_not() {
        let envs = shipped();
        let prd = envs
            .iter()
            .find(|e| e.name == "prd")
            .expect("a prd environment");
        assert!(prd.termination_protection, "prd: termination protection");
        assert!(
            prd.refuse_stateful_replacement,
            "prd: stateful replacements refused"
        );
        for e in envs.iter().filter(|e| e.name != "prd") {
            assert!(
                !e.termination_protection && !e.refuse_stateful_replacement,
                "{}",
                e.name
            );
        }
    }

    #[test]
    fn each_environment_deploys_its_own_stack_in_its_region_with_the_dify_version_tag() {
        for e in shipped() {
            assert_eq!(e.stack_name, format!("dify-{}", e.name));
            assert!(
                e.region.as_deref().is_some_and(|r| !r.is_empty()),
                "{}",
                e.name
            );
            assert!(e.tags.contains_key("dify-version"), "{}", e.name);
        }
    }
}
