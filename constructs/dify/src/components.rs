//! What each Dify container runs with: image, environment, secrets, health check, ports.
//!
//! The wiring follows Dify's own compose file (see `shared/dify-facts.md` in the project
//! history): the key pairs that must match (`PLUGIN_DAEMON_KEY` = daemon `SERVER_KEY`,
//! `INNER_API_KEY_FOR_PLUGIN` = daemon `DIFY_INNER_API_KEY`, `CODE_EXECUTION_API_KEY` = sandbox
//! `API_KEY`) come from one generated secret each, so they cannot drift apart.

use cfn_core::{ResourceRef, Scope, Value, fns, pseudo};
use cfn_resources::ec2::SecurityGroupHandle;
use indexmap::IndexMap;

use cfn_core::refs::KmsKeyArn;

use crate::bedrock::BedrockSettings;
use crate::cache::{self, DifyCache};
use crate::common::{Destination, Egress, GeneratedSecret, egress};
use crate::cost_controls::{CostControls, Operations};
use crate::database::{self, DbCapacity, DifyDatabase};
use crate::images::Images;
use crate::ingress::DifyIngress;
use crate::network::DifyNetwork;
use crate::private::PrivateEndpoints;
use crate::services::{CELERY_QUEUES, Component, Services};
use crate::sizing;
use crate::storage::DifyStorage;
use crate::task::{ContainerSpec, Health, SecretSource};

/// Outgoing mail.
#[derive(Debug, Clone, PartialEq)]
pub struct Smtp {
    /// Server host.
    pub server: String,
    /// Port.
    pub port: u16,
    /// User name.
    pub username: String,
    /// `MAIL_DEFAULT_SEND_FROM`.
    pub from: String,
    /// Implicit TLS.
    pub use_tls: bool,
    /// STARTTLS.
    pub opportunistic_tls: bool,
    /// The existing Secrets Manager secret holding the password (never in the template).
    pub password_secret_arn: String,
}

/// Dify settings that are not infrastructure.
#[derive(Debug, Clone, PartialEq)]
pub struct DifySettings {
    /// `DEBUG`, `INFO`, `WARNING` or `ERROR` (default `INFO`; the seed's `DEBUG` leaks data).
    pub log_level: String,
    /// Extra non-secret environment for api, worker and beat. Default: none.
    pub extra_env: IndexMap<String, String>,
}

impl Default for DifySettings {
    fn default() -> Self {
        DifySettings {
            log_level: "INFO".into(),
            extra_env: IndexMap::new(),
        }
    }
}

/// What Dify runs and how it is named: the settings [`crate::DifyCluster`] takes besides the
/// constructs it connects to.
#[derive(Debug, Clone, PartialEq)]
pub struct AppSettings {
    /// The environment's short name, in log group names (`/dify/<environment>/api`) and alarm
    /// descriptions. Default `dev`.
    pub environment: String,
    /// Prefix of physical names: ECS services and task families (`<prefix>-api`), deployment
    /// alarms, the migration function (`<prefix>-migration`) and the Cloud Map namespace
    /// (`<prefix>.internal`). Default `dify-dev`.
    pub name_prefix: String,
    /// Production: Container Insights with enhanced observability, and
    /// `DEPLOY_ENV=PRODUCTION`. Default `false`.
    pub production: bool,
    /// Days every log group keeps its logs. Default 7.
    pub log_retention_days: u32,
    /// Container images and where they are pulled from. Default: [`Images::default`].
    pub images: Images,
    /// Size and scaling of each component. Default: [`Services::default`] (development).
    pub services: Services,
    /// Outgoing mail. Default `None`: Dify sends none.
    pub smtp: Option<Smtp>,
    /// Log level and extra environment. Default: [`DifySettings::default`].
    pub dify: DifySettings,
    /// Bedrock on the task roles of api, worker and the plugin daemon. Default `None`.
    pub bedrock: Option<BedrockSettings>,
    /// Fargate Spot and the off-hours schedule. Default: none.
    pub cost: CostControls,
    /// ECS Exec and the dashboard. Default: [`Operations::default`].
    pub operations: Operations,
}

impl Default for AppSettings {
    fn default() -> Self {
        AppSettings {
            environment: "dev".into(),
            name_prefix: "dify-dev".into(),
            production: false,
            log_retention_days: 7,
            images: Images::default(),
            services: Services::default(),
            smtp: None,
            dify: DifySettings::default(),
            bedrock: None,
            cost: CostControls::default(),
            operations: Operations::default(),
        }
    }
}

/// The secrets Dify's components share, one generated secret per key pair.
#[derive(Debug, Clone)]
pub struct AppSecrets {
    /// `SECRET_KEY`: signs sessions and file URLs; api, worker and beat share it.
    pub secret_key: GeneratedSecret,
    /// api `PLUGIN_DAEMON_KEY` = daemon `SERVER_KEY`.
    pub plugin_daemon_key: GeneratedSecret,
    /// api `INNER_API_KEY_FOR_PLUGIN` = daemon `DIFY_INNER_API_KEY`.
    pub inner_api_key: GeneratedSecret,
    /// api `CODE_EXECUTION_API_KEY` = sandbox `API_KEY`.
    pub sandbox_api_key: GeneratedSecret,
    /// api `INIT_PASSWORD`: without it, the first visitor to `/install` becomes the owner.
    pub init_password: GeneratedSecret,
}

/// Everything a component's containers are wired to.
#[derive(Debug, Clone)]
pub struct Wiring<'a> {
    /// What runs, and how it is named.
    pub app: &'a AppSettings,
    /// The VPC and its subnets.
    pub network: &'a DifyNetwork,
    /// The load balancer: the public URL and the idle timeout.
    pub ingress: &'a DifyIngress,
    /// The database.
    pub database: &'a DifyDatabase,
    /// The cache.
    pub cache: &'a DifyCache,
    /// The file bucket.
    pub storage: &'a DifyStorage,
    /// Shared secrets.
    pub secrets: &'a AppSecrets,
    /// The customer key logs and secrets are encrypted with, when there is one.
    pub kms_key: Option<&'a Value<KmsKeyArn>>,
    /// The private DNS namespace the services register in (`dify-prd.internal`).
    pub namespace: String,
    /// The ECR pull-through cache rule every image is pulled through, when configured.
    pub pull_through: Option<ResourceRef>,
    /// Private-only mode's endpoints: tasks reach AWS through them, never the internet.
    pub private: Option<&'a PrivateEndpoints>,
}

// The ports live beside the components (services.rs): the load balancer needs them too.
pub use crate::services::{API_PORT, PLUGIN_DAEMON_PORT, WEB_PORT};
/// The sandbox.
pub const SANDBOX_PORT: u16 = 8194;
/// The SSRF proxy (squid).
pub const SSRF_PROXY_PORT: u16 = 3128;

/// Container ports: the one place every port mapping, health check, target group and
/// security-group rule takes them from.
pub fn port(c: Component) -> Option<u16> {
    match c {
        Component::Web => Some(WEB_PORT),
        Component::Api => Some(API_PORT),
        Component::PluginDaemon => Some(PLUGIN_DAEMON_PORT),
        Component::Sandbox => Some(SANDBOX_PORT),
        Component::SsrfProxy => Some(SSRF_PROXY_PORT),
        Component::Worker | Component::WorkerLong | Component::Beat => None,
    }
}

impl Wiring<'_> {
    /// HTTPS to anywhere, through the NAT: what Fargate itself needs for a task on this group
    /// (image pulls, Secrets Manager, CloudWatch Logs) and what Dify calls out to (LLM APIs,
    /// the marketplace, PyPI). In private-only mode, HTTPS to the VPC endpoints and S3 only.
    /// Returns the rules, for whatever must wait for them.
    pub fn outbound_internet(
        &self,
        scope: &mut Scope<'_>,
        group: &SecurityGroupHandle,
    ) -> Vec<ResourceRef> {
        if let Some(private) = self.private {
            return private.open(scope, group);
        }
        vec![egress(
            scope,
            "HttpsEgress",
            Egress {
                group,
                to: Destination::Cidr("0.0.0.0/0"),
                port: 443,
                description: "HTTPS out through the NAT (image pulls, secrets, logs, external APIs)",
            },
        )]
    }

    /// Where a task pulls a Docker Hub image from: Docker Hub itself, or the account's ECR
    /// pull-through cache (`<account>.dkr.ecr.<region>.<suffix>/<prefix>/<image>`).
    pub fn image(&self, reference: String) -> Value<String> {
        match &self.app.images.pull_through_cache {
            None => reference.into(),
            Some(cache) => fns::sub(format!(
                "${{AWS::AccountId}}.dkr.ecr.${{AWS::Region}}.${{AWS::URLSuffix}}/{}/{reference}",
                cache.repository_prefix
            )),
        }
    }

    /// What an execution role needs to pull through the cache: ECR creates each cached
    /// repository on its first pull, on the puller's behalf (`ecr:CreateRepository`,
    /// `ecr:BatchImportUpstreamImage`), then serves it like any other.
    pub fn pull_statements(&self) -> Vec<serde_json::Value> {
        let Some(cache) = &self.app.images.pull_through_cache else {
            return own_ecr_statements(&self.app.images.registry);
        };
        ecr_pull_statements(
            "PullThroughCache",
            &["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"],
            fns::sub(format!(
                "arn:${{AWS::Partition}}:ecr:${{AWS::Region}}:${{AWS::AccountId}}:repository/{}/*",
                cache.repository_prefix
            )),
        )
    }

    /// `http://<component>.<namespace>:<port>`.
    pub fn internal_url(&self, c: Component) -> String {
        format!(
            "http://{}.{}:{}",
            c.dns_name(),
            self.namespace,
            port(c).unwrap_or(80)
        )
    }

    fn public(&self, suffix: &str) -> Value<String> {
        if suffix.is_empty() {
            return self.ingress.url.clone();
        }
        match &self.ingress.url {
            Value::Literal(u) => Value::from(format!("{u}{suffix}")),
            other => fns::join("", [other.clone(), suffix.into()]),
        }
    }

    fn generated(s: &GeneratedSecret) -> SecretSource {
        SecretSource::Generated(s.clone(), s.key)
    }

    fn db_user(&self) -> SecretSource {
        SecretSource::Generated(self.database.active_app().clone(), Some("username"))
    }

    fn db_password(&self) -> SecretSource {
        SecretSource::Generated(self.database.active_app().clone(), Some("password"))
    }

    /// The environment api, worker, beat and the migration share (`x-shared-env` in Dify's
    /// compose), minus `MODE`.
    pub fn api_environment(&self) -> Vec<(String, Value<String>)> {
        let e = self.app;
        let mut v: Vec<(String, Value<String>)> = Vec::new();
        let mut set = |k: &str, val: Value<String>| v.push((k.to_owned(), val));
        set("LOG_LEVEL", e.dify.log_level.as_str().into());
        set("LOG_OUTPUT_FORMAT", "json".into());
        set(
            "DEPLOY_ENV",
            if e.production {
                "PRODUCTION"
            } else {
                "TESTING"
            }
            .into(),
        );
        set("MIGRATION_ENABLED", "false".into());
        for k in [
            "CONSOLE_API_URL",
            "CONSOLE_WEB_URL",
            "SERVICE_API_URL",
            "APP_API_URL",
            "APP_WEB_URL",
            "FILES_URL",
            "TRIGGER_URL",
            "WEB_API_CORS_ALLOW_ORIGINS",
            "CONSOLE_CORS_ALLOW_ORIGINS",
        ] {
            set(k, self.public(""));
        }
        set("ENDPOINT_URL_TEMPLATE", self.public("/e/{hook_id}"));
        set(
            "INTERNAL_FILES_URL",
            self.internal_url(Component::Api).into(),
        );
        // Database: the application user (not the master), TLS required by the cluster.
        set("DB_TYPE", "postgresql".into());
        set("DB_HOST", self.database.host());
        set("DB_PORT", database::PORT.to_string().into());
        set("DB_DATABASE", database::DATABASE_NAME.into());
        set("DB_EXTRAS", "sslmode=require".into());
        set("SQLALCHEMY_POOL_PRE_PING", "true".into());
        // A database that pauses (0 ACU) closes every connection when it does: pre-ping
        // replaces a dead pooled connection at checkout, and recycling them within Aurora's
        // shortest pause delay (300 s) keeps none older than a pause. Dify reads both from
        // api/configs/middleware/__init__.py (DatabaseConfig; 1.13.3: default 3600 and False).
        if matches!(self.database.capacity, DbCapacity::Serverless { min_acu, .. } if min_acu == 0.0)
        {
            set("SQLALCHEMY_POOL_RECYCLE", "280".into());
        }
        set("VECTOR_STORE", "pgvector".into());
        set("PGVECTOR_HOST", self.database.host());
        set("PGVECTOR_PORT", database::PORT.to_string().into());
        set("PGVECTOR_DATABASE", database::DATABASE_NAME.into());
        // Cache: TLS with the server verified against the system CAs (never CERT_NONE).
        set("REDIS_HOST", self.cache.host());
        set("REDIS_PORT", cache::PORT.to_string().into());
        set("REDIS_DB", "0".into());
        set("REDIS_USE_SSL", "true".into());
        set("REDIS_SSL_CERT_REQS", "CERT_REQUIRED".into());
        set("REDIS_SSL_CA_CERTS", cache::CA_BUNDLE.into());
        set("CELERY_BACKEND", "redis".into());
        // Files: the shared bucket through the task role, no access keys.
        set("STORAGE_TYPE", "s3".into());
        set("S3_BUCKET_NAME", self.storage.bucket.reference().untyped());
        set("S3_REGION", pseudo::region());
        set("S3_USE_AWS_MANAGED_IAM", "true".into());
        // Sibling services, through the private namespace.
        set(
            "CODE_EXECUTION_ENDPOINT",
            self.internal_url(Component::Sandbox).into(),
        );
        set(
            "SSRF_PROXY_HTTP_URL",
            self.internal_url(Component::SsrfProxy).into(),
        );
        set(
            "SSRF_PROXY_HTTPS_URL",
            self.internal_url(Component::SsrfProxy).into(),
        );
        set(
            "PLUGIN_DAEMON_URL",
            self.internal_url(Component::PluginDaemon).into(),
        );
        set("PLUGIN_DAEMON_TIMEOUT", "600".into());
        // A private Dify cannot reach the marketplace: plugins are uploaded as packages.
        set(
            "MARKETPLACE_ENABLED",
            if self.private.is_some() {
                "false"
            } else {
                "true"
            }
            .into(),
        );
        set("MARKETPLACE_API_URL", "https://marketplace.dify.ai".into());
        // Streams (SSE) last minutes; the ALB idle timeout is set to match.
        set("GUNICORN_TIMEOUT", "360".into());
        // A blocking-mode app call may be silent until the app's time limit (Dify's default
        // 1200 s): bound it by what the load balancer lets sit idle, which every target group
        // also drains for.
        set(
            "APP_MAX_EXECUTION_TIME",
            self.ingress.idle_timeout_seconds.to_string().into(),
        );
        if let Some(smtp) = &e.smtp {
            set("MAIL_TYPE", "smtp".into());
            set("MAIL_DEFAULT_SEND_FROM", smtp.from.as_str().into());
            set("SMTP_SERVER", smtp.server.as_str().into());
            set("SMTP_PORT", smtp.port.to_string().into());
            set("SMTP_USERNAME", smtp.username.as_str().into());
            set("SMTP_USE_TLS", smtp.use_tls.to_string().into());
            set(
                "SMTP_OPPORTUNISTIC_TLS",
                smtp.opportunistic_tls.to_string().into(),
            );
        }
        for (k, val) in &e.dify.extra_env {
            set(k, val.as_str().into());
        }
        v
    }

    /// How many processes a task of `c` runs and the database pools each opens (see
    /// [`crate::sizing`]); read by `api/docker/entrypoint.sh` and `api/configs` at 1.13.3.
    pub fn process_environment(&self, c: Component) -> Vec<(String, Value<String>)> {
        let size = self.app.services.get(c);
        let pools = sizing::pools(c, size.processes);
        let mut v: Vec<(String, Value<String>)> = vec![
            (
                "SQLALCHEMY_POOL_SIZE".into(),
                pools.pool_size.to_string().into(),
            ),
            (
                "SQLALCHEMY_MAX_OVERFLOW".into(),
                pools.max_overflow.to_string().into(),
            ),
            (
                "PGVECTOR_MAX_CONNECTION".into(),
                pools.pgvector_max.to_string().into(),
            ),
        ];
        match c {
            Component::Api => {
                v.push((
                    "SERVER_WORKER_AMOUNT".into(),
                    size.processes.to_string().into(),
                ));
                v.push(("SERVER_WORKER_CLASS".into(), "gevent".into()));
                v.push((
                    "SERVER_WORKER_CONNECTIONS".into(),
                    size.connections.to_string().into(),
                ));
            }
            Component::Worker | Component::WorkerLong => {
                v.push((
                    "CELERY_WORKER_AMOUNT".into(),
                    size.processes.to_string().into(),
                ));
                if let Some(queues) = self.worker_queues(c) {
                    // CELERY_WORKER_QUEUES wins over CELERY_QUEUES and the default list
                    // (api/docker/entrypoint.sh at 1.13.3).
                    v.push(("CELERY_WORKER_QUEUES".into(), queues.join(",").into()));
                }
            }
            _ => {}
        }
        v
    }

    /// The queues a worker consumes when the long queues have a worker of their own; `None`
    /// (Dify's default: all of them) otherwise. Together the two cover every queue once.
    pub fn worker_queues(&self, c: Component) -> Option<Vec<String>> {
        let long = self.app.services.long_queues();
        if long.is_empty() {
            return None;
        }
        match c {
            Component::WorkerLong => Some(long.to_vec()),
            Component::Worker => Some(
                CELERY_QUEUES
                    .iter()
                    .filter(|q| !long.iter().any(|l| l == *q))
                    .map(|q| (*q).to_owned())
                    .collect(),
            ),
            _ => None,
        }
    }

    /// The secrets api, worker, beat and the migration share.
    pub fn api_secrets(&self) -> Vec<(String, SecretSource)> {
        let s = self.secrets;
        let mut v = vec![
            ("SECRET_KEY".to_owned(), Self::generated(&s.secret_key)),
            ("DB_USERNAME".to_owned(), self.db_user()),
            ("DB_PASSWORD".to_owned(), self.db_password()),
            ("PGVECTOR_USER".to_owned(), self.db_user()),
            ("PGVECTOR_PASSWORD".to_owned(), self.db_password()),
            (
                "REDIS_PASSWORD".to_owned(),
                Self::generated(&self.cache.auth_token),
            ),
            (
                "CELERY_BROKER_URL".to_owned(),
                Self::generated(&self.cache.broker_url),
            ),
            (
                "CODE_EXECUTION_API_KEY".to_owned(),
                Self::generated(&s.sandbox_api_key),
            ),
            (
                "PLUGIN_DAEMON_KEY".to_owned(),
                Self::generated(&s.plugin_daemon_key),
            ),
            (
                "INNER_API_KEY_FOR_PLUGIN".to_owned(),
                Self::generated(&s.inner_api_key),
            ),
        ];
        if let Some(smtp) = &self.app.smtp {
            v.push((
                "SMTP_PASSWORD".to_owned(),
                SecretSource::External(smtp.password_secret_arn.clone()),
            ));
        }
        v
    }

    /// The containers of one component's service.
    pub fn containers(&self, c: Component) -> Vec<ContainerSpec> {
        let images = &self.app.images;
        let mut spec = match c {
            Component::Api | Component::Worker | Component::WorkerLong | Component::Beat => {
                let mut s = ContainerSpec {
                    name: c.key().into(),
                    image: self.image(images.api()),
                    ..ContainerSpec::default()
                };
                let mode = match c {
                    Component::Api => "api",
                    Component::Worker | Component::WorkerLong => "worker",
                    _ => "beat",
                };
                s.environment.push(("MODE".into(), mode.into()));
                s.environment.extend(self.api_environment());
                s.environment.extend(self.process_environment(c));
                s.secrets = self.api_secrets();
                if c == Component::Api {
                    // Only api serves /install; the other modes never need it.
                    s.secrets.push((
                        "INIT_PASSWORD".into(),
                        Self::generated(&self.secrets.init_password),
                    ));
                    s.health = Some(Health {
                        start_period: 120,
                        ..Health::new(format!(
                            "curl -fsS http://localhost:{API_PORT}/health || exit 1"
                        ))
                    });
                    s.stop_timeout = 60;
                } else if matches!(c, Component::Worker | Component::WorkerLong) {
                    // Let running tasks finish before SIGKILL: 120 s is Fargate's maximum, so
                    // a task running longer is cut by a deploy (docs/operations.md).
                    s.stop_timeout = 120;
                }
                s
            }
            Component::Web => {
                let mut s = ContainerSpec {
                    name: "web".into(),
                    image: self.image(images.web()),
                    ..ContainerSpec::default()
                };
                s.environment = vec![
                    ("CONSOLE_API_URL".into(), self.public("")),
                    ("APP_API_URL".into(), self.public("")),
                    (
                        "MARKETPLACE_API_URL".into(),
                        "https://marketplace.dify.ai".into(),
                    ),
                    (
                        "MARKETPLACE_URL".into(),
                        "https://marketplace.dify.ai".into(),
                    ),
                    ("NEXT_TELEMETRY_DISABLED".into(), "1".into()),
                    ("TEXT_GENERATION_TIMEOUT_MS".into(), "600000".into()),
                    // Next.js standalone binds to HOSTNAME; the task's own name is not routable.
                    ("HOSTNAME".into(), "0.0.0.0".into()),
                    ("PORT".into(), WEB_PORT.to_string().into()),
                ];
                // The web image is Alpine: wget, not curl.
                s.health = Some(Health {
                    start_period: 60,
                    ..Health::new(format!(
                        "wget -q -O /dev/null http://127.0.0.1:{WEB_PORT}/ || exit 1"
                    ))
                });
                s
            }
            Component::PluginDaemon => {
                let mut s = ContainerSpec {
                    name: "plugin_daemon".into(),
                    image: self.image(images.plugin_daemon()),
                    ..ContainerSpec::default()
                };
                let env: Vec<(&str, Value<String>)> = vec![
                    ("SERVER_PORT", PLUGIN_DAEMON_PORT.to_string().into()),
                    (
                        "DIFY_INNER_API_URL",
                        self.internal_url(Component::Api).into(),
                    ),
                    ("DB_HOST", self.database.host()),
                    ("DB_PORT", database::PORT.to_string().into()),
                    ("DB_DATABASE", database::PLUGIN_DATABASE_NAME.into()),
                    ("DB_SSL_MODE", "require".into()),
                    (
                        "DB_MAX_OPEN_CONNS",
                        sizing::PLUGIN_DAEMON_MAX_OPEN_CONNS.to_string().into(),
                    ),
                    ("REDIS_HOST", self.cache.host()),
                    ("REDIS_PORT", cache::PORT.to_string().into()),
                    ("REDIS_DB", "0".into()),
                    ("REDIS_USE_SSL", "true".into()),
                    ("PLUGIN_STORAGE_TYPE", "aws_s3".into()),
                    (
                        "PLUGIN_STORAGE_OSS_BUCKET",
                        self.storage.bucket.reference().untyped(),
                    ),
                    // Without AWS_REGION the daemon panics ("aws region is empty").
                    ("AWS_REGION", pseudo::region()),
                    ("S3_USE_AWS", "true".into()),
                    ("S3_USE_AWS_MANAGED_IAM", "true".into()),
                    ("S3_USE_PATH_STYLE", "false".into()),
                    ("PLUGIN_INSTALLED_PATH", "plugin".into()),
                    ("PLUGIN_WORKING_PATH", "/app/storage/cwd".into()),
                    // Port 5003 is raw TCP and would need an NLB; off unless asked for.
                    ("PLUGIN_REMOTE_INSTALLING_ENABLED", "false".into()),
                    ("PLUGIN_MAX_EXECUTION_TIMEOUT", "600".into()),
                    ("PYTHON_ENV_INIT_TIMEOUT", "120".into()),
                    ("FORCE_VERIFYING_SIGNATURE", "true".into()),
                ];
                s.environment = env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
                s.secrets = vec![
                    (
                        "SERVER_KEY".into(),
                        Self::generated(&self.secrets.plugin_daemon_key),
                    ),
                    (
                        "DIFY_INNER_API_KEY".into(),
                        Self::generated(&self.secrets.inner_api_key),
                    ),
                    // Its own role, owner of dify_plugin only: plugins inherit the daemon's
                    // environment (local_runtime: cmd.Env = cmd.Environ()).
                    (
                        "DB_USERNAME".into(),
                        SecretSource::Generated(self.database.plugin.clone(), Some("username")),
                    ),
                    (
                        "DB_PASSWORD".into(),
                        SecretSource::Generated(self.database.plugin.clone(), Some("password")),
                    ),
                    (
                        "REDIS_PASSWORD".into(),
                        Self::generated(&self.cache.auth_token),
                    ),
                ];
                if let Some(private) = self.private {
                    // The index plugin dependencies install from (`uv pip install -i`,
                    // dify-plugin-daemon 0.5.5 internal/types/app/config.go PipMirrorUrl).
                    s.environment.push((
                        "PIP_MIRROR_URL".into(),
                        private.pypi_mirror_url.as_str().into(),
                    ));
                }
                s.environment.push((
                    "PLUGIN_READINESS_DEADLINE_SECONDS".into(),
                    PLUGIN_READINESS_DEADLINE_SECONDS.to_string().into(),
                ));
                s.health = Some(plugin_daemon_readiness());
                s.stop_timeout = 60;
                s
            }
            Component::Sandbox => {
                let mut s = ContainerSpec {
                    name: "sandbox".into(),
                    image: self.image(images.sandbox()),
                    ..ContainerSpec::default()
                };
                let proxy = self.internal_url(Component::SsrfProxy);
                s.environment = vec![
                    ("GIN_MODE".into(), "release".into()),
                    ("SANDBOX_PORT".into(), SANDBOX_PORT.to_string().into()),
                    ("WORKER_TIMEOUT".into(), "15".into()),
                    ("ENABLE_NETWORK".into(), "true".into()),
                    ("HTTP_PROXY".into(), proxy.clone().into()),
                    ("HTTPS_PROXY".into(), proxy.into()),
                ];
                s.secrets = vec![(
                    "API_KEY".into(),
                    Self::generated(&self.secrets.sandbox_api_key),
                )];
                s.health = Some(Health {
                    start_period: 30,
                    ..Health::new(format!(
                        "curl -fsS http://localhost:{SANDBOX_PORT}/health || exit 1"
                    ))
                });
                s
            }
            Component::SsrfProxy => {
                let mut s = ContainerSpec {
                    name: "ssrf_proxy".into(),
                    image: self.image(images.ssrf_proxy.clone()),
                    ..ContainerSpec::default()
                };
                // No bind mounts on Fargate: the config travels in the task definition and
                // is written before squid starts. Squid itself is started (not the image's
                // entry script) so nothing depends on how the image wraps it.
                s.environment = vec![("SQUID_CONF".into(), SQUID_CONF.into())];
                s.entry_point = Some(vec!["/bin/sh".into(), "-c".into()]);
                s.command = Some(vec![SQUID_START.trim_end().into()]);
                s
            }
        };
        spec.port = port(c);
        vec![spec]
    }
}

/// What an execution role needs to pull the Dify images from an ECR registry the team mirrors
/// them to (`images.registry = "<account>.dkr.ecr.<region>.amazonaws.com/<path>"`): nothing
/// when the registry is not ECR (Docker Hub needs no permission).
fn own_ecr_statements(registry: &str) -> Vec<serde_json::Value> {
    let Some((host, path)) = registry.split_once('/') else {
        return Vec::new();
    };
    let mut parts = host.split('.');
    let (Some(account), Some("dkr"), Some("ecr"), Some(region)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Vec::new();
    };
    ecr_pull_statements(
        "PullMirroredImages",
        &[],
        fns::sub(format!(
            "arn:${{AWS::Partition}}:ecr:{region}:{account}:repository/{}/*",
            path.trim_end_matches('/')
        )),
    )
}

/// ECR login (which has no resource-level permission) and pulling from `repositories`, plus
/// `extra` actions on them.
fn ecr_pull_statements(
    sid: &str,
    extra: &[&str],
    repositories: Value<String>,
) -> Vec<serde_json::Value> {
    let mut actions = vec![
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchCheckLayerAvailability",
    ];
    actions.extend_from_slice(extra);
    vec![
        serde_json::json!({
            "Sid": "EcrLogin",
            "Effect": "Allow",
            "Action": "ecr:GetAuthorizationToken",
            "Resource": "*"
        }),
        serde_json::json!({
            "Sid": sid,
            "Effect": "Allow",
            "Action": actions,
            "Resource": repositories
        }),
    ]
}

/// The plugin daemon's readiness check (Python, see the file's own comments).
pub const PLUGIN_DAEMON_READY: &str = include_str!("../assets/plugin_daemon/ready.py");

/// How long a new daemon task may wait for its plugins before it counts as ready anyway: one
/// plugin that can never start on a fresh node then delays a rollout by this much instead of
/// blocking it. Below `start_period + retries × interval` (450 s), so the check latches before
/// ECS could call the container unhealthy.
pub const PLUGIN_READINESS_DEADLINE_SECONDS: u32 = 420;

/// Healthy only once this node runs every installed plugin (or the deadline passed): the
/// script without its comment header, fed to python3 through a here-document, as ECS runs
/// `CMD-SHELL` commands with `/bin/sh -c`.
pub fn plugin_daemon_readiness() -> Health {
    let script: String = PLUGIN_DAEMON_READY
        .lines()
        .skip_while(|l| l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    Health {
        command: format!("python3 - <<'EOF'\n{script}EOF"),
        start_period: 300,
        interval: 15,
        // One S3 listing and a probe per plugin on the loopback.
        timeout: 10,
        retries: 10,
    }
}

/// Squid as Dify's SSRF filter: clients from the VPC's private ranges only, CONNECT to 443
/// only, and no destination in private, loopback, link-local (instance metadata) or
/// carrier-grade NAT space, so code in the sandbox and tool calls from the api cannot reach
/// anything inside the VPC.
pub const SQUID_CONF: &str = include_str!("../assets/ssrf_proxy/squid.conf");

/// The SSRF proxy container's command (run by `/bin/sh -c`): writes [`SQUID_CONF`] from the
/// environment, then starts squid in the foreground.
pub const SQUID_START: &str = include_str!("../assets/ssrf_proxy/start.sh");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mirror_in_ecr_may_be_pulled_and_docker_hub_needs_nothing() {
        let s = own_ecr_statements("123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/mirror");
        assert_eq!(s.len(), 2);
        assert_eq!(
            s[1]["Resource"]["Fn::Sub"],
            "arn:${AWS::Partition}:ecr:ap-northeast-1:123456789012:repository/mirror/*"
        );
        assert!(own_ecr_statements("langgenius").is_empty());
        assert!(own_ecr_statements("ghcr.io/langgenius").is_empty());
    }

    #[test]
    fn squid_listens_where_the_proxy_url_points() {
        assert!(SQUID_CONF.contains(&format!("\nhttp_port {SSRF_PROXY_PORT}\n")));
    }
}
