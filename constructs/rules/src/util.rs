//! What several rules share: following references, walking lists and policy documents,
//! rendering values as text, and reading booleans, numbers and load balancer attributes.

use cfn_core::Json;
use cfn_core::rules::{ResourceView, RuleContext};

/// Implements the descriptive half of [`cfn_core::rules::Rule`].
macro_rules! meta {
    ($id:literal, $sev:ident, $summary:literal, $fix:literal, [$($ck:literal),* $(,)?]) => {
        fn id(&self) -> &'static str {
            $id
        }
        fn severity(&self) -> cfn_core::Severity {
            cfn_core::Severity::$sev
        }
        fn summary(&self) -> &'static str {
            $summary
        }
        fn fix(&self) -> &'static str {
            $fix
        }
        fn checkov_ids(&self) -> &'static [&'static str] {
            &[$($ck),*]
        }
    };
}
pub(crate) use meta;

/// The logical ID a value points at: `{"Ref": X}`, `{"Fn::GetAtt": [X, …]}` or
/// `{"Fn::GetAtt": "X.Attr"}`.
pub(crate) fn ref_target(v: &Json) -> Option<&str> {
    let o = v.as_object()?;
    if o.len() != 1 {
        return None;
    }
    if let Some(Json::String(s)) = o.get("Ref") {
        return Some(s);
    }
    match o.get("Fn::GetAtt")? {
        Json::Array(a) => a.first()?.as_str(),
        Json::String(s) => s.split('.').next(),
        _ => None,
    }
}

/// Where an element sits in a value that may be one thing or a list of things: displays as the
/// suffix that extends a property path to it (nothing for a single value, `.2` for a list's
/// third element). Formatted only when a finding needs it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct At(Option<usize>);

impl std::fmt::Display for At {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(i) => write!(f, ".{i}"),
            None => Ok(()),
        }
    }
}

/// The elements of a value that may be one thing or a list of things, each with its [`At`].
pub(crate) fn items(v: Option<&Json>) -> impl Iterator<Item = (At, &Json)> + Clone {
    let (list, single): (&[Json], Option<&Json>) = match v {
        None | Some(Json::Null) => (&[], None),
        Some(Json::Array(a)) => (a.as_slice(), None),
        Some(x) => (&[], Some(x)),
    };
    list.iter()
        .enumerate()
        .map(|(i, x)| (At(Some(i)), x))
        .chain(single.map(|x| (At(None), x)))
}

/// What a boolean property is, as far as synth time knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tri {
    /// True.
    Yes,
    /// False (or absent, when absent means false).
    No,
    /// Only deploy time knows.
    Unknown,
}

/// A boolean property; `absent` is what CloudFormation assumes when it is not set.
pub(crate) fn flag(ctx: &RuleContext<'_>, v: Option<&Json>, absent: bool) -> Tri {
    match v {
        None | Some(Json::Null) => {
            if absent {
                Tri::Yes
            } else {
                Tri::No
            }
        }
        Some(v) => match ctx.resolve_bool(v) {
            Some(true) => Tri::Yes,
            Some(false) => Tri::No,
            None => Tri::Unknown,
        },
    }
}

/// A numeric property (numbers or numeric strings), `None` when unknown or not a number.
pub(crate) fn number(ctx: &RuleContext<'_>, v: &Json) -> Option<f64> {
    ctx.resolve_str(v)?.trim().parse().ok()
}

/// A string property resolved, compared case-insensitively.
pub(crate) fn str_is(ctx: &RuleContext<'_>, v: Option<&Json>, expected: &str) -> bool {
    v.and_then(|v| ctx.resolve_str(v))
        .is_some_and(|s| s.eq_ignore_ascii_case(expected))
}

/// Placeholder for what only deploy time knows, in [`shape`].
pub(crate) const UNKNOWN: &str = "{unknown}";

/// A value rendered as text for pattern matching: literals as they are, parameter defaults
/// substituted, `Fn::Join` and `Fn::Sub` expanded, anything else as [`UNKNOWN`].
pub(crate) fn shape(ctx: &RuleContext<'_>, v: &Json) -> String {
    let mut out = String::new();
    shape_into(ctx, v, &mut out, 0);
    out
}

fn shape_into(ctx: &RuleContext<'_>, v: &Json, out: &mut String, depth: u8) {
    if depth > 8 {
        out.push_str(UNKNOWN);
        return;
    }
    match v {
        Json::String(s) => out.push_str(s),
        Json::Number(n) => out.push_str(&n.to_string()),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                shape_into(ctx, x, out, depth + 1);
            }
        }
        Json::Object(o) if o.len() == 1 => {
            let Some((k, arg)) = o.iter().next() else {
                return;
            };
            match (k.as_str(), arg) {
                ("Ref", Json::String(_)) => match ctx.resolve_str(v) {
                    Some(s) => out.push_str(&s),
                    None => out.push_str(UNKNOWN),
                },
                ("Fn::Join", Json::Array(a)) => {
                    let sep = a.first().and_then(Json::as_str).unwrap_or("");
                    match a.get(1) {
                        Some(Json::Array(parts)) => {
                            for (i, p) in parts.iter().enumerate() {
                                if i > 0 {
                                    out.push_str(sep);
                                }
                                shape_into(ctx, p, out, depth + 1);
                            }
                        }
                        _ => out.push_str(UNKNOWN),
                    }
                }
                ("Fn::Sub", Json::String(s)) => sub(ctx, s, None, out, depth),
                ("Fn::Sub", Json::Array(a)) => match a.first() {
                    Some(Json::String(s)) => sub(ctx, s, a.get(1), out, depth),
                    _ => out.push_str(UNKNOWN),
                },
                _ => out.push_str(UNKNOWN),
            }
        }
        _ => out.push_str(UNKNOWN),
    }
}

/// Expands `${Name}` in an `Fn::Sub` string: from the variable map, a parameter default, or
/// [`UNKNOWN`]. `${!Literal}` stays literal.
fn sub(ctx: &RuleContext<'_>, s: &str, vars: Option<&Json>, out: &mut String, depth: u8) {
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return;
        };
        let name = &after[..end];
        if let Some(lit) = name.strip_prefix('!') {
            out.push_str("${");
            out.push_str(lit);
            out.push('}');
        } else if let Some(v) = vars.and_then(|m| m.get(name)) {
            shape_into(ctx, v, out, depth + 1);
        } else {
            let r = serde_json::json!({ "Ref": name });
            match ctx.resolve_str(&r) {
                Some(v) => out.push_str(&v),
                None => out.push_str(UNKNOWN),
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
}

/// The value of an Elastic Load Balancing attribute (`LoadBalancerAttributes`), resolved.
pub(crate) fn lb_attribute(
    ctx: &RuleContext<'_>,
    r: &ResourceView<'_>,
    key: &str,
) -> Option<String> {
    elb_attribute(r, "LoadBalancerAttributes", key).and_then(|v| ctx.resolve_str(v))
}

/// The raw value of an Elastic Load Balancing attribute in the key/value list `list`
/// (`LoadBalancerAttributes`, `TargetGroupAttributes`).
pub(crate) fn elb_attribute<'a>(r: &ResourceView<'a>, list: &str, key: &str) -> Option<&'a Json> {
    items(r.get(list))
        .find(|(_, a)| a.get("Key").and_then(Json::as_str) == Some(key))
        .and_then(|(_, a)| a.get("Value"))
}

/// Whether a load balancer is an application load balancer (the default `Type`).
pub(crate) fn is_alb(ctx: &RuleContext<'_>, r: &ResourceView<'_>) -> bool {
    r.get("Type").is_none() || str_is(ctx, r.get("Type"), "application")
}

/// Whether a load balancer is an internet-facing application load balancer (`Scheme` absent
/// or `internet-facing`).
pub(crate) fn is_public_alb(ctx: &RuleContext<'_>, r: &ResourceView<'_>) -> bool {
    let scheme = r.get("Scheme");
    is_alb(ctx, r) && (scheme.is_none() || str_is(ctx, scheme, "internet-facing"))
}

/// How a message names another resource: its construct path and logical ID (the ID alone when
/// the template has no construct tree behind it).
pub(crate) fn named(r: &ResourceView<'_>) -> String {
    if r.path == r.logical_id {
        r.logical_id.to_owned()
    } else {
        format!("{} ({})", r.path, r.logical_id)
    }
}

/// Whether a DB instance belongs to an Aurora (or Multi-AZ) cluster, whose cluster carries
/// storage, backup and protection settings.
pub(crate) fn in_cluster(r: &ResourceView<'_>) -> bool {
    r.get("DBClusterIdentifier").is_some()
}

/// An identity policy document in a template: the resource, where the document is, and the
/// document.
pub(crate) struct PolicyDoc<'a> {
    /// The resource holding it.
    pub resource: ResourceView<'a>,
    /// The position in `Policies`, or `None` for a policy resource's `PolicyDocument`.
    pub inline: Option<At>,
    /// The document.
    pub doc: &'a Json,
}

impl PolicyDoc<'_> {
    /// `Policies.0.PolicyDocument` or `PolicyDocument`.
    pub fn path(&self) -> String {
        match self.inline {
            Some(at) => format!("Policies{at}.PolicyDocument"),
            None => "PolicyDocument".to_owned(),
        }
    }
}

/// Types whose `Policies` list holds inline identity policies.
pub(crate) const INLINE_HOLDERS: [&str; 3] =
    ["AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"];
/// Types whose `PolicyDocument` is an identity policy.
const POLICY_TYPES: [&str; 5] = [
    "AWS::IAM::Policy",
    "AWS::IAM::ManagedPolicy",
    "AWS::IAM::RolePolicy",
    "AWS::IAM::UserPolicy",
    "AWS::IAM::GroupPolicy",
];

/// Every identity policy document (inline on roles, users and groups, and policy resources).
/// Resource policies (KMS key policies, bucket policies, trust policies) are not identity
/// policies and are not returned.
pub(crate) fn identity_policies<'a>(ctx: &RuleContext<'a>) -> Vec<PolicyDoc<'a>> {
    let mut out = Vec::new();
    for ty in INLINE_HOLDERS {
        for r in ctx.resources_of_type(ty) {
            for (at, p) in items(r.get("Policies")) {
                if let Some(doc) = p.get("PolicyDocument") {
                    out.push(PolicyDoc {
                        resource: r,
                        inline: Some(at),
                        doc,
                    });
                }
            }
        }
    }
    for ty in POLICY_TYPES {
        for r in ctx.resources_of_type(ty) {
            if let Some(doc) = r.get("PolicyDocument") {
                out.push(PolicyDoc {
                    resource: r,
                    inline: None,
                    doc,
                });
            }
        }
    }
    out
}

/// The `Allow` statements of a policy document, with their positions in `Statement`.
pub(crate) fn allow_statements<'a>(
    ctx: &RuleContext<'_>,
    doc: &'a Json,
) -> impl Iterator<Item = (At, &'a Json)> {
    items(doc.get("Statement"))
        .filter(move |(_, s)| s.is_object() && str_is(ctx, s.get("Effect"), "Allow"))
}

/// One environment variable of a container or function.
pub(crate) struct EnvVar<'a> {
    /// The resource defining it.
    pub resource: ResourceView<'a>,
    /// Its name.
    pub name: &'a str,
    /// Its value.
    pub value: &'a Json,
    /// Where it is: an ECS container's `Environment` entry, or a Lambda variable.
    at: EnvAt,
}

enum EnvAt {
    Container(At, At),
    Lambda,
}

impl EnvVar<'_> {
    /// The property path of the name.
    pub fn name_path(&self) -> String {
        match self.at {
            EnvAt::Container(c, e) => format!("ContainerDefinitions{c}.Environment{e}.Name"),
            EnvAt::Lambda => format!("Environment.Variables.{}", self.name),
        }
    }

    /// The property path of the value.
    pub fn value_path(&self) -> String {
        match self.at {
            EnvAt::Container(c, e) => format!("ContainerDefinitions{c}.Environment{e}.Value"),
            EnvAt::Lambda => format!("Environment.Variables.{}", self.name),
        }
    }
}

/// Every plain environment variable: ECS container `Environment` entries and Lambda
/// `Environment.Variables`.
pub(crate) fn env_vars<'a>(ctx: &RuleContext<'a>) -> Vec<EnvVar<'a>> {
    let mut out = Vec::new();
    for r in ctx.resources_of_type("AWS::ECS::TaskDefinition") {
        for (ci, c) in items(r.get("ContainerDefinitions")) {
            for (ei, kv) in items(c.get("Environment")) {
                if let (Some(name), Some(value)) =
                    (kv.get("Name").and_then(Json::as_str), kv.get("Value"))
                {
                    out.push(EnvVar {
                        resource: r,
                        name,
                        value,
                        at: EnvAt::Container(ci, ei),
                    });
                }
            }
        }
    }
    for r in ctx.resources_of_type("AWS::Lambda::Function") {
        if let Some(vars) = r.get("Environment.Variables").and_then(Json::as_object) {
            for (name, value) in vars {
                out.push(EnvVar {
                    resource: r,
                    name,
                    value,
                    at: EnvAt::Lambda,
                });
            }
        }
    }
    out
}

/// Whether a template parameter is declared `NoEcho`.
pub(crate) fn no_echo(ctx: &RuleContext<'_>, p: &Json) -> bool {
    ctx.is_true(p.get("NoEcho"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `shape` of `v` in a template whose parameter `P` defaults to `p`.
    fn shaped(v: Json) -> String {
        let stack = cfn_core::Stack::new("T");
        let t = json!({"Parameters": {"P": {"Type": "String", "Default": "p"}}});
        let ctx = RuleContext::new(&stack, &t);
        shape(&ctx, &v)
    }

    #[test]
    fn shape_renders_lists_joins_and_subs() {
        assert_eq!(shaped(json!(["a", 1, true])), "a,1,true");
        assert_eq!(
            shaped(json!({"Fn::Join": ["-", ["a", {"Ref": "P"}, "c"]]})),
            "a-p-c"
        );
        assert_eq!(shaped(json!({"Fn::Sub": "${P}-x"})), "p-x");
        assert_eq!(shaped(json!({"Fn::Sub": "x-${P}"})), "x-p");
        assert_eq!(
            shaped(json!({"Fn::Sub": ["${V}/${P}", {"V": ["u", "v"]}]})),
            "u,v/p"
        );
        assert_eq!(shaped(json!({"Fn::Sub": "${!Literal}"})), "${Literal}");
        assert_eq!(shaped(json!({"Ref": "Nothing"})), UNKNOWN);
        // An intrinsic is an object of exactly one key; with more it is data, not a Sub.
        assert_eq!(shaped(json!({"Fn::Sub": "x", "Other": 1})), UNKNOWN);
    }

    #[test]
    fn shape_stops_at_depth_eight() {
        let mut v = json!("leaf");
        for _ in 0..8 {
            v = json!([v]);
        }
        assert_eq!(shaped(v.clone()), "leaf", "eight levels deep is read");
        assert_eq!(shaped(json!([v])), UNKNOWN, "the ninth is not");
        // A Fn::Sub variable is one level below the Fn::Sub.
        let mut seven = json!("leaf");
        for _ in 0..7 {
            seven = json!([seven]);
        }
        let sub = |v: &Json| json!({"Fn::Sub": ["${V}", {"V": v}]});
        assert_eq!(shaped(sub(&seven)), "leaf");
        assert_eq!(shaped(sub(&v)), UNKNOWN);
    }
}
