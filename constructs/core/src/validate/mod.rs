//! Synth-time validation of a finished template: references, dependency cycles, schema
//! constraints and unused declarations. Every problem is collected; nothing stops at the first.
//!
//! [`validate`] walks the template in a fixed order — conditions, resources, outputs, then
//! what only the whole walk can tell (unused declarations, cycles) — so diagnostics come out in
//! the same order on every run.

mod cycles;
mod properties;
mod references;

use std::collections::{HashMap, HashSet};

use serde_json::Map;

use crate::diagnostics::Diagnostic;
use crate::stack::Stack;
use crate::value::{Json, pseudo};
use references::{Found, Reference, collect};

/// Validates a template built from `stack`.
pub(crate) fn validate(stack: &Stack, template: &Json) -> Vec<Diagnostic> {
    let empty = Map::new();
    let mut v = Validation::new(stack, template, &empty);
    v.conditions();
    v.resources();
    v.outputs();
    v.unused_declarations();
    v.dependency_cycles();
    v.out
}

/// An error's code and message; the caller knows where it is.
type Problem = (&'static str, String);

/// One template's sections, and what the walk over them has found so far.
struct Validation<'a> {
    stack: &'a Stack,
    resources: &'a Map<String, Json>,
    parameters: &'a Map<String, Json>,
    conditions: &'a Map<String, Json>,
    mappings: &'a Map<String, Json>,
    outputs: &'a Map<String, Json>,
    out: Vec<Diagnostic>,
    /// Parameters some `Ref` names.
    used_params: HashSet<String>,
    /// Conditions a reference or a resource's or output's `Condition` attribute names.
    used_conds: HashSet<String>,
    /// Resource → the resources it depends on, by reference or `DependsOn`.
    edges: HashMap<&'a str, Vec<String>>,
}

impl<'a> Validation<'a> {
    fn new(stack: &'a Stack, template: &'a Json, empty: &'a Map<String, Json>) -> Self {
        let section = |name: &str| {
            template
                .get(name)
                .and_then(Json::as_object)
                .unwrap_or(empty)
        };
        Validation {
            stack,
            resources: section("Resources"),
            parameters: section("Parameters"),
            conditions: section("Conditions"),
            mappings: section("Mappings"),
            outputs: section("Outputs"),
            out: Vec::new(),
            used_params: HashSet::new(),
            used_conds: HashSet::new(),
            edges: HashMap::new(),
        }
    }

    /// The construct path of a resource, or a stack-level path for an ID the tree lacks.
    fn path_of(&self, id: &str) -> String {
        self.stack
            .resource_path(id)
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{}/{id}", self.stack.name()))
    }

    /// The references inside each condition.
    fn conditions(&mut self) {
        let conditions = self.conditions;
        for (name, cond) in conditions {
            let mut found = Vec::new();
            collect(cond, &mut String::new(), true, &mut found);
            let owner_path = format!("{}/{name}", self.stack.name());
            self.check_references(name, &owner_path, found, None);
        }
    }

    /// Each resource: its references, `Condition`, `DependsOn` and properties.
    fn resources(&mut self) {
        let resources = self.resources;
        for (id, res) in resources {
            let path = self.path_of(id);
            let mut found = Vec::new();
            for section in ["Properties", "UpdatePolicy"] {
                if let Some(p) = res.get(section) {
                    collect(p, &mut section.to_owned(), false, &mut found);
                }
            }
            let mut deps = Vec::new();
            self.check_references(id, &path, found, Some(&mut deps));
            self.condition_attribute(id, &path, res);
            self.explicit_dependencies(id, &path, res, &mut deps);
            self.edges.insert(id.as_str(), deps);
            if let Some(schema) = self.stack.resource_schema(id) {
                properties::check(schema, res.get("Properties"), &path, id, &mut self.out);
            }
        }
    }

    /// Each output: its references and `Condition`.
    fn outputs(&mut self) {
        let outputs = self.outputs;
        for (name, out) in outputs {
            let owner_path = format!("{}/{name}", self.stack.name());
            let mut found = Vec::new();
            collect(out, &mut String::new(), false, &mut found);
            self.check_references(name, &owner_path, found, None);
            self.condition_attribute(name, &owner_path, out);
        }
    }

    /// Parameters nothing references and conditions nothing uses, as warnings.
    fn unused_declarations(&mut self) {
        let name = self.stack.name();
        for param in self.parameters.keys() {
            if !self.used_params.contains(param) {
                self.out.push(
                    Diagnostic::warning(
                        "unused-parameter",
                        format!("{name}/{param}"),
                        format!("parameter '{param}' is declared but never referenced"),
                    )
                    .at(param.as_str()),
                );
            }
        }
        for cond in self.conditions.keys() {
            if !self.used_conds.contains(cond) {
                self.out.push(
                    Diagnostic::warning(
                        "unused-condition",
                        format!("{name}/{cond}"),
                        format!("condition '{cond}' is declared but never used"),
                    )
                    .at(cond.as_str()),
                );
            }
        }
    }

    /// Resources that depend on each other in a ring CloudFormation could never create.
    fn dependency_cycles(&mut self) {
        for cycle in cycles::cycles(&self.edges) {
            let first = &cycle[0];
            let mut shown = cycle.clone();
            shown.push(first.clone());
            let paths: Vec<String> = cycle.iter().map(|id| self.path_of(id)).collect();
            self.out.push(
                Diagnostic::error(
                    "dependency-cycle",
                    self.path_of(first),
                    format!(
                        "dependency cycle: {} (paths: {})",
                        shown.join(" -> "),
                        paths.join(", ")
                    ),
                )
                .at(first.as_str()),
            );
        }
    }

    /// Checks each reference found below one template item, recording what it uses and, for a
    /// resource (`deps`), what it depends on.
    fn check_references(
        &mut self,
        owner: &str,
        owner_path: &str,
        found: Vec<Found>,
        mut deps: Option<&mut Vec<String>>,
    ) {
        for f in found {
            let problem = match &f.reference {
                Reference::Ref(name) => self.check_ref(name, deps.as_deref_mut()),
                Reference::GetAtt(id, attr) => self.check_get_att(id, attr, deps.as_deref_mut()),
                Reference::Condition(name) => self.check_condition(name),
                Reference::Mapping(name, top, second) => {
                    self.check_mapping(name, top.as_deref(), second.as_deref())
                }
            };
            if let Some((code, message)) = problem {
                self.out.push(
                    Diagnostic::error(code, owner_path, message)
                        .at(owner)
                        .property(f.at),
                );
            }
        }
    }

    /// A `Ref` names a resource, a parameter or a pseudo parameter.
    fn check_ref(&mut self, name: &str, deps: Option<&mut Vec<String>>) -> Option<Problem> {
        if self.resources.contains_key(name) {
            if let Some(deps) = deps {
                deps.push(name.to_owned());
            }
        } else if self.parameters.contains_key(name) {
            self.used_params.insert(name.to_owned());
        } else if !pseudo::NAMES.contains(&name) {
            return Some(("unknown-ref", format!("Ref to unknown logical ID '{name}'")));
        }
        None
    }

    /// An `Fn::GetAtt` names a resource, and an attribute its type has (when the type is
    /// known and not a custom resource, whose attributes are whatever its handler returns).
    fn check_get_att(
        &self,
        id: &str,
        attr: &str,
        deps: Option<&mut Vec<String>>,
    ) -> Option<Problem> {
        if !self.resources.contains_key(id) {
            return Some((
                "unknown-ref",
                format!("Fn::GetAtt on unknown resource '{id}'"),
            ));
        }
        if let Some(deps) = deps {
            deps.push(id.to_owned());
        }
        let is_custom = self.stack.resources.get(id).is_some_and(|e| {
            e.type_name.starts_with("Custom::")
                || e.type_name == "AWS::CloudFormation::CustomResource"
        });
        let schema = self.stack.resource_schema(id).filter(|_| !is_custom)?;
        if schema.attributes.contains(&attr) {
            return None;
        }
        let known = if schema.attributes.is_empty() {
            "it has none".to_owned()
        } else {
            format!("it has {}", schema.attributes.join(", "))
        };
        Some((
            "unknown-attribute",
            format!("{} has no attribute '{attr}' ({known})", schema.type_name),
        ))
    }

    /// A condition named by `Fn::If` or inside a condition is declared.
    fn check_condition(&mut self, name: &str) -> Option<Problem> {
        self.used_conds.insert(name.to_owned());
        (!self.conditions.contains_key(name)).then(|| {
            (
                "unknown-condition",
                format!("condition '{name}' is not declared"),
            )
        })
    }

    /// An `Fn::FindInMap` names a declared mapping and, where its keys are literals, keys the
    /// mapping has.
    fn check_mapping(
        &self,
        name: &str,
        top: Option<&str>,
        second: Option<&str>,
    ) -> Option<Problem> {
        let Some(mapping) = self.mappings.get(name) else {
            return Some((
                "unknown-mapping",
                format!("mapping '{name}' is not declared"),
            ));
        };
        let top = top?;
        let Some(inner) = mapping.get(top) else {
            return Some((
                "unknown-mapping-key",
                format!("mapping '{name}' has no key '{top}'"),
            ));
        };
        let second = second?;
        inner.get(second).is_none().then(|| {
            (
                "unknown-mapping-key",
                format!("mapping '{name}' has no key '{top}.{second}'"),
            )
        })
    }

    /// A resource's or output's `Condition` attribute names a declared condition.
    fn condition_attribute(&mut self, owner: &str, owner_path: &str, item: &Json) {
        let Some(c) = item.get("Condition").and_then(Json::as_str) else {
            return;
        };
        self.used_conds.insert(c.to_owned());
        if !self.conditions.contains_key(c) {
            self.out.push(
                Diagnostic::error(
                    "unknown-condition",
                    owner_path,
                    format!("condition '{c}' is not declared"),
                )
                .at(owner)
                .property("Condition"),
            );
        }
    }

    /// `DependsOn` names resources of the template; each becomes an edge for cycle detection.
    fn explicit_dependencies(&mut self, id: &str, path: &str, res: &Json, deps: &mut Vec<String>) {
        let explicit: Vec<&str> = match res.get("DependsOn") {
            Some(Json::String(s)) => vec![s.as_str()],
            Some(Json::Array(a)) => a.iter().filter_map(Json::as_str).collect(),
            _ => Vec::new(),
        };
        for dep in explicit {
            if self.resources.contains_key(dep) {
                deps.push(dep.to_owned());
            } else {
                self.out.push(
                    Diagnostic::error(
                        "unknown-ref",
                        path,
                        format!("DependsOn names unknown resource '{dep}'"),
                    )
                    .at(id)
                    .property("DependsOn"),
                );
            }
        }
    }
}

fn push_index(at: &mut String, i: usize) {
    use std::fmt::Write as _;
    // Writing to a String cannot fail.
    let _ = write!(at, "[{i}]");
}
