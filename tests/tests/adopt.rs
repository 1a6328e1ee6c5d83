//! Adopting the seed's Terraform-managed Dify: the prd state fixture against dify-app's prd
//! template, before and after the environment file is adjusted as the plan says.
#![allow(missing_docs, clippy::unwrap_used)]

use cfn_adopt::{
    AdoptPlan, Disposition, Mapping, PlanError, StateError, Target, TerraformState,
    check_import_template, plan,
};
use dify_constructs::DifyStack;
use dify_constructs::adopt::seed_mappings;
use dify_constructs::config::Environment;
use integration_tests::workspace_root;
use serde_json::{Value as Json, json};

fn prd_text() -> String {
    std::fs::read_to_string(workspace_root().join("apps/dify-app/environments/prd.toml")).unwrap()
}

fn fixture() -> TerraformState {
    let text = std::fs::read_to_string(
        workspace_root().join("tests/fixtures/terraform/seed-prd.tfstate.json"),
    )
    .unwrap();
    TerraformState::parse(&text).unwrap()
}

fn template(toml_text: &str) -> Json {
    let env = Environment::from_toml_str("prd.toml", toml_text).unwrap_or_else(|e| panic!("{e}"));
    DifyStack::build(&env).stack.synth().unwrap().template
}

fn plan_for(toml_text: &str) -> AdoptPlan {
    plan(
        &template(toml_text),
        &fixture(),
        &seed_mappings(),
        &cfn_resources::schema_for,
    )
    .unwrap()
}

/// Writes each of the plan's environment changes that prevent a replacement into the TOML
/// text, key by dotted key. (The in-place ones, such as the seed's `db.t3.medium`, are the
/// user's choice: that class cannot hold prd's services, which the configuration checks.)
fn adjusted(toml_text: &str, plan: &AdoptPlan) -> String {
    let mut doc: toml::Table = toml::from_str(toml_text).unwrap();
    for change in plan.env_changes.iter().filter(|c| c.prevents_replacement) {
        let parts: Vec<&str> = change.key.split('.').collect();
        let (last, tables) = parts.split_last().unwrap();
        let mut at = &mut doc;
        for t in tables {
            at = at
                .entry((*t).to_owned())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                .as_table_mut()
                .unwrap();
        }
        let value = match &change.value {
            Json::String(s) => toml::Value::String(s.clone()),
            Json::Bool(b) => toml::Value::Boolean(*b),
            Json::Number(n) => toml::Value::Integer(n.as_i64().unwrap()),
            other => panic!("{}: no TOML form for {other}", change.key),
        };
        at.insert((*last).to_owned(), value);
    }
    toml::to_string(&doc).unwrap()
}

const STATEFUL: [&str; 6] = [
    "module.dify.aws_rds_cluster.dify",
    "module.dify.aws_rds_cluster_instance.dify[0]",
    "module.dify.aws_rds_cluster_instance.dify[1]",
    "module.dify.aws_elasticache_replication_group.dify",
    "module.dify.aws_s3_bucket.dify_storage",
    "module.dify.aws_cloudwatch_log_group.dify",
];

#[test]
fn as_shipped_the_plan_refuses_the_replacements_and_names_both_values() {
    let p = plan_for(&prd_text());
    assert!(p.summary.replacements > 0, "{:#?}", p.summary);
    assert!(!p.is_clean());
    let cluster = p.resource("module.dify.aws_rds_cluster.dify").unwrap();
    let version = cluster
        .differences
        .iter()
        .find(|d| d.property == "EngineVersion")
        .unwrap();
    assert_eq!(
        (&version.ours, &version.theirs),
        (&json!("16.9"), &json!("15.10"))
    );
    assert_eq!(version.env_key.as_deref(), Some("database.engine_version"));
    let cache = p
        .resource("module.dify.aws_elasticache_replication_group.dify")
        .unwrap();
    assert_eq!(cache.disposition, Disposition::Refused, "{cache:#?}");
    let key = cache
        .differences
        .iter()
        .find(|d| d.property == "KmsKeyId")
        .unwrap();
    assert_eq!(key.theirs, json!(""));
    let logs = p
        .resource("module.dify.aws_cloudwatch_log_group.dify")
        .unwrap();
    assert_eq!(logs.disposition, Disposition::Refused);
    let name = &logs.differences[0];
    assert_eq!(
        (&name.property[..], &name.ours, &name.theirs),
        (
            "LogGroupName",
            &json!("/dify/prd/api"),
            &json!("/ecs/dify-prd")
        )
    );
    let keys: Vec<&str> = p.env_changes.iter().map(|c| c.key.as_str()).collect();
    for k in [
        "database.engine_version",
        "cache.engine",
        "cache.node_type",
        "cache.customer_managed_key",
        "cache.slow_log_group_name",
        "services.api.log_group_name",
    ] {
        assert!(keys.contains(&k), "{k} missing from {keys:?}");
    }
}

#[test]
fn adjusted_as_the_plan_says_the_stateful_resources_import_with_no_replacement() {
    let shipped = prd_text();
    let first = plan_for(&shipped);
    let second = plan_for(&adjusted(&shipped, &first));
    assert_eq!(second.summary.replacements, 0, "{:#?}", second.resources);
    assert_eq!(second.summary.refused, 0);
    for a in STATEFUL.iter().chain(&[
        "module.dify.aws_cloudwatch_log_group.redis_logs",
        "module.dify.aws_kms_key.rds[0]",
    ]) {
        let r = second.resource(a).unwrap();
        assert_eq!(r.disposition, Disposition::Import, "{a}: {r:#?}");
    }
    let cluster = second.resource("module.dify.aws_rds_cluster.dify").unwrap();
    assert_eq!(
        cluster.identifier["DBClusterIdentifier"],
        "dify-prd-cluster-pg"
    );
    // Adjusting removed the differences the environment file can fix; what is left is
    // what the follow-up deploy changes in place (our parameter group, our security group).
    assert!(
        cluster
            .differences
            .iter()
            .all(|d| d.replacement == cfn_adopt::ReplacementKind::Never),
        "{cluster:#?}"
    );
    assert!(
        cluster
            .differences
            .iter()
            .any(|d| d.property == "DBClusterParameterGroupName" && d.ours.get("new").is_some())
    );
    let imports = second.resources_to_import();
    assert_eq!(imports.len(), second.summary.imports);
    assert!(imports.iter().any(|(id, ty, ident)| ty == "AWS::S3::Bucket"
        && id.starts_with("StorageFiles")
        && ident["BucketName"] == "dify-prd-storage"));
}

#[test]
fn the_import_template_passes_our_checks_and_keeps_existing_values_for_absent_resources() {
    let shipped = prd_text();
    let p = plan_for(&adjusted(&shipped, &plan_for(&shipped)));
    let t = p.import_template(None).unwrap();
    let ids: Vec<String> = p
        .resources_to_import()
        .into_iter()
        .map(|(id, _, _)| id)
        .collect();
    let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_eq!(check_import_template(&t, &id_refs), Vec::<String>::new());
    assert_eq!(t["Resources"].as_object().unwrap().len(), ids.len());
    let cluster_id = ids
        .iter()
        .find(|i| i.starts_with("DatabaseCluster"))
        .unwrap();
    let cluster = &t["Resources"][cluster_id];
    assert_eq!(cluster["DeletionPolicy"], "Retain");
    let props = &cluster["Properties"];
    // Our parameter group and security group do not exist yet: today's values stand in.
    assert_eq!(
        props["DBClusterParameterGroupName"],
        "dify-prd-cluster-params"
    );
    assert_eq!(
        props["VpcSecurityGroupIds"],
        json!(["sg-0f00000000000a001"])
    );
    // The subnet group and the key are imported too: the references stay.
    assert!(props["DBSubnetGroupName"].get("Ref").is_some());
    assert!(props["KmsKeyId"].get("Fn::GetAtt").is_some());
    // The unchecked template would fail the same check.
    let mut broken = t.clone();
    broken["Resources"][cluster_id]["Properties"]["VpcSecurityGroupIds"] =
        json!([{"Fn::GetAtt": ["DatabaseSecurityGroup71981D66", "GroupId"]}]);
    broken["Resources"][cluster_id]
        .as_object_mut()
        .unwrap()
        .remove("DeletionPolicy");
    assert_eq!(check_import_template(&broken, &id_refs).len(), 2);
    // Into an existing stack that already holds one of them: refused.
    let mut deployed = json!({"Resources": {}});
    deployed["Resources"][cluster_id] = json!({"Type": "AWS::RDS::DBCluster"});
    assert!(p.import_template(Some(&deployed)).is_err());
}

#[test]
fn terraform_forgets_dependants_first_and_keeps_what_is_not_imported() {
    let shipped = prd_text();
    let p = plan_for(&adjusted(&shipped, &plan_for(&shipped)));
    let rm = &p.terraform.state_rm;
    let pos = |a: &str| {
        rm.iter()
            .position(|c| c == &format!("terraform state rm '{a}'"))
            .unwrap_or_else(|| panic!("{a} not in {rm:#?}"))
    };
    assert!(
        pos("module.dify.aws_rds_cluster_instance.dify[0]")
            < pos("module.dify.aws_rds_cluster.dify")
    );
    assert!(pos("module.dify.aws_rds_cluster.dify") < pos("module.dify.aws_db_subnet_group.dify"));
    assert!(pos("module.dify.aws_rds_cluster.dify") < pos("module.dify.aws_kms_key.rds[0]"));
    assert!(
        pos("module.dify.aws_s3_bucket_versioning.dify_storage")
            < pos("module.dify.aws_s3_bucket.dify_storage")
    );
    assert!(!rm.iter().any(|c| c.contains("aws_ecs_service")));
    assert!(p.terraform.removed_blocks.iter().any(|b| b.contains(
        "from = module.dify.aws_rds_cluster_instance.dify\n  lifecycle {\n    destroy = false"
    )));
    assert!(p.terraform.when.contains("IMPORT_COMPLETE"));
    assert!(
        p.terraform
            .dangling_references
            .iter()
            .any(|d| d.starts_with("module.dify.aws_ecs_service.dify references"))
    );
    assert_eq!(p.skipped_data_sources.len(), 4);
    assert_eq!(p.summary.unmapped, 0, "{:#?}", p.unmapped);
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(json["summary"]["replacements"], 0);
}

#[test]
fn bad_inputs_give_typed_errors() {
    assert!(matches!(
        TerraformState::parse("{"),
        Err(StateError::NotJson(_))
    ));
    assert!(matches!(
        TerraformState::parse(r#"{"Resources": {}}"#),
        Err(StateError::NotAState(_))
    ));
    let v3 = TerraformState::parse(r#"{"version": 3, "modules": []}"#).unwrap_err();
    assert!(
        matches!(&v3, StateError::UnsupportedVersion { found } if found == "3"),
        "{v3}"
    );
    assert!(v3.to_string().contains("version 3"));
    let t = template(&prd_text());
    let state = fixture();
    // A mapping to a type with no schema.
    let unknown = [Mapping::import(
        "aws_s3_bucket",
        "*",
        Target::LogicalId("StorageFiles546D0EE8".into()),
    )
    .identifier("BucketName", "bucket")];
    let no_schema = |_: &str| None;
    assert!(matches!(
        plan(&t, &state, &unknown, &no_schema),
        Err(PlanError::UnknownResourceType { .. })
    ));
    // Two Terraform resources onto one logical ID.
    let dup = [Mapping::import(
        "aws_cloudwatch_log_group",
        "*",
        Target::path("AWS::Logs::LogGroup", "Cache/SlowLog"),
    )
    .identifier("LogGroupName", "name")];
    let err = plan(&t, &state, &dup, &cfn_resources::schema_for).unwrap_err();
    assert!(matches!(err, PlanError::DuplicateTarget { .. }), "{err}");
    // Identifier keys other than the primaryIdentifier.
    let keys = [Mapping::import(
        "aws_s3_bucket",
        "aws_s3_bucket.dify_storage",
        Target::path("AWS::S3::Bucket", "Storage/Files"),
    )
    .identifier("Arn", "arn")];
    assert!(matches!(
        plan(&t, &state, &keys, &cfn_resources::schema_for),
        Err(PlanError::IdentifierKeys { .. })
    ));
    // Terraform types no mapping knows are listed, not guessed.
    let p = plan(&t, &state, &[], &cfn_resources::schema_for).unwrap();
    assert_eq!(p.summary.unmapped, state.resources.len());
    assert_eq!(p.summary.imports, 0);
}
