//! How many processes each Dify task runs, how many database connections they may open, and
//! whether that fits the database's `max_connections` even in the worst case of a rollout.
//!
//! Dify's defaults are sized for a laptop: the api entrypoint starts gunicorn with
//! `SERVER_WORKER_AMOUNT` (1) gevent worker and `SERVER_WORKER_CONNECTIONS` (10), and the worker
//! runs `celery … -P gevent -c ${CELERY_WORKER_AMOUNT:-1}` (`api/docker/entrypoint.sh` at
//! 1.13.3), so a 2-vCPU api task serves 10 requests, SSE streams included, and a worker runs
//! one task at a time. Every gunicorn worker process has its own SQLAlchemy pool
//! (`SQLALCHEMY_POOL_SIZE` + `SQLALCHEMY_MAX_OVERFLOW`) and pgvector pools
//! (`PGVECTOR_MAX_CONNECTION`); a Celery worker is one gevent process whose greenlets share one
//! pool. Connections grow with processes × tasks; with a 100/200 rollout old and new tasks run
//! side by side, so the budget counts every service at twice its maximum.
//! (`docs/research-dify-api.md` quotes the sources.)

use crate::database::DbCapacity;
// Defined beside the component sizes they default (services.rs), kept reachable here.
use crate::services::{Component, Services};
pub use crate::services::{DEFAULT_API_CONNECTIONS, default_processes};

/// A process's database pools: `(SQLALCHEMY_POOL_SIZE, SQLALCHEMY_MAX_OVERFLOW,
/// PGVECTOR_MAX_CONNECTION)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pools {
    /// Connections kept open.
    pub pool_size: u32,
    /// Extra connections opened under load.
    pub max_overflow: u32,
    /// pgvector's own pool (psycopg2), separate from SQLAlchemy's.
    pub pgvector_max: u32,
}

impl Pools {
    /// The most connections one process opens.
    pub fn per_process(self) -> u32 {
        self.pool_size + self.max_overflow + self.pgvector_max
    }
}

/// The pools a component's processes use. api serves many greenlets per process from a
/// moderate pool; a Celery worker's greenlets (`concurrency`) share one pool, one connection
/// each; beat barely touches the database.
pub fn pools(c: Component, concurrency: u32) -> Pools {
    match c {
        Component::Api => Pools {
            pool_size: 8,
            max_overflow: 4,
            pgvector_max: 3,
        },
        Component::Worker | Component::WorkerLong => Pools {
            pool_size: concurrency,
            max_overflow: 2,
            pgvector_max: 3,
        },
        _ => Pools {
            pool_size: 2,
            max_overflow: 2,
            pgvector_max: 2,
        },
    }
}

/// The plugin daemon's `DB_MAX_OPEN_CONNS` (its default is 30; `internal/types/app/config.go`).
pub const PLUGIN_DAEMON_MAX_OPEN_CONNS: u32 = 20;

/// The most connections the services and the migration step may hold at once: every service
/// at twice its maximum task count (old and new tasks during a rollout).
pub fn connections_needed(services: &Services) -> u32 {
    let mut total = pools(Component::Api, 1).per_process(); // the migration task
    for c in services.components() {
        let s = services.get(c);
        let per_task = match c {
            Component::Api | Component::Beat => s.processes * pools(c, 1).per_process(),
            // One gevent process whatever the concurrency.
            Component::Worker | Component::WorkerLong => pools(c, s.processes).per_process(),
            Component::PluginDaemon => PLUGIN_DAEMON_MAX_OPEN_CONNS,
            Component::Web | Component::Sandbox | Component::SsrfProxy => 0,
        };
        total += 2 * s.max * per_task;
    }
    total
}

/// Aurora PostgreSQL's `max_connections` default, `LEAST(DBInstanceClassMemory/9531392, 5000)`,
/// for the smallest instance the cluster runs on (Serverless v2: 2 GiB per ACU at its
/// maximum). `None` for an instance class this table does not know.
pub fn max_connections(capacity: &DbCapacity) -> Option<u32> {
    let gib = match capacity {
        DbCapacity::Serverless { max_acu, .. } => max_acu * 2.0,
        DbCapacity::Provisioned { instance_class, .. } => instance_memory_gib(instance_class)?,
    };
    let bytes = gib * 1024.0 * 1024.0 * 1024.0;
    // Floor of a finite, positive value under 5000: the cast cannot overflow.
    Some((bytes / 9_531_392.0).floor().min(5000.0) as u32)
}

/// Memory of Aurora's instance classes: `db.<family>.<size>` with r/x2g families at 8/16 GiB
/// per vCPU, and the burstable t classes.
fn instance_memory_gib(class: &str) -> Option<f64> {
    let mut parts = class.split('.').skip(1);
    let (family, size) = (parts.next()?, parts.next()?);
    let vcpus = match size {
        "medium" => 1.0,
        "large" => 2.0,
        "xlarge" => 4.0,
        s => s.strip_suffix("xlarge")?.parse::<f64>().ok()? * 4.0,
    };
    match family.chars().next()? {
        // Burstable: medium 4 GiB, large 8 GiB.
        't' => Some(if size == "medium" { 4.0 } else { vcpus * 4.0 }),
        'r' => Some(vcpus * 8.0),
        'x' => Some(vcpus * 16.0),
        _ => None,
    }
}

/// The check the configuration runs: the worst case must leave a tenth of `max_connections`
/// for operators, monitoring and RDS itself.
pub fn check_connections(services: &Services, capacity: &DbCapacity) -> Result<(), String> {
    let Some(max) = max_connections(capacity) else {
        return Ok(());
    };
    let needed = connections_needed(services);
    let budget = max * 9 / 10;
    if needed > budget {
        return Err(format!(
            "the services may open {needed} database connections (every service at twice its max during a rollout × processes × pool), over 90 % of the database's max_connections ({max}): lower services.*.max or services.*.processes, or give the database more memory"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aurora_memory_follows_the_class() {
        assert_eq!(instance_memory_gib("db.r6g.large"), Some(16.0));
        assert_eq!(instance_memory_gib("db.r7g.2xlarge"), Some(64.0));
        assert_eq!(instance_memory_gib("db.t4g.medium"), Some(4.0));
        assert_eq!(instance_memory_gib("db.t4g.large"), Some(8.0));
        assert_eq!(instance_memory_gib("db.serverless"), None);
    }

    #[test]
    fn max_connections_matches_aurora_for_a_large_instance() {
        // 16 GiB / 9531392 bytes per connection.
        let cap = DbCapacity::Provisioned {
            instance_class: "db.r6g.large".into(),
            instances: 2,
        };
        assert_eq!(max_connections(&cap), Some(1802));
    }

    #[test]
    fn processes_grow_with_the_task() {
        assert_eq!(default_processes(Component::Api, 2048, 4096), 2);
        assert_eq!(default_processes(Component::Worker, 2048, 4096), 4);
        assert_eq!(default_processes(Component::Worker, 2048, 2048), 2);
        assert_eq!(default_processes(Component::Beat, 2048, 4096), 1);
    }
}
