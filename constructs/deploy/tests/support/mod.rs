//! Test support shared by the deploy crate's integration tests: running the CLI in-process
//! with a captured console, a small project of raw resources, one with a file asset, the
//! CloudFormation simulator, the moto launcher and a fault-injecting proxy.

#![allow(dead_code)]

pub mod faults;
pub mod moto;
pub mod sim;

use std::path::PathBuf;

use cfn_core::Stack;
use cfn_deploy::aws::{ApiLog, AwsSettings, RetryPolicy, Timeouts};
use cfn_deploy::cli::{self, Context, Exit};
use cfn_deploy::console::{Console, Scripted};
use cfn_deploy::events::PollConfig;
use cfn_deploy::interrupt::Interrupt;
use cfn_deploy::project::{Environment, Project, ProjectError, SynthOutput};
use serde_json::{Value as Json, json};

/// What a CLI run printed and did.
#[derive(Debug)]
pub struct Ran {
    /// The exit code.
    pub exit: Exit,
    /// stdout.
    pub out: String,
    /// stderr.
    pub err: String,
    /// The AWS requests made (operation names, retries included).
    pub calls: Vec<&'static str>,
}

impl Ran {
    /// stdout and stderr together.
    pub fn all(&self) -> String {
        format!("{}{}", self.out, self.err)
    }

    /// Fails with the whole transcript unless `needle` was printed.
    #[track_caller]
    pub fn assert_printed(&self, needle: &str) {
        assert!(
            self.all().contains(needle),
            "expected {needle:?} in the output:\n--- stdout\n{}\n--- stderr\n{}",
            self.out,
            self.err
        );
    }

    /// Fails unless `needle` was not printed.
    #[track_caller]
    pub fn assert_not_printed(&self, needle: &str) {
        assert!(
            !self.all().contains(needle),
            "did not expect {needle:?} in the output:\n--- stdout\n{}\n--- stderr\n{}",
            self.out,
            self.err
        );
    }
}

/// How to run the CLI.
#[derive(Clone)]
pub struct Opts {
    /// The AWS endpoint (simulator or moto).
    pub endpoint: Option<String>,
    /// Whether a person is at the terminal.
    pub interactive: bool,
    /// Answers to prompts.
    pub answers: Vec<Scripted>,
    /// The interrupt, to trigger from the outside.
    pub interrupt: Interrupt,
    /// Retries.
    pub retry: RetryPolicy,
    /// Default region (what AWS_REGION would say).
    pub region: Option<String>,
    /// Network timeouts.
    pub timeouts: Timeouts,
}

impl Opts {
    /// Against `endpoint`, non-interactive, fast retries.
    pub fn at(endpoint: &str) -> Self {
        Opts {
            endpoint: Some(endpoint.to_owned()),
            interactive: false,
            answers: Vec::new(),
            interrupt: Interrupt::new(),
            retry: RetryPolicy::fast(6),
            region: None,
            timeouts: Timeouts::default(),
        }
    }

    /// No AWS at all.
    pub fn offline() -> Self {
        Opts {
            endpoint: Some("http://127.0.0.1:9".to_owned()),
            interactive: false,
            answers: Vec::new(),
            interrupt: Interrupt::new(),
            retry: RetryPolicy::none(),
            region: Some("eu-west-1".to_owned()),
            timeouts: Timeouts::default(),
        }
    }

    /// A person at the terminal typing `answers`.
    pub fn interactive(mut self, answers: Vec<Scripted>) -> Self {
        self.interactive = true;
        self.answers = answers;
        self
    }

    /// Sets the retry policy.
    pub fn retry(mut self, r: RetryPolicy) -> Self {
        self.retry = r;
        self
    }

    /// Sets the default region.
    pub fn region(mut self, r: &str) -> Self {
        self.region = Some(r.to_owned());
        self
    }
}

/// Runs the CLI in-process: `args` without the program name.
pub fn run(project: &dyn Project, args: &[&str], opts: &Opts) -> Ran {
    let (console, cap) = Console::capture(opts.interactive, opts.answers.clone());
    let log = ApiLog::new();
    let ctx = Context {
        console,
        interrupt: opts.interrupt.clone(),
        listen_for_ctrl_c: false,
        aws: AwsSettings {
            profile: None,
            region: opts.region.clone(),
            endpoint_url: opts.endpoint.clone(),
            static_credentials: Some(("AKIDTEST".into(), "secret".into())),
            retry: opts.retry.clone(),
            timeouts: opts.timeouts,
        },
        poll: PollConfig::every_ms(1),
        log: log.clone(),
        schemas: cfn_resources::schema_for,
    };
    let mut argv = vec!["app"];
    argv.extend_from_slice(args);
    let exit = cli::run(project, argv, ctx);
    Ran {
        exit,
        out: cap.stdout(),
        err: cap.stderr(),
        calls: log.operations(),
    }
}

/// A project of raw resources: every environment synthesizes the same resources (ID, type,
/// properties) under its own stack name.
#[derive(Clone, Debug)]
pub struct RawProject {
    /// Environments.
    pub envs: Vec<Environment>,
    /// Resources: construct id, type, properties.
    pub resources: Vec<(String, String, Json)>,
    /// Fail synthesis of this environment.
    pub broken_env: Option<String>,
    /// Pad the template's metadata to this many bytes.
    pub pad: usize,
    /// String parameters of the template: name, default.
    pub parameters: Vec<(String, String)>,
}

impl RawProject {
    /// One environment `env` with stack `stack`, and a bucket and a queue.
    pub fn new(envs: Vec<Environment>) -> Self {
        RawProject {
            envs,
            resources: vec![
                ("Bucket".into(), "AWS::S3::Bucket".into(), json!({})),
                (
                    "Queue".into(),
                    "AWS::SQS::Queue".into(),
                    json!({"VisibilityTimeout": 30}),
                ),
            ],
            broken_env: None,
            pad: 0,
            parameters: Vec::new(),
        }
    }

    /// Declares a String parameter with a default.
    pub fn with_parameter(mut self, name: &str, default: &str) -> Self {
        self.parameters.push((name.into(), default.into()));
        self
    }

    /// Adds or replaces a resource.
    pub fn with(mut self, id: &str, ty: &str, props: Json) -> Self {
        self.resources.retain(|(i, _, _)| i != id);
        self.resources.push((id.into(), ty.into(), props));
        self
    }

    /// Removes a resource.
    pub fn without(mut self, id: &str) -> Self {
        self.resources.retain(|(i, _, _)| i != id);
        self
    }

    /// The synthesized template of an environment, as deployed (for seeding the simulator).
    pub fn template(&self, env: &str) -> String {
        let e = self
            .envs
            .iter()
            .find(|e| e.name == env)
            .expect("known environment");
        self.synth(e).expect("synthesizes").stacks[0].body.clone()
    }
}

impl Project for RawProject {
    fn name(&self) -> &str {
        "raw"
    }
    fn version(&self) -> &str {
        "1.0.0"
    }
    fn environments(&self) -> Result<Vec<Environment>, ProjectError> {
        Ok(self.envs.clone())
    }
    fn synth(&self, env: &Environment) -> Result<SynthOutput, ProjectError> {
        if self.broken_env.as_deref() == Some(env.name.as_str()) {
            return Err(format!("the {} configuration is broken", env.name).into());
        }
        let mut stack = Stack::new(&env.stack_name);
        if self.pad > 0 {
            stack.set_template_metadata("Padding", json!("x".repeat(self.pad)));
        }
        for (name, default) in &self.parameters {
            stack.add_parameter(
                name,
                cfn_core::Parameter::new(cfn_core::ParameterType::String).default_value(default),
            );
        }
        let mut root = stack.root();
        for (id, ty, props) in &self.resources {
            root.add_raw(id, ty, None, props.clone());
        }
        Ok(stack.synth()?.into())
    }
}

/// The stack tags a deploy of `RawProject` sets for `env`.
pub fn raw_tags(env: &str) -> Vec<(&'static str, String)> {
    vec![
        ("app", "raw".to_owned()),
        ("env", env.to_owned()),
        ("version", "1.0.0".to_owned()),
    ]
}

/// Counts how often `op` appears in `calls`.
pub fn count(calls: &[impl AsRef<str>], op: &str) -> usize {
    calls.iter().filter(|c| c.as_ref() == op).count()
}

/// A project whose stack is a Lambda function with its code from a file asset, and the
/// function's role. Every environment synthesizes the same stack under its own name.
#[derive(Clone, Debug)]
pub struct AssetProject {
    /// Environments.
    pub envs: Vec<Environment>,
    /// The file or directory the function's code is packaged from.
    pub code: PathBuf,
    /// The function's memory, in MB: change it to change the template, not the asset.
    pub memory: u32,
}

impl AssetProject {
    /// A directory below the system's temporary one holding `index.py`, whose text includes
    /// `marker` (so each test has an asset of its own), and a project deploying it.
    pub fn new(envs: Vec<Environment>, marker: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("cfn-deploy-asset-{marker}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("asset directory");
        std::fs::write(
            dir.join("index.py"),
            format!("# {marker}\ndef handler(event, context):\n    return {{\"ok\": True}}\n"),
        )
        .expect("handler");
        AssetProject {
            envs,
            code: dir,
            memory: 128,
        }
    }
}

impl Project for AssetProject {
    fn name(&self) -> &str {
        "assets"
    }
    fn version(&self) -> &str {
        "1.0.0"
    }
    fn environments(&self) -> Result<Vec<Environment>, ProjectError> {
        Ok(self.envs.clone())
    }
    fn synth(&self, env: &Environment) -> Result<SynthOutput, ProjectError> {
        use cfn_assets::{FileAsset, FileAssetProps};
        use cfn_resources::iam::Role;
        use cfn_resources::lambda::Function;

        let mut stack = Stack::new(&env.stack_name);
        let mut root = stack.root();
        let role = root.add(
            "Role",
            Role::builder()
                .assume_role_policy_document(json!({
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole"
                    }]
                }))
                .build(),
        );
        let code = FileAsset::try_new(&mut root, "Code", FileAssetProps::new(&self.code))?;
        root.add(
            "Function",
            Function::builder()
                .code(code.lambda_code())
                .role(role.arn())
                .build()
                .runtime("python3.12")
                .handler("index.handler")
                .memory_size(self.memory),
        );
        Ok(stack.synth()?.into())
    }
}

/// SDK settings against a local endpoint (the simulator, moto) with test credentials.
pub fn local_settings(url: &str, retry: RetryPolicy) -> AwsSettings {
    AwsSettings {
        region: Some(sim::REGION.into()),
        endpoint_url: Some(url.to_owned()),
        static_credentials: Some(("AKIDTEST".into(), "secret".into())),
        retry,
        ..AwsSettings::default()
    }
}

/// A runtime and SDK clients against a local endpoint.
pub fn local_client(
    url: &str,
    retry: RetryPolicy,
) -> (tokio::runtime::Runtime, cfn_deploy::aws::Aws) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let aws = rt
        .block_on(cfn_deploy::aws::Aws::connect(
            &local_settings(url, retry),
            None,
            ApiLog::new(),
        ))
        .expect("connect");
    (rt, aws)
}
