//! Matching an expected JSON value, with matchers in it, against an actual one: the matchers
//! [`Match`] builds, the partial and exact comparison, and the mismatches it reports.

use std::fmt::Write as _;

use regex::Regex;
use serde::{Serialize, Serializer};
use serde_json::Map;
use thiserror::Error;

use crate::value::Json;

/// The key that marks a JSON object as a matcher. CloudFormation names never start with `$`.
const MATCH_KEY: &str = "$cfn-core:match";

/// Builders of matchers, to place anywhere in an expected JSON value.
///
/// ```
/// use cfn_core::assertions::Match;
/// use serde_json::json;
///
/// let actual = json!({
///     "Name": "dify-prd-api",
///     "Tags": [{"Key": "env", "Value": "prd"}, {"Key": "app", "Value": "dify"}],
///     "Port": 5001
/// });
/// assert!(Match::check(&json!({
///     "Name": Match::string_like_regexp("^dify-[a-z]+-api$"),
///     "Tags": Match::array_with(json!([{"Key": "app"}])),
///     "Port": Match::any_value(),
///     "Protocol": Match::absent(),
/// }), &actual).is_ok());
/// ```
#[derive(Debug)]
pub enum Match {}

/// A matcher built by [`Match`]. It serializes to a marker object, so it can be placed inside
/// `serde_json::json!` or converted into JSON with `.into()`.
#[derive(Clone, Debug, PartialEq)]
pub struct Matcher(Json);

impl Serialize for Matcher {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl From<Matcher> for Json {
    fn from(m: Matcher) -> Json {
        m.0
    }
}

fn matcher(kind: &str, pattern: Option<Json>) -> Matcher {
    let mut m = Map::new();
    m.insert(MATCH_KEY.to_owned(), Json::String(kind.to_owned()));
    if let Some(p) = pattern {
        m.insert("pattern".to_owned(), p);
    }
    Matcher(Json::Object(m))
}

impl Match {
    /// Any value, as long as it is present and not `null`.
    pub fn any_value() -> Matcher {
        matcher("any_value", None)
    }

    /// The key is missing (or `null`). Meaningful as the value of an object key.
    pub fn absent() -> Matcher {
        matcher("absent", None)
    }

    /// An array containing, in any order, an element matching each element of `items`
    /// (partially), each matched by a different element. A single non-array value stands for
    /// a one-element list.
    pub fn array_with(items: impl Into<Json>) -> Matcher {
        let items = match items.into() {
            Json::Array(a) => Json::Array(a),
            other => Json::Array(vec![other]),
        };
        matcher("array_with", Some(items))
    }

    /// A string in which the regular expression finds a match (anchor it with `^…$` for the
    /// whole string). An invalid expression fails the match and says why.
    pub fn string_like_regexp(pattern: &str) -> Matcher {
        matcher("string_like_regexp", Some(Json::String(pattern.to_owned())))
    }

    /// Exactly this value, all the way down: objects have exactly these keys and arrays
    /// exactly these elements. Matchers inside still apply ([`Match::object_like`] relaxes a
    /// subtree again).
    pub fn object_equals(pattern: impl Into<Json>) -> Matcher {
        matcher("object_equals", Some(pattern.into()))
    }

    /// The default partial match, to use inside [`Match::object_equals`].
    pub fn object_like(pattern: impl Into<Json>) -> Matcher {
        matcher("object_like", Some(pattern.into()))
    }

    /// Anything that does not match `pattern` (a missing key included).
    pub fn not(pattern: impl Into<Json>) -> Matcher {
        matcher("not", Some(pattern.into()))
    }

    /// Matches `actual` against `expected` (partially, with matchers), outside any template.
    /// Returns every mismatch found.
    pub fn check(expected: &Json, actual: &Json) -> Result<(), MatchFailure> {
        let mut out = Vec::new();
        check(expected, Some(actual), Mode::Partial, "", &mut out);
        if out.is_empty() {
            Ok(())
        } else {
            Err(MatchFailure { mismatches: out })
        }
    }
}

/// One difference between an expected and an actual value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// Where, from the value's root (`Properties.Rules[0].Name`); empty for the root itself.
    pub path: String,
    /// What was expected and what was found.
    pub message: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            write!(f, "at the root: {}", self.message)
        } else {
            write!(f, "at {}: {}", self.path, self.message)
        }
    }
}

/// Why a value does not match: every mismatch found.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("{} mismatch(es):\n{}", .mismatches.len(), list(.mismatches))]
pub struct MatchFailure {
    /// The mismatches, in the order of the expected value.
    pub mismatches: Vec<Mismatch>,
}

fn list(m: &[Mismatch]) -> String {
    m.iter()
        .map(|m| format!("  {m}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// How an expected object matches: with only the keys it lists, or with exactly those.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    Partial,
    Exact,
}

fn join_key(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn as_matcher(v: &Json) -> Option<(&str, Option<&Json>)> {
    let o = v.as_object()?;
    let kind = o.get(MATCH_KEY)?.as_str()?;
    Some((kind, o.get("pattern")))
}

fn equal_scalars(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// Compares `expected` with `actual` (`None`: the key is absent) at `path`, adding every
/// mismatch to `out`.
pub(super) fn check(
    expected: &Json,
    actual: Option<&Json>,
    mode: Mode,
    path: &str,
    out: &mut Vec<Mismatch>,
) {
    let mut miss = |message: String| {
        out.push(Mismatch {
            path: path.to_owned(),
            message,
        })
    };
    if let Some((kind, pattern)) = as_matcher(expected) {
        let null = Json::Null;
        let pattern = pattern.unwrap_or(&null);
        match kind {
            "any_value" => {
                if actual.is_none_or(Json::is_null) {
                    miss("expected a value (Match::any_value()), found none".to_owned());
                }
            }
            "absent" => {
                if let Some(a) = actual.filter(|a| !a.is_null()) {
                    miss(format!(
                        "expected no value (Match::absent()), found {}",
                        short(a)
                    ));
                }
            }
            "not" => {
                let mut inner = Vec::new();
                check(pattern, actual, mode, path, &mut inner);
                if inner.is_empty() {
                    miss(format!(
                        "expected anything but {}, found {}",
                        render(pattern),
                        actual.map_or_else(|| "nothing".to_owned(), short)
                    ));
                }
            }
            "object_equals" => check(pattern, actual, Mode::Exact, path, out),
            "object_like" => check(pattern, actual, Mode::Partial, path, out),
            "string_like_regexp" => {
                let p = pattern.as_str().unwrap_or_default();
                match (Regex::new(p), actual) {
                    (Err(e), _) => miss(format!("invalid regular expression /{p}/: {e}")),
                    (Ok(re), Some(Json::String(s))) => {
                        if !re.is_match(s) {
                            miss(format!(
                                "expected a string matching /{p}/, found {}",
                                short(&Json::String(s.clone()))
                            ));
                        }
                    }
                    (Ok(_), other) => miss(format!(
                        "expected a string matching /{p}/, found {}",
                        other.map_or_else(|| "nothing".to_owned(), short)
                    )),
                }
            }
            "array_with" => array_with(pattern, actual, path, out),
            other => miss(format!("unknown matcher '{other}'")),
        }
        return;
    }
    let Some(actual) = actual else {
        miss(format!("expected {}, found nothing", render(expected)));
        return;
    };
    match (expected, actual) {
        (Json::Object(e), Json::Object(a)) => {
            for (k, ev) in e {
                check(ev, a.get(k), mode, &join_key(path, k), out);
            }
            if mode == Mode::Exact {
                for (k, av) in a {
                    if !e.contains_key(k) {
                        out.push(Mismatch {
                            path: join_key(path, k),
                            message: format!(
                                "unexpected key (Match::object_equals), with {}",
                                short(av)
                            ),
                        });
                    }
                }
            }
        }
        (Json::Array(e), Json::Array(a)) => {
            if e.len() != a.len() {
                miss(format!(
                    "expected an array of {} element(s), found {}: {}",
                    e.len(),
                    a.len(),
                    short(actual)
                ));
                return;
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                check(ev, Some(av), mode, &format!("{path}[{i}]"), out);
            }
        }
        (Json::Object(_), _) | (Json::Array(_), _) => miss(format!(
            "expected {} {}, found {}",
            kind_of(expected),
            render(expected),
            short(actual)
        )),
        _ => {
            if !equal_scalars(expected, actual) {
                miss(format!(
                    "expected {}, found {}",
                    render(expected),
                    short(actual)
                ));
            }
        }
    }
}

/// Each pattern element needs its own actual element: a bipartite matching (Kuhn's augmenting
/// paths), so an order that a greedy pass would get wrong still matches.
fn array_with(pattern: &Json, actual: Option<&Json>, path: &str, out: &mut Vec<Mismatch>) {
    let items: &[Json] = pattern.as_array().map_or(&[], Vec::as_slice);
    let Some(Json::Array(elems)) = actual else {
        out.push(Mismatch {
            path: path.to_owned(),
            message: format!(
                "expected an array containing {}, found {}",
                render(pattern),
                actual.map_or_else(|| "nothing".to_owned(), short)
            ),
        });
        return;
    };
    let fits: Vec<Vec<usize>> = items
        .iter()
        .map(|p| {
            (0..elems.len())
                .filter(|&j| {
                    let mut m = Vec::new();
                    check(p, Some(&elems[j]), Mode::Partial, "", &mut m);
                    m.is_empty()
                })
                .collect()
        })
        .collect();
    fn augment(
        i: usize,
        fits: &[Vec<usize>],
        owner: &mut [Option<usize>],
        seen: &mut [bool],
    ) -> bool {
        for &j in &fits[i] {
            if seen[j] {
                continue;
            }
            seen[j] = true;
            if owner[j].is_none_or(|k| augment(k, fits, owner, seen)) {
                owner[j] = Some(i);
                return true;
            }
        }
        false
    }
    let mut owner = vec![None; elems.len()];
    for (i, p) in items.iter().enumerate() {
        let mut seen = vec![false; elems.len()];
        if augment(i, &fits, &mut owner, &mut seen) {
            continue;
        }
        if !fits[i].is_empty() {
            out.push(Mismatch {
                path: path.to_owned(),
                message: format!(
                    "expected an array containing {} (Match::array_with), but the elements that match it are taken by other expected elements; found {}",
                    render(p),
                    short(&Json::Array(elems.clone()))
                ),
            });
            continue;
        }
        // Nothing matches: show how the closest element differs, at full paths.
        let closest = elems
            .iter()
            .enumerate()
            .map(|(j, e)| {
                let mut m = Vec::new();
                check(p, Some(e), Mode::Partial, &format!("{path}[{j}]"), &mut m);
                (j, m)
            })
            .min_by_key(|(_, m)| m.len());
        let (detail, inner) = match closest {
            Some((j, m)) => (format!("; the closest is [{j}]:"), m),
            None => (" (the array is empty)".to_owned(), Vec::new()),
        };
        out.push(Mismatch {
            path: path.to_owned(),
            message: format!(
                "expected an array containing {} (Match::array_with), but none of its {} element(s) matches it{detail}",
                render(p),
                elems.len()
            ),
        });
        out.extend(inner);
    }
}

fn kind_of(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// Compact JSON, cut to a readable length.
fn short(v: &Json) -> String {
    let s = v.to_string();
    if s.chars().count() > 200 {
        let cut: String = s.chars().take(197).collect();
        format!("{cut}…")
    } else {
        s
    }
}

/// An expected value as text, matchers written the way they are built.
pub(super) fn render(v: &Json) -> String {
    let mut s = String::new();
    render_into(v, &mut s);
    if s.chars().count() > 300 {
        let cut: String = s.chars().take(297).collect();
        format!("{cut}…")
    } else {
        s
    }
}

fn render_into(v: &Json, s: &mut String) {
    if let Some((kind, pattern)) = as_matcher(v) {
        let _ = write!(s, "Match::{kind}(");
        match (kind, pattern) {
            ("string_like_regexp", Some(Json::String(p))) => {
                let _ = write!(s, "{p:?}");
            }
            (_, Some(p)) => render_into(p, s),
            (_, None) => {}
        }
        s.push(')');
        return;
    }
    match v {
        Json::Object(o) => {
            s.push('{');
            for (i, (k, v)) in o.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                let _ = write!(s, "{}: ", Json::String(k.clone()));
                render_into(v, s);
            }
            s.push('}');
        }
        Json::Array(a) => {
            s.push('[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                render_into(v, s);
            }
            s.push(']');
        }
        other => s.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests;
