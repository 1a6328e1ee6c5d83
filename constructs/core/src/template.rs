//! Template sections other than resources: parameters and outputs.

use indexmap::IndexMap;
use serde_json::json;

use crate::value::{ConditionRef, Json, Value, fns, to_json};

/// A parameter's type, including the AWS-specific types CloudFormation validates against the
/// account (a `VpcId` parameter only accepts a VPC that exists).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParameterType {
    /// `String`.
    String,
    /// `Number`.
    Number,
    /// `List<Number>`.
    NumberList,
    /// `CommaDelimitedList`.
    CommaDelimitedList,
    /// `AWS::EC2::VPC::Id`.
    VpcId,
    /// `AWS::EC2::Subnet::Id`.
    SubnetId,
    /// `List<AWS::EC2::Subnet::Id>`.
    SubnetIdList,
    /// `AWS::EC2::SecurityGroup::Id`.
    SecurityGroupId,
    /// `List<AWS::EC2::SecurityGroup::Id>`.
    SecurityGroupIdList,
    /// `AWS::EC2::KeyPair::KeyName`.
    KeyPairName,
    /// `AWS::Route53::HostedZone::Id`.
    HostedZoneId,
    /// `AWS::SSM::Parameter::Value<String>`: the value of an SSM parameter named by the
    /// parameter's value.
    SsmString,
    /// Any other type, written as is.
    Other(String),
}

impl ParameterType {
    /// The type as written in the template.
    pub fn as_str(&self) -> &str {
        match self {
            ParameterType::String => "String",
            ParameterType::Number => "Number",
            ParameterType::NumberList => "List<Number>",
            ParameterType::CommaDelimitedList => "CommaDelimitedList",
            ParameterType::VpcId => "AWS::EC2::VPC::Id",
            ParameterType::SubnetId => "AWS::EC2::Subnet::Id",
            ParameterType::SubnetIdList => "List<AWS::EC2::Subnet::Id>",
            ParameterType::SecurityGroupId => "AWS::EC2::SecurityGroup::Id",
            ParameterType::SecurityGroupIdList => "List<AWS::EC2::SecurityGroup::Id>",
            ParameterType::KeyPairName => "AWS::EC2::KeyPair::KeyName",
            ParameterType::HostedZoneId => "AWS::Route53::HostedZone::Id",
            ParameterType::SsmString => "AWS::SSM::Parameter::Value<String>",
            ParameterType::Other(s) => s,
        }
    }

    /// Whether `Ref` to the parameter yields a list.
    pub fn is_list(&self) -> bool {
        let s = self.as_str();
        s.starts_with("List<") || s == "CommaDelimitedList"
    }
}

/// A template parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Parameter {
    /// Its type.
    pub ty: ParameterType,
    /// `Description`.
    pub description: Option<String>,
    /// `Default`.
    pub default: Option<String>,
    /// `AllowedValues`.
    pub allowed_values: Vec<String>,
    /// `AllowedPattern`.
    pub allowed_pattern: Option<String>,
    /// `ConstraintDescription`.
    pub constraint_description: Option<String>,
    /// `NoEcho`: masks the value in the console and API output.
    pub no_echo: bool,
    /// `MinLength`.
    pub min_length: Option<u32>,
    /// `MaxLength`.
    pub max_length: Option<u32>,
    /// `MinValue`.
    pub min_value: Option<f64>,
    /// `MaxValue`.
    pub max_value: Option<f64>,
}

impl Parameter {
    /// A parameter of the given type.
    pub fn new(ty: ParameterType) -> Self {
        Parameter {
            ty,
            description: None,
            default: None,
            allowed_values: Vec::new(),
            allowed_pattern: None,
            constraint_description: None,
            no_echo: false,
            min_length: None,
            max_length: None,
            min_value: None,
            max_value: None,
        }
    }
    /// Sets `Description`.
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(d.into());
        self
    }
    /// Sets `Default`.
    pub fn default_value(mut self, d: impl Into<String>) -> Self {
        self.default = Some(d.into());
        self
    }
    /// Sets `AllowedValues`.
    pub fn allowed_values<S: Into<String>>(mut self, v: impl IntoIterator<Item = S>) -> Self {
        self.allowed_values = v.into_iter().map(Into::into).collect();
        self
    }
    /// Sets `AllowedPattern` (and optionally `ConstraintDescription`).
    pub fn allowed_pattern(mut self, p: impl Into<String>) -> Self {
        self.allowed_pattern = Some(p.into());
        self
    }
    /// Sets `ConstraintDescription`.
    pub fn constraint_description(mut self, d: impl Into<String>) -> Self {
        self.constraint_description = Some(d.into());
        self
    }
    /// Sets `NoEcho`.
    pub fn no_echo(mut self) -> Self {
        self.no_echo = true;
        self
    }
    /// Sets `MinLength` and `MaxLength`.
    pub fn length(mut self, min: Option<u32>, max: Option<u32>) -> Self {
        self.min_length = min;
        self.max_length = max;
        self
    }
    /// Sets `MinValue` and `MaxValue`.
    pub fn range(mut self, min: Option<f64>, max: Option<f64>) -> Self {
        self.min_value = min;
        self.max_value = max;
        self
    }

    pub(crate) fn to_json(&self) -> Json {
        let mut m = serde_json::Map::new();
        m.insert("Type".into(), json!(self.ty.as_str()));
        if let Some(d) = &self.description {
            m.insert("Description".into(), json!(d));
        }
        if let Some(d) = &self.default {
            m.insert("Default".into(), json!(d));
        }
        if !self.allowed_values.is_empty() {
            m.insert("AllowedValues".into(), json!(self.allowed_values));
        }
        if let Some(p) = &self.allowed_pattern {
            m.insert("AllowedPattern".into(), json!(p));
        }
        if let Some(c) = &self.constraint_description {
            m.insert("ConstraintDescription".into(), json!(c));
        }
        if self.no_echo {
            m.insert("NoEcho".into(), json!(true));
        }
        if let Some(v) = self.min_length {
            m.insert("MinLength".into(), json!(v));
        }
        if let Some(v) = self.max_length {
            m.insert("MaxLength".into(), json!(v));
        }
        if let Some(v) = self.min_value {
            m.insert("MinValue".into(), json!(v));
        }
        if let Some(v) = self.max_value {
            m.insert("MaxValue".into(), json!(v));
        }
        Json::Object(m)
    }
}

/// A handle to a declared parameter.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ParameterRef {
    pub(crate) name: String,
}

impl ParameterRef {
    /// The parameter's logical ID.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The parameter's value (`Ref`), for scalar types.
    pub fn value(&self) -> Value<String> {
        fns::ref_logical_id(&self.name)
    }
    /// The parameter's value (`Ref`), for list types.
    pub fn list_value(&self) -> Value<Vec<Value<String>>> {
        fns::ref_logical_id(&self.name)
    }
}

/// A template output.
#[derive(Clone, Debug, PartialEq)]
pub struct Output {
    pub(crate) value: Json,
    pub(crate) description: Option<String>,
    pub(crate) export_name: Option<Json>,
    pub(crate) condition: Option<String>,
}

impl Output {
    /// An output with this value.
    pub fn new<T: serde::Serialize>(value: impl Into<Value<T>>) -> Self {
        Output {
            value: value.into().to_json(),
            description: None,
            export_name: None,
            condition: None,
        }
    }
    /// Sets `Description`.
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(d.into());
        self
    }
    /// Exports the value under this name for `Fn::ImportValue` in other stacks.
    pub fn export_name(mut self, name: impl Into<Value<String>>) -> Self {
        self.export_name = Some(name.into().to_json());
        self
    }
    /// Only outputs the value when the condition holds.
    pub fn condition(mut self, c: &ConditionRef) -> Self {
        self.condition = Some(c.name().to_owned());
        self
    }

    pub(crate) fn to_json(&self) -> Json {
        let mut m = IndexMap::new();
        if let Some(d) = &self.description {
            m.insert("Description", json!(d));
        }
        m.insert("Value", self.value.clone());
        if let Some(e) = &self.export_name {
            m.insert("Export", json!({ "Name": e }));
        }
        if let Some(c) = &self.condition {
            m.insert("Condition", json!(c));
        }
        to_json(&m)
    }
}
