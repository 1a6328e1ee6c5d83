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

/// CloudWatch Logs' retention values: any other is refused at deploy time.
const RETENTIONS: [i64; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// Feature-flag parameters per environment, at most: each is a resource, and a template holds
/// at most 500 (the bucket, the log group and the outputs' parameters need a few).
const MAX_FLAGS: usize = 400;

/// What the file's types cannot say: values AWS refuses, and environments that would collide.
/// Every problem is reported, each with its environment and key.
fn check(c: &Config) -> Result<(), String> {
    let mut problems = Vec::new();
    if c.environments.is_empty() {
        problems.push("no [[environment]]: add one (name, stack, region)".to_owned());
    }
    for (i, e) in c.environments.iter().enumerate() {
        let at = format!("environment '{}'", e.name);
        if !RETENTIONS.contains(&e.retention_days) {
            problems.push(format!(
                "{at}: retention_days = {}: CloudWatch Logs accepts {}",
                e.retention_days,
                RETENTIONS.map(|d| d.to_string()).join(", ")
            ));
        }
        if e.flags > MAX_FLAGS {
            problems.push(format!(
                "{at}: flags = {}: at most {MAX_FLAGS} (each is a resource of the stack)",
                e.flags
            ));
        }
        if let Some(other) = c.environments[..i].iter().find(|o| o.name == e.name) {
            problems.push(format!(
                "{at} is defined twice (stacks {} and {})",
                other.stack, e.stack
            ));
        }
        if let Some(other) = c.environments[..i].iter().find(|o| o.stack == e.stack) {
            problems.push(format!(
                "{at}: stack {} is already environment '{}''s: two environments would deploy over each other",
                e.stack, other.name
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
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
        let config = toml::from_str::<Config>(text)
            .map_err(|e| e.to_string().trim_end().to_owned())
            .and_then(|c| check(&c).map(|()| c))
            .map_err(|message| ConfigError {
                source: source.to_owned(),
                message,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        match Starter::from_toml("t.toml", text).config {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(e) => e.to_string(),
        }
    }

    const ENV: &str =
        "app = \"s\"\n[[environment]]\nname = \"dev\"\nstack = \"S\"\nregion = \"us-east-1\"\n";

    #[test]
    fn the_built_in_file_is_valid() {
        assert!(
            Starter::from_toml("starter.toml", DEFAULT_CONFIG)
                .config
                .is_ok()
        );
    }

    #[test]
    fn values_aws_refuses_are_reported_with_their_environment_and_key() {
        for (line, expected) in [
            (
                "retention_days = -5",
                "environment 'dev': retention_days = -5: CloudWatch Logs accepts 1, 3, 5, 7",
            ),
            (
                "retention_days = 8",
                "environment 'dev': retention_days = 8",
            ),
            (
                "flags = 1000000000",
                "environment 'dev': flags = 1000000000: at most 400",
            ),
        ] {
            let e = error(&format!("{ENV}{line}\n"));
            assert!(e.starts_with("t.toml: "), "{e}");
            assert!(e.contains(expected), "{e}");
        }
    }

    #[test]
    fn colliding_environments_and_an_empty_file_are_refused() {
        let twice = format!(
            "{ENV}{}",
            ENV.replace("app = \"s\"\n", "").replace("\"S\"", "\"T\"")
        );
        assert!(error(&twice).contains("environment 'dev' is defined twice (stacks S and T)"));
        let same_stack = format!(
            "{ENV}{}",
            ENV.replace("app = \"s\"\n", "").replace("dev", "stg")
        );
        assert!(
            error(&same_stack)
                .contains("environment 'stg': stack S is already environment 'dev''s")
        );
        assert!(error("app = \"s\"\n").contains("no [[environment]]"));
    }
}
