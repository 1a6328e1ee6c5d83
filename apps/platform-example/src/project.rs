//! The platform team's `Project`: its environments (Dify environment files in
//! `apps/platform-example/environments/`) and how to synthesize one, for the `cfn-deploy` CLI.
//!
//! ```
//! use cfn_deploy::project::Project;
//! use platform_example::project::PlatformProject;
//!
//! let project = PlatformProject::load();
//! let envs = project.environments()?;
//! assert_eq!(envs.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), ["dev", "prd"]);
//! let out = project.synth(&envs[1])?;
//! assert_eq!(out.stacks[0].stack_name, "platform-dify-prd");
//! # Ok::<(), cfn_deploy::project::ProjectError>(())
//! ```

use std::path::{Path, PathBuf};

use cfn_deploy::project::{self, Project, ProjectError, SynthOutput};
use dify_constructs::config::{ConfigErrors, Environment};

use crate::platform::{PlatformDify, PlatformSettings};

/// Where the environment files are unless `PLATFORM_ENVIRONMENTS` names another directory.
pub const ENVIRONMENTS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/environments");

/// The platform team's app.
#[derive(Clone, Debug)]
pub struct PlatformProject {
    environments: Result<Vec<Environment>, ConfigErrors>,
}

impl PlatformProject {
    /// The environment files in `$PLATFORM_ENVIRONMENTS`, else in [`ENVIRONMENTS_DIR`].
    pub fn load() -> Self {
        let dir = std::env::var_os("PLATFORM_ENVIRONMENTS")
            .map_or_else(|| PathBuf::from(ENVIRONMENTS_DIR), PathBuf::from);
        PlatformProject::from_dir(&dir)
    }

    /// The environment files (`*.toml`) in a directory. Invalid files are reported by the
    /// CLI, every problem at once, before anything is synthesized.
    pub fn from_dir(dir: &Path) -> Self {
        PlatformProject {
            environments: Environment::load_dir(dir),
        }
    }

    /// Environments already loaded.
    pub fn from_environments(environments: Vec<Environment>) -> Self {
        PlatformProject {
            environments: Ok(environments),
        }
    }

    fn config(&self, name: &str) -> Result<&Environment, ProjectError> {
        let envs = self
            .environments
            .as_ref()
            .map_err(|e| Box::new(e.clone()))?;
        envs.iter()
            .find(|e| e.name == name)
            .ok_or_else(|| format!("no environment file for '{name}'").into())
    }
}

impl Project for PlatformProject {
    fn name(&self) -> &str {
        "platform-dify"
    }

    fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }

    /// Beside the app, never the repository's `cfn-out/` (which holds dify-app's committed
    /// templates).
    fn out_dir(&self) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("cfn-out")
    }

    fn environments(&self) -> Result<Vec<project::Environment>, ProjectError> {
        let envs = self
            .environments
            .as_ref()
            .map_err(|e| Box::new(e.clone()))?;
        Ok(envs
            .iter()
            .map(|e| {
                let mut out = project::Environment::new(e.name.as_str())
                    .stack_name(e.stack_name.as_str())
                    .region(e.region.as_str())
                    .protected(e.production)
                    .tag("team", "platform")
                    .tag("dify-version", e.images.dify_version.as_str());
                if let Some(a) = &e.account {
                    out = out.account(a.as_str());
                }
                out
            })
            .collect())
    }

    fn synth(&self, env: &project::Environment) -> Result<SynthOutput, ProjectError> {
        let config = self.config(&env.name)?;
        let settings = PlatformSettings::for_env(config);
        let built = PlatformDify::build(config, &settings)?;
        let out: SynthOutput = built.stack.synth()?.into();
        Ok(match &settings.waf {
            Some(w) if w.count_only => {
                out.note("the WAF counts but does not block (count_only outside production)")
            }
            Some(_) => out,
            None => out.note("no WAF: the load balancer is internal"),
        })
    }
}
