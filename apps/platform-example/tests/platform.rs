//! The platform's Dify stacks, from its real environment files: the WAF is in front of Dify's
//! load balancer, the team's overrides took effect, data is retained, guardrails are clean.
#![allow(missing_docs)]

use cfn_core::prelude::*;
use cfn_deploy::project::Project;
use dify_constructs::config::Environment;
use platform_example::platform::{PlatformDify, PlatformSettings};
use platform_example::project::PlatformProject;
use serde_json::json;

fn env(name: &str) -> Environment {
    let dir = std::path::Path::new(platform_example::project::ENVIRONMENTS_DIR);
    Environment::load_file(&dir.join(format!("{name}.toml"))).unwrap_or_else(|e| panic!("{e}"))
}

fn built(name: &str) -> PlatformDify {
    let e = env(name);
    PlatformDify::build(&e, &PlatformSettings::for_env(&e)).unwrap_or_else(|e| panic!("{e}"))
}

fn template(name: &str) -> Template {
    Template::from_stack(&built(name).stack)
}

#[test]
fn the_waf_is_associated_with_difys_load_balancer() {
    for name in ["dev", "prd"] {
        let b = built(name);
        let t = Template::from_stack(&b.stack);
        let waf = b.dify.waf.expect("internet-facing: a WAF");
        t.resource_count_is("AWS::WAFv2::WebACLAssociation", 1);
        t.has_resource_properties(
            "AWS::WAFv2::WebACLAssociation",
            json!({
                "ResourceArn": b.dify.ingress.load_balancer.load_balancer_arn(),
                "WebACLArn": waf.web_acl.arn(),
            }),
        );
        assert_eq!(
            t.logical_id_at(&format!("platform-dify-{name}/Dify/Ingress/LoadBalancer")),
            b.dify.ingress.load_balancer.logical_id()
        );
        t.has_output("WebAclArn", json!({"Value": waf.web_acl.arn()}));
    }
}

#[test]
fn production_blocks_and_development_only_counts() {
    template("prd").has_resource_properties(
        "AWS::WAFv2::WebACL",
        json!({"Rules": Match::array_with(json!([{"Name": "RateLimitPerIp", "Action": {"Block": {}}}]))}),
    );
    template("dev").has_resource_properties(
        "AWS::WAFv2::WebACL",
        json!({"Rules": Match::array_with(json!([{"Name": "RateLimitPerIp", "Action": {"Count": {}}}]))}),
    );
}

#[test]
fn the_property_override_reaches_the_api_target_group_only() {
    let t = template("prd");
    t.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        json!({
            "Port": 5001,
            "HealthCheckPath": "/health",
            "TargetGroupAttributes": Match::object_equals(json!([
                // The drain restated as the load balancer's idle timeout (prd.toml: 1200 s).
                {"Key": "deregistration_delay.timeout_seconds", "Value": "1200"},
                {"Key": "load_balancing.algorithm.type", "Value": "least_outstanding_requests"}
            ]))
        }),
    );
    let lor = json!({"Properties": {"TargetGroupAttributes": Match::array_with(json!([
        {"Key": "load_balancing.algorithm.type"}
    ]))}});
    let with_lor = t.find_resources("AWS::ElasticLoadBalancingV2::TargetGroup", lor);
    assert_eq!(with_lor.len(), 1, "{with_lor:?}");
}

#[test]
fn the_typed_edit_makes_production_aurora_io_optimized() {
    template("prd").has_resource_properties(
        "AWS::RDS::DBCluster",
        json!({"StorageType": "aurora-iopt1", "Engine": "aurora-postgresql"}),
    );
    template("dev").has_resource_properties(
        "AWS::RDS::DBCluster",
        json!({"StorageType": Match::absent()}),
    );
}

#[test]
fn the_platform_log_retention_floor_overrides_the_file() {
    // dev.toml keeps the non-production default (7 days); the platform keeps 90.
    assert_eq!(env("dev").log_retention_days, 7);
    let t = template("dev");
    let all = t.find_resources("AWS::Logs::LogGroup", json!({}));
    let ninety = t.find_resources(
        "AWS::Logs::LogGroup",
        json!({"Properties": {"RetentionInDays": 90}}),
    );
    assert!(!all.is_empty());
    assert_eq!(ninety.len(), all.len(), "{all:?}");
}

#[test]
fn the_file_bucket_is_retained_and_production_data_is_snapshotted() {
    for name in ["dev", "prd"] {
        let t = template(name);
        let files = t
            .logical_id_at(&format!("platform-dify-{name}/Dify/Storage/Files"))
            .to_owned();
        let retained = t.find_resources(
            "AWS::S3::Bucket",
            json!({"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}),
        );
        assert!(
            retained.iter().any(|(id, _)| *id == files),
            "{name}: {retained:?}"
        );
    }
    let prd = template("prd");
    prd.has_resource(
        "AWS::RDS::DBCluster",
        json!({"DeletionPolicy": "Snapshot", "Properties": {"DeletionProtection": true}}),
    );
    prd.has_resource("AWS::KMS::Key", json!({"DeletionPolicy": "Retain"}));
}

#[test]
fn production_has_no_guardrail_findings() {
    let t = template("prd");
    t.has_no_findings("*");
    // The one suppression Dify's storage construct carries, with its reason.
    let s = t.suppressed("ops-s3-access-logs");
    assert_eq!(s.len(), 1);
    assert!(
        s[0].suppressed
            .as_deref()
            .is_some_and(|r| r.contains("access-log bucket")),
        "{s:?}"
    );
    template("dev").has_no_findings("*");
}

#[test]
fn production_without_the_waf_does_not_synthesize() {
    let e = env("prd");
    let settings = PlatformSettings {
        waf: None,
        ..PlatformSettings::for_env(&e)
    };
    let b = PlatformDify::build(&e, &settings).unwrap_or_else(|e| panic!("{e}"));
    let err = b
        .stack
        .synth()
        .expect_err("team-alb-waf is enforced")
        .to_string();
    assert!(err.contains("team-alb-waf"), "{err}");
    assert!(
        err.contains("platform-dify-prd/Dify/Ingress/LoadBalancer"),
        "{err}"
    );
}

#[test]
fn the_project_lists_its_environments_and_writes_beside_itself() {
    let p = PlatformProject::load();
    let envs = p.environments().unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<(&str, &str)> = envs
        .iter()
        .map(|e| (e.name.as_str(), e.stack_name.as_str()))
        .collect();
    assert_eq!(
        names,
        [("dev", "platform-dify-dev"), ("prd", "platform-dify-prd")]
    );
    let prd = &envs[1];
    assert!(prd.termination_protection && prd.refuse_stateful_replacement);
    assert_eq!(prd.account.as_deref(), Some("555555555555"));
    assert_eq!(prd.region.as_deref(), Some("eu-west-1"));
    assert_eq!(prd.tags.get("team").map(String::as_str), Some("platform"));
    assert!(!envs[0].termination_protection);

    let out_dir = p.out_dir();
    assert!(
        out_dir.ends_with("apps/platform-example/cfn-out"),
        "{}",
        out_dir.display()
    );

    let dev = p.synth(&envs[0]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        dev.notes,
        ["the WAF counts but does not block (count_only outside production)"]
    );
    assert!(
        p.synth(&envs[1])
            .unwrap_or_else(|e| panic!("{e}"))
            .notes
            .is_empty()
    );
}

#[test]
fn a_bad_environment_file_is_reported_with_its_field() {
    let dir = std::env::temp_dir().join(format!("platform-example-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.join("dev.toml"),
        "region = \"eu-west-1\"\n[network.create]\nnat_gatways = 1\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let err = PlatformProject::from_dir(&dir)
        .environments()
        .expect_err("a typo is an error")
        .to_string();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(err.contains("dev.toml"), "{err}");
    assert!(err.contains("nat_gatways"), "{err}");
}
