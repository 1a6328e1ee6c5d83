//! Private-only mode: Dify in a VPC with no way to the internet. The tasks reach AWS through
//! interface VPC endpoints (private DNS on, admitting 443 from the task security groups only)
//! and S3 through a gateway endpoint; plugin packages come from a PyPI mirror inside the
//! network; nothing egresses to `0.0.0.0/0` (aws-samples/dify-self-hosted-on-aws#21, #69;
//! langgenius/dify#12926).

use cfn_core::{Handle as _, ResourceRef, Scope, Value, fns};
use cfn_resources::ec2::{self, SecurityGroupHandle};
use ipnet::IpNet;

use crate::common::{Destination, Egress, SecurityGroupProps, closed_security_group, egress};
use crate::network::DifyNetwork;

/// The interface endpoints every task needs: image pulls (`ecr.api`, `ecr.dkr`), logs,
/// injected secrets, the customer key, the SDKs' regional STS and SSM (ECS Exec's channel).
pub const INTERFACE_SERVICES: [&str; 7] = [
    "ecr.api",
    "ecr.dkr",
    "logs",
    "secretsmanager",
    "kms",
    "sts",
    "ssm",
];

/// The four of [`INTERFACE_SERVICES`] a VPC named in `[network.endpoints]` already has
/// (`crate::network::Endpoints`); EC2 refuses a second endpoint with private DNS for one service
/// in one VPC, so those are not created again.
pub const EXISTING_SERVICES: [&str; 4] = ["ecr.api", "ecr.dkr", "logs", "secretsmanager"];

/// The Bedrock endpoints, added when Bedrock is on: the runtime (InvokeModel, Converse) and
/// the control plane Dify's Bedrock plugin lists and reads models and inference profiles on.
pub const BEDROCK_SERVICES: [&str; 2] = ["bedrock", "bedrock-runtime"];

/// The endpoint ECS Exec's data channel needs in a VPC without internet access: the SSM agent
/// in the task opens its session over `ssmmessages` (ECS developer guide, "Monitor Amazon ECS
/// containers with ECS Exec", VPC endpoints).
pub const EXEC_SERVICES: [&str; 1] = ["ssmmessages"];

/// The interface endpoints private mode creates: [`INTERFACE_SERVICES`] but those an existing
/// VPC's `[network.endpoints]` has, then Bedrock's and ECS Exec's when they are on. One list
/// for the template and the cost estimate.
pub fn interface_services(has_existing: bool, bedrock: bool, ecs_exec: bool) -> Vec<&'static str> {
    let extra = [
        (bedrock, &BEDROCK_SERVICES[..]),
        (ecs_exec, &EXEC_SERVICES[..]),
    ];
    INTERFACE_SERVICES
        .iter()
        .filter(|svc| !has_existing || !EXISTING_SERVICES.contains(svc))
        .chain(
            extra
                .iter()
                .filter(|(on, _)| *on)
                .flat_map(|(_, l)| l.iter()),
        )
        .copied()
        .collect()
}

/// Private-only mode's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct PrivateSettings {
    /// The PyPI index the plugin daemon installs plugin dependencies from, passed to
    /// `uv pip install -i` / `uv sync -i` as `PIP_MIRROR_URL` (dify-plugin-daemon 0.5.5:
    /// `internal/types/app/config.go` `PipMirrorUrl`, used in
    /// `internal/core/local_runtime/setup_python_environment.go`). No default: without a
    /// mirror a plugin install needs the internet.
    pub pypi_mirror_url: String,
    /// Where, besides AWS, api, worker and the plugin daemon may open HTTPS connections: the
    /// mirror, internal APIs, a model gateway. Never `0.0.0.0/0`. Default: none.
    pub egress_cidrs: Vec<IpNet>,
    /// The route tables of the private subnets: the stack adds an S3 gateway endpoint to them.
    /// Default: empty, for a VPC that has one already.
    pub route_table_ids: Vec<String>,
    /// The S3 prefix list (`pl-…`, `com.amazonaws.<region>.s3`) task groups may send HTTPS to
    /// (image layers, files); security groups cannot name a gateway endpoint otherwise.
    pub s3_prefix_list_id: String,
}

/// Inputs of [`PrivateEndpoints`].
#[derive(Debug, Clone)]
pub struct PrivateEndpointsProps<'a> {
    /// The VPC: its private subnets hold the interface endpoints; an existing VPC's own
    /// endpoints (`[network.endpoints]`) are used instead of creating [`EXISTING_SERVICES`].
    pub network: &'a DifyNetwork,
    /// Mirror, internal destinations, route tables and S3 prefix list.
    pub settings: &'a PrivateSettings,
    /// Also the Bedrock endpoints ([`BEDROCK_SERVICES`]). Default `false`.
    pub bedrock: bool,
    /// Also ECS Exec's endpoint ([`EXEC_SERVICES`]). Default `false`.
    pub ecs_exec: bool,
}

/// The endpoints a private Dify reaches AWS through, and the rules that let a task group use
/// them.
#[derive(Debug, Clone)]
pub struct PrivateEndpoints {
    /// The created interface endpoints' security group: no rule until a task group is admitted
    /// ([`Self::open`]).
    pub security_group: SecurityGroupHandle,
    /// The services an interface endpoint was created for, in creation order.
    pub services: Vec<&'static str>,
    /// The VPC's own interface endpoints' group, when `[network.endpoints]` names one.
    pub existing_group: Option<String>,
    /// The S3 prefix list.
    pub s3_prefix_list_id: String,
    /// Internal HTTPS destinations, as CIDR text.
    pub egress_cidrs: Vec<String>,
    /// `PIP_MIRROR_URL` for the plugin daemon.
    pub pypi_mirror_url: String,
}

impl PrivateEndpoints {
    /// Creates the endpoints' security group, one interface endpoint per service the VPC lacks
    /// (in the private subnets, private DNS on) and, with route tables named, the S3 gateway
    /// endpoint.
    pub fn new(scope: &mut Scope<'_>, id: &str, props: PrivateEndpointsProps<'_>) -> Self {
        let mut s = scope.child(id);
        let network = props.network;
        let existing = network.endpoints.as_ref();
        let security_group = closed_security_group(
            &mut s,
            "SecurityGroup",
            SecurityGroupProps {
                description: "Dify VPC endpoints - HTTPS from Dify tasks only",
                vpc_id: &network.vpc_id,
            },
        );
        let services = interface_services(existing.is_some(), props.bedrock, props.ecs_exec);
        for service in &services {
            s.add(
                &endpoint_id(service),
                ec2::VpcEndpoint::builder()
                    .vpc_id(network.vpc_id.clone())
                    .build()
                    .service_name(fns::sub(format!(
                        "com.amazonaws.${{AWS::Region}}.{service}"
                    )))
                    .vpc_endpoint_type("Interface")
                    .private_dns_enabled(true)
                    .subnet_ids(network.private_subnets.clone())
                    .security_group_ids(vec![security_group.group_id()]),
            );
        }
        let tables = &props.settings.route_table_ids;
        if !tables.is_empty() {
            s.add(
                "S3Gateway",
                ec2::VpcEndpoint::builder()
                    .vpc_id(network.vpc_id.clone())
                    .build()
                    .service_name(fns::sub("com.amazonaws.${AWS::Region}.s3"))
                    .vpc_endpoint_type("Gateway")
                    .route_table_ids(tables.iter().map(Value::<String>::from).collect::<Vec<_>>()),
            );
        }
        PrivateEndpoints {
            security_group,
            services,
            existing_group: existing.map(|e| e.security_group_id.clone()),
            s3_prefix_list_id: props.settings.s3_prefix_list_id.clone(),
            egress_cidrs: props
                .settings
                .egress_cidrs
                .iter()
                .map(ToString::to_string)
                .collect(),
            pypi_mirror_url: props.settings.pypi_mirror_url.clone(),
        }
    }

    /// What Fargate and the AWS SDKs need of a task on `group`, and no more: HTTPS to the
    /// endpoints (admitted on their side too) and to S3's prefix list. Returns the rules, for
    /// whatever must wait for them.
    pub fn open(&self, scope: &mut Scope<'_>, group: &SecurityGroupHandle) -> Vec<ResourceRef> {
        let why = "AWS APIs through the VPC's interface endpoints";
        let mut rules = vec![
            egress(
                scope,
                "EndpointsEgress",
                Egress {
                    group,
                    to: Destination::Group(&self.security_group),
                    port: 443,
                    description: why,
                },
            ),
            crate::common::allow(
                scope,
                "EndpointsIngress",
                crate::common::Path {
                    from: group,
                    to: &self.security_group,
                    port: 443,
                    description: "from a Dify task",
                },
            ),
        ];
        if let Some(existing) = &self.existing_group {
            rules.extend(open_existing(scope, group, existing));
        }
        rules.push(egress(
            scope,
            "S3Egress",
            Egress {
                group,
                to: Destination::PrefixList(&self.s3_prefix_list_id),
                port: 443,
                description: "image layers and files from S3 through the gateway endpoint",
            },
        ));
        rules
    }

    /// HTTPS to the internal destinations (the PyPI mirror, internal APIs): for the
    /// components that call them (api, worker, plugin daemon).
    pub fn open_internal(
        &self,
        scope: &mut Scope<'_>,
        group: &SecurityGroupHandle,
    ) -> Vec<ResourceRef> {
        self.egress_cidrs
            .iter()
            .enumerate()
            .map(|(i, cidr)| {
                egress(
                    scope,
                    &format!("Internal{i}Egress"),
                    Egress {
                        group,
                        to: Destination::Cidr(cidr),
                        port: 443,
                        description: "internal HTTPS (PyPI mirror, internal APIs)",
                    },
                )
            })
            .collect()
    }
}

/// Where [`PrivateEndpoints::open_smtp`] lets mail out from.
#[derive(Debug, Clone, Copy)]
pub struct SmtpRelay<'a> {
    /// The task group that sends mail.
    pub group: &'a SecurityGroupHandle,
    /// The relay's port.
    pub port: u16,
}

impl PrivateEndpoints {
    /// Mail from the relay's group to its port, inside `egress_cidrs` (never the internet).
    pub fn open_smtp(&self, scope: &mut Scope<'_>, relay: SmtpRelay<'_>) -> Vec<ResourceRef> {
        let SmtpRelay { group, port } = relay;
        self.egress_cidrs
            .iter()
            .enumerate()
            .map(|(i, cidr)| {
                egress(
                    scope,
                    &format!("Smtp{i}Egress"),
                    Egress {
                        group,
                        to: Destination::Cidr(cidr),
                        port,
                        description: "mail to the internal SMTP relay",
                    },
                )
            })
            .collect()
    }
}

/// HTTPS both ways between a task group and the VPC's own endpoints' group.
fn open_existing(
    scope: &mut Scope<'_>,
    group: &SecurityGroupHandle,
    existing: &str,
) -> Vec<ResourceRef> {
    let out = egress(
        scope,
        "VpcEndpointsEgress",
        Egress {
            group,
            to: Destination::GroupId(existing),
            port: 443,
            description: "ECR, logs and secrets through the VPC's own interface endpoints",
        },
    );
    let admit = scope.add(
        "VpcEndpointsIngress",
        ec2::SecurityGroupIngress::builder()
            .ip_protocol("tcp")
            .build()
            .group_id(existing)
            .source_security_group_id(group.group_id())
            .from_port(443)
            .to_port(443)
            .description("from a Dify task"),
    );
    vec![out, admit.resource_ref().clone()]
}

/// `EcrApi`, `Logs`, `BedrockRuntime`: a logical-ID fragment from a service name.
fn endpoint_id(service: &str) -> String {
    service
        .split(['.', '-'])
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::endpoint_id;

    #[test]
    fn endpoint_ids_are_camel_case() {
        assert_eq!(endpoint_id("ecr.api"), "EcrApi");
        assert_eq!(endpoint_id("bedrock-runtime"), "BedrockRuntime");
        assert_eq!(endpoint_id("sts"), "Sts");
    }
}
