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
use dify_constructs::DifyStack;
use dify_constructs::config::Environment;

struct DifyProject {
    environments: Vec<Environment>,
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
            .environments
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
            .environments
            .iter()
            .find(|e| e.name == env.name)
            .ok_or_else(|| format!("no environment file for '{}'", env.name))?;
        let built = DifyStack::build(config);
        Ok(built.stack.synth()?.into())
    }
}

fn main() -> ExitCode {
    let dir = environments_dir();
    match Environment::load_dir(&dir) {
        Ok(environments) => cfn_deploy::cli::main(DifyProject { environments }),
        Err(errors) => {
            // writeln! and not eprintln!: a closed stderr must not turn a configuration error
            // into a panic.
            use std::io::Write as _;
            let mut err = std::io::stderr().lock();
            let _ = writeln!(
                err,
                "error: invalid environment configuration in {}:",
                dir.display()
            );
            for e in &errors.0 {
                let _ = writeln!(err, "  {e}");
            }
            let _ = writeln!(err, "nothing was written");
            ExitCode::from(2)
        }
    }
}
