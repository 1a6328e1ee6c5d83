//! Synthesis: from a stack's tree to template JSON, checked.
//!
//! The trip a value takes: typed props (`Value<T>` fields) → `serde_json::Value` (serde, with
//! CloudFormation's property names) → stack tags merged in the type's tag shape → raw overrides
//! applied → the resource's JSON in `Resources`, with its construct path in `Metadata`.
//! Validation then reads the finished template, so whatever produced a value (typed props, an
//! override, a raw resource), it is checked the same way.

use indexmap::IndexMap;
use serde_json::{Map, json};
use thiserror::Error;

use crate::asset::Asset;
use crate::diagnostics::{Diagnostic, Severity};
use crate::rules::{self, Enforcement, Finding, RulePack};
use crate::schema::TagShape;
use crate::stack::{NodeId, ResourceEntry, Stack};
use crate::validate;
use crate::value::{Json, to_json};
// Where `is_intrinsic` lived before it moved to the value model; callers such as the deploy
// crate's diff still import it from here.
pub use crate::value::is_intrinsic;

/// The metadata key that carries a resource's construct path, under the name the AWS CDK uses
/// so the CloudFormation console's tree view and CDK-aware tools understand it.
pub const PATH_METADATA_KEY: &str = "aws:cdk:path";

/// CloudFormation's limit on a template passed inline (`TemplateBody`); larger ones must go
/// through S3 (`TemplateURL`).
pub const TEMPLATE_BODY_LIMIT: usize = 51_200;
/// CloudFormation's limit on a template passed through S3.
pub const TEMPLATE_URL_LIMIT: usize = 1_000_000;
/// Maximum resources in a template.
pub const MAX_RESOURCES: usize = 500;
/// Maximum parameters in a template.
pub const MAX_PARAMETERS: usize = 200;
/// Maximum outputs in a template.
pub const MAX_OUTPUTS: usize = 200;
/// Maximum mappings in a template.
pub const MAX_MAPPINGS: usize = 200;

/// A synthesized, validated template.
#[derive(Clone, Debug)]
pub struct Synthesized {
    /// The stack's name.
    pub stack_name: String,
    /// The template.
    pub template: Json,
    /// The template as written to disk: pretty JSON with a trailing newline.
    pub body: String,
    /// Warnings (synthesis fails on errors).
    pub diagnostics: Vec<Diagnostic>,
    /// Logical ID → construct path, for every resource.
    pub paths: IndexMap<String, String>,
    /// Guardrail findings no suppression covers (errors here did not fail synthesis because
    /// guardrails are advisory for this stack).
    pub findings: Vec<Finding>,
    /// Guardrail findings a suppression covers.
    pub suppressed: Vec<Finding>,
    /// The stack-level tags (`Stack::add_tag`), for the deploy to set on the stack itself.
    pub tags: IndexMap<String, String>,
    /// The stacks of the same app this one imports from (cross-stack references): they are
    /// deployed before it and destroyed after it.
    pub dependencies: Vec<String>,
    /// The file assets the template refers to, one per content hash, in the order first
    /// added: `synth` writes them beside the template, `deploy` uploads them before the
    /// stack is changed.
    pub assets: Vec<Asset>,
}

impl Synthesized {
    /// The number of resources.
    pub fn resource_count(&self) -> usize {
        self.paths.len()
    }
    /// The template's size in bytes.
    pub fn bytes(&self) -> usize {
        self.body.len()
    }
    /// The file name under the output directory: `<stack>.template.json`.
    pub fn file_name(&self) -> String {
        format!("{}.template.json", self.stack_name)
    }
    /// Whether the template is too large to pass inline and must go through S3.
    pub fn needs_s3(&self) -> bool {
        self.bytes() > TEMPLATE_BODY_LIMIT
    }
}

/// Why synthesis failed.
#[derive(Debug, Error)]
pub enum SynthError {
    /// The stack has errors; every one found is listed.
    #[error("stack '{stack}' has {} error(s):\n{}", errors(.diagnostics).count(), render(.diagnostics))]
    Invalid {
        /// The stack's name.
        stack: String,
        /// All diagnostics (errors and warnings).
        diagnostics: Vec<Diagnostic>,
    },
}

fn errors(d: &[Diagnostic]) -> impl Iterator<Item = &Diagnostic> {
    d.iter().filter(|d| d.is_error())
}

fn render(d: &[Diagnostic]) -> String {
    errors(d)
        .map(|d| format!("  {d}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Stack {
    /// Builds the template and validates it, returning both whatever the diagnostics say.
    pub fn build_template(&self) -> (Json, Vec<Diagnostic>) {
        let (template, mut diags) = self.raw_template();
        diags.extend(validate::validate(self, &template));
        (template, diags)
    }

    /// The template before validation, with the problems met building it.
    pub(crate) fn raw_template(&self) -> (Json, Vec<Diagnostic>) {
        let mut diags = self.problems.clone();
        let mut t = Map::new();
        t.insert("AWSTemplateFormatVersion".into(), json!("2010-09-09"));
        if let Some(d) = &self.description {
            t.insert("Description".into(), json!(d));
        }
        if !self.metadata.is_empty() {
            t.insert("Metadata".into(), to_json(&self.metadata));
        }
        if !self.parameters.is_empty() {
            let p: Map<String, Json> = self
                .parameters
                .iter()
                .map(|(k, v)| (k.clone(), v.to_json()))
                .collect();
            t.insert("Parameters".into(), Json::Object(p));
        }
        if !self.mappings.is_empty() {
            t.insert("Mappings".into(), to_json(&self.mappings));
        }
        if !self.conditions.is_empty() {
            let c: Map<String, Json> = self
                .conditions
                .iter()
                .map(|(k, v)| (k.clone(), v.as_json().clone()))
                .collect();
            t.insert("Conditions".into(), Json::Object(c));
        }
        let mut resources = Map::new();
        for (id, entry) in &self.resources {
            match self.resource_json(entry) {
                Ok(r) => {
                    resources.insert(id.clone(), r);
                }
                Err(e) => diags.push(
                    Diagnostic::error(
                        "serialize-failed",
                        self.path_of(entry.node),
                        format!("properties could not be serialized: {e}"),
                    )
                    .at(id),
                ),
            }
        }
        t.insert("Resources".into(), Json::Object(resources));
        if !self.outputs.is_empty() {
            let o: Map<String, Json> = self
                .outputs
                .iter()
                .map(|(k, v)| (k.clone(), v.to_json()))
                .collect();
            t.insert("Outputs".into(), Json::Object(o));
        }
        (Json::Object(t), diags)
    }

    /// Synthesizes the stack: the template, its JSON text, the warnings and the guardrail
    /// findings; or every error.
    pub fn synth(&self) -> Result<Synthesized, SynthError> {
        let (template, diagnostics) = self.raw_template();
        self.synth_template(template, diagnostics, Vec::new())
    }

    /// Validates a built template (with cross-stack references already resolved), runs the
    /// guardrails and checks the limits.
    pub(crate) fn synth_template(
        &self,
        mut template: Json,
        mut diagnostics: Vec<Diagnostic>,
        dependencies: Vec<String>,
    ) -> Result<Synthesized, SynthError> {
        diagnostics.extend(validate::validate(self, &template));
        let mut findings = Vec::new();
        let mut suppressed = Vec::new();
        // Rules read a valid template; on a broken one they would only add noise.
        if let Some(g) = &self.guardrails
            && !diagnostics.iter().any(Diagnostic::is_error)
        {
            let report = rules::run(self, &template, &g.pack);
            record_suppressions(&mut template, &report.suppressed, &g.pack);
            diagnostics.extend(report.unused);
            if g.enforcement == Enforcement::Enforce {
                diagnostics.extend(
                    report
                        .findings
                        .iter()
                        .filter(|f| f.severity == Severity::Error)
                        .map(finding_diagnostic),
                );
            }
            findings = report.findings;
            suppressed = report.suppressed;
        }
        let body = to_pretty(&template);
        diagnostics.extend(check_limits(self, &template, body.len()));
        if diagnostics.iter().any(Diagnostic::is_error) {
            return Err(SynthError::Invalid {
                stack: self.name.clone(),
                diagnostics,
            });
        }
        let paths = self
            .resources
            .iter()
            .map(|(id, e)| (id.clone(), self.path_of(e.node).to_owned()))
            .collect();
        Ok(Synthesized {
            stack_name: self.name.clone(),
            template,
            body,
            diagnostics,
            paths,
            findings,
            suppressed,
            tags: self.tags().clone(),
            dependencies,
            assets: self.assets.values().cloned().collect(),
        })
    }

    fn resource_json(&self, entry: &ResourceEntry) -> Result<Json, serde_json::Error> {
        let mut props = entry.props.to_json()?;
        if let (Some(tagging), Json::Object(obj)) =
            (entry.schema.and_then(|s| s.tagging), &mut props)
        {
            let inherited = self.inherited_tags(entry.node);
            if !inherited.is_empty() {
                merge_tags(obj, tagging.property, tagging.shape, &inherited);
            }
        }
        let mut r = Map::new();
        r.insert("Type".into(), json!(entry.type_name));
        if !matches!(&props, Json::Object(o) if o.is_empty()) && !props.is_null() {
            r.insert("Properties".into(), props);
        }
        let o = &entry.options;
        if !o.depends_on.is_empty() {
            r.insert("DependsOn".into(), json!(o.depends_on));
        }
        if let Some(c) = &o.condition {
            r.insert("Condition".into(), json!(c));
        }
        if let Some(p) = o.deletion_policy {
            r.insert("DeletionPolicy".into(), to_json(&p));
        }
        if let Some(p) = o.update_replace_policy {
            r.insert("UpdateReplacePolicy".into(), to_json(&p));
        }
        if let Some(p) = &o.update_policy {
            r.insert("UpdatePolicy".into(), p.clone());
        }
        if let Some(p) = &o.creation_policy {
            r.insert("CreationPolicy".into(), p.clone());
        }
        let mut meta: Map<String, Json> = o
            .metadata
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        meta.insert(PATH_METADATA_KEY.into(), json!(self.path_of(entry.node)));
        r.insert("Metadata".into(), Json::Object(meta));
        let mut r = Json::Object(r);
        for (path, value) in &entry.overrides {
            apply_override(&mut r, path, value.clone());
        }
        Ok(r)
    }

    /// Tags from the stack and every ancestor construct, the nearest winning, sorted by key.
    fn inherited_tags(&self, node: NodeId) -> Vec<(String, String)> {
        let chain: Vec<NodeId> = self.ancestors(node).collect();
        let mut tags: IndexMap<&str, &str> = IndexMap::new();
        for n in chain.iter().rev() {
            for (k, v) in &self.nodes[n.0].tags {
                tags.insert(k, v);
            }
        }
        let mut v: Vec<(String, String)> = tags
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        v.sort();
        v
    }
}

/// An enforced finding, as the diagnostic that fails synthesis.
fn finding_diagnostic(f: &Finding) -> Diagnostic {
    let mut d = Diagnostic::error(
        f.rule_id,
        &f.construct_path,
        format!("{} (fix: {})", f.message, f.fix),
    )
    .at(&f.logical_id);
    d.property = f.property.clone();
    d
}

/// Writes each suppression that covered a finding into the resource's metadata: ours under
/// `guardrails`, and checkov's `skip` list for the rule's checkov equivalents.
fn record_suppressions(template: &mut Json, suppressed: &[Finding], pack: &RulePack) {
    let Some(resources) = template.get_mut("Resources").and_then(Json::as_object_mut) else {
        return;
    };
    for f in suppressed {
        let (Some(resource), Some(reason)) = (resources.get_mut(&f.logical_id), &f.suppressed)
        else {
            continue;
        };
        let Some(meta) = resource
            .as_object_mut()
            .map(|r| r.entry("Metadata").or_insert_with(|| json!({})))
            .and_then(Json::as_object_mut)
        else {
            continue;
        };
        let ours = meta
            .entry("guardrails")
            .or_insert_with(|| json!({"suppressions": []}));
        if let Some(list) = ours.get_mut("suppressions").and_then(Json::as_array_mut) {
            let entry = json!({"rule": f.rule_id, "reason": reason});
            if !list.contains(&entry) {
                list.push(entry);
            }
        }
        let checkov_ids = pack.get(f.rule_id).map(|r| r.checkov_ids()).unwrap_or(&[]);
        if !checkov_ids.is_empty() {
            let checkov = meta.entry("checkov").or_insert_with(|| json!({"skip": []}));
            if let Some(list) = checkov.get_mut("skip").and_then(Json::as_array_mut) {
                for id in checkov_ids {
                    if !list.iter().any(|s| s["id"] == *id) {
                        list.push(json!({"id": id, "comment": reason}));
                    }
                }
            }
        }
    }
}

/// Pretty JSON with two-space indent and a trailing newline: the byte-stable on-disk form.
pub fn to_pretty(template: &Json) -> String {
    let mut s = serde_json::to_string_pretty(template).unwrap_or_default();
    s.push('\n');
    s
}

fn merge_tags(
    props: &mut Map<String, Json>,
    property: &str,
    shape: TagShape,
    inherited: &[(String, String)],
) {
    match shape {
        TagShape::KeyValueList => {
            let tags = props
                .entry(property.to_owned())
                .or_insert_with(|| Json::Array(Vec::new()));
            if let Json::Array(list) = tags {
                let own: Vec<String> = list
                    .iter()
                    .filter_map(|t| t.get("Key").and_then(Json::as_str).map(str::to_owned))
                    .collect();
                for (k, v) in inherited {
                    if !own.contains(k) {
                        list.push(json!({"Key": k, "Value": v}));
                    }
                }
            }
        }
        TagShape::Map => {
            let tags = props
                .entry(property.to_owned())
                .or_insert_with(|| Json::Object(Map::new()));
            if is_intrinsic(tags) {
                return;
            }
            if let Json::Object(map) = tags {
                for (k, v) in inherited {
                    map.entry(k.clone()).or_insert_with(|| json!(v));
                }
            }
        }
    }
}

/// Sets (`Some`) or removes (`None`) the value at a dotted path, creating objects on the way.
/// A numeric segment indexes into an array that is already there.
fn apply_override(root: &mut Json, path: &str, value: Option<Json>) {
    let segments: Vec<&str> = path.split('.').collect();
    let Some((last, parents)) = segments.split_last() else {
        return;
    };
    let mut cur = root;
    for seg in parents {
        cur = match cur {
            Json::Array(a) => match seg.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                Some(v) => v,
                None => return,
            },
            Json::Object(o) => {
                // A deletion never creates the path it deletes from.
                if value.is_none() && !o.contains_key(*seg) {
                    return;
                }
                o.entry((*seg).to_owned())
                    .or_insert_with(|| Json::Object(Map::new()))
            }
            other => {
                if value.is_none() {
                    return;
                }
                *other = Json::Object(Map::new());
                match other.as_object_mut() {
                    Some(o) => o
                        .entry((*seg).to_owned())
                        .or_insert_with(|| Json::Object(Map::new())),
                    None => return,
                }
            }
        };
    }
    match (cur, value) {
        (Json::Array(a), v) => {
            if let Ok(i) = last.parse::<usize>() {
                match v {
                    Some(v) if i < a.len() => a[i] = v,
                    Some(v) if i == a.len() => a.push(v),
                    None if i < a.len() => {
                        a.remove(i);
                    }
                    _ => {}
                }
            }
        }
        (Json::Object(o), Some(v)) => {
            o.insert((*last).to_owned(), v);
        }
        (Json::Object(o), None) => {
            o.shift_remove(*last);
        }
        (other, Some(v)) => {
            let mut m = Map::new();
            m.insert((*last).to_owned(), v);
            *other = Json::Object(m);
        }
        (_, None) => {}
    }
}

fn check_limits(stack: &Stack, template: &Json, bytes: usize) -> Vec<Diagnostic> {
    let mut d = Vec::new();
    let name = stack.name();
    let count = |section: &str| {
        template
            .get(section)
            .and_then(Json::as_object)
            .map_or(0, Map::len)
    };
    for (section, max) in [
        ("Resources", MAX_RESOURCES),
        ("Parameters", MAX_PARAMETERS),
        ("Outputs", MAX_OUTPUTS),
        ("Mappings", MAX_MAPPINGS),
    ] {
        let n = count(section);
        if n > max {
            d.push(Diagnostic::error(
                "template-limit",
                name,
                format!(
                    "{n} {} exceed CloudFormation's limit of {max}; split the stack",
                    section.to_lowercase()
                ),
            ));
        }
    }
    if bytes > TEMPLATE_URL_LIMIT {
        d.push(Diagnostic::error(
            "template-too-large",
            name,
            format!("the template is {bytes} bytes, over CloudFormation's limit of {TEMPLATE_URL_LIMIT}; split the stack"),
        ));
    } else if bytes > TEMPLATE_BODY_LIMIT {
        d.push(Diagnostic::warning(
            "template-needs-s3",
            name,
            format!("the template is {bytes} bytes, over the {TEMPLATE_BODY_LIMIT}-byte TemplateBody limit: deploy uploads it to S3"),
        ));
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_create_set_and_delete() {
        let mut r = json!({"Type": "X", "Properties": {"A": {"B": 1}, "L": [1, 2]}});
        apply_override(&mut r, "Properties.A.C", Some(json!(2)));
        apply_override(&mut r, "Properties.New.Deep", Some(json!("x")));
        apply_override(&mut r, "Properties.L.1", Some(json!(9)));
        apply_override(&mut r, "Properties.A.B", None);
        apply_override(&mut r, "Properties.Missing.X", None);
        assert_eq!(
            r,
            json!({"Type": "X", "Properties": {
                "A": {"C": 2}, "L": [1, 9], "New": {"Deep": "x"}
            }})
        );
    }

    #[test]
    fn tags_merge_without_overwriting_own_tags() {
        let mut p = Map::new();
        p.insert("Tags".into(), json!([{"Key": "env", "Value": "own"}]));
        let inherited = vec![
            ("app".to_owned(), "dify".to_owned()),
            ("env".to_owned(), "prd".to_owned()),
        ];
        merge_tags(&mut p, "Tags", TagShape::KeyValueList, &inherited);
        assert_eq!(
            p["Tags"],
            json!([{"Key": "env", "Value": "own"}, {"Key": "app", "Value": "dify"}])
        );
        let mut m = Map::new();
        merge_tags(&mut m, "Tags", TagShape::Map, &inherited);
        assert_eq!(m["Tags"], json!({"app": "dify", "env": "prd"}));
    }
}
