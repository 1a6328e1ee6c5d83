//! Which container images Dify's services and its migration step run, and where they are
//! pulled from: the settings [`crate::DifyCluster`] consumes, and the defaults that are facts
//! about Dify's releases.

/// The Dify release deployed when an environment does not name one. api, worker and beat
/// always share the version; web follows it unless `images.web` says otherwise.
pub const DEFAULT_DIFY_VERSION: &str = "1.13.3";
/// The plugin daemon paired with [`DEFAULT_DIFY_VERSION`] in Dify's own compose file.
pub const DEFAULT_PLUGIN_DAEMON_VERSION: &str = "0.5.5-local";
/// The sandbox paired with [`DEFAULT_DIFY_VERSION`] in Dify's own compose file.
pub const DEFAULT_SANDBOX_VERSION: &str = "0.2.14";
/// The squid image for the SSRF proxy. Pinned: Dify's compose uses `latest`, which makes a
/// redeploy silently change the egress filter.
pub const DEFAULT_SSRF_PROXY_IMAGE: &str = "ubuntu/squid:6.6-24.04_edge@sha256:8a3baed477e2c282ab8aa5edad442f69873246964f225c5c2ae8364b6610963c";
/// Where Dify publishes its images on Docker Hub.
pub const DEFAULT_REGISTRY: &str = "langgenius";

/// Container images.
#[derive(Debug, Clone, PartialEq)]
pub struct Images {
    /// `<registry>/dify-api:<dify_version>` for api, worker, beat and migration. Default
    /// [`DEFAULT_DIFY_VERSION`].
    pub dify_version: String,
    /// The web image tag. Default: [`DEFAULT_DIFY_VERSION`], as api's.
    pub web: String,
    /// The plugin daemon image tag. Default [`DEFAULT_PLUGIN_DAEMON_VERSION`].
    pub plugin_daemon: String,
    /// The sandbox image tag. Default [`DEFAULT_SANDBOX_VERSION`].
    pub sandbox: String,
    /// The full SSRF proxy (squid) image reference. Default [`DEFAULT_SSRF_PROXY_IMAGE`].
    pub ssrf_proxy: String,
    /// The registry/namespace of the Dify images (`langgenius`, or an ECR mirror). Default
    /// [`DEFAULT_REGISTRY`].
    pub registry: String,
    /// Pull every Docker Hub image through an ECR pull-through cache the stack creates, so
    /// tasks never pull anonymously from Docker Hub (whose rate limit fails a production
    /// rollout of a dozen tasks behind one NAT). Default `None`.
    pub pull_through_cache: Option<PullThroughCache>,
}

impl Default for Images {
    fn default() -> Self {
        Images {
            dify_version: DEFAULT_DIFY_VERSION.into(),
            web: DEFAULT_DIFY_VERSION.into(),
            plugin_daemon: DEFAULT_PLUGIN_DAEMON_VERSION.into(),
            sandbox: DEFAULT_SANDBOX_VERSION.into(),
            ssrf_proxy: DEFAULT_SSRF_PROXY_IMAGE.into(),
            registry: DEFAULT_REGISTRY.into(),
            pull_through_cache: None,
        }
    }
}

/// An ECR pull-through cache rule for Docker Hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullThroughCache {
    /// A Secrets Manager secret named `ecr-pullthroughcache/…` holding Docker Hub
    /// credentials (`{"username", "accessToken"}`): ECR requires one for Docker Hub.
    pub credential_arn: String,
    /// The ECR repository prefix the cached images appear under (the environment file's
    /// default: `<stack_name>-dockerhub`).
    pub repository_prefix: String,
}

impl Images {
    /// `<registry>/dify-api:<version>`.
    pub fn api(&self) -> String {
        format!("{}/dify-api:{}", self.registry, self.dify_version)
    }
    /// `<registry>/dify-web:<version>`.
    pub fn web(&self) -> String {
        format!("{}/dify-web:{}", self.registry, self.web)
    }
    /// `<registry>/dify-plugin-daemon:<version>`.
    pub fn plugin_daemon(&self) -> String {
        format!(
            "{}/dify-plugin-daemon:{}",
            self.registry, self.plugin_daemon
        )
    }
    /// `<registry>/dify-sandbox:<version>`.
    pub fn sandbox(&self) -> String {
        format!("{}/dify-sandbox:{}", self.registry, self.sandbox)
    }
}
