//! Turns CloudFormation registry resource schemas (JSON Schema, as vendored from cfn-lint) into
//! the typed Rust of `cfn-resources`.
//!
//! - [`model`] reads one schema into structs, enums, handle attributes and metadata;
//! - [`emit`] writes that model as a Rust module;
//! - [`layout`] arranges a service's types into one file of inline modules, and the enabled
//!   services into a root with the registry.
//! - [`refs`] says which string properties identify a known kind of resource.
//!
//! cfn-resources' build script calls [`layout::generate_dir`] for the services whose cargo
//! features are on; the `cfn-codegen` binary writes the same code, formatted, for reading.

pub mod docs;
pub mod emit;
pub mod layout;
pub mod model;
pub mod names;
pub mod refs;

pub use layout::{ServiceCode, Source, Stats, generate_dir, generate_service};
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
