//! Resource properties against their type's registry schema: shapes, required and unknown
//! properties, allowed values, lengths, ranges and patterns. Intrinsics are skipped: only
//! deploy time knows what they evaluate to.

use super::push_index;
use crate::diagnostics::Diagnostic;
use crate::pattern;
use crate::schema::{NumberRule, PropSpec, Shape, StringRule, TypeSchema};
use crate::value::{Json, is_intrinsic};

/// Checks a resource's `Properties` (`None` when it has none) against its type's schema;
/// problems are reported at the resource's construct path and logical ID.
pub(super) fn check(
    schema: &TypeSchema,
    properties: Option<&Json>,
    path: &str,
    id: &str,
    out: &mut Vec<Diagnostic>,
) {
    let Some(props) = properties else {
        // No Properties at all: only the required ones matter.
        for p in schema.properties.iter().filter(|p| p.required) {
            out.push(
                Diagnostic::error(
                    "missing-property",
                    path,
                    format!("required property '{}' is missing", p.name),
                )
                .at(id)
                .property(format!("Properties.{}", p.name)),
            );
        }
        return;
    };
    let mut ctx = SchemaCheck { path, id, out };
    ctx.object(
        props,
        schema.properties,
        schema.closed,
        &mut "Properties".to_owned(),
    );
}

/// Where a resource's problems are reported, and the list they go to.
struct SchemaCheck<'a> {
    path: &'a str,
    id: &'a str,
    out: &'a mut Vec<Diagnostic>,
}

impl SchemaCheck<'_> {
    fn err(&mut self, code: &'static str, at: &str, msg: String) {
        self.out.push(
            Diagnostic::error(code, self.path, msg)
                .at(self.id)
                .property(at.to_owned()),
        );
    }

    fn object(&mut self, v: &Json, props: &[PropSpec], closed: bool, at: &mut String) {
        if is_intrinsic(v) {
            return;
        }
        let Some(obj) = v.as_object() else {
            self.err(
                "type-mismatch",
                at,
                format!("expected an object, found {}", kind(v)),
            );
            return;
        };
        for p in props {
            match obj.get(p.name) {
                None if p.required => self.err(
                    "missing-property",
                    &format!("{at}.{}", p.name),
                    format!("required property '{}' is missing", p.name),
                ),
                None => {}
                Some(value) => {
                    let len = at.len();
                    at.push('.');
                    at.push_str(p.name);
                    self.value(value, &p.shape, at);
                    at.truncate(len);
                }
            }
        }
        if closed {
            for k in obj.keys() {
                if !props.iter().any(|p| p.name == k) {
                    let names: Vec<&str> = props.iter().map(|p| p.name).collect();
                    self.err(
                        "unknown-property",
                        &format!("{at}.{k}"),
                        format!("'{k}' is not a property here (known: {})", names.join(", ")),
                    );
                }
            }
        }
    }

    fn value(&mut self, v: &Json, shape: &Shape, at: &mut String) {
        if is_intrinsic(v) {
            return;
        }
        match shape {
            Shape::Any => {}
            Shape::String(rule) => match v {
                Json::String(s) => self.string(s, rule, at),
                Json::Number(_) | Json::Bool(_) => {}
                other => self.mismatch("a string", other, at),
            },
            Shape::Integer(rule) => self.number(v, rule, true, at),
            Shape::Number(rule) => self.number(v, rule, false, at),
            Shape::Boolean => {
                let ok = matches!(v, Json::Bool(_))
                    || matches!(v, Json::String(s) if s == "true" || s == "false");
                if !ok {
                    self.mismatch("a boolean", v, at);
                }
            }
            Shape::List {
                item,
                min_items,
                max_items,
            } => match v {
                Json::Array(a) => self.list(a, item, *min_items, *max_items, at),
                other => self.mismatch("a list", other, at),
            },
            Shape::Map(item) => match v {
                Json::Object(o) => {
                    let len = at.len();
                    for (k, x) in o {
                        at.push('.');
                        at.push_str(k);
                        self.value(x, item, at);
                        at.truncate(len);
                    }
                }
                other => self.mismatch("a map", other, at),
            },
            Shape::Object { properties, closed } => self.object(v, properties, *closed, at),
        }
    }

    fn mismatch(&mut self, expected: &str, found: &Json, at: &str) {
        self.err(
            "type-mismatch",
            at,
            format!("expected {expected}, found {}", kind(found)),
        );
    }

    /// A number, or a string holding one (CloudFormation accepts both).
    fn number(&mut self, v: &Json, rule: &NumberRule, integer: bool, at: &str) {
        let n = match v {
            Json::Number(n) => n.as_f64(),
            Json::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        let Some(n) = n else {
            return self.mismatch("a number", v, at);
        };
        if integer && n.fract() != 0.0 {
            self.err(
                "type-mismatch",
                at,
                format!("expected an integer, found {n}"),
            );
        }
        if let Some(min) = rule.minimum.filter(|m| n < *m) {
            self.err(
                "out-of-range",
                at,
                format!("{n} is below the minimum {min}"),
            );
        }
        if let Some(max) = rule.maximum.filter(|m| n > *m) {
            self.err(
                "out-of-range",
                at,
                format!("{n} is above the maximum {max}"),
            );
        }
    }

    fn list(
        &mut self,
        a: &[Json],
        item: &Shape,
        min_items: Option<u64>,
        max_items: Option<u64>,
        at: &mut String,
    ) {
        let n = a.len() as u64;
        if let Some(min) = min_items.filter(|m| n < *m) {
            self.err(
                "out-of-range",
                at,
                format!("{n} item(s), fewer than the minimum {min}"),
            );
        }
        if let Some(max) = max_items.filter(|m| n > *m) {
            self.err(
                "out-of-range",
                at,
                format!("{n} item(s), more than the maximum {max}"),
            );
        }
        let len = at.len();
        for (i, x) in a.iter().enumerate() {
            push_index(at, i);
            self.value(x, item, at);
            at.truncate(len);
        }
    }

    fn string(&mut self, s: &str, rule: &StringRule, at: &str) {
        // Dynamic references are replaced at deploy time; their text says nothing about the value.
        if s.contains("{{resolve:") {
            return;
        }
        if !rule.allowed.is_empty() && !rule.allowed.contains(&s) {
            self.err(
                "invalid-value",
                at,
                format!("'{s}' is not one of: {}", rule.allowed.join(", ")),
            );
        }
        let len = s.chars().count() as u64;
        if let Some(min) = rule.min_length.filter(|m| len < *m) {
            self.err(
                "invalid-length",
                at,
                format!("'{s}' is {len} characters, fewer than {min}"),
            );
        }
        if let Some(max) = rule.max_length.filter(|m| len > *m) {
            self.err(
                "invalid-length",
                at,
                format!("'{s}' is {len} characters, more than {max}"),
            );
        }
        if let Some(p) = rule.pattern
            && let Some(re) = pattern::compiled(p)
            && !re.is_match(s)
        {
            self.err(
                "invalid-pattern",
                at,
                format!("'{s}' does not match the pattern {p}"),
            );
        }
    }
}

fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "an object",
    }
}
