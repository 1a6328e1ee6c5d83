//! References between the stacks of an [`crate::App`], as the AWS CDK makes them: a `Ref`,
//! `Fn::GetAtt` or `Fn::Sub` variable in one stack naming a resource of another becomes an
//! `Fn::ImportValue` of an output the producing stack exports, and the consuming stack
//! depends on the producing one (deploy order).
//!
//! Export names are stable and readable: `<ProducerStack>:ExportsOutputRef<LogicalId>` and
//! `<ProducerStack>:ExportsOutputFnGetAtt<LogicalId><Attribute>` (dots left out), the names
//! the CDK gives them, so a logical ID that does not change keeps its export.
//!
//! A reference is to another stack only when the logical ID is not one of the stack's own
//! resources or parameters; an ID two other stacks define is ambiguous and an error.

use std::collections::{BTreeSet, HashMap, HashSet};

use indexmap::IndexMap;
use serde_json::{Map, json};

use crate::diagnostics::Diagnostic;
use crate::value::Json;

/// What one stack of the app defines: its name, resource IDs (with their conditions) and
/// parameter names.
pub(crate) struct Defined {
    pub name: String,
    pub resources: HashMap<String, Option<String>>,
    pub parameters: HashSet<String>,
}

/// The result for one stack: the stacks it imports from, and errors.
#[derive(Default)]
pub(crate) struct Links {
    pub dependencies: BTreeSet<String>,
    pub diagnostics: Vec<Diagnostic>,
}

/// An export a producing stack must add: output ID → value (and the resource's condition).
type Exports = IndexMap<String, (Json, Option<String>)>;

/// Rewrites every cross-stack reference in `templates` (one per stack of `defined`, same
/// order) and adds the exports to the producing templates.
pub(crate) fn resolve(defined: &[Defined], templates: &mut [Json]) -> Vec<Links> {
    let mut owners: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, d) in defined.iter().enumerate() {
        for id in d.resources.keys() {
            owners.entry(id.as_str()).or_default().push(i);
        }
    }
    let mut links: Vec<Links> = defined.iter().map(|_| Links::default()).collect();
    let mut exports: Vec<Exports> = defined.iter().map(|_| Exports::new()).collect();
    for (i, template) in templates.iter_mut().enumerate() {
        let mut r = Rewriter {
            me: i,
            defined,
            owners: &owners,
            links: &mut links[i],
            exports: &mut exports,
            local_vars: HashSet::new(),
        };
        for section in ["Resources", "Outputs", "Conditions"] {
            if let Some(s) = template.get_mut(section) {
                r.walk(s);
            }
        }
        let foreign = |id: &str| !defined[i].resources.contains_key(id) && owners.contains_key(id);
        for id in drop_foreign_depends_on(template, &foreign) {
            for owner in owners.get(id.as_str()).into_iter().flatten() {
                links[i].dependencies.insert(defined[*owner].name.clone());
            }
        }
    }
    for ((template, exports), d) in templates.iter_mut().zip(&exports).zip(defined) {
        add_exports(template, exports, &d.name);
    }
    report_cycles(defined, &mut links);
    links
}

struct Rewriter<'a> {
    me: usize,
    defined: &'a [Defined],
    owners: &'a HashMap<&'a str, Vec<usize>>,
    links: &'a mut Links,
    exports: &'a mut [Exports],
    local_vars: HashSet<String>,
}

impl Rewriter<'_> {
    fn walk(&mut self, v: &mut Json) {
        if let Some(replacement) = self.rewrite(v) {
            *v = replacement;
            return;
        }
        match v {
            Json::Object(o) => o.values_mut().for_each(|c| self.walk(c)),
            Json::Array(a) => a.iter_mut().for_each(|c| self.walk(c)),
            _ => {}
        }
    }

    /// The replacement of an intrinsic that names another stack's resource.
    fn rewrite(&mut self, v: &mut Json) -> Option<Json> {
        let Json::Object(o) = v else { return None };
        if o.len() != 1 {
            return None;
        }
        let (key, arg) = o.iter_mut().next()?;
        match key.as_str() {
            "Ref" => {
                let id = arg.as_str()?.to_owned();
                let owner = self.foreign_owner(&id)?;
                Some(self.import(owner, &id, None))
            }
            "Fn::GetAtt" => {
                let (id, attr) = get_att_parts(arg)?;
                let owner = self.foreign_owner(&id)?;
                Some(self.import(owner, &id, Some(&attr)))
            }
            "Fn::Sub" => {
                self.rewrite_sub(arg);
                None
            }
            _ => None,
        }
    }

    /// The stack that owns `id` when it is not this stack's own resource or parameter.
    fn foreign_owner(&mut self, id: &str) -> Option<usize> {
        let me = &self.defined[self.me];
        if id.starts_with("AWS::")
            || me.resources.contains_key(id)
            || me.parameters.contains(id)
            || self.local_vars.contains(id)
        {
            return None;
        }
        let owners = self.owners.get(id)?;
        match owners.as_slice() {
            [one] => Some(*one),
            many => {
                let names: Vec<&str> = many
                    .iter()
                    .map(|i| self.defined[*i].name.as_str())
                    .collect();
                self.links.diagnostics.push(Diagnostic::error(
                    "ambiguous-cross-stack-reference",
                    &me.name,
                    format!(
                        "'{id}' is not a resource of stack '{}' and is defined in several other stacks ({}); give the resource a distinct ID",
                        me.name,
                        names.join(", ")
                    ),
                ));
                None
            }
        }
    }

    /// `Fn::ImportValue` of the export `owner` adds for `id` (and `attr`).
    fn import(&mut self, owner: usize, id: &str, attr: Option<&str>) -> Json {
        let producer = &self.defined[owner];
        let (output_id, value) = match attr {
            None => (format!("ExportsOutputRef{id}"), json!({"Ref": id})),
            Some(a) => (
                format!(
                    "ExportsOutputFnGetAtt{id}{}",
                    a.chars()
                        .filter(char::is_ascii_alphanumeric)
                        .collect::<String>()
                ),
                json!({"Fn::GetAtt": [id, a]}),
            ),
        };
        let condition = producer.resources.get(id).cloned().flatten();
        self.exports[owner]
            .entry(output_id.clone())
            .or_insert((value, condition));
        self.links.dependencies.insert(producer.name.clone());
        json!({"Fn::ImportValue": export_name(&producer.name, &output_id)})
    }

    /// Binds each `${Id}` / `${Id.Attr}` of another stack's resource to a variable of the
    /// list form, whose value imports it; the string itself is unchanged.
    fn rewrite_sub(&mut self, arg: &mut Json) {
        if arg.is_string() {
            *arg = json!([arg.take(), {}]);
        }
        let Some([text, vars]) = arg.as_array_mut().map(Vec::as_mut_slice) else {
            return;
        };
        let Some(text) = text.as_str().map(str::to_owned) else {
            return;
        };
        if let Json::Object(vars) = vars {
            vars.values_mut().for_each(|v| self.walk(v));
            self.local_vars = vars.keys().cloned().collect();
            for name in sub_variables(&text) {
                let (id, attr) = match name.split_once('.') {
                    Some((id, a)) => (id.to_owned(), Some(a.to_owned())),
                    None => (name.clone(), None),
                };
                if let Some(owner) = self.foreign_owner(&id) {
                    let imported = self.import(owner, &id, attr.as_deref());
                    vars.insert(name, imported);
                }
            }
            self.local_vars.clear();
        }
        // An unchanged string form reads better: undo the list form when nothing was bound.
        if arg[1].as_object().is_some_and(Map::is_empty) {
            *arg = arg[0].take();
        }
    }
}

fn get_att_parts(arg: &Json) -> Option<(String, String)> {
    match arg {
        Json::Array(a) if a.len() == 2 => {
            Some((a[0].as_str()?.to_owned(), a[1].as_str()?.to_owned()))
        }
        Json::String(s) => s.split_once('.').map(|(i, a)| (i.to_owned(), a.to_owned())),
        _ => None,
    }
}

/// The `${Name}` variables of an `Fn::Sub` string (`${!Literal}` is not one).
fn sub_variables(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        if !name.starts_with('!') && !out.iter().any(|n| n == name) {
            out.push(name.to_owned());
        }
        rest = &after[end + 1..];
    }
    out
}

/// The export name an output of `stack` gets.
pub fn export_name(stack: &str, output_id: &str) -> String {
    format!("{stack}:{output_id}")
}

/// A resource may depend on another stack's resource only through the stack order: the
/// `DependsOn` entries naming one are removed and returned.
fn drop_foreign_depends_on(template: &mut Json, foreign: &dyn Fn(&str) -> bool) -> Vec<String> {
    let mut dropped = Vec::new();
    let Some(resources) = template.get_mut("Resources").and_then(Json::as_object_mut) else {
        return dropped;
    };
    for r in resources.values_mut() {
        let Some(obj) = r.as_object_mut() else {
            continue;
        };
        let mut take = |id: &Json| match id.as_str() {
            Some(s) if foreign(s) => {
                dropped.push(s.to_owned());
                false
            }
            _ => true,
        };
        match obj.get_mut("DependsOn") {
            Some(Json::Array(list)) => {
                list.retain(&mut take);
                if list.is_empty() {
                    obj.remove("DependsOn");
                }
            }
            Some(one) if !take(one) => {
                obj.remove("DependsOn");
            }
            _ => {}
        }
    }
    dropped
}

fn add_exports(template: &mut Json, exports: &Exports, stack: &str) {
    if exports.is_empty() {
        return;
    }
    let Some(t) = template.as_object_mut() else {
        return;
    };
    let outputs = t
        .entry("Outputs")
        .or_insert_with(|| Json::Object(Map::new()));
    let Some(outputs) = outputs.as_object_mut() else {
        return;
    };
    for (id, (value, condition)) in exports {
        let mut o = json!({"Value": value, "Export": {"Name": export_name(stack, id)}});
        if let Some(c) = condition {
            o["Condition"] = json!(c);
        }
        outputs.insert(id.clone(), o);
    }
}

/// Two stacks that import from each other (directly or around a loop) cannot be deployed.
fn report_cycles(defined: &[Defined], links: &mut [Links]) {
    let index: HashMap<&str, usize> = defined
        .iter()
        .enumerate()
        .map(|(i, d)| (d.name.as_str(), i))
        .collect();
    for start in 0..defined.len() {
        let mut seen = HashSet::new();
        let mut todo: Vec<usize> = deps(&links[start], &index);
        while let Some(n) = todo.pop() {
            if n == start {
                let name = &defined[start].name;
                links[start].diagnostics.push(Diagnostic::error(
                    "cross-stack-cycle",
                    name,
                    format!(
                        "stack '{name}' imports, through other stacks, from itself; move the shared resources into one stack"
                    ),
                ));
                break;
            }
            if seen.insert(n) {
                todo.extend(deps(&links[n], &index));
            }
        }
    }
}

fn deps(l: &Links, index: &HashMap<&str, usize>) -> Vec<usize> {
    l.dependencies
        .iter()
        .filter_map(|d| index.get(d.as_str()).copied())
        .collect()
}

/// The order to deploy `stacks` (names with their dependencies) in: every stack after the
/// ones it imports from, otherwise in the given order. Stacks in a cycle come last.
pub fn deploy_order(stacks: &[(String, Vec<String>)]) -> Vec<usize> {
    let mut done: Vec<usize> = Vec::new();
    let mut placed = vec![false; stacks.len()];
    loop {
        let before = done.len();
        for (i, (_, deps)) in stacks.iter().enumerate() {
            let ready = deps.iter().all(|d| {
                stacks
                    .iter()
                    .position(|(n, _)| n == d)
                    .is_none_or(|j| placed[j])
            });
            if !placed[i] && ready {
                placed[i] = true;
                done.push(i);
            }
        }
        if done.len() == before {
            break;
        }
    }
    done.extend((0..stacks.len()).filter(|i| !placed[*i]));
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_variables_skip_literals_and_repeat_once() {
        assert_eq!(
            sub_variables("${A}-${B.Arn}-${!Lit}-${A}-${AWS::Region}"),
            vec!["A", "B.Arn", "AWS::Region"]
        );
    }

    #[test]
    fn deploy_order_puts_producers_first_and_keeps_the_given_order_otherwise() {
        let s = |n: &str, d: &[&str]| (n.to_owned(), d.iter().map(|x| x.to_string()).collect());
        let order = deploy_order(&[
            s("App", &["Data", "Net"]),
            s("Data", &["Net"]),
            s("Net", &[]),
            s("Side", &[]),
        ]);
        assert_eq!(order, vec![2, 3, 1, 0]);
    }
}
