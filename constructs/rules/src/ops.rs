//! Operations: log retention, Container Insights, deployment circuit breakers, health checks,
//! access logs, alarms that notify someone; and the load balancer's handling of invalid headers.

use cfn_core::rules::{Finding, Rule, RuleContext};

use crate::util::{Tri, flag, is_alb, items, lb_attribute, meta, str_is};

/// `ops-log-retention`: every log group sets `RetentionInDays`.
#[derive(Clone, Copy, Debug, Default)]
pub struct OpsLogRetention;

impl Rule for OpsLogRetention {
    meta!(
        "ops-log-retention",
        Error,
        "a log group without retention keeps logs (and the personal data in them) forever, at a growing cost",
        "set RetentionInDays (e.g. 7 in development, 30 or more in production)",
        ["CKV_AWS_66"]
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for r in ctx.resources_of_type("AWS::Logs::LogGroup") {
            if r.get("RetentionInDays").is_none() {
                out.push(r.finding(self, Some("RetentionInDays"), "logs are kept forever"));
            }
        }
    }
}

/// `ops-container-insights`: ECS clusters enable Container Insights (`ClusterSettings`
/// `containerInsights` = `enabled` or `enhanced`).
#[derive(Clone, Copy, Debug, Default)]
pub struct OpsContainerInsights;

impl Rule for OpsContainerInsights {
    meta!(
        "ops-container-insights",
        Warning,
        "without Container Insights there are no per-task CPU, memory and restart metrics to diagnose with",
        "add ClusterSettings [{Name: containerInsights, Value: enabled}] (or enhanced)",
        ["CKV_AWS_65"]
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for r in ctx.resources_of_type("AWS::ECS::Cluster") {
            let on = items(r.get("ClusterSettings")).any(|(_, s)| {
                str_is(ctx, s.get("Name"), "containerInsights")
                    && (str_is(ctx, s.get("Value"), "enabled")
                        || str_is(ctx, s.get("Value"), "enhanced"))
            });
            if !on {
                out.push(r.finding(self, Some("ClusterSettings"), "Container Insights is off"));
            }
        }
    }
}

/// `ops-ecs-circuit-breaker`: ECS services using the ECS deployment controller enable the
/// deployment circuit breaker with rollback (`DeploymentConfiguration.DeploymentCircuitBreaker`
/// `Enable` and `Rollback` true).
#[derive(Clone, Copy, Debug, Default)]
pub struct OpsEcsCircuitBreaker;

impl Rule for OpsEcsCircuitBreaker {
    meta!(
        "ops-ecs-circuit-breaker",
        Warning,
        "without a circuit breaker a deployment whose tasks never get healthy retries forever instead of rolling back",
        "set DeploymentConfiguration.DeploymentCircuitBreaker {Enable: true, Rollback: true}",
        []
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for r in ctx.resources_of_type("AWS::ECS::Service") {
            let controller = r.get("DeploymentController.Type");
            if controller.is_some() && !str_is(ctx, controller, "ECS") {
                continue;
            }
            let base = "DeploymentConfiguration.DeploymentCircuitBreaker";
            let Some(cb) = r.get(base) else {
                out.push(r.finding(
                    self,
                    Some(base),
                    "the service has no deployment circuit breaker",
                ));
                continue;
            };
            for k in ["Enable", "Rollback"] {
                if flag(ctx, cb.get(k), false) == Tri::No {
                    out.push(r.finding(
                        self,
                        Some(&format!("{base}.{k}")),
                        format!("circuit breaker {k} is not true"),
                    ));
                }
            }
        }
    }
}

/// `ops-target-group-health-check`: target groups keep health checks on, and HTTP(S) target
/// groups name the path to probe (`HealthCheckPath`; the default `/` rarely says whether the
/// application works).
///
/// Lambda target groups (health checks off by default, optional) are skipped.
#[derive(Clone, Copy, Debug, Default)]
pub struct OpsTargetGroupHealthCheck;

impl Rule for OpsTargetGroupHealthCheck {
    meta!(
        "ops-target-group-health-check",
        Warning,
        "without a meaningful health check the load balancer keeps sending traffic to broken targets",
        "keep HealthCheckEnabled true and set HealthCheckPath to an endpoint that checks the application (and Matcher to its success codes)",
        []
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for r in ctx.resources_of_type("AWS::ElasticLoadBalancingV2::TargetGroup") {
            if str_is(ctx, r.get("TargetType"), "lambda") {
                continue;
            }
            if flag(ctx, r.get("HealthCheckEnabled"), true) == Tri::No {
                out.push(r.finding(self, Some("HealthCheckEnabled"), "health checks are off"));
                continue;
            }
            let protocol = r.get("HealthCheckProtocol").or(r.get("Protocol"));
            let http = str_is(ctx, protocol, "HTTP") || str_is(ctx, protocol, "HTTPS");
            if http && r.get("HealthCheckPath").is_none() {
                out.push(r.finding(
                    self,
                    Some("HealthCheckPath"),
                    "the health check probes the default path /",
                ));
            }
        }
    }
}

/// `ops-s3-access-logs`: buckets log server access (`LoggingConfiguration` with a
/// `DestinationBucketName`).
///
/// The bucket that receives access logs cannot usefully log to itself: suppress the rule there,
/// with that reason.
#[derive(Clone, Copy, Debug, Default)]
pub struct OpsS3AccessLogs;

impl Rule for OpsS3AccessLogs {
    meta!(
        "ops-s3-access-logs",
        Warning,
        "without access logs nobody can tell who read or deleted an object",
        "set LoggingConfiguration.DestinationBucketName to a log bucket (with a LogFilePrefix per source bucket)",
        ["CKV_AWS_18"]
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for b in ctx.resources_of_type("AWS::S3::Bucket") {
            if b.get("LoggingConfiguration.DestinationBucketName")
                .is_none()
            {
                out.push(b.finding(
                    self,
                    Some("LoggingConfiguration"),
                    "server access logging is off",
                ));
            }
        }
    }
}

/// `ops-alb-access-logs`: application load balancers write access logs
/// (`access_logs.s3.enabled` = `true`).
#[derive(Clone, Copy, Debug, Default)]
pub struct OpsAlbAccessLogs;

impl Rule for OpsAlbAccessLogs {
    meta!(
        "ops-alb-access-logs",
        Warning,
        "without access logs there is no record of who called what, for incidents or abuse reports",
        "add LoadBalancerAttributes access_logs.s3.enabled=true and access_logs.s3.bucket (a bucket ELB log delivery may write to)",
        ["CKV_AWS_91"]
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for r in ctx.resources_of_type("AWS::ElasticLoadBalancingV2::LoadBalancer") {
            if is_alb(ctx, &r)
                && lb_attribute(ctx, &r, "access_logs.s3.enabled")
                    .is_none_or(|v| !v.eq_ignore_ascii_case("true"))
            {
                out.push(r.finding(self, Some("LoadBalancerAttributes"), "access logs are off"));
            }
        }
    }
}

/// `alb-drop-invalid-headers`: application load balancers drop header fields that are not
/// valid HTTP (`routing.http.drop_invalid_header_fields.enabled` = `true`).
#[derive(Clone, Copy, Debug, Default)]
pub struct AlbDropInvalidHeaders;

impl Rule for AlbDropInvalidHeaders {
    meta!(
        "alb-drop-invalid-headers",
        Error,
        "invalid header fields pass through to the application, enabling request smuggling and header injection",
        "add LoadBalancerAttributes routing.http.drop_invalid_header_fields.enabled=true",
        ["CKV_AWS_131"]
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for r in ctx.resources_of_type("AWS::ElasticLoadBalancingV2::LoadBalancer") {
            let on = lb_attribute(ctx, &r, "routing.http.drop_invalid_header_fields.enabled")
                .is_some_and(|v: String| v.eq_ignore_ascii_case("true"));
            if is_alb(ctx, &r) && !on {
                out.push(r.finding(
                    self,
                    Some("LoadBalancerAttributes"),
                    "invalid header fields are forwarded",
                ));
            }
        }
    }
}

/// `ops-alarm-actions` (production): every CloudWatch alarm notifies someone: it has
/// `AlarmActions`, and `ActionsEnabled` is not false.
///
/// An alarm that only feeds something else (a composite alarm, an ECS deployment's rollback)
/// still tells no person when it fires outside that use: suppress the rule on it with that
/// reason if that is intended.
#[derive(Clone, Copy, Debug, Default)]
pub struct OpsAlarmActions;

impl Rule for OpsAlarmActions {
    meta!(
        "ops-alarm-actions",
        Error,
        "an alarm without actions fires and nobody hears it",
        "set AlarmActions to an SNS topic that reaches the on-call (and leave ActionsEnabled true)",
        []
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for r in ctx.resources_of_type("AWS::CloudWatch::Alarm") {
            if flag(ctx, r.get("ActionsEnabled"), true) == Tri::No {
                out.push(r.finding(
                    self,
                    Some("ActionsEnabled"),
                    "the alarm's actions are disabled: it notifies nobody",
                ));
            } else if items(r.get("AlarmActions")).next().is_none() {
                out.push(r.finding(
                    self,
                    Some("AlarmActions"),
                    "the alarm has no actions: it notifies nobody",
                ));
            }
        }
    }
}
