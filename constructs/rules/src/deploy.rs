//! Deploy time: what runs while CloudFormation creates or updates the stack (custom resources,
//! ECS services) waits for what it connects to, and a rolling deploy does not cut the requests
//! the load balancer lets run.

use std::collections::{HashMap, HashSet};

use cfn_core::Json;
use cfn_core::rules::{Finding, ResourceView, Rule, RuleContext};

use crate::graph::{Deps, references};
use crate::util::{elb_attribute, is_alb, items, meta, named, number, ref_target, str_is};

const SERVICE: &str = "AWS::ECS::Service";
const SG: &str = "AWS::EC2::SecurityGroup";
const CLUSTER: &str = "AWS::RDS::DBCluster";
const INSTANCE: &str = "AWS::RDS::DBInstance";

/// What runs at deploy time and connects to things: custom resources (their handler runs
/// during the deploy) and ECS services (their tasks start during it).
fn consumers<'a>(ctx: &RuleContext<'a>) -> Vec<ResourceView<'a>> {
    ctx.resources()
        .filter(|r| {
            r.type_name.starts_with("Custom::")
                || r.type_name == "AWS::CloudFormation::CustomResource"
                || r.type_name == SERVICE
        })
        .collect()
}

/// How a finding calls a consumer.
fn kind(r: &ResourceView<'_>) -> &'static str {
    if r.type_name == SERVICE {
        "ECS service"
    } else {
        "custom resource"
    }
}

/// Whether a cluster's readiness depends on `AWS::RDS::DBInstance`s of its own: not Aurora
/// Serverless v1 (`EngineMode: serverless`) nor a Multi-AZ DB cluster
/// (`DBClusterInstanceClass`), which create their capacity themselves.
fn needs_instances(ctx: &RuleContext<'_>, cluster: &ResourceView<'_>) -> bool {
    !str_is(ctx, cluster.get("EngineMode"), "serverless")
        && cluster.get("DBClusterInstanceClass").is_none()
}

/// Whether a DB instance belongs to a cluster: its `DBClusterIdentifier` refers to it, or names
/// the cluster's literal identifier.
fn member_of(
    ctx: &RuleContext<'_>,
    instance: &ResourceView<'_>,
    cluster: &ResourceView<'_>,
) -> bool {
    let Some(id) = instance.get("DBClusterIdentifier") else {
        return false;
    };
    let name = |v: Option<&Json>| v.and_then(|v| ctx.resolve_str(v)).map(|s| s.to_lowercase());
    ref_target(id) == Some(cluster.logical_id)
        || name(Some(id)).is_some_and(|n| name(cluster.get("DBClusterIdentifier")) == Some(n))
}

/// `ops-wait-for-db-instance`: a custom resource or ECS service whose dependency closure
/// (`Ref`, `Fn::GetAtt`, `Fn::Sub`, `DependsOn`, transitively) holds an `AWS::RDS::DBCluster`
/// also holds a DB instance of that cluster.
///
/// An Aurora cluster is `CREATE_COMPLETE` before any instance exists: its endpoint resolves to
/// nothing, and whatever connects during the deploy (a migration, a task's start-up) fails.
/// Aurora Serverless v1 and Multi-AZ DB clusters have no instance resources and are skipped.
#[derive(Clone, Copy, Debug, Default)]
pub struct OpsWaitForDbInstance;

impl Rule for OpsWaitForDbInstance {
    meta!(
        "ops-wait-for-db-instance",
        Error,
        "an Aurora cluster is CREATE_COMPLETE before any of its instances exists; whatever connects to it during the deploy fails",
        "make the consumer depend on the cluster's writer instance (DependsOn, or a reference to it)",
        []
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        let deps = Deps::new(ctx);
        for c in consumers(ctx) {
            let closure = deps.closure(c.logical_id);
            for cluster in ctx.resources_of_type(CLUSTER) {
                if !closure.contains(cluster.logical_id)
                    || !needs_instances(ctx, &cluster)
                    || ctx
                        .resources_of_type(INSTANCE)
                        .any(|i| closure.contains(i.logical_id) && member_of(ctx, &i, &cluster))
                {
                    continue;
                }
                let message = format!(
                    "the {} uses DB cluster {} through {} but waits for none of its DB instances",
                    kind(&c),
                    named(&cluster),
                    closure.chain(cluster.logical_id)
                );
                out.push(c.finding(self, Some("DependsOn"), message));
            }
        }
    }
}

/// The security groups a consumer runs in: an ECS service's
/// `NetworkConfiguration.AwsvpcConfiguration.SecurityGroups`; any group a custom resource's
/// properties refer to (`Ref`, or `Fn::GetAtt` `GroupId`).
fn attached_groups<'a>(ctx: &RuleContext<'a>, c: &ResourceView<'a>) -> HashSet<&'a str> {
    let is_sg = |id: &&str| ctx.resource(id).is_some_and(|r| r.type_name == SG);
    if c.type_name == SERVICE {
        items(c.get("NetworkConfiguration.AwsvpcConfiguration.SecurityGroups"))
            .filter_map(|(_, g)| ref_target(g))
            .filter(is_sg)
            .collect()
    } else {
        references(c.properties)
            .into_iter()
            .filter(|r| r.attr.is_none_or(|a| a == "GroupId"))
            .map(|r| r.target)
            .filter(is_sg)
            .collect()
    }
}

/// A resource carrying a rule that lets a group's members connect somewhere.
struct Permission<'a> {
    /// The resource that must exist first.
    holder: ResourceView<'a>,
    /// The group whose members it lets out.
    group: &'a str,
    /// What it is, for the message.
    what: &'static str,
}

/// Every permission in the template: standalone ingress rules by their source group, standalone
/// egress rules by their group, and groups with an inline ingress rule from another group.
fn permissions<'a>(ctx: &RuleContext<'a>) -> Vec<Permission<'a>> {
    let mut out = Vec::new();
    for r in ctx.resources() {
        let mut push = |v: Option<&'a Json>, what| {
            if let Some(group) = v.and_then(ref_target) {
                out.push(Permission {
                    holder: r,
                    group,
                    what,
                });
            }
        };
        match r.type_name {
            "AWS::EC2::SecurityGroupIngress" => {
                push(r.get("SourceSecurityGroupId"), "ingress rule")
            }
            "AWS::EC2::SecurityGroupEgress" => push(r.get("GroupId"), "egress rule"),
            SG => items(r.get("SecurityGroupIngress"))
                .for_each(|(_, i)| push(i.get("SourceSecurityGroupId"), "inline ingress of group")),
            _ => {}
        }
    }
    out
}

/// `ops-wait-for-sg-rules`: a custom resource or ECS service waits for every security group
/// rule that lets its groups connect — `AWS::EC2::SecurityGroupIngress` with one of them as
/// `SourceSecurityGroupId`, `AWS::EC2::SecurityGroupEgress` on one of them, a group whose inline
/// ingress admits one of them — by having it in its dependency closure.
///
/// A standalone rule is created whenever CloudFormation gets to it; a task or handler that starts
/// first times out connecting to the database or cache it is about to be allowed into.
#[derive(Clone, Copy, Debug, Default)]
pub struct OpsWaitForSgRules;

impl Rule for OpsWaitForSgRules {
    meta!(
        "ops-wait-for-sg-rules",
        Error,
        "a task or handler that starts before the security group rules letting it out exist cannot connect",
        "make the consumer depend on each security group rule that lets its groups connect (ingress from them, egress on them)",
        []
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        let deps = Deps::new(ctx);
        let permissions = permissions(ctx);
        for c in consumers(ctx) {
            let groups = attached_groups(ctx, &c);
            if groups.is_empty() {
                continue;
            }
            let closure = deps.closure(c.logical_id);
            for p in &permissions {
                if groups.contains(p.group) && !closure.contains(p.holder.logical_id) {
                    let message = format!(
                        "the {} does not wait for {} {}, which lets its security group {} connect",
                        kind(&c),
                        p.what,
                        named(&p.holder),
                        ctx.resource(p.group)
                            .map_or(p.group.to_owned(), |g| named(&g))
                    );
                    out.push(c.finding(self, Some("DependsOn"), message));
                }
            }
        }
    }
}

const LB: &str = "AWS::ElasticLoadBalancingV2::LoadBalancer";

/// The target groups actions forward to (`TargetGroupArn`, `ForwardConfig.TargetGroups`).
fn forwarded(actions: Option<&Json>) -> Vec<&str> {
    let mut out = Vec::new();
    for (_, a) in items(actions) {
        out.extend(a.get("TargetGroupArn").and_then(ref_target));
        let weighted = a.get("ForwardConfig").and_then(|f| f.get("TargetGroups"));
        out.extend(
            items(weighted).filter_map(|(_, t)| t.get("TargetGroupArn").and_then(ref_target)),
        );
    }
    out
}

/// Each target group an application load balancer's listeners and listener rules forward to,
/// with the load balancers forwarding to it.
fn alb_targets<'a>(ctx: &RuleContext<'a>) -> HashMap<&'a str, Vec<&'a str>> {
    let mut listeners = HashMap::new();
    let mut out: HashMap<&'a str, Vec<&'a str>> = HashMap::new();
    let mut add = |tgs: Vec<&'a str>, lb: &'a str| {
        for tg in tgs {
            let lbs = out.entry(tg).or_default();
            if !lbs.contains(&lb) {
                lbs.push(lb);
            }
        }
    };
    for l in ctx.resources_of_type("AWS::ElasticLoadBalancingV2::Listener") {
        let lb = l.get("LoadBalancerArn").and_then(ref_target).filter(|id| {
            ctx.resource(id)
                .is_some_and(|r| r.type_name == LB && is_alb(ctx, &r))
        });
        if let Some(lb) = lb {
            listeners.insert(l.logical_id, lb);
            add(forwarded(l.get("DefaultActions")), lb);
        }
    }
    for r in ctx.resources_of_type("AWS::ElasticLoadBalancingV2::ListenerRule") {
        let listener = r.get("ListenerArn").and_then(ref_target);
        if let Some(&lb) = listener.and_then(|l| listeners.get(l)) {
            add(forwarded(r.get("Actions")), lb);
        }
    }
    out
}

/// A load balancer or target group attribute in seconds: `default` when absent, `None` when
/// only deploy time knows it.
fn seconds(
    ctx: &RuleContext<'_>,
    r: &ResourceView<'_>,
    list: &str,
    key: &str,
    default: f64,
) -> Option<f64> {
    if r.get(list).is_some_and(|l| !l.is_array()) {
        return None;
    }
    match elb_attribute(r, list, key) {
        None => Some(default),
        Some(v) => number(ctx, v),
    }
}

/// `alb-drain-covers-idle-timeout`: a target group an application load balancer forwards to
/// drains (`deregistration_delay.timeout_seconds`, default 300) at least as long as that load
/// balancer lets a connection idle (`idle_timeout.timeout_seconds`, default 60).
///
/// A request the load balancer lets sit idle for N seconds (a stream, server-sent events) is
/// cut when a rolling deploy or a scale-in deregisters its target sooner. Lambda target groups
/// are skipped; a value only deploy time knows is not a finding.
#[derive(Clone, Copy, Debug, Default)]
pub struct AlbDrainCoversIdleTimeout;

impl Rule for AlbDrainCoversIdleTimeout {
    meta!(
        "alb-drain-covers-idle-timeout",
        Error,
        "a rolling deploy or scale-in cuts requests that the load balancer lets idle longer than the target group drains",
        "set the target group's deregistration_delay.timeout_seconds to at least the load balancer's idle_timeout.timeout_seconds",
        []
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        let targets = alb_targets(ctx);
        for tg in ctx.resources_of_type("AWS::ElasticLoadBalancingV2::TargetGroup") {
            let key = "deregistration_delay.timeout_seconds";
            let drain = seconds(ctx, &tg, "TargetGroupAttributes", key, 300.0);
            let (Some(lbs), Some(drain)) = (targets.get(tg.logical_id), drain) else {
                continue;
            };
            if str_is(ctx, tg.get("TargetType"), "lambda") {
                continue;
            }
            for lb in lbs.iter().filter_map(|id| ctx.resource(id)) {
                let key = "idle_timeout.timeout_seconds";
                let Some(idle) = seconds(ctx, &lb, "LoadBalancerAttributes", key, 60.0) else {
                    continue;
                };
                if drain < idle {
                    let message = format!(
                        "targets drain for {drain} s but load balancer {} lets a connection idle for {idle} s",
                        named(&lb)
                    );
                    out.push(tg.finding(self, Some("TargetGroupAttributes"), message));
                }
            }
        }
    }
}
