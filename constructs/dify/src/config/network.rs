//! `[network]`: an existing VPC and its subnets, or a VPC the stack creates.

use ipnet::IpNet;

use super::checks::{Checker, PREFIX_LIST_ID, SG_ID, SUBNET_ID, VPC_ID, quote};
use super::raw::RawNetwork;
use crate::network::{Endpoints, NetworkSettings as Network};

pub(super) fn resolve_network(c: &mut Checker<'_>, n: RawNetwork) -> Network {
    match (n.vpc_id, n.create) {
        (Some(_), Some(_)) => {
            c.fail(
                "network",
                None,
                "give either vpc_id (use an existing VPC) or [network.create], not both",
            );
            Network::Create {
                cidr: IpNet::V4(ipnet::Ipv4Net::default()),
                azs: 2,
                nat_gateways: 1,
            }
        }
        (None, None) => {
            c.fail(
                "network",
                None,
                "required: vpc_id with private_subnet_ids and public_subnet_ids, or a [network.create] table",
            );
            Network::Create {
                cidr: IpNet::V4(ipnet::Ipv4Net::default()),
                azs: 2,
                nat_gateways: 1,
            }
        }
        (Some(vpc_id), None) => {
            c.pattern("network.vpc_id", &vpc_id, &VPC_ID, "a VPC ID (vpc-…)");
            let mut subnets = |field: &str, ids: Option<Vec<String>>, min: usize| {
                let ids = ids.unwrap_or_default();
                if ids.len() < min {
                    c.fail(
                        &format!("network.{field}"),
                        Some(format!("{ids:?}")),
                        format!("needs at least {min} subnets in different availability zones"),
                    );
                }
                for (i, s) in ids.iter().enumerate() {
                    c.pattern(
                        &format!("network.{field}[{i}]"),
                        s,
                        &SUBNET_ID,
                        "a subnet ID (subnet-…)",
                    );
                }
                let mut seen = std::collections::HashSet::new();
                for s in &ids {
                    if !seen.insert(s) {
                        c.fail(&format!("network.{field}"), Some(quote(s)), "listed twice");
                    }
                }
                ids
            };
            let private_subnet_ids = subnets("private_subnet_ids", n.private_subnet_ids, 2);
            let public_subnet_ids = subnets("public_subnet_ids", n.public_subnet_ids, 0);
            let nat_public_ips = n
                .nat_public_ips
                .unwrap_or_default()
                .iter()
                .enumerate()
                .filter_map(|(i, ip)| {
                    let field = format!("network.nat_public_ips[{i}]");
                    match ip.parse::<std::net::Ipv4Addr>() {
                        Ok(a) => Some(IpNet::V4(ipnet::Ipv4Net::from(a))),
                        Err(_) => {
                            c.fail(&field, Some(quote(ip)), "not an IPv4 address");
                            None
                        }
                    }
                })
                .collect();
            let endpoints = n.endpoints.map(|e| {
                let security_group_id = e.security_group_id.unwrap_or_default();
                c.pattern(
                    "network.endpoints.security_group_id",
                    &security_group_id,
                    &SG_ID,
                    "a security group ID (sg-…)",
                );
                let s3_prefix_list_id = e.s3_prefix_list_id.unwrap_or_default();
                c.pattern(
                    "network.endpoints.s3_prefix_list_id",
                    &s3_prefix_list_id,
                    &PREFIX_LIST_ID,
                    "a prefix list ID (pl-…)",
                );
                Endpoints {
                    security_group_id,
                    s3_prefix_list_id,
                }
            });
            Network::Existing {
                vpc_id,
                private_subnet_ids,
                public_subnet_ids,
                nat_public_ips,
                endpoints,
            }
        }
        (None, Some(create)) => {
            if n.private_subnet_ids.is_some() || n.public_subnet_ids.is_some() {
                c.fail(
                    "network",
                    None,
                    "subnet IDs only go with vpc_id; a created VPC makes its own subnets",
                );
            }
            if n.nat_public_ips.is_some() || n.endpoints.is_some() {
                c.fail(
                    "network",
                    None,
                    "nat_public_ips and [network.endpoints] describe an existing VPC; a created VPC admits its own NAT addresses",
                );
            }
            let cidr_text = create.cidr.unwrap_or_else(|| "10.0.0.0/16".into());
            let cidr = c
                .cidr("network.create.cidr", &cidr_text)
                .unwrap_or(IpNet::V4(ipnet::Ipv4Net::default()));
            match cidr {
                IpNet::V4(v4) if v4.prefix_len() < 16 || v4.prefix_len() > 22 => c.fail(
                    "network.create.cidr",
                    Some(quote(&cidr_text)),
                    "the VPC prefix must be /16 to /22 so each AZ gets a public and a private subnet",
                ),
                IpNet::V6(_) => c.fail(
                    "network.create.cidr",
                    Some(quote(&cidr_text)),
                    "the VPC's primary CIDR must be IPv4",
                ),
                _ => {}
            }
            let azs = create.azs.unwrap_or(2);
            if !(2..=3).contains(&azs) {
                c.fail(
                    "network.create.azs",
                    Some(azs.to_string()),
                    "must be 2 or 3",
                );
            }
            let nat_gateways = create.nat_gateways.unwrap_or(azs);
            if nat_gateways < 1 || nat_gateways > azs {
                c.fail(
                    "network.create.nat_gateways",
                    Some(nat_gateways.to_string()),
                    format!("must be between 1 and the number of AZs ({azs})"),
                );
            }
            Network::Create {
                cidr,
                azs,
                nat_gateways,
            }
        }
    }
}
