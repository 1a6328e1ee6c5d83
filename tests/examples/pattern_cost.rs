//! Compile cost of each registry pattern the vendored types carry, most expensive first.
//! A diagnostic tool for the validator's regex handling.
#![allow(missing_docs)]

use cfn_core::schema::{PropSpec, Shape};
use std::time::Instant;

fn collect(props: &'static [PropSpec], out: &mut Vec<&'static str>, depth: usize) {
    if depth > 12 {
        return;
    }
    for p in props {
        shape(&p.shape, out, depth);
    }
}

fn shape(s: &'static Shape, out: &mut Vec<&'static str>, depth: usize) {
    match s {
        Shape::String(rule) => out.extend(rule.pattern),
        Shape::List { item, .. } | Shape::Map(item) => shape(item, out, depth + 1),
        Shape::Object { properties, .. } => collect(properties, out, depth + 1),
        _ => {}
    }
}

fn main() {
    let mut patterns = Vec::new();
    for t in cfn_resources::TYPE_NAMES {
        if let Some(s) = cfn_resources::schema_for(t) {
            collect(s.properties, &mut patterns, 0);
        }
    }
    patterns.sort_unstable();
    patterns.dedup();
    let mut costs: Vec<(u128, &str)> = patterns
        .iter()
        .map(|p| {
            let t = Instant::now();
            let ascii = std::env::args().any(|a| a == "--ascii");
            if ascii {
                let r = regex::bytes::RegexBuilder::new(p).unicode(false).build();
                if r.is_err() {
                    let _ = regex::Regex::new(p);
                }
            } else {
                let _ = regex::Regex::new(p);
            }
            (t.elapsed().as_micros(), *p)
        })
        .collect();
    costs.sort_unstable_by(|a, b| b.cmp(a));
    let total: u128 = costs.iter().map(|c| c.0).sum();
    println!("{} patterns, {total} µs to compile all", costs.len());
    for (us, p) in costs.iter().take(12) {
        println!("{us:>8} µs  {p}");
    }
}
