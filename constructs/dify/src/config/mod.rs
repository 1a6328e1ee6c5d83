//! Environments: one TOML file per environment (`dev.toml`, `stg.toml`, `prd.toml`, or any
//! other name), read at run time so adding one needs no recompilation.
//!
//! A file is parsed strictly (an unknown key is an error), then resolved: every value the file
//! leaves out gets its default (production defaults when `production = true`, which is itself
//! the default for an environment named `prd`), and every value is checked. Errors name the
//! file, the field and the value.
//!
//! ```
//! use dify_constructs::config::Environment;
//! let env = Environment::from_toml_str("dev.toml", r#"
//!     region = "ap-northeast-1"
//!     [network]
//!     vpc_id = "vpc-0123456789abcdef0"
//!     private_subnet_ids = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
//!     public_subnet_ids = ["subnet-0123456789abcdef2", "subnet-0123456789abcdef3"]
//! "#).unwrap();
//! assert_eq!(env.name, "dev");
//! assert!(!env.production);
//! assert_eq!(env.database.backup_retention_days, 7);
//! ```

// How the module is laid out: `error` (what a problem report looks like), `raw` (the file
// format, as serde reads it), `model` (the resolved environment, made of the settings types
// the constructs own), `props` (the environment as the `Dify` construct's props),
// `checks` (the patterns and the checker every value goes through), `resolve` (one environment
// as a whole and its cross-field rules) and one file per area of the file it delegates to
// (`network`, `ingress`, `database`, `cache`, `images`, `services`).
mod access;
mod cache;
mod checks;
mod cost;
mod database;
mod error;
mod images;
mod ingress;
mod model;
mod network;
mod props;
mod raw;
mod resolve;
mod services;

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use checks::{Checker, quote};
use raw::RawEnv;

pub use error::{ConfigError, ConfigErrors};
pub use model::Environment;

// The settings the constructs consume live beside them; these names are the ones this module
// has always had.
pub use crate::alarms::AlarmSettings as Alarms;
pub use crate::cache::{CacheEngine, CacheSettings as Cache};
pub use crate::components::{DifySettings, Smtp};
pub use crate::database::{
    DEFAULT_ENGINE_VERSION as DEFAULT_DB_ENGINE_VERSION, DatabaseSettings as Database, DbCapacity,
};
pub use crate::images::{
    DEFAULT_DIFY_VERSION, DEFAULT_PLUGIN_DAEMON_VERSION, DEFAULT_SANDBOX_VERSION,
    DEFAULT_SSRF_PROXY_IMAGE, Images, PullThroughCache,
};
pub use crate::ingress::{Domain, IngressSettings as Ingress};
pub use crate::network::{Endpoints, NetworkSettings as Network};
pub use crate::services::{CELERY_QUEUES, Component, LONG_QUEUES, ServiceSize, Services};

impl Environment {
    /// Reads every `*.toml` file in a directory, sorted by name. All files are checked before
    /// failing, and every problem is reported.
    pub fn load_dir(dir: &Path) -> Result<Vec<Environment>, ConfigErrors> {
        let entries = std::fs::read_dir(dir).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                file: dir.to_owned(),
                field: "(directory)".into(),
                value: None,
                message: format!("cannot read the environments directory: {e}"),
            }])
        })?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        let mut envs = Vec::new();
        let mut errors = Vec::new();
        for f in files {
            match Environment::load_file(&f) {
                Ok(e) => envs.push(e),
                Err(ConfigErrors(mut e)) => errors.append(&mut e),
            }
        }
        let mut seen: IndexMap<String, PathBuf> = IndexMap::new();
        for e in &envs {
            if let Some(first) = seen.insert(e.stack_name.clone(), PathBuf::from(&e.name)) {
                errors.push(ConfigError {
                    file: dir.join(format!("{}.toml", e.name)),
                    field: "stack_name".into(),
                    value: Some(quote(&e.stack_name)),
                    message: format!("also the stack of environment '{}'", first.display()),
                });
            }
        }
        if errors.is_empty() {
            Ok(envs)
        } else {
            Err(ConfigErrors(errors))
        }
    }

    /// Reads and resolves one environment file; its name is the file stem.
    pub fn load_file(path: &Path) -> Result<Environment, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                file: path.to_owned(),
                field: "(file)".into(),
                value: None,
                message: format!("cannot read: {e}"),
            }])
        })?;
        Environment::from_toml_str(path, &text)
    }

    /// Parses and resolves an environment from TOML text. `path` names it in errors and its
    /// stem is the environment's name.
    pub fn from_toml_str(path: impl AsRef<Path>, text: &str) -> Result<Environment, ConfigErrors> {
        let path = path.as_ref();
        let de = toml::Deserializer::new(text);
        let raw: RawEnv = serde_path_to_error::deserialize(de).map_err(|e| {
            let field = e.path().to_string();
            let inner = e.into_inner();
            let message = inner.message().to_owned();
            let location = inner
                .span()
                .map(|s| {
                    let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
                    format!(" (line {line})")
                })
                .unwrap_or_default();
            // The TOML parser's own errors (a number too large for 64 bits) carry no path,
            // only a position: name the key written there.
            let field = match (field.as_str(), inner.span()) {
                (".", Some(span)) => key_at(text, span.start).unwrap_or_else(|| "(file)".into()),
                (".", None) => "(file)".into(),
                _ => field,
            };
            ConfigErrors(vec![ConfigError {
                file: path.to_owned(),
                field,
                value: None,
                message: format!("{message}{location}"),
            }])
        })?;
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        let mut c = Checker {
            file: path,
            errors: Vec::new(),
        };
        let env = resolve::resolve(&mut c, name, raw);
        if c.errors.is_empty() {
            Ok(env)
        } else {
            Err(ConfigErrors(c.errors))
        }
    }
}

/// The dotted key written on the line at `offset` (`network.create.nat_gateways` for
/// `nat_gateways = …` under `[network.create]`), for errors the TOML parser reports by
/// position only.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[start..].lines().next()?;
    let (key, _) = line.split_once('=')?;
    let key = key.trim().trim_matches('"');
    if key.is_empty() || key.starts_with('[') {
        return None;
    }
    let table = text[..start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && l.ends_with(']'))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_owned());
    Some(match table {
        Some(t) if !t.is_empty() => format!("{t}.{key}"),
        _ => key.to_owned(),
    })
}
