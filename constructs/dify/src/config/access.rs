//! `[network.private]`, `[ingress.sso]` and `[bedrock]`: private-only mode, sign-in at the load
//! balancer and Bedrock through the task roles, with the combinations each refuses.

use ipnet::IpNet;
use serde::Deserialize;

use super::checks::{Checker, PREFIX_LIST_ID, SECRET_ARN, quote};
use crate::bedrock::{ACCESS_KEY_VARIABLES, BedrockSettings};
use crate::images::Images;
use crate::ingress::{Domain, IngressSettings};
use crate::network::NetworkSettings as Network;
use crate::private::PrivateSettings;
use crate::sso::{SsoProvider, SsoSettings};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPrivate {
    pub(super) pypi_mirror_url: Option<String>,
    pub(super) egress_cidrs: Option<Vec<String>>,
    pub(super) route_table_ids: Option<Vec<String>>,
    pub(super) s3_prefix_list_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSso {
    pub(super) oidc: Option<RawOidc>,
    pub(super) cognito: Option<RawCognito>,
    pub(super) scope: Option<String>,
    pub(super) session_timeout_seconds: Option<u32>,
    pub(super) paths: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOidc {
    pub(super) issuer: Option<String>,
    pub(super) authorization_endpoint: Option<String>,
    pub(super) token_endpoint: Option<String>,
    pub(super) user_info_endpoint: Option<String>,
    pub(super) client_id: Option<String>,
    pub(super) client_secret_arn: Option<String>,
    pub(super) client_secret_key: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCognito {
    pub(super) user_pool_arn: Option<String>,
    pub(super) user_pool_client_id: Option<String>,
    pub(super) user_pool_domain: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBedrock {
    pub(super) enabled: Option<bool>,
    pub(super) model_arns: Option<Vec<String>>,
    pub(super) inference_profile_arns: Option<Vec<String>>,
    pub(super) model_regions: Option<Vec<String>>,
}

static ROUTE_TABLE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"^rtb-[0-9a-f]{8,17}$").unwrap_or_else(|e| panic!("built-in pattern: {e}"))
});
static MODEL_ARN: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"^arn:aws[a-z-]*:bedrock:[a-z0-9-]+:(\d{12})?:(foundation-model|inference-profile|application-inference-profile)/[A-Za-z0-9.:_*-]+$")
        .unwrap_or_else(|e| panic!("built-in pattern: {e}"))
});
static COGNITO_POOL: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(
        r"^arn:aws[a-z-]*:cognito-idp:[a-z0-9-]+:\d{12}:userpool/[a-z0-9-]+_[A-Za-z0-9]+$",
    )
    .unwrap_or_else(|e| panic!("built-in pattern: {e}"))
});

/// `[network.private]`: the mirror, internal destinations, and S3's gateway endpoint. Refused
/// in a VPC the stack creates (it has an internet gateway and NAT gateways of its own).
pub(super) fn resolve_private(
    c: &mut Checker<'_>,
    raw: RawPrivate,
    network: &Network,
) -> PrivateSettings {
    let field = |k: &str| format!("network.private.{k}");
    let existing = match network {
        Network::Existing { endpoints, .. } => Some(endpoints),
        Network::Create { .. } => {
            c.fail(
                "network.private",
                None,
                "private-only mode runs in an existing VPC that reaches your network (network.vpc_id); a VPC the stack creates has an internet gateway and NAT gateways",
            );
            None
        }
    };
    let pypi_mirror_url = raw.pypi_mirror_url.unwrap_or_default();
    if !pypi_mirror_url.starts_with("https://") {
        c.fail(
            &field("pypi_mirror_url"),
            Some(quote(&pypi_mirror_url)),
            "required: the https:// URL of a PyPI index inside your network (the plugin daemon's PIP_MIRROR_URL), or installing a plugin needs the internet",
        );
    }
    let egress_cidrs: Vec<IpNet> = raw
        .egress_cidrs
        .unwrap_or_default()
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let f = format!("{}[{i}]", field("egress_cidrs"));
            let net = c.cidr(&f, s)?;
            if net.prefix_len() == 0 {
                c.fail(&f, Some(quote(s)), "private-only mode never opens a task to the internet: name the internal ranges (the PyPI mirror's, internal APIs')");
                return None;
            }
            Some(net)
        })
        .collect();
    let route_table_ids = raw.route_table_ids.unwrap_or_default();
    for (i, t) in route_table_ids.iter().enumerate() {
        c.pattern(
            &format!("{}[{i}]", field("route_table_ids")),
            t,
            &ROUTE_TABLE,
            "a route table ID (rtb-…)",
        );
    }
    let from_endpoints = existing
        .and_then(|e| e.as_ref())
        .map(|e| e.s3_prefix_list_id.clone());
    let s3_prefix_list_id = match (raw.s3_prefix_list_id, from_endpoints) {
        (Some(p), _) => {
            c.pattern(
                &field("s3_prefix_list_id"),
                &p,
                &PREFIX_LIST_ID,
                "a prefix list ID (pl-…)",
            );
            p
        }
        (None, Some(p)) => p,
        (None, None) => {
            c.fail(
                &field("s3_prefix_list_id"),
                None,
                "required (or [network.endpoints]): the com.amazonaws.<region>.s3 prefix list tasks send HTTPS to",
            );
            String::new()
        }
    };
    PrivateSettings {
        pypi_mirror_url,
        egress_cidrs,
        route_table_ids,
        s3_prefix_list_id,
    }
}

/// Private-only mode's cross-area rules: an internal load balancer someone may reach, and
/// every image from ECR.
pub(super) fn check_private(
    c: &mut Checker<'_>,
    ingress: &IngressSettings,
    internet_facing_set: bool,
    images: &Images,
) {
    if ingress.internet_facing && internet_facing_set {
        c.fail(
            "ingress.internet_facing",
            Some("true".into()),
            "private-only mode ([network.private]) has no internet-facing load balancer: set it to false or remove it",
        );
    }
    if ingress
        .allowlist
        .iter()
        .flat_map(|(_, n)| n)
        .any(|n| n.prefix_len() == 0)
    {
        c.fail(
            "ingress.allowlist",
            None,
            "private-only mode admits named internal ranges only, never 0.0.0.0/0",
        );
    }
    if ingress.allowlist.is_empty() {
        c.fail(
            "ingress.allowlist",
            None,
            "private-only mode: name the internal ranges that may reach the internal load balancer (your corporate network, VPN)",
        );
    }
    if images.pull_through_cache.is_some() {
        return;
    }
    let ecr = |r: &str| r.split('/').next().is_some_and(|h| h.contains(".dkr.ecr."));
    for (field, reference) in [
        ("images.registry", &images.registry),
        ("images.ssrf_proxy", &images.ssrf_proxy),
    ] {
        if !ecr(reference) {
            c.fail(
                field,
                Some(quote(reference)),
                "private-only mode pulls every image from ECR: set [images.pull_through_cache], or mirror the images to ECR and name them here",
            );
        }
    }
}

/// `[ingress.sso]`: one provider, its secret as an ARN, no machine route behind sign-in.
pub(super) fn resolve_sso(
    c: &mut Checker<'_>,
    raw: RawSso,
    domain: &Domain,
) -> Option<SsoSettings> {
    let provider = match (raw.oidc, raw.cognito) {
        (Some(o), None) => oidc(c, o),
        (None, Some(g)) => cognito(c, g),
        _ => {
            c.fail(
                "ingress.sso",
                None,
                "give exactly one of [ingress.sso.oidc] or [ingress.sso.cognito]",
            );
            return None;
        }
    };
    if domain.certificate_arn.is_none() {
        c.fail(
            "ingress.sso",
            None,
            "the load balancer authenticates on HTTPS listeners only: set domain.certificate_arn",
        );
    }
    let mut sso = SsoSettings::new(provider);
    if let Some(scope) = raw.scope {
        sso.scope = scope;
    }
    if let Some(t) = raw.session_timeout_seconds {
        c.range("ingress.sso.session_timeout_seconds", t, 1, 604_800);
        sso.session_timeout_seconds = t;
    }
    if let Some(paths) = raw.paths {
        sso.paths = paths;
    }
    if sso.paths.len() > 10 {
        c.fail(
            "ingress.sso.paths",
            None,
            "at most 10 paths (two listener rules of five)",
        );
    }
    for (i, p) in sso.paths.iter().enumerate() {
        let f = format!("ingress.sso.paths[{i}]");
        if !p.starts_with('/') {
            c.fail(&f, Some(quote(p)), "a path pattern starts with /");
        } else if let Some(hit) = SsoSettings::machine_path_hit(p) {
            c.fail(
                &f,
                Some(quote(p)),
                format!("would put {hit} behind sign-in: machine clients call it with their own authentication (API keys, signed URLs, webhooks), and a redirect to the IdP breaks them"),
            );
        }
    }
    Some(sso)
}

fn required(c: &mut Checker<'_>, field: &str, v: Option<String>) -> String {
    v.unwrap_or_else(|| {
        c.fail(field, None, "required");
        String::new()
    })
}

fn oidc(c: &mut Checker<'_>, o: RawOidc) -> SsoProvider {
    let f = |k: &str| format!("ingress.sso.oidc.{k}");
    let url = |c: &mut Checker<'_>, k: &str, v: Option<String>| {
        let v = required(c, &f(k), v);
        if !v.is_empty() && !v.starts_with("https://") {
            c.fail(&f(k), Some(quote(&v)), "an https:// URL");
        }
        v
    };
    let issuer = url(c, "issuer", o.issuer);
    let authorization_endpoint = url(c, "authorization_endpoint", o.authorization_endpoint);
    let token_endpoint = url(c, "token_endpoint", o.token_endpoint);
    let user_info_endpoint = url(c, "user_info_endpoint", o.user_info_endpoint);
    let client_id = required(c, &f("client_id"), o.client_id);
    let client_secret_arn = required(c, &f("client_secret_arn"), o.client_secret_arn);
    if !client_secret_arn.is_empty() {
        c.pattern(
            &f("client_secret_arn"),
            &client_secret_arn,
            &SECRET_ARN,
            "a Secrets Manager secret ARN (the client secret itself never goes in a file)",
        );
    }
    SsoProvider::Oidc {
        issuer,
        authorization_endpoint,
        token_endpoint,
        user_info_endpoint,
        client_id,
        client_secret_arn,
        client_secret_key: o.client_secret_key,
    }
}

fn cognito(c: &mut Checker<'_>, g: RawCognito) -> SsoProvider {
    let f = |k: &str| format!("ingress.sso.cognito.{k}");
    let user_pool_arn = required(c, &f("user_pool_arn"), g.user_pool_arn);
    if !user_pool_arn.is_empty() {
        c.pattern(
            &f("user_pool_arn"),
            &user_pool_arn,
            &COGNITO_POOL,
            "a Cognito user pool ARN",
        );
    }
    SsoProvider::Cognito {
        user_pool_arn,
        user_pool_client_id: required(c, &f("user_pool_client_id"), g.user_pool_client_id),
        user_pool_domain: required(c, &f("user_pool_domain"), g.user_pool_domain),
    }
}

/// `[bedrock]`: on when `enabled`, ARNs checked; refuses AWS keys in `dify.extra_env`.
pub(super) fn resolve_bedrock(
    c: &mut Checker<'_>,
    raw: Option<RawBedrock>,
    extra_env: &indexmap::IndexMap<String, String>,
) -> Option<BedrockSettings> {
    let raw = raw?;
    if !raw.enabled.unwrap_or(true) {
        return None;
    }
    for k in extra_env
        .keys()
        .filter(|k| ACCESS_KEY_VARIABLES.contains(&k.as_str()))
    {
        c.fail(
            &format!("dify.extra_env.{k}"),
            None,
            "Bedrock is reached through the task roles ([bedrock]): no AWS access key belongs in a task",
        );
    }
    let mut arns = |k: &str, v: Option<Vec<String>>, kind: &str| {
        let v = v.unwrap_or_default();
        for (i, a) in v.iter().enumerate() {
            let field = format!("bedrock.{k}[{i}]");
            c.pattern(
                &field,
                a,
                &MODEL_ARN,
                "a Bedrock model or inference profile ARN",
            );
            if !a.contains(kind) {
                c.fail(&field, Some(quote(a)), format!("not a {kind} ARN"));
            }
        }
        v
    };
    let model_arns = arns("model_arns", raw.model_arns, "foundation-model/");
    let inference_profile_arns = arns(
        "inference_profile_arns",
        raw.inference_profile_arns,
        "inference-profile/",
    );
    let model_regions = raw.model_regions.unwrap_or_default();
    for (i, r) in model_regions.iter().enumerate() {
        c.pattern(
            &format!("bedrock.model_regions[{i}]"),
            r,
            &super::checks::REGION,
            "an AWS region",
        );
    }
    Some(BedrockSettings {
        model_arns,
        inference_profile_arns,
        model_regions,
    })
}
