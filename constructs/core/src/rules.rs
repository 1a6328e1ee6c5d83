//! Guardrails: rules that run in-process on the synthesized template, during `synth`, `diff`
//! and `deploy`, with findings that point at the construct that caused them.
//!
//! A [`Rule`] sees the whole template through a [`RuleContext`] and reports [`Finding`]s. Rules
//! come in [`RulePack`]s, plain values a user can enable, extend with rules of their own, trim or
//! replace. A construct suppresses a rule for its whole subtree with [`crate::Scope::suppress`]
//! and a mandatory reason; suppressions are written into each affected resource's `Metadata`
//! (ours, and checkov's `skip` list for the rule's checkov equivalents), so reviewers and
//! external scanners see them. A suppression that suppresses nothing is itself a warning.
//!
//! ```
//! use cfn_core::rules::{Enforcement, Finding, Rule, RuleContext, RulePack};
//! use cfn_core::{Severity, Stack};
//!
//! /// Every log group sets a retention.
//! struct LogRetention;
//! impl Rule for LogRetention {
//!     fn id(&self) -> &'static str { "logs-retention" }
//!     fn summary(&self) -> &'static str { "log groups keep logs forever unless a retention is set" }
//!     fn fix(&self) -> &'static str { "set RetentionInDays" }
//!     fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
//!         for r in ctx.resources_of_type("AWS::Logs::LogGroup") {
//!             if r.get("RetentionInDays").is_none() {
//!                 out.push(r.finding(self, Some("RetentionInDays"), "no retention"));
//!             }
//!         }
//!     }
//! }
//!
//! let mut stack = Stack::new("Demo");
//! stack.set_guardrails(RulePack::new("team").with(LogRetention), Enforcement::Enforce);
//! stack.root().add_raw("Logs", "AWS::Logs::LogGroup", None, serde_json::json!({}));
//! let err = stack.synth().unwrap_err();
//! assert!(err.to_string().contains("logs-retention"));
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

use serde::Serialize;

use crate::diagnostics::{Diagnostic, Severity};
use crate::value::Json;

/// One thing a rule found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule (`rds-storage-encrypted`).
    pub rule_id: &'static str,
    /// The rule's severity.
    pub severity: Severity,
    /// The construct path of the resource.
    pub construct_path: String,
    /// The resource's logical ID.
    pub logical_id: String,
    /// Where in the resource (`Properties.StorageEncrypted`).
    pub property: Option<String>,
    /// What is wrong, in one line.
    pub message: String,
    /// How to fix it.
    pub fix: &'static str,
    /// The reason given, when a suppression covers this finding.
    pub suppressed: Option<String>,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{sev}[{}] {} ({})",
            self.rule_id, self.construct_path, self.logical_id
        )?;
        if let Some(p) = &self.property {
            write!(f, " {p}")?;
        }
        write!(f, ": {} — fix: {}", self.message, self.fix)
    }
}

/// A guardrail.
pub trait Rule: Send + Sync {
    /// A stable, kebab-case ID (`s3-tls-only`), used in findings and suppressions.
    fn id(&self) -> &'static str;
    /// How serious a finding is. Errors fail synthesis where guardrails are enforced.
    fn severity(&self) -> Severity {
        Severity::Error
    }
    /// What the rule protects against, in one line.
    fn summary(&self) -> &'static str;
    /// How to satisfy it.
    fn fix(&self) -> &'static str;
    /// checkov checks that test the same thing; a suppression of this rule also skips them in
    /// checkov, with the same reason.
    fn checkov_ids(&self) -> &'static [&'static str] {
        &[]
    }
    /// Reports findings about the template.
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>);
}

/// A named, ordered set of rules.
#[derive(Clone, Default)]
pub struct RulePack {
    name: String,
    rules: Vec<Arc<dyn Rule>>,
}

impl fmt::Debug for RulePack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RulePack")
            .field("name", &self.name)
            .field(
                "rules",
                &self.rules.iter().map(|r| r.id()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl RulePack {
    /// An empty pack.
    pub fn new(name: impl Into<String>) -> Self {
        RulePack {
            name: name.into(),
            rules: Vec::new(),
        }
    }
    /// Adds a rule (replacing one with the same ID).
    pub fn with(mut self, rule: impl Rule + 'static) -> Self {
        self.rules.retain(|r| r.id() != rule.id());
        self.rules.push(Arc::new(rule));
        self
    }
    /// Removes a rule by ID.
    pub fn without(mut self, id: &str) -> Self {
        self.rules.retain(|r| r.id() != id);
        self
    }
    /// Adds every rule of another pack (its rules win on equal IDs).
    pub fn extend(mut self, other: &RulePack) -> Self {
        for r in &other.rules {
            self.rules.retain(|x| x.id() != r.id());
            self.rules.push(Arc::clone(r));
        }
        self
    }
    /// The pack's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The rules, in order.
    pub fn rules(&self) -> impl Iterator<Item = &dyn Rule> {
        self.rules.iter().map(|r| r.as_ref())
    }
    /// A rule by ID.
    pub fn get(&self, id: &str) -> Option<&dyn Rule> {
        self.rules().find(|r| r.id() == id)
    }
}

/// Whether error findings fail synthesis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enforcement {
    /// Error findings fail synthesis (production).
    Enforce,
    /// Findings are reported, nothing fails (development); the CLI's `--strict` enforces them
    /// anyway.
    Advise,
}

/// Guardrails attached to a stack.
#[derive(Clone, Debug)]
pub struct Guardrails {
    /// The rules.
    pub pack: RulePack,
    /// What error findings do.
    pub enforcement: Enforcement,
}

/// A suppression attached to a construct.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suppression {
    /// The rule suppressed.
    pub rule_id: String,
    /// Why (mandatory).
    pub reason: String,
    /// The construct path it was attached at (it covers the subtree).
    pub at: String,
}

/// The construct tree behind a template, read-only: what rules and [`run`] need of a stack.
///
/// [`crate::Stack`] implements it. It is a trait rather than the stack itself because a stack
/// holds its guardrails ([`RulePack`], [`Enforcement`], [`Suppression`]), so this module sits
/// below the stack and must not depend on it.
pub trait ConstructTree: fmt::Debug {
    /// The stack's name: the construct path of findings about the template itself, such as
    /// its parameters.
    fn name(&self) -> &str;
    /// The construct path of a resource by logical ID.
    fn resource_path(&self, logical_id: &str) -> Option<&str>;
    /// Every suppression in the tree.
    fn suppressions(&self) -> Vec<Suppression>;
    /// The nearest suppression of `rule_id` covering the resource `logical_id`: one attached to
    /// the resource's construct or to any construct above it.
    fn suppression_covering(&self, logical_id: &str, rule_id: &str) -> Option<Suppression>;
}

/// What a rule sees: the template, the tree behind it and the environment's nature.
#[derive(Debug)]
pub struct RuleContext<'a> {
    stack: &'a dyn ConstructTree,
    template: &'a Json,
    /// Resources by type, in template order; built on the first `resources_of_type`, so a pack
    /// of many rules reads the template's types once.
    by_type: OnceLock<HashMap<&'a str, Vec<(&'a str, &'a Json)>>>,
}

/// One resource, as a rule sees it.
#[derive(Clone, Copy, Debug)]
pub struct ResourceView<'a> {
    /// Logical ID.
    pub logical_id: &'a str,
    /// `AWS::Service::Type`.
    pub type_name: &'a str,
    /// `Properties` (JSON null when absent).
    pub properties: &'a Json,
    /// The whole resource (for `DeletionPolicy` and the like).
    pub resource: &'a Json,
    /// The construct path.
    pub path: &'a str,
}

static NULL: Json = Json::Null;

fn view<'a>(stack: &'a dyn ConstructTree, id: &'a str, r: &'a Json) -> ResourceView<'a> {
    ResourceView {
        logical_id: id,
        type_name: r.get("Type").and_then(Json::as_str).unwrap_or(""),
        properties: r.get("Properties").unwrap_or(&NULL),
        resource: r,
        path: stack.resource_path(id).unwrap_or(id),
    }
}

impl<'a> ResourceView<'a> {
    /// A property by dotted path below `Properties` (`VpcConfig.SubnetIds`).
    pub fn get(&self, dotted: &str) -> Option<&'a Json> {
        dotted.split('.').try_fold(self.properties, |v, k| v.get(k))
    }

    /// A resource attribute (`DeletionPolicy`, `UpdateReplacePolicy`).
    pub fn attribute(&self, name: &str) -> Option<&'a Json> {
        self.resource.get(name)
    }

    /// A finding about this resource. `property` is below `Properties` (or a resource attribute
    /// when it starts with an upper-case attribute name such as `DeletionPolicy`).
    pub fn finding(
        &self,
        rule: &dyn Rule,
        property: Option<&str>,
        message: impl Into<String>,
    ) -> Finding {
        let property = property.map(|p| {
            if [
                "DeletionPolicy",
                "UpdateReplacePolicy",
                "Metadata",
                "DependsOn",
            ]
            .iter()
            .any(|a| p.starts_with(a))
            {
                p.to_owned()
            } else {
                format!("Properties.{p}")
            }
        });
        Finding {
            rule_id: rule.id(),
            severity: rule.severity(),
            construct_path: self.path.to_owned(),
            logical_id: self.logical_id.to_owned(),
            property,
            message: message.into(),
            fix: rule.fix(),
            suppressed: None,
        }
    }
}

impl<'a> RuleContext<'a> {
    /// A context over a stack (any [`ConstructTree`]) and the template it synthesized.
    pub fn new(stack: &'a dyn ConstructTree, template: &'a Json) -> Self {
        RuleContext {
            stack,
            template,
            by_type: OnceLock::new(),
        }
    }

    /// The template.
    pub fn template(&self) -> &'a Json {
        self.template
    }

    /// The stack the template came from: its name (the construct path of findings about the
    /// template itself, such as its parameters) and its tree.
    pub fn stack(&self) -> &'a dyn ConstructTree {
        self.stack
    }

    /// Every resource.
    pub fn resources(&self) -> impl Iterator<Item = ResourceView<'a>> + '_ {
        let stack = self.stack;
        self.entries().map(move |(id, r)| view(stack, id, r))
    }

    /// Resources of one type, in template order. The template is indexed by type on the first
    /// call, so a rule pays only for the resources it reads.
    pub fn resources_of_type(&self, ty: &'a str) -> impl Iterator<Item = ResourceView<'a>> + '_ {
        let stack = self.stack;
        let index = self.by_type.get_or_init(|| {
            let mut m: HashMap<&'a str, Vec<(&'a str, &'a Json)>> = HashMap::new();
            for (id, r) in self.entries() {
                let t = r.get("Type").and_then(Json::as_str).unwrap_or("");
                m.entry(t).or_default().push((id.as_str(), r));
            }
            m
        });
        index
            .get(ty)
            .into_iter()
            .flatten()
            .map(move |(id, r)| view(stack, id, r))
    }

    /// A resource by logical ID.
    pub fn resource(&self, logical_id: &str) -> Option<ResourceView<'a>> {
        let (id, r) = self
            .template
            .get("Resources")?
            .as_object()?
            .get_key_value(logical_id)?;
        Some(view(self.stack, id, r))
    }

    fn entries(&self) -> impl Iterator<Item = (&'a String, &'a Json)> + use<'a> {
        self.template
            .get("Resources")
            .and_then(Json::as_object)
            .into_iter()
            .flatten()
    }

    /// The value as far as synth time knows it: a literal; a `Ref` to a parameter with a
    /// default; `Fn::Sub`/`Fn::Join` of such values. `None` when only deploy time can tell.
    pub fn resolve(&self, v: &Json) -> Option<Json> {
        match v {
            Json::Object(o) if o.len() == 1 => {
                let (k, arg) = o.iter().next()?;
                match (k.as_str(), arg) {
                    ("Ref", Json::String(name)) => self
                        .template
                        .get("Parameters")?
                        .get(name)?
                        .get("Default")
                        .cloned(),
                    ("Fn::Join", Json::Array(a)) => {
                        let sep = a.first()?.as_str()?;
                        let parts = a.get(1)?.as_array()?;
                        let mut out = Vec::new();
                        for p in parts {
                            out.push(self.resolve_str(p)?);
                        }
                        Some(Json::String(out.join(sep)))
                    }
                    ("Fn::Sub", Json::String(s)) if !s.contains("${") => {
                        Some(Json::String(s.clone()))
                    }
                    _ => None,
                }
            }
            other => Some(other.clone()),
        }
    }

    /// [`Self::resolve`] as a string (numbers and booleans as CloudFormation writes them).
    pub fn resolve_str(&self, v: &Json) -> Option<String> {
        match self.resolve(v)? {
            Json::String(s) => Some(s),
            Json::Number(n) => Some(n.to_string()),
            Json::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// [`Self::resolve`] as a boolean (`true`, `"true"`).
    pub fn resolve_bool(&self, v: &Json) -> Option<bool> {
        match self.resolve(v)? {
            Json::Bool(b) => Some(b),
            Json::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
            Json::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        }
    }

    /// Whether a property is literally true (or a parameter defaulting to true).
    pub fn is_true(&self, v: Option<&Json>) -> bool {
        v.and_then(|v| self.resolve_bool(v)) == Some(true)
    }
}

/// The outcome of running a pack over a stack's template.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Findings no suppression covers.
    pub findings: Vec<Finding>,
    /// Findings a suppression covers (with its reason).
    pub suppressed: Vec<Finding>,
    /// Suppressions that matched nothing, as warnings.
    pub unused: Vec<Diagnostic>,
}

/// Runs a pack and applies the stack's suppressions.
pub fn run(stack: &dyn ConstructTree, template: &Json, pack: &RulePack) -> Report {
    let ctx = RuleContext::new(stack, template);
    let mut all = Vec::new();
    for rule in pack.rules() {
        rule.check(&ctx, &mut all);
    }
    let suppressions = stack.suppressions();
    let mut used: HashMap<(String, String), bool> = suppressions
        .iter()
        .map(|s| ((s.at.clone(), s.rule_id.clone()), false))
        .collect();
    let mut report = Report::default();
    for mut f in all {
        let covering = stack.suppression_covering(&f.logical_id, f.rule_id);
        match covering {
            Some(s) => {
                used.insert((s.at.clone(), s.rule_id.clone()), true);
                f.suppressed = Some(s.reason.clone());
                report.suppressed.push(f);
            }
            None => report.findings.push(f),
        }
    }
    for s in &suppressions {
        if used.get(&(s.at.clone(), s.rule_id.clone())) == Some(&false) {
            let known = pack.get(&s.rule_id).is_some();
            let message = if known {
                format!(
                    "suppression of '{}' suppresses nothing here; remove it",
                    s.rule_id
                )
            } else {
                format!(
                    "suppression of '{}', a rule not in pack '{}', suppresses nothing",
                    s.rule_id,
                    pack.name()
                )
            };
            report
                .unused
                .push(Diagnostic::warning("unused-suppression", &s.at, message));
        }
    }
    report
}
