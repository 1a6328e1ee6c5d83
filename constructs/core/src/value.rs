//! Property values: a literal, or a CloudFormation intrinsic typed by what it evaluates to.
//!
//! Every generated resource property is a [`Value<T>`]. A `Value<String>` may be `"my-bucket"`,
//! a `Ref`, an `Fn::GetAtt`, an `Fn::Sub`… but never a list: the type says what CloudFormation
//! will see once the intrinsic is resolved, so handing a list where a string is expected does not
//! compile. Intrinsics are only built by the typed constructors in [`fns`], [`pseudo`],
//! [`dynamic`] and by resource handles, which is what keeps that promise.

use indexmap::IndexMap;
use serde::{Serialize, Serializer};
use serde_json::json;

/// Untyped JSON, as it appears in a template.
pub type Json = serde_json::Value;

/// A value that CloudFormation resolves to a `T`: either a literal or an intrinsic function.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<T> {
    /// A value known at synth time.
    Literal(T),
    /// An intrinsic function or reference, resolved by CloudFormation at deploy time.
    Intrinsic(Intrinsic),
}

/// An intrinsic function call in CloudFormation's JSON form (`{"Ref": …}`, `{"Fn::Join": …}`).
///
/// It can only be built through this crate's typed constructors, so the type parameter of the
/// [`Value`] that carries it is trustworthy.
#[derive(Clone, Debug, PartialEq)]
pub struct Intrinsic(Json);

impl Intrinsic {
    /// The intrinsic as template JSON.
    pub fn as_json(&self) -> &Json {
        &self.0
    }
}

/// True for template JSON that is an intrinsic: `{"Ref": …}`, `{"Fn::…": …}` and
/// `{"Condition": …}` — one key, so an object that merely has such a key among others is data.
///
/// It reads untyped template JSON (after serialization, overrides, raw resources), where the
/// type of [`Value`] is gone; validation, tag merging and diffing all need to skip intrinsics
/// they cannot evaluate.
pub fn is_intrinsic(v: &Json) -> bool {
    match v {
        Json::Object(o) if o.len() == 1 => o
            .keys()
            .next()
            .is_some_and(|k| k == "Ref" || k == "Condition" || k.starts_with("Fn::")),
        _ => false,
    }
}

impl<T> Value<T> {
    /// True when the value is only known at deploy time.
    pub fn is_intrinsic(&self) -> bool {
        matches!(self, Value::Intrinsic(_))
    }

    /// The literal, if this value is one.
    pub fn as_literal(&self) -> Option<&T> {
        match self {
            Value::Literal(t) => Some(t),
            Value::Intrinsic(_) => None,
        }
    }

    /// Escape hatch: claim that arbitrary template JSON evaluates to a `T`.
    ///
    /// Use it for constructs the typed API does not model yet; nothing checks the claim until
    /// synth-time validation and CloudFormation itself.
    pub fn unchecked(json: Json) -> Self {
        Value::Intrinsic(Intrinsic(json))
    }

    pub(crate) fn intrinsic(json: Json) -> Self {
        Value::Intrinsic(Intrinsic(json))
    }
}

impl<T: Serialize> Value<T> {
    /// The value as template JSON.
    pub fn to_json(&self) -> Json {
        match self {
            Value::Literal(t) => to_json(t),
            Value::Intrinsic(i) => i.0.clone(),
        }
    }
}

/// Serializes a value of this crate's model. Our literals are strings, numbers, booleans, lists,
/// string-keyed maps and derived structs, none of which can fail to serialize; `Null` is only a
/// defensive fallback for a foreign `Serialize` impl that errors.
pub(crate) fn to_json<T: Serialize + ?Sized>(t: &T) -> Json {
    serde_json::to_value(t).unwrap_or(Json::Null)
}

impl<T: Serialize> Serialize for Value<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Literal(t) => t.serialize(s),
            Value::Intrinsic(i) => i.0.serialize(s),
        }
    }
}

impl<T: Serialize> From<Value<T>> for Json {
    fn from(v: Value<T>) -> Json {
        v.to_json()
    }
}

impl From<&str> for Value<String> {
    fn from(s: &str) -> Self {
        Value::Literal(s.to_owned())
    }
}
impl From<String> for Value<String> {
    fn from(s: String) -> Self {
        Value::Literal(s)
    }
}
impl From<&String> for Value<String> {
    fn from(s: &String) -> Self {
        Value::Literal(s.clone())
    }
}
impl From<&Value<String>> for Value<String> {
    fn from(v: &Value<String>) -> Self {
        v.clone()
    }
}
macro_rules! int_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Value<i64> {
            fn from(n: $t) -> Self { Value::Literal(i64::from(n)) }
        }
    )*};
}
int_from!(i8, i16, i32, i64, u8, u16, u32);
impl From<f64> for Value<f64> {
    fn from(n: f64) -> Self {
        Value::Literal(n)
    }
}
impl From<i32> for Value<f64> {
    fn from(n: i32) -> Self {
        Value::Literal(f64::from(n))
    }
}
impl From<bool> for Value<bool> {
    fn from(b: bool) -> Self {
        Value::Literal(b)
    }
}
impl From<Json> for Value<Json> {
    fn from(j: Json) -> Self {
        Value::Literal(j)
    }
}
impl<T, U: Into<Value<T>>> From<Vec<U>> for Value<Vec<Value<T>>> {
    fn from(v: Vec<U>) -> Self {
        Value::Literal(v.into_iter().map(Into::into).collect())
    }
}
impl<T, U: Into<Value<T>>, const N: usize> From<[U; N]> for Value<Vec<Value<T>>> {
    fn from(v: [U; N]) -> Self {
        Value::Literal(v.into_iter().map(Into::into).collect())
    }
}
impl<T, U: Into<Value<T>>> From<IndexMap<String, U>> for Value<IndexMap<String, Value<T>>> {
    fn from(m: IndexMap<String, U>) -> Self {
        Value::Literal(m.into_iter().map(|(k, v)| (k, v.into())).collect())
    }
}

/// A string enumeration generated from a schema `enum` (by `cfn-codegen`): known values are
/// variants, anything else is kept as text so a value newer than the schema still works.
///
/// Implementing it gives `impl From<&str> for Value<E>`, which generated crates cannot write
/// themselves (the orphan rule), so a setter taking `impl Into<Value<E>>` accepts `"Enabled"`.
pub trait StringEnum: Sized {
    /// The variant spelled `s`, or the catch-all variant holding `s`.
    fn from_name(s: &str) -> Self;
    /// The value as CloudFormation spells it.
    fn as_str(&self) -> &str;
}

impl<E: StringEnum> From<&str> for Value<E> {
    fn from(s: &str) -> Self {
        Value::Literal(E::from_name(s))
    }
}

/// A list value: `list(["a", "b"])` or a list mixing literals and intrinsics.
pub fn list<T, U: Into<Value<T>>>(items: impl IntoIterator<Item = U>) -> Value<Vec<Value<T>>> {
    Value::Literal(items.into_iter().map(Into::into).collect())
}

/// A reference to a named condition of the stack, obtained from `Stack::add_condition`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ConditionRef(pub(crate) String);

impl ConditionRef {
    /// The condition's name in the template's `Conditions` section.
    pub fn name(&self) -> &str {
        &self.0
    }
}

/// A condition expression (`Fn::Equals`, `Fn::And`, `Fn::Or`, `Fn::Not`, `Condition`).
#[derive(Clone, Debug, PartialEq)]
pub struct Condition(pub(crate) Json);

impl Condition {
    /// `Fn::Equals`: true when both values are equal at deploy time.
    pub fn equals(a: impl Into<Value<String>>, b: impl Into<Value<String>>) -> Self {
        Condition(json!({"Fn::Equals": [a.into().to_json(), b.into().to_json()]}))
    }
    /// `Fn::And` over 2 to 10 conditions.
    pub fn and(conds: impl IntoIterator<Item = Condition>) -> Self {
        Condition(json!({"Fn::And": conds.into_iter().map(|c| c.0).collect::<Vec<_>>()}))
    }
    /// `Fn::Or` over 2 to 10 conditions.
    pub fn or(conds: impl IntoIterator<Item = Condition>) -> Self {
        Condition(json!({"Fn::Or": conds.into_iter().map(|c| c.0).collect::<Vec<_>>()}))
    }
    /// `Fn::Not`.
    #[allow(clippy::should_implement_trait)]
    pub fn not(c: Condition) -> Self {
        Condition(json!({"Fn::Not": [c.0]}))
    }
    /// A named condition used inside another condition (`{"Condition": "IsPrd"}`).
    pub fn named(c: &ConditionRef) -> Self {
        Condition(json!({"Condition": c.0}))
    }
    /// The condition as template JSON.
    pub fn as_json(&self) -> &Json {
        &self.0
    }
}

/// A mapping of the stack, obtained from `Stack::add_mapping`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MappingRef(pub(crate) String);

impl MappingRef {
    /// `Fn::FindInMap` on this mapping.
    pub fn find(
        &self,
        top_key: impl Into<Value<String>>,
        second_key: impl Into<Value<String>>,
    ) -> Value<String> {
        fns::find_in_map(self, top_key, second_key)
    }
    /// The mapping's name in the template's `Mappings` section.
    pub fn name(&self) -> &str {
        &self.0
    }
}

/// Intrinsic functions, typed by their result.
pub mod fns {
    use super::*;

    /// `Fn::Sub` with only references to template names (`${AWS::Region}`, `${MyBucket.Arn}`).
    pub fn sub(template: impl Into<String>) -> Value<String> {
        Value::intrinsic(json!({"Fn::Sub": template.into()}))
    }

    /// `Fn::Sub` with a variable map: `${Name}` in the template is replaced by `vars["Name"]`.
    pub fn sub_with<K: Into<String>>(
        template: impl Into<String>,
        vars: impl IntoIterator<Item = (K, Value<String>)>,
    ) -> Value<String> {
        let vars: serde_json::Map<String, Json> = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.to_json()))
            .collect();
        Value::intrinsic(json!({"Fn::Sub": [template.into(), vars]}))
    }

    /// `Fn::Join`: concatenates the parts with a delimiter. Adjacent literals are not merged so the
    /// template reads like the code that made it.
    pub fn join<U: Into<Value<String>>>(
        delimiter: &str,
        parts: impl IntoIterator<Item = U>,
    ) -> Value<String> {
        let parts: Vec<Json> = parts.into_iter().map(|p| p.into().to_json()).collect();
        Value::intrinsic(json!({"Fn::Join": [delimiter, parts]}))
    }

    /// `Fn::Join` over a list that is itself only known at deploy time.
    pub fn join_list(delimiter: &str, list: Value<Vec<Value<String>>>) -> Value<String> {
        Value::intrinsic(json!({"Fn::Join": [delimiter, list.to_json()]}))
    }

    /// `Fn::Select`: the `index`-th element of a list.
    pub fn select<T: Serialize>(index: u32, list: Value<Vec<Value<T>>>) -> Value<T> {
        Value::intrinsic(json!({"Fn::Select": [index, list.to_json()]}))
    }

    /// `Fn::Split`: a string cut at each delimiter.
    pub fn split(delimiter: &str, source: impl Into<Value<String>>) -> Value<Vec<Value<String>>> {
        Value::intrinsic(json!({"Fn::Split": [delimiter, source.into().to_json()]}))
    }

    /// `Fn::If`: `then` when the named condition holds, `otherwise` if not. Use
    /// [`super::pseudo::no_value`] as a branch to drop the property.
    pub fn if_<T: Serialize>(
        condition: &ConditionRef,
        then: impl Into<Value<T>>,
        otherwise: impl Into<Value<T>>,
    ) -> Value<T> {
        Value::intrinsic(json!({"Fn::If": [
            condition.0,
            then.into().to_json(),
            otherwise.into().to_json()
        ]}))
    }

    /// `Fn::ImportValue`: an output exported by another stack.
    pub fn import_value(export_name: impl Into<Value<String>>) -> Value<String> {
        Value::intrinsic(json!({"Fn::ImportValue": export_name.into().to_json()}))
    }

    /// `Fn::GetAZs`: the availability zones of a region (`""` means the stack's region).
    pub fn get_azs(region: impl Into<Value<String>>) -> Value<Vec<Value<String>>> {
        Value::intrinsic(json!({"Fn::GetAZs": region.into().to_json()}))
    }

    /// `Fn::Base64`.
    pub fn base64(v: impl Into<Value<String>>) -> Value<String> {
        Value::intrinsic(json!({"Fn::Base64": v.into().to_json()}))
    }

    /// `Fn::Cidr`: `count` CIDR blocks of `cidr_bits` host bits carved out of `ip_block`.
    pub fn cidr(
        ip_block: impl Into<Value<String>>,
        count: u32,
        cidr_bits: u32,
    ) -> Value<Vec<Value<String>>> {
        Value::intrinsic(json!({"Fn::Cidr": [ip_block.into().to_json(), count, cidr_bits]}))
    }

    /// `Fn::FindInMap`.
    pub fn find_in_map(
        map: &MappingRef,
        top_key: impl Into<Value<String>>,
        second_key: impl Into<Value<String>>,
    ) -> Value<String> {
        Value::intrinsic(json!({"Fn::FindInMap": [
            map.0,
            top_key.into().to_json(),
            second_key.into().to_json()
        ]}))
    }

    /// `Ref` to a template parameter or resource by logical ID, unchecked until synth-time
    /// validation. Prefer the handles returned when adding a resource or parameter.
    pub fn ref_logical_id<T>(logical_id: &str) -> Value<T> {
        Value::intrinsic(json!({"Ref": logical_id}))
    }

    /// `Fn::GetAtt` by logical ID and attribute name, unchecked until synth-time validation.
    /// Prefer the typed attribute methods on resource handles.
    pub fn get_att_unchecked<T>(logical_id: &str, attribute: &str) -> Value<T> {
        Value::intrinsic(json!({"Fn::GetAtt": [logical_id, attribute]}))
    }
}

/// CloudFormation pseudo parameters.
pub mod pseudo {
    use super::*;

    fn pseudo<T>(name: &str) -> Value<T> {
        Value::intrinsic(json!({"Ref": name}))
    }
    /// `AWS::Region`.
    pub fn region() -> Value<String> {
        pseudo("AWS::Region")
    }
    /// `AWS::AccountId`.
    pub fn account_id() -> Value<String> {
        pseudo("AWS::AccountId")
    }
    /// `AWS::Partition` (`aws`, `aws-cn`, `aws-us-gov`).
    pub fn partition() -> Value<String> {
        pseudo("AWS::Partition")
    }
    /// `AWS::StackName`.
    pub fn stack_name() -> Value<String> {
        pseudo("AWS::StackName")
    }
    /// `AWS::StackId`.
    pub fn stack_id() -> Value<String> {
        pseudo("AWS::StackId")
    }
    /// `AWS::URLSuffix` (`amazonaws.com` in most partitions).
    pub fn url_suffix() -> Value<String> {
        pseudo("AWS::URLSuffix")
    }
    /// `AWS::NotificationARNs`.
    pub fn notification_arns() -> Value<Vec<Value<String>>> {
        pseudo("AWS::NotificationARNs")
    }
    /// `AWS::NoValue`: removes the property it is assigned to (useful in an `Fn::If` branch).
    pub fn no_value<T>() -> Value<T> {
        pseudo("AWS::NoValue")
    }

    /// The names CloudFormation accepts in `Ref` without a declaration.
    pub const NAMES: &[&str] = &[
        "AWS::Region",
        "AWS::AccountId",
        "AWS::Partition",
        "AWS::StackName",
        "AWS::StackId",
        "AWS::URLSuffix",
        "AWS::NotificationARNs",
        "AWS::NoValue",
    ];
}

/// Dynamic references (`{{resolve:…}}`): values CloudFormation fetches at deploy time so they
/// never appear in the template.
pub mod dynamic {
    use super::*;

    fn resolve(prefix: &str, target: Value<String>, suffix: &str) -> Value<String> {
        match target {
            Value::Literal(s) => Value::Literal(format!("{{{{resolve:{prefix}:{s}{suffix}}}}}")),
            Value::Intrinsic(i) => fns::join(
                "",
                [
                    Value::Literal(format!("{{{{resolve:{prefix}:")),
                    Value::Intrinsic(i),
                    Value::Literal(format!("{suffix}}}}}")),
                ],
            ),
        }
    }

    /// `{{resolve:secretsmanager:<secret>:SecretString:<json_key>}}`; `json_key: None` takes
    /// the whole secret string. `secret` is a secret ARN or name (a handle's `reference()`).
    pub fn secrets_manager(
        secret: impl Into<Value<String>>,
        json_key: Option<&str>,
    ) -> Value<String> {
        let suffix = match json_key {
            Some(k) => format!(":SecretString:{k}"),
            None => ":SecretString".to_owned(),
        };
        resolve("secretsmanager", secret.into(), &suffix)
    }

    /// `{{resolve:ssm:<name>[:version]}}`: a plain SSM parameter.
    pub fn ssm(name: impl Into<Value<String>>, version: Option<u32>) -> Value<String> {
        let suffix = version.map(|v| format!(":{v}")).unwrap_or_default();
        resolve("ssm", name.into(), &suffix)
    }

    /// `{{resolve:ssm-secure:<name>[:version]}}`: a SecureString parameter (only some
    /// properties accept it; CloudFormation rejects the rest).
    pub fn ssm_secure(name: impl Into<Value<String>>, version: Option<u32>) -> Value<String> {
        let suffix = version.map(|v| format!(":{v}")).unwrap_or_default();
        resolve("ssm-secure", name.into(), &suffix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_and_list_serialize_plainly() {
        let v: Value<Vec<Value<String>>> = vec!["a", "b"].into();
        assert_eq!(v.to_json(), json!(["a", "b"]));
        let n: Value<i64> = 5u16.into();
        assert_eq!(n.to_json(), json!(5));
    }

    #[test]
    fn each_intrinsic_renders_in_cloudformation_form() {
        let r: Value<String> = fns::ref_logical_id("Bucket");
        assert_eq!(r.to_json(), json!({"Ref": "Bucket"}));
        assert_eq!(
            fns::get_att_unchecked::<String>("Db", "Endpoint.Address").to_json(),
            json!({"Fn::GetAtt": ["Db", "Endpoint.Address"]})
        );
        assert_eq!(
            fns::sub("${AWS::Region}-x").to_json(),
            json!({"Fn::Sub": "${AWS::Region}-x"})
        );
        assert_eq!(
            fns::sub_with("${A}/${B}", [("A", "x".into()), ("B", pseudo::region())]).to_json(),
            json!({"Fn::Sub": ["${A}/${B}", {"A": "x", "B": {"Ref": "AWS::Region"}}]})
        );
        assert_eq!(
            fns::join(",", ["a".into(), pseudo::account_id()]).to_json(),
            json!({"Fn::Join": [",", ["a", {"Ref": "AWS::AccountId"}]]})
        );
        assert_eq!(
            fns::select(1, fns::get_azs("")).to_json(),
            json!({"Fn::Select": [1, {"Fn::GetAZs": ""}]})
        );
        assert_eq!(
            fns::split(",", "a,b").to_json(),
            json!({"Fn::Split": [",", "a,b"]})
        );
        let c = ConditionRef("IsPrd".into());
        assert_eq!(
            fns::if_::<i64>(&c, 3, pseudo::no_value()).to_json(),
            json!({"Fn::If": ["IsPrd", 3, {"Ref": "AWS::NoValue"}]})
        );
        assert_eq!(
            fns::import_value("shared-vpc").to_json(),
            json!({"Fn::ImportValue": "shared-vpc"})
        );
        assert_eq!(fns::base64("hi").to_json(), json!({"Fn::Base64": "hi"}));
        assert_eq!(
            fns::cidr("10.0.0.0/16", 4, 8).to_json(),
            json!({"Fn::Cidr": ["10.0.0.0/16", 4, 8]})
        );
        let m = MappingRef("Region".into());
        assert_eq!(
            m.find(pseudo::region(), "Ami").to_json(),
            json!({"Fn::FindInMap": ["Region", {"Ref": "AWS::Region"}, "Ami"]})
        );
        assert_eq!(
            fns::join_list("-", fns::split(",", "a,b")).to_json(),
            json!({"Fn::Join": ["-", {"Fn::Split": [",", "a,b"]}]})
        );
    }

    #[test]
    fn intrinsics_are_recognised() {
        assert!(is_intrinsic(&json!({"Ref": "X"})));
        assert!(is_intrinsic(&json!({"Fn::If": ["C", 1, 2]})));
        assert!(!is_intrinsic(&json!({"Key": "X"})));
        assert!(!is_intrinsic(&json!({"Ref": "X", "Other": 1})));
    }

    #[test]
    fn pseudo_parameters_are_refs() {
        for (v, name) in [
            (pseudo::region(), "AWS::Region"),
            (pseudo::account_id(), "AWS::AccountId"),
            (pseudo::partition(), "AWS::Partition"),
            (pseudo::stack_name(), "AWS::StackName"),
            (pseudo::stack_id(), "AWS::StackId"),
            (pseudo::url_suffix(), "AWS::URLSuffix"),
            (pseudo::no_value(), "AWS::NoValue"),
        ] {
            assert_eq!(v.to_json(), json!({ "Ref": name }));
            assert!(pseudo::NAMES.contains(&name));
        }
        assert_eq!(
            pseudo::notification_arns().to_json(),
            json!({"Ref": "AWS::NotificationARNs"})
        );
    }

    #[test]
    fn conditions_nest() {
        let a = Condition::equals(fns::ref_logical_id::<String>("Env"), "prd");
        let b = Condition::not(Condition::named(&ConditionRef("HasZone".into())));
        assert_eq!(
            Condition::and([a.clone(), b]).as_json(),
            &json!({"Fn::And": [
                {"Fn::Equals": [{"Ref": "Env"}, "prd"]},
                {"Fn::Not": [{"Condition": "HasZone"}]}
            ]})
        );
        assert_eq!(
            Condition::or([a.clone(), a]).as_json()["Fn::Or"]
                .as_array()
                .map(Vec::len),
            Some(2)
        );
    }

    #[test]
    fn dynamic_references_stay_out_of_the_template() {
        assert_eq!(
            dynamic::secrets_manager("db-secret", Some("password")).to_json(),
            json!("{{resolve:secretsmanager:db-secret:SecretString:password}}")
        );
        assert_eq!(
            dynamic::secrets_manager(fns::ref_logical_id::<String>("Secret"), Some("password"))
                .to_json(),
            json!({"Fn::Join": ["", [
                "{{resolve:secretsmanager:",
                {"Ref": "Secret"},
                ":SecretString:password}}"
            ]]})
        );
        assert_eq!(
            dynamic::ssm("/dify/prd/x", Some(3)).to_json(),
            json!("{{resolve:ssm:/dify/prd/x:3}}")
        );
        assert_eq!(
            dynamic::ssm_secure("/a", None).to_json(),
            json!("{{resolve:ssm-secure:/a}}")
        );
    }
}
