//! Synthesis speed: a 100-resource stack (target < 1 ms on the project's 2-core machines) and
//! the 26-type sample stack. Results are recorded in docs/benchmarks.md.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use integration_tests::{sample_stack, wide_stack};

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
}

criterion_group!(benches, synth);
criterion_main!(benches);
