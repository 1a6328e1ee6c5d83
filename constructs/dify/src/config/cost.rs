//! `[cost]` (Fargate Spot, the off-hours schedule) and `[operations]` (ECS Exec, the
//! dashboard), and the guardrail that keeps both cost controls out of production unless the
//! file says so.

use std::sync::LazyLock;

use regex::Regex;

use super::checks::{Checker, quote};
use super::raw::{RawCost, RawOperations, RawSchedule};
use crate::cost_controls::{CostControls, OffHours, Operations, SPOT_CAPABLE};
use crate::database::{DatabaseSettings, DbCapacity};
use crate::services::{Component, Services};

static TIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([01]\d|2[0-3]):([0-5]\d)$").unwrap_or_else(|e| panic!("built-in pattern: {e}"))
});
static TIMEZONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(UTC|[A-Z][A-Za-z_]+(/[A-Za-z0-9_+-]+){1,2})$")
        .unwrap_or_else(|e| panic!("built-in pattern: {e}"))
});
const DAYS: [&str; 7] = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"];

/// What the cost controls are checked against.
pub(super) struct CostContext<'a> {
    pub(super) production: bool,
    pub(super) services: &'a Services,
    pub(super) database: &'a DatabaseSettings,
}

pub(super) fn resolve_cost(
    c: &mut Checker<'_>,
    raw: RawCost,
    ctx: &CostContext<'_>,
) -> CostControls {
    let spot = raw
        .spot
        .unwrap_or_default()
        .iter()
        .filter_map(|key| spot_component(c, key, ctx.services))
        .collect();
    let schedule = raw.schedule.map(|s| resolve_schedule(c, s));
    let cost = CostControls { spot, schedule };
    check_production_opt_in(c, &cost, ctx, raw.allow_in_production.unwrap_or(false));
    cost
}

/// One `cost.spot` entry: a running component that survives an interruption.
fn spot_component(c: &mut Checker<'_>, key: &str, services: &Services) -> Option<Component> {
    let field = "cost.spot";
    if key == "migration" {
        c.fail(
            field,
            Some(quote(key)),
            "the migration task never runs on Fargate Spot: an interruption mid-migration leaves the schema half-applied and fails the deploy",
        );
        return None;
    }
    match Component::from_key(key) {
        Some(comp) if SPOT_CAPABLE.contains(&comp) => {
            if !services.components().any(|r| r == comp) {
                c.fail(
                    field,
                    Some(quote(key)),
                    "this component does not run here (configure [services.worker_long] first)",
                );
                return None;
            }
            Some(comp)
        }
        _ => {
            c.fail(
                field,
                Some(quote(key)),
                "only worker, worker_long and sandbox may run on Fargate Spot: the others serve requests, hold the single beat schedule or reinstall plugins on every start",
            );
            None
        }
    }
}

fn resolve_schedule(c: &mut Checker<'_>, s: RawSchedule) -> OffHours {
    let d = OffHours::default();
    let timezone = s.timezone.unwrap_or(d.timezone);
    c.pattern(
        "cost.schedule.timezone",
        &timezone,
        &TIMEZONE,
        "an IANA time zone (Asia/Tokyo, Europe/Berlin, UTC)",
    );
    let days = s.days.unwrap_or(d.days);
    if days.is_empty() {
        c.fail("cost.schedule.days", None, "name at least one day");
    }
    for (i, day) in days.iter().enumerate() {
        if !DAYS.contains(&day.as_str()) || days[..i].contains(day) {
            c.fail(
                "cost.schedule.days",
                Some(quote(day)),
                "each of MON, TUE, WED, THU, FRI, SAT, SUN at most once",
            );
        }
    }
    let start_minute = time(c, "cost.schedule.start", s.start, d.start_minute);
    let stop_minute = time(c, "cost.schedule.stop", s.stop, d.stop_minute);
    if start_minute >= stop_minute {
        c.fail(
            "cost.schedule.stop",
            None,
            "must be later than start on the same day (a schedule across midnight is not supported)",
        );
    }
    OffHours {
        timezone,
        days,
        start_minute,
        stop_minute,
    }
}

/// `hh:mm` as minutes after midnight.
fn time(c: &mut Checker<'_>, field: &str, value: Option<String>, default: u16) -> u16 {
    let Some(v) = value else { return default };
    let Some(caps) = TIME.captures(&v) else {
        c.fail(field, Some(quote(&v)), "not hh:mm (24-hour, local time)");
        return default;
    };
    let part = |i: usize| caps[i].parse::<u16>().unwrap_or_default();
    part(1) * 60 + part(2)
}

/// Auto-pause and the off-hours schedule take the environment down: in production only with
/// `cost.allow_in_production = true`.
fn check_production_opt_in(
    c: &mut Checker<'_>,
    cost: &CostControls,
    ctx: &CostContext<'_>,
    allowed: bool,
) {
    if !ctx.production || allowed {
        return;
    }
    let pauses =
        matches!(ctx.database.capacity, DbCapacity::Serverless { min_acu, .. } if min_acu == 0.0);
    if pauses {
        c.fail(
            "database.serverless.min_acu",
            Some("0".into()),
            "a production database that pauses answers its first query after a pause only once it resumed (about 15 s): set cost.allow_in_production = true to accept that",
        );
    }
    if cost.schedule.is_some() {
        c.fail(
            "cost.schedule",
            None,
            "the off-hours schedule stops a production environment every night: set cost.allow_in_production = true to accept that",
        );
    }
}

pub(super) fn resolve_operations(raw: RawOperations) -> Operations {
    let d = Operations::default();
    Operations {
        ecs_exec: raw.ecs_exec.unwrap_or(d.ecs_exec),
        dashboard: raw.dashboard.unwrap_or(d.dashboard),
    }
}
