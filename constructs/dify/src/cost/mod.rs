//! An estimate of an environment's monthly fixed cost, computed at synthesis from its
//! settings and the dated price table in [`prices`]: what runs whatever the traffic (tasks at
//! their desired count, the database's floor, cache nodes, the load balancer, NAT gateways the
//! stack creates), with the off-hours schedule's hours removed. Usage (requests, data
//! transfer, storage, I/O, logs) is not in it. It is an estimate, not a quote.
//!
//! ```
//! use dify_constructs::DifyProps;
//! use dify_constructs::cost::CostEstimate;
//! let props = DifyProps { region: Some("us-east-1".into()), ..DifyProps::default() };
//! let estimate = CostEstimate::for_props(&props).unwrap();
//! assert!(estimate.monthly_usd > 0.0);
//! assert!(estimate.render().contains("estimate"));
//! ```

pub mod prices;

use serde::Serialize;

use crate::DifyProps;
use crate::cache::CacheEngine;
use crate::database::DbCapacity;
use crate::network::NetworkSettings;
use prices::{HOURS_PER_MONTH, RegionPrices};

/// Why there is no estimate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EstimateError {
    /// The props name no region.
    #[error("no region: the estimate needs one to look its prices up")]
    NoRegion,
    /// The price table has no prices for the region.
    #[error("no prices for region {0} in the price table (constructs/dify/src/cost/prices.rs)")]
    UnknownRegion(String),
}

/// One priced item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostLine {
    /// What it is (`fargate api`, `aurora`, …).
    pub item: String,
    /// How it was computed (`1 × 1 vCPU/2 GB × 730 h`).
    pub basis: String,
    /// USD a month, rounded to cents.
    pub monthly_usd: f64,
}

/// The estimate of one environment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostEstimate {
    /// Always `estimate`: a reader of the JSON never mistakes it for a bill.
    pub kind: &'static str,
    /// The region whose prices were used.
    pub region: String,
    /// The currency (`USD`).
    pub currency: &'static str,
    /// When the prices were taken from the pricing pages.
    pub prices_as_of: &'static str,
    /// Where the prices are published.
    pub sources: Vec<Source>,
    /// The priced items.
    pub lines: Vec<CostLine>,
    /// Their sum, USD a month.
    pub monthly_usd: f64,
    /// What the numbers assume.
    pub assumptions: Vec<String>,
    /// What runs but is not priced (usage-based, or missing from the table).
    pub not_included: Vec<String>,
}

/// A price source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    /// What it prices.
    pub prices: &'static str,
    /// The pricing page.
    pub url: &'static str,
}

impl CostEstimate {
    /// The estimate for `props` (its region, sizes, database, cache, network and cost
    /// controls).
    pub fn for_props(props: &DifyProps) -> Result<CostEstimate, EstimateError> {
        let region = props.region.as_deref().ok_or(EstimateError::NoRegion)?;
        let p =
            prices::region(region).ok_or_else(|| EstimateError::UnknownRegion(region.into()))?;
        let mut e = Estimator {
            props,
            p,
            lines: Vec::new(),
            not_included: Vec::new(),
        };
        e.fargate();
        e.database();
        e.cache();
        e.network();
        Ok(e.finish())
    }

    /// The estimate as JSON (what `synth --json` carries under `reports.cost_estimate`).
    pub fn to_json(&self) -> serde_json::Value {
        // Plain fields and string keys only: serialization cannot fail.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// The estimate as text: a heading that says it is an estimate, one line per item, the
    /// assumptions and the sources.
    pub fn render(&self) -> String {
        let width = self.lines.iter().map(|l| l.item.len()).max().unwrap_or(0);
        let basis = self.lines.iter().map(|l| l.basis.len()).max().unwrap_or(0);
        let mut out = format!(
            "Estimated monthly fixed cost ({}, prices as of {}): {:.2} {} — an estimate, not a quote\n",
            self.region, self.prices_as_of, self.monthly_usd, self.currency
        );
        for l in &self.lines {
            out.push_str(&format!(
                "  {:<width$}  {:<basis$}  {:>9.2}\n",
                l.item, l.basis, l.monthly_usd
            ));
        }
        out.push_str(&format!("  Assumes: {}\n", self.assumptions.join("; ")));
        out.push_str(&format!(
            "  Not included: {}\n",
            self.not_included.join("; ")
        ));
        let sources: Vec<&str> = self.sources.iter().map(|s| s.url).collect();
        out.push_str(&format!("  Prices: {}\n", sources.join(" ")));
        out
    }
}

/// Builds the lines of one estimate.
struct Estimator<'a> {
    props: &'a DifyProps,
    p: &'static RegionPrices,
    lines: Vec<CostLine>,
    not_included: Vec<String>,
}

impl Estimator<'_> {
    fn line(&mut self, item: String, basis: String, usd: f64) {
        self.lines.push(CostLine {
            item,
            basis,
            monthly_usd: cents(usd),
        });
    }

    /// Hours a month the services run: all of them, or the schedule's share.
    fn service_hours(&self) -> f64 {
        let share = self
            .props
            .cost
            .schedule
            .as_ref()
            .map_or(1.0, |s| s.on_fraction());
        HOURS_PER_MONTH * share
    }

    /// Each service's desired tasks × size × hours, Spot at its discount.
    fn fargate(&mut self) {
        let hours = self.service_hours();
        let services = self.props.services.clone();
        for c in services.components() {
            let size = services.get(c);
            let (vcpu, gb) = (
                f64::from(size.cpu) / 1024.0,
                f64::from(size.memory) / 1024.0,
            );
            let hourly = vcpu * self.p.fargate_vcpu_hour + gb * self.p.fargate_gb_hour;
            let spot = self.props.cost.on_spot(c);
            let factor = if spot {
                1.0 - prices::SPOT_DISCOUNT
            } else {
                1.0
            };
            let usd = f64::from(size.desired) * hourly * hours * factor;
            self.line(
                format!(
                    "fargate {}{}",
                    c.dns_name(),
                    if spot { " (spot)" } else { "" }
                ),
                format!("{} × {vcpu} vCPU/{gb} GB × {hours:.0} h", size.desired),
                usd,
            );
        }
    }

    /// Serverless v2 at its floor (0.5 ACU while a paused-capable database runs, paused
    /// outside the schedule's hours), or the provisioned instances around the clock.
    fn database(&mut self) {
        match &self.props.database.capacity {
            DbCapacity::Serverless {
                min_acu, readers, ..
            } => {
                let instances = 1.0 + f64::from(*readers);
                let pauses = *min_acu == 0.0;
                // With every task stopped there is no connection and the database pauses;
                // while any task runs, its pools keep it awake at 0.5 ACU or more.
                let (floor, hours) = if pauses {
                    (0.5, self.service_hours())
                } else {
                    (*min_acu, HOURS_PER_MONTH)
                };
                let usd = instances * floor * hours * self.p.aurora_acu_hour;
                self.line(
                    "aurora serverless v2".into(),
                    format!("{instances} × {floor} ACU × {hours:.0} h"),
                    usd,
                );
            }
            DbCapacity::Provisioned {
                instance_class,
                instances,
            } => match prices::lookup(self.p.aurora_instance_hour, instance_class) {
                Some(price) => {
                    let usd = f64::from(*instances) * price * HOURS_PER_MONTH;
                    self.line(
                        format!("aurora {instance_class}"),
                        format!("{instances} × {HOURS_PER_MONTH:.0} h"),
                        usd,
                    );
                }
                None => self
                    .not_included
                    .push(format!("Aurora {instance_class} (not in the price table)")),
            },
        }
    }

    /// Every node around the clock (ElastiCache nodes cannot be stopped).
    fn cache(&mut self) {
        let cache = &self.props.cache;
        let Some(price) = prices::lookup(self.p.cache_node_hour, &cache.node_type) else {
            self.not_included.push(format!(
                "ElastiCache {} (not in the price table)",
                cache.node_type
            ));
            return;
        };
        let price = match cache.engine {
            CacheEngine::Valkey => price * (1.0 - prices::VALKEY_DISCOUNT),
            CacheEngine::Redis => price,
        };
        let usd = f64::from(cache.nodes) * price * HOURS_PER_MONTH;
        self.line(
            format!("elasticache {}", cache.node_type),
            format!("{} × {HOURS_PER_MONTH:.0} h", cache.nodes),
            usd,
        );
    }

    /// The load balancer (and its public addresses), the NAT gateways of a VPC the stack
    /// creates, and the dashboard.
    fn network(&mut self) {
        let h = HOURS_PER_MONTH;
        let lb = (self.p.alb_hour + self.p.alb_lcu_hour) * h;
        self.line(
            "load balancer".into(),
            format!("1 LB + 1 LCU × {h:.0} h"),
            lb,
        );
        let azs = match &self.props.network {
            NetworkSettings::Existing {
                public_subnet_ids, ..
            } => public_subnet_ids.len(),
            NetworkSettings::Create { azs, .. } => usize::from(*azs),
        };
        if self.props.ingress.internet_facing {
            let usd = azs as f64 * prices::PUBLIC_IPV4_HOUR * h;
            self.line(
                "load balancer public IPv4".into(),
                format!("{azs} × {h:.0} h"),
                usd,
            );
        }
        match &self.props.network {
            NetworkSettings::Create { nat_gateways, .. } => {
                let n = f64::from(*nat_gateways);
                let usd = n * (self.p.nat_hour + prices::PUBLIC_IPV4_HOUR) * h;
                self.line(
                    "nat gateways".into(),
                    format!("{nat_gateways} × {h:.0} h (+ address)"),
                    usd,
                );
            }
            NetworkSettings::Existing { endpoints, .. } => {
                self.not_included.push(
                    "the existing VPC's NAT gateways and interface endpoints (the network owner's)"
                        .into(),
                );
                if endpoints.is_some() {
                    let per_endpoint = self.p.endpoint_az_hour * azs as f64 * h;
                    self.not_included.push(format!(
                        "for reference, each interface endpoint in {azs} AZs costs {per_endpoint:.2} USD a month"
                    ));
                }
            }
        }
        if self.props.private.is_some() {
            let has_existing = matches!(
                &self.props.network,
                NetworkSettings::Existing {
                    endpoints: Some(_),
                    ..
                }
            );
            let n = crate::private::interface_services(
                has_existing,
                self.props.bedrock.is_some(),
                self.props.operations.ecs_exec,
            )
            .len();
            self.line(
                "interface endpoints (private mode)".into(),
                format!("{n} × {azs} AZs × {h:.0} h"),
                n as f64 * azs as f64 * self.p.endpoint_az_hour * h,
            );
        }
        if self.props.operations.dashboard {
            self.line(
                "cloudwatch dashboard".into(),
                "1 (free for an account's first three)".into(),
                prices::DASHBOARD_MONTH,
            );
        }
    }

    fn finish(mut self) -> CostEstimate {
        self.not_included.extend(
            [
                "requests and LCUs above one",
                "data transfer and NAT data processing",
                "Aurora storage and I/O, backups beyond the free share",
                "logs, metrics and Container Insights",
                "Secrets Manager secrets and KMS keys",
                "WAF",
                "ephemeral storage above 20 GB",
                "scale-out above the desired counts",
            ]
            .map(String::from),
        );
        let total = cents(self.lines.iter().map(|l| l.monthly_usd).sum());
        let mut assumptions = vec![format!(
            "{HOURS_PER_MONTH:.0} hours a month; on-demand list prices"
        )];
        if !self.props.cost.spot.is_empty() {
            assumptions.push(format!(
                "Fargate Spot {:.0} % below on-demand",
                prices::SPOT_DISCOUNT * 100.0
            ));
        }
        if matches!(self.props.database.capacity, DbCapacity::Serverless { min_acu, .. } if min_acu == 0.0)
        {
            assumptions.push("the pausing database (min 0 ACU) runs at 0.5 ACU while any task runs and is paused otherwise".into());
        }
        if let Some(s) = &self.props.cost.schedule {
            assumptions.push(format!(
                "services run {:.0} h a week ({}), zero otherwise",
                s.on_hours_per_week(),
                s.timezone
            ));
        }
        CostEstimate {
            kind: "estimate",
            region: self.p.region.into(),
            currency: "USD",
            prices_as_of: prices::PRICES_AS_OF,
            sources: prices::SOURCES
                .iter()
                .map(|(prices, url)| Source { prices, url })
                .collect(),
            lines: self.lines,
            monthly_usd: total,
            assumptions,
            not_included: self.not_included,
        }
    }
}

/// Rounded to cents, so the JSON is stable and sums what it shows.
fn cents(usd: f64) -> f64 {
    (usd * 100.0).round() / 100.0
}
