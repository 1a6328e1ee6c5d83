//! Cost controls for environments that need not run around the clock: Fargate Spot for the
//! services that survive an interruption, and an off-hours schedule that scales every service
//! to zero outside working hours and back.
//!
//! The schedule is built from Application Auto Scaling scheduled actions on each service's
//! scalable target (`ScheduledActions` of `AWS::ApplicationAutoScaling::ScalableTarget`), not
//! from EventBridge Scheduler calling `ecs:UpdateService`: a desired count set behind Auto
//! Scaling's back is undone by the next scaling activity, which brings the service back to
//! its minimum, while a scheduled action moves the minimum and maximum themselves (to 0 and
//! back), so target tracking can never fight it. It needs no role of its own (Auto Scaling
//! acts through its service-linked role) and touches nothing CloudFormation manages, so no
//! deploy and no migration step runs on it. The database is left to Aurora Serverless v2's
//! auto-pause (min 0 ACU): with every task stopped it has no connections and pauses by itself,
//! and it resumes on the first connection, whereas a stopped cluster (`rds:StopDBCluster`)
//! refuses every CloudFormation update until it is started and restarts on its own after
//! seven days.
//!
//! ```
//! use dify_constructs::cost_controls::OffHours;
//! let office = OffHours::default();
//! assert_eq!(office.start_cron(), "cron(0 8 ? * MON,TUE,WED,THU,FRI *)");
//! assert_eq!(office.stop_cron(), "cron(0 20 ? * MON,TUE,WED,THU,FRI *)");
//! assert_eq!(office.on_hours_per_week(), 60.0);
//! ```

use cfn_resources::applicationautoscaling::scalable_target as st;

use crate::services::Component;

/// The cost controls of one environment. Default: none (every service on regular Fargate,
/// running around the clock).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CostControls {
    /// Services whose tasks run on Fargate Spot (`worker`, `worker_long`, `sandbox`: work that
    /// is retried or re-requested when a task is interrupted). Default: none.
    pub spot: Vec<Component>,
    /// When the environment runs; outside these hours every service is scaled to zero.
    /// Default `None`: always on.
    pub schedule: Option<OffHours>,
}

impl CostControls {
    /// Whether `c` runs on Fargate Spot.
    pub fn on_spot(&self, c: Component) -> bool {
        self.spot.contains(&c)
    }
}

/// The components that may run on Fargate Spot: the Celery workers (a task interrupted
/// mid-run is redelivered from the broker once its visibility timeout passes) and the sandbox
/// (a code run interrupted fails and is retried by the caller). The migration task never does:
/// an interruption mid-migration leaves the schema half-applied and fails the deploy.
pub const SPOT_CAPABLE: [Component; 3] =
    [Component::Worker, Component::WorkerLong, Component::Sandbox];

/// Working hours: the days and the local times the environment starts and stops, in a time
/// zone. Both times fall on the same day (`start` before `stop`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffHours {
    /// An IANA time zone (`Asia/Tokyo`, `UTC`), which Auto Scaling applies to the cron
    /// expressions, daylight saving time included.
    pub timezone: String,
    /// The days it runs, as cron day names (`MON` … `SUN`).
    pub days: Vec<String>,
    /// Minutes after midnight it starts (scales back to each service's minimum).
    pub start_minute: u16,
    /// Minutes after midnight it stops (scales every service to zero).
    pub stop_minute: u16,
}

impl Default for OffHours {
    /// Monday to Friday, 08:00 to 20:00 in Tokyo.
    fn default() -> Self {
        OffHours {
            timezone: "Asia/Tokyo".into(),
            days: ["MON", "TUE", "WED", "THU", "FRI"].map(String::from).into(),
            start_minute: 8 * 60,
            stop_minute: 20 * 60,
        }
    }
}

impl OffHours {
    /// The cron expression (Auto Scaling's six fields) of the start.
    pub fn start_cron(&self) -> String {
        self.cron(self.start_minute)
    }

    /// The cron expression of the stop.
    pub fn stop_cron(&self) -> String {
        self.cron(self.stop_minute)
    }

    fn cron(&self, minute: u16) -> String {
        format!(
            "cron({} {} ? * {} *)",
            minute % 60,
            minute / 60,
            self.days.join(",")
        )
    }

    /// Hours a week the environment runs.
    pub fn on_hours_per_week(&self) -> f64 {
        let minutes = f64::from(self.stop_minute.saturating_sub(self.start_minute));
        self.days.len() as f64 * minutes / 60.0
    }

    /// The share of the week the environment runs (0 to 1).
    pub fn on_fraction(&self) -> f64 {
        (self.on_hours_per_week() / (7.0 * 24.0)).min(1.0)
    }
}

/// The scheduled actions of one service's scalable target: at `stop`, minimum and maximum 0
/// (Auto Scaling drains it to zero tasks); at `start`, back to `min` and `max`.
pub fn scheduled_actions(schedule: &OffHours, min: u32, max: u32) -> Vec<st::ScheduledAction> {
    let action = |name: &str, cron: String, min: u32, max: u32| {
        st::ScheduledAction::builder()
            .scheduled_action_name(name)
            .schedule(cron)
            .build()
            .timezone(schedule.timezone.as_str())
            .scalable_target_action(
                st::ScalableTargetAction::new()
                    .min_capacity(i64::from(min))
                    .max_capacity(i64::from(max)),
            )
    };
    vec![
        action("off-hours-stop", schedule.stop_cron(), 0, 0),
        action("off-hours-start", schedule.start_cron(), min, max),
    ]
}

/// Ways in when something breaks. Default: the dashboard, no ECS Exec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operations {
    /// ECS Exec into the api tasks (and Session Manager port forwarding through them to
    /// Aurora), with KMS-encrypted sessions logged to CloudWatch. Default `false`: a shell in
    /// a running task is a deliberate, audited choice.
    pub ecs_exec: bool,
    /// A CloudWatch dashboard of the environment. Default `true`: it costs nothing for the
    /// first three dashboards of an account and 3 USD a month after that.
    pub dashboard: bool,
}

impl Default for Operations {
    fn default() -> Self {
        Operations {
            ecs_exec: false,
            dashboard: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_follow_days_and_times() {
        let h = OffHours {
            timezone: "UTC".into(),
            days: vec!["SAT".into()],
            start_minute: 9 * 60 + 30,
            stop_minute: 12 * 60,
        };
        assert_eq!(h.on_hours_per_week(), 2.5);
        assert_eq!(h.start_cron(), "cron(30 9 ? * SAT *)");
        assert!((h.on_fraction() - 2.5 / 168.0).abs() < 1e-12);
    }
}
