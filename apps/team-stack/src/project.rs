//! The team's `Project` for the `cfn-deploy` CLI: two environments in Rust, one stack each.

use std::path::{Path, PathBuf};

use cfn_deploy::project::{self, Project, ProjectError, SynthOutput};

use crate::stack::{TeamEnv, team_stack};

/// The team's app.
#[derive(Clone, Debug, Default)]
pub struct TeamProject;

impl TeamProject {
    fn env(name: &str) -> Result<TeamEnv, ProjectError> {
        [TeamEnv::dev(), TeamEnv::prd()]
            .into_iter()
            .find(|e| e.name == name)
            .ok_or_else(|| format!("no environment '{name}' (dev, prd)").into())
    }
}

impl Project for TeamProject {
    fn name(&self) -> &str {
        "team-stack"
    }

    fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }

    /// Beside the app, never the repository's `cfn-out/` (dify-app's committed templates).
    fn out_dir(&self) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("cfn-out")
    }

    fn environments(&self) -> Result<Vec<project::Environment>, ProjectError> {
        Ok([TeamEnv::dev(), TeamEnv::prd()]
            .iter()
            .map(|e| {
                project::Environment::new(e.name.as_str())
                    .stack_name(e.stack_name.as_str())
                    .region(e.region.as_str())
                    .protected(e.production)
                    .tag("team", "jobs")
            })
            .collect())
    }

    fn synth(&self, env: &project::Environment) -> Result<SynthOutput, ProjectError> {
        let stack = team_stack(&Self::env(&env.name)?).map_err(Box::new)?;
        Ok(stack.synth()?.into())
    }
}
