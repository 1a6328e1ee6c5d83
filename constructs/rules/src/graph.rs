//! What refers to what: the references in a value (`Ref`, `Fn::GetAtt`, `Fn::Sub`), and the
//! resources CloudFormation creates before a given one (its dependency closure).

use std::collections::{HashMap, VecDeque};

use cfn_core::Json;
use cfn_core::rules::{ResourceView, RuleContext};

/// A name a value refers to: `{"Ref": target}`, `{"Fn::GetAtt": [target, attr]}`, or
/// `${target}` / `${target.attr}` in an `Fn::Sub` string. Targets may be resources,
/// parameters or pseudo parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Reference<'a> {
    /// The logical ID (or parameter name) referred to.
    pub target: &'a str,
    /// The attribute, for `Fn::GetAtt` and `${X.Attr}`.
    pub attr: Option<&'a str>,
}

/// Every reference below a value. `Fn::Sub` variables defined in its own map are not
/// references; the map's values are walked.
pub(crate) fn references(v: &Json) -> Vec<Reference<'_>> {
    let mut out = Vec::new();
    walk(v, &mut out);
    out
}

fn walk<'a>(v: &'a Json, out: &mut Vec<Reference<'a>>) {
    match v {
        Json::Object(o) if o.len() == 1 => {
            let Some((k, arg)) = o.iter().next() else {
                return;
            };
            match (k.as_str(), arg) {
                ("Ref", Json::String(s)) => out.push(Reference {
                    target: s,
                    attr: None,
                }),
                ("Fn::GetAtt", Json::Array(a)) => {
                    if let Some(target) = a.first().and_then(Json::as_str) {
                        let attr = a.get(1).and_then(Json::as_str);
                        out.push(Reference { target, attr });
                    }
                }
                ("Fn::GetAtt", Json::String(s)) => out.push(split(s)),
                ("Fn::Sub", Json::String(s)) => sub(s, None, out),
                ("Fn::Sub", Json::Array(a)) => {
                    let vars = a.get(1).and_then(Json::as_object);
                    if let Some(s) = a.first().and_then(Json::as_str) {
                        sub(s, vars, out);
                    }
                    a.iter().skip(1).for_each(|x| walk(x, out));
                }
                _ => walk(arg, out),
            }
        }
        Json::Object(o) => o.values().for_each(|x| walk(x, out)),
        Json::Array(a) => a.iter().for_each(|x| walk(x, out)),
        _ => {}
    }
}

/// `X.Attr` (the attribute may contain dots: `Cluster.Endpoint.Address`).
fn split(s: &str) -> Reference<'_> {
    match s.split_once('.') {
        Some((target, attr)) => Reference {
            target,
            attr: Some(attr),
        },
        None => Reference {
            target: s,
            attr: None,
        },
    }
}

/// `${Name}` and `${Name.Attr}` in an `Fn::Sub` string, but not `${!Literal}` nor the
/// variables of its own map.
fn sub<'a>(s: &'a str, vars: Option<&serde_json::Map<String, Json>>, out: &mut Vec<Reference<'a>>) {
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { return };
        let name = after[..end].trim();
        rest = &after[end + 1..];
        if !name.starts_with('!') && !vars.is_some_and(|m| m.contains_key(name)) {
            out.push(split(name));
        }
    }
}

/// The resources each resource depends on directly: the resources its `Properties` refer to
/// and its `DependsOn`.
pub(crate) struct Deps<'a> {
    edges: HashMap<&'a str, Vec<&'a str>>,
}

impl<'a> Deps<'a> {
    /// The template's dependency graph.
    pub fn new(ctx: &RuleContext<'a>) -> Self {
        let resources: HashMap<&'a str, ResourceView<'a>> =
            ctx.resources().map(|r| (r.logical_id, r)).collect();
        let edges = resources
            .values()
            .map(|r| {
                let mut to: Vec<&'a str> = references(r.properties)
                    .into_iter()
                    .map(|x| x.target)
                    .chain(depends_on(r))
                    .filter(|t| resources.contains_key(t))
                    .collect();
                to.sort_unstable();
                to.dedup();
                (r.logical_id, to)
            })
            .collect();
        Deps { edges }
    }

    /// Everything `from` waits for, transitively.
    pub fn closure(&self, from: &'a str) -> Closure<'a> {
        let mut parent = HashMap::new();
        let mut queue = VecDeque::from([from]);
        while let Some(id) = queue.pop_front() {
            for &next in self.edges.get(id).into_iter().flatten() {
                if next != from && !parent.contains_key(next) {
                    parent.insert(next, id);
                    queue.push_back(next);
                }
            }
        }
        Closure { from, parent }
    }
}

/// `DependsOn`, one name or a list.
fn depends_on<'a>(r: &ResourceView<'a>) -> impl Iterator<Item = &'a str> {
    let d = r.attribute("DependsOn");
    let list = d.and_then(Json::as_array).map(Vec::as_slice).unwrap_or(&[]);
    list.iter()
        .filter_map(Json::as_str)
        .chain(d.and_then(Json::as_str))
}

/// What one resource waits for, with the shortest chain to each.
pub(crate) struct Closure<'a> {
    from: &'a str,
    /// Each member with the resource that brought it in.
    parent: HashMap<&'a str, &'a str>,
}

impl<'a> Closure<'a> {
    /// Whether `id` is created before the resource.
    pub fn contains(&self, id: &str) -> bool {
        self.parent.contains_key(id)
    }

    /// The chain from the resource to `id`, as `A → B → id` (without the resource itself).
    pub fn chain(&self, id: &'a str) -> String {
        let mut chain = vec![id];
        let mut at = id;
        while let Some(&p) = self.parent.get(at) {
            if p == self.from {
                break;
            }
            chain.push(p);
            at = p;
        }
        chain.reverse();
        chain.join(" → ")
    }
}
