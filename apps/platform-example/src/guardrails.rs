//! The platform team's own guardrail, added to the default pack: every internet-facing
//! application load balancer has a WAF.
//!
//! ```
//! use cfn_core::prelude::*;
//! use platform_example::guardrails::{AlbHasWaf, pack};
//! use serde_json::json;
//!
//! let mut stack = Stack::new("Demo");
//! stack.set_guardrails(RulePack::new("team").with(AlbHasWaf), Enforcement::Advise);
//! stack.root().child("Edge").add_raw(
//!     "Alb",
//!     "AWS::ElasticLoadBalancingV2::LoadBalancer",
//!     None,
//!     json!({"Subnets": ["subnet-1", "subnet-2"]}),
//! );
//! let template = Template::from_stack(&stack);
//! template.has_findings("team-alb-waf");
//! assert_eq!(template.findings("team-alb-waf")[0].construct_path, "Demo/Edge/Alb");
//! assert!(pack(true).get("team-alb-waf").is_some());
//! ```

use std::collections::HashSet;

use cfn_core::Json;
use cfn_core::rules::{Finding, Rule, RuleContext, RulePack};
use cfn_rules::{Profile, default_pack};

/// `team-alb-waf`: an internet-facing application load balancer is the `ResourceArn` of a
/// `AWS::WAFv2::WebACLAssociation` in the same template.
#[derive(Clone, Copy, Debug, Default)]
pub struct AlbHasWaf;

impl Rule for AlbHasWaf {
    fn id(&self) -> &'static str {
        "team-alb-waf"
    }

    fn summary(&self) -> &'static str {
        "an internet-facing load balancer without a WAF passes every request its security group admits, floods and scanners included"
    }

    fn fix(&self) -> &'static str {
        "associate a WAFv2 web ACL with it (platform_example::waf::AlbWaf)"
    }

    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        let protected: HashSet<&str> = ctx
            .resources_of_type("AWS::WAFv2::WebACLAssociation")
            .filter_map(|a| target(a.get("ResourceArn")?))
            .collect();
        for lb in ctx.resources_of_type("AWS::ElasticLoadBalancingV2::LoadBalancer") {
            let internal = lb
                .get("Scheme")
                .and_then(|v| ctx.resolve_str(v))
                .is_some_and(|s| s == "internal");
            let application = lb
                .get("Type")
                .and_then(|v| ctx.resolve_str(v))
                .is_none_or(|t| t == "application");
            if application && !internal && !protected.contains(lb.logical_id) {
                out.push(lb.finding(
                    self,
                    None,
                    "the internet-facing load balancer has no WAF web ACL associated",
                ));
            }
        }
    }
}

/// The logical ID an association's `ResourceArn` points at: `{"Ref": id}` or
/// `{"Fn::GetAtt": [id, "LoadBalancerArn"]}`.
fn target(v: &Json) -> Option<&str> {
    if let Some(id) = v.get("Ref").and_then(Json::as_str) {
        return Some(id);
    }
    let att = v.get("Fn::GetAtt")?.as_array()?;
    (att.get(1)?.as_str()? == "LoadBalancerArn")
        .then(|| att.first()?.as_str())
        .flatten()
}

/// The platform's pack: the default pack for the environment's profile, plus [`AlbHasWaf`].
pub fn pack(production: bool) -> RulePack {
    default_pack(Profile::from_production(production)).with(AlbHasWaf)
}
