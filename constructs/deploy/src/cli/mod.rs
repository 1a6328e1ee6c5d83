//! The command line every app gets: `synth`, `diff`, `deploy`, `destroy`, `list`, `watch`.
//!
//! An app's `main` is one line:
//!
//! ```no_run
//! # use cfn_deploy::project::{Environment, Project, ProjectError, SynthOutput};
//! # struct MyProject;
//! # impl MyProject { fn new() -> Self { MyProject } }
//! # impl Project for MyProject {
//! #     fn name(&self) -> &str { "my-app" }
//! #     fn version(&self) -> &str { "0.1.0" }
//! #     fn environments(&self) -> Result<Vec<Environment>, ProjectError> { Ok(vec![]) }
//! #     fn synth(&self, env: &Environment) -> Result<SynthOutput, ProjectError> {
//! #         Ok(cfn_core::Stack::new(&env.stack_name).synth()?.into())
//! #     }
//! # }
//! fn main() -> std::process::ExitCode {
//!     cfn_deploy::cli::main(MyProject::new())
//! }
//! ```
//!
//! # Commands
//!
//! | command | what it does |
//! |---|---|
//! | `synth [env] [--out DIR]` | writes `DIR/<stack>.template.json` for every environment (or one), all or nothing, and prints a table `STACK ENV RESOURCES BYTES NOTE` (`via S3` above 51,200 bytes) followed by the warnings |
//! | `diff <env> [--fail]` | per-resource differences against the deployed stack, IAM and security-group changes in their own table, predicted replacements; `--fail` exits 1 when anything differs |
//! | `deploy <env> [--yes] [--allow-replacement]` | change set → review → execute → follow, see [`crate`] |
//! | `destroy <env> [--force]` | deletes the stack after the stack name is typed (or `--force`), listing what stays behind |
//! | `list` | environments, stack names and deployed status |
//! | `continue-rollback <env> [--skip ID]…` | resumes a rollback that failed (`UPDATE_ROLLBACK_FAILED`) and follows it to `UPDATE_ROLLBACK_COMPLETE` |
//! | `drift <env> [--fail]` | runs drift detection and lists each modified or deleted resource with its property differences; `--fail` exits 1 on drift |
//! | `watch <env>` | follows the stack's current operation, or reports how the last one ended |
//!
//! `--profile` and `--region` apply to every command that talks to AWS; `AWS_ENDPOINT_URL`
//! and the rest of the AWS environment work as in the AWS CLI. `--connect-timeout` (5 s) and
//! `--call-timeout` (60 s per attempt) bound every wait on the network: an endpoint that
//! never answers fails the command after two attempts, with the endpoint named.
//!
//! # Exit codes
//!
//! See [`Exit`]: 0 success or no changes, 1 failure (or differences with `diff --fail`),
//! 2 usage or configuration error, 3 refused by a safety check or not confirmed (nothing was
//! changed), 4 lost track of an operation that carries on (`watch` resumes), 130 interrupted.

mod adopt;
mod deploy;
mod destroy;
mod follow;
mod inspect;
mod multi;
mod options;
mod publish;
mod reviewed;
mod synth;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::aws::{ApiLog, Aws, AwsSettings, FailureKind, RetryNotice, Timeouts};
use crate::console::Console;
use crate::diff::SchemaLookup;
use crate::error::DeployError;
use crate::events::PollConfig;
use crate::interrupt::Interrupt;
use crate::project::{Environment, Project, SynthOutput};

pub use synth::{SynthRow, synth_table};

/// How a command ended. The numeric values are the process exit codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// 0: done, or nothing to change.
    Ok = 0,
    /// 1: the operation failed or rolled back, an AWS call failed, synthesis failed, or
    /// `diff --fail` found differences.
    Failed = 1,
    /// 2: bad command line or configuration (unknown environment, no region, `--yes` or
    /// `--force` missing without a terminal, unreadable project config).
    Usage = 2,
    /// 3: refused before changing anything: wrong account or region, a stack that is busy or
    /// stuck, termination protection, a stateful replacement without `--allow-replacement`,
    /// or the confirmation declined.
    Refused = 3,
    /// 4: lost track of an operation that was started and carries on (its events could not be
    /// read, or it is unknown whether the execution request reached CloudFormation): the
    /// outcome is unknown, not a failure; `watch` resumes following it.
    LostTrack = 4,
    /// 130: interrupted (Ctrl-C or SIGTERM). A running CloudFormation operation carries on.
    Interrupted = 130,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e.code())
    }
}

/// Everything a CLI run uses besides the project and the arguments: the console, the interrupt,
/// AWS settings and poll timing. [`Context::default`] is the real terminal and Ctrl-C; tests
/// swap in a capturing console, a hand-triggered interrupt, a local endpoint and fast polling.
#[derive(Debug)]
pub struct Context {
    /// Where output goes and answers come from.
    pub console: Console,
    /// Ctrl-C.
    pub interrupt: Interrupt,
    /// Whether to trigger [`Context::interrupt`] on SIGINT and SIGTERM (a second signal exits
    /// at once).
    pub listen_for_ctrl_c: bool,
    /// Base AWS settings; `--profile` and `--region` override theirs.
    pub aws: AwsSettings,
    /// Polling of change sets and stack events.
    pub poll: PollConfig,
    /// Records every AWS request.
    pub log: ApiLog,
    /// Registry schemas, for replacement predictions in `diff`.
    pub schemas: fn(&str) -> Option<&'static cfn_core::TypeSchema>,
}

impl Default for Context {
    fn default() -> Self {
        Context {
            console: Console::stdio(),
            interrupt: Interrupt::new(),
            listen_for_ctrl_c: true,
            aws: AwsSettings::default(),
            poll: PollConfig::default(),
            log: ApiLog::new(),
            schemas: cfn_resources::schema_for,
        }
    }
}

#[derive(Debug, Parser)]
#[command(
    about = "Synthesize, diff, deploy and destroy this app's CloudFormation stacks",
    disable_version_flag = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// AWS profile (from ~/.aws/config) for commands that talk to AWS.
    #[arg(long, global = true)]
    profile: Option<String>,
    /// AWS region for commands that talk to AWS.
    #[arg(long, global = true)]
    region: Option<String>,
    /// Seconds to establish a connection to AWS (default 5).
    #[arg(long, global = true, value_name = "SECS", value_parser = seconds)]
    connect_timeout: Option<Duration>,
    /// Seconds one attempt of an AWS call may take before it is abandoned (default 60). A call
    /// that times out is tried once more, then the command fails, saying so.
    #[arg(long, global = true, value_name = "SECS", value_parser = seconds)]
    call_timeout: Option<Duration>,
}

/// A positive number of seconds, at most a day.
fn seconds(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("'{s}' is not a number of seconds"))?;
    if !(v > 0.0 && v <= 86_400.0) {
        return Err(format!("{s} is outside 0 < seconds <= 86400"));
    }
    Ok(Duration::from_secs_f64(v))
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write every environment's template (or one) to the output directory.
    Synth {
        /// Only this environment.
        env: Option<String>,
        /// Output directory (default: the project's, `cfn-out` unless it says otherwise).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Treat guardrail errors in advisory environments as errors: exit 1, write nothing.
        #[arg(long)]
        strict: bool,
        /// Print the report (stacks, guardrail findings, suppressions, warnings) as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show what a deploy would change.
    Diff {
        /// The environment.
        env: String,
        /// Only this stack of the environment (default: every stack).
        stack: Option<String>,
        /// Exit 1 when anything differs (a PR gate).
        #[arg(long)]
        fail: bool,
    },
    /// Deploy an environment through a change set.
    Deploy {
        /// The environment.
        env: String,
        /// Only this stack of the environment (its dependencies must be deployed).
        stack: Option<String>,
        /// Every stack of the environment, producers first (required when it has several
        /// and no STACK is named).
        #[arg(long, conflicts_with = "stack")]
        all: bool,
        /// How many independent stacks `--all --yes` deploys at once (1: one by one).
        #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=16))]
        concurrency: u16,
        #[command(flatten)]
        opts: options::DeployOptions,
        /// Execute this reviewed change set (from `--no-execute`) instead of making a new one.
        #[arg(long, value_name = "NAME")]
        change_set: Option<String>,
    },
    /// Bring resources a Terraform state manages under the environment's stack, without
    /// recreating them (an IMPORT change set; docs/adopt.md).
    Adopt {
        /// The environment.
        env: String,
        /// The Terraform state: the state file, or `terraform show -json` output.
        #[arg(long, value_name = "FILE")]
        terraform_state: PathBuf,
        /// The stack to import into, when the environment has several.
        #[arg(long)]
        stack: Option<String>,
        /// Print the plan as JSON and stop.
        #[arg(long, conflicts_with = "execute")]
        json: bool,
        /// Run the import the plan describes.
        #[arg(long)]
        execute: bool,
        /// Do not ask before importing (required without a terminal).
        #[arg(long)]
        yes: bool,
    },
    /// Delete an environment's stack.
    Destroy {
        /// The environment.
        env: String,
        /// Only this stack of the environment.
        stack: Option<String>,
        /// Every stack of the environment, consumers first.
        #[arg(long, conflicts_with = "stack")]
        all: bool,
        /// Do not ask for the stack name (required without a terminal).
        #[arg(long)]
        force: bool,
    },
    /// List environments and their stacks' status.
    List,
    /// Resume a rollback that failed (UPDATE_ROLLBACK_FAILED) and follow it.
    ContinueRollback {
        /// The environment.
        env: String,
        /// A resource that cannot roll back, left as it is (repeatable; logical ID).
        #[arg(long = "skip", value_name = "LOGICAL_ID")]
        skip: Vec<String>,
    },
    /// Detect drift: what was changed on the stack's resources outside CloudFormation.
    Drift {
        /// The environment.
        env: String,
        /// Exit 1 when anything drifted (a scheduled check).
        #[arg(long)]
        fail: bool,
    },
    /// Follow an environment's current stack operation.
    Watch {
        /// The environment.
        env: String,
    },
}

/// Which stacks of an environment a command acts on: one named, or all.
#[derive(Clone, Debug, Default)]
pub(crate) struct Select {
    pub(crate) stack: Option<String>,
    pub(crate) all: bool,
}

impl Select {
    /// The chosen stacks of `out`, in its (deploy) order. With several stacks, a command
    /// that changes them needs a name or `--all`; `default_all` (diff) takes every one.
    pub(crate) fn pick(
        &self,
        verb: &str,
        env: &Environment,
        out: SynthOutput,
        default_all: bool,
    ) -> Result<Vec<cfn_core::Synthesized>, CliError> {
        let names: Vec<String> = out.stacks.iter().map(|s| s.stack_name.clone()).collect();
        if let Some(name) = &self.stack {
            return out
                .stacks
                .into_iter()
                .find(|s| &s.stack_name == name)
                .map(|s| vec![s])
                .ok_or_else(|| {
                    CliError::new(
                        Exit::Usage,
                        format!(
                            "environment '{}' has no stack '{name}'; its stacks: {}",
                            env.name,
                            names.join(", ")
                        ),
                    )
                });
        }
        if out.stacks.len() == 1 || self.all || default_all {
            return Ok(out.stacks);
        }
        Err(CliError::new(
            Exit::Usage,
            format!(
                "environment '{}' has {} stacks ({}): name one or pass --all",
                env.name,
                names.len(),
                names.join(", ")
            ),
        )
        .hint(format!(
            "e.g. `{verb} {} {}` or `{verb} {} --all`",
            env.name,
            names[names.len() - 1],
            env.name
        )))
    }
}

/// A deployed stack as [`Run::read_stack`] found it.
pub(crate) struct StackState {
    /// Clients whose credentials passed the environment's guards.
    pub(crate) aws: Aws,
    /// The stack; `None` when it is not deployed.
    pub(crate) stack: Option<crate::stack::DeployedStack>,
}

/// An error as the CLI reports it: a message with its context, hints, and the exit code.
#[derive(Debug)]
pub(crate) struct CliError {
    exit: Exit,
    message: String,
    hints: Vec<String>,
}

impl CliError {
    pub(crate) fn new(exit: Exit, message: impl Into<String>) -> Self {
        CliError {
            exit,
            message: message.into(),
            hints: Vec::new(),
        }
    }

    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    /// An error of reading an environment's stack: the credentials' guards, or the reads.
    pub(crate) fn reading(env: &Environment, e: DeployError) -> Self {
        let context = match &e {
            DeployError::WrongAccount { .. }
            | DeployError::WrongRegion { .. }
            | DeployError::Config(_) => format!("checking the credentials for '{}'", env.name),
            _ => format!("reading stack {}", env.stack_name),
        };
        CliError::deploy(&context, e)
    }

    pub(crate) fn deploy(context: &str, e: DeployError) -> Self {
        let exit = match &e {
            DeployError::WrongAccount { .. }
            | DeployError::WrongRegion { .. }
            | DeployError::Blocked { .. }
            | DeployError::ExportInUse { .. }
            | DeployError::DeleteExportInUse { .. }
            | DeployError::TerminationProtected { .. }
            | DeployError::ImportRefused { .. } => Exit::Refused,
            DeployError::Config(_) => Exit::Usage,
            _ => Exit::Failed,
        };
        let mut err = CliError::new(exit, format!("{context}: {}", chain(&e)));
        if let DeployError::Aws(a) = &e {
            if a.code() == Some("ExpiredToken") || a.code() == Some("InvalidClientTokenId") {
                err = err.hint("refresh your credentials (aws sso login, or a new session)");
            }
            if a.message.contains("no credentials") {
                err = err.hint(
                    "configure credentials: `aws sso login`, --profile / AWS_PROFILE, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a role",
                );
            }
            if a.kind == FailureKind::Throttled {
                err = err.hint("CloudFormation kept throttling; try again in a minute");
            }
            if a.kind == FailureKind::TimedOut {
                err = err.hint(
                    "check the network path to AWS (proxy, VPN, AWS_ENDPOINT_URL); --call-timeout waits longer",
                );
            }
        }
        err
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

/// State shared by the commands of one run.
pub(crate) struct Run<'a, P: Project + ?Sized> {
    pub(crate) project: &'a P,
    pub(crate) ctx: &'a Context,
    pub(crate) bin: String,
    profile: Option<String>,
    region: Option<String>,
    timeouts: Timeouts,
}

impl<P: Project + ?Sized> Run<'_, P> {
    pub(crate) fn console(&self) -> &Console {
        &self.ctx.console
    }

    /// The project's environments; none at all is a configuration error (a `synth` that
    /// writes nothing and exits 0 hides a mistyped directory).
    pub(crate) fn environments(&self) -> Result<Vec<Environment>, CliError> {
        let envs = self.project.environments().map_err(|e| {
            CliError::new(
                Exit::Usage,
                format!(
                    "reading the environments of {}: {}",
                    self.project.name(),
                    chain(&*e)
                ),
            )
        })?;
        if envs.is_empty() {
            return Err(CliError::new(
                Exit::Usage,
                format!("{} defines no environments", self.project.name()),
            ));
        }
        Ok(envs)
    }

    pub(crate) fn environment(&self, name: &str) -> Result<Environment, CliError> {
        let envs = self.environments()?;
        let known: Vec<String> = envs.iter().map(|e| e.name.clone()).collect();
        envs.into_iter().find(|e| e.name == name).ok_or_else(|| {
            CliError::new(
                Exit::Usage,
                format!(
                    "unknown environment '{name}'; known: {}",
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                ),
            )
        })
    }

    pub(crate) fn synth(&self, env: &Environment) -> Result<SynthOutput, CliError> {
        self.project.synth(env).map_err(|e| {
            CliError::new(
                Exit::Failed,
                format!("synthesizing environment '{}': {}", env.name, chain(&*e)),
            )
        })
    }

    /// Prints the warnings and notes of a synthesized environment to `err`.
    pub(crate) fn warnings(&self, env: &Environment, out: &SynthOutput) {
        for d in out.stacks.iter().flat_map(|s| &s.diagnostics) {
            self.console().err(format!("[{}] {d}", env.name));
        }
        for n in &out.notes {
            self.console().err(format!("[{}] note: {n}", env.name));
        }
    }

    pub(crate) fn schemas(&self) -> SchemaLookup<'_> {
        &self.ctx.schemas
    }

    /// What every command that reads a deployed stack starts from: clients for `env` whose
    /// credentials passed its account and region guards, and the stack `stack_name` as it is
    /// (`None`: not deployed).
    pub(crate) async fn read_stack(
        &self,
        env: &Environment,
        stack_name: &str,
    ) -> Result<StackState, CliError> {
        let aws = self.connect(env).await?;
        crate::engine::preflight(&aws, env).await.map_err(|e| {
            CliError::deploy(&format!("checking the credentials for '{}'", env.name), e)
        })?;
        let stack = crate::stack::describe(&aws, stack_name)
            .await
            .map_err(|e| CliError::deploy(&format!("reading stack {stack_name}"), e))?;
        Ok(StackState { aws, stack })
    }

    /// Clients for an environment: flags over context settings over the default chain, with
    /// the environment's region as the last fallback.
    pub(crate) async fn connect(&self, env: &Environment) -> Result<Aws, CliError> {
        self.connect_region(env, None).await
    }

    pub(crate) async fn connect_region(
        &self,
        env: &Environment,
        prefer_env_region: Option<&str>,
    ) -> Result<Aws, CliError> {
        let mut s = self.ctx.aws.clone();
        if let Some(p) = &self.profile {
            s.profile = Some(p.clone());
        }
        if let Some(r) = self.region.clone().or(prefer_env_region.map(str::to_owned)) {
            s.region = Some(r);
        }
        s.timeouts = self.timeouts;
        let aws = Aws::connect(&s, env.region.as_deref(), self.ctx.log.clone())
            .await
            .map_err(|e| CliError::deploy("resolving the AWS configuration", e.into()))?;
        let console = self.console().clone();
        Ok(
            aws.with_observer(std::sync::Arc::new(move |n: &RetryNotice| {
                let why = match n.kind {
                    FailureKind::Throttled => "throttled",
                    FailureKind::TimedOut => "timed out",
                    _ => "failed",
                };
                console.err(format!(
                    "  … {} {why} ({}); retrying in {} (attempt {})",
                    n.call,
                    n.message,
                    crate::render::duration(n.wait),
                    n.attempt + 1
                ));
            })),
        )
    }

    /// Runs `f` unless Ctrl-C comes first. For phases with nothing to clean up.
    pub(crate) async fn interruptible<T>(
        &self,
        f: impl std::future::Future<Output = Result<T, CliError>>,
    ) -> Result<T, CliError> {
        tokio::select! {
            biased;
            _ = self.ctx.interrupt.triggered() => Err(CliError::new(
                Exit::Interrupted,
                "interrupted; nothing was changed",
            )),
            r = f => r,
        }
    }

    /// Prints an error now (one stack of several failed; the others go on being reported).
    pub(crate) fn report(&self, e: CliError) -> Exit {
        report(self.console(), e)
    }

    pub(crate) fn style(&self) -> crate::render::Style {
        crate::render::Style {
            color: self.console().color(),
        }
    }
}

/// Runs the CLI on the process's arguments, terminal and Ctrl-C, and returns the exit code.
pub fn main<P: Project>(project: P) -> ExitCode {
    main_dyn(&project)
}

/// [`main`] behind a trait object. The CLI is compiled once, here, instead of once per project
/// type in each binary that calls [`main`]: monomorphized into `dify-app`, it took 1.1 s of
/// the 2.6 s an edit → synth loop spends building (docs/benchmarks.md).
fn main_dyn(project: &dyn Project) -> ExitCode {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CFN_DEPLOY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off")),
        )
        .with_writer(std::io::stderr)
        // On a failed write the subscriber would report it with eprintln!, which panics when
        // stderr is a closed pipe (`CFN_DEPLOY_LOG=debug app deploy 2>&1 | head`): a log line
        // lost is better than a deploy aborted half-way.
        .log_internal_errors(false)
        .try_init();
    run_dyn(project, std::env::args_os().collect(), Context::default()).into()
}

/// Runs the CLI on `args` (the first is the program name) with an explicit [`Context`].
pub fn run<I, T>(project: &dyn Project, args: I, ctx: Context) -> Exit
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    run_dyn(project, args.into_iter().map(Into::into).collect(), ctx)
}

fn run_dyn(project: &dyn Project, args: Vec<OsString>, ctx: Context) -> Exit {
    let bin = args
        .first()
        .and_then(|a| {
            PathBuf::from(a)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| project.name().to_owned());
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => {
            let text = e.render().to_string();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp
                | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                | clap::error::ErrorKind::DisplayVersion => {
                    ctx.console.out_raw(&text);
                    if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                    {
                        Exit::Usage
                    } else {
                        Exit::Ok
                    }
                }
                _ => {
                    ctx.console.err(text.trim_end());
                    Exit::Usage
                }
            };
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            ctx.console
                .err(format!("error: starting the async runtime: {e}"));
            return Exit::Failed;
        }
    };
    let run = Run {
        project,
        ctx: &ctx,
        bin,
        profile: cli.profile.clone(),
        region: cli.region.clone(),
        timeouts: Timeouts {
            connect: cli.connect_timeout.unwrap_or(ctx.aws.timeouts.connect),
            attempt: cli.call_timeout.unwrap_or(ctx.aws.timeouts.attempt),
            ..ctx.aws.timeouts
        },
    };
    let result = rt.block_on(async {
        if ctx.listen_for_ctrl_c {
            ctx.interrupt.listen_for_signals();
        }
        match cli.command {
            Command::Synth {
                env,
                out,
                strict,
                json,
            } => {
                let out = out.unwrap_or_else(|| run.project.out_dir());
                synth::synth(
                    &run,
                    env.as_deref(),
                    &out,
                    synth::SynthFlags { strict, json },
                )
            }
            Command::Diff { env, stack, fail } => {
                inspect::diff(&run, &env, stack.as_deref(), fail).await
            }
            Command::Deploy {
                env,
                stack,
                all,
                concurrency,
                opts,
                change_set,
            } => match change_set {
                Some(name) => reviewed::execute_reviewed(&run, &env, &name, &opts).await,
                None => {
                    let select = Select { stack, all };
                    deploy::deploy(&run, &env, &select, usize::from(concurrency), &opts).await
                }
            },
            Command::Destroy {
                env,
                stack,
                all,
                force,
            } => destroy::destroy(&run, &env, &Select { stack, all }, force).await,
            Command::Adopt {
                env,
                terraform_state,
                stack,
                json,
                execute,
                yes,
            } => {
                let opts = adopt::AdoptOptions {
                    state: terraform_state,
                    stack,
                    json,
                    execute,
                    yes,
                };
                adopt::adopt(&run, &env, &opts).await
            }
            Command::List => inspect::list(&run).await,
            Command::Drift { env, fail } => inspect::drift(&run, &env, fail).await,
            Command::ContinueRollback { env, skip } => {
                destroy::continue_rollback(&run, &env, &skip).await
            }
            Command::Watch { env } => inspect::watch(&run, &env).await,
        }
    });
    match result {
        Ok(exit) => exit,
        Err(e) => report(&ctx.console, e),
    }
}

/// Prints an error with its hints; returns its exit code.
fn report(console: &Console, e: CliError) -> Exit {
    let label = if e.exit == Exit::Interrupted {
        "interrupted"
    } else {
        "error"
    };
    let msg = e
        .message
        .strip_prefix("interrupted; ")
        .filter(|_| e.exit == Exit::Interrupted)
        .unwrap_or(&e.message);
    console.err(format!("{label}: {msg}"));
    for h in &e.hints {
        console.err(format!("  hint: {h}"));
    }
    e.exit
}
