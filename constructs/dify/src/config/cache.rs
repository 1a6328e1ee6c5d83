//! `[cache]`: ElastiCache (Valkey or Redis), its nodes, snapshots and windows.

use super::checks::{CACHE_NODE, CACHE_VERSION, Checker, quote};
use super::raw::RawCache;
use crate::cache::{CacheEngine, CacheSettings as Cache};

pub(super) fn resolve_cache(c: &mut Checker<'_>, k: RawCache, production: bool) -> Cache {
    let engine = match k.engine.as_deref() {
        None | Some("valkey") => CacheEngine::Valkey,
        Some("redis") => CacheEngine::Redis,
        Some(other) => {
            c.fail(
                "cache.engine",
                Some(quote(other)),
                "must be \"valkey\" or \"redis\"",
            );
            CacheEngine::Valkey
        }
    };
    let engine_version = k.engine_version.unwrap_or_else(|| match engine {
        CacheEngine::Valkey => "8.0".into(),
        CacheEngine::Redis => "7.1".into(),
    });
    c.pattern(
        "cache.engine_version",
        &engine_version,
        &CACHE_VERSION,
        "a version (8.0, 7.1, …)",
    );
    let node_type = k.node_type.unwrap_or_else(|| {
        if production {
            "cache.m7g.large".into()
        } else {
            "cache.t4g.small".into()
        }
    });
    c.pattern(
        "cache.node_type",
        &node_type,
        &CACHE_NODE,
        "a node type (cache.t4g.small, …)",
    );
    let nodes = k.nodes.unwrap_or(if production { 3 } else { 1 });
    c.range("cache.nodes", u32::from(nodes), 1, 6);
    let snapshot_retention_days =
        k.snapshot_retention_days
            .unwrap_or(if production { 5 } else { 1 });
    c.range(
        "cache.snapshot_retention_days",
        snapshot_retention_days,
        0,
        35,
    );
    let snapshot_window = c.window(
        "cache.snapshot_window",
        k.snapshot_window,
        "03:00-05:00",
        false,
    );
    let maintenance_window = c.window(
        "cache.maintenance_window",
        k.maintenance_window,
        "sun:05:00-sun:07:00",
        true,
    );
    if let Some(name) = &k.slow_log_group_name {
        c.log_group_name("cache.slow_log_group_name", name);
    }
    Cache {
        customer_managed_key: k.customer_managed_key.unwrap_or(true),
        slow_log_group_name: k.slow_log_group_name,
        engine,
        engine_version,
        node_type,
        nodes,
        snapshot_retention_days,
        snapshot_window,
        maintenance_window,
    }
}
