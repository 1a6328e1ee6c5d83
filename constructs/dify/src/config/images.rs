//! `[images]`: which container images run, where they are pulled from, and which combinations
//! are refused.

use super::checks::{Checker, ECR_PREFIX, IMAGE_REF, IMAGE_TAG, PULL_THROUGH_SECRET, quote};
use super::raw::{RawImages, RawPullThroughCache};
use crate::images::{
    DEFAULT_DIFY_VERSION, DEFAULT_PLUGIN_DAEMON_VERSION, DEFAULT_SANDBOX_VERSION,
    DEFAULT_SSRF_PROXY_IMAGE, Images, PullThroughCache,
};

fn resolve_pull_through_cache(
    c: &mut Checker<'_>,
    raw: RawPullThroughCache,
    stack_name: &str,
) -> PullThroughCache {
    let field = "images.pull_through_cache";
    let credential_arn = raw.credential_arn.unwrap_or_default();
    if !PULL_THROUGH_SECRET.is_match(&credential_arn) {
        c.fail(
            &format!("{field}.credential_arn"),
            Some(quote(&credential_arn)),
            "the ARN of a Secrets Manager secret named ecr-pullthroughcache/… (ECR requires Docker Hub credentials for a pull-through cache)",
        );
    }
    let repository_prefix = raw
        .repository_prefix
        .unwrap_or_else(|| format!("{stack_name}-dockerhub"));
    c.pattern(
        &format!("{field}.repository_prefix"),
        &repository_prefix,
        &ECR_PREFIX,
        "an ECR repository prefix of 2-30 lowercase letters, digits, '.', '_', '-' or '/'",
    );
    PullThroughCache {
        credential_arn,
        repository_prefix,
    }
}

pub(super) fn resolve_images(
    c: &mut Checker<'_>,
    i: RawImages,
    production: bool,
    stack_name: &str,
) -> Images {
    let dify_version = i
        .dify_version
        .unwrap_or_else(|| DEFAULT_DIFY_VERSION.into());
    let images = Images {
        web: i.web.unwrap_or_else(|| dify_version.clone()),
        dify_version,
        plugin_daemon: i
            .plugin_daemon
            .unwrap_or_else(|| DEFAULT_PLUGIN_DAEMON_VERSION.into()),
        sandbox: i.sandbox.unwrap_or_else(|| DEFAULT_SANDBOX_VERSION.into()),
        ssrf_proxy: i
            .ssrf_proxy
            .unwrap_or_else(|| DEFAULT_SSRF_PROXY_IMAGE.into()),
        registry: i.registry.unwrap_or_else(|| "langgenius".into()),
        pull_through_cache: i
            .pull_through_cache
            .map(|p| resolve_pull_through_cache(c, p, stack_name)),
    };
    if production && images.pull_through_cache.is_none() && images.registry == "langgenius" {
        c.fail(
            "images",
            None,
            "production must not pull anonymously from Docker Hub (a rollout starts a dozen tasks behind one NAT and hits the pull rate limit): set [images.pull_through_cache] credential_arn, or images.registry to your own mirror",
        );
    }
    let mut tags = vec![
        ("images.dify_version", &images.dify_version),
        ("images.plugin_daemon", &images.plugin_daemon),
        ("images.sandbox", &images.sandbox),
    ];
    // web follows dify_version unless set: judge it only when it says something of its own.
    if images.web != images.dify_version {
        tags.push(("images.web", &images.web));
    }
    for (field, v) in tags {
        c.pattern(field, v, &IMAGE_TAG, "an image tag");
        if v == "latest" {
            c.fail(
                field,
                Some(quote(v)),
                "pin a version: 'latest' makes every deploy a silent upgrade",
            );
        }
    }
    c.pattern(
        "images.ssrf_proxy",
        &images.ssrf_proxy,
        &IMAGE_REF,
        "an image reference",
    );
    if production && !images.ssrf_proxy.contains("@sha256:") {
        c.fail(
            "images.ssrf_proxy",
            Some(quote(&images.ssrf_proxy)),
            "production pins the SSRF proxy by digest (image@sha256:…): its tags (_edge, _beta) move, and with them the egress filter",
        );
    } else if images.ssrf_proxy.ends_with(":latest") || !images.ssrf_proxy.contains(':') {
        c.fail(
            "images.ssrf_proxy",
            Some(quote(&images.ssrf_proxy)),
            "pin a tag or digest",
        );
    }
    if let Some(row) =
        crate::compat::check(&images.dify_version, &images.plugin_daemon, &images.sandbox)
    {
        c.fail(
            "images",
            Some(format!(
                "dify {} + plugin_daemon {} + sandbox {}",
                images.dify_version, images.plugin_daemon, images.sandbox
            )),
            format!("a known-broken combination: {} ({})", row.why, row.source),
        );
    }
    c.pattern(
        "images.registry",
        &images.registry,
        &IMAGE_REF,
        "a registry or namespace",
    );
    images
}
