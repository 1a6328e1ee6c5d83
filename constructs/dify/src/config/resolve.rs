//! Resolving one environment as a whole: its top-level values, each area in turn, then the rules
//! that span areas (ARNs in the stack's account and region, production safeguards).

use super::access;
use super::cache::resolve_cache;
use super::checks::{
    ACCOUNT, ACM_ARN, Checker, EMAIL, ENV_KEY, ENV_NAME, PULL_THROUGH_SECRET, REGION, SECRET_ARN,
    SECRET_WORDS, SNS_ARN, STACK_NAME, TAG_KEY, quote,
};
use super::cost::{CostContext, resolve_cost, resolve_operations};
use super::database::resolve_database;
use super::images::resolve_images;
use super::ingress::{resolve_domain, resolve_ingress};
use super::model::Environment;
use super::network::resolve_network;
use super::raw::{RawAlarms, RawDify, RawEnv, RawSmtp};
use super::services::resolve_services;
use crate::alarms::AlarmSettings as Alarms;
use crate::components::{DifySettings, Smtp};
use crate::images::Images;
use crate::ingress::IngressSettings;
use crate::network::NetworkSettings as Network;

pub(super) fn resolve(c: &mut Checker<'_>, name: String, raw: RawEnv) -> Environment {
    let top = resolve_top(c, &name, &raw);
    let production = top.production;
    let mut raw_network = raw.network;
    let raw_private = raw_network.private.take();
    let network = resolve_network(c, raw_network);
    let private = raw_private.map(|p| access::resolve_private(c, p, &network));
    let domain = resolve_domain(c, raw.domain);
    let mut raw_ingress = raw.ingress;
    let sso = raw_ingress
        .sso
        .take()
        .and_then(|s| access::resolve_sso(c, s, &domain));
    // Private-only mode makes the load balancer internal unless the file says otherwise.
    let internet_facing_set = raw_ingress.internet_facing.is_some();
    if private.is_some() && !internet_facing_set {
        raw_ingress.internet_facing = Some(false);
    }
    let (ingress, waf) = resolve_ingress(c, raw_ingress, production);
    let database = resolve_database(c, raw.database, production);
    let cache = resolve_cache(c, raw.cache, production);
    let images = resolve_images(c, raw.images, production, &top.stack_name);
    let services = resolve_services(c, raw.services, production);
    let smtp = raw.smtp.map(|s| resolve_smtp(c, s));
    let dify = resolve_dify(c, raw.dify);
    let bedrock = access::resolve_bedrock(c, raw.bedrock, &dify.extra_env);
    let alarms = resolve_alarms(c, raw.alarms, production);
    let cost = resolve_cost(
        c,
        raw.cost,
        &CostContext {
            production,
            services: &services,
            database: &database,
        },
    );
    let operations = resolve_operations(raw.operations);
    // Cross-field checks only on values that are well-formed themselves, so one typo is one
    // error.
    let account_ok = raw.account.as_deref().filter(|a| ACCOUNT.is_match(a));
    let region_ok = Some(top.region.as_str()).filter(|r| REGION.is_match(r));
    let arns: [(&str, Option<&str>); 3] = [
        (
            "alarms.topic_arn",
            alarms.topic_arn.as_deref().filter(|a| SNS_ARN.is_match(a)),
        ),
        (
            "images.pull_through_cache.credential_arn",
            images
                .pull_through_cache
                .as_ref()
                .map(|p| p.credential_arn.as_str())
                .filter(|a| PULL_THROUGH_SECRET.is_match(a)),
        ),
        (
            "domain.certificate_arn",
            domain
                .certificate_arn
                .as_deref()
                .filter(|a| ACM_ARN.is_match(a)),
        ),
    ];
    check_arns(c, &arns, account_ok, region_ok);
    if private.is_some() {
        access::check_private(c, &ingress, internet_facing_set, &images);
    } else {
        check_isolated_sandbox(c, &network, &images, production);
    }
    if let Err(msg) = crate::sizing::check_connections(&services, &database.capacity) {
        c.fail("services", None, msg);
    }
    check_load_balancer_reach(c, &ingress, &network, production);
    Environment {
        name,
        stack_name: top.stack_name,
        account: raw.account,
        region: top.region,
        production,
        log_retention_days: top.log_retention_days,
        tags: raw.tags,
        network,
        domain,
        ingress,
        waf,
        database,
        cache,
        images,
        services,
        smtp,
        dify,
        alarms,
        private,
        sso,
        bedrock,
        cost,
        operations,
    }
}

/// The environment's own values, before its areas.
struct Top {
    production: bool,
    stack_name: String,
    region: String,
    log_retention_days: u32,
}

/// The name, production flag, stack name, account, region, log retention and tags.
fn resolve_top(c: &mut Checker<'_>, name: &str, raw: &RawEnv) -> Top {
    if !ENV_NAME.is_match(name) {
        c.fail(
            "(file name)",
            Some(quote(name)),
            "an environment name is lowercase letters, digits and hyphens, starting with a letter (at most 21)",
        );
    }
    let production = raw.production.unwrap_or(name == "prd");
    let stack_name = raw
        .stack_name
        .clone()
        .unwrap_or_else(|| format!("dify-{name}"));
    c.pattern("stack_name", &stack_name, &STACK_NAME, "a valid stack name");
    c.opt_pattern(
        "account",
        &raw.account,
        &ACCOUNT,
        "a 12-digit AWS account ID",
    );
    let region = match &raw.region {
        Some(r) => {
            c.pattern("region", r, &REGION, "an AWS region (e.g. ap-northeast-1)");
            r.clone()
        }
        None => {
            c.fail("region", None, "required: the AWS region to deploy to");
            String::new()
        }
    };
    let log_retention_days = raw
        .log_retention_days
        .unwrap_or(if production { 30 } else { 7 });
    check_retention(c, log_retention_days);
    for (k, v) in &raw.tags {
        c.pattern(&format!("tags.{k}"), k, &TAG_KEY, "a valid tag key");
        if k.starts_with("aws:") {
            c.fail(
                &format!("tags.{k}"),
                Some(quote(v)),
                "tag keys starting with aws: are reserved",
            );
        }
    }
    Top {
        production,
        stack_name,
        region,
        log_retention_days,
    }
}

/// CloudWatch Logs' retention values: any other is refused at deploy time.
fn check_retention(c: &mut Checker<'_>, days: u32) {
    const RETENTIONS: [u32; 22] = [
        1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
        2922, 3288, 3653,
    ];
    if !RETENTIONS.contains(&days) {
        c.fail(
            "log_retention_days",
            Some(days.to_string()),
            "CloudWatch Logs accepts 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653",
        );
    }
}

/// Where alarms notify: production must page someone.
fn resolve_alarms(c: &mut Checker<'_>, raw: RawAlarms, production: bool) -> Alarms {
    let alarms = Alarms {
        topic_arn: raw.topic_arn,
        email: raw.email,
    };
    c.opt_pattern(
        "alarms.topic_arn",
        &alarms.topic_arn,
        &SNS_ARN,
        "an SNS topic ARN",
    );
    c.opt_pattern("alarms.email", &alarms.email, &EMAIL, "an e-mail address");
    if production && alarms.topic_arn.is_none() && alarms.email.is_none() {
        c.fail(
            "alarms",
            None,
            "production alarms must page someone: set alarms.topic_arn (an SNS topic) or alarms.email",
        );
    }
    alarms
}

/// Every ARN the file names belongs to the stack's account and region (when those are
/// known and well-formed).
fn check_arns(
    c: &mut Checker<'_>,
    arns: &[(&str, Option<&str>)],
    account: Option<&str>,
    region: Option<&str>,
) {
    for (field, arn) in arns {
        let Some(arn) = arn else { continue };
        if let Some(account) = account
            && !arn.contains(&format!(":{account}:"))
        {
            c.fail(
                field,
                Some(quote(arn)),
                format!("belongs to another account than {account}"),
            );
        }
        if let Some(region) = region
            && !arn.contains(&format!(":{region}:"))
        {
            c.fail(
                field,
                Some(quote(arn)),
                format!("must be in the stack's region ({region})"),
            );
        }
    }
}

/// In an existing VPC, the sandbox runs without internet egress only through interface
/// endpoints, and then pulls its image from ECR; production requires that isolation.
fn check_isolated_sandbox(
    c: &mut Checker<'_>,
    network: &Network,
    images: &Images,
    production: bool,
) {
    let Network::Existing { endpoints, .. } = network else {
        return;
    };
    let from_ecr = images.pull_through_cache.is_some() || images.registry.contains(".dkr.ecr.");
    match endpoints {
        None if production => c.fail(
            "network.endpoints",
            None,
            "production runs the sandbox with no internet egress: name the VPC's interface endpoints' security group (ecr.api, ecr.dkr, logs, secretsmanager) and the S3 prefix list",
        ),
        Some(_) if !from_ecr => c.fail(
            "network.endpoints",
            None,
            "a sandbox without internet egress cannot pull from Docker Hub: set [images.pull_through_cache] or an ECR images.registry",
        ),
        _ => {}
    }
}

/// An internet-facing load balancer: production names who may reach it, and an existing VPC
/// names the public subnets it goes in.
fn check_load_balancer_reach(
    c: &mut Checker<'_>,
    ingress: &IngressSettings,
    network: &Network,
    production: bool,
) {
    if ingress.internet_facing && ingress.allowlist.is_empty() && production {
        c.fail(
            "ingress.allowlist",
            None,
            "an internet-facing production load balancer needs an allowlist (named groups of CIDRs); set ingress.allowlist.everyone = [\"0.0.0.0/0\"] to open it deliberately",
        );
    }
    if ingress.internet_facing
        && let Network::Existing {
            public_subnet_ids, ..
        } = network
        && public_subnet_ids.is_empty()
    {
        c.fail(
            "network.public_subnet_ids",
            None,
            "required for an internet-facing load balancer",
        );
    }
}

fn resolve_smtp(c: &mut Checker<'_>, s: RawSmtp) -> Smtp {
    let mut req = |field: &str, v: Option<String>| {
        v.unwrap_or_else(|| {
            c.fail(
                &format!("smtp.{field}"),
                None,
                "required when [smtp] is present",
            );
            String::new()
        })
    };
    let server = req("server", s.server);
    let username = req("username", s.username);
    let from = req("from", s.from);
    let password_secret_arn = req("password_secret_arn", s.password_secret_arn);
    if !password_secret_arn.is_empty() {
        c.pattern(
            "smtp.password_secret_arn",
            &password_secret_arn,
            &SECRET_ARN,
            "a Secrets Manager secret ARN (the password itself never goes in a file)",
        );
    }
    if !from.is_empty() {
        c.pattern("smtp.from", &from, &EMAIL, "an e-mail address");
    }
    Smtp {
        server,
        port: s.port.unwrap_or(465),
        username,
        from,
        use_tls: s.use_tls.unwrap_or(true),
        opportunistic_tls: s.opportunistic_tls.unwrap_or(false),
        password_secret_arn,
    }
}

fn resolve_dify(c: &mut Checker<'_>, d: RawDify) -> DifySettings {
    if let Some(language) = &d.language {
        c.fail(
            "dify.language",
            Some(quote(language)),
            "Dify has no server-side language setting: the web UI follows each browser (the locale cookie, then Accept-Language) and the first admin's language is chosen at /install; remove it",
        );
    }
    let log_level = d.log_level.unwrap_or_else(|| "INFO".into());
    if !["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"].contains(&log_level.as_str()) {
        c.fail(
            "dify.log_level",
            Some(quote(&log_level)),
            "must be DEBUG, INFO, WARNING, ERROR or CRITICAL",
        );
    }
    for (k, v) in &d.extra_env {
        let field = format!("dify.extra_env.{k}");
        c.pattern(
            &field,
            k,
            &ENV_KEY,
            "an UPPER_SNAKE environment variable name",
        );
        if SECRET_WORDS.iter().any(|w| k.contains(w)) {
            c.fail(
                &field,
                Some(quote(v)),
                "looks like a secret: secrets never go in config files or task environments; store it in Secrets Manager",
            );
        }
    }
    DifySettings {
        log_level,
        extra_env: d.extra_env,
    }
}
