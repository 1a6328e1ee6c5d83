//! How many of the registry's string patterns synth-time validation can enforce.
#![allow(missing_docs)]

use cfn_core::schema::{PropSpec, Shape, pattern_is_enforced};

fn collect(props: &'static [PropSpec], out: &mut Vec<&'static str>, depth: usize) {
    if depth > 12 {
        return; // recursive definitions (WAFv2 statements) repeat the same patterns
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

#[test]
fn nearly_every_registry_pattern_is_enforced() {
    let mut patterns = Vec::new();
    for t in cfn_resources::TYPE_NAMES {
        if let Some(schema) = cfn_resources::schema_for(t) {
            collect(schema.properties, &mut patterns, 0);
        }
    }
    patterns.sort_unstable();
    patterns.dedup();
    let skipped: Vec<&str> = patterns
        .iter()
        .copied()
        .filter(|p| !pattern_is_enforced(p))
        .collect();
    println!(
        "{} distinct patterns, {} enforced, {} left to CloudFormation: {skipped:#?}",
        patterns.len(),
        patterns.len() - skipped.len(),
        skipped.len()
    );
    assert!(
        patterns.len() >= 50,
        "too few patterns found: {}",
        patterns.len()
    );
    // What remains needs look-around, which the regex crate does not do (by design: it
    // guarantees linear time); CloudFormation still checks those.
    assert!(
        skipped.len() * 10 <= patterns.len(),
        "more than 10% of patterns cannot be enforced: {skipped:#?}"
    );
}
