//! Public exposure: security groups open to the internet or letting everything out, public
//! buckets, public databases, caches anyone on the network can use, load balancers without a
//! web application firewall.

use std::collections::HashSet;

use cfn_core::Json;
use cfn_core::rules::{Finding, Rule, RuleContext};

use crate::util::{Tri, flag, in_cluster, is_public_alb, items, meta, number, ref_target, str_is};

/// Security groups of internet-facing application load balancers in the template.
fn public_alb_groups<'a>(ctx: &RuleContext<'a>) -> HashSet<&'a str> {
    let mut out = HashSet::new();
    for lb in ctx.resources_of_type("AWS::ElasticLoadBalancingV2::LoadBalancer") {
        if is_public_alb(ctx, &lb) {
            for (_, g) in items(lb.get("SecurityGroups")) {
                if let Some(id) = ref_target(g) {
                    out.insert(id);
                }
            }
        }
    }
    out
}

/// The open-to-everyone CIDR of a security group rule (the source of an ingress rule, the
/// destination of an egress rule): its property name and CIDR.
fn open_cidr(ctx: &RuleContext<'_>, rule: &Json) -> Option<(&'static str, &'static str)> {
    if str_is(ctx, rule.get("CidrIp"), "0.0.0.0/0") {
        Some(("CidrIp", "0.0.0.0/0"))
    } else if str_is(ctx, rule.get("CidrIpv6"), "::/0") {
        Some(("CidrIpv6", "::/0"))
    } else {
        None
    }
}

/// The ports a rule opens, as text, and whether they are exactly TCP 80 or 443.
fn ports(ctx: &RuleContext<'_>, rule: &Json) -> (String, bool) {
    let proto = rule
        .get("IpProtocol")
        .and_then(|p| ctx.resolve_str(p))
        .unwrap_or_else(|| "?".into());
    if proto == "-1" {
        return ("all traffic".into(), false);
    }
    let from = rule.get("FromPort").and_then(|p| number(ctx, p));
    let to = rule.get("ToPort").and_then(|p| number(ctx, p));
    let tcp = proto.eq_ignore_ascii_case("tcp") || proto == "6";
    match (from, to) {
        (Some(f), Some(t)) if f == t => (format!("{proto} {f}"), tcp && (f == 80.0 || f == 443.0)),
        (Some(f), Some(t)) => (format!("{proto} {f}-{t}"), false),
        _ => (format!("{proto} (ports unknown)"), false),
    }
}

/// `exposure-sg-open-ingress`: no security group admits `0.0.0.0/0` or `::/0`, inline
/// (`SecurityGroupIngress`) or as an `AWS::EC2::SecurityGroupIngress`, except the security group
/// of an internet-facing application load balancer on TCP 80 or 443.
///
/// The exception needs the load balancer and its group in the same template. A CIDR only deploy
/// time knows is not a finding.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExposureSgOpenIngress;

impl Rule for ExposureSgOpenIngress {
    meta!(
        "exposure-sg-open-ingress",
        Error,
        "anything on the internet can reach a port opened to 0.0.0.0/0 or ::/0",
        "admit named CIDRs or a source security group; only an internet-facing load balancer's group may be open, on 80/443",
        ["CKV_AWS_24", "CKV_AWS_25", "CKV_AWS_260"]
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        let public = public_alb_groups(ctx);
        for sg in ctx.resources_of_type("AWS::EC2::SecurityGroup") {
            for (suffix, rule) in items(sg.get("SecurityGroupIngress")) {
                let Some((prop, cidr)) = open_cidr(ctx, rule) else {
                    continue;
                };
                let (what, web) = ports(ctx, rule);
                if web && public.contains(sg.logical_id) {
                    continue;
                }
                out.push(sg.finding(
                    self,
                    Some(&format!("SecurityGroupIngress{suffix}.{prop}")),
                    format!("{what} is open to {cidr}"),
                ));
            }
        }
        for r in ctx.resources_of_type("AWS::EC2::SecurityGroupIngress") {
            let Some((prop, cidr)) = open_cidr(ctx, r.properties) else {
                continue;
            };
            let (what, web) = ports(ctx, r.properties);
            let group = r.get("GroupId").or(r.get("GroupName")).and_then(ref_target);
            if web && group.is_some_and(|g| public.contains(g)) {
                continue;
            }
            out.push(r.finding(self, Some(prop), format!("{what} is open to {cidr}")));
        }
    }
}

/// The four settings of `PublicAccessBlockConfiguration`.
const BLOCKS: [&str; 4] = [
    "BlockPublicAcls",
    "BlockPublicPolicy",
    "IgnorePublicAcls",
    "RestrictPublicBuckets",
];

/// `exposure-s3-public-access`: buckets block public access (all four
/// `PublicAccessBlockConfiguration` settings true) and grant no public canned ACL.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExposureS3PublicAccess;

impl Rule for ExposureS3PublicAccess {
    meta!(
        "exposure-s3-public-access",
        Error,
        "a bucket without a full public access block can be made public by one ACL or policy",
        "set PublicAccessBlockConfiguration with BlockPublicAcls, BlockPublicPolicy, IgnorePublicAcls and RestrictPublicBuckets all true; serve public content through CloudFront",
        [
            "CKV_AWS_53",
            "CKV_AWS_54",
            "CKV_AWS_55",
            "CKV_AWS_56",
            "CKV_AWS_20",
            "CKV_AWS_57"
        ]
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for b in ctx.resources_of_type("AWS::S3::Bucket") {
            if let Some(acl) = b.get("AccessControl").and_then(|a| ctx.resolve_str(a))
                && ["PublicRead", "PublicReadWrite", "AuthenticatedRead"].contains(&acl.as_str())
            {
                out.push(b.finding(
                    self,
                    Some("AccessControl"),
                    format!("the canned ACL {acl} grants public access"),
                ));
            }
            let Some(block) = b.get("PublicAccessBlockConfiguration") else {
                out.push(b.finding(
                    self,
                    Some("PublicAccessBlockConfiguration"),
                    "public access is not blocked",
                ));
                continue;
            };
            for k in BLOCKS {
                if flag(ctx, block.get(k), false) == Tri::No {
                    out.push(b.finding(
                        self,
                        Some(&format!("PublicAccessBlockConfiguration.{k}")),
                        format!("{k} is not true"),
                    ));
                }
            }
        }
    }
}

/// `exposure-db-public`: no DB instance or cluster is publicly accessible.
///
/// A standalone DB instance with neither `PubliclyAccessible` nor `DBSubnetGroupName` lands in
/// the default VPC, where it defaults to public: also a finding.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExposureDbPublic;

impl Rule for ExposureDbPublic {
    meta!(
        "exposure-db-public",
        Error,
        "a publicly accessible database has a public IP; only its security group stands between it and the internet",
        "set PubliclyAccessible: false and place the database in private subnets (DBSubnetGroupName)",
        ["CKV_AWS_17"]
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for r in ctx
            .resources_of_type("AWS::RDS::DBInstance")
            .chain(ctx.resources_of_type("AWS::RDS::DBCluster"))
        {
            match r.get("PubliclyAccessible") {
                Some(_) if flag(ctx, r.get("PubliclyAccessible"), false) == Tri::Yes => {
                    out.push(r.finding(
                        self,
                        Some("PubliclyAccessible"),
                        "the database is publicly accessible",
                    ));
                }
                None if r.type_name == "AWS::RDS::DBInstance"
                    && !in_cluster(&r)
                    && r.get("DBSubnetGroupName").is_none() =>
                {
                    out.push(r.finding(
                        self,
                        Some("PubliclyAccessible"),
                        "without a subnet group the instance lands in the default VPC, publicly accessible",
                    ));
                }
                _ => {}
            }
        }
    }
}

/// `exposure-cache-no-auth`: replication groups require authentication (`AuthToken`, or RBAC
/// `UserGroupIds`).
#[derive(Clone, Copy, Debug, Default)]
pub struct ExposureCacheNoAuth;

impl Rule for ExposureCacheNoAuth {
    meta!(
        "exposure-cache-no-auth",
        Error,
        "without AUTH anything that reaches the cache port reads and writes every key",
        "set AuthToken from a generated Secrets Manager secret ({{resolve:secretsmanager:…}}) or UserGroupIds; both need TLS",
        ["CKV_AWS_31"]
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for r in ctx.resources_of_type("AWS::ElastiCache::ReplicationGroup") {
            if r.get("AuthToken").is_none() && items(r.get("UserGroupIds")).next().is_none() {
                out.push(r.finding(
                    self,
                    Some("AuthToken"),
                    "the cache accepts unauthenticated clients",
                ));
            }
        }
    }
}

/// `exposure-sg-declares-egress`: every security group declares its outbound rules
/// (`SecurityGroupEgress`, not empty).
///
/// Without it — or with an empty list — CloudFormation gives the group a rule allowing all
/// outbound traffic, and standalone `AWS::EC2::SecurityGroupEgress` resources add to that rule
/// instead of replacing it. A group that needs no outbound traffic declares one rule matching
/// nothing (`icmp` type 252 code 86 to `255.255.255.255/32`, as the AWS CDK does).
#[derive(Clone, Copy, Debug, Default)]
pub struct ExposureSgDeclaresEgress;

impl Rule for ExposureSgDeclaresEgress {
    meta!(
        "exposure-sg-declares-egress",
        Error,
        "a security group without SecurityGroupEgress lets all outbound traffic out: CloudFormation adds an allow-all rule that standalone egress rules do not remove",
        "declare SecurityGroupEgress with the outbound rules the group needs (for none, one rule matching nothing: icmp 252/86 to 255.255.255.255/32)",
        []
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for sg in ctx.resources_of_type("AWS::EC2::SecurityGroup") {
            let message = match sg.get("SecurityGroupEgress") {
                None | Some(Json::Null) => {
                    "no SecurityGroupEgress: CloudFormation adds a rule allowing all outbound traffic"
                }
                Some(Json::Array(a)) if a.is_empty() => {
                    "an empty SecurityGroupEgress keeps CloudFormation's rule allowing all outbound traffic"
                }
                Some(_) => continue,
            };
            out.push(sg.finding(self, Some("SecurityGroupEgress"), message));
        }
    }
}

/// The open destination of an egress rule allowing every protocol (`IpProtocol: -1`).
fn all_traffic_out(ctx: &RuleContext<'_>, rule: &Json) -> Option<(&'static str, &'static str)> {
    let proto = rule.get("IpProtocol").and_then(|p| ctx.resolve_str(p))?;
    if proto.trim() == "-1" {
        open_cidr(ctx, rule)
    } else {
        None
    }
}

/// `exposure-sg-egress-all` (warning): no security group egress rule (inline or
/// `AWS::EC2::SecurityGroupEgress`) allows every protocol (`IpProtocol: -1`) to `0.0.0.0/0` or
/// `::/0` — CloudFormation's allow-all default, declared explicitly.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExposureSgEgressAll;

impl Rule for ExposureSgEgressAll {
    meta!(
        "exposure-sg-egress-all",
        Warning,
        "a group that may send anything anywhere lets a compromised workload exfiltrate data and reach any host",
        "allow the ports and destinations the workload needs (security groups, prefix lists, CIDRs) instead of all traffic to 0.0.0.0/0 or ::/0",
        []
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for sg in ctx.resources_of_type("AWS::EC2::SecurityGroup") {
            for (at, rule) in items(sg.get("SecurityGroupEgress")) {
                if let Some((prop, cidr)) = all_traffic_out(ctx, rule) {
                    let prop = format!("SecurityGroupEgress{at}.{prop}");
                    let message = format!("all traffic may leave to {cidr}");
                    out.push(sg.finding(self, Some(&prop), message));
                }
            }
        }
        for r in ctx.resources_of_type("AWS::EC2::SecurityGroupEgress") {
            if let Some((prop, cidr)) = all_traffic_out(ctx, r.properties) {
                let message = format!("all traffic may leave to {cidr}");
                out.push(r.finding(self, Some(prop), message));
            }
        }
    }
}

/// `alb-waf` (production): every internet-facing application load balancer has an AWS WAF web
/// ACL (`AWS::WAFv2::WebACLAssociation` whose `ResourceArn` refers to it).
#[derive(Clone, Copy, Debug, Default)]
pub struct AlbWaf;

impl Rule for AlbWaf {
    meta!(
        "alb-waf",
        Error,
        "an internet-facing load balancer without a web application firewall passes every scan, injection attempt and request flood to the application",
        "associate an AWS WAF web ACL (AWS::WAFv2::WebACLAssociation with ResourceArn referring to the load balancer), with the AWS managed rule groups and a rate limit",
        []
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        let protected: HashSet<&str> = ctx
            .resources_of_type("AWS::WAFv2::WebACLAssociation")
            .filter_map(|a| a.get("ResourceArn").and_then(ref_target))
            .collect();
        for lb in ctx.resources_of_type("AWS::ElasticLoadBalancingV2::LoadBalancer") {
            if is_public_alb(ctx, &lb) && !protected.contains(lb.logical_id) {
                out.push(lb.finding(
                    self,
                    None,
                    "no AWS WAF web ACL is associated with the internet-facing load balancer",
                ));
            }
        }
    }
}
