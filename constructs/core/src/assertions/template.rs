//! [`Template`]: a synthesized template and the assertions a test makes on it.

use std::fmt::Write as _;

use indexmap::IndexMap;
use serde_json::json;

use super::matching::{Mismatch, Mode, check, render};
use crate::rules::Finding;
use crate::stack::Stack;
use crate::synth::{PATH_METADATA_KEY, Synthesized};
use crate::value::Json;

/// How many lines of a candidate's JSON a failure message shows.
const MAX_LINES: usize = 60;
/// How many mismatches of the closest candidate a failure message lists.
const MAX_MISMATCHES: usize = 10;

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
    /// see the module documentation and [`Match`](super::Match)). A resource without
    /// `Properties` is matched as `{}`.
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
mod tests;
