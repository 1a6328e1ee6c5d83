//! The references in template JSON, each with where it was found: `Ref`, `Fn::GetAtt` and the
//! names inside `Fn::Sub`, conditions named by `Fn::If` and in condition functions, mappings
//! named by `Fn::FindInMap`.

use std::collections::HashSet;

use super::push_index;
use crate::value::{Json, pseudo};

/// A name an intrinsic refers to.
#[derive(Debug)]
pub(super) enum Reference {
    Ref(String),
    GetAtt(String, String),
    Condition(String),
    /// The mapping, and its top-level and second-level keys when they are literals.
    Mapping(String, Option<String>, Option<String>),
}

/// A reference and the property path it was found at.
pub(super) struct Found {
    pub(super) reference: Reference,
    pub(super) at: String,
}

/// Collects every reference below `v`. `in_condition` says whether `{"Condition": name}` is a
/// reference here (inside the `Conditions` section and condition functions) rather than, say, a
/// property that happens to be called `Condition`.
pub(super) fn collect(v: &Json, at: &mut String, in_condition: bool, out: &mut Vec<Found>) {
    match v {
        Json::Object(o) => {
            if o.len() == 1
                && let Some((k, arg)) = o.iter().next()
            {
                intrinsic_refs(k, arg, in_condition, &mut |r| {
                    out.push(Found {
                        reference: r,
                        at: at.clone(),
                    })
                });
                let in_cond = in_condition
                    || matches!(k.as_str(), "Fn::And" | "Fn::Or" | "Fn::Not" | "Fn::Equals");
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

/// The references the one-key object `{k: arg}` makes itself, if it is an intrinsic; those in
/// its arguments are the caller's to walk.
fn intrinsic_refs(k: &str, arg: &Json, in_condition: bool, push: &mut impl FnMut(Reference)) {
    match (k, arg) {
        ("Ref", Json::String(name)) => push(Reference::Ref(name.clone())),
        ("Fn::GetAtt", Json::Array(a)) => {
            if let (Some(Json::String(id)), Some(Json::String(attr))) = (a.first(), a.get(1)) {
                push(Reference::GetAtt(id.clone(), attr.clone()));
            }
        }
        ("Fn::GetAtt", Json::String(s)) => {
            if let Some((id, attr)) = s.split_once('.') {
                push(Reference::GetAtt(id.to_owned(), attr.to_owned()));
            }
        }
        ("Fn::Sub", Json::String(s)) => sub_refs(s, &HashSet::new(), push),
        ("Fn::Sub", Json::Array(a)) => {
            let vars: HashSet<&str> = a
                .get(1)
                .and_then(Json::as_object)
                .map(|m| m.keys().map(String::as_str).collect())
                .unwrap_or_default();
            if let Some(Json::String(s)) = a.first() {
                sub_refs(s, &vars, push);
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
        ("Condition", Json::String(c)) if in_condition => push(Reference::Condition(c.clone())),
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
