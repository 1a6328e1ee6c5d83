//! Synthesis speed: a 100-resource stack (target < 1 ms on the project's 2-core machines) and
//! the 26-type sample stack, and all three Dify environments. Results are recorded in docs/benchmarks.md.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use dify_constructs::DifyStack;
use dify_constructs::config::Environment;
use integration_tests::{sample_stack, wide_stack, workspace_root};

fn synth(c: &mut Criterion) {
    c.bench_function("build+synth 100-resource stack", |b| {
        b.iter(|| wide_stack(100).synth().map(|s| s.body.len()))
    });
    let wide = wide_stack(100);
    c.bench_function("synth 100-resource stack (prebuilt tree)", |b| {
        b.iter(|| wide.synth().map(|s| s.body.len()))
    });
    c.bench_function("build+synth sample stack (26 types)", |b| {
        b.iter(|| sample_stack().synth().map(|s| s.body.len()))
    });
    // What `dify-app synth` does in-process: read and check the three environment files, build
    // and synthesize the three stacks (file writing excluded).
    let dir = workspace_root().join("apps/dify-app/environments");
    c.bench_function("load+build+synth dify dev/stg/prd", |b| {
        b.iter(|| {
            let envs = Environment::load_dir(&dir).map_err(|e| e.to_string())?;
            let mut bytes = 0;
            for e in &envs {
                bytes += DifyStack::build(e)
                    .stack
                    .synth()
                    .map_err(|e| e.to_string())?
                    .body
                    .len();
            }
            Ok::<usize, String>(bytes)
        })
    });
}

criterion_group!(benches, synth);
criterion_main!(benches);
