//! DifyCluster: the ECS cluster on Fargate and one service per Dify component, each sized,
//! scaled, secured and logged on its own, rolled out with zero downtime behind the migration
//! step.

use cfn_core::refs::{KmsKeyArn, TopicArn, VpcId};
use cfn_core::{NodeId, ResourceRef, Scope, Value, fns};
use cfn_resources::cloudwatch;
use cfn_resources::ec2::SecurityGroupHandle;
use cfn_resources::ecr;
use cfn_resources::ecs::{self, ClusterHandle, ServiceHandle, service as svc};
use cfn_resources::elasticloadbalancingv2::TargetGroupHandle;
use cfn_resources::servicediscovery as sd;
use indexmap::IndexMap;

use crate::common::{
    Destination, Egress, GeneratedSecret, Path, RandomProps, SecurityGroupProps, ServicePort,
    closed_security_group, egress, link,
};
use crate::components::{AppSecrets, AppSettings, PLUGIN_READINESS_DEADLINE_SECONDS, Wiring, port};
use crate::cost_controls::SPOT_CAPABLE;
use crate::exec::{EcsExec, EcsExecProps};
use crate::images::PullThroughCache;
use crate::ingress::DifyIngress;
use crate::migration::{Migration, MigrationProps};
use crate::network::DifyNetwork;
use crate::private::{PrivateEndpoints, SmtpRelay};
use crate::scaling::{Scaling, autoscaling, capacity, refuse_unsafe_spot};
use crate::services::Component;
use crate::task::{Task, TaskProps, TaskSize};
use crate::{DifyCache, DifyDatabase, DifyStorage};

/// One component's service.
#[derive(Debug, Clone)]
pub struct DifyService {
    /// The ECS service.
    pub service: ServiceHandle,
    /// Its task definition, roles and log group.
    pub task: Task,
    /// Its security group (in: only what needs it; out: what it calls).
    pub security_group: SecurityGroupHandle,
    /// The alarms that roll a deployment back, by name.
    pub deployment_alarms: Vec<String>,
}

/// The cluster, its services, the migration step and the shared secrets.
#[derive(Debug, Clone)]
pub struct DifyCluster {
    /// The ECS cluster.
    pub cluster: ClusterHandle,
    /// One service per component.
    pub services: IndexMap<Component, DifyService>,
    /// The pre-rollout migration step.
    pub migration: Migration,
    /// Secrets shared by the components.
    pub secrets: AppSecrets,
    /// The ECS Exec session key and log group, when `operations.ecs_exec` is on.
    pub exec: Option<EcsExec>,
}

/// Inputs of [`DifyCluster`]: the constructs it connects to, and what it runs.
#[derive(Debug, Clone)]
pub struct DifyClusterProps<'a> {
    /// The VPC: services run in its private subnets.
    pub network: &'a DifyNetwork,
    /// The database the services connect to as the application user.
    pub database: &'a DifyDatabase,
    /// The cache and Celery broker.
    pub cache: &'a DifyCache,
    /// The file bucket.
    pub storage: &'a DifyStorage,
    /// The load balancer web, api and the plugin daemon register with.
    pub ingress: &'a DifyIngress,
    /// Images, sizes, mail, log retention and names. Default: [`AppSettings::default`].
    pub app: AppSettings,
    /// A customer key for the logs and the generated secrets. Default `None`: AWS managed
    /// keys.
    pub kms_key: Option<Value<KmsKeyArn>>,
    /// Where the deployment alarms notify. Default `None`: nowhere (they still roll a
    /// deployment back).
    pub alarm_topic: Option<Value<TopicArn>>,
    /// Private-only mode's endpoints: every task group reaches AWS through them and nothing
    /// reaches the internet. Default `None`.
    pub private: Option<&'a PrivateEndpoints>,
}

impl DifyCluster {
    /// Creates the cluster and everything that runs in it: the ECS cluster, the Cloud Map
    /// namespace, Dify's generated keys, the migration step, a closed security group per
    /// component with the paths between them, and the services.
    pub fn new(scope: &mut Scope<'_>, id: &str, props: DifyClusterProps<'_>) -> DifyCluster {
        let d = &props;
        let mut s = scope.child(id);
        let env = &d.app;
        refuse_unsafe_spot(&mut s, env);
        let exec = env.operations.ecs_exec.then(|| {
            EcsExec::new(
                &mut s,
                "Exec",
                EcsExecProps {
                    environment: env.environment.clone(),
                    name_prefix: env.name_prefix.clone(),
                    log_retention_days: env.log_retention_days.max(30),
                    kms_key: d.kms_key.clone(),
                },
            )
        });
        let cluster = ecs_cluster(&mut s, env.production, exec.as_ref());
        let namespace_name = format!("{}.internal", env.name_prefix);
        let namespace = s.add(
            "Namespace",
            sd::PrivateDnsNamespace::builder()
                .name(namespace_name.as_str())
                .build()
                .vpc(d.network.vpc_id.clone())
                .description("Service discovery between Dify's components"),
        );
        let secrets = app_secrets(&mut s.child("Secrets"), d.kms_key.as_ref());
        let wiring = Wiring {
            app: env,
            network: d.network,
            ingress: d.ingress,
            database: d.database,
            cache: d.cache,
            storage: d.storage,
            secrets: &secrets,
            kms_key: d.kms_key.as_ref(),
            namespace: namespace_name,
            pull_through: env
                .images
                .pull_through_cache
                .as_ref()
                .map(|cache| pull_through_cache(&mut s, cache)),
            private: d.private,
        };
        let migration = Migration::new(
            &mut s,
            "Migration",
            MigrationProps {
                wiring: &wiring,
                cluster: &cluster,
            },
        );
        // Groups first, closed both ways; then the paths between them; then the services,
        // each waiting for the paths it calls out on.
        let (nodes, groups) = component_groups(&mut s, env, &d.network.vpc_id);
        let outbound = wire_security_groups(&mut s, d, &wiring, &groups, &migration);
        let mut services = IndexMap::new();
        for c in env.services.components() {
            let mut cs = s.stack().scope(nodes[&c]);
            let parts = ServiceParts {
                component: c,
                cluster: &cluster,
                namespace: &namespace,
                security_group: &groups[&c],
                waits_for: &outbound[&c],
                migration: &migration,
                exec: exec.as_ref(),
            };
            services.insert(c, DifyService::new(&mut cs, d, &wiring, parts));
        }
        DifyCluster {
            cluster,
            services,
            migration,
            secrets,
            exec,
        }
    }
}

/// The ECS cluster (Container Insights, enhanced in production; ECS Exec sessions encrypted
/// and logged when `exec` is given) and its capacity providers: Fargate by default (the
/// migration task names it too), Fargate Spot for services that ask for it.
fn ecs_cluster(s: &mut Scope<'_>, production: bool, exec: Option<&EcsExec>) -> ClusterHandle {
    let insights = if production { "enhanced" } else { "enabled" };
    let mut definition = ecs::Cluster::new().cluster_settings(vec![
        ecs::cluster::ClusterSettings::new()
            .name("containerInsights")
            .value(insights),
    ]);
    if let Some(exec) = exec {
        definition = definition.configuration(exec.cluster_configuration());
    }
    let cluster = s.add("Cluster", definition);
    let fargate = ecs::cluster_capacity_provider_associations::CapacityProviderStrategy::builder()
        .capacity_provider("FARGATE")
        .build()
        .weight(1)
        .base(0);
    s.add(
        "CapacityProviders",
        ecs::ClusterCapacityProviderAssociations::builder()
            .cluster(cluster.reference())
            .default_capacity_provider_strategy(vec![fargate])
            .build()
            .capacity_providers(vec!["FARGATE", "FARGATE_SPOT"]),
    );
    cluster
}

/// Dify's generated keys, each in a secret of its own under `k` (the `Secrets` child).
fn app_secrets(k: &mut Scope<'_>, kms_key: Option<&Value<KmsKeyArn>>) -> AppSecrets {
    let mut secret = |id: &str, description: &str, length: i64| {
        GeneratedSecret::random(
            k,
            id,
            RandomProps {
                description,
                length,
                kms_key,
            },
        )
    };
    AppSecrets {
        secret_key: secret(
            "SecretKey",
            "Dify SECRET_KEY (signs sessions and file URLs)",
            48,
        ),
        plugin_daemon_key: secret(
            "PluginDaemonKey",
            "Dify plugin daemon server key (api PLUGIN_DAEMON_KEY = daemon SERVER_KEY)",
            48,
        ),
        inner_api_key: secret(
            "InnerApiKey",
            "Dify inner API key (api INNER_API_KEY_FOR_PLUGIN = daemon DIFY_INNER_API_KEY)",
            48,
        ),
        sandbox_api_key: secret(
            "SandboxApiKey",
            "Dify sandbox API key (api CODE_EXECUTION_API_KEY = sandbox API_KEY)",
            48,
        ),
        // Dify caps INIT_PASSWORD at 30 characters (api/configs/feature: max_length=30).
        init_password: secret(
            "InitPassword",
            "Dify INIT_PASSWORD: asked at /install before the first admin account is created",
            24,
        ),
    }
}

/// A closed security group per component, in the component's own child scope; returns the
/// scopes' nodes (the services are added there later) and the groups.
fn component_groups(
    s: &mut Scope<'_>,
    env: &AppSettings,
    vpc_id: &Value<VpcId>,
) -> (
    IndexMap<Component, NodeId>,
    IndexMap<Component, SecurityGroupHandle>,
) {
    let mut nodes = IndexMap::new();
    let mut groups = IndexMap::new();
    for c in env.services.components() {
        let mut cs = s.child(&c.camel());
        nodes.insert(c, cs.node_id());
        let g = closed_security_group(
            &mut cs,
            "SecurityGroup",
            SecurityGroupProps {
                description: &format!("Dify {}", c.dns_name()),
                vpc_id,
            },
        );
        groups.insert(c, g);
    }
    (nodes, groups)
}

/// The ECR pull-through cache rule for Docker Hub (an `Images` child): tasks pull
/// `<account ECR>/<prefix>/<namespace>/<image>` and ECR fetches it from Docker Hub once, with
/// the configured credentials, instead of every task pulling anonymously.
fn pull_through_cache(s: &mut Scope<'_>, cache: &PullThroughCache) -> ResourceRef {
    use cfn_core::Handle as _;
    let mut i = s.child("Images");
    i.add(
        "DockerHubCache",
        ecr::PullThroughCacheRule::new()
            .ecr_repository_prefix(cache.repository_prefix.as_str())
            .upstream_registry("docker-hub")
            .upstream_registry_url("registry-1.docker.io")
            .credential_arn(cache.credential_arn.as_str()),
    )
    .resource_ref()
    .clone()
}

/// What one component's service is made of, besides the shared dependencies.
struct ServiceParts<'a> {
    component: Component,
    cluster: &'a ClusterHandle,
    namespace: &'a sd::PrivateDnsNamespaceHandle,
    security_group: &'a SecurityGroupHandle,
    /// The rules that open the paths the service calls out on.
    waits_for: &'a [ResourceRef],
    migration: &'a Migration,
    /// ECS Exec, when on: the api service enables it and its task role may use it.
    exec: Option<&'a EcsExec>,
}

impl DifyService {
    fn new(
        cs: &mut Scope<'_>,
        d: &DifyClusterProps<'_>,
        wiring: &Wiring<'_>,
        p: ServiceParts<'_>,
    ) -> DifyService {
        let c = p.component;
        let size = d.app.services.get(c);
        let task = Task::add_to(
            cs,
            TaskProps {
                containers: wiring.containers(c),
                family: Some(format!("{}-{}", d.app.name_prefix, c.dns_name())),
                log_group_name: Some(d.app.services.log_group_name(c).map_or_else(
                    || format!("/dify/{}/{}", d.app.environment, c.dns_name()),
                    str::to_owned,
                )),
                log_retention_days: d.app.log_retention_days,
                kms_key: d.kms_key.clone(),
                task_statements: task_statements(c, d.storage, d.app.bedrock.as_ref())
                    .into_iter()
                    .chain(
                        p.exec
                            .filter(|_| c == Component::Api)
                            .iter()
                            .flat_map(|e| e.task_statements()),
                    )
                    .collect(),
                execution_statements: wiring.pull_statements(),
                size: TaskSize {
                    cpu: size.cpu,
                    memory: size.memory,
                    ephemeral_storage_gib: size.ephemeral_storage_gib,
                },
            },
        );
        let target = target_group(c, d.ingress);
        let deployment_alarms = target
            .map(|tg| deployment_alarms(cs, d, c, tg))
            .unwrap_or_default();
        let discovery = port(c)
            .filter(|_| c != Component::Web)
            .map(|_| discovery(cs, c, p.namespace));
        let mut service = ecs::Service::new()
            .cluster(p.cluster.reference())
            .service_name(format!("{}-{}", d.app.name_prefix, c.dns_name()))
            .task_definition(task.definition.reference())
            .desired_count(i64::from(size.desired))
            .platform_version("LATEST")
            .propagate_tags("SERVICE")
            .enable_ecs_managed_tags(true)
            .deployment_configuration(deployment_configuration(c, &deployment_alarms))
            .network_configuration(
                svc::NetworkConfiguration::new().awsvpc_configuration(
                    svc::AwsVpcConfiguration::new()
                        .subnets(d.network.private_subnets.clone())
                        .security_groups(vec![p.security_group.group_id()])
                        .assign_public_ip("DISABLED"),
                ),
            );
        if let (Some(tg), Some(port)) = (target, port(c)) {
            service = service
                .load_balancers(vec![
                    svc::LoadBalancer::new()
                        .container_name(c.key())
                        .container_port(i64::from(port))
                        .target_group_arn(tg.target_group_arn()),
                ])
                .health_check_grace_period_seconds(match c {
                    // The readiness check may take until its deadline to pass.
                    Component::PluginDaemon => PLUGIN_READINESS_DEADLINE_SECONDS + 60,
                    _ => 180,
                });
        }
        service = capacity(service, d.app.cost.on_spot(c) && SPOT_CAPABLE.contains(&c));
        if p.exec.is_some() && c == Component::Api {
            service = service.enable_execute_command(true);
        }
        if let Some(reg) = &discovery {
            service = service
                .service_registries(vec![svc::ServiceRegistry::new().registry_arn(reg.arn())]);
        }
        let service = cs.add("Service", service);
        // The new task definition rolls out only after the migration step succeeded, a service
        // behind the load balancer only after its routes exist, and every service only after
        // the paths it calls out on are open.
        let mut r = cs
            .stack()
            .resource(&service)
            .depends_on(&p.migration.resource);
        for rule in p.waits_for.iter().chain(&wiring.pull_through) {
            r = r.depends_on(rule);
        }
        if target.is_some() {
            for rule in &d.ingress.rules {
                r = r.depends_on(rule);
            }
            r.depends_on(&d.ingress.listener);
        }
        let schedule = d.app.cost.schedule.as_ref();
        if size.max > size.min || schedule.is_some() {
            // Requests per target only for services the load balancer spreads requests over.
            let request_label = target
                .filter(|_| matches!(c, Component::Web | Component::Api))
                .map(|tg| {
                    fns::join(
                        "/",
                        [
                            d.ingress.load_balancer.load_balancer_full_name(),
                            tg.target_group_full_name(),
                        ],
                    )
                });
            let scaling = Scaling {
                resource_id: fns::join(
                    "/",
                    [
                        Value::from("service"),
                        p.cluster.reference(),
                        service.name(),
                    ],
                ),
                component: c,
                min: size.min,
                max: size.max,
                request_label,
                schedule,
            };
            autoscaling(cs, scaling);
        }
        DifyService {
            service,
            task,
            security_group: p.security_group.clone(),
            deployment_alarms,
        }
    }
}

/// The task role's statements: the file bucket for the components that read and write it, and
/// Bedrock for those that call models (the plugin daemon runs the Bedrock plugin).
fn task_statements(
    c: Component,
    storage: &DifyStorage,
    bedrock: Option<&crate::bedrock::BedrockSettings>,
) -> Vec<serde_json::Value> {
    let bucket = match c {
        Component::Api | Component::Worker | Component::WorkerLong => {
            vec![storage.read_write_statement()]
        }
        Component::PluginDaemon => vec![
            storage.plugin_daemon_statement(),
            storage.plugin_daemon_list_statement(),
        ],
        _ => return Vec::new(),
    };
    let models = bedrock.map(|b| b.statements()).unwrap_or_default();
    bucket
        .into_iter()
        .chain(storage.key_statement())
        .chain(models)
        .collect()
}

fn target_group(c: Component, ingress: &DifyIngress) -> Option<&TargetGroupHandle> {
    match c {
        Component::Web => Some(&ingress.web),
        Component::Api => Some(&ingress.api),
        Component::PluginDaemon => Some(&ingress.plugin_daemon),
        _ => None,
    }
}

/// A Cloud Map name (`api.dify-prd.internal`) for a component other services call.
fn discovery(
    cs: &mut Scope<'_>,
    c: Component,
    namespace: &sd::PrivateDnsNamespaceHandle,
) -> sd::ServiceHandle {
    cs.add(
        "Discovery",
        sd::Service::new()
            .name(c.dns_name())
            .namespace_id(namespace.id())
            .dns_config(
                sd::service::DnsConfig::builder()
                    .dns_records(vec![
                        sd::service::DnsRecord::builder()
                            .ttl(10.0)
                            .type_("A")
                            .build(),
                    ])
                    .build()
                    .routing_policy("MULTIVALUE"),
            )
            .health_check_custom_config(
                sd::service::HealthCheckCustomConfig::new().failure_threshold(1.0),
            ),
    )
}

/// Beat must never run twice (duplicate schedules): stop the old task before the new one
/// starts. Everything else overlaps old and new for zero downtime: 100 % stay healthy while up
/// to 200 % run.
fn deployment_configuration(c: Component, alarms: &[String]) -> svc::DeploymentConfiguration {
    let (min_healthy, max_percent) = if c == Component::Beat {
        (0, 100)
    } else {
        (100, 200)
    };
    let mut deployment = svc::DeploymentConfiguration::new()
        .minimum_healthy_percent(min_healthy)
        .maximum_percent(max_percent)
        .deployment_circuit_breaker(
            svc::DeploymentCircuitBreaker::builder()
                .enable(true)
                .rollback(true)
                .build(),
        );
    if !alarms.is_empty() {
        deployment = deployment.alarms(
            svc::DeploymentAlarms::builder()
                .alarm_names(
                    alarms
                        .iter()
                        .map(|a| Value::<String>::from(a.as_str()))
                        .collect::<Vec<_>>(),
                )
                .enable(true)
                .rollback(true)
                .build(),
        );
    }
    deployment
}

/// Who may talk to whom, on which port; everything not listed is closed both ways. Returns,
/// per component, the rules that open the paths it calls out on (its service waits for them).
fn wire_security_groups(
    s: &mut Scope<'_>,
    d: &DifyClusterProps<'_>,
    wiring: &Wiring<'_>,
    g: &IndexMap<Component, SecurityGroupHandle>,
    migration: &Migration,
) -> IndexMap<Component, Vec<ResourceRef>> {
    use Component::*;
    let mut rules = s.child("Rules");
    let mut out: IndexMap<Component, Vec<ResourceRef>> =
        g.keys().map(|c| (*c, Vec::new())).collect();
    for c in [Web, Api, PluginDaemon] {
        if let Some(p) = port(c) {
            d.ingress.connect(
                &mut rules,
                &format!("LoadBalancerTo{}", c.camel()),
                ServicePort {
                    group: &g[&c],
                    port: p,
                },
            );
        }
    }
    // Caller, callee (on the callee's port), why.
    let internal: [(Component, Component, &str); 12] = [
        (Api, PluginDaemon, "api calls the plugin daemon"),
        (Worker, PluginDaemon, "worker calls the plugin daemon"),
        (WorkerLong, PluginDaemon, "worker calls the plugin daemon"),
        // In local mode a daemon node redirects a plugin call to the node that runs the
        // plugin, at http://<node-ip>:5002 (internal/cluster/redirect.go); during a rollout
        // old and new nodes must reach each other.
        (
            PluginDaemon,
            PluginDaemon,
            "plugin daemon nodes redirect to each other",
        ),
        (PluginDaemon, Api, "plugin daemon calls the inner API"),
        (Api, Sandbox, "api runs code in the sandbox"),
        (Worker, Sandbox, "worker runs code in the sandbox"),
        (WorkerLong, Sandbox, "worker runs code in the sandbox"),
        (Api, SsrfProxy, "api egress through the SSRF proxy"),
        (Worker, SsrfProxy, "worker egress through the SSRF proxy"),
        (
            WorkerLong,
            SsrfProxy,
            "worker egress through the SSRF proxy",
        ),
        (Sandbox, SsrfProxy, "sandbox egress through the SSRF proxy"),
    ];
    let runs = |c: &Component| g.contains_key(c);
    for (from, to, why) in internal {
        if !(runs(&from) && runs(&to)) {
            continue;
        }
        if let Some(p) = port(to) {
            let id = format!("{}To{}", from.camel(), to.camel());
            let path = Path {
                from: &g[&from],
                to: &g[&to],
                port: p,
                description: why,
            };
            out[&from].extend(link(&mut rules, &id, path));
        }
    }
    for c in [Api, Worker, WorkerLong, Beat, PluginDaemon]
        .into_iter()
        .filter(runs)
    {
        let name = c.camel();
        let db = d
            .database
            .allow_from(&mut rules, &format!("{name}ToDatabase"), &g[&c]);
        let cache = d
            .cache
            .allow_from(&mut rules, &format!("{name}ToCache"), &g[&c]);
        out[&c].extend(db.into_iter().chain(cache));
    }
    migration.connect(&mut rules, wiring);
    for c in g.keys().copied() {
        let mut cs = rules.child(&c.camel());
        match (&d.network.endpoints, c) {
            _ if d.private.is_some() => {
                out[&c].extend(wiring.outbound_internet(&mut cs, &g[&c]));
                if let (Some(private), Api | Worker | WorkerLong | PluginDaemon) = (d.private, c) {
                    out[&c].extend(private.open_internal(&mut cs, &g[&c]));
                }
            }
            (Some(endpoints), Sandbox) => {
                out[&c].extend(crate::network::fargate_through_endpoints(
                    &mut cs, &g[&c], endpoints,
                ));
            }
            _ => out[&c].extend(wiring.outbound_internet(&mut cs, &g[&c])),
        }
        if let (Some(smtp), Api | Worker | WorkerLong) = (&d.app.smtp, c) {
            // Private-only mode: the relay is inside the network, never the internet.
            if let Some(private) = d.private {
                out[&c].extend(private.open_smtp(
                    &mut cs,
                    SmtpRelay {
                        group: &g[&c],
                        port: smtp.port,
                    },
                ));
                continue;
            }
            out[&c].push(egress(
                &mut cs,
                "SmtpEgress",
                Egress {
                    group: &g[&c],
                    to: Destination::Cidr("0.0.0.0/0"),
                    port: smtp.port,
                    description: "mail to the SMTP relay",
                },
            ));
        }
    }
    out
}

/// Alarms that roll a deployment back: target 5xx and unhealthy targets.
fn deployment_alarms(
    s: &mut Scope<'_>,
    d: &DifyClusterProps<'_>,
    c: Component,
    tg: &TargetGroupHandle,
) -> Vec<String> {
    let lb = d.ingress.load_balancer.load_balancer_full_name();
    let dims = || {
        vec![
            cloudwatch::alarm::Dimension::builder()
                .name("LoadBalancer")
                .value(lb.clone())
                .build(),
            cloudwatch::alarm::Dimension::builder()
                .name("TargetGroup")
                .value(tg.target_group_full_name())
                .build(),
        ]
    };
    let topic: Vec<Value<String>> = d.alarm_topic.iter().map(|t| t.clone().untyped()).collect();
    let mut names = Vec::new();
    for (id, metric, stat, threshold, what) in [
        (
            "Target5xxAlarm",
            "HTTPCode_Target_5XX_Count",
            "Sum",
            10.0,
            "5xx responses",
        ),
        (
            "UnhealthyAlarm",
            "UnHealthyHostCount",
            "Maximum",
            0.0,
            "unhealthy targets",
        ),
    ] {
        let name = format!(
            "{}-{}-{}",
            d.app.name_prefix,
            c.dns_name(),
            metric.to_lowercase().replace('_', "-")
        );
        s.add(
            id,
            cloudwatch::Alarm::new()
                .alarm_name(name.as_str())
                .alarm_description(format!(
                    "{} of Dify {} ({}); also rolls back a deployment",
                    what,
                    c.dns_name(),
                    d.app.environment
                ))
                .namespace("AWS/ApplicationELB")
                .metric_name(metric)
                .statistic(stat)
                .period(60)
                .evaluation_periods(3)
                .datapoints_to_alarm(2)
                .threshold(threshold)
                .comparison_operator("GreaterThanThreshold")
                .treat_missing_data("notBreaching")
                .dimensions(dims())
                .alarm_actions(topic.clone())
                .ok_actions(topic.clone()),
        );
        names.push(name);
    }
    names
}
