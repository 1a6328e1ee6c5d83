//! Differences between a deployed template and a synthesized one, resource by resource, with
//! security-relevant changes (IAM statements, security-group rules) pulled out into their own
//! table and replacements predicted from the registry schemas' create-only properties.

use std::collections::BTreeSet;

use cfn_core::TypeSchema;
use cfn_core::schema::Replacement;
use cfn_core::synth::{PATH_METADATA_KEY, is_intrinsic};
use serde_json::Value as Json;

/// Finds a type's registry schema (normally `cfn_resources::schema_for`).
pub type SchemaLookup<'a> = &'a dyn Fn(&str) -> Option<&'static TypeSchema>;

/// Added, removed or modified.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    /// Only in the synthesized template.
    Added,
    /// Only in the deployed template.
    Removed,
    /// In both, different.
    Modified,
}

impl ChangeKind {
    /// `+`, `-` or `~`.
    pub fn sign(self) -> &'static str {
        match self {
            ChangeKind::Added => "+",
            ChangeKind::Removed => "-",
            ChangeKind::Modified => "~",
        }
    }
}

/// One changed value inside a resource.
#[derive(Clone, Debug, PartialEq)]
pub struct PropertyChange {
    /// Where: `Properties/BucketName`, `Properties/VpcConfig/SubnetIds`, `DeletionPolicy`, …
    pub path: String,
    /// The deployed value.
    pub old: Option<Json>,
    /// The synthesized value.
    pub new: Option<Json>,
    /// Whether the change replaces the resource, when the schema says (`None`: unknown or not
    /// a property).
    pub replacement: Option<Replacement>,
}

/// One resource that differs.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceDiff {
    /// Added, removed or modified.
    pub kind: ChangeKind,
    /// Logical ID.
    pub logical_id: String,
    /// Type (the new one when it changed).
    pub resource_type: String,
    /// Construct path, from `Metadata["aws:cdk:path"]`.
    pub path: Option<String>,
    /// The changed values (modifications only).
    pub changes: Vec<PropertyChange>,
    /// Predicted replacement: the strongest of the changes' (a type change always replaces).
    pub replacement: Replacement,
}

/// A template section entry (parameter, output, condition, mapping) or top-level field that
/// differs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SectionChange {
    /// Added, removed or modified.
    pub kind: ChangeKind,
    /// `Parameters`, `Outputs`, `Conditions`, `Mappings`, `Description`, `Metadata`, …
    pub section: String,
    /// The entry's name (empty for top-level fields).
    pub name: String,
}

/// An IAM statement or security-group rule added or removed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SecurityChange {
    /// Added or removed.
    pub kind: ChangeKind,
    /// The resource holding it.
    pub logical_id: String,
    /// Its type.
    pub resource_type: String,
    /// `IAM` or `SecurityGroup`.
    pub category: &'static str,
    /// The statement or rule, in one line.
    pub detail: String,
}

/// Everything that differs between two templates.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TemplateDiff {
    /// Resources, in template order (synthesized first, then removed ones).
    pub resources: Vec<ResourceDiff>,
    /// Other sections.
    pub sections: Vec<SectionChange>,
    /// IAM and security-group changes.
    pub security: Vec<SecurityChange>,
}

impl TemplateDiff {
    /// True when the templates are equivalent.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty() && self.sections.is_empty() && self.security.is_empty()
    }

    /// Resources predicted to be replaced (or possibly replaced).
    pub fn replacements(&self) -> impl Iterator<Item = &ResourceDiff> {
        self.resources
            .iter()
            .filter(|r| r.replacement != Replacement::Never)
    }
}

/// Compares the deployed template (`None` when the stack does not exist) with the synthesized
/// one.
pub fn diff_templates(old: Option<&Json>, new: &Json, lookup: SchemaLookup<'_>) -> TemplateDiff {
    let empty = Json::Object(Default::default());
    let old = old.unwrap_or(&empty);
    let mut d = TemplateDiff::default();
    let old_res = section(old, "Resources");
    let new_res = section(new, "Resources");
    for (id, n) in new_res {
        match old_res.get(id) {
            None => d.resources.push(ResourceDiff {
                kind: ChangeKind::Added,
                logical_id: id.clone(),
                resource_type: type_of(n),
                path: path_of(n),
                changes: Vec::new(),
                replacement: Replacement::Never,
            }),
            Some(o) if o != n => d.resources.push(modified(id, o, n, lookup)),
            Some(_) => {}
        }
        security_changes(id, old_res.get(id), Some(n), &mut d.security);
    }
    for (id, o) in old_res {
        if !new_res.contains_key(id) {
            d.resources.push(ResourceDiff {
                kind: ChangeKind::Removed,
                logical_id: id.clone(),
                resource_type: type_of(o),
                path: path_of(o),
                changes: Vec::new(),
                replacement: Replacement::Never,
            });
            security_changes(id, Some(o), None, &mut d.security);
        }
    }
    for name in ["Parameters", "Conditions", "Mappings", "Outputs", "Rules"] {
        let (o, n) = (section(old, name), section(new, name));
        for (k, v) in n {
            match o.get(k) {
                None => d.sections.push(entry(ChangeKind::Added, name, k)),
                Some(ov) if ov != v => d.sections.push(entry(ChangeKind::Modified, name, k)),
                Some(_) => {}
            }
        }
        for k in o.keys().filter(|k| !n.contains_key(*k)) {
            d.sections.push(entry(ChangeKind::Removed, name, k));
        }
    }
    for field in [
        "AWSTemplateFormatVersion",
        "Description",
        "Metadata",
        "Transform",
    ] {
        let (o, n) = (old.get(field), new.get(field));
        let kind = match (o, n) {
            (None, Some(_)) => Some(ChangeKind::Added),
            (Some(_), None) => Some(ChangeKind::Removed),
            (Some(a), Some(b)) if a != b => Some(ChangeKind::Modified),
            _ => None,
        };
        // A stack that does not exist has no template: only its resources are news.
        if let Some(kind) = kind.filter(|_| !old.as_object().is_some_and(|m| m.is_empty())) {
            d.sections.push(entry(kind, field, ""));
        }
    }
    d.security.sort();
    d.security.dedup();
    d
}

fn entry(kind: ChangeKind, section: &str, name: &str) -> SectionChange {
    SectionChange {
        kind,
        section: section.to_owned(),
        name: name.to_owned(),
    }
}

fn section<'a>(t: &'a Json, name: &str) -> &'a serde_json::Map<String, Json> {
    static EMPTY: std::sync::OnceLock<serde_json::Map<String, Json>> = std::sync::OnceLock::new();
    t.get(name)
        .and_then(Json::as_object)
        .unwrap_or_else(|| EMPTY.get_or_init(serde_json::Map::new))
}

fn type_of(r: &Json) -> String {
    r.get("Type")
        .and_then(Json::as_str)
        .unwrap_or("?")
        .to_owned()
}

/// The construct path of a resource of `template` by logical ID (from its metadata).
pub fn path_in(template: Option<&Json>, logical_id: &str) -> Option<String> {
    template?
        .get("Resources")?
        .get(logical_id)
        .and_then(path_of)
}

/// Logical ID → construct path, for every resource of a template whose metadata records one.
pub fn paths_in(template: Option<&Json>) -> indexmap::IndexMap<String, String> {
    template
        .and_then(|t| t.get("Resources"))
        .and_then(Json::as_object)
        .map(|r| {
            r.iter()
                .filter_map(|(id, res)| Some((id.clone(), path_of(res)?)))
                .collect()
        })
        .unwrap_or_default()
}

/// The construct path recorded in a resource's metadata.
pub fn path_of(r: &Json) -> Option<String> {
    r.get("Metadata")
        .and_then(|m| m.get(PATH_METADATA_KEY))
        .and_then(Json::as_str)
        .map(str::to_owned)
}

fn modified(id: &str, o: &Json, n: &Json, lookup: SchemaLookup<'_>) -> ResourceDiff {
    let (ot, nt) = (type_of(o), type_of(n));
    let schema = lookup(&nt);
    let mut changes = Vec::new();
    let mut replacement = Replacement::Never;
    if ot != nt {
        changes.push(PropertyChange {
            path: "Type".into(),
            old: Some(Json::String(ot)),
            new: Some(Json::String(nt.clone())),
            replacement: Some(Replacement::Always),
        });
        replacement = Replacement::Always;
    }
    let (op, np) = (o.get("Properties"), n.get("Properties"));
    let mut prop_changes = Vec::new();
    walk("", op, np, &mut prop_changes);
    for (path, old, new) in prop_changes {
        let r = schema.map(|s| s.replaces_on_change(&path));
        if let Some(r) = r {
            replacement = stronger(replacement, r);
        }
        changes.push(PropertyChange {
            path: if path.is_empty() {
                "Properties".into()
            } else {
                format!("Properties/{path}")
            },
            old,
            new,
            replacement: r,
        });
    }
    let keys: BTreeSet<&String> = o
        .as_object()
        .into_iter()
        .chain(n.as_object())
        .flat_map(|m| m.keys())
        .filter(|k| *k != "Type" && *k != "Properties")
        .collect();
    for k in keys {
        let (a, b) = (o.get(k.as_str()), n.get(k.as_str()));
        if a != b {
            changes.push(PropertyChange {
                path: k.clone(),
                old: a.cloned(),
                new: b.cloned(),
                replacement: None,
            });
        }
    }
    ResourceDiff {
        kind: ChangeKind::Modified,
        logical_id: id.to_owned(),
        resource_type: nt,
        path: path_of(n).or_else(|| path_of(o)),
        changes,
        replacement,
    }
}

fn stronger(a: Replacement, b: Replacement) -> Replacement {
    use Replacement::*;
    match (a, b) {
        (Always, _) | (_, Always) => Always,
        (Conditional, _) | (_, Conditional) => Conditional,
        _ => Never,
    }
}

type Leaf = (String, Option<Json>, Option<Json>);

/// Collects the differing leaves below two values. Objects are descended into (intrinsics are
/// leaves); arrays and scalars are compared whole.
fn walk(prefix: &str, o: Option<&Json>, n: Option<&Json>, out: &mut Vec<Leaf>) {
    match (o, n) {
        (Some(Json::Object(a)), Some(Json::Object(b)))
            if !is_intrinsic(o.unwrap_or(&Json::Null))
                && !is_intrinsic(n.unwrap_or(&Json::Null)) =>
        {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}/{k}")
                };
                walk(&p, a.get(k.as_str()), b.get(k.as_str()), out);
            }
        }
        (a, b) if a != b => out.push((prefix.to_owned(), a.cloned(), b.cloned())),
        _ => {}
    }
}

/// Renders a value for one line: `${X}` for `Ref`, `${X.Attr}` for `Fn::GetAtt`, the
/// template of `Fn::Sub`, joined parts of `Fn::Join`, compact JSON otherwise.
pub fn short(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Array(items) => items.iter().map(short).collect::<Vec<_>>().join(","),
        Json::Object(o) if o.len() == 1 => {
            let (k, val) = o
                .iter()
                .next()
                .map(|(k, v)| (k.as_str(), v))
                .unwrap_or(("", v));
            match (k, val) {
                ("Ref", Json::String(r)) => format!("${{{r}}}"),
                ("Fn::GetAtt", Json::Array(a)) if a.len() == 2 => {
                    format!("${{{}.{}}}", short(&a[0]), short(&a[1]))
                }
                ("Fn::GetAtt", Json::String(s)) => format!("${{{s}}}"),
                ("Fn::Sub", Json::String(s)) => s.clone(),
                ("Fn::Sub", Json::Array(a)) if !a.is_empty() => short(&a[0]),
                ("Fn::Join", Json::Array(a)) if a.len() == 2 => {
                    let sep = a[0].as_str().unwrap_or("");
                    match &a[1] {
                        Json::Array(parts) => parts.iter().map(short).collect::<Vec<_>>().join(sep),
                        other => short(other),
                    }
                }
                _ => v.to_string(),
            }
        }
        other => other.to_string(),
    }
}

const IAM_DOCS: &[(&str, &[&str])] = &[
    ("AWS::IAM::Role", &["AssumeRolePolicyDocument"]),
    ("AWS::IAM::Policy", &["PolicyDocument"]),
    ("AWS::IAM::ManagedPolicy", &["PolicyDocument"]),
    ("AWS::IAM::RolePolicy", &["PolicyDocument"]),
    ("AWS::IAM::UserPolicy", &["PolicyDocument"]),
    ("AWS::IAM::GroupPolicy", &["PolicyDocument"]),
    ("AWS::S3::BucketPolicy", &["PolicyDocument"]),
    ("AWS::SQS::QueuePolicy", &["PolicyDocument"]),
    ("AWS::SNS::TopicPolicy", &["PolicyDocument"]),
    ("AWS::KMS::Key", &["KeyPolicy"]),
    ("AWS::SecretsManager::ResourcePolicy", &["ResourcePolicy"]),
    ("AWS::ECR::Repository", &["RepositoryPolicyText"]),
];

/// The security-relevant lines of one resource: IAM statements and security-group rules.
fn security_lines(r: &Json) -> Vec<(&'static str, String)> {
    let t = type_of(r);
    let props = r.get("Properties").cloned().unwrap_or(Json::Null);
    let mut lines = Vec::new();
    for (ty, fields) in IAM_DOCS {
        if *ty == t {
            for f in *fields {
                let prefix = if *f == "AssumeRolePolicyDocument" {
                    "trust: "
                } else {
                    ""
                };
                for s in statements(props.get(*f)) {
                    lines.push(("IAM", format!("{prefix}{s}")));
                }
            }
        }
    }
    if matches!(
        t.as_str(),
        "AWS::IAM::Role" | "AWS::IAM::User" | "AWS::IAM::Group"
    ) {
        if let Some(Json::Array(ps)) = props.get("Policies") {
            for p in ps {
                let name = p.get("PolicyName").map(short).unwrap_or_default();
                for s in statements(p.get("PolicyDocument")) {
                    lines.push(("IAM", format!("{name}: {s}")));
                }
            }
        }
        if let Some(Json::Array(arns)) = props.get("ManagedPolicyArns") {
            for a in arns {
                lines.push(("IAM", format!("managed policy {}", short(a))));
            }
        }
        if let Some(b) = props.get("PermissionsBoundary") {
            lines.push(("IAM", format!("permissions boundary {}", short(b))));
        }
    }
    if t == "AWS::Lambda::Permission" {
        let get = |k: &str| props.get(k).map(short).unwrap_or_default();
        let mut s = format!(
            "Allow {} on {} to {}",
            get("Action"),
            get("FunctionName"),
            get("Principal")
        );
        if props.get("SourceArn").is_some() {
            s.push_str(&format!(" from {}", get("SourceArn")));
        }
        lines.push(("IAM", s));
    }
    match t.as_str() {
        "AWS::EC2::SecurityGroup" => {
            for (field, dir) in [
                ("SecurityGroupIngress", "ingress"),
                ("SecurityGroupEgress", "egress"),
            ] {
                if let Some(Json::Array(rules)) = props.get(field) {
                    for rule in rules {
                        lines.push(("SecurityGroup", sg_rule(dir, rule)));
                    }
                }
            }
        }
        "AWS::EC2::SecurityGroupIngress" => {
            let mut s = sg_rule("ingress", &props);
            if let Some(g) = props.get("GroupId") {
                s.push_str(&format!(" to {}", short(g)));
            }
            lines.push(("SecurityGroup", s));
        }
        "AWS::EC2::SecurityGroupEgress" => {
            let mut s = sg_rule("egress", &props);
            if let Some(g) = props.get("GroupId") {
                s.push_str(&format!(" from group {}", short(g)));
            }
            lines.push(("SecurityGroup", s));
        }
        _ => {}
    }
    lines
}

fn statements(doc: Option<&Json>) -> Vec<String> {
    let Some(doc) = doc else {
        return Vec::new();
    };
    let list = match doc.get("Statement") {
        Some(Json::Array(a)) => a.clone(),
        Some(one @ Json::Object(_)) => vec![one.clone()],
        _ => return vec![short(doc)],
    };
    list.iter()
        .map(|s| {
            let get = |k: &str| s.get(k).map(short);
            let mut line = format!(
                "{} {}",
                get("Effect").unwrap_or_else(|| "?".into()),
                get("Action")
                    .or_else(|| get("NotAction").map(|a| format!("NOT {a}")))
                    .unwrap_or_default()
            );
            if let Some(r) =
                get("Resource").or_else(|| get("NotResource").map(|r| format!("NOT {r}")))
            {
                line.push_str(&format!(" on {r}"));
            }
            if let Some(p) = s.get("Principal") {
                line.push_str(&format!(" for {}", principal(p)));
            }
            if let Some(c) = s.get("Condition") {
                line.push_str(&format!(" when {}", c));
            }
            line
        })
        .collect()
}

fn principal(p: &Json) -> String {
    match p {
        Json::Object(o) if !is_intrinsic(p) => o
            .iter()
            .map(|(k, v)| format!("{k}:{}", short(v)))
            .collect::<Vec<_>>()
            .join(" "),
        other => short(other),
    }
}

fn sg_rule(dir: &str, r: &Json) -> String {
    let get = |k: &str| r.get(k).map(short);
    let proto = match get("IpProtocol").as_deref() {
        Some("-1") | None => "all".to_owned(),
        Some(p) => p.to_owned(),
    };
    let ports = match (get("FromPort"), get("ToPort")) {
        (Some(a), Some(b)) if a == b => format!(" {a}"),
        (Some(a), Some(b)) => format!(" {a}-{b}"),
        (Some(a), None) | (None, Some(a)) => format!(" {a}"),
        _ => String::new(),
    };
    let peer_keys: &[&str] = if dir == "ingress" {
        &[
            "CidrIp",
            "CidrIpv6",
            "SourceSecurityGroupId",
            "SourceSecurityGroupName",
            "SourcePrefixListId",
        ]
    } else {
        &[
            "CidrIp",
            "CidrIpv6",
            "DestinationSecurityGroupId",
            "DestinationPrefixListId",
        ]
    };
    let peer = peer_keys
        .iter()
        .find_map(|k| get(k))
        .unwrap_or_else(|| "?".into());
    let word = if dir == "ingress" { "from" } else { "to" };
    format!("{dir} {proto}{ports} {word} {peer}")
}

fn security_changes(
    id: &str,
    old: Option<&Json>,
    new: Option<&Json>,
    out: &mut Vec<SecurityChange>,
) {
    let o: BTreeSet<(&str, String)> = old
        .map(security_lines)
        .unwrap_or_default()
        .into_iter()
        .collect();
    let n: BTreeSet<(&str, String)> = new
        .map(security_lines)
        .unwrap_or_default()
        .into_iter()
        .collect();
    let ty = new.or(old).map(type_of).unwrap_or_default();
    for (cat, line) in n.difference(&o) {
        out.push(SecurityChange {
            kind: ChangeKind::Added,
            logical_id: id.to_owned(),
            resource_type: ty.clone(),
            category: cat,
            detail: line.clone(),
        });
    }
    for (cat, line) in o.difference(&n) {
        out.push(SecurityChange {
            kind: ChangeKind::Removed,
            logical_id: id.to_owned(),
            resource_type: ty.clone(),
            category: cat,
            detail: line.clone(),
        });
    }
}

/// Renders a diff as text; `color` adds ANSI colors.
pub fn render(d: &TemplateDiff, color: bool) -> String {
    let paint = |code: &str, s: &str| {
        if color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    };
    let mut out = String::new();
    if !d.resources.is_empty() {
        out.push_str("Resources\n");
        for r in &d.resources {
            let sign = match r.kind {
                ChangeKind::Added => paint("32", "[+]"),
                ChangeKind::Removed => paint("31", "[-]"),
                ChangeKind::Modified => paint("33", "[~]"),
            };
            let path = r
                .path
                .as_deref()
                .map(|p| format!(" ({p})"))
                .unwrap_or_default();
            let repl = match r.replacement {
                Replacement::Always => format!("  {}", paint("1;31", "REPLACED")),
                Replacement::Conditional => format!("  {}", paint("1;33", "MAY BE REPLACED")),
                Replacement::Never => String::new(),
            };
            out.push_str(&format!(
                "{sign} {} {}{path}{repl}\n",
                r.resource_type, r.logical_id
            ));
            for c in &r.changes {
                let note = match c.replacement {
                    Some(Replacement::Always) => format!("  {}", paint("31", "(replaces)")),
                    Some(Replacement::Conditional) => {
                        format!("  {}", paint("33", "(may replace)"))
                    }
                    _ => String::new(),
                };
                let (o, n) = (c.old.as_ref().map(one_line), c.new.as_ref().map(one_line));
                let long = o.as_ref().is_some_and(|s| s.len() > 60)
                    || n.as_ref().is_some_and(|s| s.len() > 60);
                if long && c.old.is_some() && c.new.is_some() {
                    out.push_str(&format!("    ~ {}{note}\n", c.path));
                    out.push_str(&text_diff(
                        c.old.as_ref().unwrap_or(&Json::Null),
                        c.new.as_ref().unwrap_or(&Json::Null),
                        "        ",
                    ));
                } else {
                    let line = match (o, n) {
                        (None, Some(n)) => format!("    + {}: {n}{note}", c.path),
                        (Some(o), None) => format!("    - {}: {o}{note}", c.path),
                        (Some(o), Some(n)) => format!("    ~ {}: {o} → {n}{note}", c.path),
                        (None, None) => continue,
                    };
                    out.push_str(&line);
                    out.push('\n');
                }
            }
        }
    }
    if !d.security.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str("Security changes (IAM statements, security-group rules)\n");
        let rows: Vec<[String; 4]> = d
            .security
            .iter()
            .map(|s| {
                [
                    s.kind.sign().to_owned(),
                    s.logical_id.clone(),
                    s.resource_type.clone(),
                    s.detail.clone(),
                ]
            })
            .collect();
        out.push_str(&table(&["", "RESOURCE", "TYPE", "CHANGE"], &rows));
    }
    if !d.sections.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str("Other template changes\n");
        for s in &d.sections {
            let what = if s.name.is_empty() {
                s.section.clone()
            } else {
                format!("{}.{}", s.section, s.name)
            };
            out.push_str(&format!("[{}] {what}\n", s.kind.sign()));
        }
    }
    out
}

fn one_line(v: &Json) -> String {
    match v {
        Json::String(s) => format!("{s:?}"),
        other if is_intrinsic(other) => short(other),
        other => other.to_string(),
    }
}

fn text_diff(old: &Json, new: &Json, indent: &str) -> String {
    let a = serde_json::to_string_pretty(old).unwrap_or_default();
    let b = serde_json::to_string_pretty(new).unwrap_or_default();
    let diff = similar::TextDiff::from_lines(&a, &b);
    let mut out = String::new();
    for change in diff.iter_all_changes() {
        let sign = match change.tag() {
            similar::ChangeTag::Delete => "-",
            similar::ChangeTag::Insert => "+",
            similar::ChangeTag::Equal => " ",
        };
        out.push_str(&format!("{indent}{sign} {}", change.value()));
        if !change.value().ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// The width of `s` on screen: characters, ANSI color sequences left out.
pub fn visible_width(s: &str) -> usize {
    let mut n = 0;
    let mut in_escape = false;
    for c in s.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, _) => n += 1,
        }
    }
    n
}

/// A plain left-aligned table with a header row; colored cells are padded by their visible
/// width.
pub fn table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for (i, h) in header.iter().enumerate() {
        widths[i] = visible_width(h);
    }
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(visible_width(c));
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::from("  ");
        for (i, c) in cells.iter().enumerate() {
            s.push_str(c);
            if i + 1 < N {
                s.push_str(&" ".repeat(widths[i] - visible_width(c) + 2));
            }
        }
        s.trim_end().to_owned() + "\n"
    };
    let mut out = line(header.to_vec());
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    static BUCKET: TypeSchema = TypeSchema {
        type_name: "AWS::S3::Bucket",
        attributes: &["Arn"],
        create_only: &["BucketName"],
        conditional_create_only: &["ObjectLockEnabled"],
        primary_identifier: &["BucketName"],
        write_only: &[],
        tagging: None,
        properties: &[],
        closed: false,
    };

    fn lookup(t: &str) -> Option<&'static TypeSchema> {
        (t == "AWS::S3::Bucket").then_some(&BUCKET)
    }

    fn bucket(name: &str, versioning: &str) -> Json {
        json!({"Type": "AWS::S3::Bucket",
               "Properties": {"BucketName": name, "VersioningConfiguration": {"Status": versioning}},
               "Metadata": {"aws:cdk:path": "S/Bucket"}})
    }

    #[test]
    fn identical_templates_have_no_diff() {
        let t = json!({"Resources": {"B": bucket("a", "Enabled")}});
        assert!(diff_templates(Some(&t), &t, &lookup).is_empty());
    }

    #[test]
    fn modifications_name_the_leaf_and_predict_replacement() {
        let old = json!({"Resources": {"B": bucket("a", "Enabled"), "Gone": {"Type": "AWS::SNS::Topic"}}});
        let new = json!({"Resources": {"B": bucket("b", "Suspended"), "New": {"Type": "AWS::SQS::Queue"}},
                         "Outputs": {"X": {"Value": "1"}}});
        let d = diff_templates(Some(&old), &new, &lookup);
        let b = d
            .resources
            .iter()
            .find(|r| r.logical_id == "B")
            .expect("B differs");
        assert_eq!(b.kind, ChangeKind::Modified);
        assert_eq!(b.replacement, Replacement::Always);
        assert_eq!(b.path.as_deref(), Some("S/Bucket"));
        let paths: Vec<&str> = b.changes.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "Properties/BucketName",
                "Properties/VersioningConfiguration/Status"
            ]
        );
        assert_eq!(b.changes[0].replacement, Some(Replacement::Always));
        assert_eq!(b.changes[1].replacement, Some(Replacement::Never));
        assert!(
            d.resources
                .iter()
                .any(|r| r.logical_id == "New" && r.kind == ChangeKind::Added)
        );
        assert!(
            d.resources
                .iter()
                .any(|r| r.logical_id == "Gone" && r.kind == ChangeKind::Removed)
        );
        assert_eq!(d.sections, vec![entry(ChangeKind::Added, "Outputs", "X")]);
        let text = render(&d, false);
        assert!(
            text.contains("[~] AWS::S3::Bucket B (S/Bucket)  REPLACED"),
            "{text}"
        );
        assert!(
            text.contains("~ Properties/BucketName: \"a\" → \"b\"  (replaces)"),
            "{text}"
        );
        assert!(text.contains("[+] AWS::SQS::Queue New"), "{text}");
        assert!(text.contains("[-] AWS::SNS::Topic Gone"), "{text}");
    }

    #[test]
    fn iam_and_security_group_changes_get_their_own_rows() {
        let role = |actions: Json| {
            json!({"Type": "AWS::IAM::Role", "Properties": {
                "AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                    "Principal": {"Service": "lambda.amazonaws.com"}}]},
                "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": [
                    {"Effect": "Allow", "Action": actions, "Resource": {"Fn::GetAtt": ["B", "Arn"]}}]}}]}})
        };
        let sg = |port: u16| {
            json!({"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "d",
                "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "CidrIp": "0.0.0.0/0"}]}})
        };
        let old = json!({"Resources": {"R": role(json!("s3:GetObject")), "Sg": sg(80)}});
        let new = json!({"Resources": {"R": role(json!(["s3:GetObject", "s3:PutObject"])), "Sg": sg(443)}});
        let d = diff_templates(Some(&old), &new, &lookup);
        let rows: Vec<String> = d
            .security
            .iter()
            .map(|s| format!("{} {} {}", s.kind.sign(), s.logical_id, s.detail))
            .collect();
        assert_eq!(
            rows,
            [
                "+ R p: Allow s3:GetObject,s3:PutObject on ${B.Arn}",
                "+ Sg ingress tcp 443 from 0.0.0.0/0",
                "- R p: Allow s3:GetObject on ${B.Arn}",
                "- Sg ingress tcp 80 from 0.0.0.0/0",
            ]
        );
        let text = render(&d, false);
        assert!(text.contains("Security changes"), "{text}");
    }

    #[test]
    fn tables_pad_colored_cells_by_their_visible_width() {
        let t = table(
            &["", "TYPE"],
            &[["\x1b[32m+\x1b[0m".to_owned(), "AWS::S3::Bucket".to_owned()]],
        );
        assert_eq!(t, "     TYPE\n  \x1b[32m+\x1b[0m  AWS::S3::Bucket\n");
    }

    #[test]
    fn a_new_stack_lists_every_resource_as_added() {
        let new = json!({"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"B": bucket("a", "Enabled")}});
        let d = diff_templates(None, &new, &lookup);
        assert_eq!(d.resources.len(), 1);
        assert_eq!(d.resources[0].kind, ChangeKind::Added);
        assert!(d.sections.is_empty());
    }
}
