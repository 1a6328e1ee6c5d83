//! Encryption in transit: caches, load balancers, buckets, databases, and clients told not to
//! verify certificates.

use std::collections::HashSet;

use cfn_core::Json;
use cfn_core::rules::{Finding, ResourceView, Rule, RuleContext};

use crate::detect::words;
use crate::util::{Tri, env_vars, flag, in_cluster, items, meta, ref_target, shape, str_is};

/// `tls-elasticache`: replication groups require TLS (`TransitEncryptionEnabled: true`, and
/// `TransitEncryptionMode`, when given, `required`: `preferred` still accepts plaintext).
#[derive(Clone, Copy, Debug, Default)]
pub struct TlsElasticache;

impl Rule for TlsElasticache {
    meta!(
        "tls-elasticache",
        Error,
        "cache traffic (AUTH token included) crosses the network in plaintext without TLS",
        "set TransitEncryptionEnabled: true and TransitEncryptionMode: required, and connect with rediss:// verifying the certificate",
        ["CKV_AWS_30"]
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for r in ctx.resources_of_type("AWS::ElastiCache::ReplicationGroup") {
            if flag(ctx, r.get("TransitEncryptionEnabled"), false) == Tri::No {
                out.push(r.finding(
                    self,
                    Some("TransitEncryptionEnabled"),
                    "the replication group accepts plaintext connections",
                ));
            } else if str_is(ctx, r.get("TransitEncryptionMode"), "preferred") {
                out.push(r.finding(
                    self,
                    Some("TransitEncryptionMode"),
                    "mode 'preferred' still accepts plaintext connections",
                ));
            }
        }
    }
}

/// Whether an action redirects to HTTPS.
fn redirects_to_https(ctx: &RuleContext<'_>, a: &Json) -> bool {
    str_is(ctx, a.get("Type"), "redirect")
        && str_is(
            ctx,
            a.get("RedirectConfig").and_then(|c| c.get("Protocol")),
            "HTTPS",
        )
}

/// `tls-alb-https`: load balancer listeners speak HTTPS; an HTTP listener is fine only when
/// every default action redirects to HTTPS, and no listener rule on it forwards or
/// authenticates (fixed responses and redirects carry no application data).
///
/// A protocol only deploy time knows is not a finding.
#[derive(Clone, Copy, Debug, Default)]
pub struct TlsAlbHttps;

impl Rule for TlsAlbHttps {
    meta!(
        "tls-alb-https",
        Error,
        "an HTTP listener that serves the application sends sessions and credentials in plaintext",
        "serve on an HTTPS listener with a certificate; make the HTTP listener's only action a redirect to HTTPS",
        ["CKV_AWS_2", "CKV_AWS_103"]
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        let mut http = HashSet::new();
        for r in ctx.resources_of_type("AWS::ElasticLoadBalancingV2::Listener") {
            if !str_is(ctx, r.get("Protocol"), "HTTP") {
                continue;
            }
            http.insert(r.logical_id);
            let mut actions = items(r.get("DefaultActions")).peekable();
            let redirects =
                actions.peek().is_some() && actions.all(|(_, a)| redirects_to_https(ctx, a));
            if !redirects {
                let port = r
                    .get("Port")
                    .and_then(|p| ctx.resolve_str(p))
                    .unwrap_or_else(|| "?".into());
                out.push(r.finding(
                    self,
                    Some("Protocol"),
                    format!("the HTTP listener on port {port} serves traffic instead of redirecting to HTTPS"),
                ));
            }
        }
        for r in ctx.resources_of_type("AWS::ElasticLoadBalancingV2::ListenerRule") {
            let on_http = r
                .get("ListenerArn")
                .and_then(ref_target)
                .is_some_and(|l| http.contains(l));
            if !on_http {
                continue;
            }
            for (suffix, a) in items(r.get("Actions")) {
                let serves = a
                    .get("Type")
                    .and_then(|t| ctx.resolve_str(t))
                    .is_some_and(|t| t == "forward" || t.starts_with("authenticate"));
                if serves {
                    out.push(r.finding(
                        self,
                        Some(&format!("Actions{suffix}")),
                        "a rule on an HTTP listener forwards traffic in plaintext",
                    ));
                }
            }
        }
    }
}

/// Security policies that accept nothing older than TLS 1.2.
const TLS12_POLICIES: [&str; 4] = [
    "ELBSecurityPolicy-TLS13-1-2",
    "ELBSecurityPolicy-TLS13-1-3",
    "ELBSecurityPolicy-TLS-1-2",
    "ELBSecurityPolicy-FS-1-2",
];

/// `tls-alb-policy`: HTTPS and TLS listeners use a security policy that accepts TLS 1.2 or
/// later only (`ELBSecurityPolicy-TLS13-1-2-*`, `-TLS13-1-3-*`, `-TLS-1-2-*`, `-FS-1-2-*`).
///
/// A listener without `SslPolicy` gets `ELBSecurityPolicy-2016-08`, which accepts TLS 1.0: a
/// finding. A policy only deploy time knows is not.
#[derive(Clone, Copy, Debug, Default)]
pub struct TlsAlbPolicy;

impl Rule for TlsAlbPolicy {
    meta!(
        "tls-alb-policy",
        Error,
        "TLS 1.0 and 1.1 are broken; a listener must not negotiate them",
        "set SslPolicy to ELBSecurityPolicy-TLS13-1-2-2021-06 (or another TLS 1.2+ policy)",
        ["CKV_AWS_103"]
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for r in ctx.resources_of_type("AWS::ElasticLoadBalancingV2::Listener") {
            if !(str_is(ctx, r.get("Protocol"), "HTTPS") || str_is(ctx, r.get("Protocol"), "TLS")) {
                continue;
            }
            match r.get("SslPolicy") {
                None => out.push(r.finding(
                    self,
                    Some("SslPolicy"),
                    "no SslPolicy: the default ELBSecurityPolicy-2016-08 accepts TLS 1.0",
                )),
                Some(p) => {
                    if let Some(p) = ctx.resolve_str(p)
                        && !TLS12_POLICIES.iter().any(|ok| p.starts_with(ok))
                    {
                        out.push(r.finding(
                            self,
                            Some("SslPolicy"),
                            format!("{p} accepts TLS older than 1.2"),
                        ));
                    }
                }
            }
        }
    }
}

/// Whether a bucket policy statement denies every request made without TLS.
fn denies_insecure_transport(ctx: &RuleContext<'_>, s: &Json) -> bool {
    let everyone = match s.get("Principal") {
        Some(p) => {
            str_is(ctx, Some(p), "*") || items(p.get("AWS")).any(|(_, a)| str_is(ctx, Some(a), "*"))
        }
        None => false,
    };
    let all_actions = items(s.get("Action"))
        .any(|(_, a)| str_is(ctx, Some(a), "s3:*") || str_is(ctx, Some(a), "*"));
    let insecure = s
        .get("Condition")
        .and_then(|c| c.get("Bool"))
        .and_then(|b| b.get("aws:SecureTransport"))
        .is_some_and(|v| items(Some(v)).any(|(_, x)| str_is(ctx, Some(x), "false")));
    str_is(ctx, s.get("Effect"), "Deny") && everyone && all_actions && insecure
}

/// `tls-s3-bucket-policy`: every bucket has a bucket policy that denies any request made
/// without TLS (`Deny`, principal `*`, `s3:*`, `Bool: {aws:SecureTransport: false}`).
///
/// The policy is found by its `Bucket` (a `Ref` to the bucket, or the bucket's literal name).
#[derive(Clone, Copy, Debug, Default)]
pub struct TlsS3BucketPolicy;

impl Rule for TlsS3BucketPolicy {
    meta!(
        "tls-s3-bucket-policy",
        Error,
        "S3 accepts plain HTTP unless the bucket policy denies it",
        "add an AWS::S3::BucketPolicy with a statement denying s3:* to principal * when aws:SecureTransport is false",
        []
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        let mut covered: HashSet<String> = HashSet::new();
        for p in ctx.resources_of_type("AWS::S3::BucketPolicy") {
            let Some(bucket) = p.get("Bucket") else {
                continue;
            };
            let denies = p
                .get("PolicyDocument")
                .map(|d| items(d.get("Statement")).any(|(_, s)| denies_insecure_transport(ctx, s)))
                .unwrap_or(false);
            if !denies {
                continue;
            }
            if let Some(id) = ref_target(bucket) {
                covered.insert(id.to_owned());
            } else if let Some(name) = ctx.resolve_str(bucket) {
                covered.insert(format!("name:{name}"));
            }
        }
        for b in ctx.resources_of_type("AWS::S3::Bucket") {
            let by_name = b
                .get("BucketName")
                .and_then(|n| ctx.resolve_str(n))
                .is_some_and(|n| covered.contains(&format!("name:{n}")));
            if !covered.contains(b.logical_id) && !by_name {
                out.push(b.finding(
                    self,
                    None,
                    "no bucket policy denies requests made without TLS (aws:SecureTransport=false)",
                ));
            }
        }
    }
}

/// Whether a PostgreSQL parameter value means "on".
fn pg_on(ctx: &RuleContext<'_>, v: &Json) -> Tri {
    match ctx.resolve_str(v) {
        Some(s) => {
            if ["1", "true", "on"]
                .iter()
                .any(|x| s.eq_ignore_ascii_case(x))
            {
                Tri::Yes
            } else {
                Tri::No
            }
        }
        None => Tri::Unknown,
    }
}

/// `tls-rds-force-ssl`: PostgreSQL clusters and instances refuse connections without TLS, by
/// `rds.force_ssl = 1` in a parameter group defined in the same template.
///
/// The rule must see the parameter: a cluster without a parameter group (Aurora's default
/// group does not force TLS) or naming one outside the template is a finding — define the group
/// in the stack or suppress with the reason. A standalone RDS for PostgreSQL instance of major
/// version 15 or later without a group is fine: its default group forces TLS. MySQL and other
/// engines are out of scope.
#[derive(Clone, Copy, Debug, Default)]
pub struct TlsRdsForceSsl;

impl TlsRdsForceSsl {
    fn check_group(
        &self,
        ctx: &RuleContext<'_>,
        owner: &ResourceView<'_>,
        property: &str,
        group_type: &str,
        seen: &mut HashSet<String>,
        out: &mut Vec<Finding>,
    ) {
        let Some(g) = owner.get(property) else {
            out.push(owner.finding(
                self,
                Some(property),
                "no parameter group: the default one does not force TLS",
            ));
            return;
        };
        let group = ref_target(g)
            .and_then(|id| ctx.resource(id))
            .filter(|r| r.type_name == group_type);
        let Some(group) = group else {
            if ctx.resolve_str(g).is_some() {
                out.push(owner.finding(
                    self,
                    Some(property),
                    "the parameter group is not in this template, so rds.force_ssl cannot be verified",
                ));
            }
            return;
        };
        if !seen.insert(group.logical_id.to_owned()) {
            return;
        }
        match group
            .properties
            .get("Parameters")
            .and_then(|p| p.get("rds.force_ssl"))
        {
            None => out.push(group.finding(self, Some("Parameters"), "rds.force_ssl is not set")),
            Some(v) if pg_on(ctx, v) == Tri::No => out.push(group.finding(
                self,
                Some("Parameters.rds.force_ssl"),
                "rds.force_ssl is off",
            )),
            Some(_) => {}
        }
    }
}

impl Rule for TlsRdsForceSsl {
    meta!(
        "tls-rds-force-ssl",
        Error,
        "PostgreSQL accepts plaintext connections (passwords included) unless rds.force_ssl is on",
        "set \"rds.force_ssl\": \"1\" in the (cluster) parameter group and connect with sslmode=require or stricter",
        ["CKV2_AWS_69"]
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        let postgres = |r: &ResourceView<'_>| {
            r.get("Engine")
                .and_then(|e| ctx.resolve_str(e))
                .is_some_and(|e| e.contains("postgres"))
        };
        let mut seen = HashSet::new();
        for r in ctx.resources_of_type("AWS::RDS::DBCluster") {
            if postgres(&r) {
                self.check_group(
                    ctx,
                    &r,
                    "DBClusterParameterGroupName",
                    "AWS::RDS::DBClusterParameterGroup",
                    &mut seen,
                    out,
                );
            }
        }
        for r in ctx.resources_of_type("AWS::RDS::DBInstance") {
            if in_cluster(&r) || !postgres(&r) {
                continue;
            }
            let major = r
                .get("EngineVersion")
                .and_then(|v| ctx.resolve_str(v))
                .and_then(|v| v.split('.').next().and_then(|m| m.parse::<u32>().ok()));
            if r.get("DBParameterGroupName").is_none() && major.is_some_and(|m| m >= 15) {
                continue;
            }
            self.check_group(
                ctx,
                &r,
                "DBParameterGroupName",
                "AWS::RDS::DBParameterGroup",
                &mut seen,
                out,
            );
        }
    }
}

/// Whether a value means "off".
fn falsy(s: &str) -> bool {
    ["0", "false", "no", "none", "off", "cert_none"]
        .iter()
        .any(|x| s.trim().eq_ignore_ascii_case(x))
}

/// `tls-verification-disabled`: no container or function environment turns certificate
/// verification off: `CERT_NONE` or `ssl_cert_reqs=none` (redis-py, Celery), `sslmode=disable`
/// (libpq), `NODE_TLS_REJECT_UNAUTHORIZED=0`, `PYTHONHTTPSVERIFY=0`, or a variable whose name
/// says "verify" or "cert reqs" set to `false`/`0`/`none`.
///
/// `sslmode=require` (encrypted, server not verified) is not flagged: RDS certificates come
/// from a CA the stock images do not carry, and the server side forces TLS
/// (`tls-rds-force-ssl`).
#[derive(Clone, Copy, Debug, Default)]
pub struct TlsVerificationDisabled;

impl Rule for TlsVerificationDisabled {
    meta!(
        "tls-verification-disabled",
        Error,
        "TLS without certificate verification lets anyone on the path impersonate the server",
        "verify certificates: ssl_cert_reqs=CERT_REQUIRED with the system CA bundle, sslmode=require or verify-full, no *_VERIFY=false",
        []
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for v in env_vars(ctx) {
            let text = shape(ctx, v.value);
            let lower = text.to_ascii_lowercase();
            let name_words = words(v.name);
            let has = |w: &str| name_words.iter().any(|x| x == w);
            let why = if lower.contains("cert_none") || lower.contains("ssl_cert_reqs=none") {
                Some("disables certificate verification (CERT_NONE)")
            } else if lower.contains("sslmode=disable") {
                Some("disables TLS to PostgreSQL (sslmode=disable)")
            } else if (v.name == "NODE_TLS_REJECT_UNAUTHORIZED" || v.name == "PYTHONHTTPSVERIFY")
                && text.trim() == "0"
            {
                Some("disables certificate verification for the whole runtime")
            } else if (has("verify") || (has("cert") && has("reqs"))) && falsy(&text) {
                Some("turns certificate verification off")
            } else {
                None
            };
            if let Some(why) = why {
                out.push(v.resource.finding(
                    self,
                    Some(&v.value_path()),
                    format!("{} {why}", v.name),
                ));
            }
        }
    }
}
