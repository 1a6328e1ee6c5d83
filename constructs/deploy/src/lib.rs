//! Deploy engine and CLI: synthesized templates to settled CloudFormation stacks.
//!
//! This is the only crate of the workspace with an async runtime and the AWS SDK. An app
//! implements [`project::Project`] (its environments, and how to synthesize one) and gets the
//! whole command line from [`cli::main`]: `synth`, `diff`, `deploy`, `destroy`, `list`,
//! `watch`.
//!
//! # What `deploy <env>` does
//!
//! 1. Synthesizes the environment; resolves credentials, region and endpoint the AWS way
//!    ([`aws`]), and refuses when the environment pins another account or region
//!    ([`engine::preflight`]).
//! 2. Reads the deployed stack. A busy (`*_IN_PROGRESS`) or stuck (`UPDATE_ROLLBACK_FAILED`, …)
//!    stack is refused with the next step ([`stack::blocked_next_step`]); a `ROLLBACK_COMPLETE`
//!    one is deleted (after confirmation) and created again.
//! 3. Compares template, parameters, tags and termination protection with what is deployed
//!    ([`engine::compare`]); when nothing differs it says "no changes" and creates no change set.
//! 4. Uploads the stack's file assets to the staging bucket, once per content ([`assets`]);
//!    stages templates over 51,200 bytes in S3 ([`staging`]), creates a change set (CREATE or
//!    UPDATE, unique name, `ClientToken`), and treats CloudFormation's "didn't contain changes"
//!    / "No updates are to be performed." as no changes ([`changeset`]).
//! 5. Shows the change set with construct paths and replacements, refuses stateful
//!    replacements where the environment says so ([`engine::stateful_replacements`]), asks for
//!    confirmation unless `--yes`.
//! 6. Executes with a `ClientRequestToken` and follows that operation's events
//!    ([`events::StackOperation`]) until the stack settles: success only on `*_COMPLETE`,
//!    otherwise a [`events::StackFailure`] with the failed resources, root cause first.
//!
//! Every AWS call goes through [`aws::Aws::call`], which retries throttling, 5xx and dropped
//! connections with backoff and records the call in an [`aws::ApiLog`].

pub mod assets;
pub mod aws;
pub mod changeset;
pub mod cli;
pub mod console;
pub mod deployment;
pub mod diff;
pub mod drift;
pub mod engine;
pub mod error;
pub mod events;
pub mod import;
mod import_problem;
pub mod interrupt;
pub mod project;
pub mod render;
pub mod stack;
pub mod staging;
pub mod testing;

pub use cli::{Context, Exit};
pub use error::DeployError;
pub use project::{Environment, Project, ProjectError, Report, SynthOutput};
