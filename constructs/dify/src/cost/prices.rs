//! The price table the estimate is computed from: on-demand list prices in USD, per region,
//! for what a Dify environment runs around the clock. Small on purpose: update it (and
//! [`PRICES_AS_OF`]) from the pages in [`SOURCES`] when AWS changes a price.
//!
//! The figures are Linux/x86 on-demand prices, Aurora Standard (not I/O-Optimized), and
//! ElastiCache node-based Redis OSS prices (Valkey nodes are listed 20 % lower). They were
//! transcribed from the AWS pricing pages as of [`PRICES_AS_OF`] and not re-fetched when this
//! table was written: check them with the AWS Pricing Calculator before budgeting.

/// When the prices were taken from the pricing pages.
pub const PRICES_AS_OF: &str = "2025-06";

/// Where each family of prices is published.
pub const SOURCES: [(&str, &str); 7] = [
    ("Fargate", "https://aws.amazon.com/fargate/pricing/"),
    (
        "Aurora (Serverless v2, provisioned)",
        "https://aws.amazon.com/rds/aurora/pricing/",
    ),
    ("ElastiCache", "https://aws.amazon.com/elasticache/pricing/"),
    (
        "Application Load Balancer",
        "https://aws.amazon.com/elasticloadbalancing/pricing/",
    ),
    (
        "NAT gateway, public IPv4",
        "https://aws.amazon.com/vpc/pricing/",
    ),
    (
        "Interface endpoints",
        "https://aws.amazon.com/privatelink/pricing/",
    ),
    (
        "CloudWatch dashboards",
        "https://aws.amazon.com/cloudwatch/pricing/",
    ),
];

/// Fargate Spot's discount on the on-demand price, an assumption: AWS quotes "up to 70 %",
/// and the actual Spot price moves with spare capacity.
pub const SPOT_DISCOUNT: f64 = 0.70;

/// Valkey's discount on ElastiCache node prices against Redis OSS (listed 20 % lower).
pub const VALKEY_DISCOUNT: f64 = 0.20;

/// A public IPv4 address, per hour (every region).
pub const PUBLIC_IPV4_HOUR: f64 = 0.005;

/// A CloudWatch dashboard, per month (the first three of an account are free).
pub const DASHBOARD_MONTH: f64 = 3.0;

/// Hours in the average month (8,760 / 12), as AWS's calculator counts them.
pub const HOURS_PER_MONTH: f64 = 730.0;

/// One region's prices.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegionPrices {
    /// The region's code.
    pub region: &'static str,
    /// Fargate, per vCPU-hour.
    pub fargate_vcpu_hour: f64,
    /// Fargate, per GB-hour of memory.
    pub fargate_gb_hour: f64,
    /// Aurora Serverless v2, per ACU-hour.
    pub aurora_acu_hour: f64,
    /// Aurora PostgreSQL provisioned instances, per instance-hour, by class.
    pub aurora_instance_hour: &'static [(&'static str, f64)],
    /// ElastiCache nodes (Redis OSS), per node-hour, by node type.
    pub cache_node_hour: &'static [(&'static str, f64)],
    /// An Application Load Balancer, per hour.
    pub alb_hour: f64,
    /// A load balancer capacity unit, per hour.
    pub alb_lcu_hour: f64,
    /// An interface VPC endpoint, per AZ and hour.
    pub endpoint_az_hour: f64,
    /// A NAT gateway, per hour (data processed not included).
    pub nat_hour: f64,
}

/// Every region the table knows.
pub const REGIONS: [RegionPrices; 2] = [
    RegionPrices {
        region: "us-east-1",
        fargate_vcpu_hour: 0.04048,
        fargate_gb_hour: 0.004445,
        aurora_acu_hour: 0.12,
        aurora_instance_hour: &[
            ("db.t4g.medium", 0.073),
            ("db.r6g.large", 0.26),
            ("db.r6g.xlarge", 0.519),
            ("db.r7g.large", 0.276),
        ],
        cache_node_hour: &[
            ("cache.t4g.micro", 0.016),
            ("cache.t4g.small", 0.032),
            ("cache.t4g.medium", 0.065),
            ("cache.m7g.large", 0.158),
            ("cache.r7g.large", 0.219),
        ],
        alb_hour: 0.0225,
        alb_lcu_hour: 0.008,
        endpoint_az_hour: 0.01,
        nat_hour: 0.045,
    },
    RegionPrices {
        region: "ap-northeast-1",
        fargate_vcpu_hour: 0.05056,
        fargate_gb_hour: 0.00553,
        aurora_acu_hour: 0.15,
        aurora_instance_hour: &[
            ("db.t4g.medium", 0.094),
            ("db.r6g.large", 0.313),
            ("db.r6g.xlarge", 0.626),
            ("db.r7g.large", 0.332),
        ],
        cache_node_hour: &[
            ("cache.t4g.micro", 0.021),
            ("cache.t4g.small", 0.042),
            ("cache.t4g.medium", 0.083),
            ("cache.m7g.large", 0.202),
            ("cache.r7g.large", 0.28),
        ],
        alb_hour: 0.0243,
        alb_lcu_hour: 0.008,
        endpoint_az_hour: 0.014,
        nat_hour: 0.062,
    },
];

/// The prices of `region`, when the table has them.
pub fn region(region: &str) -> Option<&'static RegionPrices> {
    REGIONS.iter().find(|r| r.region == region)
}

/// The price of `name` in a `(name, price)` list.
pub fn lookup(table: &[(&str, f64)], name: &str) -> Option<f64> {
    table.iter().find(|(n, _)| *n == name).map(|(_, p)| *p)
}
