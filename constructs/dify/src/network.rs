//! DifyNetwork: the VPC and subnets the stack runs in, existing or created.

use cfn_core::refs::{SubnetId, VpcId};
use cfn_core::{ResourceRef, Scope, Value, fns};
use cfn_resources::ec2;
use cfn_resources::ec2::SecurityGroupHandle;
use ipnet::IpNet;

use crate::common::{Destination, Egress, egress};

/// The VPC Dify runs in.
#[derive(Debug, Clone, PartialEq)]
pub enum NetworkSettings {
    /// An existing VPC and its subnets (as the seed does).
    Existing {
        /// `vpc-…`.
        vpc_id: String,
        /// Private subnets (services, database, cache), at least two AZs.
        private_subnet_ids: Vec<String>,
        /// Public subnets (an internet-facing load balancer), at least two AZs.
        public_subnet_ids: Vec<String>,
        /// The VPC's NAT gateways' public addresses: admitted by the load balancer, so Dify
        /// calling its own public URL from inside the VPC (workflow HTTP nodes, plugins,
        /// webhooks to its own endpoints) is not refused by the allowlist.
        nat_public_ips: Vec<IpNet>,
        /// The VPC's interface endpoints, which let the sandbox run with no internet egress.
        endpoints: Option<Endpoints>,
    },
    /// A VPC the stack creates.
    Create {
        /// The VPC's IPv4 CIDR.
        cidr: IpNet,
        /// Availability zones (2 or 3).
        azs: u8,
        /// NAT gateways (1 saves cost in dev; one per AZ survives an AZ outage).
        nat_gateways: u8,
    },
}

impl Default for NetworkSettings {
    /// A VPC the stack creates: `10.0.0.0/16` over two AZs, a NAT gateway in each.
    fn default() -> Self {
        NetworkSettings::Create {
            cidr: IpNet::V4(ipnet::Ipv4Net::new_assert(
                std::net::Ipv4Addr::new(10, 0, 0, 0),
                16,
            )),
            azs: 2,
            nat_gateways: 2,
        }
    }
}

/// The VPC endpoints Fargate needs to start a task without the internet: interface endpoints
/// for `ecr.api`, `ecr.dkr`, `logs` and `secretsmanager` (private DNS on) sharing one security
/// group, and the S3 gateway endpoint (image layers) by its prefix list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// The interface endpoints' security group (`sg-…`): the stack admits the sandbox to it on
    /// 443.
    pub security_group_id: String,
    /// The S3 prefix list (`pl-…`, `com.amazonaws.<region>.s3`).
    pub s3_prefix_list_id: String,
}

/// Inputs of [`DifyNetwork`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DifyNetworkProps {
    /// The VPC: an existing one, or one the construct creates. Default: a created
    /// `10.0.0.0/16` over two AZs with a NAT gateway in each ([`NetworkSettings::default`]).
    pub vpc: NetworkSettings,
}

/// The VPC the stack runs in: its ID and subnets.
#[derive(Debug, Clone)]
pub struct DifyNetwork {
    /// The VPC ID.
    pub vpc_id: Value<VpcId>,
    /// Private subnets: services, database, cache.
    pub private_subnets: Vec<Value<SubnetId>>,
    /// Public subnets: an internet-facing load balancer.
    pub public_subnets: Vec<Value<SubnetId>>,
    /// The NAT gateways' public addresses as `/32` CIDRs: what Dify looks like from the
    /// internet when it calls its own public URL.
    pub nat_cidrs: Vec<Value<String>>,
    /// The VPC's interface endpoints, when the sandbox may run without internet egress.
    pub endpoints: Option<Endpoints>,
}

impl DifyNetwork {
    /// Uses an existing VPC, or creates one (public and private subnet per AZ, NAT gateways,
    /// and an S3 gateway endpoint so file traffic skips the NAT).
    pub fn new(scope: &mut Scope<'_>, id: &str, props: DifyNetworkProps) -> DifyNetwork {
        match &props.vpc {
            NetworkSettings::Existing {
                vpc_id,
                private_subnet_ids,
                public_subnet_ids,
                nat_public_ips,
                endpoints,
            } => DifyNetwork {
                vpc_id: vpc_id.into(),
                private_subnets: private_subnet_ids.iter().map(Value::from).collect(),
                public_subnets: public_subnet_ids.iter().map(Value::from).collect(),
                nat_cidrs: nat_public_ips
                    .iter()
                    .map(|ip| Value::from(ip.to_string()))
                    .collect(),
                endpoints: endpoints.clone(),
            },
            NetworkSettings::Create {
                cidr,
                azs,
                nat_gateways,
            } => create(scope, id, &cidr.to_string(), *azs, *nat_gateways),
        }
    }
}

fn create(scope: &mut Scope<'_>, id: &str, cidr: &str, azs: u8, nats: u8) -> DifyNetwork {
    let mut s = scope.child(id);
    let vpc = s.add(
        "Vpc",
        ec2::Vpc::new()
            .cidr_block(cidr)
            .enable_dns_hostnames(true)
            .enable_dns_support(true),
    );
    let igw = s.add("InternetGateway", ec2::InternetGateway::new());
    let attachment = s.add(
        "InternetGatewayAttachment",
        ec2::VpcGatewayAttachment::builder()
            .vpc_id(vpc.vpc_id())
            .build()
            .internet_gateway_id(igw.internet_gateway_id()),
    );
    let public_table = s.add(
        "PublicRoutes",
        ec2::RouteTable::builder().vpc_id(vpc.vpc_id()).build(),
    );
    let default_route = s.add(
        "PublicDefaultRoute",
        ec2::Route::builder()
            .route_table_id(public_table.route_table_id())
            .build()
            .destination_cidr_block("0.0.0.0/0")
            .gateway_id(igw.internet_gateway_id()),
    );
    s.stack().resource(&default_route).depends_on(&attachment);

    // Each AZ gets a public and a private subnet: 2 * azs blocks carved out of the VPC.
    let blocks = u32::from(azs) * 2;
    let cidrs = |i: u32| fns::select(i, fns::cidr(cidr, blocks, subnet_bits(cidr, blocks)));
    let mut public = Vec::new();
    let mut private = Vec::new();
    let mut nat_ids = Vec::new();
    let mut nat_cidrs = Vec::new();
    for az in 0..u32::from(azs) {
        let pub_subnet = s.add(
            &format!("Public{az}"),
            ec2::Subnet::builder()
                .vpc_id(vpc.vpc_id())
                .build()
                .availability_zone(fns::select(az, fns::get_azs("")))
                .cidr_block(cidrs(az))
                .map_public_ip_on_launch(false),
        );
        s.add(
            &format!("Public{az}Routes"),
            ec2::SubnetRouteTableAssociation::builder()
                .route_table_id(public_table.route_table_id())
                .subnet_id(pub_subnet.subnet_id())
                .build(),
        );
        if az < u32::from(nats) {
            let eip = s.add(&format!("Nat{az}Ip"), ec2::Eip::new().domain("vpc"));
            let nat = s.add(
                &format!("Nat{az}"),
                ec2::NatGateway::new()
                    .allocation_id(eip.allocation_id())
                    .subnet_id(pub_subnet.subnet_id()),
            );
            nat_ids.push(nat.nat_gateway_id());
            nat_cidrs.push(fns::join("", [eip.public_ip(), "/32".into()]));
        }
        public.push(pub_subnet.subnet_id());
    }
    let mut private_tables = Vec::new();
    for az in 0..u32::from(azs) {
        let subnet = s.add(
            &format!("Private{az}"),
            ec2::Subnet::builder()
                .vpc_id(vpc.vpc_id())
                .build()
                .availability_zone(fns::select(az, fns::get_azs("")))
                .cidr_block(cidrs(u32::from(azs) + az)),
        );
        let table = s.add(
            &format!("Private{az}Routes"),
            ec2::RouteTable::builder().vpc_id(vpc.vpc_id()).build(),
        );
        // With fewer NAT gateways than AZs, AZs share them round-robin.
        let nat = nat_ids[(az as usize) % nat_ids.len().max(1)].clone();
        s.add(
            &format!("Private{az}DefaultRoute"),
            ec2::Route::builder()
                .route_table_id(table.route_table_id())
                .build()
                .destination_cidr_block("0.0.0.0/0")
                .nat_gateway_id(nat),
        );
        s.add(
            &format!("Private{az}RoutesAssociation"),
            ec2::SubnetRouteTableAssociation::builder()
                .route_table_id(table.route_table_id())
                .subnet_id(subnet.subnet_id())
                .build(),
        );
        private_tables.push(table.route_table_id());
        private.push(subnet.subnet_id());
    }
    s.add(
        "S3Endpoint",
        ec2::VpcEndpoint::builder()
            .vpc_id(vpc.vpc_id())
            .build()
            .service_name(fns::sub("com.amazonaws.${AWS::Region}.s3"))
            .vpc_endpoint_type("Gateway")
            .route_table_ids(private_tables),
    );
    DifyNetwork {
        vpc_id: vpc.vpc_id(),
        private_subnets: private,
        public_subnets: public,
        nat_cidrs,
        endpoints: None,
    }
}

/// The sandbox with no internet egress: only what Fargate needs to start it (HTTPS to the
/// VPC's interface endpoints for ECR, Logs and Secrets Manager, and to S3 for image layers).
/// User code reaches the internet only through the SSRF proxy, as in Dify's compose, where the
/// sandbox sits on an internal-only network.
pub(crate) fn fargate_through_endpoints(
    s: &mut Scope<'_>,
    group: &SecurityGroupHandle,
    endpoints: &Endpoints,
) -> Vec<ResourceRef> {
    use cfn_core::Handle as _;
    let why = "Fargate pulls, secrets and logs through the VPC's interface endpoints";
    let to_endpoints = egress(
        s,
        "EndpointsEgress",
        Egress {
            group,
            to: Destination::GroupId(&endpoints.security_group_id),
            port: 443,
            description: why,
        },
    );
    let endpoints_admit = s.add(
        "EndpointsIngress",
        ec2::SecurityGroupIngress::builder()
            .ip_protocol("tcp")
            .build()
            .group_id(endpoints.security_group_id.as_str())
            .source_security_group_id(group.group_id())
            .from_port(443)
            .to_port(443)
            .description("Dify sandbox: Fargate pulls, secrets and logs"),
    );
    let to_s3 = egress(
        s,
        "S3Egress",
        Egress {
            group,
            to: Destination::PrefixList(&endpoints.s3_prefix_list_id),
            port: 443,
            description: "image layers from S3 through the gateway endpoint",
        },
    );
    vec![to_endpoints, endpoints_admit.resource_ref().clone(), to_s3]
}

/// Host bits per subnet so `blocks` subnets fill the VPC: the VPC's prefix plus enough bits to
/// count the blocks.
fn subnet_bits(cidr: &str, blocks: u32) -> u32 {
    let prefix: u32 = cidr
        .split('/')
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(16);
    let extra = blocks.next_power_of_two().trailing_zeros();
    32u32.saturating_sub(prefix + extra)
}

#[cfg(test)]
mod tests {
    use super::subnet_bits;

    #[test]
    fn subnets_split_the_vpc_evenly() {
        assert_eq!(subnet_bits("10.0.0.0/16", 4), 14);
        assert_eq!(subnet_bits("10.0.0.0/16", 6), 13);
        assert_eq!(subnet_bits("10.0.0.0/20", 6), 9);
    }
}
