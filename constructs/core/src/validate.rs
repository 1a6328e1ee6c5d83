//! Synth-time validation of a finished template: references, dependency cycles, schema
//! constraints and unused declarations. Every problem is collected; nothing stops at the first.

use std::collections::{HashMap, HashSet};

use serde_json::Map;

use crate::diagnostics::Diagnostic;
use crate::pattern;
use crate::schema::{PropSpec, Shape, StringRule};
use crate::stack::Stack;
use crate::value::{Json, is_intrinsic, pseudo};

/// A name an intrinsic refers to, and where.
#[derive(Debug)]
enum Reference {
    Ref(String),
    GetAtt(String, String),
    Condition(String),
    Mapping(String, Option<String>, Option<String>),
}

struct Found {
    reference: Reference,
    at: String,
}

/// Collects every reference below `v`. `in_condition` says whether `{"Condition": name}` is a
/// reference here (inside the `Conditions` section and condition functions) rather than, say, a
/// property that happens to be called `Condition`.
fn collect(v: &Json, at: &mut String, in_condition: bool, out: &mut Vec<Found>) {
    match v {
        Json::Object(o) => {
            if o.len() == 1 {
                let (k, arg) = o
                    .iter()
                    .next()
                    .map(|(k, v)| (k.as_str(), v))
                    .unwrap_or(("", v));
                let mut push = |r| {
                    out.push(Found {
                        reference: r,
                        at: at.clone(),
                    })
                };
                match (k, arg) {
                    ("Ref", Json::String(name)) => push(Reference::Ref(name.clone())),
                    ("Fn::GetAtt", Json::Array(a)) => {
                        if let (Some(Json::String(id)), Some(Json::String(attr))) =
                            (a.first(), a.get(1))
                        {
                            push(Reference::GetAtt(id.clone(), attr.clone()));
                        }
                    }
                    ("Fn::GetAtt", Json::String(s)) => {
                        if let Some((id, attr)) = s.split_once('.') {
                            push(Reference::GetAtt(id.to_owned(), attr.to_owned()));
                        }
                    }
                    ("Fn::Sub", Json::String(s)) => sub_refs(s, &HashSet::new(), &mut push),
                    ("Fn::Sub", Json::Array(a)) => {
                        let vars: HashSet<&str> = a
                            .get(1)
                            .and_then(Json::as_object)
                            .map(|m| m.keys().map(String::as_str).collect())
                            .unwrap_or_default();
                        if let Some(Json::String(s)) = a.first() {
                            sub_refs(s, &vars, &mut push);
                        }
                    }
                    ("Fn::If", Json::Array(a)) => {
                        if let Some(Json::String(c)) = a.first() {
                            push(Reference::Condition(c.clone()));
                        }
                    }
                    ("Fn::FindInMap", Json::Array(a)) => {
                        if let Some(Json::String(m)) = a.first() {
                            let lit = |i: usize| a.get(i).and_then(Json::as_str).map(str::to_owned);
                            push(Reference::Mapping(m.clone(), lit(1), lit(2)));
                        }
                    }
                    ("Condition", Json::String(c)) if in_condition => {
                        push(Reference::Condition(c.clone()))
                    }
                    _ => {}
                }
                let in_cond =
                    in_condition || matches!(k, "Fn::And" | "Fn::Or" | "Fn::Not" | "Fn::Equals");
                if k.starts_with("Fn::") || k == "Ref" {
                    collect(arg, at, in_cond, out);
                    return;
                }
            }
            // One buffer for the whole walk: a path is copied only when a reference is found.
            let len = at.len();
            for (k, child) in o {
                at.push('.');
                at.push_str(k);
                collect(child, at, in_condition, out);
                at.truncate(len);
            }
        }
        Json::Array(a) => {
            let len = at.len();
            for (i, child) in a.iter().enumerate() {
                push_index(at, i);
                collect(child, at, in_condition, out);
                at.truncate(len);
            }
        }
        _ => {}
    }
}

/// `${Name}` and `${Name.Attr}` in an `Fn::Sub` string; `${!Literal}` and local vars are not
/// references.
fn sub_refs(s: &str, vars: &HashSet<&str>, push: &mut impl FnMut(Reference)) {
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let name = after[..end].trim();
        rest = &after[end + 1..];
        if name.starts_with('!') || vars.contains(name) {
            continue;
        }
        match name.split_once('.') {
            Some((id, attr)) if !pseudo::NAMES.contains(&name) => {
                push(Reference::GetAtt(id.to_owned(), attr.to_owned()))
            }
            _ => push(Reference::Ref(name.to_owned())),
        }
    }
}

/// Validates a template built from `stack`.
pub(crate) fn validate(stack: &Stack, template: &Json) -> Vec<Diagnostic> {
    let mut d = Vec::new();
    let empty = Map::new();
    let section = |name: &str| {
        template
            .get(name)
            .and_then(Json::as_object)
            .unwrap_or(&empty)
    };
    let resources = section("Resources");
    let parameters = section("Parameters");
    let conditions = section("Conditions");
    let mappings = section("Mappings");
    let outputs = section("Outputs");

    let mut used_params: HashSet<String> = HashSet::new();
    let mut used_conds: HashSet<String> = HashSet::new();
    // Conditions named by a resource's or output's `Condition` attribute (kept apart from
    // `used_conds`, which the reference checker below borrows).
    let mut direct_conds: HashSet<String> = HashSet::new();
    let mut edges: HashMap<&str, Vec<String>> = HashMap::new();

    let path_of = |id: &str| {
        stack
            .resource_path(id)
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{}/{id}", stack.name()))
    };

    // Checks each reference found below one template item, and records usage and edges.
    let mut check_refs = |owner: &str,
                          owner_path: &str,
                          found: Vec<Found>,
                          d: &mut Vec<Diagnostic>,
                          deps: Option<&mut Vec<String>>| {
        let mut deps = deps;
        for f in found {
            let err = |code, msg: String| {
                Diagnostic::error(code, owner_path, msg)
                    .at(owner)
                    .property(f.at.clone())
            };
            match &f.reference {
                Reference::Ref(name) => {
                    if resources.contains_key(name) {
                        if let Some(deps) = deps.as_deref_mut() {
                            deps.push(name.clone());
                        }
                    } else if parameters.contains_key(name) {
                        used_params.insert(name.clone());
                    } else if !pseudo::NAMES.contains(&name.as_str()) {
                        d.push(err(
                            "unknown-ref",
                            format!("Ref to unknown logical ID '{name}'"),
                        ));
                    }
                }
                Reference::GetAtt(id, attr) => match resources.get(id) {
                    None => d.push(err(
                        "unknown-ref",
                        format!("Fn::GetAtt on unknown resource '{id}'"),
                    )),
                    Some(_) => {
                        if let Some(deps) = deps.as_deref_mut() {
                            deps.push(id.clone());
                        }
                        let is_custom = stack.resources.get(id).is_some_and(|e| {
                            e.type_name.starts_with("Custom::")
                                || e.type_name == "AWS::CloudFormation::CustomResource"
                        });
                        if let Some(schema) = stack.resource_schema(id)
                            && !is_custom
                            && !schema.attributes.contains(&attr.as_str())
                        {
                            let known = if schema.attributes.is_empty() {
                                "it has none".to_owned()
                            } else {
                                format!("it has {}", schema.attributes.join(", "))
                            };
                            d.push(err(
                                "unknown-attribute",
                                format!("{} has no attribute '{attr}' ({known})", schema.type_name),
                            ));
                        }
                    }
                },
                Reference::Condition(name) => {
                    used_conds.insert(name.clone());
                    if !conditions.contains_key(name) {
                        d.push(err(
                            "unknown-condition",
                            format!("condition '{name}' is not declared"),
                        ));
                    }
                }
                Reference::Mapping(name, top, second) => match mappings.get(name) {
                    None => d.push(err(
                        "unknown-mapping",
                        format!("mapping '{name}' is not declared"),
                    )),
                    Some(m) => {
                        if let Some(top) = top {
                            match m.get(top) {
                                None => d.push(err(
                                    "unknown-mapping-key",
                                    format!("mapping '{name}' has no key '{top}'"),
                                )),
                                Some(inner) => {
                                    if let Some(second) = second
                                        && inner.get(second).is_none()
                                    {
                                        d.push(err(
                                            "unknown-mapping-key",
                                            format!("mapping '{name}' has no key '{top}.{second}'"),
                                        ));
                                    }
                                }
                            }
                        }
                    }
                },
            }
        }
    };

    for (name, cond) in conditions {
        let mut found = Vec::new();
        collect(cond, &mut String::new(), true, &mut found);
        let owner_path = format!("{}/{name}", stack.name());
        check_refs(name, &owner_path, found, &mut d, None);
    }

    for (id, res) in resources {
        let path = path_of(id);
        let mut found = Vec::new();
        if let Some(p) = res.get("Properties") {
            collect(p, &mut "Properties".to_owned(), false, &mut found);
        }
        if let Some(p) = res.get("UpdatePolicy") {
            collect(p, &mut "UpdatePolicy".to_owned(), false, &mut found);
        }
        let mut deps = Vec::new();
        check_refs(id, &path, found, &mut d, Some(&mut deps));
        if let Some(c) = res.get("Condition").and_then(Json::as_str) {
            direct_conds.insert(c.to_owned());
            if !conditions.contains_key(c) {
                d.push(
                    Diagnostic::error(
                        "unknown-condition",
                        &path,
                        format!("condition '{c}' is not declared"),
                    )
                    .at(id)
                    .property("Condition"),
                );
            }
        }
        let explicit: Vec<&str> = match res.get("DependsOn") {
            Some(Json::String(s)) => vec![s.as_str()],
            Some(Json::Array(a)) => a.iter().filter_map(Json::as_str).collect(),
            _ => Vec::new(),
        };
        for dep in explicit {
            if resources.contains_key(dep) {
                deps.push(dep.to_owned());
            } else {
                d.push(
                    Diagnostic::error(
                        "unknown-ref",
                        &path,
                        format!("DependsOn names unknown resource '{dep}'"),
                    )
                    .at(id)
                    .property("DependsOn"),
                );
            }
        }
        edges.insert(id.as_str(), deps);

        if let (Some(schema), Some(props)) = (stack.resource_schema(id), res.get("Properties")) {
            let mut ctx = SchemaCheck {
                path: &path,
                id,
                out: &mut d,
            };
            ctx.object(
                props,
                schema.properties,
                schema.closed,
                &mut "Properties".to_owned(),
            );
        } else if let Some(schema) = stack.resource_schema(id) {
            // No Properties at all: only the required ones matter.
            for p in schema.properties.iter().filter(|p| p.required) {
                d.push(
                    Diagnostic::error(
                        "missing-property",
                        &path,
                        format!("required property '{}' is missing", p.name),
                    )
                    .at(id)
                    .property(format!("Properties.{}", p.name)),
                );
            }
        }
    }

    for (name, out) in outputs {
        let owner_path = format!("{}/{name}", stack.name());
        let mut found = Vec::new();
        collect(out, &mut String::new(), false, &mut found);
        check_refs(name, &owner_path, found, &mut d, None);
        if let Some(c) = out.get("Condition").and_then(Json::as_str) {
            direct_conds.insert(c.to_owned());
            if !conditions.contains_key(c) {
                d.push(
                    Diagnostic::error(
                        "unknown-condition",
                        &owner_path,
                        format!("condition '{c}' is not declared"),
                    )
                    .at(name.as_str())
                    .property("Condition"),
                );
            }
        }
    }

    for name in parameters.keys() {
        if !used_params.contains(name) {
            d.push(
                Diagnostic::warning(
                    "unused-parameter",
                    format!("{}/{name}", stack.name()),
                    format!("parameter '{name}' is declared but never referenced"),
                )
                .at(name.as_str()),
            );
        }
    }
    for name in conditions.keys() {
        if !used_conds.contains(name) && !direct_conds.contains(name) {
            d.push(
                Diagnostic::warning(
                    "unused-condition",
                    format!("{}/{name}", stack.name()),
                    format!("condition '{name}' is declared but never used"),
                )
                .at(name.as_str()),
            );
        }
    }

    for cycle in cycles(&edges) {
        let first = &cycle[0];
        let mut shown = cycle.clone();
        shown.push(first.clone());
        d.push(
            Diagnostic::error(
                "dependency-cycle",
                path_of(first),
                format!(
                    "dependency cycle: {} (paths: {})",
                    shown.join(" -> "),
                    cycle
                        .iter()
                        .map(|id| path_of(id))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .at(first.as_str()),
        );
    }
    d
}

/// Strongly connected components with more than one member, or a self-loop (Tarjan), each
/// sorted, in a stable order.
fn cycles(edges: &HashMap<&str, Vec<String>>) -> Vec<Vec<String>> {
    struct T<'a> {
        edges: &'a HashMap<&'a str, Vec<String>>,
        index: HashMap<&'a str, usize>,
        low: HashMap<&'a str, usize>,
        on_stack: HashSet<&'a str>,
        stack: Vec<&'a str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    impl<'a> T<'a> {
        fn visit(&mut self, v: &'a str) {
            self.index.insert(v, self.next);
            self.low.insert(v, self.next);
            self.next += 1;
            self.stack.push(v);
            self.on_stack.insert(v);
            let succ: Vec<&'a str> = self
                .edges
                .get(v)
                .map(|s| s.iter().map(String::as_str).collect())
                .unwrap_or_default();
            for w in succ {
                let Some((&w, _)) = self.edges.get_key_value(w) else {
                    continue;
                };
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low[v];
                    self.low.insert(v, lv.min(lw));
                } else if self.on_stack.contains(w) {
                    let iw = self.index[w];
                    let lv = self.low[v];
                    self.low.insert(v, lv.min(iw));
                }
            }
            if self.low[v] == self.index[v] {
                let mut comp = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    comp.push(w.to_owned());
                    if w == v {
                        break;
                    }
                }
                let self_loop = self.edges.get(v).is_some_and(|s| s.iter().any(|x| x == v));
                if comp.len() > 1 || self_loop {
                    comp.sort();
                    self.out.push(comp);
                }
            }
        }
    }
    let mut keys: Vec<&str> = edges.keys().copied().collect();
    keys.sort_unstable();
    let mut t = T {
        edges,
        index: HashMap::new(),
        low: HashMap::new(),
        on_stack: HashSet::new(),
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for k in keys {
        if !t.index.contains_key(k) {
            t.visit(k);
        }
    }
    t.out.sort();
    t.out
}

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
                other => self.err(
                    "type-mismatch",
                    at,
                    format!("expected a string, found {}", kind(other)),
                ),
            },
            Shape::Integer(rule) | Shape::Number(rule) => {
                let n = match v {
                    Json::Number(n) => n.as_f64(),
                    Json::String(s) => s.trim().parse::<f64>().ok(),
                    _ => None,
                };
                match n {
                    None => self.err(
                        "type-mismatch",
                        at,
                        format!("expected a number, found {}", kind(v)),
                    ),
                    Some(n) => {
                        if matches!(shape, Shape::Integer(_)) && n.fract() != 0.0 {
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
                }
            }
            Shape::Boolean => {
                let ok = matches!(v, Json::Bool(_))
                    || matches!(v, Json::String(s) if s == "true" || s == "false");
                if !ok {
                    self.err(
                        "type-mismatch",
                        at,
                        format!("expected a boolean, found {}", kind(v)),
                    );
                }
            }
            Shape::List {
                item,
                min_items,
                max_items,
            } => match v {
                Json::Array(a) => {
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
                other => self.err(
                    "type-mismatch",
                    at,
                    format!("expected a list, found {}", kind(other)),
                ),
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
                other => self.err(
                    "type-mismatch",
                    at,
                    format!("expected a map, found {}", kind(other)),
                ),
            },
            Shape::Object { properties, closed } => self.object(v, properties, *closed, at),
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

fn push_index(at: &mut String, i: usize) {
    use std::fmt::Write as _;
    // Writing to a String cannot fail.
    let _ = write!(at, "[{i}]");
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
