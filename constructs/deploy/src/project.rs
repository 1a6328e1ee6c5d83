//! What an app tells the CLI: its environments, and how to synthesize one.
//!
//! ```
//! use cfn_core::{Stack, Output, fns};
//! use cfn_deploy::project::{Environment, Project, ProjectError, SynthOutput};
//!
//! struct Demo;
//!
//! impl Project for Demo {
//!     fn name(&self) -> &str { "demo" }
//!     fn version(&self) -> &str { "1.2.3" }
//!     fn environments(&self) -> Result<Vec<Environment>, ProjectError> {
//!         Ok(vec![
//!             Environment::new("dev").stack_name("DemoDev").region("eu-west-1"),
//!             Environment::new("prd").stack_name("DemoPrd")
//!                 .account("123456789012")
//!                 .region("eu-west-1")
//!                 .protected(true),
//!         ])
//!     }
//!     fn synth(&self, env: &Environment) -> Result<SynthOutput, ProjectError> {
//!         let mut stack = Stack::new(&env.stack_name);
//!         stack.add_output("Env", Output::new(fns::sub(&env.name)));
//!         Ok(stack.synth()?.into())
//!     }
//! }
//!
//! let envs = Demo.environments().unwrap();
//! assert!(envs[1].termination_protection && envs[1].refuse_stateful_replacement);
//! let out = Demo.synth(&envs[0]).unwrap();
//! assert_eq!(out.stacks[0].stack_name, "DemoDev");
//! ```

use indexmap::IndexMap;

use cfn_core::{SynthError, Synthesized};

/// Any error a project reports; the CLI prints it with the environment it concerns.
pub type ProjectError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// One deployment target: a stack in an account and region.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Environment {
    /// The name used on the command line (`dev`, `prd`).
    pub name: String,
    /// The CloudFormation stack name.
    pub stack_name: String,
    /// The AWS account the stack belongs in. When set, `deploy`, `diff`, `destroy` and `watch`
    /// refuse credentials of any other account.
    pub account: Option<String>,
    /// The region the stack belongs in. When set, the resolved region (from `--region`, the
    /// environment or the profile) must be this one; when nothing else names a region, this
    /// one is used.
    pub region: Option<String>,
    /// Turn termination protection on for the stack.
    pub termination_protection: bool,
    /// Refuse a change set that replaces a stateful resource (database, cache, bucket, secret,
    /// KMS key, log group, …) unless `--allow-replacement` is given.
    pub refuse_stateful_replacement: bool,
    /// Stack tags, beside the `app`, `env` and `version` tags the CLI always sets.
    pub tags: IndexMap<String, String>,
    /// Values for template parameters. A parameter of a deployed stack that is not named here
    /// keeps its previous value (`UsePreviousValue`); a new one takes its default.
    pub parameters: IndexMap<String, String>,
}

impl Environment {
    /// An environment deployed to a stack of its own name (see [`Self::stack_name`]), with
    /// no account or region pinned and no protections.
    pub fn new(name: impl Into<String>) -> Self {
        let name = name.into();
        Environment {
            stack_name: name.clone(),
            name,
            account: None,
            region: None,
            termination_protection: false,
            refuse_stateful_replacement: false,
            tags: IndexMap::new(),
            parameters: IndexMap::new(),
        }
    }

    /// The CloudFormation stack the environment deploys to. Default: the environment's name.
    pub fn stack_name(mut self, stack_name: impl Into<String>) -> Self {
        self.stack_name = stack_name.into();
        self
    }

    /// Pins the account.
    pub fn account(mut self, account: impl Into<String>) -> Self {
        self.account = Some(account.into());
        self
    }

    /// Pins the region.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Sets termination protection.
    pub fn termination_protection(mut self, on: bool) -> Self {
        self.termination_protection = on;
        self
    }

    /// Sets whether stateful replacements are refused.
    pub fn refuse_stateful_replacement(mut self, on: bool) -> Self {
        self.refuse_stateful_replacement = on;
        self
    }

    /// A production-style environment: termination protection on and stateful replacements
    /// refused (or both off).
    pub fn protected(self, on: bool) -> Self {
        self.termination_protection(on)
            .refuse_stateful_replacement(on)
    }

    /// Adds a stack tag.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.insert(key.into(), value.into());
        self
    }

    /// Gives a template parameter a value.
    pub fn parameter(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.parameters.insert(key.into(), value.into());
        self
    }
}

/// One environment, synthesized: one stack, or several (see [`SynthOutput::stacks`]).
#[derive(Clone, Debug)]
pub struct SynthOutput {
    /// The stacks, producers before the stacks that import from them (the order
    /// `cfn_core::App::synth` returns). Most environments have one.
    pub stacks: Vec<Synthesized>,
    /// Anything else the app wants the user to read (printed with the warnings).
    pub notes: Vec<String>,
    /// Reports the app computed at synthesis (a cost estimate, a sizing summary): printed
    /// after the table by `synth`, and under `reports` in `synth --json`.
    pub reports: Vec<Report>,
}

/// A report an app hands the CLI at synthesis: its text for people and its data for
/// machines. The CLI prints and serializes it as given; what it says is the app's.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// Its key in `synth --json`'s `reports` object (`cost_estimate`).
    pub key: String,
    /// What `synth` prints.
    pub text: String,
    /// What `synth --json` carries.
    pub data: serde_json::Value,
}

impl From<Synthesized> for SynthOutput {
    fn from(stack: Synthesized) -> Self {
        SynthOutput {
            stacks: vec![stack],
            notes: Vec::new(),
            reports: Vec::new(),
        }
    }
}

impl From<Vec<Synthesized>> for SynthOutput {
    fn from(stacks: Vec<Synthesized>) -> Self {
        SynthOutput {
            stacks,
            notes: Vec::new(),
            reports: Vec::new(),
        }
    }
}

impl SynthOutput {
    /// The stack named `name`.
    pub fn stack(&self, name: &str) -> Option<&Synthesized> {
        self.stacks.iter().find(|s| s.stack_name == name)
    }

    /// Adds a note.
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// Adds a report (see [`Report`]).
    pub fn report(
        mut self,
        key: impl Into<String>,
        text: impl Into<String>,
        data: serde_json::Value,
    ) -> Self {
        self.reports.push(Report {
            key: key.into(),
            text: text.into(),
            data,
        });
        self
    }
}

/// The app side of the CLI: implement this and call [`crate::cli::main`].
pub trait Project {
    /// The app's name: the `app` stack tag and the CLI's name in messages.
    fn name(&self) -> &str;

    /// The app's version: the `version` stack tag (typically `env!("CARGO_PKG_VERSION")`).
    fn version(&self) -> &str;

    /// Every environment, in the order `synth` and `list` show them.
    fn environments(&self) -> Result<Vec<Environment>, ProjectError>;

    /// Synthesizes one environment.
    fn synth(&self, env: &Environment) -> Result<SynthOutput, ProjectError>;

    /// How resources a Terraform state manages map to this environment's stack, for `adopt`
    /// (docs/adopt.md). Default: none, and `adopt` says so.
    fn adoption_mappings(&self, env: &Environment) -> Vec<cfn_adopt::Mapping> {
        let _ = env;
        Vec::new()
    }

    /// Where `synth` writes templates unless `--out` says otherwise (relative paths are from
    /// the current directory).
    fn out_dir(&self) -> std::path::PathBuf {
        std::path::PathBuf::from("cfn-out")
    }
}

/// Several synthesis errors as one project error (what `App::synth` returns); `?` on
/// `App::synth` converts.
#[derive(Debug)]
pub struct SynthErrors(pub Vec<SynthError>);

impl std::fmt::Display for SynthErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SynthErrors {}

impl From<Vec<SynthError>> for SynthErrors {
    fn from(errors: Vec<SynthError>) -> Self {
        SynthErrors(errors)
    }
}

/// The stack tags a deploy sets: `app`, `env`, `version`, then the tags the stack itself
/// declares (`Stack::add_tag`), then the environment's own tags (later ones win on a clash).
pub fn stack_tags<P: Project + ?Sized>(
    project: &P,
    env: &Environment,
    synth: &Synthesized,
) -> IndexMap<String, String> {
    let mut tags = IndexMap::new();
    tags.insert("app".to_owned(), project.name().to_owned());
    tags.insert("env".to_owned(), env.name.clone());
    tags.insert("version".to_owned(), project.version().to_owned());
    for (k, v) in synth.tags.iter().chain(&env.tags) {
        tags.insert(k.clone(), v.clone());
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;
    use cfn_core::Stack;

    struct P;
    impl Project for P {
        fn name(&self) -> &str {
            "demo"
        }
        fn version(&self) -> &str {
            "1.0.0"
        }
        fn environments(&self) -> Result<Vec<Environment>, ProjectError> {
            Ok(Vec::new())
        }
        fn synth(&self, env: &Environment) -> Result<SynthOutput, ProjectError> {
            let mut stack = Stack::new(&env.stack_name);
            stack.add_tag("team", "platform");
            stack.add_tag("env", "from-stack");
            Ok(stack.synth()?.into())
        }
    }

    #[test]
    fn stack_tags_layer_defaults_stack_and_environment() -> Result<(), ProjectError> {
        let env = Environment::new("dev")
            .stack_name("DemoDev")
            .tag("team", "data");
        let out = P.synth(&env)?;
        let tags = stack_tags(&P, &env, &out.stacks[0]);
        let pairs: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            pairs,
            vec![
                ("app", "demo"),
                ("env", "from-stack"),
                ("version", "1.0.0"),
                ("team", "data"),
            ]
        );
        assert_eq!(P.out_dir(), std::path::PathBuf::from("cfn-out"));
        Ok(())
    }
}
