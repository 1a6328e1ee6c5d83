//! The adoption plan: per Terraform resource, whether and how it is imported, each property
//! that differs from our template with both values, the environment-file changes that make
//! them match, and what happens to everything that is not imported.

use cfn_core::TypeSchema;
use cfn_core::schema::Replacement;
use indexmap::IndexMap;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::mapping::{Action, IdentifierPart, Mapping, Outcome, Target};
use crate::resolve::{Known, Resolved, Resolver, at_path};
use crate::state::{TerraformState, TfResource};
use crate::support::{is_stateful, supports_import};
use crate::terraform::{TerraformHandOff, hand_off};

/// Looks up the registry schema of a resource type (`cfn_resources::schema_for`).
pub type SchemaLookup<'a> = &'a dyn Fn(&str) -> Option<&'static TypeSchema>;

/// Why no plan could be made: the mappings and the template do not fit together.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The target template has no `Resources` object.
    #[error("the target template has no Resources")]
    NotATemplate,
    /// A mapping's target is not in the template.
    #[error("{address}: the mapping's target ({target}) is not in our template")]
    TargetNotFound {
        /// The Terraform address.
        address: String,
        /// The target, rendered.
        target: String,
    },
    /// A mapping's target names several resources.
    #[error("{address}: the mapping's target ({target}) matches {candidates:?}")]
    AmbiguousTarget {
        /// The Terraform address.
        address: String,
        /// The target, rendered.
        target: String,
        /// The logical IDs it matches.
        candidates: Vec<String>,
    },
    /// Two Terraform resources map to one logical ID.
    #[error("{second} and {first} both map to {logical_id}: a resource can be imported once")]
    DuplicateTarget {
        /// The logical ID.
        logical_id: String,
        /// The first address mapped to it.
        first: String,
        /// The second.
        second: String,
    },
    /// No vendored schema for the target's type.
    #[error("{logical_id}: unknown resource type {resource_type} (no registry schema)")]
    UnknownResourceType {
        /// The logical ID.
        logical_id: String,
        /// Its type.
        resource_type: String,
    },
    /// The mapping's identifier keys are not the type's `primaryIdentifier`.
    #[error(
        "{address}: the import identifier of {resource_type} is {expected:?} (its primaryIdentifier); the mapping gives {found:?}"
    )]
    IdentifierKeys {
        /// The Terraform address.
        address: String,
        /// The CloudFormation type.
        resource_type: String,
        /// The schema's keys.
        expected: Vec<String>,
        /// The mapping's keys.
        found: Vec<String>,
    },
    /// The state lacks an attribute an identifier needs.
    #[error("{address}: the state has no attribute {attribute} for the import identifier")]
    MissingAttribute {
        /// The Terraform address.
        address: String,
        /// The attribute.
        attribute: String,
    },
}

/// What happens to one Terraform resource.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// Imported into our stack.
    Import,
    /// Imported, then replaced by the follow-up deploy (a create-only property differs).
    ImportThenReplace,
    /// Not imported: importing would replace a stateful resource, or it cannot be imported.
    Refused,
    /// Our template creates its own.
    CreatedNew,
    /// Terraform keeps it.
    LeftToTerraform,
    /// Part of another resource's properties in CloudFormation.
    MergedInto,
}

/// A property whose value in our template differs from the existing resource's.
#[derive(Clone, Debug, Serialize)]
pub struct Difference {
    /// The property below `Properties`.
    pub property: String,
    /// Ours: a value, or `{"new": "Id.Attr"}` for a resource our template creates.
    pub ours: Value,
    /// The Terraform state's value.
    pub theirs: Value,
    /// The environment-file key that makes ours equal theirs, when there is one.
    pub env_key: Option<String>,
    /// The value to give `env_key` (theirs, unless the mapping says otherwise).
    pub env_value: Option<Value>,
    /// Whether the change replaces the resource (`createOnlyProperties`), may replace it
    /// (conditionally create-only), or updates it in place.
    pub replacement: ReplacementKind,
}

/// [`Replacement`], serializable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplacementKind {
    /// Updated in place.
    Never,
    /// May be replaced.
    Conditional,
    /// Replaced.
    Always,
}

/// A compared property whose value the plan cannot decide.
#[derive(Clone, Debug, Serialize)]
pub struct Unverified {
    /// The property.
    pub property: String,
    /// Why.
    pub why: String,
}

/// The plan for one Terraform resource.
#[derive(Clone, Debug, Serialize)]
pub struct PlannedResource {
    /// Its Terraform address.
    pub address: String,
    /// Its Terraform type.
    pub terraform_type: String,
    /// What happens to it.
    pub disposition: Disposition,
    /// Our counterpart's logical ID, when there is one.
    pub logical_id: Option<String>,
    /// Our counterpart's type.
    pub resource_type: Option<String>,
    /// The import identifier (primary identifier key → value).
    pub identifier: IndexMap<String, String>,
    /// The properties that differ; the follow-up deploy changes each of them.
    pub differences: Vec<Difference>,
    /// Compared properties the plan could not decide.
    pub unverified: Vec<Unverified>,
    /// Why it is not imported, or what the reader must know.
    pub reason: Option<String>,
}

/// One environment-file setting the plan asks for.
#[derive(Clone, Debug, Serialize)]
pub struct EnvChange {
    /// The key (`database.engine_version`).
    pub key: String,
    /// The value that makes our template match.
    pub value: Value,
    /// `address: Property` entries the setting fixes.
    pub fixes: Vec<String>,
    /// Whether one of them is create-only: without the setting, the follow-up deploy would
    /// replace the resource. The others are in-place changes the setting merely avoids.
    pub prevents_replacement: bool,
}

/// A Terraform resource no mapping covers.
#[derive(Clone, Debug, Serialize)]
pub struct Unmapped {
    /// Its address.
    pub address: String,
    /// Its type.
    pub terraform_type: String,
}

/// Counts for a one-line summary.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    /// Resources imported (with or without a later replacement).
    pub imports: usize,
    /// Imports the follow-up deploy would replace, plus refused ones.
    pub replacements: usize,
    /// Imports with a conditionally create-only difference: the follow-up deploy's change set
    /// says whether it replaces.
    pub possible_replacements: usize,
    /// Resources refused (a stateful replacement, or not importable and stateful).
    pub refused: usize,
    /// Resources our template creates anew.
    pub created_new: usize,
    /// Resources Terraform keeps.
    pub left_to_terraform: usize,
    /// Resources merged into another's properties.
    pub merged: usize,
    /// Terraform resources no mapping covers.
    pub unmapped: usize,
    /// Property changes the follow-up deploy makes to imported resources.
    pub follow_up_changes: usize,
}

/// The whole plan. `serde::Serialize` gives the `--json` form.
#[derive(Clone, Debug, Serialize)]
pub struct AdoptPlan {
    /// Per Terraform resource, in the state's order.
    pub resources: Vec<PlannedResource>,
    /// Environment-file settings that remove differences.
    pub env_changes: Vec<EnvChange>,
    /// Terraform resources no mapping covers.
    pub unmapped: Vec<Unmapped>,
    /// Data sources in the state (never imported).
    pub skipped_data_sources: Vec<String>,
    /// Removing the imported resources from Terraform's management.
    pub terraform: TerraformHandOff,
    /// Counts.
    pub summary: Summary,
    /// The target template's resources, kept for the import template.
    #[serde(skip)]
    pub(crate) target: Map<String, Value>,
    /// Per imported logical ID, the state's value of each compared property.
    #[serde(skip)]
    pub(crate) theirs: IndexMap<String, IndexMap<String, Value>>,
    /// Per imported logical ID, its type's schema.
    #[serde(skip)]
    pub(crate) schemas: IndexMap<String, &'static TypeSchema>,
}

impl AdoptPlan {
    /// Whether the plan can go ahead: nothing refused, nothing replaced.
    pub fn is_clean(&self) -> bool {
        self.summary.replacements == 0 && self.summary.refused == 0
    }

    /// The entry for a Terraform address.
    pub fn resource(&self, address: &str) -> Option<&PlannedResource> {
        self.resources.iter().find(|r| r.address == address)
    }
}

/// A mapped resource before the comparison.
struct Candidate<'s> {
    tf: &'s TfResource,
    mapping: &'s Mapping,
    logical_id: String,
    resource_type: String,
    schema: &'static TypeSchema,
    identifier: IndexMap<String, String>,
}

/// Plans the adoption of the state's resources into `template` (our synthesized target).
///
/// ```
/// use cfn_adopt::{Mapping, Target, TerraformState, plan};
/// let template = serde_json::json!({"Resources": {"Logs": {"Type": "AWS::Logs::LogGroup",
///     "Properties": {"LogGroupName": "/dify/prd/api", "RetentionInDays": 30}}}});
/// let state = TerraformState::parse(r#"{"version": 4, "resources": [{"mode": "managed",
///     "type": "aws_cloudwatch_log_group", "name": "dify", "instances": [{"attributes":
///     {"name": "/ecs/dify-prd", "retention_in_days": 30, "arn": "arn:aws:logs:x"}}]}]}"#).unwrap();
/// let mappings = [Mapping::import("aws_cloudwatch_log_group", "*",
///         Target::LogicalId("Logs".into()))
///     .identifier("LogGroupName", "name")
///     .compare("LogGroupName", "name", Some("services.api.log_group_name"))];
/// let plan = plan(&template, &state, &mappings, &cfn_resources::schema_for).unwrap();
/// assert_eq!(plan.summary.replacements, 1);
/// assert_eq!(plan.env_changes[0].key, "services.api.log_group_name");
/// ```
pub fn plan(
    template: &Value,
    state: &TerraformState,
    mappings: &[Mapping],
    schemas: SchemaLookup<'_>,
) -> Result<AdoptPlan, PlanError> {
    let target = template
        .get("Resources")
        .and_then(Value::as_object)
        .ok_or(PlanError::NotATemplate)?;
    let mut entries: Vec<Entry<'_>> = Vec::new();
    let mut unmapped = Vec::new();
    let mut taken: IndexMap<String, String> = IndexMap::new();
    for tf in &state.resources {
        let Some(mapping) = mappings
            .iter()
            .find(|m| m.matches(&tf.resource_type, &tf.address))
        else {
            unmapped.push(Unmapped {
                address: tf.address.clone(),
                terraform_type: tf.resource_type.clone(),
            });
            continue;
        };
        let entry = match &mapping.action {
            Action::Import {
                target: to,
                identifier,
                ..
            } => {
                let c = candidate(tf, mapping, (to, identifier), target, schemas)?;
                if let Some(first) = taken.insert(c.logical_id.clone(), tf.address.clone()) {
                    return Err(PlanError::DuplicateTarget {
                        logical_id: c.logical_id,
                        first,
                        second: tf.address.clone(),
                    });
                }
                Entry::Import(Box::new(c))
            }
            Action::NotImported { outcome, reason } => {
                Entry::Other(Box::new(other(tf, outcome, reason)))
            }
        };
        entries.push(entry);
    }
    Ok(decide(entries, unmapped, state, target))
}

enum Entry<'s> {
    Import(Box<Candidate<'s>>),
    Other(Box<PlannedResource>),
}

fn candidate<'s>(
    tf: &'s TfResource,
    mapping: &'s Mapping,
    (target, identifier): (&Target, &[IdentifierPart]),
    resources: &Map<String, Value>,
    schemas: SchemaLookup<'_>,
) -> Result<Candidate<'s>, PlanError> {
    let found = target.find(resources);
    let logical_id = match found.as_slice() {
        [one] => one.clone(),
        [] => {
            return Err(PlanError::TargetNotFound {
                address: tf.address.clone(),
                target: target.to_string(),
            });
        }
        _ => {
            return Err(PlanError::AmbiguousTarget {
                address: tf.address.clone(),
                target: target.to_string(),
                candidates: found,
            });
        }
    };
    let resource_type = resources[&logical_id]["Type"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let schema = schemas(&resource_type).ok_or_else(|| PlanError::UnknownResourceType {
        logical_id: logical_id.clone(),
        resource_type: resource_type.clone(),
    })?;
    let mut expected: Vec<String> = schema
        .primary_identifier
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let mut found: Vec<String> = identifier.iter().map(|p| p.key.clone()).collect();
    expected.sort();
    found.sort();
    if expected != found {
        return Err(PlanError::IdentifierKeys {
            address: tf.address.clone(),
            resource_type,
            expected,
            found,
        });
    }
    let mut ids = IndexMap::new();
    for part in identifier {
        let value = tf
            .attribute(&part.attribute)
            .and_then(|v| match v {
                Value::String(s) if !s.is_empty() => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .ok_or_else(|| PlanError::MissingAttribute {
                address: tf.address.clone(),
                attribute: part.attribute.clone(),
            })?;
        ids.insert(part.key.clone(), value);
    }
    Ok(Candidate {
        tf,
        mapping,
        logical_id,
        resource_type,
        schema,
        identifier: ids,
    })
}

fn other(tf: &TfResource, outcome: &Outcome, reason: &str) -> PlannedResource {
    let disposition = match outcome {
        Outcome::CreatedNew { .. } => Disposition::CreatedNew,
        Outcome::LeftToTerraform => Disposition::LeftToTerraform,
        Outcome::MergedInto { .. } => Disposition::MergedInto,
    };
    PlannedResource {
        address: tf.address.clone(),
        terraform_type: tf.resource_type.clone(),
        disposition,
        logical_id: None,
        resource_type: None,
        identifier: IndexMap::new(),
        differences: Vec::new(),
        unverified: Vec::new(),
        reason: Some(reason.to_owned()),
    }
}

/// Compares every candidate against the set of resources actually imported. A refused
/// candidate leaves that set, which can change what the others' references resolve to, so
/// this runs until the set is stable (at most once per candidate).
fn decide(
    entries: Vec<Entry<'_>>,
    unmapped: Vec<Unmapped>,
    state: &TerraformState,
    target: &Map<String, Value>,
) -> AdoptPlan {
    let candidates: Vec<&Candidate<'_>> = entries
        .iter()
        .filter_map(|e| match e {
            Entry::Import(c) => Some(c.as_ref()),
            Entry::Other(_) => None,
        })
        .collect();
    let mut importing: Vec<bool> = candidates
        .iter()
        .map(|c| supports_import(&c.resource_type))
        .collect();
    let mut planned;
    loop {
        let known = known_values(&candidates, &importing);
        let resolver = Resolver {
            resources: target,
            imported: &known,
        };
        planned = candidates
            .iter()
            .zip(&importing)
            .map(|(c, on)| compare(c, *on, &resolver, target))
            .collect::<Vec<_>>();
        let next: Vec<bool> = planned
            .iter()
            .map(|(p, _)| {
                matches!(
                    p.disposition,
                    Disposition::Import | Disposition::ImportThenReplace
                )
            })
            .collect();
        if next == importing {
            break;
        }
        importing = next;
    }
    let mut theirs = IndexMap::new();
    let schemas = candidates
        .iter()
        .map(|c| (c.logical_id.clone(), c.schema))
        .collect();
    let mut by_candidate = planned.into_iter();
    let mut resources = Vec::new();
    for e in entries {
        match e {
            Entry::Other(p) => resources.push(*p),
            Entry::Import(c) => {
                if let Some((p, values)) = by_candidate.next() {
                    if matches!(
                        p.disposition,
                        Disposition::Import | Disposition::ImportThenReplace
                    ) {
                        theirs.insert(c.logical_id.clone(), values);
                    }
                    resources.push(p);
                }
            }
        }
    }
    let env_changes = env_changes(&resources);
    let terraform = hand_off(state, &resources);
    let summary = summarize(&resources, unmapped.len());
    AdoptPlan {
        resources,
        env_changes,
        unmapped,
        skipped_data_sources: state.skipped_data_sources.clone(),
        terraform,
        summary,
        target: target.clone(),
        theirs,
        schemas,
    }
}

fn known_values(candidates: &[&Candidate<'_>], importing: &[bool]) -> IndexMap<String, Known> {
    candidates
        .iter()
        .zip(importing)
        .filter(|(_, on)| **on)
        .map(|(c, _)| {
            let Action::Import { attributes, .. } = &c.mapping.action else {
                return (c.logical_id.clone(), Known::default());
            };
            let reference = (c.identifier.len() == 1)
                .then(|| c.identifier.values().next().cloned().map(Value::String))
                .flatten();
            let attributes = attributes
                .iter()
                .filter_map(|(cfn, tf)| Some((cfn.clone(), c.tf.attribute(tf)?.clone())))
                .collect();
            (
                c.logical_id.clone(),
                Known {
                    reference,
                    attributes,
                },
            )
        })
        .collect()
}

/// One candidate's differences and disposition, and the state's value of each compared
/// property (what the import template writes where our value cannot be used yet).
fn compare(
    c: &Candidate<'_>,
    importable: bool,
    resolver: &Resolver<'_>,
    target: &Map<String, Value>,
) -> (PlannedResource, IndexMap<String, Value>) {
    let Action::Import { comparisons, .. } = &c.mapping.action else {
        return (other(c.tf, &Outcome::LeftToTerraform, ""), IndexMap::new());
    };
    let props = &target[&c.logical_id]["Properties"];
    let mut differences = Vec::new();
    let mut unverified = Vec::new();
    let mut theirs_by_property = IndexMap::new();
    for cmp in comparisons {
        let theirs =
            c.tf.attribute(&cmp.attribute)
                .cloned()
                .unwrap_or(Value::Null);
        theirs_by_property.insert(cmp.property.clone(), theirs.clone());
        // A property our template leaves unset keeps the existing value.
        let Some(ours) = at_path(props, &cmp.property) else {
            continue;
        };
        let ours = match resolver.resolve(ours) {
            Resolved::Value(v) if crate::resolve::same(&v, &theirs, cmp.ignore_case) => continue,
            Resolved::Value(v) => v,
            Resolved::New(id) => serde_json::json!({ "new": id }),
            Resolved::Unknown(why) => {
                unverified.push(Unverified {
                    property: cmp.property.clone(),
                    why,
                });
                continue;
            }
        };
        differences.push(Difference {
            property: cmp.property.clone(),
            ours,
            theirs: theirs.clone(),
            env_key: cmp.env_key.clone(),
            env_value: cmp
                .env_key
                .as_ref()
                .map(|_| cmp.env_value.clone().unwrap_or_else(|| theirs.clone())),
            replacement: match c.schema.replaces_on_change(&cmp.property) {
                Replacement::Never => ReplacementKind::Never,
                Replacement::Conditional => ReplacementKind::Conditional,
                Replacement::Always => ReplacementKind::Always,
            },
        });
    }
    let replaces = differences
        .iter()
        .filter(|d| d.replacement == ReplacementKind::Always)
        .map(|d| d.property.as_str())
        .collect::<Vec<_>>();
    let stateful = is_stateful(&c.resource_type);
    let (disposition, reason) = if !importable {
        let then = if stateful {
            "refused: a stateful resource is never recreated by this tool"
        } else {
            "our template creates its own"
        };
        (
            if stateful {
                Disposition::Refused
            } else {
                Disposition::CreatedNew
            },
            Some(format!(
                "{} does not support resource import; {then}",
                c.resource_type
            )),
        )
    } else if replaces.is_empty() {
        let maybe: Vec<&str> = differences
            .iter()
            .filter(|d| d.replacement == ReplacementKind::Conditional)
            .map(|d| d.property.as_str())
            .collect();
        let note = (!maybe.is_empty()).then(|| format!(
            "{} may be create-only depending on the values (the schema's conditionalCreateOnlyProperties): read the follow-up deploy's change set, whose guard refuses a stateful replacement",
            maybe.join(", ")
        ));
        (Disposition::Import, note)
    } else if stateful {
        (
            Disposition::Refused,
            Some(format!(
                "the follow-up deploy would replace this stateful resource ({} differ and are create-only); set the environment keys below so they match",
                replaces.join(", ")
            )),
        )
    } else {
        (
            Disposition::ImportThenReplace,
            Some(format!(
                "the follow-up deploy replaces it: {} differ and are create-only",
                replaces.join(", ")
            )),
        )
    };
    let planned = PlannedResource {
        address: c.tf.address.clone(),
        terraform_type: c.tf.resource_type.clone(),
        disposition,
        logical_id: Some(c.logical_id.clone()),
        resource_type: Some(c.resource_type.clone()),
        identifier: c.identifier.clone(),
        differences,
        unverified,
        reason,
    };
    (planned, theirs_by_property)
}

fn env_changes(resources: &[PlannedResource]) -> Vec<EnvChange> {
    let mut out: IndexMap<String, EnvChange> = IndexMap::new();
    for r in resources {
        for d in &r.differences {
            let Some(key) = &d.env_key else { continue };
            let fix = format!("{}: {}", r.address, d.property);
            let change = out.entry(key.clone()).or_insert_with(|| EnvChange {
                key: key.clone(),
                value: d.env_value.clone().unwrap_or_else(|| d.theirs.clone()),
                fixes: Vec::new(),
                prevents_replacement: false,
            });
            change.fixes.push(fix);
            change.prevents_replacement |= d.replacement == ReplacementKind::Always;
        }
    }
    out.into_values().collect()
}

fn summarize(resources: &[PlannedResource], unmapped: usize) -> Summary {
    let count = |d: Disposition| resources.iter().filter(|r| r.disposition == d).count();
    let imports = count(Disposition::Import) + count(Disposition::ImportThenReplace);
    let replacing = |kind: ReplacementKind| {
        resources
            .iter()
            .filter(|r| r.differences.iter().any(|d| d.replacement == kind))
            .count()
    };
    Summary {
        imports,
        replacements: replacing(ReplacementKind::Always),
        possible_replacements: replacing(ReplacementKind::Conditional),
        refused: count(Disposition::Refused),
        created_new: count(Disposition::CreatedNew),
        left_to_terraform: count(Disposition::LeftToTerraform),
        merged: count(Disposition::MergedInto),
        unmapped,
        follow_up_changes: resources
            .iter()
            .filter(|r| {
                matches!(
                    r.disposition,
                    Disposition::Import | Disposition::ImportThenReplace
                )
            })
            .map(|r| r.differences.len())
            .sum(),
    }
}
