//! Resource import, as CloudFormation does it: `CreateChangeSet` with `ChangeSetType=IMPORT`
//! and `ResourcesToImport`, checked against the rules of the user guide's "Bringing existing
//! resources into CloudFormation management" (`resource-import.html`):
//!
//! - "A template that describes the entire stack … Each resource to import must have a
//!   DeletionPolicy attribute" (overview), refused as CloudFormation words it: "The following
//!   resources to import [X] must have DeletionPolicy attribute specified in the template."
//! - "Import operations don't allow new resource creations, resource deletions, or changes to
//!   property configurations" (considerations); changed or added outputs are refused with
//!   CloudFormation's "As part of the import operation, you cannot modify or add [Outputs]".
//! - A logical ID already in the stack: "Resources [X] passed in ResourceToImport are already
//!   in a stack and cannot be imported." (CloudFormation's wording).
//! - The identifier names exactly the type's `primaryIdentifier` keys (the registry schema in
//!   `cfn-resources`); "The resource to import exists"; "The resource to import does not
//!   belong to another stack in the same Region" (validation). For these three no AWS wording
//!   was found: the simulator's own sentences say what is wrong.
//!
//! The template rules are checked when the request arrives (CloudFormation answers them with
//! a ValidationError, "There was an error creating this change set"); existence and ownership
//! when the change set is computed (a FAILED change set), and again when it executes: a
//! resource gone by then fails the import, which rolls back (`IMPORT_ROLLBACK_COMPLETE`)
//! releasing, never deleting, what it was importing.
//!
//! Existing resources outside any stack are seeded by the test ([`Sim::existing_resource`]);
//! an imported resource's physical ID is its identifier values joined by `|`.

use std::collections::HashMap;

use serde_json::Value as Json;

use super::{
    ACCOUNT, CFN_NS, Change, EventSpec, REGION, Sim, SimChangeSet, State, error, esc, event, ok,
    resources_of, section_of, stack_event,
};

/// A physical resource in the account: outside any stack (`owner` `None`) or held by one.
#[derive(Clone, Debug)]
pub(super) struct Existing {
    resource_type: String,
    identifier: Vec<(String, String)>,
    /// The ID of the stack holding it.
    owner: Option<String>,
}

/// One entry of `ResourcesToImport`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct ToImport {
    logical: String,
    resource_type: String,
    identifier: Vec<(String, String)>,
}

impl ToImport {
    fn physical(&self) -> String {
        self.identifier
            .iter()
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
            .join("|")
    }

    fn describe(&self) -> String {
        self.identifier
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn same_identifier(a: &[(String, String)], b: &[(String, String)]) -> bool {
    let sorted = |x: &[(String, String)]| {
        let mut v = x.to_vec();
        v.sort();
        v
    };
    sorted(a) == sorted(b)
}

impl Sim {
    /// Seeds a resource that exists in the account outside any stack.
    pub fn existing_resource(&self, resource_type: &str, identifier: &[(&str, &str)]) {
        self.st().existing.push(Existing {
            resource_type: resource_type.to_owned(),
            identifier: pairs(identifier),
            owner: None,
        });
    }

    /// Deletes a resource outside the simulator's stacks (someone removed it by hand).
    pub fn remove_existing_resource(&self, resource_type: &str, identifier: &[(&str, &str)]) {
        let id = pairs(identifier);
        self.st()
            .existing
            .retain(|e| !(e.resource_type == resource_type && same_identifier(&e.identifier, &id)));
    }

    /// `None` when the resource does not exist; `Some(None)` when it exists outside any stack;
    /// `Some(Some(name))` when the stack `name` holds it.
    pub fn resource_holder(
        &self,
        resource_type: &str,
        identifier: &[(&str, &str)],
    ) -> Option<Option<String>> {
        let st = self.st();
        let id = pairs(identifier);
        let e = st
            .existing
            .iter()
            .find(|e| e.resource_type == resource_type && same_identifier(&e.identifier, &id))?;
        Some(e.owner.as_ref().map(|sid| {
            st.stacks
                .iter()
                .find(|s| &s.id == sid)
                .map_or_else(|| sid.clone(), |s| s.name.clone())
        }))
    }
}

fn pairs(identifier: &[(&str, &str)]) -> Vec<(String, String)> {
    identifier
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `ResourcesToImport.member.N.{ResourceType,LogicalResourceId,ResourceIdentifier.entry.M.{key,value}}`.
fn resources_to_import(p: &HashMap<String, String>) -> Vec<ToImport> {
    (1..)
        .map_while(|i| {
            let at = |k: &str| p.get(&format!("ResourcesToImport.member.{i}.{k}")).cloned();
            let logical = at("LogicalResourceId")?;
            let identifier = (1..)
                .map_while(|m| {
                    Some((
                        at(&format!("ResourceIdentifier.entry.{m}.key"))?,
                        at(&format!("ResourceIdentifier.entry.{m}.value")).unwrap_or_default(),
                    ))
                })
                .collect();
            Some(ToImport {
                logical,
                resource_type: at("ResourceType").unwrap_or_default(),
                identifier,
            })
        })
        .collect()
}

/// The template rules, checked on arrival: CloudFormation's ValidationError message, if any.
fn validate(old: Option<&str>, body: &str, imports: &[ToImport]) -> Result<(), String> {
    let old_resources = resources_of(old);
    let new_resources = resources_of(Some(body));
    let ids = |f: &dyn Fn(&ToImport) -> bool| -> Vec<String> {
        imports
            .iter()
            .filter(|i| f(i))
            .map(|i| i.logical.clone())
            .collect()
    };
    let in_stack = ids(&|i| old_resources.contains_key(&i.logical));
    if !in_stack.is_empty() {
        return Err(format!(
            "Resources [{}] passed in ResourceToImport are already in a stack and cannot be imported.",
            in_stack.join(", ")
        ));
    }
    for i in imports {
        let ty = new_resources
            .get(&i.logical)
            .and_then(|r| r.get("Type"))
            .and_then(Json::as_str);
        match ty {
            None => {
                return Err(format!(
                    "Resource [{}] in ResourcesToImport is not in the template.",
                    i.logical
                ));
            }
            Some(t) if t != i.resource_type => {
                return Err(format!(
                    "Resource [{}] is of type [{t}] in the template, not [{}] as in ResourcesToImport.",
                    i.logical, i.resource_type
                ));
            }
            Some(_) => {}
        }
    }
    let no_policy = ids(&|i| {
        new_resources
            .get(&i.logical)
            .is_some_and(|r| r.get("DeletionPolicy").is_none())
    });
    if !no_policy.is_empty() {
        return Err(format!(
            "The following resources to import [{}] must have DeletionPolicy attribute specified in the template.",
            no_policy.join(", ")
        ));
    }
    for i in imports {
        check_identifier(i)?;
    }
    let imported = |id: &str| imports.iter().any(|i| i.logical == id);
    let mut touched: Vec<String> = new_resources
        .iter()
        .filter(|(id, r)| match old_resources.get(*id) {
            None => !imported(id),
            Some(o) => o != *r,
        })
        .map(|(id, _)| id.clone())
        .collect();
    touched.extend(
        old_resources
            .keys()
            .filter(|id| !new_resources.contains_key(*id))
            .cloned(),
    );
    if !touched.is_empty() {
        return Err(format!(
            "You have modified resources [{}] in your template that are not being imported. Update, create or delete operations cannot be executed during import operations.",
            touched.join(", ")
        ));
    }
    let outputs_new = section_of(Some(body), "Outputs");
    let outputs_changed = match old {
        Some(_) => section_of(old, "Outputs") != outputs_new,
        None => outputs_new.as_object().is_some_and(|o| !o.is_empty()),
    };
    if outputs_changed {
        return Err("As part of the import operation, you cannot modify or add [Outputs]".into());
    }
    Ok(())
}

/// The identifier names exactly the type's `primaryIdentifier` keys, each with a value.
fn check_identifier(i: &ToImport) -> Result<(), String> {
    let Some(schema) = cfn_resources::schema_for(&i.resource_type) else {
        return Err(format!(
            "ResourceType [{}] of resource [{}] does not support import.",
            i.resource_type, i.logical
        ));
    };
    let mut expected: Vec<&str> = schema.primary_identifier.to_vec();
    let mut given: Vec<&str> = i.identifier.iter().map(|(k, _)| k.as_str()).collect();
    expected.sort_unstable();
    given.sort_unstable();
    if expected != given || i.identifier.iter().any(|(_, v)| v.is_empty()) {
        return Err(format!(
            "Invalid ResourceIdentifier for resource [{}] of type [{}]: expected [{}], got [{}].",
            i.logical,
            i.resource_type,
            expected.join(", "),
            i.describe()
        ));
    }
    Ok(())
}

impl State {
    /// Why the resources cannot be imported into `stack_id` now (missing, or held by another
    /// stack), if they cannot.
    fn import_obstacle(&self, stack_id: &str, imports: &[ToImport]) -> Option<(String, String)> {
        for i in imports {
            let found = self.existing.iter().find(|e| {
                e.resource_type == i.resource_type && same_identifier(&e.identifier, &i.identifier)
            });
            match found {
                None => {
                    return Some((
                        i.logical.clone(),
                        format!(
                            "Resource [{}] of type [{}] with identifier [{}] does not exist.",
                            i.logical,
                            i.resource_type,
                            i.describe()
                        ),
                    ));
                }
                Some(Existing {
                    owner: Some(other), ..
                }) if other != stack_id => {
                    return Some((
                        i.logical.clone(),
                        format!("{} already exists in stack {other}", i.physical()),
                    ));
                }
                Some(_) => {}
            }
        }
        None
    }

    /// Starts executing an IMPORT change set: the stack remembers what it imports; a resource
    /// gone or taken since the change set was computed fails the import, which rolls back.
    pub(super) fn begin_import(&mut self, stack_id: &str, imports: Vec<ToImport>) {
        let obstacle = self.import_obstacle(stack_id, &imports);
        let name = self
            .stack_mut(stack_id)
            .map(|s| s.name.clone())
            .unwrap_or_default();
        if let Some((logical, why)) = obstacle {
            let script = failed_import_script(&imports, &logical, &why);
            let token = self.stack_mut(stack_id).and_then(|s| {
                s.pending
                    .front()
                    .and_then(|b| b.first())
                    .and_then(|e| e.token.clone())
            });
            let batches = self.make_batches(&name, &script, token.as_deref());
            if let Some(s) = self.stack_mut(stack_id) {
                s.pending = batches.into();
            }
        }
        if let Some(s) = self.stack_mut(stack_id) {
            s.importing = imports;
        }
    }

    /// The stack reached `status`: an import completes (the resources are the stack's now,
    /// under their identifiers) or rolls back (they are released, not deleted); a deleted
    /// stack lets go of what it imported, keeping those it retains.
    pub(super) fn settle_imports(&mut self, stack_id: &str, status: &str) {
        let Some(s) = self.stacks.iter_mut().find(|s| s.id == stack_id) else {
            return;
        };
        match status {
            "IMPORT_COMPLETE" => {
                let imports = std::mem::take(&mut s.importing);
                for i in &imports {
                    s.physical.insert(i.logical.clone(), i.physical());
                }
                for e in self.existing.iter_mut() {
                    if imports.iter().any(|i| {
                        e.resource_type == i.resource_type
                            && same_identifier(&e.identifier, &i.identifier)
                    }) {
                        e.owner = Some(stack_id.to_owned());
                    }
                }
            }
            "IMPORT_ROLLBACK_COMPLETE" | "IMPORT_ROLLBACK_FAILED" => s.importing.clear(),
            "DELETE_COMPLETE" => {
                let kept: Vec<String> = resources_of(s.template.as_deref())
                    .iter()
                    .filter(|(_, r)| {
                        matches!(
                            r.get("DeletionPolicy").and_then(Json::as_str),
                            Some("Retain" | "RetainExceptOnCreate")
                        )
                    })
                    .filter_map(|(id, _)| s.physical.get(id).cloned())
                    .collect();
                self.existing.retain_mut(|e| {
                    if e.owner.as_deref() != Some(stack_id) {
                        return true;
                    }
                    e.owner = None;
                    let physical: Vec<&str> =
                        e.identifier.iter().map(|(_, v)| v.as_str()).collect();
                    kept.contains(&physical.join("|"))
                });
            }
            _ => {}
        }
    }
}

/// The events of an import that fails on `logical` with `why` and rolls back.
fn failed_import_script(imports: &[ToImport], logical: &str, why: &str) -> Vec<Vec<EventSpec>> {
    let mut first = vec![stack_event("IMPORT_IN_PROGRESS").reason("User Initiated")];
    first.extend(
        imports
            .iter()
            .map(|i| event(&i.logical, &i.resource_type, "IMPORT_IN_PROGRESS")),
    );
    let ty = imports
        .iter()
        .find(|i| i.logical == logical)
        .map_or("?", |i| i.resource_type.as_str());
    vec![
        first,
        vec![event(logical, ty, "IMPORT_FAILED").reason(why)],
        vec![stack_event("IMPORT_ROLLBACK_IN_PROGRESS").reason(&format!(
            "The following resource(s) failed to import: [{logical}]. "
        ))],
        imports
            .iter()
            .map(|i| event(&i.logical, &i.resource_type, "IMPORT_ROLLBACK_COMPLETE"))
            .collect(),
        vec![stack_event("IMPORT_ROLLBACK_COMPLETE")],
    ]
}

/// `CreateChangeSet` with `ChangeSetType=IMPORT`, once the template is read.
pub(super) fn create_change_set(
    st: &mut State,
    p: &HashMap<String, String>,
    name: &str,
    cs_name: String,
    token: Option<String>,
    body: String,
) -> Option<(u16, String)> {
    let imports = resources_to_import(p);
    if imports.is_empty() {
        return error(
            400,
            "ValidationError",
            "ResourcesToImport must be specified for a change set of type IMPORT.",
        );
    }
    let (exists, old) = match st.stack_mut(name) {
        None => (false, None),
        Some(s) if s.status == "REVIEW_IN_PROGRESS" => (true, None),
        Some(s) if s.status.ends_with("_IN_PROGRESS") || s.status.ends_with("_FAILED") => {
            let msg = format!(
                "Stack:{} is in {} state and can not be updated.",
                s.id, s.status
            );
            return error(400, "ValidationError", &msg);
        }
        Some(s) => (
            true,
            Some(s.template.clone().unwrap_or_else(|| "{}".into())),
        ),
    };
    if let Err(msg) = validate(old.as_deref(), &body, &imports) {
        return error(400, "ValidationError", &msg);
    }
    if !exists {
        st.new_stack(name, "REVIEW_IN_PROGRESS");
        let e = st.make_event(
            name,
            &stack_event("REVIEW_IN_PROGRESS").reason("User Initiated"),
            None,
        );
        if let Some(s) = st.stack_mut(name) {
            s.events.push(e);
        }
    }
    let stack_id = st.stack_mut(name).map(|s| s.id.clone()).unwrap_or_default();
    let (status, reason) = match st.import_obstacle(&stack_id, &imports) {
        Some((_, why)) => ("FAILED".to_owned(), Some(why)),
        None => ("CREATE_COMPLETE".to_owned(), None),
    };
    let changes = imports
        .iter()
        .map(|i| Change {
            action: "Import",
            logical: i.logical.clone(),
            resource_type: i.resource_type.clone(),
            replacement: None,
        })
        .collect();
    st.ids += 1;
    let id = format!(
        "arn:aws:cloudformation:{REGION}:{ACCOUNT}:changeSet/{cs_name}/{:08x}",
        st.ids
    );
    let pending_polls = st.change_set_pending_polls;
    st.change_sets.push(SimChangeSet {
        id: id.clone(),
        name: cs_name,
        stack_id: stack_id.clone(),
        kind: "IMPORT".to_owned(),
        template: body,
        params: super::params_of(p),
        tags: super::tags_of(p),
        changes,
        status,
        reason,
        pending_polls,
        executed: false,
        exec_token: None,
        token,
        imports,
    });
    ok(
        "CreateChangeSet",
        CFN_NS,
        &format!("<Id>{}</Id><StackId>{}</StackId>", esc(&id), esc(&stack_id)),
    )
}
