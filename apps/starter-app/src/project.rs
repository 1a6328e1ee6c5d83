//! The starter project: environments from `starter.toml`, one stack per environment with a
//! bucket, a log group and SSM parameters.
//!
//! Kept in its own file, free of `main`, so the deploy engine's end-to-end tests compile this
//! very module and deploy the starter's real stack on moto.

use std::fmt;

use cfn_core::{Output, RemovalPolicy, Stack, fns};
use cfn_deploy::project::{Environment, Project, ProjectError, SynthOutput};
use cfn_resources::logs::LogGroup;
use cfn_resources::s3::Bucket;
use cfn_resources::s3::bucket::{
    BucketEncryption, PublicAccessBlockConfiguration, ServerSideEncryptionByDefault,
    ServerSideEncryptionRule, SseAlgorithm, VersioningConfiguration, VersioningConfigurationStatus,
};
use cfn_resources::ssm::Parameter;
use cfn_resources::ssm::parameter::Type as ParameterType;
use indexmap::IndexMap;
use serde::Deserialize;

/// The file the environments are read from, unless `STARTER_CONFIG` names another.
pub const DEFAULT_CONFIG: &str = include_str!("../starter.toml");

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    app: String,
    #[serde(rename = "environment", default)]
    environments: Vec<EnvConfig>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvConfig {
    name: String,
    stack: String,
    account: Option<String>,
    region: Option<String>,
    #[serde(default)]
    protected: bool,
    #[serde(default = "default_retention")]
    retention_days: i64,
    #[serde(default)]
    flags: usize,
    #[serde(default)]
    tags: IndexMap<String, String>,
}

fn default_retention() -> i64 {
    7
}

/// Why the configuration could not be read.
#[derive(Clone, Debug)]
pub struct ConfigError {
    source: String,
    message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source, self.message)
    }
}

impl std::error::Error for ConfigError {}

/// The starter app.
#[derive(Clone, Debug)]
pub struct Starter {
    config: Result<Config, ConfigError>,
}

impl Starter {
    /// Reads the environments from `text` (the contents of a `starter.toml`); `source` names it
    /// in errors.
    pub fn from_toml(source: &str, text: &str) -> Self {
        let config = toml::from_str::<Config>(text).map_err(|e| ConfigError {
            source: source.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        });
        Starter { config }
    }

    /// The file named by `STARTER_CONFIG`, or the `starter.toml` built in.
    pub fn load() -> Self {
        match std::env::var("STARTER_CONFIG") {
            Ok(path) => match std::fs::read_to_string(&path) {
                Ok(text) => Starter::from_toml(&path, &text),
                Err(e) => Starter {
                    config: Err(ConfigError {
                        source: path,
                        message: e.to_string(),
                    }),
                },
            },
            Err(_) => Starter::from_toml("starter.toml (built in)", DEFAULT_CONFIG),
        }
    }

    fn env_config(&self, name: &str) -> Result<&EnvConfig, ProjectError> {
        let config = self.config.as_ref().map_err(|e| Box::new(e.clone()))?;
        config
            .environments
            .iter()
            .find(|e| e.name == name)
            .ok_or_else(|| format!("no environment '{name}' in the configuration").into())
    }
}

impl Project for Starter {
    fn name(&self) -> &str {
        self.config
            .as_ref()
            .map(|c| c.app.as_str())
            .unwrap_or("starter")
    }

    fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }

    /// Beside the app, so running it in this repository never mixes its templates with
    /// Dify's committed `cfn-out/`.
    fn out_dir(&self) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("cfn-out")
    }

    fn environments(&self) -> Result<Vec<Environment>, ProjectError> {
        let config = self.config.as_ref().map_err(|e| Box::new(e.clone()))?;
        Ok(config
            .environments
            .iter()
            .map(|e| {
                let mut env = Environment::new(&e.name)
                    .stack_name(&e.stack)
                    .protected(e.protected);
                if let Some(a) = &e.account {
                    env = env.account(a);
                }
                if let Some(r) = &e.region {
                    env = env.region(r);
                }
                for (k, v) in &e.tags {
                    env = env.tag(k, v);
                }
                env
            })
            .collect())
    }

    fn synth(&self, env: &Environment) -> Result<SynthOutput, ProjectError> {
        let c = self.env_config(&env.name)?;
        let mut stack = Stack::new(&env.stack_name);
        stack.set_description(format!("{} starter stack ({})", self.name(), env.name));
        // No `stack.add_tag`: deploy sets the stack tags (app, env, version), and CloudFormation
        // propagates stack tags to every resource that takes tags.
        let mut root = stack.root();

        let bucket = root.add(
            "Data",
            Bucket::new()
                .versioning_configuration(
                    VersioningConfiguration::builder()
                        .status(VersioningConfigurationStatus::Enabled)
                        .build(),
                )
                .bucket_encryption(
                    BucketEncryption::builder()
                        .server_side_encryption_configuration(vec![
                            ServerSideEncryptionRule::new().server_side_encryption_by_default(
                                ServerSideEncryptionByDefault::builder()
                                    .sse_algorithm(SseAlgorithm::Aes256)
                                    .build(),
                            ),
                        ])
                        .build(),
                )
                .public_access_block_configuration(
                    PublicAccessBlockConfiguration::new()
                        .block_public_acls(true)
                        .block_public_policy(true)
                        .ignore_public_acls(true)
                        .restrict_public_buckets(true),
                ),
        );
        let policy = if c.protected {
            RemovalPolicy::Retain
        } else {
            RemovalPolicy::Delete
        };
        root.stack().resource(&bucket).removal_policy(policy);

        let logs = root.add(
            "Logs",
            LogGroup::new()
                .log_group_name(format!("/{}/{}", self.name(), env.name))
                .retention_in_days(c.retention_days),
        );

        let mut config = root.child("Config");
        config.add(
            "BucketName",
            Parameter::builder()
                .type_(ParameterType::String)
                .value(bucket.reference())
                .build()
                .name(format!("/{}/{}/bucket-name", self.name(), env.name))
                .description("The data bucket's name, for the app to read at startup"),
        );
        let mut flags = config.child("Flags");
        for i in 0..c.flags {
            flags.add(
                &format!("Flag{i}"),
                Parameter::builder()
                    .type_(ParameterType::String)
                    .value("off")
                    .build()
                    .name(format!("/{}/{}/flags/flag-{i}", self.name(), env.name))
                    .description(format!(
                        "Feature flag {i} of the {} environment: 'on' or 'off'",
                        env.name
                    )),
            );
        }

        stack.add_output("BucketName", Output::new(bucket.reference().untyped()));
        stack.add_output("LogGroupName", Output::new(logs.reference().untyped()));
        stack.add_output("Region", Output::new(fns::sub("${AWS::Region}")));
        let out: SynthOutput = stack.synth()?.into();
        Ok(if c.flags > 0 {
            let n = c.flags;
            out.note(format!(
                "{n} feature flag parameter{}",
                if n == 1 { "" } else { "s" }
            ))
        } else {
            out
        })
    }
}
