//! `[services.<component>]`: the size and scaling of each ECS service, Fargate's valid sizes,
//! and the Celery queues a long-running worker takes.

use indexmap::IndexMap;

use super::checks::{Checker, quote};
use super::raw::RawService;
use crate::services::{CELERY_QUEUES, Component, LONG_QUEUES, ServiceSize, Services};

pub(super) fn resolve_services(
    c: &mut Checker<'_>,
    raw: IndexMap<String, RawService>,
    production: bool,
) -> Services {
    let default_size = |c: Component| {
        if production {
            c.production_size()
        } else {
            c.development_size()
        }
    };
    let mut services = if production {
        Services::production()
    } else {
        Services::default()
    };
    for (key, s) in raw {
        let Some(component) = Component::from_key(&key) else {
            let known: Vec<&str> = Component::ALL.iter().map(|c| c.key()).collect();
            c.fail(
                &format!("services.{key}"),
                None,
                format!("unknown component; known: {}", known.join(", ")),
            );
            continue;
        };
        let d = if services.components().any(|r| r == component) {
            services.get(component)
        } else {
            default_size(component)
        };
        if let Some(queues) = &s.queues {
            if component == Component::WorkerLong {
                services.set_long_queues(check_queues(
                    c,
                    &format!("services.{key}.queues"),
                    queues,
                ));
            } else {
                c.fail(
                    &format!("services.{key}.queues"),
                    None,
                    "only worker_long takes a queue list; worker consumes the rest",
                );
            }
        } else if component == Component::WorkerLong {
            services.set_long_queues(LONG_QUEUES.iter().map(|q| (*q).to_owned()).collect());
        }
        let f = |n: &str| format!("services.{key}.{n}");
        let cpu = s.cpu.unwrap_or(d.cpu);
        let memory = s.memory.unwrap_or(d.memory);
        if let Err(msg) = fargate_size(cpu, memory) {
            c.fail(&f("memory"), Some(memory.to_string()), msg);
        }
        let desired = s.desired.unwrap_or(d.desired);
        let min = s.min.unwrap_or(d.min.min(desired));
        let max = s.max.unwrap_or(d.max.max(desired));
        if min > max {
            c.fail(
                &f("min"),
                Some(min.to_string()),
                format!("is greater than max ({max})"),
            );
        }
        if desired < min || desired > max {
            c.fail(
                &f("desired"),
                Some(desired.to_string()),
                format!("must be between min ({min}) and max ({max})"),
            );
        }
        if component == Component::Beat && (desired != 1 || max != 1) {
            c.fail(
                &f("desired"),
                Some(desired.to_string()),
                "celery beat must run exactly one task; more would duplicate every scheduled job",
            );
        }
        let ephemeral_storage_gib = s.ephemeral_storage_gib.unwrap_or(d.ephemeral_storage_gib);
        c.range(&f("ephemeral_storage_gib"), ephemeral_storage_gib, 21, 200);
        let processes = s
            .processes
            .unwrap_or_else(|| crate::sizing::default_processes(component, cpu, memory));
        if s.processes.is_some()
            && !matches!(
                component,
                Component::Api | Component::Worker | Component::WorkerLong
            )
        {
            c.fail(
                &f("processes"),
                Some(processes.to_string()),
                "only api (gunicorn workers) and worker (Celery concurrency) run several processes",
            );
        }
        c.range(&f("processes"), processes, 1, 64);
        let connections = s.connections.unwrap_or(d.connections);
        if s.connections.is_some() && component != Component::Api {
            c.fail(
                &f("connections"),
                Some(connections.to_string()),
                "only api serves concurrent requests per process (SERVER_WORKER_CONNECTIONS)",
            );
        }
        c.range(&f("connections"), connections, 1, 1000);
        if let Some(name) = s.log_group_name {
            c.log_group_name(&f("log_group_name"), &name);
            services.set_log_group_name(component, name);
        }
        services.set(
            component,
            ServiceSize {
                cpu,
                memory,
                desired,
                min,
                max,
                ephemeral_storage_gib,
                processes,
                connections,
            },
        );
    }
    services
}

fn check_queues(c: &mut Checker<'_>, field: &str, queues: &[String]) -> Vec<String> {
    for q in queues {
        if !CELERY_QUEUES.contains(&q.as_str()) {
            c.fail(
                field,
                Some(quote(q)),
                format!(
                    "not one of Dify's Celery queues: {}",
                    CELERY_QUEUES.join(", ")
                ),
            );
        }
    }
    if queues.is_empty() || queues.len() == CELERY_QUEUES.len() {
        c.fail(
            field,
            None,
            "give worker_long some of the queues and leave worker the rest",
        );
    }
    queues.to_vec()
}

/// Fargate's valid CPU/memory pairs.
fn fargate_size(cpu: u32, memory: u32) -> Result<(), String> {
    let (lo, hi, step) = match cpu {
        256 => (512, 2048, 512),
        512 => (1024, 4096, 1024),
        1024 => (2048, 8192, 1024),
        2048 => (4096, 16384, 1024),
        4096 => (8192, 30720, 1024),
        8192 => (16384, 61440, 4096),
        16384 => (32768, 122880, 8192),
        _ => {
            return Err(format!(
                "cpu {cpu} is not a Fargate size (256, 512, 1024, 2048, 4096, 8192, 16384)"
            ));
        }
    };
    let ok = (memory >= lo && memory <= hi && memory.is_multiple_of(step))
        || (cpu == 256 && memory == 512);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "with cpu {cpu}, Fargate memory is {lo}-{hi} MiB in steps of {step}"
        ))
    }
}
