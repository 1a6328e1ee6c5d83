//! `[domain]` and `[ingress]`: the load balancer, its name, certificate, allowlist and WAF.

use indexmap::IndexMap;
use ipnet::IpNet;

use super::checks::{ACM_ARN, Checker, DOMAIN, ZONE_ID, quote};
use super::raw::{RawDomain, RawIngress};
use crate::ingress::{Domain, IngressSettings as Ingress};
use crate::waf::WafSettings;

pub(super) fn resolve_domain(c: &mut Checker<'_>, d: RawDomain) -> Domain {
    c.opt_pattern("domain.name", &d.name, &DOMAIN, "a lowercase DNS name");
    c.opt_pattern(
        "domain.hosted_zone_id",
        &d.hosted_zone_id,
        &ZONE_ID,
        "a Route 53 hosted zone ID (Z…)",
    );
    c.opt_pattern(
        "domain.certificate_arn",
        &d.certificate_arn,
        &ACM_ARN,
        "an ACM certificate ARN",
    );
    if d.hosted_zone_id.is_some() && d.name.is_none() {
        c.fail(
            "domain.name",
            None,
            "required when domain.hosted_zone_id is set (the record's name)",
        );
    }
    Domain {
        name: d.name,
        hosted_zone_id: d.hosted_zone_id,
        certificate_arn: d.certificate_arn,
    }
}

/// The load balancer, and the WAF in front of it (`[ingress.waf]`, on by default in
/// production).
pub(super) fn resolve_ingress(
    c: &mut Checker<'_>,
    i: RawIngress,
    production: bool,
) -> (Ingress, Option<WafSettings>) {
    let mut allowlist = IndexMap::new();
    for (group, cidrs) in i.allowlist {
        if cidrs.is_empty() {
            c.fail(
                &format!("ingress.allowlist.{group}"),
                None,
                "an empty group allows nobody; remove it",
            );
        }
        let nets: Vec<IpNet> = cidrs
            .iter()
            .enumerate()
            .filter_map(|(n, s)| {
                let field = format!("ingress.allowlist.{group}[{n}]");
                let net = c.cidr(&field, s)?;
                // The load balancer is IPv4-only behind an A record: an IPv6 rule would never
                // match anything, and look like access that is not there.
                if let IpNet::V6(_) = net {
                    c.fail(
                        &field,
                        Some(quote(s)),
                        "the load balancer is IPv4-only (an A record): IPv6 clients reach it over IPv4, so list the office's IPv4 egress addresses instead",
                    );
                    return None;
                }
                Some(net)
            })
            .collect();
        allowlist.insert(group, nets);
    }
    let idle_timeout_seconds = i.idle_timeout_seconds.unwrap_or(900);
    if idle_timeout_seconds < 600 {
        c.fail(
            "ingress.idle_timeout_seconds",
            Some(idle_timeout_seconds.to_string()),
            "Dify streams responses (SSE) for minutes: use at least 600",
        );
    }
    c.range(
        "ingress.idle_timeout_seconds",
        idle_timeout_seconds,
        1,
        4000,
    );
    let raw_waf = i.waf.unwrap_or_default();
    let waf = raw_waf.enabled.unwrap_or(production).then(|| {
        let defaults = WafSettings::default();
        let settings = WafSettings {
            rate_limit: raw_waf.rate_limit.unwrap_or(defaults.rate_limit),
            count_only: raw_waf.count_only.unwrap_or(false),
            ..defaults
        };
        if let Err(e) = settings.validate() {
            c.fail("ingress.waf", None, e.to_string());
        }
        settings
    });
    let ingress = Ingress {
        internet_facing: i.internet_facing.unwrap_or(true),
        allowlist,
        deletion_protection: i.deletion_protection.unwrap_or(production),
        idle_timeout_seconds,
        access_logs: i.access_logs.unwrap_or(true),
    };
    (ingress, waf)
}
