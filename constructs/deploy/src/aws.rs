//! AWS access: settings resolved the AWS way, the three clients the engine uses, and one call
//! wrapper that retries throttling, 5xx and dropped connections with backoff and records every
//! attempt.
//!
//! The SDK's own retries are turned off: [`Aws::call`] is the single retry layer, so a test can
//! switch retries off entirely ([`RetryPolicy::none`]) and see every 500 moto answers, and so
//! every HTTP request shows up in the [`ApiLog`].

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_cloudformation::config::{Credentials, Region};
use aws_sdk_cloudformation::error::{ProvideErrorMetadata, SdkError};
use thiserror::Error;

/// How to reach AWS. Every field left `None` falls back to the AWS default chain: environment
/// variables (`AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL`, credentials), the shared config
/// and credentials files, SSO, credential processes, and instance or container roles.
#[derive(Clone, Debug, Default)]
pub struct AwsSettings {
    /// A named profile from `~/.aws/config` (`--profile`).
    pub profile: Option<String>,
    /// The region (`--region`).
    pub region: Option<String>,
    /// An endpoint for every service, e.g. a local moto server. `AWS_ENDPOINT_URL` works too.
    pub endpoint_url: Option<String>,
    /// Fixed credentials instead of the default chain (tests and local servers).
    pub static_credentials: Option<(String, String)>,
    /// How failed calls are retried.
    pub retry: RetryPolicy,
    /// How long a connection and one attempt of a call may take.
    pub timeouts: Timeouts,
}

/// How long the engine waits on the network. An endpoint that accepts a connection and never
/// answers costs one attempt timeout and one retry, not forever (the SDK sets no read or
/// attempt timeout of its own, only a 3.1 s connect timeout).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing a connection (TCP and TLS). Default 5 s (`--connect-timeout`).
    pub connect: Duration,
    /// One attempt of a call, from sending the request to the last byte of the answer.
    /// Default 60 s (`--call-timeout`): CloudFormation answers in well under a second; S3
    /// uploads a template of at most 1 MB.
    pub attempt: Duration,
    /// Attempts of a call that time out, in all: a silent endpoint is rarely cured by
    /// waiting again. Default 2.
    pub attempts_after_timeout: u32,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            attempt: Duration::from_secs(60),
            attempts_after_timeout: 2,
        }
    }
}

/// How [`Aws::call`] retries throttling, server errors and dropped connections.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; `1` means no retries.
    pub max_attempts: u32,
    /// The first wait; each retry doubles it (throttling starts at twice this).
    pub initial_backoff: Duration,
    /// The longest wait between two attempts.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// No retries: the first failure is the answer.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// Retries with tiny waits, for tests against a local simulator.
    pub fn fast(max_attempts: u32) -> Self {
        RetryPolicy {
            max_attempts,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
        }
    }

    /// The wait before attempt `attempt + 1` (1-based `attempt`), with jitter in [½, 1].
    fn backoff(&self, attempt: u32, throttled: bool, jitter: f64) -> Duration {
        let base = self.initial_backoff * if throttled { 2 } else { 1 };
        let exp = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let capped = exp.min(self.max_backoff);
        capped.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }
}

/// Why a call failed, as far as retrying is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// `Throttling` / "Rate exceeded" and friends: retry after a longer wait.
    Throttled,
    /// A 5xx or a dropped connection: retry.
    Transient,
    /// No answer within the attempt or connect timeout: retry, fewer times.
    TimedOut,
    /// Anything else (validation errors, access denied, not found): do not retry.
    Permanent,
}

/// One HTTP request the engine made, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiCall {
    /// `cloudformation`, `s3` or `sts`.
    pub service: &'static str,
    /// The operation, as in the API reference (`CreateChangeSet`).
    pub operation: &'static str,
    /// `None` when it succeeded; the failure kind otherwise.
    pub failure: Option<FailureKind>,
}

impl fmt::Display for ApiCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.service, self.operation)?;
        match self.failure {
            None => Ok(()),
            Some(FailureKind::Throttled) => write!(f, " (throttled)"),
            Some(FailureKind::Transient) => write!(f, " (transient error)"),
            Some(FailureKind::TimedOut) => write!(f, " (timed out)"),
            Some(FailureKind::Permanent) => write!(f, " (failed)"),
        }
    }
}

/// Every API request made through an [`Aws`], shared by its clones: what tests assert on and
/// what the benchmark counts.
#[derive(Clone, Debug, Default)]
pub struct ApiLog {
    calls: Arc<Mutex<Vec<ApiCall>>>,
}

impl ApiLog {
    /// An empty log.
    pub fn new() -> Self {
        ApiLog::default()
    }

    fn push(&self, call: ApiCall) {
        if let Ok(mut c) = self.calls.lock() {
            c.push(call);
        }
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<ApiCall> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// The operations so far, in order (`DescribeStacks`, `CreateChangeSet`, …).
    pub fn operations(&self) -> Vec<&'static str> {
        self.calls().iter().map(|c| c.operation).collect()
    }

    /// How many requests were made.
    pub fn len(&self) -> usize {
        self.calls.lock().map(|c| c.len()).unwrap_or(0)
    }

    /// True when no request was made.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many requests were throttled.
    pub fn throttled(&self) -> usize {
        self.calls()
            .iter()
            .filter(|c| c.failure == Some(FailureKind::Throttled))
            .count()
    }
}

/// A failed AWS call, after retries.
#[derive(Clone, Debug, Error)]
#[error("{service} {operation} failed{}: {message}", attempts_note(*.attempts))]
pub struct AwsError {
    /// `cloudformation`, `s3` or `sts`.
    pub service: &'static str,
    /// The operation.
    pub operation: &'static str,
    /// The service's error code (`ValidationError`, `AccessDenied`, …), when there was one.
    pub code: Option<String>,
    /// The service's message, or a description of the transport failure.
    pub message: String,
    /// The HTTP status, when a response came back.
    pub status: Option<u16>,
    /// How the last attempt failed.
    pub kind: FailureKind,
    /// How many attempts were made.
    pub attempts: u32,
}

fn attempts_note(n: u32) -> String {
    if n > 1 {
        format!(" after {n} attempts")
    } else {
        String::new()
    }
}

impl AwsError {
    /// The error code, if any.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// CloudFormation's answer for a stack that does not exist.
    pub fn is_stack_missing(&self) -> bool {
        self.code() == Some("ValidationError") && self.message.contains("does not exist")
    }
}

/// A callback told about each retry (to print "throttled, retrying in 1.2s").
pub type RetryObserver = Arc<dyn Fn(&RetryNotice) + Send + Sync>;

/// What a [`RetryObserver`] is told.
#[derive(Clone, Debug)]
pub struct RetryNotice {
    /// `service:Operation`.
    pub call: String,
    /// Why it is retried.
    pub kind: FailureKind,
    /// The failure's message.
    pub message: String,
    /// The attempt that failed (1-based).
    pub attempt: u32,
    /// The wait before the next attempt.
    pub wait: Duration,
}

/// The clients the engine uses, with the resolved region and the retry layer.
#[derive(Clone)]
pub struct Aws {
    /// CloudFormation.
    pub cfn: aws_sdk_cloudformation::Client,
    /// S3 (the template staging bucket).
    pub s3: aws_sdk_s3::Client,
    /// STS (who am I).
    pub sts: aws_sdk_sts::Client,
    region: String,
    endpoint_url: Option<String>,
    retry: RetryPolicy,
    timeouts: Timeouts,
    log: ApiLog,
    observer: Option<RetryObserver>,
    seed: Arc<AtomicU64>,
}

impl fmt::Debug for Aws {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Aws")
            .field("region", &self.region)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// Why the AWS configuration could not be resolved.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// No region from `--region`, the environment, the profile or the project.
    #[error(
        "no AWS region: pass --region, set AWS_REGION, configure one in the profile, or name one in the environment's config"
    )]
    NoRegion,
    /// `--profile` names a profile the AWS config files do not define, or whose credentials
    /// cannot be had.
    #[error("profile '{profile}': {message}")]
    Profile {
        /// The profile.
        profile: String,
        /// Why its credentials could not be had.
        message: String,
    },
}

/// Resolves the profile's credentials once, up front: a misspelt `--profile` is a usage error
/// before anything else happens, not a failed first call (or, worse, a silent fallback).
async fn check_profile(conf: &aws_config::SdkConfig, profile: &str) -> Result<(), ConfigError> {
    use aws_sdk_cloudformation::config::ProvideCredentials as _;
    let Some(provider) = conf.credentials_provider() else {
        return Ok(());
    };
    match provider.provide_credentials().await {
        Ok(_) => Ok(()),
        Err(e) => Err(ConfigError::Profile {
            profile: profile.to_owned(),
            message: source_chain(&e),
        }),
    }
}

/// The HTTPS client every SDK client (and the credential providers: SSO, STS) uses: rustls
/// with ring's cryptography, so the build has no cmake step (aws-lc-sys, the SDK's default).
fn https_client() -> aws_sdk_cloudformation::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

impl Aws {
    /// Resolves settings the AWS way. `fallback_region` (the environment's configured region)
    /// is used only when neither `--region` nor the default chain names one.
    pub async fn connect(
        settings: &AwsSettings,
        fallback_region: Option<&str>,
        log: ApiLog,
    ) -> Result<Aws, ConfigError> {
        let t = settings.timeouts;
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(t.connect)
            .read_timeout(t.attempt)
            .operation_attempt_timeout(t.attempt)
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::disabled())
            .timeout_config(timeouts)
            .http_client(https_client());
        if let Some(p) = &settings.profile {
            loader = loader.profile_name(p);
            // The default chain reads AWS_ACCESS_KEY_ID before any profile: with keys
            // exported, `--profile` would name one account and sign with another's keys.
            if settings.static_credentials.is_none() {
                let conf = aws_config::provider_config::ProviderConfig::without_region()
                    .with_http_client(https_client());
                loader = loader.credentials_provider(
                    aws_config::profile::ProfileFileCredentialsProvider::builder()
                        .configure(&conf)
                        .profile_name(p)
                        .build(),
                );
            }
        }
        if let Some(r) = &settings.region {
            loader = loader.region(Region::new(r.clone()));
        }
        if let Some(e) = &settings.endpoint_url {
            loader = loader.endpoint_url(e);
        }
        if let Some((id, secret)) = &settings.static_credentials {
            loader =
                loader.credentials_provider(Credentials::new(id, secret, None, None, "static"));
        }
        let mut conf = loader.load().await;
        if let Some(p) = &settings.profile {
            check_profile(&conf, p).await?;
        }
        if conf.region().is_none() {
            match fallback_region {
                Some(r) => {
                    conf = conf
                        .into_builder()
                        .region(Region::new(r.to_owned()))
                        .build();
                }
                None => return Err(ConfigError::NoRegion),
            }
        }
        let region = conf
            .region()
            .map(|r| r.as_ref().to_owned())
            .ok_or(ConfigError::NoRegion)?;
        // A custom endpoint (moto, LocalStack) cannot serve virtual-hosted bucket names.
        let s3_conf = aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(conf.endpoint_url().is_some())
            .build();
        Ok(Aws {
            cfn: aws_sdk_cloudformation::Client::new(&conf),
            s3: aws_sdk_s3::Client::from_conf(s3_conf),
            sts: aws_sdk_sts::Client::new(&conf),
            region,
            endpoint_url: conf.endpoint_url().map(str::to_owned),
            retry: settings.retry.clone(),
            timeouts: settings.timeouts,
            log,
            observer: None,
            seed: Arc::new(AtomicU64::new(0x9e37_79b9_7f4a_7c15)),
        })
    }

    /// Tells `observer` about every retry.
    pub fn with_observer(mut self, observer: RetryObserver) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The resolved region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The endpoint every service is reached at, when one is configured (`AWS_ENDPOINT_URL`,
    /// the profile's `endpoint_url`, or [`AwsSettings::endpoint_url`]).
    pub fn endpoint_url(&self) -> Option<&str> {
        self.endpoint_url.as_deref()
    }

    /// True when the endpoint is plain HTTP (a local emulator).
    pub fn is_plain_http(&self) -> bool {
        self.endpoint_url
            .as_deref()
            .is_some_and(|e| e.starts_with("http://"))
    }

    /// The log of every request made.
    pub fn log(&self) -> &ApiLog {
        &self.log
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    fn jitter(&self) -> f64 {
        // xorshift: jitter only needs to spread retries, not to be unpredictable.
        let mut x = self.seed.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.seed.store(x, Ordering::Relaxed);
        (x % 10_000) as f64 / 10_000.0
    }

    /// Says which endpoint did not answer and within what.
    fn timeout_message(&self, detail: &str) -> String {
        let t = self.timeouts;
        let endpoint = self.endpoint_url.as_deref().unwrap_or("AWS");
        format!(
            "no answer from {endpoint} within {}s ({detail}; connect timeout {}s; --call-timeout and --connect-timeout change them)",
            t.attempt.as_secs_f64(),
            t.connect.as_secs_f64()
        )
    }

    /// Runs one API call with retries. `f` builds and sends the request afresh each attempt;
    /// requests that create something carry an idempotency token, so a retry after a dropped
    /// connection cannot create it twice.
    pub async fn call<T, E, F, Fut>(
        &self,
        service: &'static str,
        operation: &'static str,
        mut f: F,
    ) -> Result<T, AwsError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = f().await;
            let err = match result {
                Ok(v) => {
                    self.log.push(ApiCall {
                        service,
                        operation,
                        failure: None,
                    });
                    return Ok(v);
                }
                Err(e) => e,
            };
            let kind = classify(&err);
            self.log.push(ApiCall {
                service,
                operation,
                failure: Some(kind),
            });
            let mut error = to_aws_error(service, operation, &err, kind, attempt);
            if kind == FailureKind::TimedOut {
                error.message = self.timeout_message(&error.message);
            }
            tracing::debug!(%error, "AWS call failed");
            let limit = match kind {
                FailureKind::TimedOut => self
                    .retry
                    .max_attempts
                    .min(self.timeouts.attempts_after_timeout),
                _ => self.retry.max_attempts,
            };
            if kind == FailureKind::Permanent || attempt >= limit {
                return Err(error);
            }
            let wait = self
                .retry
                .backoff(attempt, kind == FailureKind::Throttled, self.jitter());
            if let Some(o) = &self.observer {
                o(&RetryNotice {
                    call: format!("{service}:{operation}"),
                    kind,
                    message: error.message.clone(),
                    attempt,
                    wait,
                });
            }
            tokio::time::sleep(wait).await;
        }
    }
}

const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
    "RequestThrottled",
    "BandwidthLimitExceeded",
    "PriorRequestNotComplete",
];

const TRANSIENT_CODES: &[&str] = &[
    "InternalFailure",
    "InternalError",
    "ServiceUnavailable",
    "RequestTimeout",
    "RequestTimeoutException",
];

/// Sorts a failed call into throttled, transient or permanent.
pub fn classify<E>(err: &SdkError<E>) -> FailureKind
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if is_timeout(err) {
        return FailureKind::TimedOut;
    }
    match err {
        SdkError::ResponseError(_) => FailureKind::Transient,
        // Connection failures and timeouts are worth another try (hyper reports a pooled
        // connection closed under a request as "other", so other counts too); missing
        // credentials and user errors are not.
        SdkError::DispatchFailure(d) => {
            if d.is_user() || source_chain(err).to_lowercase().contains("credential") {
                FailureKind::Permanent
            } else {
                FailureKind::Transient
            }
        }
        SdkError::ServiceError(ctx) => {
            let code = ctx.err().code().unwrap_or_default();
            let message = ctx.err().message().unwrap_or_default();
            let status = ctx.raw().status().as_u16();
            if THROTTLING_CODES.contains(&code)
                || message.contains("Rate exceeded")
                || status == 429
            {
                FailureKind::Throttled
            } else if status >= 500 || TRANSIENT_CODES.contains(&code) {
                FailureKind::Transient
            } else {
                FailureKind::Permanent
            }
        }
        _ => FailureKind::Permanent,
    }
}

/// An attempt that ran out of time: the SDK's attempt timeout, or a connect or read timeout
/// of the HTTP client.
fn is_timeout<E>(err: &SdkError<E>) -> bool
where
    E: std::error::Error + Send + Sync + 'static,
{
    match err {
        SdkError::TimeoutError(_) => true,
        SdkError::DispatchFailure(d) => d.is_timeout(),
        _ => false,
    }
}

/// The `Display` of an error's sources, joined with `: `, repeats left out (no `Debug` dump).
fn source_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = err.source();
    while let Some(e) = cur {
        let t = e.to_string();
        if !t.is_empty() && !parts.iter().any(|p| p.contains(&t)) {
            parts.push(t);
        }
        cur = e.source();
    }
    if parts.is_empty() {
        err.to_string()
    } else {
        parts.join(": ")
    }
}

fn to_aws_error<E>(
    service: &'static str,
    operation: &'static str,
    err: &SdkError<E>,
    kind: FailureKind,
    attempts: u32,
) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (code, message, status) = match err {
        SdkError::ServiceError(ctx) => {
            let status = ctx.raw().status().as_u16();
            let code = ctx.err().code().map(str::to_owned);
            let message = ctx
                .err()
                .message()
                .map(str::to_owned)
                .unwrap_or_else(|| match &code {
                    Some(c) => format!("{c} (HTTP {status})"),
                    None => {
                        // An error body the protocol parser could not read: show its start.
                        let body = ctx
                            .raw()
                            .body()
                            .bytes()
                            .map(|b| String::from_utf8_lossy(b).trim().to_owned())
                            .unwrap_or_default();
                        if body.is_empty() {
                            format!("HTTP {status}")
                        } else {
                            let cut: String = body.chars().take(300).collect();
                            format!("HTTP {status}: {cut}")
                        }
                    }
                });
            (code, message, Some(status))
        }
        SdkError::DispatchFailure(_) => (
            None,
            format!("request not completed: {}", source_chain(err)),
            None,
        ),
        SdkError::TimeoutError(_) => (None, "request timed out".to_owned(), None),
        SdkError::ResponseError(_) => (
            None,
            format!("unreadable response: {}", source_chain(err)),
            None,
        ),
        _ => (None, source_chain(err), None),
    };
    AwsError {
        service,
        operation,
        code,
        message,
        status,
        kind,
        attempts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = RetryPolicy {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
        };
        assert_eq!(p.backoff(1, false, 1.0), Duration::from_millis(100));
        assert_eq!(p.backoff(2, false, 1.0), Duration::from_millis(200));
        assert_eq!(p.backoff(3, true, 1.0), Duration::from_millis(800));
        assert_eq!(p.backoff(9, false, 1.0), Duration::from_millis(1000));
        assert_eq!(p.backoff(1, false, 0.0), Duration::from_millis(50));
    }

    #[test]
    fn error_display_names_the_call_and_attempts() {
        let e = AwsError {
            service: "cloudformation",
            operation: "DescribeStacks",
            code: Some("Throttling".into()),
            message: "Rate exceeded".into(),
            status: Some(400),
            kind: FailureKind::Throttled,
            attempts: 3,
        };
        assert_eq!(
            e.to_string(),
            "cloudformation DescribeStacks failed after 3 attempts: Rate exceeded"
        );
    }
}
