//! Behaviour of the tree, synthesis and validation, on hand-written resource types so these
//! tests do not depend on generated code.
#![allow(missing_docs, clippy::unwrap_used)]

use cfn_core::schema::{
    ANY_STRING, NumberRule, PropSpec, Shape, StringRule, TagShape, Tagging, TypeSchema,
};
use cfn_core::{
    App, Condition, Diagnostic, Handle, Output, Parameter, ParameterType, RemovalPolicy, Resource,
    ResourceRef, Stack, SynthError, Value, fns, pseudo,
};
use indexmap::IndexMap;
use serde::Serialize;
use serde_json::json;

const NAME_RULE: StringRule = StringRule {
    allowed: &[],
    pattern: Some("^[a-z]+$"),
    min_length: Some(2),
    max_length: Some(10),
};
const MODE_RULE: StringRule = StringRule {
    allowed: &["A", "B"],
    pattern: None,
    min_length: None,
    max_length: None,
};
static TAG_PROPS: [PropSpec; 2] = [
    PropSpec {
        name: "Key",
        required: true,
        shape: Shape::String(ANY_STRING),
    },
    PropSpec {
        name: "Value",
        required: true,
        shape: Shape::String(ANY_STRING),
    },
];
static THING_PROPS: [PropSpec; 6] = [
    PropSpec {
        name: "Name",
        required: true,
        shape: Shape::String(NAME_RULE),
    },
    PropSpec {
        name: "Size",
        required: false,
        shape: Shape::Integer(NumberRule {
            minimum: Some(1.0),
            maximum: Some(10.0),
        }),
    },
    PropSpec {
        name: "Mode",
        required: false,
        shape: Shape::String(MODE_RULE),
    },
    PropSpec {
        name: "Items",
        required: false,
        shape: Shape::List {
            item: &Shape::String(ANY_STRING),
            min_items: None,
            max_items: Some(2),
        },
    },
    PropSpec {
        name: "Target",
        required: false,
        shape: Shape::String(ANY_STRING),
    },
    PropSpec {
        name: "Tags",
        required: false,
        shape: Shape::List {
            item: &Shape::Object {
                properties: &TAG_PROPS,
                closed: true,
            },
            min_items: None,
            max_items: None,
        },
    },
];
static THING: TypeSchema = TypeSchema {
    type_name: "Test::Thing",
    attributes: &["Arn", "Endpoint.Address"],
    create_only: &["Name"],
    conditional_create_only: &[],
    primary_identifier: &["Name"],
    write_only: &[],
    tagging: Some(Tagging {
        property: "Tags",
        shape: TagShape::KeyValueList,
    }),
    properties: &THING_PROPS,
    closed: true,
};

#[derive(Clone, Debug, Serialize)]
struct Thing {
    #[serde(rename = "Name")]
    name: Value<String>,
    #[serde(rename = "Size", skip_serializing_if = "Option::is_none")]
    size: Option<Value<i64>>,
    #[serde(rename = "Target", skip_serializing_if = "Option::is_none")]
    target: Option<Value<String>>,
}

impl Thing {
    fn new(name: impl Into<Value<String>>) -> Self {
        Thing {
            name: name.into(),
            size: None,
            target: None,
        }
    }
    fn target(mut self, t: impl Into<Value<String>>) -> Self {
        self.target = Some(t.into());
        self
    }
}

#[derive(Clone, Debug)]
struct ThingHandle(ResourceRef);
impl Handle for ThingHandle {
    fn from_ref(r: ResourceRef) -> Self {
        ThingHandle(r)
    }
    fn resource_ref(&self) -> &ResourceRef {
        &self.0
    }
}
impl ThingHandle {
    fn arn(&self) -> Value<String> {
        self.0.get_att("Arn")
    }
}
impl Resource for Thing {
    const TYPE_NAME: &'static str = "Test::Thing";
    type Handle = ThingHandle;
    fn schema() -> &'static TypeSchema {
        &THING
    }
}

static MAP_TAGGED: TypeSchema = TypeSchema {
    type_name: "Test::MapTagged",
    attributes: &[],
    create_only: &[],
    conditional_create_only: &[],
    primary_identifier: &[],
    write_only: &[],
    tagging: Some(Tagging {
        property: "Tags",
        shape: TagShape::Map,
    }),
    properties: &[],
    closed: false,
};

fn errors(e: SynthError) -> Vec<Diagnostic> {
    let SynthError::Invalid { diagnostics, .. } = e;
    diagnostics
        .into_iter()
        .filter(Diagnostic::is_error)
        .collect()
}

fn codes(d: &[Diagnostic]) -> Vec<&'static str> {
    d.iter().map(|d| d.code).collect()
}

#[test]
fn golden_small_stack() {
    let mut stack = Stack::new("Golden");
    stack.set_description("A small stack");
    stack.add_tag("app", "demo");
    let env = stack.add_parameter(
        "Env",
        Parameter::new(ParameterType::String)
            .allowed_values(["dev", "prd"])
            .default_value("dev"),
    );
    let is_prd = stack.add_condition("IsPrd", Condition::equals(env.value(), "prd"));
    let (a, b) = {
        let mut root = stack.root();
        let mut group = root.child("Group");
        let a = group.add("First", Thing::new("first"));
        let b = group.add(
            "Second",
            Thing::new("second").target(fns::if_(&is_prd, a.arn(), "none")),
        );
        (a, b)
    };
    stack
        .resource(&b)
        .depends_on(&a)
        .removal_policy(RemovalPolicy::Retain);
    stack.add_output(
        "SecondArn",
        Output::new(b.arn())
            .description("The second thing")
            .export_name(fns::sub("${AWS::StackName}-second")),
    );
    let out = stack.synth().unwrap();
    let a_id = a.logical_id().to_owned();
    let b_id = b.logical_id().to_owned();
    // md5("Group/First") and md5("Group/Second"), from Python's hashlib.
    assert_eq!(a_id, "GroupFirst24DAE09E");
    assert_eq!(b_id, "GroupSecond528F6AB9");
    let expected = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "A small stack",
        "Parameters": {"Env": {"Type": "String", "Default": "dev", "AllowedValues": ["dev", "prd"]}},
        "Conditions": {"IsPrd": {"Fn::Equals": [{"Ref": "Env"}, "prd"]}},
        "Resources": {
            a_id.clone(): {
                "Type": "Test::Thing",
                "Properties": {"Name": "first", "Tags": [{"Key": "app", "Value": "demo"}]},
                "Metadata": {"aws:cdk:path": "Golden/Group/First"}
            },
            b_id.clone(): {
                "Type": "Test::Thing",
                "Properties": {
                    "Name": "second",
                    "Target": {"Fn::If": ["IsPrd", {"Fn::GetAtt": [a_id.clone(), "Arn"]}, "none"]},
                    "Tags": [{"Key": "app", "Value": "demo"}]
                },
                "DependsOn": [a_id.clone()],
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Metadata": {"aws:cdk:path": "Golden/Group/Second"}
            }
        },
        "Outputs": {"SecondArn": {
            "Description": "The second thing",
            "Value": {"Fn::GetAtt": [b_id, "Arn"]},
            "Export": {"Name": {"Fn::Sub": "${AWS::StackName}-second"}}
        }}
    });
    assert_eq!(out.template, expected);
    // Key order is part of the contract: the text is byte-stable.
    assert_eq!(
        out.body,
        format!("{}\n", serde_json::to_string_pretty(&expected).unwrap())
    );
    assert_eq!(out.body, stack.synth().unwrap().body);
    assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
    assert_eq!(out.resource_count(), 2);
    assert_eq!(out.file_name(), "Golden.template.json");
}

#[test]
fn logical_ids_follow_paths_and_can_be_pinned() {
    let mut stack = Stack::new("S");
    let mut root = stack.root();
    let top = root.add("Top", Thing::new("top"));
    let nested = root.child("Db").add("Resource", Thing::new("nested"));
    let pinned =
        root.child("Legacy")
            .add_with_logical_id("Cluster", "DifyCluster", Thing::new("pinned"));
    assert_eq!(top.logical_id(), "Top");
    assert!(nested.logical_id().starts_with("Db") && nested.logical_id().len() == 10);
    assert_eq!(pinned.logical_id(), "DifyCluster");
    assert_eq!(stack.resource_path("DifyCluster"), Some("S/Legacy/Cluster"));
    assert!(stack.synth().is_ok());
}

#[test]
fn duplicate_ids_and_collisions_are_reported_with_both_paths() {
    let mut stack = Stack::new("S");
    let mut root = stack.root();
    root.add("Bucket", Thing::new("one"));
    root.add("Bucket", Thing::new("two"));
    root.add("My-Queue", Thing::new("three"));
    root.add("MyQueue", Thing::new("four"));
    root.child("A")
        .add_with_logical_id("X", "Bucket", Thing::new("five"));
    let errs = errors(stack.synth().unwrap_err());
    let dup = errs
        .iter()
        .find(|d| d.code == "duplicate-construct-id")
        .unwrap();
    assert!(
        dup.message.contains("'S' already has a child 'Bucket'"),
        "{dup}"
    );
    let collisions: Vec<&Diagnostic> = errs
        .iter()
        .filter(|d| d.code == "logical-id-collision")
        .collect();
    assert!(
        collisions
            .iter()
            .any(|d| d.message.contains("'S/MyQueue' and 'S/My-Queue'")),
        "{collisions:?}"
    );
    assert!(
        collisions
            .iter()
            .any(|d| d.message.contains("'S/A/X' and 'S/Bucket'")),
        "{collisions:?}"
    );
}

#[test]
fn invalid_names_are_reported() {
    let mut stack = Stack::new("1bad_name");
    stack
        .root()
        .add_with_logical_id("X", "not-valid", Thing::new("ok"));
    stack.root().child("a/b");
    let errs = errors(stack.synth().unwrap_err());
    assert_eq!(
        codes(&errs),
        vec![
            "invalid-stack-name",
            "invalid-logical-id",
            "invalid-construct-id"
        ]
    );
}

#[test]
fn tags_propagate_by_shape_and_nearest_wins() {
    let mut stack = Stack::new("S");
    stack.add_tag("env", "prd");
    stack.add_tag("app", "dify");
    let mut root = stack.root();
    let mut team = root.child("Team");
    team.add_tag("env", "team-env");
    team.add_tag("owner", "platform");
    let t = team.add("Thing", Thing::new("thing"));
    team.add_raw(
        "Mapped",
        "Test::MapTagged",
        Some(&MAP_TAGGED),
        json!({"Tags": {"owner": "own"}}),
    );
    root.add_raw("Untaggable", "Test::Plain", None, json!({"A": 1}));
    stack
        .resource(&t)
        .add_property_override("Tags.0.Value", json!("overridden"));
    let out = stack.synth().unwrap();
    let res = &out.template["Resources"];
    assert_eq!(
        res[t.logical_id()]["Properties"]["Tags"],
        json!([
            {"Key": "app", "Value": "overridden"},
            {"Key": "env", "Value": "team-env"},
            {"Key": "owner", "Value": "platform"}
        ])
    );
    let mapped = res
        .as_object()
        .unwrap()
        .values()
        .find(|r| r["Type"] == "Test::MapTagged")
        .unwrap();
    assert_eq!(
        mapped["Properties"]["Tags"],
        json!({"owner": "own", "app": "dify", "env": "team-env"})
    );
    assert_eq!(res["Untaggable"]["Properties"], json!({"A": 1}));
}

#[test]
fn overrides_and_typed_edits_apply() {
    let mut stack = Stack::new("S");
    let t = stack.root().add("T", Thing::new("before"));
    {
        let mut r = stack.resource(&t);
        r.props_mut::<Thing>().unwrap().size = Some(5.into());
        r.add_property_override("Extra.Deep", json!(true))
            .add_deletion_override("Properties.Extra")
            .add_override("UpdatePolicy.Foo", json!("bar"))
            .metadata("note", json!("kept"));
    }
    assert_eq!(
        stack.props::<Thing>(&t).unwrap().size,
        Some(Value::Literal(5))
    );
    let (template, _) = stack.build_template();
    let r = &template["Resources"]["T"];
    assert_eq!(r["Properties"], json!({"Name": "before", "Size": 5}));
    assert_eq!(r["UpdatePolicy"], json!({"Foo": "bar"}));
    assert_eq!(
        r["Metadata"],
        json!({"note": "kept", "aws:cdk:path": "S/T"})
    );
}

#[test]
fn foreign_handles_are_an_error_not_a_panic() {
    let mut a = Stack::new("A");
    let h = a.root().add("T", Thing::new("abc"));
    let mut b = Stack::new("B");
    b.resource(&h).deletion_policy(RemovalPolicy::Retain);
    assert_eq!(
        codes(&errors(b.synth().unwrap_err())),
        vec!["foreign-handle"]
    );
}

#[test]
fn every_reference_error_names_path_id_and_property() {
    let mut stack = Stack::new("S");
    let mut root = stack.root();
    let mut db = root.child("Db");
    let t = db.add(
        "Cluster",
        Thing::new("db").target(fns::ref_logical_id::<String>("Nope")),
    );
    root.add(
        "GetAttMissing",
        Thing::new("ga").target(fns::get_att_unchecked::<String>("Ghost", "Arn")),
    );
    root.add(
        "BadAttr",
        Thing::new("ba").target(fns::get_att_unchecked::<String>(t.logical_id(), "Nope")),
    );
    root.add(
        "SubRefs",
        Thing::new("sr").target(fns::sub("${Missing}-${AWS::Region}-${!Lit}")),
    );
    root.add(
        "Mapped",
        Thing::new("mp").target(fns::find_in_map(
            &cfn_core::MappingRef::clone(&stack_mapping_ref()),
            "k",
            "v",
        )),
    );
    let dep = root.add("Dep", Thing::new("dep"));
    stack
        .resource(&dep)
        .add_override("DependsOn", json!(["Phantom"]))
        .add_override("Condition", json!("NoSuchCondition"));
    let errs = errors(stack.synth().unwrap_err());
    let find = |code: &str, needle: &str| {
        errs.iter()
            .find(|d| d.code == code && d.message.contains(needle))
            .unwrap_or_else(|| panic!("no {code} with '{needle}' in {errs:#?}"))
    };
    let d = find("unknown-ref", "'Nope'");
    assert_eq!(d.construct_path, "S/Db/Cluster");
    assert_eq!(d.logical_id.as_deref(), Some(t.logical_id()));
    assert_eq!(d.property.as_deref(), Some("Properties.Target"));
    find("unknown-ref", "'Ghost'");
    let attr = find("unknown-attribute", "no attribute 'Nope'");
    assert!(attr.message.contains("Arn, Endpoint.Address"));
    find("unknown-ref", "'Missing'");
    find("unknown-mapping", "'Regions'");
    let phantom = find("unknown-ref", "'Phantom'");
    assert_eq!(phantom.property.as_deref(), Some("DependsOn"));
    find("unknown-condition", "'NoSuchCondition'");
    assert!(
        !errs
            .iter()
            .any(|d| d.message.contains("AWS::Region") || d.message.contains("Lit"))
    );
}

fn stack_mapping_ref() -> cfn_core::MappingRef {
    // A mapping declared in another stack: referencing it here is an unknown mapping.
    let mut other = Stack::new("Other");
    other.add_mapping("Regions", IndexMap::new())
}

#[test]
fn mapping_keys_are_checked_when_literal() {
    let mut stack = Stack::new("S");
    let mut inner = IndexMap::new();
    inner.insert("Ami".to_owned(), json!("ami-1"));
    let mut map = IndexMap::new();
    map.insert("us-east-1".to_owned(), inner);
    let m = stack.add_mapping("Regions", map);
    stack.root().add(
        "Ok",
        Thing::new("ok").target(m.find(pseudo::region(), "Ami")),
    );
    stack
        .root()
        .add("Bad", Thing::new("bad").target(m.find("eu-west-9", "Ami")));
    let errs = errors(stack.synth().unwrap_err());
    assert_eq!(codes(&errs), vec!["unknown-mapping-key"]);
    assert_eq!(errs[0].construct_path, "S/Bad");
}

#[test]
fn dependency_cycles_are_found() {
    let mut stack = Stack::new("S");
    let mut root = stack.root();
    let a = root.add("A", Thing::new("a"));
    let b = root.add("B", Thing::new("b").target(a.arn()));
    let c = root.add("C", Thing::new("c"));
    stack.resource(&a).depends_on(&b);
    stack.resource(&c).depends_on(&c);
    let errs = errors(stack.synth().unwrap_err());
    let cycles: Vec<&str> = errs
        .iter()
        .filter(|d| d.code == "dependency-cycle")
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(cycles.len(), 2, "{errs:#?}");
    assert!(
        cycles[0].starts_with("dependency cycle: A -> B -> A"),
        "{cycles:?}"
    );
    assert!(
        cycles[1].starts_with("dependency cycle: C -> C"),
        "{cycles:?}"
    );
}

#[test]
fn schema_constraints_are_enforced() {
    let mut stack = Stack::new("S");
    let mut root = stack.root();
    let cases = [
        ("Missing", json!({})),
        ("Pattern", json!({"Name": "UPPER"})),
        ("TooLong", json!({"Name": "abcdefghijk"})),
        ("TooShort", json!({"Name": "a"})),
        ("Enum", json!({"Name": "ok", "Mode": "C"})),
        ("Range", json!({"Name": "ok", "Size": 11})),
        ("Fraction", json!({"Name": "ok", "Size": 1.5})),
        ("NotNumber", json!({"Name": "ok", "Size": "many"})),
        ("ListLen", json!({"Name": "ok", "Items": ["a", "b", "c"]})),
        ("NotList", json!({"Name": "ok", "Items": "a"})),
        ("Unknown", json!({"Name": "ok", "Colour": "red"})),
        ("TagShape", json!({"Name": "ok", "Tags": [{"Key": "k"}]})),
    ];
    for (id, props) in &cases {
        root.add_raw(id, "Test::Thing", Some(&THING), props.clone());
    }
    // Intrinsics and dynamic references are not judged by literal rules.
    root.add_raw(
        "Fine",
        "Test::Thing",
        Some(&THING),
        json!({"Name": {"Ref": "AWS::StackName"}, "Size": "3", "Mode": "{{resolve:ssm:/m}}"}),
    );
    let errs = errors(stack.synth().unwrap_err());
    let by_id = |id: &str| -> Vec<&'static str> {
        errs.iter()
            .filter(|d| d.logical_id.as_deref() == Some(id))
            .map(|d| d.code)
            .collect()
    };
    assert_eq!(by_id("Missing"), vec!["missing-property"]);
    assert_eq!(by_id("Pattern"), vec!["invalid-pattern"]);
    assert_eq!(by_id("TooLong"), vec!["invalid-length"]);
    assert_eq!(by_id("TooShort"), vec!["invalid-length"]);
    assert_eq!(by_id("Enum"), vec!["invalid-value"]);
    assert_eq!(by_id("Range"), vec!["out-of-range"]);
    assert_eq!(by_id("Fraction"), vec!["type-mismatch"]);
    assert_eq!(by_id("NotNumber"), vec!["type-mismatch"]);
    assert_eq!(by_id("ListLen"), vec!["out-of-range"]);
    assert_eq!(by_id("NotList"), vec!["type-mismatch"]);
    assert_eq!(by_id("Unknown"), vec!["unknown-property"]);
    assert_eq!(by_id("TagShape"), vec!["missing-property"]);
    assert!(by_id("Fine").is_empty());
    let tag = errs
        .iter()
        .find(|d| d.logical_id.as_deref() == Some("TagShape"))
        .unwrap();
    assert_eq!(tag.property.as_deref(), Some("Properties.Tags[0].Value"));
}

#[test]
fn unused_parameters_and_conditions_are_warnings() {
    let mut stack = Stack::new("S");
    stack.add_parameter("Unused", Parameter::new(ParameterType::VpcId));
    let used = stack.add_parameter("Used", Parameter::new(ParameterType::String).no_echo());
    stack.add_condition("Lonely", Condition::equals("a", "b"));
    let c = stack.add_condition("OnResource", Condition::equals(used.value(), "x"));
    let t = stack.root().add("T", Thing::new("tt"));
    stack.resource(&t).condition(&c);
    let out = stack.synth().unwrap();
    assert_eq!(
        codes(&out.diagnostics),
        vec!["unused-parameter", "unused-condition"]
    );
    assert_eq!(out.diagnostics[0].logical_id.as_deref(), Some("Unused"));
    assert_eq!(out.diagnostics[1].logical_id.as_deref(), Some("Lonely"));
    assert_eq!(
        out.template["Parameters"]["Unused"]["Type"],
        json!("AWS::EC2::VPC::Id")
    );
    assert_eq!(out.template["Parameters"]["Used"]["NoEcho"], json!(true));
}

#[test]
fn size_and_count_limits() {
    let mut stack = Stack::new("Big");
    let mut root = stack.root();
    for i in 0..501 {
        root.add(&format!("T{i}"), Thing::new("abc"));
    }
    let errs = errors(stack.synth().unwrap_err());
    assert_eq!(codes(&errs), vec!["template-limit"]);
    assert!(errs[0].message.contains("501 resources"));

    let mut stack = Stack::new("Medium");
    let mut root = stack.root();
    for i in 0..400 {
        root.add(&format!("T{i}"), Thing::new("abc"));
    }
    let out = stack.synth().unwrap();
    assert!(out.needs_s3());
    assert_eq!(codes(&out.diagnostics), vec!["template-needs-s3"]);
}

#[test]
fn app_synth_is_all_or_nothing() {
    let mut app = App::new();
    app.add_stack(Stack::new("Good"))
        .root()
        .add("T", Thing::new("ok"));
    app.add_stack(Stack::new("Bad"))
        .root()
        .add("T", Thing::new("NOT OK"));
    let failed = app.synth().unwrap_err();
    assert_eq!(failed.len(), 1);
    assert!(failed[0].to_string().contains("stack 'Bad' has 1 error(s)"));
    assert!(failed[0].to_string().contains("invalid-pattern"));

    let mut app = App::new();
    app.add_stack(Stack::new("One"));
    app.add_stack(Stack::new("One"));
    assert!(app.synth().is_err());
}

#[test]
fn replacement_prediction_uses_create_only_paths() {
    use cfn_core::schema::Replacement;
    assert_eq!(THING.replaces_on_change("Name"), Replacement::Always);
    assert_eq!(THING.replaces_on_change("Size"), Replacement::Never);
}

#[test]
fn constructs_report_their_own_problems_at_their_path() {
    let mut stack = Stack::new("S");
    let mut root = stack.root();
    let mut waf = root.child("Waf");
    waf.report(
        cfn_core::Severity::Warning,
        "waf-count-only",
        "rules only count requests here",
    );
    waf.report(
        cfn_core::Severity::Error,
        "waf-no-rules",
        "a web ACL needs at least one rule",
    );
    let errs = errors(stack.synth().unwrap_err());
    assert_eq!(codes(&errs), vec!["waf-no-rules"]);
    assert_eq!(errs[0].construct_path, "S/Waf");
    let mut ok = Stack::new("T");
    ok.root()
        .child("Waf")
        .report(cfn_core::Severity::Warning, "w", "just so you know");
    let out = ok.synth().unwrap();
    assert_eq!(codes(&out.diagnostics), vec!["w"]);
}

#[test]
fn a_stack_keeps_one_asset_per_hash_in_the_order_added() {
    use cfn_core::asset::{Asset, Packaging};
    let mut stack = Stack::new("S");
    let a = Asset::from_zip(b"a".to_vec(), Packaging::File, "a.py");
    let b = Asset::from_zip(b"b".to_vec(), Packaging::Directory, "b/");
    let again = Asset::from_zip(b"a".to_vec(), Packaging::File, "copy-of-a.py");
    stack.add_asset(b.clone());
    stack.add_asset(a.clone());
    stack.add_asset(again);
    let out = stack.synth().unwrap();
    let hashes: Vec<&str> = out.assets.iter().map(Asset::hash).collect();
    assert_eq!(hashes, [b.hash(), a.hash()]);
    assert_eq!(out.assets[1].source(), "a.py", "the first one added wins");
    assert_eq!(stack.assets().count(), 2);
    // Assets do not touch the template: without a reference to one, it is the same text.
    assert_eq!(out.body, Stack::new("S").synth().unwrap().body);
}

static BOUNDS_PROPS: [PropSpec; 4] = [
    PropSpec {
        name: "Flag",
        required: false,
        shape: Shape::Boolean,
    },
    PropSpec {
        name: "Few",
        required: false,
        shape: Shape::List {
            item: &Shape::String(ANY_STRING),
            min_items: Some(1),
            max_items: Some(2),
        },
    },
    PropSpec {
        name: "Ratio",
        required: false,
        shape: Shape::Number(NumberRule {
            minimum: Some(0.5),
            maximum: Some(1.5),
        }),
    },
    PropSpec {
        name: "Word",
        required: false,
        shape: Shape::String(StringRule {
            allowed: &[],
            pattern: None,
            min_length: Some(2),
            max_length: Some(3),
        }),
    },
];
static BOUNDS: TypeSchema = TypeSchema {
    type_name: "Test::Bounds",
    attributes: &[],
    create_only: &[],
    conditional_create_only: &[],
    primary_identifier: &[],
    write_only: &[],
    tagging: None,
    properties: &BOUNDS_PROPS,
    closed: true,
};

/// The (resource, code, property) of every error, sorted.
fn located(errs: &[Diagnostic]) -> Vec<(String, &'static str, String)> {
    let mut v: Vec<_> = errs
        .iter()
        .map(|d| {
            (
                d.construct_path.clone(),
                d.code,
                d.property.clone().unwrap_or_default(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn schema_bounds_hold_at_the_limits_and_fail_past_them() {
    let mut stack = Stack::new("S");
    let mut root = stack.root();
    let b = Some(&BOUNDS);
    root.add_raw(
        "AtMin",
        "Test::Bounds",
        b,
        json!({"Flag": true, "Few": ["a"], "Ratio": 0.5, "Word": "ab"}),
    );
    root.add_raw(
        "AtMax",
        "Test::Bounds",
        b,
        json!({"Flag": "false", "Few": ["a", "b"], "Ratio": "1.5", "Word": "abc"}),
    );
    root.add_raw(
        "Past",
        "Test::Bounds",
        b,
        json!({"Flag": "yes", "Few": [], "Ratio": 0.25, "Word": "abcd"}),
    );
    root.add_raw(
        "PastMax",
        "Test::Bounds",
        b,
        json!({"Few": ["a", "b", "c"], "Ratio": 2, "Word": "a"}),
    );
    root.add_raw(
        "Kinds",
        "Test::Bounds",
        b,
        json!({"Word": ["ab"], "Flag": 1}),
    );
    let errs = errors(stack.synth().unwrap_err());
    let p = |r: &str, code: &'static str, prop: &str| {
        (format!("S/{r}"), code, format!("Properties.{prop}"))
    };
    assert_eq!(
        located(&errs),
        vec![
            p("Kinds", "type-mismatch", "Flag"),
            p("Kinds", "type-mismatch", "Word"),
            p("Past", "invalid-length", "Word"),
            p("Past", "out-of-range", "Few"),
            p("Past", "out-of-range", "Ratio"),
            p("Past", "type-mismatch", "Flag"),
            p("PastMax", "invalid-length", "Word"),
            p("PastMax", "out-of-range", "Few"),
            p("PastMax", "out-of-range", "Ratio"),
        ],
        "{errs:#?}"
    );
    let msg = |r: &str, prop: &str| {
        errs.iter()
            .find(|d| d.construct_path == format!("S/{r}") && d.property.as_deref() == Some(prop))
            .map(|d| d.message.clone())
            .unwrap_or_default()
    };
    assert_eq!(
        msg("Kinds", "Properties.Word"),
        "expected a string, found a list"
    );
    assert_eq!(
        msg("Kinds", "Properties.Flag"),
        "expected a boolean, found a number"
    );
    assert_eq!(
        msg("Past", "Properties.Few"),
        "0 item(s), fewer than the minimum 1"
    );
}

#[test]
fn outputs_sub_attributes_and_custom_resources_are_checked_as_cloudformation_does() {
    let mut stack = Stack::new("S");
    let mut root = stack.root();
    let t = root.add("Thing", Thing::new("thing"));
    // Custom resources have whatever attributes their handler returns.
    for (id, ty) in [
        ("Custom", "AWS::CloudFormation::CustomResource"),
        ("Named", "Custom::Migrate"),
    ] {
        root.add_raw(id, ty, Some(&MAP_TAGGED), json!({"ServiceToken": "arn"}));
    }
    root.add(
        "Reader",
        Thing::new("reader").target(fns::sub(format!(
            "${{{}.Arn}}/${{Custom.Anything}}/${{Named.Whatever}}",
            t.logical_id()
        ))),
    );
    // A one-key object named Condition outside the Conditions section is data, not a
    // condition reference.
    root.add_raw(
        "Data",
        "Test::Raw",
        None,
        json!({"Rule": {"Condition": "NotACondition"}}),
    );
    stack.add_output(
        "Out",
        Output::new(fns::ref_logical_id::<String>("NoSuchResource")),
    );
    let errs = errors(stack.synth().unwrap_err());
    assert_eq!(codes(&errs), ["unknown-ref"], "{errs:#?}");
    assert!(errs[0].message.contains("'NoSuchResource'"), "{errs:#?}");
    assert_eq!(errs[0].construct_path, "S/Out");
}
