//! Turns CloudFormation registry resource schemas (JSON Schema, as vendored from cfn-lint) into
//! the typed Rust of `cfn-resources`.
//!
//! - [`model`] reads one schema into structs, enums, handle attributes and metadata;
//! - [`emit`] writes that model as a Rust module;
//! - [`layout`] arranges all types into service modules plus a registry, formats them with
//!   rustfmt, and writes, checks or packages them as a standalone crate.
//!
//! The `cfn-codegen` binary drives it: `generate` (with `--check` for CI) and `all`.

pub mod docs;
pub mod emit;
pub mod layout;
pub mod model;
pub mod names;

pub use layout::{Output, Source, generate};
pub use model::TypeModel;

/// What can go wrong while generating.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A schema the generator cannot make sense of.
    #[error("schema: {0}")]
    Schema(String),
    /// Reading or writing a file.
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
    /// rustfmt failed.
    #[error("rustfmt: {0}")]
    Format(String),
}
