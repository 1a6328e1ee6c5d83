//! Static metadata about a CloudFormation resource type, taken from its registry schema.
//!
//! The generator in `cfn-codegen` emits one [`TypeSchema`] per type as `static` data, so
//! validation, tag propagation and replacement prediction cost no parsing at run time.

/// What the registry schema says about one resource type.
#[derive(Debug)]
pub struct TypeSchema {
    /// `AWS::Service::Type`.
    pub type_name: &'static str,
    /// Attributes readable with `Fn::GetAtt` (the schema's `readOnlyProperties`), in dotted form
    /// (`Endpoint.Address`).
    pub attributes: &'static [&'static str],
    /// Properties whose change replaces the resource, as `/`-separated paths below `Properties`
    /// (`VpcConfig/SubnetIds`).
    pub create_only: &'static [&'static str],
    /// Properties whose change may replace the resource, depending on the old and new values.
    pub conditional_create_only: &'static [&'static str],
    /// Properties that identify the resource (what `Ref` returns for most types).
    pub primary_identifier: &'static [&'static str],
    /// Properties the resource accepts on write but never returns (passwords and the like).
    pub write_only: &'static [&'static str],
    /// Whether and where the type takes tags.
    pub tagging: Option<Tagging>,
    /// Top-level properties.
    pub properties: &'static [PropSpec],
    /// Whether properties not listed are rejected (`additionalProperties: false`).
    pub closed: bool,
}

impl TypeSchema {
    /// Looks up a top-level property.
    pub fn property(&self, name: &str) -> Option<&'static PropSpec> {
        self.properties.iter().find(|p| p.name == name)
    }

    /// True when changing the property at `path` (below `Properties`, `/`-separated) replaces
    /// the resource. A change below a create-only property counts too.
    pub fn replaces_on_change(&self, path: &str) -> Replacement {
        let hit = |list: &[&str]| {
            list.iter().any(|p| {
                path == *p
                    || path.starts_with(&format!("{p}/"))
                    || p.starts_with(&format!("{path}/"))
            })
        };
        if hit(self.create_only) {
            Replacement::Always
        } else if hit(self.conditional_create_only) {
            Replacement::Conditional
        } else {
            Replacement::Never
        }
    }
}

/// Whether a property change replaces the resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replacement {
    /// The change updates the resource in place.
    Never,
    /// The change may replace the resource.
    Conditional,
    /// The change replaces the resource.
    Always,
}

/// Where a taggable type keeps its tags and in which shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tagging {
    /// The top-level property that holds the tags (usually `Tags`).
    pub property: &'static str,
    /// How the tags are written.
    pub shape: TagShape,
}

/// The JSON shapes CloudFormation types use for tags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagShape {
    /// `[{"Key": "k", "Value": "v"}, …]`.
    KeyValueList,
    /// `{"k": "v", …}`.
    Map,
}

/// One property of a type or of a nested definition.
#[derive(Debug)]
pub struct PropSpec {
    /// The CloudFormation property name.
    pub name: &'static str,
    /// Whether CloudFormation rejects the resource without it.
    pub required: bool,
    /// The value's shape and constraints.
    pub shape: Shape,
}

/// The shape of a property value and the constraints the schema places on it.
#[derive(Debug)]
pub enum Shape {
    /// A string.
    String(StringRule),
    /// An integer.
    Integer(NumberRule),
    /// A number.
    Number(NumberRule),
    /// A boolean (CloudFormation also accepts `"true"`/`"false"`).
    Boolean,
    /// A list.
    List {
        /// The items' shape.
        item: &'static Shape,
        /// `minItems`.
        min_items: Option<u64>,
        /// `maxItems`.
        max_items: Option<u64>,
    },
    /// A map with string keys.
    Map(&'static Shape),
    /// An object with known properties.
    Object {
        /// Its properties.
        properties: &'static [PropSpec],
        /// Whether unlisted properties are rejected.
        closed: bool,
    },
    /// Anything (free-form JSON, or a union the generator does not model).
    Any,
}

/// Constraints on a string.
#[derive(Debug)]
pub struct StringRule {
    /// Allowed values, when the schema lists them.
    pub allowed: &'static [&'static str],
    /// An ECMA-262 pattern the value must match.
    pub pattern: Option<&'static str>,
    /// `minLength`.
    pub min_length: Option<u64>,
    /// `maxLength`.
    pub max_length: Option<u64>,
}

/// Constraints on a number.
#[derive(Debug)]
pub struct NumberRule {
    /// `minimum`.
    pub minimum: Option<f64>,
    /// `maximum`.
    pub maximum: Option<f64>,
}

/// Whether synth-time validation enforces a schema pattern. Patterns use ECMA-262 syntax; the
/// few that need look-around or back-references (which the `regex` crate does not support)
/// are left to CloudFormation.
pub fn pattern_is_enforced(pattern: &'static str) -> bool {
    crate::pattern::compiled(pattern).is_some()
}

/// A string with no constraints.
pub const ANY_STRING: StringRule = StringRule {
    allowed: &[],
    pattern: None,
    min_length: None,
    max_length: None,
};

/// A number with no constraints.
pub const ANY_NUMBER: NumberRule = NumberRule {
    minimum: None,
    maximum: None,
};
