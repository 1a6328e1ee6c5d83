//! Generator behaviour on small inline schemas.

use cfn_codegen::layout::{self, root_module};
use cfn_codegen::model::{TagKind, Ty};
use cfn_codegen::{ServiceCode, TypeModel, generate_service};
use serde_json::{Value as Json, json};

/// The service `demo` generated from `schemas`.
fn gen_demo(schemas: &[Json]) -> ServiceCode {
    generate_service("demo", schemas).expect("generates")
}

/// The formatted service text holding the single type in `schema`.
fn module(schema: Json) -> String {
    layout::rustfmt(&gen_demo(&[schema]).text).expect("rustfmt")
}

/// The text with all whitespace runs collapsed, for assertions that ignore rustfmt's layout.
fn flat(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn assert_has(text: &str, needle: &str) {
    assert!(
        flat(text).contains(&flat(needle)),
        "missing `{needle}` in:\n{text}"
    );
}

fn widget(extra: Json) -> Json {
    let mut base = json!({
        "typeName": "AWS::Demo::Widget",
        "description": "A widget.",
        "additionalProperties": false,
        "primaryIdentifier": ["/properties/Name"],
        "properties": {
            "Name": {"type": "string", "description": "The name.", "minLength": 1, "maxLength": 64},
            "Count": {"type": "integer", "minimum": 0, "maximum": 10},
            "Ratio": {"type": "number"},
            "Enabled": {"type": "boolean"},
            "Aliases": {"type": "array", "items": {"type": "string"}, "maxItems": 5}
        },
        "required": ["Name", "Enabled"]
    });
    if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            if k == "properties" {
                let props = b["properties"].as_object_mut().expect("object");
                for (pk, pv) in v.as_object().expect("object") {
                    props.insert(pk.clone(), pv.clone());
                }
            } else {
                b.insert(k.clone(), v.clone());
            }
        }
    }
    base
}

#[test]
fn required_props_are_builder_setters_and_optional_ones_setters() {
    let text = module(widget(json!({})));
    assert_has(
        &text,
        "#[serde(rename = \"Name\")] pub name: Value<String>,",
    );
    assert_has(
        &text,
        "#[serde(rename = \"Enabled\")] pub enabled: Value<bool>,",
    );
    assert_has(
        &text,
        "#[serde(rename = \"Count\", skip_serializing_if = \"Option::is_none\")] pub count: Option<Value<i64>>,",
    );
    assert_has(&text, "pub ratio: Option<Value<f64>>,");
    assert_has(&text, "pub aliases: Option<Value<Vec<Value<String>>>>,");
    assert!(
        !flat(&text).contains("pub fn new("),
        "no positional constructor"
    );
    assert_has(
        &text,
        "pub fn builder() -> WidgetBuilder { WidgetBuilder { name: cfn_core::Missing, enabled: cfn_core::Missing, } }",
    );
    assert_has(
        &text,
        "pub struct WidgetBuilder<R0 = cfn_core::Missing, R1 = cfn_core::Missing> { name: R0, enabled: R1, }",
    );
    assert_has(
        &text,
        "impl<R1> WidgetBuilder<cfn_core::Missing, R1> { /// Sets `Name` (required). pub fn name(self, v: impl Into<Value<String>>) -> WidgetBuilder<Value<String>, R1> {",
    );
    assert_has(
        &text,
        "impl<R0, R1> WidgetBuilder<R0, R1> where R0: cfn_core::Provided<Value<String>>, R1: cfn_core::Provided<Value<bool>>, {",
    );
    assert_has(
        &text,
        "name: cfn_core::Provided::provided(self.name), count: None,",
    );
    assert_has(
        &text,
        "pub fn count(mut self, v: impl Into<Value<i64>>) -> Self {",
    );
    assert!(
        !flat(&text).contains("pub fn name(mut self"),
        "required props get no setter on the built struct"
    );
    assert_has(
        &text,
        "impl cfn_core::Resource for Widget { const TYPE_NAME: &'static str = \"AWS::Demo::Widget\"; type Handle = WidgetHandle;",
    );
    assert_has(
        &text,
        "prop!(\"Name\", true, string!(&[], None, Some(1), Some(64))),",
    );
    assert_has(
        &text,
        "prop!(\"Count\", false, integer!(Some(0.0), Some(10.0))),",
    );
    assert_has(
        &text,
        "prop!(\"Aliases\", false, list!(string!(), None, Some(5))),",
    );
}

#[test]
fn all_optional_struct_derives_default() {
    let text = module(json!({
        "typeName": "AWS::Demo::Thing",
        "properties": {"Note": {"type": "string"}}
    }));
    assert_has(
        &text,
        "#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)] pub struct Thing {",
    );
    assert_has(&text, "pub fn new() -> Self { Self::default() }");
}

#[test]
fn string_enums_get_variants_and_a_catch_all() {
    let text = module(widget(json!({"properties": {
        "Mode": {"type": "string", "enum": ["Enabled", "Suspended", "t2.micro", "Other", "1.2"]}
    }})));
    assert_has(&text, "pub mode: Option<Value<Mode>>,");
    assert_has(
        &text,
        "pub enum Mode { /// `Enabled`. Enabled, /// `Suspended`. Suspended, /// `t2.micro`. T2Micro, /// `Other`. Other2, /// `1.2`. V1_2, /// A value this version of the schema does not list. Other(String), }",
    );
    assert_has(&text, "\"Other\" => Self::Other2,");
    assert_has(&text, "_ => Self::Other(s.to_owned()),");
    assert_has(&text, "Self::Other(s) => s,");
    assert_has(&text, "impl cfn_core::value::StringEnum for Mode {");
    assert_has(&text, "s.serialize_str(self.as_str())");
    assert_has(
        &text,
        "prop!( \"Mode\", false, string!( &[\"Enabled\", \"Suspended\", \"t2.micro\", \"Other\", \"1.2\"], None, None, None ) ),",
    );
}

#[test]
fn enum_names_are_prefixed_by_their_owner_on_collision() {
    let text = module(widget(json!({
        "properties": {
            "Status": {"type": "string", "enum": ["On", "Off"]},
            "Versioning": {"$ref": "#/definitions/Versioning"}
        },
        "definitions": {
            "Versioning": {"type": "object", "properties": {
                "Status": {"type": "string", "enum": ["Enabled", "Suspended"]}
            }, "required": ["Status"]}
        }
    })));
    assert_has(&text, "pub status: Option<Value<Status>>,");
    assert_has(&text, "pub status: Value<VersioningStatus>,");
    assert_has(
        &text,
        "pub fn status( self, v: impl Into<Value<VersioningStatus>>, ) -> VersioningBuilder<Value<VersioningStatus>> {",
    );
}

#[test]
fn maps_and_free_form_objects() {
    let text = module(widget(json!({"properties": {
        "Labels": {"type": "object", "patternProperties": {"^.+$": {"type": "string"}}},
        "Limits": {"type": "object", "additionalProperties": {"type": "integer"}},
        "Policy": {"type": ["object", "string"]},
        "Anything": {"type": "object"},
        "Either": {"oneOf": [{"type": "string"}, {"type": "integer"}]}
    }})));
    assert_has(
        &text,
        "pub labels: Option<Value<IndexMap<String, Value<String>>>>,",
    );
    assert_has(
        &text,
        "pub limits: Option<Value<IndexMap<String, Value<i64>>>>,",
    );
    assert_has(&text, "pub policy: Option<Value<Json>>,");
    assert_has(&text, "pub anything: Option<Value<Json>>,");
    assert_has(&text, "pub either: Option<Value<Json>>,");
    assert_has(&text, "prop!(\"Labels\", false, map!(string!())),");
    assert_has(&text, "prop!(\"Policy\", false, any!()),");
}

#[test]
fn nested_definitions_become_structs_and_primitive_refs_resolve() {
    let text = module(widget(json!({
        "properties": {
            "Config": {"$ref": "#/definitions/Config"},
            "Arn": {"$ref": "#/definitions/Arn"},
            "Widget": {"$ref": "#/definitions/Widget"}
        },
        "definitions": {
            "Arn": {"type": "string", "pattern": "^arn:"},
            "Config": {"type": "object", "additionalProperties": false,
                "properties": {"Size": {"type": "integer"}, "Inline": {"type": "object", "properties": {"X": {"type": "string"}}}},
                "required": ["Size"]},
            "Widget": {"type": "object", "properties": {"Y": {"type": "string"}}}
        }
    })));
    assert_has(&text, "pub config: Option<Value<Config>>,");
    assert_has(&text, "pub arn: Option<Value<String>>,");
    // The definition named like the resource struct is renamed deterministically.
    assert_has(&text, "pub widget: Option<Value<WidgetProperty>>,");
    assert_has(&text, "pub struct Config {");
    assert_has(&text, "pub inline: Option<Value<Inline>>,");
    assert_has(&text, "impl From<Config> for Value<Config> {");
    assert_has(
        &text,
        "prop!(\"Config\", false, object!(CONFIG_PROPS, true)),",
    );
    assert_has(
        &text,
        "prop!(\"Arn\", false, string!(&[], Some(\"^arn:\"), None, None)),",
    );
}

#[test]
fn recursive_definitions_are_boxed_only_where_needed() {
    let text = module(json!({
        "typeName": "AWS::Demo::Acl",
        "properties": {"Rule": {"$ref": "#/definitions/Statement"}},
        "required": ["Rule"],
        "definitions": {
            "Statement": {"type": "object", "properties": {
                "Not": {"$ref": "#/definitions/NotStatement"},
                "And": {"type": "array", "items": {"$ref": "#/definitions/Statement"}},
                "Leaf": {"$ref": "#/definitions/Leaf"},
                "Myself": {"$ref": "#/definitions/Statement"}
            }},
            "NotStatement": {"type": "object", "properties": {
                "Statement": {"$ref": "#/definitions/Statement"}
            }, "required": ["Statement"]},
            "Leaf": {"type": "object", "properties": {"V": {"type": "string"}}}
        }
    }));
    assert_has(&text, "pub rule: Value<Statement>,");
    assert_has(&text, "pub not: Option<Box<Value<NotStatement>>>,");
    assert_has(&text, "pub and: Option<Value<Vec<Value<Statement>>>>,");
    assert_has(&text, "pub leaf: Option<Value<Leaf>>,");
    assert_has(&text, "pub myself: Option<Box<Value<Statement>>>,");
    assert_has(&text, "pub statement: Box<Value<Statement>>,");
    assert_has(
        &text,
        "statement: Box::new(cfn_core::Provided::provided(self.statement)),",
    );
    assert_has(
        &text,
        "pub fn not(mut self, v: impl Into<Value<NotStatement>>) -> Self { self.not = Some(Box::new(v.into())); self }",
    );
    // The metadata tree refers to statics, so recursion stays finite.
    assert_has(
        &text,
        "prop!(\"Not\", false, object!(NOT_STATEMENT_PROPS, false)),",
    );
    assert_has(
        &text,
        "prop!(\"Statement\", true, object!(STATEMENT_PROPS, false))",
    );
}

fn tag_kind(props: Json, tagging: Json) -> Option<(String, TagKind)> {
    let schema = json!({
        "typeName": "AWS::Demo::Tagged",
        "properties": props,
        "tagging": tagging,
        "definitions": {"Tag": {"type": "object", "properties": {
            "Key": {"type": "string"}, "Value": {"type": "string"}
        }}}
    });
    TypeModel::build(&schema).expect("builds").tagging
}

#[test]
fn tagging_shape_detection() {
    let list = json!({"Tags": {"type": "array", "items": {"$ref": "#/definitions/Tag"}}});
    assert_eq!(
        tag_kind(list.clone(), json!({"taggable": true})),
        Some(("Tags".into(), TagKind::KeyValueList))
    );
    let map =
        json!({"Labels": {"type": "object", "patternProperties": {".*": {"type": "string"}}}});
    assert_eq!(
        tag_kind(
            map,
            json!({"taggable": true, "tagProperty": "/properties/Labels"})
        ),
        Some(("Labels".into(), TagKind::Map))
    );
    assert_eq!(tag_kind(list.clone(), json!({"taggable": false})), None);
    let strings = json!({"Tags": {"type": "array", "items": {"type": "string"}}});
    assert_eq!(tag_kind(strings, json!({"taggable": true})), None);
    let missing = json!({"Name": {"type": "string"}});
    assert_eq!(tag_kind(missing, json!({"taggable": true})), None);
    // Legacy top-level `taggable`.
    let legacy = json!({
        "typeName": "AWS::Demo::Old", "taggable": true,
        "properties": {"Tags": {"type": "object", "additionalProperties": {"type": "string"}}}
    });
    assert_eq!(
        TypeModel::build(&legacy).expect("builds").tagging,
        Some(("Tags".into(), TagKind::Map))
    );

    let text = module(widget(json!({
        "properties": {"Tags": {"type": "array", "items": {"$ref": "#/definitions/Tag"}}},
        "definitions": {"Tag": {"type": "object", "properties": {"Key": {"type": "string"}, "Value": {"type": "string"}}, "required": ["Key", "Value"]}},
        "tagging": {"taggable": true}
    })));
    assert_has(
        &text,
        "tagging: Some(cfn_core::schema::Tagging { property: \"Tags\", shape: cfn_core::schema::TagShape::KeyValueList, }),",
    );
}

#[test]
fn attributes_map_to_handle_methods() {
    let schema = widget(json!({
        "properties": {
            "Arn": {"type": "string", "description": "The ARN."},
            "Endpoint": {"$ref": "#/definitions/Endpoint"},
            "Ids": {"type": "array", "items": {"type": "string"}},
            "Port": {"type": "integer"},
            "Reference": {"type": "string"},
            "Items": {"type": "array", "items": {"type": "object", "properties": {"Id": {"type": "string"}}}},
            "Blob": {"type": "object", "properties": {"A": {"type": "string"}}}
        },
        "definitions": {"Endpoint": {"type": "object", "properties": {
            "Address": {"type": "string"}, "Port": {"type": "string"}
        }}},
        "readOnlyProperties": [
            "/properties/Arn", "/properties/Endpoint", "/properties/Endpoint/Address",
            "/properties/Endpoint/Port", "/properties/Ids", "/properties/Port",
            "/properties/Reference", "/properties/Items/*/Id", "/properties/Blob", "/properties/Undeclared"
        ]
    }));
    let m = TypeModel::build(&schema).expect("builds");
    let methods: Vec<(&str, &str, &Ty)> = m
        .attrs
        .iter()
        .map(|a| (a.method.as_str(), a.attribute.as_str(), &a.ty))
        .collect();
    assert_eq!(
        methods,
        vec![
            ("arn", "Arn", &Ty::String),
            ("endpoint_address", "Endpoint.Address", &Ty::String),
            ("endpoint_port", "Endpoint.Port", &Ty::String),
            ("ids", "Ids", &Ty::List(Box::new(Ty::String))),
            ("port", "Port", &Ty::Integer),
            ("reference_attr", "Reference", &Ty::String),
            ("undeclared", "Undeclared", &Ty::String),
        ]
    );
    assert_eq!(
        m.attributes,
        vec![
            "Arn",
            "Endpoint",
            "Endpoint.Address",
            "Endpoint.Port",
            "Ids",
            "Port",
            "Reference",
            "Blob",
            "Undeclared"
        ]
    );
    // Read-only properties are attributes, not fields.
    let fields: Vec<&str> = m
        .root_struct()
        .fields
        .iter()
        .map(|f| f.cfn_name.as_str())
        .collect();
    assert_eq!(
        fields,
        vec!["Name", "Count", "Ratio", "Enabled", "Aliases", "Items"]
    );

    let text = module(schema);
    assert_has(
        &text,
        "/// `Fn::GetAtt` `Arn`: The ARN. pub fn arn(&self) -> Value<String> { self.0.get_att(\"Arn\") }",
    );
    assert_has(
        &text,
        "pub fn endpoint_address(&self) -> Value<String> { self.0.get_att(\"Endpoint.Address\") }",
    );
    assert_has(&text, "pub fn ids(&self) -> Value<Vec<Value<String>>> {");
    assert_has(
        &text,
        "pub fn reference(&self) -> Value<String> { self.0.reference() }",
    );
    assert_has(&text, "pub struct WidgetHandle(cfn_core::ResourceRef);");
    assert_has(&text, "impl std::ops::Deref for WidgetHandle {");
}

#[test]
fn create_only_and_other_paths_are_stripped() {
    let m = TypeModel::build(&widget(json!({
        "createOnlyProperties": ["/properties/Name", "/properties/Vpc/SubnetIds"],
        "conditionalCreateOnlyProperties": ["/properties/Count"],
        "writeOnlyProperties": ["/properties/Secret"]
    })))
    .expect("builds");
    assert_eq!(m.create_only, vec!["Name", "Vpc/SubnetIds"]);
    assert_eq!(m.conditional_create_only, vec!["Count"]);
    assert_eq!(m.write_only, vec!["Secret"]);
    assert_eq!(m.primary_identifier, vec!["Name"]);
    let text = module(widget(
        json!({"createOnlyProperties": ["/properties/Name", "/properties/Vpc/SubnetIds"]}),
    ));
    assert_has(&text, "create_only: &[\"Name\", \"Vpc/SubnetIds\"],");
    assert_has(&text, "properties: &WIDGET_PROPS, closed: true,");
}

#[test]
fn keywords_and_odd_names_are_escaped() {
    let text = module(json!({
        "typeName": "AWS::Demo::Type",
        "properties": {
            "Type": {"type": "string"},
            "Match": {"type": "string"},
            "New": {"type": "string"},
            "Self": {"type": "string"},
            "3Way": {"type": "string"},
            "Option": {"$ref": "#/definitions/Option"}
        },
        "required": ["Type"],
        "definitions": {"Option": {"type": "object", "properties": {"A": {"type": "string"}}}}
    }));
    assert_has(
        &text,
        "#[serde(rename = \"Type\")] pub type_: Value<String>,",
    );
    assert_has(
        &text,
        "pub fn type_(self, v: impl Into<Value<String>>) -> TypeBuilder<Value<String>> {",
    );
    assert_has(&text, "pub match_: Option<Value<String>>,");
    assert_has(&text, "pub new_: Option<Value<String>>,");
    assert_has(&text, "pub self_: Option<Value<String>>,");
    assert_has(&text, "pub n3way: Option<Value<String>>,");
    assert_has(&text, "pub option: Option<Value<OptionProperty>>,");
    let out = gen_demo(&[json!({"typeName": "AWS::Demo::Type", "properties": {}})]);
    assert_has(&out.text, "pub mod type_ {");
}

#[test]
fn layout_modules_reexports_and_registry() {
    let demo = gen_demo(&[
        json!({"typeName": "AWS::Demo::DBCluster", "properties": {}}),
        widget(json!({})),
    ]);
    let other = generate_service(
        "other",
        &[json!({"typeName": "AWS::Other::VPCGatewayAttachment", "properties": {}})],
    )
    .expect("generates");
    assert_has(&demo.text, "pub mod db_cluster {");
    assert_has(&demo.text, "pub mod widget {");
    assert_has(
        &demo.text,
        "pub use db_cluster::{DbCluster, DbClusterHandle}; pub use widget::{Widget, WidgetHandle};",
    );
    let root = root_module(&[demo.clone(), other.clone()], Some("/out"));
    assert_has(
        &root,
        "#[doc = \"`demo` resource types.\"] pub mod demo { include!(\"/out/demo.rs\"); }",
    );
    assert_has(
        &root,
        "pub(crate) const TYPE_NAMES: &[&str] = &[ \"AWS::Demo::DBCluster\", \"AWS::Demo::Widget\", \"AWS::Other::VPCGatewayAttachment\", ];",
    );
    assert_has(&root, "&demo::db_cluster::SCHEMA,");
    assert_has(
        &root,
        "pub(crate) const SERVICES: &[&str] = &[ \"demo\", \"other\", ];",
    );
    let inline = root_module(&[demo], None);
    assert_has(&inline, "pub mod demo { #[doc =");
}

#[test]
fn generation_is_deterministic() {
    let schemas = vec![
        widget(json!({"properties": {"Mode": {"type": "string", "enum": ["A", "B"]}}})),
        json!({"typeName": "AWS::Demo::Other", "properties": {"X": {"type": "object", "properties": {"Y": {"type": "string"}}}}}),
    ];
    let a = gen_demo(&schemas);
    let b = gen_demo(&schemas);
    assert_eq!(a, b);
    let reversed: Vec<Json> = schemas.into_iter().rev().collect();
    assert_eq!(a, gen_demo(&reversed), "input order does not matter");
}

#[test]
fn formatted_strings_become_typed_references() {
    let text = module(json!({
        "typeName": "AWS::Demo::Mount",
        "primaryIdentifier": ["/properties/MountId"],
        "readOnlyProperties": ["/properties/MountId", "/properties/RoleArn"],
        "properties": {
            "MountId": {"type": "string", "format": "AWS::EC2::Subnet.Id"},
            "RoleArn": {"type": "string", "format": "AWS::IAM::Role.Arn"},
            "VpcId": {"type": "string", "format": "AWS::EC2::VPC.Id"},
            "Groups": {"type": "array", "format": "AWS::EC2::SecurityGroup.Ids",
                "items": {"type": "string", "format": "AWS::EC2::SecurityGroup.Id"}},
            "Key": {"type": "string", "anyOf": [{"format": "AWS::KMS::Key.Arn"},
                {"format": "AWS::KMS::Key.Id"}, {"format": "AWS::KMS::Alias.AliasName"}]},
            "Name": {"type": "string", "format": "AWS::EC2::SecurityGroup.Name"}
        },
        "required": ["VpcId"]
    }));
    assert_has(&text, "pub vpc_id: Value<cfn_core::refs::VpcId>,");
    assert_has(
        &text,
        "pub groups: Option<Value<Vec<Value<cfn_core::refs::SecurityGroupId>>>>,",
    );
    assert_has(&text, "pub key: Option<Value<cfn_core::refs::KmsKey>>,");
    assert_has(&text, "pub name: Option<Value<String>>,");
    assert_has(
        &text,
        "pub fn reference(&self) -> Value<cfn_core::refs::SubnetId> {",
    );
    assert_has(
        &text,
        "pub fn role_arn(&self) -> Value<cfn_core::refs::RoleArn> {",
    );
}

#[test]
fn descriptions_become_harmless_rustdoc() {
    let text = module(widget(json!({"properties": {
        "Doc": {"type": "string", "description": "Uses ``Foo`` and [the guide](https://example.com/a). See <b>bold</b>.\n\n    fn main() {}\n"}
    }})));
    assert_has(
        &text,
        "/// Uses 'Foo' and the guide (<https://example.com/a>). See &lt;b&gt;bold&lt;/b&gt;.",
    );
    assert!(!text.contains("    fn main"));
}
