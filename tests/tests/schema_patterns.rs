//! How many of the registry's string patterns synth-time validation can enforce.
#![allow(missing_docs)]

use cfn_core::schema::pattern_is_enforced;
use integration_tests::registry_patterns;

#[test]
fn nearly_every_registry_pattern_is_enforced() {
    let patterns = registry_patterns();
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
