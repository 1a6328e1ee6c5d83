//! The default guardrail pack over a 100-resource template (target < 1 ms on the project's
//! 2-core machines). Results are recorded in docs/benchmarks.md under "Rules".
#![allow(missing_docs)]

use cfn_core::rules::run;
use cfn_rules::{Profile, default_pack};
use criterion::{Criterion, criterion_group, criterion_main};
use dify_constructs::DifyStack;
use dify_constructs::config::Environment;
use integration_tests::{guarded_stack, workspace_root};

fn rules(c: &mut Criterion) {
    let stack = guarded_stack(100);
    let (template, _) = stack.build_template();
    let prd = default_pack(Profile::Production);
    let dev = default_pack(Profile::NonProduction);
    let n = template["Resources"].as_object().map_or(0, |r| r.len());
    assert_eq!(n, 100);
    c.bench_function("default pack (production) over 100 resources", |b| {
        b.iter(|| run(&stack, &template, &prd).findings.len())
    });
    c.bench_function("default pack (non-production) over 100 resources", |b| {
        b.iter(|| run(&stack, &template, &dev).findings.len())
    });
    // A real template: Dify production (145 resources, one suppression).
    let envs = Environment::load_dir(&workspace_root().join("apps/dify-app/environments"))
        .unwrap_or_default();
    if let Some(prd) = envs.iter().find(|e| e.name == "prd") {
        let dify = DifyStack::build(prd).stack;
        let (template, _) = dify.build_template();
        let pack = dify
            .guardrails()
            .map_or_else(|| default_pack(Profile::Production), |g| g.pack.clone());
        c.bench_function("default pack (production) over dify-prd", |b| {
            b.iter(|| run(&dify, &template, &pack).suppressed.len())
        });
    }
}

criterion_group!(benches, rules);
criterion_main!(benches);
