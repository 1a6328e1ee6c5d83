//! Assertions on synthesized templates, for tests: the AWS CDK's
//! `Template.fromStack(stack).hasResourceProperties(...)`, in Rust.
//!
//! [`Template::from_stack`] synthesizes a stack (and panics with every synthesis error if it
//! is invalid: this is a test helper). Its assertions panic with a message that names the
//! closest candidate, the path of each mismatch, and what was expected against what was found,
//! at the caller's line (`#[track_caller]`).
//!
//! Expected values are JSON, matched *partially*: an object matches when every key it lists
//! matches (other keys are ignored), an array when it has the same length and each element
//! matches, a scalar when it is equal (numbers by value: `4` matches `4.0`). [`Match`] builds
//! matchers that can stand anywhere in the expected JSON: [`Match::any_value`],
//! [`Match::absent`], [`Match::array_with`], [`Match::string_like_regexp`],
//! [`Match::object_equals`], [`Match::object_like`] and [`Match::not`].
//!
//! ```
//! use cfn_core::assertions::{Match, Template};
//! use cfn_core::{RemovalPolicy, Stack};
//! use serde_json::json;
//!
//! let mut stack = Stack::new("Files");
//! stack.add_tag("team", "platform");
//! let bucket = stack.root().add_raw(
//!     "Bucket",
//!     "AWS::S3::Bucket",
//!     None,
//!     json!({"VersioningConfiguration": {"Status": "Enabled"}}),
//! );
//! stack.resource(&bucket).removal_policy(RemovalPolicy::Retain);
//!
//! let template = Template::from_stack(&stack);
//! template.resource_count_is("AWS::S3::Bucket", 1);
//! template.has_resource_properties(
//!     "AWS::S3::Bucket",
//!     json!({
//!         "VersioningConfiguration": {"Status": "Enabled"},
//!         "BucketName": Match::absent(),
//!     }),
//! );
//! template.has_resource(
//!     "AWS::S3::Bucket",
//!     json!({"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}),
//! );
//! assert_eq!(template.logical_id_at("Files/Bucket"), "Bucket");
//! ```
//!
//! A failed assertion reads:
//!
//! ```text
//! no AWS::S3::Bucket has the expected properties (1 resource of that type)
//! closest: Bucket (Files/Bucket), 1 mismatch:
//!   at Properties.VersioningConfiguration.Status: expected "Suspended", found "Enabled"
//! expected (partial match): {"VersioningConfiguration": {"Status": "Suspended"}}
//! Properties of Bucket:
//!   { … }
//! ```

use std::fmt::Write as _;

use indexmap::IndexMap;
use regex::Regex;
use serde::{Serialize, Serializer};
use serde_json::{Map, json};
use thiserror::Error;

use crate::rules::Finding;
use crate::stack::Stack;
use crate::synth::{PATH_METADATA_KEY, Synthesized};
use crate::value::Json;

/// The key that marks a JSON object as a matcher. CloudFormation names never start with `$`.
const MATCH_KEY: &str = "$cfn-core:match";
/// How many lines of a candidate's JSON a failure message shows.
const MAX_LINES: usize = 60;
/// How many mismatches of the closest candidate a failure message lists.
const MAX_MISMATCHES: usize = 10;

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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
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

fn check(expected: &Json, actual: Option<&Json>, mode: Mode, path: &str, out: &mut Vec<Mismatch>) {
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
fn render(v: &Json) -> String {
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

/// Pretty JSON, indented, at most [`MAX_LINES`] lines.
fn pretty(v: &Json) -> String {
    let text = serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string());
    let lines: Vec<&str> = text.lines().collect();
    let mut out: String = lines
        .iter()
        .take(MAX_LINES)
        .map(|l| format!("  {l}\n"))
        .collect();
    if lines.len() > MAX_LINES {
        let _ = writeln!(out, "  … ({} more lines)", lines.len() - MAX_LINES);
    }
    out
}

/// A synthesized template to assert on.
#[derive(Clone, Debug)]
pub struct Template {
    template: Json,
    /// Logical ID → construct path.
    paths: IndexMap<String, String>,
    /// Findings and suppressed findings, when the template came from a stack with guardrails.
    guardrails: Option<Guardrails>,
    stack_name: String,
}

#[derive(Clone, Debug)]
struct Guardrails {
    findings: Vec<Finding>,
    suppressed: Vec<Finding>,
}

/// What a resource check looks at.
#[derive(Clone, Copy)]
enum Part {
    Properties,
    Whole,
}

impl Template {
    /// Synthesizes `stack` and wraps the result.
    ///
    /// # Panics
    ///
    /// When the stack does not synthesize, with every error (a test helper: an invalid stack
    /// fails the test that builds it). Error findings of enforced guardrails are such errors.
    #[track_caller]
    pub fn from_stack(stack: &Stack) -> Template {
        match stack.synth() {
            Ok(s) => {
                let mut t = Template::from_synthesized(&s);
                if stack.guardrails().is_none() {
                    t.guardrails = None;
                }
                t
            }
            Err(e) => panic!("Template::from_stack: the stack does not synthesize: {e}"),
        }
    }

    /// Wraps an already synthesized stack, with its guardrail findings.
    pub fn from_synthesized(synthesized: &Synthesized) -> Template {
        Template {
            template: synthesized.template.clone(),
            paths: synthesized.paths.clone(),
            guardrails: Some(Guardrails {
                findings: synthesized.findings.clone(),
                suppressed: synthesized.suppressed.clone(),
            }),
            stack_name: synthesized.stack_name.clone(),
        }
    }

    /// Wraps a template from JSON (a file in `cfn-out/`, say). Construct paths are read from
    /// each resource's `Metadata["aws:cdk:path"]`; there are no guardrail findings to assert on.
    pub fn from_json(template: impl Into<Json>) -> Template {
        let template = template.into();
        let paths = template
            .get("Resources")
            .and_then(Json::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(id, r)| {
                let p = r.get("Metadata")?.get(PATH_METADATA_KEY)?.as_str()?;
                Some((id.clone(), p.to_owned()))
            })
            .collect();
        Template {
            template,
            paths,
            guardrails: None,
            stack_name: String::new(),
        }
    }

    /// The template.
    pub fn json(&self) -> &Json {
        &self.template
    }

    fn resources(&self) -> impl Iterator<Item = (&str, &Json)> {
        self.template
            .get("Resources")
            .and_then(Json::as_object)
            .into_iter()
            .flatten()
            .map(|(id, r)| (id.as_str(), r))
    }

    fn of_type(&self, type_name: &str) -> impl Iterator<Item = (&str, &Json)> + use<'_> {
        let type_name = type_name.to_owned();
        self.resources()
            .filter(move |(_, r)| r.get("Type").and_then(Json::as_str) == Some(type_name.as_str()))
    }

    fn named(&self, logical_id: &str) -> String {
        match self.paths.get(logical_id) {
            Some(p) => format!("{logical_id} ({p})"),
            None => logical_id.to_owned(),
        }
    }

    /// The logical ID of the resource at a construct path (`Demo/Storage/Files`).
    ///
    /// # Panics
    ///
    /// When no resource has that path; the message lists the paths that exist.
    #[track_caller]
    pub fn logical_id_at(&self, construct_path: &str) -> &str {
        if let Some((id, _)) = self.paths.iter().find(|(_, p)| *p == construct_path) {
            return id;
        }
        let mut known: Vec<&str> = self.paths.values().map(String::as_str).collect();
        known.sort_unstable();
        panic!(
            "no resource at construct path '{construct_path}'; resources are at:\n{}",
            known
                .iter()
                .map(|p| format!("  {p}"))
                .collect::<Vec<_>>()
                .join("\n")
        )
    }

    /// Asserts that the template has exactly `count` resources of a type.
    ///
    /// # Panics
    ///
    /// With the resources of that type that were found.
    #[track_caller]
    pub fn resource_count_is(&self, type_name: &str, count: usize) {
        if let Err(e) = self.try_resource_count_is(type_name, count) {
            panic!("{e}");
        }
    }

    fn try_resource_count_is(&self, type_name: &str, count: usize) -> Result<(), String> {
        let found: Vec<&str> = self.of_type(type_name).map(|(id, _)| id).collect();
        if found.len() == count {
            return Ok(());
        }
        let mut msg = format!(
            "expected {count} resource(s) of type {type_name}, found {}",
            found.len()
        );
        if found.is_empty() {
            msg.push_str(&self.types_hint(type_name));
        } else {
            msg.push(':');
            for id in found {
                let _ = write!(msg, "\n  {}", self.named(id));
            }
        }
        Err(msg)
    }

    /// Asserts that some resource of the type has `Properties` matching `props` (partially;
    /// see the module documentation and [`Match`]). A resource without `Properties` is
    /// matched as `{}`.
    ///
    /// # Panics
    ///
    /// With the closest candidate: its logical ID and construct path, each mismatch's path
    /// with the expected and actual values, and the candidate's properties.
    #[track_caller]
    pub fn has_resource_properties(&self, type_name: &str, props: impl Into<Json>) {
        if let Err(e) = self.try_has(type_name, &props.into(), Part::Properties) {
            panic!("{e}");
        }
    }

    /// Asserts that some resource of the type matches `resource` as a whole (partially):
    /// `Properties`, `DeletionPolicy`, `UpdateReplacePolicy`, `DependsOn`, `Condition`,
    /// `Metadata`…
    ///
    /// # Panics
    ///
    /// As [`Template::has_resource_properties`].
    #[track_caller]
    pub fn has_resource(&self, type_name: &str, resource: impl Into<Json>) {
        if let Err(e) = self.try_has(type_name, &resource.into(), Part::Whole) {
            panic!("{e}");
        }
    }

    /// The resources of a type whose whole definition matches `pattern` (partially, as
    /// [`Template::has_resource`]; `json!({})` finds every resource of the type), as
    /// `(logical ID, resource)` pairs in template order.
    pub fn find_resources(&self, type_name: &str, pattern: impl Into<Json>) -> Vec<(&str, &Json)> {
        let pattern = pattern.into();
        self.of_type(type_name)
            .filter(|(_, r)| {
                let mut m = Vec::new();
                check(&pattern, Some(r), Mode::Partial, "", &mut m);
                m.is_empty()
            })
            .collect()
    }

    fn try_has(&self, type_name: &str, expected: &Json, part: Part) -> Result<(), String> {
        let empty = json!({});
        let mut scored: Vec<(&str, &Json, Vec<Mismatch>)> = Vec::new();
        for (id, r) in self.of_type(type_name) {
            let (actual, root) = match part {
                Part::Properties => (r.get("Properties").unwrap_or(&empty), "Properties"),
                Part::Whole => (r, ""),
            };
            let mut m = Vec::new();
            check(expected, Some(actual), Mode::Partial, root, &mut m);
            if m.is_empty() {
                return Ok(());
            }
            scored.push((id, actual, m));
        }
        let what = match part {
            Part::Properties => "has the expected properties",
            Part::Whole => "matches the expected resource",
        };
        if scored.is_empty() {
            return Err(format!(
                "no {type_name} {what}: the template has no resource of that type{}",
                self.types_hint(type_name)
            ));
        }
        let total = scored.len();
        // The closest: fewest mismatches, the first in template order on a tie.
        scored.sort_by_key(|(_, _, m)| m.len());
        let (id, actual, mismatches) = &scored[0];
        let mut msg = format!(
            "no {type_name} {what} ({total} resource{} of that type)\nclosest: {}, {} mismatch{}:",
            if total == 1 { "" } else { "s" },
            self.named(id),
            mismatches.len(),
            if mismatches.len() == 1 { "" } else { "es" }
        );
        for m in mismatches.iter().take(MAX_MISMATCHES) {
            let _ = write!(msg, "\n  {m}");
        }
        if mismatches.len() > MAX_MISMATCHES {
            let _ = write!(msg, "\n  … and {} more", mismatches.len() - MAX_MISMATCHES);
        }
        let _ = write!(msg, "\nexpected (partial match): {}", render(expected));
        let label = match part {
            Part::Properties => "Properties of",
            Part::Whole => "Resource",
        };
        let _ = write!(msg, "\n{label} {id}:\n{}", pretty(actual));
        if total > 1 {
            let others: Vec<String> = scored[1..]
                .iter()
                .take(5)
                .map(|(id, _, m)| format!("{id} ({} mismatches)", m.len()))
                .collect();
            let _ = write!(msg, "other candidates: {}", others.join(", "));
            if total > 6 {
                let _ = write!(msg, ", … {} more", total - 6);
            }
        }
        Err(msg)
    }

    fn types_hint(&self, type_name: &str) -> String {
        let mut counts: IndexMap<&str, usize> = IndexMap::new();
        for (_, r) in self.resources() {
            if let Some(t) = r.get("Type").and_then(Json::as_str) {
                *counts.entry(t).or_default() += 1;
            }
        }
        if counts.is_empty() {
            return " (it has no resources at all)".to_owned();
        }
        let mut s = String::new();
        if let Some(t) = counts
            .keys()
            .find(|t| t.eq_ignore_ascii_case(type_name) && **t != type_name)
        {
            let _ = write!(s, "; did you mean {t}?");
        }
        counts.sort_keys();
        let listed: Vec<String> = counts.iter().map(|(t, n)| format!("{t} ({n})")).collect();
        let _ = write!(s, "\ntypes present: {}", listed.join(", "));
        s
    }

    /// Asserts that an output matches `output` (partially: `Value`, `Description`, `Export`,
    /// `Condition`). `name` `"*"` accepts any output.
    ///
    /// # Panics
    ///
    /// With the outputs that exist, or the mismatches of the named one.
    #[track_caller]
    pub fn has_output(&self, name: &str, output: impl Into<Json>) {
        if let Err(e) = self.try_section("Outputs", "output", name, &output.into()) {
            panic!("{e}");
        }
    }

    /// Asserts that a parameter matches `parameter` (partially: `Type`, `Default`,
    /// `AllowedValues`, `NoEcho`…). `name` `"*"` accepts any parameter.
    ///
    /// # Panics
    ///
    /// As [`Template::has_output`].
    #[track_caller]
    pub fn has_parameter(&self, name: &str, parameter: impl Into<Json>) {
        if let Err(e) = self.try_section("Parameters", "parameter", name, &parameter.into()) {
            panic!("{e}");
        }
    }

    fn try_section(
        &self,
        section: &str,
        what: &str,
        name: &str,
        expected: &Json,
    ) -> Result<(), String> {
        let items = self.template.get(section).and_then(Json::as_object);
        let names: Vec<&str> = items
            .into_iter()
            .flatten()
            .map(|(k, _)| k.as_str())
            .collect();
        let candidates: Vec<(&String, &Json)> = items
            .into_iter()
            .flatten()
            .filter(|(k, _)| name == "*" || k.as_str() == name)
            .collect();
        if candidates.is_empty() {
            return Err(if names.is_empty() {
                format!("no {what} '{name}': the template has no {section}")
            } else {
                format!("no {what} '{name}'; the template has: {}", names.join(", "))
            });
        }
        let mut best: Option<(&String, &Json, Vec<Mismatch>)> = None;
        for (k, v) in candidates {
            let mut m = Vec::new();
            check(
                expected,
                Some(v),
                Mode::Partial,
                &format!("{section}.{k}"),
                &mut m,
            );
            if m.is_empty() {
                return Ok(());
            }
            if best.as_ref().is_none_or(|(_, _, b)| m.len() < b.len()) {
                best = Some((k, v, m));
            }
        }
        let Some((k, v, mismatches)) = best else {
            return Ok(());
        };
        let mut msg = format!(
            "{what} '{name}' does not match{}:",
            if name == "*" {
                format!(" (closest: {k})")
            } else {
                String::new()
            }
        );
        for m in mismatches.iter().take(MAX_MISMATCHES) {
            let _ = write!(msg, "\n  {m}");
        }
        let _ = write!(
            msg,
            "\nexpected (partial match): {}\n{k}:\n{}",
            render(expected),
            pretty(v)
        );
        Err(msg)
    }

    #[track_caller]
    fn guardrails(&self) -> &Guardrails {
        match &self.guardrails {
            Some(g) => g,
            None if self.stack_name.is_empty() => panic!(
                "this Template was built from JSON: guardrail findings come from a synthesized stack (Template::from_stack)"
            ),
            None => panic!(
                "stack '{}' has no guardrails: set them with Stack::set_guardrails before asserting on findings",
                self.stack_name
            ),
        }
    }

    /// The unsuppressed guardrail findings of a rule (`"*"`: of every rule).
    ///
    /// # Panics
    ///
    /// When the template has no guardrail results (built from JSON, or from a stack without
    /// guardrails), so that a test cannot pass by checking nothing.
    #[track_caller]
    pub fn findings(&self, rule_id: &str) -> Vec<&Finding> {
        self.guardrails()
            .findings
            .iter()
            .filter(|f| rule_id == "*" || f.rule_id == rule_id)
            .collect()
    }

    /// The findings of a rule (`"*"`: of every rule) that a suppression covers, each with the
    /// suppression's reason in [`Finding::suppressed`].
    ///
    /// # Panics
    ///
    /// As [`Template::findings`].
    #[track_caller]
    pub fn suppressed(&self, rule_id: &str) -> Vec<&Finding> {
        self.guardrails()
            .suppressed
            .iter()
            .filter(|f| rule_id == "*" || f.rule_id == rule_id)
            .collect()
    }

    /// Asserts that the rule (`"*"`: any rule) reported at least one unsuppressed finding.
    ///
    /// # Panics
    ///
    /// When it did not, saying which findings exist and whether the rule's were suppressed;
    /// or as [`Template::findings`].
    #[track_caller]
    pub fn has_findings(&self, rule_id: &str) {
        if let Err(e) = self.try_has_findings(rule_id) {
            panic!("{e}");
        }
    }

    fn try_has_findings(&self, rule_id: &str) -> Result<(), String> {
        if !self.findings(rule_id).is_empty() {
            return Ok(());
        }
        let mut msg = format!("expected findings of rule '{rule_id}', found none");
        let suppressed = self.suppressed(rule_id);
        if !suppressed.is_empty() {
            let _ = write!(msg, "; {} are suppressed:", suppressed.len());
            for f in suppressed {
                let _ = write!(
                    msg,
                    "\n  {} ({}): {}",
                    f.construct_path,
                    f.logical_id,
                    f.suppressed.as_deref().unwrap_or_default()
                );
            }
        }
        let others = self.findings("*");
        if others.is_empty() {
            msg.push_str("\nthe stack has no unsuppressed findings at all");
        } else {
            msg.push_str("\nfindings present:");
            for f in others {
                let _ = write!(msg, "\n  {f}");
            }
        }
        Err(msg)
    }

    /// Asserts that the rule (`"*"`: every rule) reported no unsuppressed finding.
    ///
    /// # Panics
    ///
    /// With every such finding; or as [`Template::findings`].
    #[track_caller]
    pub fn has_no_findings(&self, rule_id: &str) {
        if let Err(e) = self.try_has_no_findings(rule_id) {
            panic!("{e}");
        }
    }

    fn try_has_no_findings(&self, rule_id: &str) -> Result<(), String> {
        let found = self.findings(rule_id);
        if found.is_empty() {
            return Ok(());
        }
        let mut msg = format!(
            "expected no findings of {}, found {}:",
            if rule_id == "*" {
                "any rule".to_owned()
            } else {
                format!("rule '{rule_id}'")
            },
            found.len()
        );
        for f in found {
            let _ = write!(msg, "\n  {f}");
        }
        Err(msg)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::rules::{Enforcement, Rule, RuleContext, RulePack};
    use crate::{RemovalPolicy, Severity};

    fn ok(expected: Json, actual: Json) {
        if let Err(e) = Match::check(&expected, &actual) {
            panic!("expected a match: {e}");
        }
    }

    fn fails(expected: Json, actual: Json) -> Vec<Mismatch> {
        match Match::check(&expected, &actual) {
            Ok(()) => panic!("expected a mismatch of {expected} against {actual}"),
            Err(e) => e.mismatches,
        }
    }

    #[test]
    fn objects_match_partially_and_recursively() {
        let actual = json!({"A": 1, "B": {"C": "x", "D": [1, 2]}, "E": true});
        ok(json!({}), actual.clone());
        ok(json!({"B": {"C": "x"}}), actual.clone());
        let m = fails(json!({"B": {"C": "y"}, "E": false}), actual);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].path, "B.C");
        assert_eq!(m[0].message, r#"expected "y", found "x""#);
        assert_eq!(m[1].path, "E");
    }

    #[test]
    fn a_missing_key_is_a_mismatch_naming_what_was_expected() {
        let m = fails(json!({"A": {"B": 1}}), json!({"A": {}}));
        assert_eq!(m[0].path, "A.B");
        assert_eq!(m[0].message, "expected 1, found nothing");
    }

    #[test]
    fn arrays_need_the_same_length_and_match_element_wise() {
        let actual = json!([{"K": "a", "V": 1}, {"K": "b", "V": 2}]);
        ok(json!([{"K": "a"}, {"K": "b"}]), actual.clone());
        let m = fails(json!([{"K": "a"}]), actual.clone());
        assert_eq!(m[0].path, "");
        assert!(
            m[0].message
                .starts_with("expected an array of 1 element(s), found 2")
        );
        let m = fails(json!([{"K": "b"}, {"K": "a"}]), actual);
        assert_eq!(m[0].path, "[0].K");
        assert_eq!(m[1].path, "[1].K");
    }

    #[test]
    fn numbers_compare_by_value_and_types_do_not_coerce() {
        ok(json!({"N": 4}), json!({"N": 4.0}));
        let m = fails(json!({"N": "4"}), json!({"N": 4}));
        assert_eq!(m[0].message, r#"expected "4", found 4"#);
        let m = fails(json!({"N": {"X": 1}}), json!({"N": [1]}));
        assert_eq!(m[0].message, r#"expected an object {"X": 1}, found [1]"#);
    }

    #[test]
    fn any_value_needs_a_present_non_null_value() {
        ok(json!({"A": Match::any_value()}), json!({"A": [1]}));
        let m = fails(json!({"A": Match::any_value()}), json!({"A": null}));
        assert_eq!(
            m[0].message,
            "expected a value (Match::any_value()), found none"
        );
        fails(json!({"A": Match::any_value()}), json!({}));
    }

    #[test]
    fn absent_needs_the_key_missing() {
        ok(json!({"A": Match::absent()}), json!({"B": 1}));
        ok(json!({"A": Match::absent()}), json!({"A": null}));
        let m = fails(json!({"A": Match::absent()}), json!({"A": "x"}));
        assert_eq!(m[0].path, "A");
        assert_eq!(
            m[0].message,
            r#"expected no value (Match::absent()), found "x""#
        );
    }

    #[test]
    fn array_with_finds_each_element_anywhere_each_once() {
        let tags = json!([{"Key": "app", "Value": "dify"}, {"Key": "env", "Value": "prd"}]);
        ok(
            json!(Match::array_with(json!([{"Key": "env"}, {"Key": "app"}]))),
            tags.clone(),
        );
        ok(
            json!(Match::array_with(json!({"Value": "prd"}))),
            tags.clone(),
        );
        let m = fails(
            json!(Match::array_with(json!([{"Key": "env", "Value": "dev"}]))),
            tags,
        );
        assert_eq!(
            m[0].message,
            r#"expected an array containing {"Key": "env", "Value": "dev"} (Match::array_with), but none of its 2 element(s) matches it; the closest is [1]:"#
        );
        // The closest element's differences follow, at full paths.
        assert_eq!(m[1].path, "[1].Value");
        assert_eq!(m[1].message, r#"expected "dev", found "prd""#);
        let m = fails(json!(Match::array_with(json!([1]))), json!([]));
        assert!(
            m[0].message.ends_with("(the array is empty)"),
            "{}",
            m[0].message
        );
        // Two expected elements cannot share one actual element.
        let m = fails(
            json!(Match::array_with(json!([{"A": 1}, {"A": 1}]))),
            json!([{"A": 1}]),
        );
        assert!(m[0].message.contains("taken by other expected elements"));
        // A greedy pass would give the first element to the first pattern and fail.
        ok(
            json!(Match::array_with(json!([{"X": 1}, {"Y": 2}]))),
            json!([{"X": 1, "Y": 2}, {"X": 1}]),
        );
        let m = fails(
            json!({"L": Match::array_with(json!([1]))}),
            json!({"L": "1"}),
        );
        assert_eq!(m[0].path, "L");
        assert!(m[0].message.contains("found \"1\""));
    }

    #[test]
    fn string_like_regexp_searches_strings_and_reports_bad_patterns() {
        ok(
            json!(Match::string_like_regexp("^dify-(dev|prd)$")),
            json!("dify-prd"),
        );
        ok(
            json!(Match::string_like_regexp("prd")),
            json!("dify-prd-api"),
        );
        let m = fails(json!(Match::string_like_regexp("^prd")), json!("dify-prd"));
        assert_eq!(
            m[0].message,
            r#"expected a string matching /^prd/, found "dify-prd""#
        );
        let m = fails(json!(Match::string_like_regexp("x")), json!(1));
        assert_eq!(m[0].message, "expected a string matching /x/, found 1");
        let m = fails(json!(Match::string_like_regexp("(")), json!("("));
        assert!(m[0].message.starts_with("invalid regular expression /(/"));
    }

    #[test]
    fn object_equals_is_exact_all_the_way_down_unless_relaxed() {
        let actual = json!({"A": 1, "B": {"C": 2, "D": 3}});
        ok(json!(Match::object_equals(actual.clone())), actual.clone());
        let m = fails(
            json!(Match::object_equals(json!({"A": 1, "B": {"C": 2}}))),
            actual.clone(),
        );
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].path, "B.D");
        assert_eq!(
            m[0].message,
            "unexpected key (Match::object_equals), with 3"
        );
        ok(
            json!(Match::object_equals(
                json!({"A": Match::any_value(), "B": Match::object_like(json!({"C": 2}))})
            )),
            actual,
        );
    }

    #[test]
    fn not_inverts_a_pattern() {
        ok(json!({"A": Match::not("x")}), json!({"A": "y"}));
        ok(json!({"A": Match::not(Match::any_value())}), json!({}));
        let m = fails(json!({"A": Match::not("x")}), json!({"A": "x"}));
        assert_eq!(m[0].message, r#"expected anything but "x", found "x""#);
    }

    #[test]
    fn matchers_render_as_they_are_written() {
        let e = json!({"A": Match::array_with(json!([{"K": Match::string_like_regexp("^a")}]))});
        assert_eq!(
            render(&e),
            r#"{"A": Match::array_with([{"K": Match::string_like_regexp("^a")}])}"#
        );
        assert_eq!(render(&json!(Match::absent())), "Match::absent()");
    }

    fn bucket_stack() -> Stack {
        let mut stack = Stack::new("Demo");
        let mut root = stack.root();
        let mut storage = root.child("Storage");
        let files = storage.add_raw(
            "Files",
            "AWS::S3::Bucket",
            None,
            json!({"VersioningConfiguration": {"Status": "Enabled"}, "BucketName": "files"}),
        );
        storage.add_raw(
            "Logs",
            "AWS::S3::Bucket",
            None,
            json!({"BucketName": "logs"}),
        );
        storage.add_raw("Queue", "AWS::SQS::Queue", None, json!({}));
        stack.resource(&files).removal_policy(RemovalPolicy::Retain);
        stack.add_output(
            "FilesBucket",
            crate::Output::new::<String>(files.reference()).description("the files"),
        );
        stack
    }

    #[test]
    fn resource_assertions_pass_on_a_match() {
        let t = Template::from_stack(&bucket_stack());
        t.resource_count_is("AWS::S3::Bucket", 2);
        t.resource_count_is("AWS::SNS::Topic", 0);
        t.has_resource_properties("AWS::S3::Bucket", json!({"BucketName": "logs"}));
        t.has_resource_properties("AWS::SQS::Queue", json!({}));
        t.has_resource(
            "AWS::S3::Bucket",
            json!({"DeletionPolicy": "Retain", "Properties": {"BucketName": "files"}}),
        );
        let found = t.find_resources("AWS::S3::Bucket", json!({"DeletionPolicy": "Retain"}));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, t.logical_id_at("Demo/Storage/Files"));
        assert_eq!(t.find_resources("AWS::S3::Bucket", json!({})).len(), 2);
        t.has_output("FilesBucket", json!({"Description": "the files"}));
        t.has_output("*", json!({"Value": {"Ref": Match::any_value()}}));
    }

    #[test]
    fn a_failed_property_match_names_the_closest_candidate_and_the_mismatch() {
        let t = Template::from_stack(&bucket_stack());
        let id = t.logical_id_at("Demo/Storage/Files").to_owned();
        let msg = t
            .try_has(
                "AWS::S3::Bucket",
                &json!({"VersioningConfiguration": {"Status": "Suspended"}, "BucketName": "files"}),
                Part::Properties,
            )
            .unwrap_err();
        assert!(
            msg.starts_with(&format!(
                "no AWS::S3::Bucket has the expected properties (2 resources of that type)\n\
                 closest: {id} (Demo/Storage/Files), 1 mismatch:\n  \
                 at Properties.VersioningConfiguration.Status: expected \"Suspended\", found \"Enabled\"\n\
                 expected (partial match): {{\"VersioningConfiguration\": {{\"Status\": \"Suspended\"}}, \"BucketName\": \"files\"}}\n\
                 Properties of {id}:\n  {{\n"
            )),
            "{msg}"
        );
        assert!(msg.contains("other candidates: StorageLogs"), "{msg}");
        assert!(msg.contains("(2 mismatches)"), "{msg}");
    }

    #[test]
    fn a_missing_type_lists_the_types_present_and_a_likely_spelling() {
        let t = Template::from_stack(&bucket_stack());
        let msg = t
            .try_has("AWS::S3::bucket", &json!({}), Part::Properties)
            .unwrap_err();
        assert_eq!(
            msg,
            "no AWS::S3::bucket has the expected properties: the template has no resource of that type; \
             did you mean AWS::S3::Bucket?\ntypes present: AWS::S3::Bucket (2), AWS::SQS::Queue (1)"
        );
        let msg = t.try_resource_count_is("AWS::S3::Bucket", 1).unwrap_err();
        assert!(
            msg.starts_with("expected 1 resource(s) of type AWS::S3::Bucket, found 2:\n  "),
            "{msg}"
        );
        assert!(msg.contains("(Demo/Storage/Logs)"), "{msg}");
    }

    #[test]
    fn a_failed_whole_resource_match_shows_the_resource() {
        let t = Template::from_stack(&bucket_stack());
        let msg = t
            .try_has(
                "AWS::SQS::Queue",
                &json!({"DeletionPolicy": "Retain"}),
                Part::Whole,
            )
            .unwrap_err();
        assert!(
            msg.contains(
                "no AWS::SQS::Queue matches the expected resource (1 resource of that type)"
            ),
            "{msg}"
        );
        assert!(
            msg.contains("at DeletionPolicy: expected \"Retain\", found nothing"),
            "{msg}"
        );
        assert!(
            msg.contains("\"aws:cdk:path\": \"Demo/Storage/Queue\""),
            "{msg}"
        );
    }

    #[test]
    fn output_and_parameter_failures_list_what_exists() {
        let mut stack = bucket_stack();
        let p = stack.add_parameter(
            "Env",
            crate::Parameter::new(crate::ParameterType::String).default_value("dev"),
        );
        stack.add_output("Env", crate::Output::new(p.value()));
        let t = Template::from_stack(&stack);
        t.has_parameter("Env", json!({"Type": "String", "Default": "dev"}));
        let msg = t
            .try_section("Parameters", "parameter", "Env", &json!({"Default": "prd"}))
            .unwrap_err();
        assert!(
            msg.starts_with("parameter 'Env' does not match:\n  at Parameters.Env.Default: expected \"prd\", found \"dev\""),
            "{msg}"
        );
        let msg = t
            .try_section("Outputs", "output", "Url", &json!({}))
            .unwrap_err();
        assert_eq!(msg, "no output 'Url'; the template has: FilesBucket, Env");
    }

    #[test]
    #[should_panic(expected = "at Properties.BucketName: expected \"nope\", found")]
    fn has_resource_properties_panics_with_the_message() {
        Template::from_stack(&bucket_stack())
            .has_resource_properties("AWS::S3::Bucket", json!({"BucketName": "nope"}));
    }

    #[test]
    #[should_panic(expected = "Template::from_stack: the stack does not synthesize")]
    fn from_stack_panics_on_an_invalid_stack() {
        let mut stack = Stack::new("Demo");
        stack.root().add_raw(
            "Topic",
            "AWS::SNS::Topic",
            None,
            json!({"KmsMasterKeyId": {"Ref": "Nowhere"}}),
        );
        Template::from_stack(&stack);
    }

    #[test]
    fn from_json_reads_paths_from_metadata() {
        let synthesized = bucket_stack().synth().unwrap();
        let t = Template::from_json(synthesized.template.clone());
        let queue = synthesized
            .paths
            .iter()
            .find(|(_, p)| *p == "Demo/Storage/Queue")
            .map(|(id, _)| id.as_str())
            .unwrap();
        assert_eq!(t.logical_id_at("Demo/Storage/Queue"), queue);
        t.has_resource_properties("AWS::S3::Bucket", json!({"BucketName": "files"}));
    }

    struct NoQueues;
    impl Rule for NoQueues {
        fn id(&self) -> &'static str {
            "team-no-queues"
        }
        fn severity(&self) -> Severity {
            Severity::Warning
        }
        fn summary(&self) -> &'static str {
            "queues are not allowed"
        }
        fn fix(&self) -> &'static str {
            "remove the queue"
        }
        fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
            for r in ctx.resources_of_type("AWS::SQS::Queue") {
                out.push(r.finding(self, None, "a queue"));
            }
        }
    }

    #[test]
    fn findings_assertions_read_the_guardrails() {
        let mut stack = bucket_stack();
        stack.set_guardrails(RulePack::new("team").with(NoQueues), Enforcement::Advise);
        let t = Template::from_stack(&stack);
        t.has_findings("team-no-queues");
        t.has_findings("*");
        t.has_no_findings("enc-s3-bucket");
        assert_eq!(
            t.findings("team-no-queues")[0].construct_path,
            "Demo/Storage/Queue"
        );
        let msg = t.try_has_no_findings("*").unwrap_err();
        assert!(
            msg.starts_with("expected no findings of any rule, found 1:\n  warning[team-no-queues] Demo/Storage/Queue"),
            "{msg}"
        );

        // Suppressed, the finding moves to `suppressed` and `has_findings` says why it failed.
        let mut stack = bucket_stack();
        stack.set_guardrails(RulePack::new("team").with(NoQueues), Enforcement::Advise);
        stack
            .root()
            .child("Extra")
            .suppress("team-no-queues", "nothing to suppress here");
        let node = stack
            .resource_node(
                stack
                    .resource_ids()
                    .find(|id| id.starts_with("StorageQueue"))
                    .unwrap(),
            )
            .unwrap();
        stack
            .scope(node)
            .suppress("team-no-queues", "the platform's own queue, reviewed");
        let t = Template::from_stack(&stack);
        t.has_no_findings("*");
        assert_eq!(
            t.suppressed("team-no-queues")[0].suppressed.as_deref(),
            Some("the platform's own queue, reviewed")
        );
        let msg = t.try_has_findings("team-no-queues").unwrap_err();
        assert!(
            msg.starts_with("expected findings of rule 'team-no-queues', found none; 1 are suppressed:\n  Demo/Storage/Queue"),
            "{msg}"
        );
    }

    #[test]
    #[should_panic(expected = "stack 'Demo' has no guardrails")]
    fn findings_assertions_refuse_a_stack_without_guardrails() {
        Template::from_stack(&bucket_stack()).has_no_findings("*");
    }

    #[test]
    #[should_panic(expected = "this Template was built from JSON")]
    fn findings_assertions_refuse_a_template_from_json() {
        Template::from_json(json!({"Resources": {}})).has_no_findings("*");
    }
}
