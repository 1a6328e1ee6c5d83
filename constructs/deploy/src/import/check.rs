//! The client-side twin of CloudFormation's import rules, checked on the templates alone so
//! the user hears about a bad import before any change set exists.
//!
//! The rules are the CloudFormation user guide's ("Bringing existing resources into
//! CloudFormation management", `resource-import.html`, its "Resource import overview" and
//! "Considerations during an import operation"): the template describes the entire stack;
//! each resource to import is in it with a `DeletionPolicy`; import operations do not allow
//! new resource creations, resource deletions or changes to property configurations; and
//! CloudFormation answers "As part of the import operation, you cannot modify or add
//! \[Outputs\]" to changed outputs. The identifier is the type's `primaryIdentifier` (the
//! registry schema vendored in `cfn-resources`).

use serde_json::Value as Json;

use crate::changeset::ResourceToImport;
pub use crate::import_problem::ImportProblem;

/// Every problem of importing `resources` with `template` into a stack whose deployed template
/// is `deployed` (`None`: a new stack). Empty when the import may go ahead.
pub fn check(
    deployed: Option<&Json>,
    template: &Json,
    resources: &[ResourceToImport],
) -> Vec<ImportProblem> {
    let mut problems = Vec::new();
    let new = resources_of(Some(template));
    let old = resources_of(deployed);
    let mut seen = std::collections::HashSet::new();
    for r in resources {
        if !seen.insert(r.logical_id.as_str()) {
            problems.push(ImportProblem::Duplicate {
                logical_id: r.logical_id.clone(),
            });
            continue;
        }
        if old.contains_key(&r.logical_id) {
            problems.push(ImportProblem::AlreadyInStack {
                logical_id: r.logical_id.clone(),
            });
            continue;
        }
        problems.extend(resource_problems(r, new.get(&r.logical_id)));
    }
    problems.extend(other_changes(&old, &new, resources));
    let outputs = |t: Option<&Json>| t.and_then(|t| t.get("Outputs")).cloned();
    let outputs_differ = match deployed {
        Some(d) => outputs(Some(d)) != outputs(Some(template)),
        None => {
            outputs(Some(template)).is_some_and(|o| o.as_object().is_none_or(|m| !m.is_empty()))
        }
    };
    if outputs_differ {
        problems.push(ImportProblem::OutputsChanged);
    }
    problems
}

/// The problems of one resource to import against its definition in the template.
fn resource_problems(r: &ResourceToImport, def: Option<&Json>) -> Vec<ImportProblem> {
    let id = || r.logical_id.clone();
    let Some(def) = def else {
        return vec![ImportProblem::NotInTemplate { logical_id: id() }];
    };
    let in_template = def.get("Type").and_then(Json::as_str).unwrap_or("?");
    if in_template != r.resource_type {
        return vec![ImportProblem::WrongType {
            logical_id: id(),
            given: r.resource_type.clone(),
            in_template: in_template.to_owned(),
        }];
    }
    let mut out = Vec::new();
    if def.get("DeletionPolicy").is_none() {
        out.push(ImportProblem::NoDeletionPolicy { logical_id: id() });
    }
    if let Some(schema) = cfn_resources::schema_for(&r.resource_type) {
        let mut expected: Vec<String> = schema
            .primary_identifier
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let mut given: Vec<String> = r.identifier.keys().cloned().collect();
        expected.sort();
        given.sort();
        if expected != given {
            out.push(ImportProblem::IdentifierKeys {
                logical_id: id(),
                resource_type: r.resource_type.clone(),
                expected,
                given,
            });
        }
    }
    out.extend(
        r.identifier
            .iter()
            .filter(|(_, v)| v.trim().is_empty())
            .map(|(k, _)| ImportProblem::EmptyIdentifier {
                logical_id: id(),
                key: k.clone(),
            }),
    );
    out
}

/// Resources that are not imported and that the template adds, changes or removes.
fn other_changes(
    old: &serde_json::Map<String, Json>,
    new: &serde_json::Map<String, Json>,
    resources: &[ResourceToImport],
) -> Vec<ImportProblem> {
    let imported = |id: &str| resources.iter().any(|r| r.logical_id == id);
    let mut out = Vec::new();
    for (id, def) in new {
        let how = match old.get(id) {
            None if imported(id) => continue,
            None => "added",
            Some(o) if o != def => "changed",
            Some(_) => continue,
        };
        out.push(ImportProblem::OtherChange {
            logical_id: id.clone(),
            how,
        });
    }
    out.extend(old.keys().filter(|id| !new.contains_key(*id)).map(|id| {
        ImportProblem::OtherChange {
            logical_id: id.clone(),
            how: "removed",
        }
    }));
    out
}

fn resources_of(template: Option<&Json>) -> serde_json::Map<String, Json> {
    template
        .and_then(|t| t.get("Resources"))
        .and_then(Json::as_object)
        .cloned()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use indexmap::IndexMap;
    use serde_json::json;

    fn bucket(name: &str) -> ResourceToImport {
        ResourceToImport {
            logical_id: "Data".into(),
            resource_type: "AWS::S3::Bucket".into(),
            identifier: IndexMap::from([("BucketName".to_owned(), name.to_owned())]),
        }
    }

    fn template(data: Json) -> Json {
        json!({"Resources": {
            "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 7}},
            "Data": data
        }})
    }

    fn deployed() -> Json {
        json!({"Resources": {
            "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 7}}
        }})
    }

    #[test]
    fn a_retained_bucket_with_its_name_imports_cleanly() {
        let t = template(
            json!({"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain",
                                "Properties": {"BucketName": "b"}}),
        );
        assert_eq!(check(Some(&deployed()), &t, &[bucket("b")]), []);
    }

    #[test]
    fn each_rule_is_reported() {
        let no_policy = template(json!({"Type": "AWS::S3::Bucket"}));
        assert_eq!(
            check(Some(&deployed()), &no_policy, &[bucket("b")]),
            [ImportProblem::NoDeletionPolicy {
                logical_id: "Data".into()
            }]
        );
        let ok = template(json!({"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"}));
        let mut wrong_key = bucket("b");
        wrong_key.identifier = IndexMap::from([("Name".to_owned(), "b".to_owned())]);
        assert!(matches!(
            check(Some(&deployed()), &ok, &[wrong_key]).as_slice(),
            [ImportProblem::IdentifierKeys { expected, .. }] if expected == &["BucketName"]
        ));
        assert_eq!(
            check(Some(&deployed()), &ok, &[bucket(" ")]),
            [ImportProblem::EmptyIdentifier {
                logical_id: "Data".into(),
                key: "BucketName".into()
            }]
        );
        let mut changed = ok.clone();
        changed["Resources"]["Logs"]["Properties"]["RetentionInDays"] = json!(30);
        changed["Resources"]["Extra"] = json!({"Type": "AWS::SNS::Topic"});
        changed["Outputs"] = json!({"O": {"Value": "x"}});
        let problems = check(Some(&deployed()), &changed, &[bucket("b")]);
        assert!(problems.contains(&ImportProblem::OtherChange {
            logical_id: "Logs".into(),
            how: "changed"
        }));
        assert!(problems.contains(&ImportProblem::OtherChange {
            logical_id: "Extra".into(),
            how: "added"
        }));
        assert!(problems.contains(&ImportProblem::OutputsChanged));
        let removed = json!({"Resources": {"Data": ok["Resources"]["Data"].clone()}});
        assert_eq!(
            check(Some(&deployed()), &removed, &[bucket("b")]),
            [ImportProblem::OtherChange {
                logical_id: "Logs".into(),
                how: "removed"
            }]
        );
    }

    #[test]
    fn a_new_stack_holds_nothing_but_the_imported_resources() {
        let t = template(json!({"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"}));
        assert_eq!(
            check(None, &t, &[bucket("b")]),
            [ImportProblem::OtherChange {
                logical_id: "Logs".into(),
                how: "added"
            }]
        );
        let mut logs = ResourceToImport {
            logical_id: "Logs".into(),
            resource_type: "AWS::Logs::LogGroup".into(),
            identifier: IndexMap::new(),
        };
        logs.identifier.insert("LogGroupName".into(), "/app".into());
        let mut t2 = t.clone();
        t2["Resources"]["Logs"]["DeletionPolicy"] = json!("Retain");
        assert_eq!(check(None, &t2, &[bucket("b"), logs]), []);
    }

    #[test]
    fn a_resource_of_the_stack_or_named_twice_is_refused() {
        let t = template(json!({"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"}));
        let logs = ResourceToImport {
            logical_id: "Logs".into(),
            resource_type: "AWS::Logs::LogGroup".into(),
            identifier: IndexMap::from([("LogGroupName".to_owned(), "/app".to_owned())]),
        };
        let problems = check(Some(&deployed()), &t, &[bucket("b"), bucket("b"), logs]);
        assert_eq!(
            problems,
            [
                ImportProblem::Duplicate {
                    logical_id: "Data".into()
                },
                ImportProblem::AlreadyInStack {
                    logical_id: "Logs".into()
                }
            ]
        );
        let missing = json!({"Resources": deployed()["Resources"].clone()});
        assert_eq!(
            check(Some(&deployed()), &missing, &[bucket("b")]),
            [ImportProblem::NotInTemplate {
                logical_id: "Data".into()
            }]
        );
    }
}
