//! The template of the IMPORT change set, and the resources it imports.
//!
//! CloudFormation's rules (user guide, "Import AWS resources into a CloudFormation stack":
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/import-resources.html>):
//! the template holds the stack's existing resources unchanged plus the imported ones, each
//! imported resource carries a `DeletionPolicy`, and nothing else changes. An imported
//! resource may therefore not reference a resource our full template adds later: such a
//! reference is written as the value the existing resource has now (from the Terraform
//! state), and the follow-up deploy puts the reference back.

use indexmap::IndexMap;
use serde_json::{Map, Value, json};

use crate::plan::{AdoptPlan, Disposition};
use crate::resolve::{intrinsic, referenced_ids};

/// Why no import template could be built.
#[derive(Debug, thiserror::Error)]
pub enum ImportTemplateError {
    /// The deployed template has no `Resources`.
    #[error("the deployed template has no Resources object")]
    NotATemplate,
    /// A resource to import is already in the stack.
    #[error("{logical_id} is already in the stack: a resource is imported once")]
    AlreadyInStack {
        /// The logical ID.
        logical_id: String,
    },
    /// A required property references resources the import template lacks, and the plan has
    /// no existing value for it.
    #[error(
        "{logical_id}: required property {property} references {references:?}, which the import template lacks; map the property to a Terraform attribute so its existing value can stand in"
    )]
    Unresolvable {
        /// The logical ID.
        logical_id: String,
        /// The property path.
        property: String,
        /// The absent logical IDs.
        references: Vec<String>,
    },
    /// An imported resource is conditional.
    #[error(
        "{logical_id} has a Condition; import it with the condition's resources deployed first"
    )]
    Conditional {
        /// The logical ID.
        logical_id: String,
    },
}

/// One resource of an IMPORT change set: logical ID, type, identifier.
pub type ResourceToImport = (String, String, IndexMap<String, String>);

impl AdoptPlan {
    /// The resources the IMPORT change set imports, in plan order.
    pub fn resources_to_import(&self) -> Vec<ResourceToImport> {
        self.resources
            .iter()
            .filter(|r| {
                matches!(
                    r.disposition,
                    Disposition::Import | Disposition::ImportThenReplace
                )
            })
            .filter_map(|r| {
                Some((
                    r.logical_id.clone()?,
                    r.resource_type.clone()?,
                    r.identifier.clone(),
                ))
            })
            .collect()
    }

    /// The IMPORT change set's template: `deployed` (the stack's current template; `None` for
    /// a stack that does not exist yet) plus each imported resource with `DeletionPolicy:
    /// Retain`, its references to resources not in the result replaced by existing values.
    pub fn import_template(&self, deployed: Option<&Value>) -> Result<Value, ImportTemplateError> {
        let mut out = match deployed {
            Some(d) => d.clone(),
            None => json!({"AWSTemplateFormatVersion": "2010-09-09", "Resources": {}}),
        };
        let imports = self.resources_to_import();
        let present: Vec<String> = out
            .get("Resources")
            .and_then(Value::as_object)
            .ok_or(ImportTemplateError::NotATemplate)?
            .keys()
            .cloned()
            .chain(imports.iter().map(|(id, _, _)| id.clone()))
            .collect();
        let mut added = Map::new();
        for (id, ty, _) in &imports {
            if out["Resources"].get(id).is_some() {
                return Err(ImportTemplateError::AlreadyInStack {
                    logical_id: id.clone(),
                });
            }
            added.insert(id.clone(), self.imported_resource(id, ty, &present)?);
        }
        if let Some(Value::Object(resources)) = out.get_mut("Resources") {
            resources.extend(added);
        }
        Ok(out)
    }

    fn imported_resource(
        &self,
        id: &str,
        ty: &str,
        present: &[String],
    ) -> Result<Value, ImportTemplateError> {
        let full = &self.target[id];
        if full.get("Condition").is_some() {
            return Err(ImportTemplateError::Conditional {
                logical_id: id.to_owned(),
            });
        }
        let schema = self.schemas.get(id).copied();
        let no_values = IndexMap::new();
        let theirs = self.theirs.get(id).unwrap_or(&no_values);
        let mut props = Map::new();
        for (name, value) in full["Properties"].as_object().into_iter().flatten() {
            let secret = schema.is_some_and(|s| s.write_only.contains(&name.as_str()));
            let mut rewrite = Rewrite {
                present,
                theirs: if secret { &no_values } else { theirs },
                unresolved: Vec::new(),
            };
            let v = rewrite.value(value, name);
            if rewrite.unresolved.is_empty() {
                props.insert(name.clone(), v);
            } else if schema
                .and_then(|s| s.property(name))
                .is_some_and(|p| p.required)
            {
                return Err(ImportTemplateError::Unresolvable {
                    logical_id: id.to_owned(),
                    property: name.clone(),
                    references: rewrite.unresolved,
                });
            }
            // Otherwise left out: the follow-up deploy sets it.
        }
        let mut r = Map::new();
        r.insert("Type".into(), Value::String(ty.to_owned()));
        r.insert("Properties".into(), Value::Object(props));
        let depends: Vec<Value> = depends_on(full)
            .into_iter()
            .filter(|d| present.contains(d))
            .map(Value::String)
            .collect();
        if !depends.is_empty() {
            r.insert("DependsOn".into(), Value::Array(depends));
        }
        r.insert("DeletionPolicy".into(), json!("Retain"));
        r.insert("UpdateReplacePolicy".into(), json!("Retain"));
        if let Some(m) = full.get("Metadata") {
            r.insert("Metadata".into(), m.clone());
        }
        Ok(Value::Object(r))
    }
}

fn depends_on(resource: &Value) -> Vec<String> {
    match resource.get("DependsOn") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

struct Rewrite<'a> {
    present: &'a [String],
    theirs: &'a IndexMap<String, Value>,
    unresolved: Vec<String>,
}

impl Rewrite<'_> {
    fn value(&mut self, v: &Value, path: &str) -> Value {
        let mut ids = Vec::new();
        referenced_ids(v, &mut ids);
        let absent: Vec<String> = ids
            .into_iter()
            .filter(|id| !self.present.contains(id))
            .collect();
        if absent.is_empty() {
            return v.clone();
        }
        // The existing value of the closest compared property stands in for the whole of it
        // (a list of security group references becomes the list the state holds).
        if let Some(existing) = self.theirs.get(path).filter(|e| !e.is_null()) {
            return existing.clone();
        }
        if intrinsic(v).is_some() {
            return match self.theirs.get(path) {
                Some(existing) if !existing.is_null() => existing.clone(),
                _ => {
                    self.unresolved.extend(absent);
                    Value::Null
                }
            };
        }
        match v {
            Value::Array(a) => Value::Array(
                a.iter()
                    .enumerate()
                    .map(|(i, x)| self.value(x, &format!("{path}/{i}")))
                    .collect(),
            ),
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, x)| (k.clone(), self.value(x, &format!("{path}/{k}"))))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

/// What is wrong with an import template, as CloudFormation would see it: an imported
/// resource without a `DeletionPolicy`, or any reference (`Ref`, `Fn::GetAtt`, `Fn::Sub`,
/// `DependsOn`) to a resource the template lacks. Empty when it is fine.
///
/// ```
/// let t = serde_json::json!({"Resources": {"A": {"Type": "AWS::Logs::LogGroup",
///     "Properties": {"KmsKeyId": {"Fn::GetAtt": ["Key", "Arn"]}}}}});
/// let problems = cfn_adopt::check_import_template(&t, &["A"]);
/// assert_eq!(problems.len(), 2);
/// ```
pub fn check_import_template(template: &Value, imported: &[&str]) -> Vec<String> {
    let Some(resources) = template.get("Resources").and_then(Value::as_object) else {
        return vec!["no Resources".into()];
    };
    let mut problems = Vec::new();
    for id in imported {
        match resources.get(*id) {
            None => problems.push(format!("{id}: not in the template")),
            Some(r) if r.get("DeletionPolicy").is_none() => {
                problems.push(format!("{id}: imported without a DeletionPolicy"));
            }
            Some(_) => {}
        }
    }
    for (id, r) in resources {
        let mut refs = Vec::new();
        referenced_ids(r.get("Properties").unwrap_or(&Value::Null), &mut refs);
        refs.extend(depends_on(r));
        for target in refs {
            if !resources.contains_key(&target) && !is_parameter(template, &target) {
                problems.push(format!(
                    "{id}: references {target}, which the template lacks"
                ));
            }
        }
    }
    problems
}

fn is_parameter(template: &Value, name: &str) -> bool {
    name.starts_with("AWS::") || template["Parameters"].get(name).is_some()
}
