//! The generated types build the JSON CloudFormation expects and carry the schema metadata.

use cfn_core::refs::BucketName;
use cfn_core::schema::{Replacement, Shape, TagShape};
use cfn_core::{Resource, Value, fns, pseudo};
use cfn_resources::ecs::TaskDefinition;
use cfn_resources::ecs::task_definition::{
    ContainerDefinition, KeyValuePair, NetworkMode, PortMapping, RequiresCompatibilities,
};
use cfn_resources::s3::bucket::{Tag, VersioningConfiguration, VersioningConfigurationStatus};
use cfn_resources::s3::{Bucket, BucketHandle};
use cfn_resources::{TYPE_NAMES, schema_for};
use indexmap::IndexMap;
use serde_json::json;

#[test]
fn s3_bucket_serializes_with_enum_and_tags() {
    let bucket = Bucket::new()
        .bucket_name(fns::sub("logs-${AWS::AccountId}").assume::<BucketName>())
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(VersioningConfigurationStatus::Enabled)
                .build(),
        )
        .tags(vec![
            Tag::builder().key("team").value("platform").build(),
            Tag::builder()
                .key("stage")
                .value(pseudo::stack_name())
                .build(),
        ]);
    assert_eq!(
        serde_json::to_value(&bucket).expect("serializes"),
        json!({
            "BucketName": {"Fn::Sub": "logs-${AWS::AccountId}"},
            "Tags": [
                {"Key": "team", "Value": "platform"},
                {"Key": "stage", "Value": {"Ref": "AWS::StackName"}}
            ],
            "VersioningConfiguration": {"Status": "Enabled"}
        })
    );
    // A string converts to the enum, unknown values included.
    let suspended = VersioningConfiguration::builder()
        .status("Suspended")
        .build();
    assert_eq!(
        suspended.status,
        Value::Literal(VersioningConfigurationStatus::Suspended)
    );
    let future = VersioningConfiguration::builder().status("Paused").build();
    assert_eq!(
        serde_json::to_value(&future).expect("serializes"),
        json!({"Status": "Paused"})
    );
    assert_eq!(Bucket::TYPE_NAME, "AWS::S3::Bucket");
    assert!(std::ptr::eq(
        Bucket::schema(),
        &cfn_resources::s3::bucket::SCHEMA
    ));
    let _: fn(cfn_core::ResourceRef) -> BucketHandle = <BucketHandle as cfn_core::Handle>::from_ref;
}

#[test]
fn ecs_task_definition_with_a_container() {
    let container = ContainerDefinition::builder()
        .image("nginx:1.27")
        .name("web")
        .build()
        .essential(true)
        .memory(512)
        .port_mappings(vec![PortMapping::new().container_port(80).protocol("tcp")])
        .environment(vec![KeyValuePair::new().name("MODE").value("prd")]);
    let task = TaskDefinition::new()
        .family("web")
        .cpu("256")
        .memory("512")
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(vec![RequiresCompatibilities::Fargate])
        .container_definitions(vec![container]);
    assert_eq!(
        serde_json::to_value(&task).expect("serializes"),
        json!({
            "ContainerDefinitions": [{
                "Environment": [{"Name": "MODE", "Value": "prd"}],
                "Essential": true,
                "Image": "nginx:1.27",
                "Memory": 512,
                "Name": "web",
                "PortMappings": [{"ContainerPort": 80, "Protocol": "tcp"}]
            }],
            "Cpu": "256",
            "Family": "web",
            "Memory": "512",
            "NetworkMode": "awsvpc",
            "RequiresCompatibilities": ["FARGATE"]
        })
    );
}

#[test]
fn maps_take_index_maps() {
    let mut tags = IndexMap::new();
    tags.insert("team".to_owned(), "platform");
    let param = cfn_resources::ssm::Parameter::builder()
        .type_("String")
        .value("v")
        .build()
        .tags(tags);
    assert_eq!(
        serde_json::to_value(&param).expect("serializes"),
        json!({"Tags": {"team": "platform"}, "Type": "String", "Value": "v"})
    );
}

#[test]
fn custom_resources_take_their_own_properties() {
    let custom = cfn_resources::cloudformation::CustomResource::builder()
        .service_token(fns::ref_logical_id::<String>("Fn"))
        .build()
        .additional_property("Size", 3)
        .additional_property("Region", pseudo::region());
    assert_eq!(
        serde_json::to_value(&custom).expect("serializes"),
        json!({"ServiceToken": {"Ref": "Fn"}, "Size": 3, "Region": {"Ref": "AWS::Region"}})
    );
}

#[test]
fn schema_metadata_is_reachable_by_name() {
    assert!(TYPE_NAMES.windows(2).all(|w| w[0] < w[1]), "sorted");
    assert!(TYPE_NAMES.contains(&"AWS::EC2::VPC"));
    for name in TYPE_NAMES {
        assert_eq!(schema_for(name).map(|s| s.type_name), Some(*name));
    }
    assert!(schema_for("AWS::Nope::Nothing").is_none());

    let s3 = schema_for("AWS::S3::Bucket").expect("generated");
    assert!(s3.attributes.contains(&"Arn"));
    assert!(s3.attributes.contains(&"RegionalDomainName"));
    assert!(s3.create_only.contains(&"BucketName"));
    assert_eq!(s3.primary_identifier, &["BucketName"]);
    assert_eq!(
        s3.tagging.map(|t| (t.property, t.shape)),
        Some(("Tags", TagShape::KeyValueList))
    );
    assert_eq!(s3.replaces_on_change("BucketName"), Replacement::Always);
    assert_eq!(
        s3.replaces_on_change("VersioningConfiguration/Status"),
        Replacement::Never
    );
    assert!(s3.closed);
    match &s3
        .property("VersioningConfiguration")
        .expect("listed")
        .shape
    {
        Shape::Object { properties, .. } => {
            let status = &properties[0];
            assert_eq!((status.name, status.required), ("Status", true));
            match &status.shape {
                Shape::String(rule) => assert_eq!(rule.allowed, &["Enabled", "Suspended"]),
                other => panic!("unexpected {other:?}"),
            }
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(
        s3.property("Arn").is_none(),
        "read-only properties are attributes, not properties"
    );

    let ssm = schema_for("AWS::SSM::Parameter").expect("generated");
    assert_eq!(ssm.tagging.map(|t| t.shape), Some(TagShape::Map));

    let db = schema_for("AWS::RDS::DBCluster").expect("generated");
    assert!(db.attributes.contains(&"Endpoint.Address"));
}
