//! Stack outputs, exports and imports, as CloudFormation keeps them: an output with
//! `Export.Name` in a stack's deployed template is an export (one name per account and region);
//! a literal `Fn::ImportValue` in a stack's deployed template is an import of it.
//!
//! Values are resolved the way the simulator can: literals as they are, `Ref` to a parameter's
//! value, a pseudo parameter or `<logical id>-physical`, `Fn::GetAtt` to
//! `<logical id>-physical.<attribute>`, `Fn::Sub` of pseudo parameters and parameters,
//! `Fn::Join`; anything else as its JSON text.

use serde_json::Value as Json;

use super::{ACCOUNT, REGION, SimStack, State};

/// One output of a deployed stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Output {
    pub key: String,
    pub value: String,
    pub export: Option<String>,
    pub description: Option<String>,
}

/// One export: its name, value and the stack exporting it.
#[derive(Clone, Debug)]
pub(super) struct Export {
    pub name: String,
    pub value: String,
    pub stack_id: String,
}

/// Resolves a template value as far as the simulator can.
pub(super) fn resolve(v: &Json, s: &SimStack) -> String {
    match v {
        Json::String(x) => x.clone(),
        Json::Number(n) => n.to_string(),
        Json::Bool(b) => b.to_string(),
        Json::Object(o) if o.len() == 1 => {
            let (f, arg) = o
                .iter()
                .next()
                .map(|(k, v)| (k.as_str(), v))
                .unwrap_or(("", v));
            match (f, arg) {
                ("Ref", Json::String(r)) => reference(r, s),
                ("Fn::GetAtt", Json::Array(a)) => format!(
                    "{}-physical.{}",
                    a.first().and_then(Json::as_str).unwrap_or("?"),
                    a.get(1).and_then(Json::as_str).unwrap_or("?")
                ),
                ("Fn::GetAtt", Json::String(a)) => {
                    let (id, attr) = a.split_once('.').unwrap_or((a, "?"));
                    format!("{id}-physical.{attr}")
                }
                ("Fn::Sub", Json::String(t)) => substitute(t, s),
                ("Fn::Join", Json::Array(a)) => {
                    let sep = a.first().and_then(Json::as_str).unwrap_or("");
                    a.get(1)
                        .and_then(Json::as_array)
                        .map(|parts| {
                            parts
                                .iter()
                                .map(|p| resolve(p, s))
                                .collect::<Vec<_>>()
                                .join(sep)
                        })
                        .unwrap_or_default()
                }
                _ => v.to_string(),
            }
        }
        other => other.to_string(),
    }
}

fn reference(r: &str, s: &SimStack) -> String {
    match r {
        "AWS::StackName" => s.name.clone(),
        "AWS::StackId" => s.id.clone(),
        "AWS::Region" => REGION.to_owned(),
        "AWS::AccountId" => ACCOUNT.to_owned(),
        "AWS::Partition" => "aws".to_owned(),
        "AWS::URLSuffix" => "amazonaws.com".to_owned(),
        _ => s
            .params
            .iter()
            .find(|(k, _)| k == r)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| format!("{r}-physical")),
    }
}

fn substitute(t: &str, s: &SimStack) -> String {
    let mut out = String::new();
    let mut rest = t;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[i..]);
            return out;
        };
        let name = &after[..end];
        match name.split_once('.') {
            Some((id, attr)) => out.push_str(&format!("{id}-physical.{attr}")),
            None => out.push_str(&reference(name, s)),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The outputs of `template` deployed as stack `s`.
pub(super) fn outputs_of(template: Option<&str>, s: &SimStack) -> Vec<Output> {
    let Some(t) = template.and_then(|t| serde_json::from_str::<Json>(t).ok()) else {
        return Vec::new();
    };
    let Some(outputs) = t.get("Outputs").and_then(Json::as_object) else {
        return Vec::new();
    };
    outputs
        .iter()
        .map(|(key, o)| Output {
            key: key.clone(),
            value: o.get("Value").map(|v| resolve(v, s)).unwrap_or_default(),
            export: o.pointer("/Export/Name").map(|n| resolve(n, s)),
            description: o
                .get("Description")
                .and_then(Json::as_str)
                .map(str::to_owned),
        })
        .collect()
}

/// The export names `template` imports (literal names, and `Fn::Sub` of stack names and
/// parameters), deployed as stack `s`; in order, without repeats.
pub(super) fn imports_of(template: Option<&str>, s: &SimStack) -> Vec<String> {
    fn walk(v: &Json, s: &SimStack, out: &mut Vec<String>) {
        match v {
            Json::Object(o) => {
                for (k, v) in o {
                    if k == "Fn::ImportValue" {
                        let name = resolve(v, s);
                        if !out.contains(&name) {
                            out.push(name);
                        }
                    } else {
                        walk(v, s, out);
                    }
                }
            }
            Json::Array(a) => a.iter().for_each(|v| walk(v, s, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Some(t) = template.and_then(|t| serde_json::from_str::<Json>(t).ok()) {
        walk(&t, s, &mut out);
    }
    out
}

/// "A", "A and B", "A, B and C": how CloudFormation lists the importing stacks.
pub(super) fn and_list(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

impl State {
    /// Stacks whose deployed template counts: live, and past review.
    fn deployed(&self) -> impl Iterator<Item = &SimStack> {
        self.stacks
            .iter()
            .filter(|s| !s.deleted && s.template.is_some() && s.status != "REVIEW_IN_PROGRESS")
    }

    /// Every export, in stack order.
    pub(super) fn exports(&self) -> Vec<Export> {
        self.deployed()
            .flat_map(|s| {
                outputs_of(s.template.as_deref(), s)
                    .into_iter()
                    .filter_map(|o| {
                        o.export.map(|name| Export {
                            name,
                            value: o.value,
                            stack_id: s.id.clone(),
                        })
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// The names of the stacks importing `export`, in stack order.
    pub(super) fn importers(&self, export: &str) -> Vec<String> {
        self.deployed()
            .filter(|s| {
                imports_of(s.template.as_deref(), s)
                    .iter()
                    .any(|i| i == export)
            })
            .map(|s| s.name.clone())
            .collect()
    }

    /// Why deploying `template` as stack `stack_id` cannot resolve its imports: the first
    /// import no other stack exports.
    pub(super) fn missing_import(&self, stack_id: &str, template: &str) -> Option<String> {
        let s = self.stacks.iter().find(|s| s.id == stack_id)?;
        let exports = self.exports();
        imports_of(Some(template), s).into_iter().find(|i| {
            !exports
                .iter()
                .any(|e| &e.name == i && e.stack_id != stack_id)
        })
    }

    /// Why an operation installing `template` on stack `stack_id` (`None`: deleting it) fails
    /// on exports, as CloudFormation words it: an export another stack already has, or an
    /// export in use that would be removed or changed.
    pub(super) fn export_conflict(&self, stack_id: &str, template: Option<&str>) -> Option<String> {
        let s = self.stacks.iter().find(|s| s.id == stack_id)?;
        let exports = self.exports();
        let new: Vec<Output> = template.map(|t| outputs_of(Some(t), s)).unwrap_or_default();
        for o in &new {
            if let Some(name) = &o.export
                && let Some(other) = exports
                    .iter()
                    .find(|e| &e.name == name && e.stack_id != stack_id)
            {
                let owner = self
                    .stacks
                    .iter()
                    .find(|s| s.id == other.stack_id)
                    .map(|s| s.name.clone())
                    .unwrap_or_default();
                return Some(format!(
                    "Export with name {name} is already exported by stack {owner}"
                ));
            }
        }
        if s.template.is_none() || s.status == "REVIEW_IN_PROGRESS" {
            return None;
        }
        for old in exports.iter().filter(|e| e.stack_id == stack_id) {
            let users = self.importers(&old.name);
            if users.is_empty() {
                continue;
            }
            let kept = new
                .iter()
                .find(|o| o.export.as_deref() == Some(old.name.as_str()));
            let verb = match kept {
                None => "deleted",
                Some(o) if o.value != old.value => "updated",
                Some(_) => continue,
            };
            return Some(format!(
                "Export {} cannot be {verb} as it is in use by {}",
                old.name,
                and_list(&users)
            ));
        }
        None
    }
}
