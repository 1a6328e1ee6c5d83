//! The WAF construct on its own, the way a team tests a construct it wrote: build it in a small
//! stack, assert on the template with `cfn_core::assertions`.
#![allow(missing_docs)]

use cfn_core::prelude::*;
use cfn_resources::elasticloadbalancingv2 as elbv2;
use platform_example::guardrails::AlbHasWaf;
use platform_example::waf::{AlbWaf, AlbWafProps, ManagedGroup, WafError, WafSettings};
use serde_json::json;

/// A stack with a load balancer and, when `settings` is given, the WAF in front of it.
fn stack_with(settings: Option<&WafSettings>) -> (Stack, Option<AlbWaf>) {
    let mut stack = Stack::new("Demo");
    stack.add_tag("team", "platform");
    stack.set_guardrails(RulePack::new("team").with(AlbHasWaf), Enforcement::Advise);
    let mut root = stack.root();
    let alb = root.child("Edge").add(
        "Alb",
        elbv2::LoadBalancer::new().subnets(vec!["subnet-1", "subnet-2"]),
    );
    let waf = settings.map(|s| {
        AlbWaf::new(
            &mut root,
            "Waf",
            AlbWafProps {
                settings: s.clone(),
                ..AlbWafProps::new(&alb)
            },
        )
        .expect("valid settings")
    });
    (stack, waf)
}

#[test]
fn the_web_acl_rate_limits_then_runs_the_managed_groups_blocking() {
    let (stack, _) = stack_with(Some(&WafSettings::default()));
    let t = Template::from_stack(&stack);
    t.resource_count_is("AWS::WAFv2::WebACL", 1);
    t.has_resource_properties(
        "AWS::WAFv2::WebACL",
        json!({
            "Scope": "REGIONAL",
            "DefaultAction": Match::object_equals(json!({"Allow": {}})),
            "VisibilityConfig": {"MetricName": "Demo-WebAcl", "CloudWatchMetricsEnabled": true},
            "Rules": [
                {
                    "Name": "RateLimitPerIp",
                    "Priority": 0,
                    "Action": Match::object_equals(json!({"Block": {}})),
                    "Statement": {"RateBasedStatement": {"AggregateKeyType": "IP", "Limit": 2000}}
                },
                {
                    "Name": "AWSManagedRulesAmazonIpReputationList",
                    "Priority": 1,
                    "OverrideAction": {"None": {}},
                    "Statement": {"ManagedRuleGroupStatement": {
                        "VendorName": "AWS",
                        "RuleActionOverrides": Match::absent()
                    }}
                },
                {
                    "Name": "AWSManagedRulesCommonRuleSet",
                    "OverrideAction": {"None": {}},
                    "Statement": {"ManagedRuleGroupStatement": {
                        "RuleActionOverrides": Match::array_with(json!([
                            {"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}},
                            {"Name": "CrossSiteScripting_BODY", "ActionToUse": {"Count": {}}}
                        ]))
                    }}
                },
                {"Name": "AWSManagedRulesKnownBadInputsRuleSet", "Priority": 3}
            ]
        }),
    );
}

#[test]
fn count_only_counts_and_never_blocks() {
    let settings = WafSettings {
        count_only: true,
        ..WafSettings::default()
    };
    let (stack, _) = stack_with(Some(&settings));
    let t = Template::from_stack(&stack);
    t.has_resource_properties(
        "AWS::WAFv2::WebACL",
        json!({"Rules": Match::array_with(json!([
            {"Name": "RateLimitPerIp", "Action": {"Count": {}, "Block": Match::absent()}},
            {"Name": "AWSManagedRulesCommonRuleSet", "OverrideAction": {"Count": {}, "None": Match::absent()}}
        ]))}),
    );
    assert!(
        !t.json().to_string().contains("\"Block\""),
        "a count-only ACL blocks nothing"
    );
}

#[test]
fn the_association_binds_the_acl_to_the_load_balancer() {
    let (stack, waf) = stack_with(Some(&WafSettings::default()));
    let waf = waf.expect("built");
    let t = Template::from_stack(&stack);
    let alb = t.logical_id_at("Demo/Edge/Alb").to_owned();
    t.resource_count_is("AWS::WAFv2::WebACLAssociation", 1);
    t.has_resource_properties(
        "AWS::WAFv2::WebACLAssociation",
        json!({
            "ResourceArn": {"Fn::GetAtt": [alb, "LoadBalancerArn"]},
            "WebACLArn": {"Fn::GetAtt": [waf.logical_id(), "Arn"]}
        }),
    );
}

#[test]
fn ids_paths_and_tags_apply_as_to_any_construct() {
    let (stack, waf) = stack_with(Some(&WafSettings::default()));
    let waf = waf.expect("built");
    let t = Template::from_stack(&stack);
    // The logical ID derives from the construct path, the CDK's way.
    assert_eq!(t.logical_id_at("Demo/Waf/Acl"), waf.logical_id());
    assert!(
        waf.logical_id().starts_with("WafAcl"),
        "{}",
        waf.logical_id()
    );
    t.has_resource(
        "AWS::WAFv2::WebACL",
        json!({"Metadata": {"aws:cdk:path": "Demo/Waf/Acl"}}),
    );
    // Stack tags reach the ACL in the shape its schema declares ([{Key, Value}]).
    t.has_resource_properties(
        "AWS::WAFv2::WebACL",
        json!({"Tags": Match::array_with(json!([{"Key": "team", "Value": "platform"}]))}),
    );
}

#[test]
fn settings_are_checked_before_anything_is_built() {
    let mut stack = Stack::new("Demo");
    let mut root = stack.root();
    let alb = root.add("Alb", elbv2::LoadBalancer::new());
    let low = WafSettings {
        rate_limit: 5,
        ..WafSettings::default()
    };
    let err = AlbWaf::new(
        &mut root,
        "Waf",
        AlbWafProps {
            settings: low,
            ..AlbWafProps::new(&alb)
        },
    )
    .expect_err("refused");
    assert_eq!(err, WafError::RateLimit(5));
    assert_eq!(
        err.to_string(),
        "rate limit 5 is outside 10..=2000000000 requests per 5 minutes"
    );
    let twice = WafSettings {
        managed_groups: vec![
            ManagedGroup::new("AWSManagedRulesCommonRuleSet"),
            ManagedGroup::new("AWSManagedRulesCommonRuleSet"),
        ],
        ..WafSettings::default()
    };
    assert_eq!(
        AlbWaf::new(
            &mut root,
            "Waf2",
            AlbWafProps {
                settings: twice,
                ..AlbWafProps::new(&alb)
            }
        )
        .expect_err("refused"),
        WafError::DuplicateGroup("AWSManagedRulesCommonRuleSet".into())
    );
}

#[test]
fn schema_validation_catches_what_an_override_breaks() {
    let (mut stack, waf) = stack_with(Some(&WafSettings::default()));
    let waf = waf.expect("built");
    stack
        .resource(&waf.web_acl)
        .add_property_override("Rules.0.Statement.RateBasedStatement.Limit", json!(5));
    let err = stack
        .synth()
        .expect_err("5 is below AWS's minimum")
        .to_string();
    assert!(err.contains("Demo/Waf/Acl"), "{err}");
    assert!(
        err.contains("Properties.Rules[0].Statement.RateBasedStatement.Limit"),
        "{err}"
    );
    assert!(err.contains("5 is below the minimum 10"), "{err}");
}

#[test]
fn the_team_rule_flags_a_load_balancer_without_a_waf() {
    let (stack, _) = stack_with(None);
    let t = Template::from_stack(&stack);
    t.has_findings("team-alb-waf");
    let f = &t.findings("team-alb-waf")[0];
    assert_eq!(f.construct_path, "Demo/Edge/Alb");
    assert_eq!(
        f.message,
        "the internet-facing load balancer has no WAF web ACL associated"
    );

    let (stack, _) = stack_with(Some(&WafSettings::default()));
    Template::from_stack(&stack).has_no_findings("team-alb-waf");
}

#[test]
fn the_team_rule_ignores_internal_load_balancers() {
    let mut stack = Stack::new("Demo");
    stack.set_guardrails(RulePack::new("team").with(AlbHasWaf), Enforcement::Advise);
    stack.root().add(
        "Alb",
        elbv2::LoadBalancer::new()
            .scheme("internal")
            .subnets(vec!["subnet-1", "subnet-2"]),
    );
    Template::from_stack(&stack).has_no_findings("team-alb-waf");
}

#[test]
fn a_suppression_covers_the_team_rule_like_any_other() {
    let (mut stack, _) = stack_with(None);
    // A construct suppresses a rule for its subtree, with a reason reviewers can judge.
    let alb = stack
        .resource_ids()
        .next()
        .expect("the load balancer")
        .to_owned();
    let node = stack.resource_node(&alb).expect("in the tree");
    stack.scope(node).suppress(
        "team-alb-waf",
        "A throwaway load-test balancer, deleted after the run.",
    );
    let t = Template::from_stack(&stack);
    t.has_no_findings("team-alb-waf");
    let s = t.suppressed("team-alb-waf");
    assert_eq!(s.len(), 1);
    assert_eq!(
        s[0].suppressed.as_deref(),
        Some("A throwaway load-test balancer, deleted after the run.")
    );
}

#[test]
fn production_enforcement_fails_synthesis_without_a_waf() {
    let (mut stack, _) = stack_with(None);
    stack.set_guardrails(RulePack::new("team").with(AlbHasWaf), Enforcement::Enforce);
    let err = stack.synth().expect_err("enforced").to_string();
    assert!(err.contains("team-alb-waf"), "{err}");
    assert!(err.contains("Demo/Edge/Alb"), "{err}");
}
