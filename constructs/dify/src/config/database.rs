//! `[database]`: Aurora PostgreSQL, serverless v2 or provisioned, and its backups and windows.

use super::checks::{Checker, DB_CLASS, DB_VERSION, quote};
use super::raw::{RawDatabase, RawServerless};
use crate::database::{
    DEFAULT_ENGINE_VERSION as DEFAULT_DB_ENGINE_VERSION, DatabaseSettings as Database, DbCapacity,
    supports_auto_pause,
};

pub(super) fn resolve_database(c: &mut Checker<'_>, d: RawDatabase, production: bool) -> Database {
    let engine_version = d
        .engine_version
        .unwrap_or_else(|| DEFAULT_DB_ENGINE_VERSION.into());
    c.pattern(
        "database.engine_version",
        &engine_version,
        &DB_VERSION,
        "an Aurora PostgreSQL version (16.9, or 16 with auto_minor_version_upgrade)",
    );
    let auto_pause = d
        .serverless
        .as_ref()
        .and_then(|s| s.seconds_until_auto_pause);
    let capacity = match (d.serverless, d.provisioned) {
        (Some(_), Some(_)) => {
            c.fail(
                "database",
                None,
                "give either [database.serverless] or [database.provisioned], not both",
            );
            DbCapacity::Serverless {
                min_acu: 0.5,
                max_acu: 4.0,
                readers: 0,
            }
        }
        (Some(s), None) => serverless(c, s, production),
        (None, Some(p)) => {
            let instance_class = p.instance_class.unwrap_or_else(|| "db.r6g.large".into());
            c.pattern(
                "database.provisioned.instance_class",
                &instance_class,
                &DB_CLASS,
                "an instance class (db.r6g.large, …)",
            );
            let instances = p.instances.unwrap_or(if production { 2 } else { 1 });
            c.range(
                "database.provisioned.instances",
                u32::from(instances),
                1,
                16,
            );
            DbCapacity::Provisioned {
                instance_class,
                instances,
            }
        }
        (None, None) if production => DbCapacity::Provisioned {
            instance_class: "db.r6g.large".into(),
            instances: 2,
        },
        (None, None) => serverless(c, RawServerless::default(), production),
    };
    let backup_retention_days = d
        .backup_retention_days
        .unwrap_or(if production { 14 } else { 7 });
    c.range(
        "database.backup_retention_days",
        backup_retention_days,
        1,
        35,
    );
    let backup_window = c.window(
        "database.backup_window",
        d.backup_window,
        "03:00-04:00",
        false,
    );
    let maintenance_window = c.window(
        "database.maintenance_window",
        d.maintenance_window,
        "sun:04:00-sun:05:00",
        true,
    );
    let monitoring_interval_seconds = d.monitoring_interval_seconds.unwrap_or(60);
    if ![0, 1, 5, 10, 15, 30, 60].contains(&monitoring_interval_seconds) {
        c.fail(
            "database.monitoring_interval_seconds",
            Some(monitoring_interval_seconds.to_string()),
            "must be 0, 1, 5, 10, 15, 30 or 60",
        );
    }
    if let Some(id) = &d.adopt_cluster_logical_id
        && !cfn_core::logical_id::is_valid(id)
    {
        c.fail(
            "database.adopt_cluster_logical_id",
            Some(quote(id)),
            "a logical ID is 1-255 ASCII letters and digits",
        );
    }
    let auto_pause_seconds = check_auto_pause(c, &capacity, &engine_version, auto_pause);
    let auto_minor_version_upgrade = d.auto_minor_version_upgrade.unwrap_or(false);
    if auto_minor_version_upgrade && engine_version.contains('.') {
        c.fail(
            "database.auto_minor_version_upgrade",
            Some("true".into()),
            format!(
                "contradicts the pinned minor version engine_version = \"{engine_version}\": once RDS upgrades the instances, the next deploy asks to go back to it and fails; pin only the major version (engine_version = \"{}\") or set auto_minor_version_upgrade = false",
                engine_version.split('.').next().unwrap_or_default()
            ),
        );
    }
    Database {
        engine_version,
        auto_minor_version_upgrade,
        app_credentials_generation: d.app_credentials_generation.unwrap_or(0),
        capacity,
        backup_retention_days,
        backup_window,
        maintenance_window,
        deletion_protection: d.deletion_protection.unwrap_or(production),
        performance_insights: d.performance_insights.unwrap_or(production),
        monitoring_interval_seconds,
        customer_managed_key: d.customer_managed_key.unwrap_or(production),
        performance_insights_customer_managed_key: d
            .performance_insights_customer_managed_key
            .unwrap_or(true),
        adopt_cluster_logical_id: d.adopt_cluster_logical_id,
        auto_pause_seconds,
    }
}

fn serverless(c: &mut Checker<'_>, s: RawServerless, production: bool) -> DbCapacity {
    let min_acu = s.min_acu.unwrap_or(if production { 2.0 } else { 0.5 });
    let max_acu = s.max_acu.unwrap_or(if production { 16.0 } else { 4.0 });
    for (field, v) in [("min_acu", min_acu), ("max_acu", max_acu)] {
        if !(0.0..=256.0).contains(&v) || (v * 2.0).fract() != 0.0 {
            c.fail(
                &format!("database.serverless.{field}"),
                Some(v.to_string()),
                "ACUs go from 0 to 256 in steps of 0.5",
            );
        }
    }
    if max_acu < 1.0 {
        c.fail(
            "database.serverless.max_acu",
            Some(max_acu.to_string()),
            "must be at least 1",
        );
    }
    if min_acu > max_acu {
        c.fail(
            "database.serverless.min_acu",
            Some(min_acu.to_string()),
            format!("is greater than max_acu ({max_acu})"),
        );
    }
    let readers = s.readers.unwrap_or(u8::from(production));
    c.range("database.serverless.readers", u32::from(readers), 0, 15);
    DbCapacity::Serverless {
        min_acu,
        max_acu,
        readers,
    }
}

/// Auto-pause (a minimum of 0 ACU): an engine version that supports it, and a pause delay
/// only where it applies. Returns the delay, defaulted to Aurora's 300 s.
fn check_auto_pause(
    c: &mut Checker<'_>,
    capacity: &DbCapacity,
    engine_version: &str,
    seconds: Option<u32>,
) -> u32 {
    let pauses = matches!(capacity, DbCapacity::Serverless { min_acu, .. } if *min_acu == 0.0);
    if pauses && !supports_auto_pause(engine_version) {
        c.fail(
            "database.serverless.min_acu",
            Some("0".into()),
            format!(
                "Aurora PostgreSQL {engine_version} cannot pause: 0 ACU needs 13.15, 14.12, 15.7, 16.3 or later"
            ),
        );
    }
    if let Some(s) = seconds {
        if !pauses {
            c.fail(
                "database.serverless.seconds_until_auto_pause",
                Some(s.to_string()),
                "applies only with min_acu = 0 (auto-pause)",
            );
        }
        c.range(
            "database.serverless.seconds_until_auto_pause",
            s,
            300,
            86_400,
        );
    }
    seconds.unwrap_or(300)
}
