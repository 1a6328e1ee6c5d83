//! How a component's service scales: regular Fargate or Fargate Spot, target tracking on CPU,
//! memory and requests, and the off-hours schedule's bounds ([`crate::cost_controls`]).

use cfn_core::{Scope, Value};
use cfn_resources::applicationautoscaling as aas;
use cfn_resources::ecs::{self, service as svc};

use crate::components::AppSettings;
use crate::cost_controls::{OffHours, SPOT_CAPABLE, scheduled_actions};
use crate::services::Component;

/// Props that put a component on Spot that an interruption would break (the environment
/// file refuses them already; props built in code reach here unchecked) fail synthesis; the
/// component stays on regular Fargate.
pub(crate) fn refuse_unsafe_spot(s: &mut Scope<'_>, env: &AppSettings) {
    for c in env.cost.spot.iter().filter(|c| !SPOT_CAPABLE.contains(c)) {
        s.report(
            cfn_core::Severity::Error,
            "dify-spot",
            format!(
                "{} cannot run on Fargate Spot: only worker, worker_long and sandbox survive an interruption",
                c.dns_name()
            ),
        );
    }
}

/// Regular Fargate (`LaunchType`), or Fargate Spot through the cluster's capacity provider.
pub(crate) fn capacity(service: ecs::Service, spot: bool) -> ecs::Service {
    if spot {
        service.capacity_provider_strategy(vec![
            svc::CapacityProviderStrategyItem::new()
                .capacity_provider("FARGATE_SPOT")
                .weight(1)
                .base(0),
        ])
    } else {
        service.launch_type("FARGATE")
    }
}

/// What [`autoscaling`] scales, between which bounds.
pub(crate) struct Scaling<'a> {
    /// `service/<cluster>/<service>`.
    pub(crate) resource_id: Value<String>,
    pub(crate) component: Component,
    pub(crate) min: u32,
    pub(crate) max: u32,
    /// `<load balancer>/<target group>` full names, to scale on requests per target.
    pub(crate) request_label: Option<Value<String>>,
    /// Working hours: outside them the bounds are 0.
    pub(crate) schedule: Option<&'a OffHours>,
}

/// Target tracking on CPU 70 % and memory 80 % (the seed's), plus requests per target for
/// services behind the load balancer, when the service may scale; the off-hours schedule's
/// actions when there is one.
pub(crate) fn autoscaling(s: &mut Scope<'_>, scaling: Scaling<'_>) {
    let Scaling {
        resource_id,
        component: c,
        min,
        max,
        request_label,
        schedule,
    } = scaling;
    let mut target = aas::ScalableTarget::builder()
        .max_capacity(i64::from(max))
        .min_capacity(i64::from(min))
        .resource_id(resource_id)
        .scalable_dimension("ecs:service:DesiredCount")
        .service_namespace("ecs")
        .build();
    if let Some(schedule) = schedule {
        target = target.scheduled_actions(scheduled_actions(schedule, min, max));
    }
    let scalable = s.add("ScalableTarget", target);
    if max <= min {
        return;
    }
    let policy =
        |s: &mut Scope<'_>, id: &str, metric: &str, value: f64, label: Option<Value<String>>| {
            let mut spec = aas::scaling_policy::PredefinedMetricSpecification::builder()
                .predefined_metric_type(metric)
                .build();
            if let Some(l) = label {
                spec = spec.resource_label(l);
            }
            s.add(
                id,
                aas::ScalingPolicy::builder()
                    .policy_name(format!("{}-{id}", c.dns_name()))
                    .policy_type("TargetTrackingScaling")
                    .build()
                    .scaling_target_id(scalable.reference())
                    .target_tracking_scaling_policy_configuration(
                        aas::scaling_policy::TargetTrackingScalingPolicyConfiguration::builder()
                            .target_value(value)
                            .build()
                            .predefined_metric_specification(spec)
                            .scale_in_cooldown(300)
                            .scale_out_cooldown(60),
                    ),
            );
        };
    policy(
        s,
        "CpuScaling",
        "ECSServiceAverageCPUUtilization",
        70.0,
        None,
    );
    policy(
        s,
        "MemoryScaling",
        "ECSServiceAverageMemoryUtilization",
        80.0,
        None,
    );
    if let Some(label) = request_label {
        policy(
            s,
            "RequestScaling",
            "ALBRequestCountPerTarget",
            500.0,
            Some(label),
        );
    }
}
