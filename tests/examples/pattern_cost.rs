//! Compile cost of each registry pattern the vendored types carry, most expensive first.
//! A diagnostic tool for the validator's regex handling.
#![allow(missing_docs)]

use std::time::Instant;

fn main() {
    let patterns = integration_tests::registry_patterns();
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
