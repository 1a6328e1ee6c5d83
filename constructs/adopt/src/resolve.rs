//! What a property of our template will be once the resources it references exist, and
//! whether that equals what the Terraform state holds.

use indexmap::IndexMap;
use serde_json::{Map, Value};

/// What the plan knows about a resource that is imported: the values `Ref` and `Fn::GetAtt`
/// return for it are the existing resource's.
#[derive(Clone, Debug, Default)]
pub(crate) struct Known {
    /// `Ref`'s value (the identifier, when it has a single key).
    pub(crate) reference: Option<Value>,
    /// `Fn::GetAtt` attributes read from the state.
    pub(crate) attributes: IndexMap<String, Value>,
}

/// The value of a template expression, as far as the plan can tell.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Resolved {
    /// A value known now.
    Value(Value),
    /// A value of a resource our template creates: it cannot equal anything existing.
    New(String),
    /// Not decidable here (a dynamic reference, a parameter, an intrinsic not modelled).
    Unknown(String),
}

pub(crate) struct Resolver<'a> {
    pub(crate) resources: &'a Map<String, Value>,
    pub(crate) imported: &'a IndexMap<String, Known>,
}

const INTRINSICS: &[&str] = &[
    "Ref",
    "Fn::GetAtt",
    "Fn::Join",
    "Fn::Sub",
    "Fn::Select",
    "Fn::Split",
    "Fn::If",
    "Fn::ImportValue",
    "Fn::Base64",
    "Fn::GetAZs",
    "Fn::FindInMap",
    "Fn::Cidr",
];

/// The intrinsic function name when `v` is a one-key intrinsic object.
pub(crate) fn intrinsic(v: &Value) -> Option<(&str, &Value)> {
    let Value::Object(m) = v else { return None };
    if m.len() != 1 {
        return None;
    }
    let (k, arg) = m.iter().next()?;
    INTRINSICS
        .contains(&k.as_str())
        .then_some((k.as_str(), arg))
}

/// The logical IDs an expression references (`Ref`, `Fn::GetAtt`, `${X}` / `${X.Attr}` in
/// `Fn::Sub`), wherever they sit in it.
pub(crate) fn referenced_ids(v: &Value, out: &mut Vec<String>) {
    match intrinsic(v) {
        Some(("Ref", Value::String(id))) => out.push(id.clone()),
        Some(("Fn::GetAtt", arg)) => {
            if let Some(id) = getatt(arg).map(|(id, _)| id) {
                out.push(id);
            }
        }
        Some(("Fn::Sub", arg)) => {
            let text = match arg {
                Value::Array(a) => a.first().and_then(Value::as_str),
                other => other.as_str(),
            };
            for name in sub_names(text.unwrap_or_default()) {
                out.push(name.split('.').next().unwrap_or(&name).to_owned());
            }
            if let Some(Value::Object(vars)) = arg.get(1) {
                vars.values().for_each(|x| referenced_ids(x, out));
            }
        }
        _ => match v {
            Value::Array(a) => a.iter().for_each(|x| referenced_ids(x, out)),
            Value::Object(m) => m.values().for_each(|x| referenced_ids(x, out)),
            _ => {}
        },
    }
}

fn sub_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        if !name.starts_with('!') && !name.starts_with("AWS::") {
            names.push(name.to_owned());
        }
        rest = &after[end..];
    }
    names
}

fn getatt(arg: &Value) -> Option<(String, String)> {
    match arg {
        Value::Array(a) => Some((
            a.first()?.as_str()?.to_owned(),
            a.get(1)?.as_str()?.to_owned(),
        )),
        Value::String(s) => s
            .split_once('.')
            .map(|(id, at)| (id.to_owned(), at.to_owned())),
        _ => None,
    }
}

impl Resolver<'_> {
    pub(crate) fn resolve(&self, v: &Value) -> Resolved {
        match intrinsic(v) {
            Some(("Ref", Value::String(id))) => self.reference(id),
            Some(("Fn::GetAtt", arg)) => match getatt(arg) {
                Some((id, at)) => self.attribute(&id, &at),
                None => Resolved::Unknown("a malformed Fn::GetAtt".into()),
            },
            Some(("Fn::Join", Value::Array(a))) if a.len() == 2 => self.join(&a[0], &a[1]),
            Some((name, _)) => Resolved::Unknown(format!("{name} is not evaluated by the plan")),
            None => match v {
                Value::String(s) if s.contains("{{resolve:") => {
                    Resolved::Unknown("a dynamic reference, resolved by CloudFormation".into())
                }
                Value::Array(a) => self.all(a.iter().map(|x| self.resolve(x)), Value::Array),
                Value::Object(m) => {
                    let keys: Vec<&String> = m.keys().collect();
                    self.all(m.values().map(|x| self.resolve(x)), |vs| {
                        Value::Object(keys.iter().map(|k| (*k).clone()).zip(vs).collect())
                    })
                }
                other => Resolved::Value(other.clone()),
            },
        }
    }

    fn reference(&self, id: &str) -> Resolved {
        match self.imported.get(id) {
            Some(Known {
                reference: Some(v), ..
            }) => Resolved::Value(v.clone()),
            Some(_) => Resolved::Unknown(format!("Ref of {id}, whose identifier has several keys")),
            None if self.resources.contains_key(id) => Resolved::New(id.to_owned()),
            None => Resolved::Unknown(format!("Ref of {id}, a parameter or pseudo parameter")),
        }
    }

    fn attribute(&self, id: &str, at: &str) -> Resolved {
        match self.imported.get(id) {
            Some(k) => match k.attributes.get(at) {
                Some(v) => Resolved::Value(v.clone()),
                None => Resolved::Unknown(format!("{id}.{at} is not read from the state")),
            },
            None if self.resources.contains_key(id) => Resolved::New(format!("{id}.{at}")),
            None => Resolved::Unknown(format!("{id}.{at}: no such resource")),
        }
    }

    fn join(&self, sep: &Value, parts: &Value) -> Resolved {
        // A dynamic reference assembled from a new secret's ARN still yields the secret's
        // content, which may equal the existing value: undecidable, not different.
        let dynamic = parts.as_array().is_some_and(|p| {
            p.iter()
                .any(|x| x.as_str().is_some_and(|s| s.contains("{{resolve:")))
        });
        if dynamic {
            return Resolved::Unknown("a dynamic reference, resolved by CloudFormation".into());
        }
        let parts = match self.resolve(parts) {
            Resolved::Value(Value::Array(p)) => p,
            Resolved::Value(_) => return Resolved::Unknown("Fn::Join of a non-list".into()),
            other => return other,
        };
        let text: Vec<String> = parts
            .iter()
            .map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_owned))
            .collect();
        let joined = text.join(sep.as_str().unwrap_or_default());
        if joined.contains("{{resolve:") {
            return Resolved::Unknown("a dynamic reference, resolved by CloudFormation".into());
        }
        Resolved::Value(Value::String(joined))
    }

    /// New wins over Unknown: a value built from a new resource's can never match.
    fn all(
        &self,
        items: impl Iterator<Item = Resolved>,
        build: impl FnOnce(Vec<Value>) -> Value,
    ) -> Resolved {
        let mut values = Vec::new();
        let mut unknown = None;
        for r in items {
            match r {
                Resolved::Value(v) => values.push(v),
                Resolved::New(id) => return Resolved::New(id),
                Resolved::Unknown(why) => unknown = unknown.or(Some(why)),
            }
        }
        match unknown {
            Some(why) => Resolved::Unknown(why),
            None => Resolved::Value(build(values)),
        }
    }
}

/// The value at a `/`-separated path below a resource's `Properties`.
pub(crate) fn at_path<'v>(props: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('/').try_fold(props, |at, part| match at {
        Value::Object(m) => m.get(part),
        Value::Array(a) => a.get(part.parse::<usize>().ok()?),
        _ => None,
    })
}

/// Equality as CloudFormation and Terraform spell values: numbers and booleans may be strings
/// on one side; lists of scalars compare as sets (AWS returns security groups in any order).
pub(crate) fn same(ours: &Value, theirs: &Value, ignore_case: bool) -> bool {
    match (ours, theirs) {
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                return false;
            }
            if a.iter().chain(b).all(|v| !v.is_object() && !v.is_array()) {
                let key = |v: &Value| scalar(v, ignore_case);
                let mut x: Vec<String> = a.iter().map(key).collect();
                let mut y: Vec<String> = b.iter().map(key).collect();
                x.sort();
                y.sort();
                return x == y;
            }
            a.iter().zip(b).all(|(x, y)| same(x, y, ignore_case))
        }
        (Value::Object(a), Value::Object(b)) => a
            .iter()
            .all(|(k, v)| b.get(k).is_some_and(|w| same(v, w, ignore_case))),
        (Value::Object(_) | Value::Array(_), _) | (_, Value::Object(_) | Value::Array(_)) => false,
        (a, b) => scalar(a, ignore_case) == scalar(b, ignore_case),
    }
}

fn scalar(v: &Value, ignore_case: bool) -> String {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), |f| format!("{f}")),
        other => other.to_string(),
    };
    if ignore_case {
        text.to_lowercase()
    } else {
        text
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_and_booleans_match_their_strings_and_lists_are_sets() {
        assert!(same(&json!(5432), &json!("5432"), false));
        assert!(same(&json!(true), &json!("true"), false));
        assert!(same(&json!(["b", "a"]), &json!(["a", "b"]), false));
        assert!(!same(&json!(["a"]), &json!(["a", "b"]), false));
        assert!(!same(&json!("Sun:04:00"), &json!("sun:04:00"), false));
        assert!(same(&json!("Sun:04:00"), &json!("sun:04:00"), true));
        assert!(!same(&json!("16.9"), &json!("15.10"), false));
    }

    #[test]
    fn references_resolve_to_imported_values_or_to_new_resources() {
        let resources = json!({"Key": {}, "Group": {}});
        let mut imported = IndexMap::new();
        imported.insert(
            "Key".to_owned(),
            Known {
                reference: Some(json!("k-1")),
                attributes: [("Arn".to_owned(), json!("arn:k-1"))].into_iter().collect(),
            },
        );
        let r = Resolver {
            resources: resources.as_object().unwrap(),
            imported: &imported,
        };
        assert_eq!(
            r.resolve(&json!({"Fn::GetAtt": ["Key", "Arn"]})),
            Resolved::Value(json!("arn:k-1"))
        );
        assert_eq!(
            r.resolve(&json!([{"Ref": "Key"}, {"Ref": "Group"}])),
            Resolved::New("Group".into())
        );
        assert!(matches!(
            r.resolve(
                &json!({"Fn::Join": ["", ["{{resolve:secretsmanager:", {"Ref": "Key"}, "}}"]]})
            ),
            Resolved::Unknown(_)
        ));
        let mut ids = Vec::new();
        referenced_ids(
            &json!({"Fn::Sub": "${Key.Arn}/${AWS::Region}/${Group}"}),
            &mut ids,
        );
        assert_eq!(ids, ["Key", "Group"]);
    }
}
