//! DifyIngress: the application load balancer in front of web, api and the plugin daemon, with
//! an IP allowlist, TLS 1.3 when a certificate is given, Dify's path routing, and a Route 53
//! alias.

use cfn_core::{Scope, Value, fns};
use cfn_resources::ec2::{self, SecurityGroupHandle};
use cfn_resources::elasticloadbalancingv2::{
    self as elbv2, ListenerHandle, LoadBalancerHandle, TargetGroupHandle, listener, listener_rule,
    load_balancer, target_group,
};
use cfn_resources::route53;
use cfn_resources::s3::BucketHandle;
use indexmap::IndexMap;
use ipnet::IpNet;

use crate::common::{SecurityGroupProps, ServicePort, closed_security_group};
use crate::components::{API_PORT, PLUGIN_DAEMON_PORT, WEB_PORT};
use crate::network::DifyNetwork;

/// DNS and TLS.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Domain {
    /// The public name of Dify (`dify.example.com`).
    pub name: Option<String>,
    /// The Route 53 hosted zone for an alias record.
    pub hosted_zone_id: Option<String>,
    /// The ACM certificate for HTTPS.
    pub certificate_arn: Option<String>,
}

/// The application load balancer's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct IngressSettings {
    /// Internet-facing (true) or internal.
    pub internet_facing: bool,
    /// Named groups of IPv4 CIDRs allowed in, like the seed's office list.
    pub allowlist: IndexMap<String, Vec<IpNet>>,
    /// Load balancer deletion protection (default: production).
    pub deletion_protection: bool,
    /// Idle timeout; Dify streams responses, so at least 600 s.
    pub idle_timeout_seconds: u32,
    /// Access logs to an S3 bucket the stack creates.
    pub access_logs: bool,
}

impl Default for IngressSettings {
    /// Development: internet-facing with an empty allowlist (only the VPC's own NAT addresses
    /// get in until groups are added), a 900 s idle timeout, access logs, no deletion
    /// protection.
    fn default() -> Self {
        IngressSettings {
            internet_facing: true,
            allowlist: IndexMap::new(),
            deletion_protection: false,
            idle_timeout_seconds: 900,
            access_logs: true,
        }
    }
}

impl IngressSettings {
    /// Production: as [`Self::default`], with deletion protection.
    pub fn production() -> Self {
        IngressSettings {
            deletion_protection: true,
            ..IngressSettings::default()
        }
    }
}

/// Inputs of [`DifyIngress`].
#[derive(Debug, Clone)]
pub struct DifyIngressProps<'a> {
    /// The VPC and its subnets (public ones for an internet-facing load balancer).
    pub network: &'a DifyNetwork,
    /// Scheme, allowlist, idle timeout, protections. Default: [`IngressSettings::default`].
    pub settings: IngressSettings,
    /// Name, hosted zone and certificate. Default: none of them (HTTP on the load balancer's
    /// own DNS name).
    pub domain: Domain,
    /// The bucket the load balancer writes its access logs to (under `alb/`). Default `None`:
    /// no access logs.
    pub access_log_bucket: Option<&'a BucketHandle>,
}

impl<'a> DifyIngressProps<'a> {
    /// Props with the defaults above, in `network`.
    pub fn new(network: &'a DifyNetwork) -> Self {
        DifyIngressProps {
            network,
            settings: IngressSettings::default(),
            domain: Domain::default(),
            access_log_bucket: None,
        }
    }
}

/// The TLS policy: TLS 1.3 preferred, 1.2 accepted, nothing older.
pub const TLS_POLICY: &str = "ELBSecurityPolicy-TLS13-1-2-2021-06";

/// Paths Dify's own nginx sends to the api (5001); `/mcp` and `/triggers` are included, which
/// the public CDK sample misses.
pub const API_PATHS: [&str; 10] = [
    "/console/api/*",
    "/api/*",
    "/v1/*",
    "/files/*",
    "/mcp/*",
    "/triggers/*",
    "/health",
    "/console/api",
    "/v1",
    "/mcp",
];
/// Paths sent to the plugin daemon (5002): plugin endpoints.
pub const PLUGIN_PATHS: [&str; 2] = ["/e/*", "/e"];

/// A target group's health check, matching the container's own.
struct Health {
    port: u16,
    path: &'static str,
    codes: &'static str,
}

/// The load balancer, its listener and the three target groups.
#[derive(Debug, Clone)]
pub struct DifyIngress {
    /// The load balancer.
    pub load_balancer: LoadBalancerHandle,
    /// Its security group: in from the allowlist only, out to the services only.
    pub security_group: SecurityGroupHandle,
    /// The listener that routes (HTTPS with a certificate, else HTTP).
    pub listener: ListenerHandle,
    /// Listener rules, for services to depend on (a service must not register before its
    /// route exists).
    pub rules: Vec<cfn_core::ResourceRef>,
    /// web:3000.
    pub web: TargetGroupHandle,
    /// api:5001.
    pub api: TargetGroupHandle,
    /// plugin daemon:5002.
    pub plugin_daemon: TargetGroupHandle,
    /// The public base URL (`https://dify.example.com`).
    pub url: Value<String>,
    /// How long a request may sit idle, in seconds: what a streamed answer may take between
    /// two chunks, and how long a target drains.
    pub idle_timeout_seconds: u32,
}

impl DifyIngress {
    /// Creates the load balancer and its routing.
    pub fn new(scope: &mut Scope<'_>, id: &str, props: DifyIngressProps<'_>) -> DifyIngress {
        let mut s = scope.child(id);
        let cfg = &props.settings;
        let domain = &props.domain;
        let network = props.network;
        let access_logs = props.access_log_bucket;
        let https = domain.certificate_arn.is_some();
        let mut ingress_rules = Vec::new();
        for (group, nets) in &cfg.allowlist {
            for net in nets {
                let ports: &[u16] = if https { &[443, 80] } else { &[80] };
                for port in ports {
                    let mut rule = ec2::security_group::Ingress::builder()
                        .ip_protocol("tcp")
                        .build()
                        .from_port(i64::from(*port))
                        .to_port(i64::from(*port))
                        .description(format!("allowlist: {group}"));
                    rule = match net {
                        ipnet::IpNet::V4(_) => rule.cidr_ip(net.to_string()),
                        ipnet::IpNet::V6(_) => rule.cidr_ipv6(net.to_string()),
                    };
                    ingress_rules.push(rule);
                }
            }
        }
        // Dify calls its own public URL from inside the VPC (workflow HTTP nodes and tools
        // through the SSRF proxy, plugins, webhooks to its own /e/ and /triggers endpoints):
        // that traffic leaves through the NAT gateways and must not meet the allowlist's wall
        // (aws-samples/dify-self-hosted-on-aws#41).
        for nat in &network.nat_cidrs {
            let ports: &[u16] = if https { &[443, 80] } else { &[80] };
            for port in ports {
                ingress_rules.push(
                    ec2::security_group::Ingress::builder()
                        .ip_protocol("tcp")
                        .build()
                        .from_port(i64::from(*port))
                        .to_port(i64::from(*port))
                        .cidr_ip(nat.clone())
                        .description("this VPC's NAT gateways: Dify calling its own public URL"),
                );
            }
        }
        let security_group = closed_security_group(
            &mut s,
            "SecurityGroup",
            SecurityGroupProps {
                description: "Dify load balancer - in from the allowlist, out to Dify services",
                vpc_id: &network.vpc_id,
            },
        );
        if !ingress_rules.is_empty() {
            let mut r = s.stack().resource(&security_group);
            if let Some(props) = r.props_mut::<ec2::SecurityGroup>() {
                props.security_group_ingress = Some(Value::from(ingress_rules));
            }
        }

        let attr = |k: &str, v: String| load_balancer::LoadBalancerAttribute::new().key(k).value(v);
        let mut attributes = vec![
            attr(
                "idle_timeout.timeout_seconds",
                cfg.idle_timeout_seconds.to_string(),
            ),
            attr(
                "routing.http.drop_invalid_header_fields.enabled",
                "true".into(),
            ),
            attr("routing.http.desync_mitigation_mode", "defensive".into()),
            attr(
                "deletion_protection.enabled",
                cfg.deletion_protection.to_string(),
            ),
        ];
        if let Some(bucket) = access_logs {
            attributes.push(attr("access_logs.s3.enabled", "true".into()));
            attributes.push(
                load_balancer::LoadBalancerAttribute::new()
                    .key("access_logs.s3.bucket")
                    .value(bucket.reference()),
            );
            attributes.push(attr("access_logs.s3.prefix", "alb".into()));
        }
        let subnets = if cfg.internet_facing {
            network.public_subnets.clone()
        } else {
            network.private_subnets.clone()
        };
        let load_balancer = s.add(
            "LoadBalancer",
            elbv2::LoadBalancer::new()
                .type_("application")
                .scheme(if cfg.internet_facing {
                    "internet-facing"
                } else {
                    "internal"
                })
                .subnets(subnets)
                .security_groups(vec![security_group.group_id()])
                .load_balancer_attributes(attributes),
        );

        let tg = |s: &mut Scope<'_>, id: &str, h: Health| {
            s.add(
                id,
                elbv2::TargetGroup::new()
                    .target_type("ip")
                    .protocol("HTTP")
                    .port(i64::from(h.port))
                    .vpc_id(network.vpc_id.clone())
                    .health_check_enabled(true)
                    .health_check_path(h.path)
                    .health_check_interval_seconds(15)
                    .health_check_timeout_seconds(5)
                    .healthy_threshold_count(2)
                    .unhealthy_threshold_count(3)
                    .matcher(target_group::Matcher::new().http_code(h.codes))
                    .target_group_attributes(vec![
                        // Drain as long as the load balancer lets a request sit idle: a chat
                        // or workflow stream (TEXT_GENERATION_TIMEOUT_MS, 600 s) must finish
                        // on the old task before a rollout or scale-in stops it. Draining ends
                        // as soon as a target has no requests in flight, so short requests
                        // cost nothing; ECS sends SIGTERM only after draining.
                        target_group::TargetGroupAttribute::new()
                            .key("deregistration_delay.timeout_seconds")
                            .value(cfg.idle_timeout_seconds.to_string()),
                    ]),
            )
        };
        let web = tg(
            &mut s,
            "WebTargets",
            Health {
                port: WEB_PORT,
                path: "/",
                codes: "200-399",
            },
        );
        let api = tg(
            &mut s,
            "ApiTargets",
            Health {
                port: API_PORT,
                path: "/health",
                codes: "200",
            },
        );
        let plugin_daemon = tg(
            &mut s,
            "PluginDaemonTargets",
            Health {
                port: PLUGIN_DAEMON_PORT,
                path: "/health/check",
                codes: "200",
            },
        );

        let forward = |t: &TargetGroupHandle| {
            listener::Action::builder()
                .type_("forward")
                .build()
                .target_group_arn(t.target_group_arn())
        };
        let listener = if let Some(cert) = &domain.certificate_arn {
            s.add(
                "HttpRedirect",
                elbv2::Listener::builder()
                    .default_actions(vec![
                        listener::Action::builder()
                            .type_("redirect")
                            .build()
                            .redirect_config(
                                listener::RedirectConfig::builder()
                                    .status_code("HTTP_301")
                                    .build()
                                    .protocol("HTTPS")
                                    .port("443"),
                            ),
                    ])
                    .load_balancer_arn(load_balancer.load_balancer_arn())
                    .build()
                    .port(80)
                    .protocol("HTTP"),
            );
            s.add(
                "Https",
                elbv2::Listener::builder()
                    .default_actions(vec![forward(&web)])
                    .load_balancer_arn(load_balancer.load_balancer_arn())
                    .build()
                    .port(443)
                    .protocol("HTTPS")
                    .ssl_policy(TLS_POLICY)
                    .certificates(vec![
                        listener::Certificate::new().certificate_arn(cert.as_str()),
                    ]),
            )
        } else {
            s.add(
                "Http",
                elbv2::Listener::builder()
                    .default_actions(vec![forward(&web)])
                    .load_balancer_arn(load_balancer.load_balancer_arn())
                    .build()
                    .port(80)
                    .protocol("HTTP"),
            )
        };
        let route =
            |s: &mut Scope<'_>, id: &str, priority: i64, paths: &[&str], t: &TargetGroupHandle| {
                let r = s.add(
                    id,
                    elbv2::ListenerRule::builder()
                        .actions(vec![
                            listener_rule::Action::builder()
                                .type_("forward")
                                .build()
                                .target_group_arn(t.target_group_arn()),
                        ])
                        .conditions(vec![
                            listener_rule::RuleCondition::new()
                                .field("path-pattern")
                                .path_pattern_config(
                                    listener_rule::PathPatternConfig::new().values(
                                        paths
                                            .iter()
                                            .map(|p| Value::<String>::from(*p))
                                            .collect::<Vec<_>>(),
                                    ),
                                ),
                        ])
                        .priority(priority)
                        .build()
                        .listener_arn(listener.listener_arn()),
                );
                r.resource_ref().clone()
            };
        use cfn_core::Handle as _;
        // A rule takes at most five path values.
        let rules = vec![
            route(
                &mut s,
                "PluginDaemonRoute",
                10,
                &PLUGIN_PATHS,
                &plugin_daemon,
            ),
            route(&mut s, "ApiRoute", 20, &API_PATHS[..5], &api),
            route(&mut s, "ApiRoute2", 21, &API_PATHS[5..], &api),
        ];

        let scheme = if https { "https" } else { "http" };
        let url = match (&domain.name, https) {
            (Some(name), true) => Value::from(format!("https://{name}")),
            _ => fns::join(
                "",
                [format!("{scheme}://").into(), load_balancer.dns_name()],
            ),
        };
        if let (Some(zone), Some(name)) = (&domain.hosted_zone_id, &domain.name) {
            s.add(
                "DnsRecord",
                route53::RecordSet::builder()
                    .name(format!("{name}."))
                    .type_("A")
                    .build()
                    .hosted_zone_id(zone.as_str())
                    .alias_target(
                        route53::record_set::AliasTarget::builder()
                            .dns_name(load_balancer.dns_name())
                            .hosted_zone_id(load_balancer.canonical_hosted_zone_id())
                            .build()
                            .evaluate_target_health(true),
                    ),
            );
        }
        DifyIngress {
            load_balancer,
            security_group,
            listener,
            rules,
            web,
            api,
            plugin_daemon,
            url,
            idle_timeout_seconds: cfg.idle_timeout_seconds,
        }
    }

    /// Lets the load balancer reach a service (egress here, ingress there).
    pub fn connect(
        &self,
        scope: &mut Scope<'_>,
        id: &str,
        service: ServicePort<'_>,
    ) -> Vec<cfn_core::ResourceRef> {
        let ServicePort {
            group: service,
            port,
        } = service;
        use cfn_core::Handle as _;
        let egress = scope.add(
            &format!("{id}Egress"),
            ec2::SecurityGroupEgress::builder()
                .group_id(self.security_group.group_id())
                .ip_protocol("tcp")
                .build()
                .destination_security_group_id(service.group_id())
                .from_port(i64::from(port))
                .to_port(i64::from(port))
                .description("load balancer to a Dify service"),
        );
        let ingress = crate::common::allow(
            scope,
            &format!("{id}Ingress"),
            crate::common::Path {
                from: &self.security_group,
                to: service,
                port,
                description: "from the load balancer",
            },
        );
        vec![egress.resource_ref().clone(), ingress]
    }
}
