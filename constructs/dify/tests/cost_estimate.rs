//! The monthly fixed-cost estimate against a case computed by hand from the price table.
#![allow(missing_docs, clippy::unwrap_used)]

use dify_constructs::DifyProps;
use dify_constructs::config::Environment;
use dify_constructs::cost::{CostEstimate, EstimateError};

const CASE: &str = r#"
region = "us-east-1"
[network.create]
nat_gateways = 1
[alarms]
email = "ops@example.com"
[database.serverless]
min_acu = 0
[cache]
node_type = "cache.t4g.micro"
[cost]
spot = ["worker"]
[cost.schedule]
timezone = "America/New_York"
days = ["MON", "TUE", "WED", "THU", "FRI"]
start = "09:00"
stop = "18:00"
"#;

fn estimate(text: &str) -> Result<CostEstimate, EstimateError> {
    let env = Environment::from_toml_str("dev.toml", text).unwrap_or_else(|e| panic!("{e}"));
    CostEstimate::for_props(&DifyProps::from_environment(&env))
}

fn line(e: &CostEstimate, item: &str) -> f64 {
    e.lines
        .iter()
        .find(|l| l.item == item)
        .unwrap_or_else(|| panic!("no {item}: {:#?}", e.lines))
        .monthly_usd
}

fn near(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() <= 0.011, "{what}: {a} != {b}");
}

#[test]
fn a_scheduled_spot_environment_costs_what_the_price_table_says() {
    let e = estimate(CASE).unwrap();
    // 45 of 168 hours a week: 730 × 45 / 168 = 195.536 hours a month.
    // api, 1 vCPU and 2 GB: (0.04048 + 2 × 0.004445) × 195.536 = 9.653.
    near(line(&e, "fargate api"), 9.65, "api");
    // worker, the same size on Spot at 70 % off: 9.653 × 0.3 = 2.896.
    near(line(&e, "fargate worker (spot)"), 2.90, "worker");
    // plugin daemon, 1 vCPU and 4 GB: (0.04048 + 4 × 0.004445) × 195.536 = 11.392.
    near(line(&e, "fargate plugin-daemon"), 11.39, "plugin daemon");
    // Aurora pauses outside the schedule: 0.5 ACU × 195.536 h × 0.12 = 11.732.
    near(line(&e, "aurora serverless v2"), 11.73, "aurora");
    // Valkey at 20 % below Redis OSS: 0.016 × 0.8 × 730 = 9.344, around the clock.
    near(line(&e, "elasticache cache.t4g.micro"), 9.34, "cache");
    // The load balancer never stops: (0.0225 + one LCU at 0.008) × 730 = 22.265.
    near(line(&e, "load balancer"), 22.27, "load balancer");
    // Two public addresses (one per AZ) and one NAT gateway with its own.
    near(line(&e, "load balancer public IPv4"), 7.30, "addresses");
    near(line(&e, "nat gateways"), 36.50, "nat");
    // web 4.827 + beat 2.413 + sandbox 4.827 + ssrf-proxy 2.413 + dashboard 3 + the above.
    near(e.monthly_usd, 128.56, "total");
    let sum: f64 = e.lines.iter().map(|l| l.monthly_usd).sum();
    near(e.monthly_usd, sum, "the total is the sum of the lines");
    assert_eq!(e.kind, "estimate");
    assert_eq!(e.region, "us-east-1");
    assert!(e.assumptions.iter().any(|a| a.contains("45 h a week")));
    assert!(
        e.sources
            .iter()
            .all(|s| s.url.starts_with("https://aws.amazon.com/"))
    );
}

#[test]
fn the_cost_controls_lower_the_estimate_and_the_text_says_it_is_one() {
    let with = estimate(CASE).unwrap();
    let paused = CASE.replace("min_acu = 0", "min_acu = 0.5");
    let without = estimate(paused.split("[cost]").next().unwrap()).unwrap();
    // Around the clock: api alone is (0.04048 + 2 × 0.004445) × 730 = 36.04.
    near(line(&without, "fargate api"), 36.04, "api around the clock");
    assert!(without.monthly_usd > with.monthly_usd + 100.0);
    let text = with.render();
    assert!(text.starts_with("Estimated monthly fixed cost (us-east-1, prices as of "));
    assert!(text.contains("an estimate, not a quote"));
    assert!(text.contains("https://aws.amazon.com/fargate/pricing/"));
    let json = with.to_json();
    assert_eq!(
        json["prices_as_of"],
        dify_constructs::cost::prices::PRICES_AS_OF
    );
    assert_eq!(json["lines"].as_array().unwrap().len(), with.lines.len());
}

#[test]
fn a_region_without_prices_is_an_error_not_a_guess() {
    let e = estimate(&CASE.replace("us-east-1", "eu-west-3")).unwrap_err();
    assert_eq!(e, EstimateError::UnknownRegion("eu-west-3".into()));
}
