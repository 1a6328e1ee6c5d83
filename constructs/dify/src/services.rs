//! Dify's components and the size and scaling of the ECS service each runs as: the settings
//! [`crate::DifyCluster`] consumes, and the Celery queues a long-running worker takes.

use indexmap::IndexMap;

/// Size and scaling of one ECS service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceSize {
    /// Task CPU units (256 = ¼ vCPU).
    pub cpu: u32,
    /// Task memory in MiB.
    pub memory: u32,
    /// Desired tasks at creation.
    pub desired: u32,
    /// Autoscaling minimum.
    pub min: u32,
    /// Autoscaling maximum.
    pub max: u32,
    /// Task ephemeral storage in GiB (21-200; 20 is Fargate's free default).
    pub ephemeral_storage_gib: u32,
    /// Processes per task: gunicorn workers on api (`SERVER_WORKER_AMOUNT`), Celery
    /// concurrency on worker (`CELERY_WORKER_AMOUNT`); 1 elsewhere. Default: from CPU and
    /// memory ([`crate::sizing::default_processes`]).
    pub processes: u32,
    /// Concurrent requests per api process (gevent, `SERVER_WORKER_CONNECTIONS`).
    pub connections: u32,
}

/// The Dify components, each its own ECS service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Component {
    /// Next.js front end, port 3000.
    Web,
    /// Flask API, port 5001.
    Api,
    /// Celery worker (every queue, or the short ones when `WorkerLong` runs).
    Worker,
    /// A second Celery worker for the long-running queues (indexing, pipelines, workflow
    /// runs), only when `[services.worker_long]` is configured.
    WorkerLong,
    /// Celery beat (exactly one task).
    Beat,
    /// Plugin daemon, port 5002.
    PluginDaemon,
    /// Code sandbox, port 8194 (internal only).
    Sandbox,
    /// Squid SSRF proxy, port 3128: the egress path of sandbox and api.
    SsrfProxy,
}

impl Component {
    /// All components, in a stable order.
    pub const ALL: [Component; 8] = [
        Component::Web,
        Component::Api,
        Component::Worker,
        Component::WorkerLong,
        Component::Beat,
        Component::PluginDaemon,
        Component::Sandbox,
        Component::SsrfProxy,
    ];

    /// The key in `[services.<key>]` and in resource names.
    pub fn key(self) -> &'static str {
        match self {
            Component::Web => "web",
            Component::Api => "api",
            Component::Worker => "worker",
            Component::WorkerLong => "worker_long",
            Component::Beat => "beat",
            Component::PluginDaemon => "plugin_daemon",
            Component::Sandbox => "sandbox",
            Component::SsrfProxy => "ssrf_proxy",
        }
    }

    /// A name fit for AWS resource names (`plugin-daemon`).
    pub fn dns_name(self) -> &'static str {
        match self {
            Component::PluginDaemon => "plugin-daemon",
            Component::SsrfProxy => "ssrf-proxy",
            Component::WorkerLong => "worker-long",
            other => other.key(),
        }
    }

    /// `PluginDaemon`-style name for logical IDs and output names.
    pub fn camel(self) -> String {
        self.key()
            .split('_')
            .map(|w| {
                let mut ch = w.chars();
                ch.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + ch.as_str())
                    .unwrap_or_default()
            })
            .collect()
    }

    /// The component whose [`Self::key`] this is.
    pub fn from_key(k: &str) -> Option<Component> {
        Component::ALL.into_iter().find(|c| c.key() == k)
    }

    /// The size a component gets outside production: one task (autoscaling up to 3 where it
    /// may scale at all).
    pub fn development_size(self) -> ServiceSize {
        self.default_size(false)
    }

    /// The size a component gets in production: two tasks or more where more than one may
    /// run, scaling further under load.
    pub fn production_size(self) -> ServiceSize {
        self.default_size(true)
    }

    fn default_size(self, production: bool) -> ServiceSize {
        let (cpu, memory, desired_prd, max_prd, storage) = match self {
            Component::Web => (512, 1024, 2, 6, 21),
            Component::Api => (1024, 2048, 2, 10, 21),
            Component::Worker | Component::WorkerLong => (1024, 2048, 2, 10, 21),
            Component::Beat => (256, 512, 1, 1, 21),
            // Every daemon start re-installs plugins: size memory and disk generously
            // (aws-samples#119; daemon#495).
            Component::PluginDaemon => (1024, 4096, 1, 1, 60),
            Component::Sandbox => (512, 1024, 2, 4, 21),
            Component::SsrfProxy => (256, 512, 2, 4, 21),
        };
        let pinned = matches!(self, Component::Beat | Component::PluginDaemon);
        let (desired, min, max) = if production {
            (desired_prd, desired_prd, max_prd)
        } else if pinned {
            (1, 1, 1)
        } else {
            (1, 1, max_prd.min(3))
        };
        ServiceSize {
            cpu,
            memory,
            desired,
            min,
            max,
            ephemeral_storage_gib: storage,
            processes: default_processes(self, cpu, memory),
            connections: DEFAULT_API_CONNECTIONS,
        }
    }
}

/// Sizes of every component, and the queues of the long-running worker when it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Services {
    sizes: IndexMap<Component, ServiceSize>,
    long_queues: Vec<String>,
    log_group_names: IndexMap<Component, String>,
}

impl Default for Services {
    /// Every component but `WorkerLong` at its [`Component::development_size`].
    fn default() -> Self {
        Services::with_sizes(Component::development_size)
    }
}

impl Services {
    /// Every component but `WorkerLong` at its [`Component::production_size`].
    pub fn production() -> Services {
        Services::with_sizes(Component::production_size)
    }

    fn with_sizes(size: fn(Component) -> ServiceSize) -> Services {
        Services {
            sizes: Component::ALL
                .into_iter()
                .filter(|c| *c != Component::WorkerLong)
                .map(|c| (c, size(c)))
                .collect(),
            long_queues: Vec::new(),
            log_group_names: IndexMap::new(),
        }
    }

    /// Sets one component's size. Setting `WorkerLong`'s runs it, on [`LONG_QUEUES`] unless
    /// [`Self::set_long_queues`] chose others.
    pub fn set(&mut self, c: Component, size: ServiceSize) {
        if c == Component::WorkerLong && self.long_queues.is_empty() {
            self.long_queues = LONG_QUEUES.iter().map(|q| (*q).to_owned()).collect();
        }
        self.sizes.insert(c, size);
    }

    /// The Celery queues `worker_long` consumes; `worker` consumes the rest of
    /// [`CELERY_QUEUES`].
    pub fn set_long_queues(&mut self, queues: Vec<String>) {
        self.long_queues = queues;
    }

    /// Pins a component's log group name (an existing group being adopted); without one the
    /// group is `/dify/<environment>/<component>`.
    pub fn set_log_group_name(&mut self, c: Component, name: String) {
        self.log_group_names.insert(c, name);
    }

    /// The pinned log group name of a component, if any.
    pub fn log_group_name(&self, c: Component) -> Option<&str> {
        self.log_group_names.get(&c).map(String::as_str)
    }

    /// The components this environment runs, in [`Component::ALL`]'s order: all but
    /// `WorkerLong`, which runs only when configured.
    pub fn components(&self) -> impl Iterator<Item = Component> + '_ {
        Component::ALL
            .into_iter()
            .filter(|c| *c != Component::WorkerLong || self.sizes.contains_key(c))
    }

    /// The Celery queues `worker_long` consumes (empty when it does not run); `worker`
    /// consumes the rest of [`CELERY_QUEUES`].
    pub fn long_queues(&self) -> &[String] {
        if self.sizes.contains_key(&Component::WorkerLong) {
            &self.long_queues
        } else {
            &[]
        }
    }

    /// The size of one component.
    pub fn get(&self, c: Component) -> ServiceSize {
        self.sizes
            .get(&c)
            .copied()
            .unwrap_or_else(|| c.development_size())
    }
}

/// The queues Dify 1.13.3's worker consumes by default in the community edition
/// (`api/docker/entrypoint.sh`, `DEFAULT_QUEUES`); every one must have a consumer, or its tasks
/// wait forever. `workflow_based_app_execution` runs streaming workflow and chatflow runs.
pub const CELERY_QUEUES: [&str; 19] = [
    "api_token",
    "dataset",
    "dataset_summary",
    "priority_dataset",
    "priority_pipeline",
    "pipeline",
    "mail",
    "ops_trace",
    "app_deletion",
    "plugin",
    "workflow_storage",
    "conversation",
    "workflow",
    "schedule_poller",
    "schedule_executor",
    "triggered_workflow_dispatcher",
    "trigger_refresh_executor",
    "retention",
    "workflow_based_app_execution",
];

/// The queues whose tasks run for minutes to hours: document indexing, RAG pipelines and
/// workflow runs. `worker_long` takes them by default, so a burst of them never starves mail,
/// traces or schedules.
pub const LONG_QUEUES: [&str; 7] = [
    "dataset",
    "dataset_summary",
    "priority_dataset",
    "pipeline",
    "priority_pipeline",
    "workflow",
    "workflow_based_app_execution",
];

/// Concurrent requests per api process (gevent greenlets). Dify's default is 10, which queues
/// the eleventh chat stream behind the first ten.
pub const DEFAULT_API_CONNECTIONS: u32 = 50;

/// Processes per task from its size: one gunicorn worker per vCPU on api; on worker, Celery
/// concurrency (greenlets) of two per vCPU as long as each has 1 GiB; one elsewhere.
pub fn default_processes(c: Component, cpu: u32, memory: u32) -> u32 {
    match c {
        Component::Api => (cpu / 1024).max(1),
        Component::Worker | Component::WorkerLong => (cpu / 512).min(memory / 1024).max(1),
        _ => 1,
    }
}

/// web (Next.js).
pub const WEB_PORT: u16 = 3000;
/// api (gunicorn).
pub const API_PORT: u16 = 5001;
/// The plugin daemon.
pub const PLUGIN_DAEMON_PORT: u16 = 5002;
