//! `AlbWaf`: a WAFv2 web ACL in front of an application load balancer, with AWS managed rule
//! groups (IP reputation, common rules, known bad inputs) and a per-IP rate limit. `DifyStack`
//! puts one in front of Dify's load balancer in production (`[ingress.waf]`); any stack can use
//! it in front of its own. It began as the platform example's own construct
//! (`docs/writing-constructs.md` walks through it), which now re-exports it.
//!
//! ```
//! use cfn_core::prelude::*;
//! use cfn_resources::elasticloadbalancingv2 as elbv2;
//! use dify_constructs::waf::{AlbWaf, AlbWafProps};
//!
//! let mut stack = Stack::new("Demo");
//! let mut root = stack.root();
//! let alb = root.add(
//!     "Alb",
//!     elbv2::LoadBalancer::new().subnets(vec!["subnet-1", "subnet-2"]),
//! );
//! let waf = AlbWaf::new(&mut root, "Waf", AlbWafProps::new(&alb))?;
//! let template = Template::from_stack(&stack);
//! template.has_resource_properties(
//!     "AWS::WAFv2::WebACLAssociation",
//!     serde_json::json!({"ResourceArn": alb.load_balancer_arn(), "WebACLArn": waf.web_acl.arn()}),
//! );
//! # Ok::<(), dify_constructs::waf::WafError>(())
//! ```

use cfn_core::{Handle, Scope, Value};
use cfn_resources::elasticloadbalancingv2::LoadBalancerHandle;
use cfn_resources::wafv2::ip_set::{IpAddressVersion, Scope as IpSetScope};
use cfn_resources::wafv2::web_acl::{
    AllowAction, BlockAction, CountAction, DefaultAction, IpSetReferenceStatement,
    ManagedRuleGroupStatement, NotStatement, OverrideAction, RateBasedStatement, Rule, RuleAction,
    RuleActionOverride, Statement, VisibilityConfig,
};
use cfn_resources::wafv2::{
    IpSet, WebAcl, WebAclAssociation, WebAclAssociationHandle, WebAclHandle,
};
use serde_json::json;
use thiserror::Error;

/// AWS's bounds on a rate-based rule's limit (requests per evaluation window per client IP).
pub const RATE_LIMIT_RANGE: std::ops::RangeInclusive<i64> = 10..=2_000_000_000;

/// An AWS managed rule group, and the rules of it that only count instead of blocking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManagedGroup {
    /// The group's name (`AWSManagedRulesCommonRuleSet`).
    pub name: String,
    /// Rules of the group that count matches instead of blocking them.
    pub count_only_rules: Vec<String>,
}

impl ManagedGroup {
    /// A group whose every rule blocks.
    pub fn new(name: impl Into<String>) -> Self {
        ManagedGroup {
            name: name.into(),
            count_only_rules: Vec::new(),
        }
    }

    /// Makes a rule of the group count instead of block.
    pub fn count_only(mut self, rule: impl Into<String>) -> Self {
        self.count_only_rules.push(rule.into());
        self
    }
}

/// What the web ACL does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WafSettings {
    /// Requests one client IP may make per 5 minutes before it is blocked.
    pub rate_limit: i64,
    /// AWS managed rule groups, evaluated in this order after the rate limit.
    pub managed_groups: Vec<ManagedGroup>,
    /// Count instead of block, everywhere: see what the rules would block before enforcing
    /// them (a WAF's first weeks in front of an existing application).
    pub count_only: bool,
}

impl Default for WafSettings {
    /// 2,000 requests per IP per 5 minutes; the IP reputation list, the common rule set and
    /// known bad inputs, blocking. Two common rules only count, because Dify trips them in
    /// normal use: `SizeRestrictions_BODY` (bodies over 8 KB: file uploads, long prompts,
    /// workflow graphs) and `CrossSiteScripting_BODY` (workflow code nodes and HTML in prompts).
    fn default() -> Self {
        WafSettings {
            rate_limit: 2_000,
            managed_groups: vec![
                ManagedGroup::new("AWSManagedRulesAmazonIpReputationList"),
                ManagedGroup::new("AWSManagedRulesCommonRuleSet")
                    .count_only("SizeRestrictions_BODY")
                    .count_only("CrossSiteScripting_BODY"),
                ManagedGroup::new("AWSManagedRulesKnownBadInputsRuleSet"),
            ],
            count_only: false,
        }
    }
}

/// Why WAF settings were refused.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum WafError {
    /// The rate limit is outside AWS's bounds.
    #[error("rate limit {0} is outside {min}..={max} requests per 5 minutes", min = RATE_LIMIT_RANGE.start(), max = RATE_LIMIT_RANGE.end())]
    RateLimit(i64),
    /// A managed group is listed twice (WAF rejects duplicate rule names at deploy time).
    #[error("managed rule group '{0}' is listed twice")]
    DuplicateGroup(String),
    /// A managed group has no name.
    #[error("a managed rule group has an empty name")]
    EmptyGroupName,
}

impl WafSettings {
    /// Checks what the registry schema cannot: duplicates and empty names (the schema's
    /// bounds and patterns are checked again at synthesis, like every property).
    pub fn validate(&self) -> Result<(), WafError> {
        if !RATE_LIMIT_RANGE.contains(&self.rate_limit) {
            return Err(WafError::RateLimit(self.rate_limit));
        }
        let mut seen = std::collections::HashSet::new();
        for g in &self.managed_groups {
            if g.name.trim().is_empty() {
                return Err(WafError::EmptyGroupName);
            }
            if !seen.insert(g.name.as_str()) {
                return Err(WafError::DuplicateGroup(g.name.clone()));
            }
        }
        Ok(())
    }
}

/// The web ACL and its association with the load balancer.
#[derive(Clone, Debug)]
pub struct AlbWaf {
    /// The web ACL.
    pub web_acl: WebAclHandle,
    /// The association with the load balancer.
    pub association: WebAclAssociationHandle,
}

/// Inputs of [`AlbWaf`].
#[derive(Clone, Debug)]
pub struct AlbWafProps<'a> {
    /// The application load balancer the web ACL protects.
    pub load_balancer: &'a LoadBalancerHandle,
    /// The rate limit, the managed rule groups and whether anything blocks. Default:
    /// [`WafSettings::default`].
    pub settings: WafSettings,
    /// IPv4 CIDRs the per-IP rate limit never applies to (an `Unthrottled` IP set), such as
    /// the application's own NAT gateways, through which every call it makes to its own public
    /// URL arrives from a handful of addresses. The managed rules still apply. Default: none.
    pub unthrottled: Vec<Value<String>>,
}

impl<'a> AlbWafProps<'a> {
    /// Props with the defaults above, in front of `load_balancer`.
    pub fn new(load_balancer: &'a LoadBalancerHandle) -> Self {
        AlbWafProps {
            load_balancer,
            settings: WafSettings::default(),
            unthrottled: Vec::new(),
        }
    }
}

impl AlbWaf {
    /// Creates the web ACL (regional, default action allow) and associates it with the load
    /// balancer. CloudWatch metrics and sampled requests are on for the ACL and each rule,
    /// named `<stack>-<rule>`. Refuses settings [`WafSettings::validate`] refuses, before
    /// adding anything.
    pub fn new(
        scope: &mut Scope<'_>,
        id: &str,
        props: AlbWafProps<'_>,
    ) -> Result<AlbWaf, WafError> {
        let settings = &props.settings;
        let unthrottled = props.unthrottled.as_slice();
        let load_balancer = props.load_balancer;
        settings.validate()?;
        let prefix = scope.stack_ref().name().to_owned();
        let metrics = |name: &str| {
            VisibilityConfig::builder()
                .cloud_watch_metrics_enabled(true)
                .metric_name(format!("{prefix}-{name}"))
                .sampled_requests_enabled(true)
                .build()
        };
        let mut s = scope.child(id);

        let rate_action = if settings.count_only {
            RuleAction::new().count(CountAction::new())
        } else {
            RuleAction::new().block(BlockAction::new())
        };
        let mut rate = RateBasedStatement::builder()
            .aggregate_key_type("IP")
            .limit(settings.rate_limit)
            .build();
        if !unthrottled.is_empty() {
            let set = s.add(
                "Unthrottled",
                IpSet::builder()
                    .addresses(unthrottled.to_vec())
                    .ip_address_version(IpAddressVersion::Ipv4)
                    .scope(IpSetScope::Regional)
                    .build()
                    .description("Sources the per-IP rate limit does not apply to"),
            );
            rate = rate.scope_down_statement(
                Statement::new().not_statement(
                    NotStatement::builder()
                        .statement(Statement::new().ip_set_reference_statement(
                            IpSetReferenceStatement::builder().arn(set.arn()).build(),
                        ))
                        .build(),
                ),
            );
        }
        let mut rules = vec![
            Rule::builder()
                .name("RateLimitPerIp")
                .priority(0)
                .statement(Statement::new().rate_based_statement(rate))
                .visibility_config(metrics("RateLimitPerIp"))
                .build()
                .action(rate_action),
        ];
        for (i, group) in settings.managed_groups.iter().enumerate() {
            let mut statement = ManagedRuleGroupStatement::builder()
                .name(group.name.as_str())
                .vendor_name("AWS")
                .build();
            if !group.count_only_rules.is_empty() {
                statement = statement.rule_action_overrides(
                    group
                        .count_only_rules
                        .iter()
                        .map(|r| {
                            RuleActionOverride::builder()
                                .action_to_use(RuleAction::new().count(CountAction::new()))
                                .name(r.as_str())
                                .build()
                        })
                        .collect::<Vec<_>>(),
                );
            }
            let override_action = if settings.count_only {
                OverrideAction::new().count(json!({}))
            } else {
                OverrideAction::new().none(json!({}))
            };
            rules.push(
                Rule::builder()
                    .name(group.name.as_str())
                    .priority(i64::try_from(i + 1).unwrap_or(i64::MAX))
                    .statement(Statement::new().managed_rule_group_statement(statement))
                    .visibility_config(metrics(&group.name))
                    .build()
                    .override_action(override_action),
            );
        }

        let web_acl = s.add(
            "Acl",
            WebAcl::builder()
                .default_action(DefaultAction::new().allow(AllowAction::new()))
                .scope("REGIONAL")
                .visibility_config(metrics("WebAcl"))
                .build()
                .description("Dify load balancer - AWS managed rules and a per-IP rate limit")
                .rules(rules),
        );
        let association = s.add(
            "Association",
            WebAclAssociation::builder()
                .resource_arn(load_balancer.load_balancer_arn())
                .web_acl_arn(web_acl.arn())
                .build(),
        );
        Ok(AlbWaf {
            web_acl,
            association,
        })
    }

    /// The web ACL's logical ID (for `DependsOn` or a test).
    pub fn logical_id(&self) -> &str {
        self.web_acl.logical_id()
    }
}
