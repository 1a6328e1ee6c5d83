//! What a problem in an environment file looks like: the file, the dotted field, the value and
//! what is wrong with it.

use std::fmt;
use std::path::PathBuf;

use thiserror::Error;

/// One problem in an environment file.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}: {field}{}: {message}", file.display(), value.as_ref().map(|v| format!(" = {v}")).unwrap_or_default())]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// The dotted field path (`database.serverless.max_acu`), or `(file)` for the file itself.
    pub field: String,
    /// The offending value, when there is one.
    pub value: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// Every problem found in one or more environment files.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}
