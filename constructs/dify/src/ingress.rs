//! DifyIngress: the application load balancer in front of web, api and the plugin daemon, with
//! an IP allowlist, TLS 1.3 when a certificate is given, Dify's path routing, and a Route 53
//! alias.

use cfn_core::refs::VpcId;
use cfn_core::{ResourceRef, Scope, Value, fns};
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
use crate::network::DifyNetwork;
use crate::services::{API_PORT, PLUGIN_DAEMON_PORT, WEB_PORT};
use crate::sso::SsoSettings;

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
    /// Sign-in at the load balancer for the console and web routes ([`crate::sso`]); needs
    /// a certificate (ALB authenticates on HTTPS listeners only). Default `None`.
    pub sso: Option<SsoSettings>,
}

impl<'a> DifyIngressProps<'a> {
    /// Props with the defaults above, in `network`.
    pub fn new(network: &'a DifyNetwork) -> Self {
        DifyIngressProps {
            network,
            settings: IngressSettings::default(),
            domain: Domain::default(),
            access_log_bucket: None,
            sso: None,
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
    /// Creates the load balancer and its routing: a closed security group opened to the
    /// allowlist (and the NAT gateways), the load balancer, one target group per routed
    /// service, the listener(s), path rules, and the DNS record when a zone is named.
    pub fn new(scope: &mut Scope<'_>, id: &str, props: DifyIngressProps<'_>) -> DifyIngress {
        let mut s = scope.child(id);
        let cfg = &props.settings;
        let network = props.network;
        let https = props.domain.certificate_arn.is_some();
        let security_group = allowlisted_group(&mut s, cfg, network, https);
        let load_balancer = load_balancer(
            &mut s,
            cfg,
            network,
            &security_group,
            props.access_log_bucket,
        );
        let targets = |s: &mut Scope<'_>, id: &str, h: Health| {
            target_group(s, id, h, &network.vpc_id, cfg.idle_timeout_seconds)
        };
        let web = targets(
            &mut s,
            "WebTargets",
            Health {
                port: WEB_PORT,
                path: "/",
                codes: "200-399",
            },
        );
        let api = targets(
            &mut s,
            "ApiTargets",
            Health {
                port: API_PORT,
                path: "/health",
                codes: "200",
            },
        );
        let plugin_daemon = targets(
            &mut s,
            "PluginDaemonTargets",
            Health {
                port: PLUGIN_DAEMON_PORT,
                path: "/health/check",
                codes: "200",
            },
        );
        let sso = props.sso.as_ref().filter(|_| https);
        if props.sso.is_some() && !https {
            s.report(
                cfn_core::Severity::Error,
                "dify-sso",
                "SSO at the load balancer needs HTTPS: set the domain's certificate",
            );
        }
        let listener = listener(&mut s, &props.domain, &load_balancer, &web, sso);
        // A rule takes at most five path values.
        let rules = if let Some(sso) = sso {
            crate::sso::routes(&mut s, sso, &listener, &api, &plugin_daemon)
        } else {
            vec![
                route(
                    &mut s,
                    "PluginDaemonRoute",
                    &listener,
                    10,
                    &PLUGIN_PATHS,
                    &plugin_daemon,
                ),
                route(&mut s, "ApiRoute", &listener, 20, &API_PATHS[..5], &api),
                route(&mut s, "ApiRoute2", &listener, 21, &API_PATHS[5..], &api),
            ]
        };
        let url = url(&props.domain, &load_balancer);
        dns_record(&mut s, &props.domain, &load_balancer);
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

/// The ports the load balancer listens on: 443 and 80 (which redirects) with a certificate.
fn listener_ports(https: bool) -> &'static [u16] {
    if https { &[443, 80] } else { &[80] }
}

/// The load balancer's security group: closed, then opened on the listener ports to the
/// allowlist and to the VPC's own NAT gateways.
fn allowlisted_group(
    s: &mut Scope<'_>,
    cfg: &IngressSettings,
    network: &DifyNetwork,
    https: bool,
) -> SecurityGroupHandle {
    let rule = |port: u16, description: String| {
        ec2::security_group::Ingress::builder()
            .ip_protocol("tcp")
            .build()
            .from_port(i64::from(port))
            .to_port(i64::from(port))
            .description(description)
    };
    let mut ingress_rules = Vec::new();
    for (group, nets) in &cfg.allowlist {
        for net in nets {
            for port in listener_ports(https) {
                let r = rule(*port, format!("allowlist: {group}"));
                ingress_rules.push(match net {
                    ipnet::IpNet::V4(_) => r.cidr_ip(net.to_string()),
                    ipnet::IpNet::V6(_) => r.cidr_ipv6(net.to_string()),
                });
            }
        }
    }
    // Dify calls its own public URL from inside the VPC (workflow HTTP nodes and tools
    // through the SSRF proxy, plugins, webhooks to its own /e/ and /triggers endpoints):
    // that traffic leaves through the NAT gateways and must not meet the allowlist's wall
    // (aws-samples/dify-self-hosted-on-aws#41).
    for nat in &network.nat_cidrs {
        for port in listener_ports(https) {
            let why = "this VPC's NAT gateways: Dify calling its own public URL";
            ingress_rules.push(rule(*port, why.into()).cidr_ip(nat.clone()));
        }
    }
    let security_group = closed_security_group(
        s,
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
    security_group
}

/// The application load balancer: idle timeout, strict header handling, deletion protection,
/// access logs when a bucket is given; public subnets when internet-facing.
fn load_balancer(
    s: &mut Scope<'_>,
    cfg: &IngressSettings,
    network: &DifyNetwork,
    security_group: &SecurityGroupHandle,
    access_logs: Option<&BucketHandle>,
) -> LoadBalancerHandle {
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
    let (scheme, subnets) = if cfg.internet_facing {
        ("internet-facing", network.public_subnets.clone())
    } else {
        ("internal", network.private_subnets.clone())
    };
    s.add(
        "LoadBalancer",
        elbv2::LoadBalancer::new()
            .type_("application")
            .scheme(scheme)
            .subnets(subnets)
            .security_groups(vec![security_group.group_id()])
            .load_balancer_attributes(attributes),
    )
}

/// A target group of Fargate tasks (by IP), health-checked as `h` says, draining for as long
/// as a request may sit idle.
fn target_group(
    s: &mut Scope<'_>,
    id: &str,
    h: Health,
    vpc_id: &Value<VpcId>,
    idle_timeout_seconds: u32,
) -> TargetGroupHandle {
    s.add(
        id,
        elbv2::TargetGroup::new()
            .target_type("ip")
            .protocol("HTTP")
            .port(i64::from(h.port))
            .vpc_id(vpc_id.clone())
            .health_check_enabled(true)
            .health_check_path(h.path)
            .health_check_interval_seconds(15)
            .health_check_timeout_seconds(5)
            .healthy_threshold_count(2)
            .unhealthy_threshold_count(3)
            .matcher(target_group::Matcher::new().http_code(h.codes))
            .target_group_attributes(vec![
                // Drain as long as the load balancer lets a request sit idle: a chat or
                // workflow stream (TEXT_GENERATION_TIMEOUT_MS, 600 s) must finish on the old
                // task before a rollout or scale-in stops it. Draining ends as soon as a
                // target has no requests in flight, so short requests cost nothing; ECS sends
                // SIGTERM only after draining.
                target_group::TargetGroupAttribute::new()
                    .key("deregistration_delay.timeout_seconds")
                    .value(idle_timeout_seconds.to_string()),
            ]),
    )
}

/// The listener routes start from: HTTPS (and an HTTP listener that redirects to it) with a
/// certificate, plain HTTP without. Its default action forwards to the web console, after
/// sign-in when `sso` is set.
fn listener(
    s: &mut Scope<'_>,
    domain: &Domain,
    load_balancer: &LoadBalancerHandle,
    web: &TargetGroupHandle,
    sso: Option<&SsoSettings>,
) -> ListenerHandle {
    let forward = listener::Action::builder()
        .type_("forward")
        .build()
        .target_group_arn(web.target_group_arn());
    let Some(cert) = &domain.certificate_arn else {
        return s.add(
            "Http",
            elbv2::Listener::builder()
                .default_actions(vec![forward])
                .load_balancer_arn(load_balancer.load_balancer_arn())
                .build()
                .port(80)
                .protocol("HTTP"),
        );
    };
    let redirect = listener::RedirectConfig::builder()
        .status_code("HTTP_301")
        .build()
        .protocol("HTTPS")
        .port("443");
    s.add(
        "HttpRedirect",
        elbv2::Listener::builder()
            .default_actions(vec![
                listener::Action::builder()
                    .type_("redirect")
                    .build()
                    .redirect_config(redirect),
            ])
            .load_balancer_arn(load_balancer.load_balancer_arn())
            .build()
            .port(80)
            .protocol("HTTP"),
    );
    s.add(
        "Https",
        elbv2::Listener::builder()
            .default_actions(match sso {
                Some(sso) => sso.listener_actions(web),
                None => vec![forward],
            })
            .load_balancer_arn(load_balancer.load_balancer_arn())
            .build()
            .port(443)
            .protocol("HTTPS")
            .ssl_policy(TLS_POLICY)
            .certificates(vec![
                listener::Certificate::new().certificate_arn(cert.as_str()),
            ]),
    )
}

/// A listener rule forwarding `paths` (at most five) to `target`, at `priority`.
fn route(
    s: &mut Scope<'_>,
    id: &str,
    listener: &ListenerHandle,
    priority: i64,
    paths: &[&str],
    target: &TargetGroupHandle,
) -> ResourceRef {
    use cfn_core::Handle as _;
    let paths: Vec<Value<String>> = paths.iter().map(|p| Value::<String>::from(*p)).collect();
    let rule = s.add(
        id,
        elbv2::ListenerRule::builder()
            .actions(vec![
                listener_rule::Action::builder()
                    .type_("forward")
                    .build()
                    .target_group_arn(target.target_group_arn()),
            ])
            .conditions(vec![
                listener_rule::RuleCondition::new()
                    .field("path-pattern")
                    .path_pattern_config(listener_rule::PathPatternConfig::new().values(paths)),
            ])
            .priority(priority)
            .build()
            .listener_arn(listener.listener_arn()),
    );
    rule.resource_ref().clone()
}

/// Dify's public URL: the domain's with a certificate, else the load balancer's name.
fn url(domain: &Domain, load_balancer: &LoadBalancerHandle) -> Value<String> {
    match (&domain.name, &domain.certificate_arn) {
        (Some(name), Some(_)) => Value::from(format!("https://{name}")),
        (_, cert) => {
            let scheme = if cert.is_some() { "https" } else { "http" };
            fns::join(
                "",
                [format!("{scheme}://").into(), load_balancer.dns_name()],
            )
        }
    }
}

/// An alias record for the domain in its hosted zone, when both are named.
fn dns_record(s: &mut Scope<'_>, domain: &Domain, load_balancer: &LoadBalancerHandle) {
    let (Some(zone), Some(name)) = (&domain.hosted_zone_id, &domain.name) else {
        return;
    };
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
