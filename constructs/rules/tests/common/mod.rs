//! What the rule tests share: building a case under `T/Case`, running a pack over it, and
//! reading the findings of one rule.
#![allow(dead_code)]

use cfn_core::rules::{Enforcement, Finding, RulePack};
use cfn_core::{Scope, Stack, Synthesized};
use serde_json::Value;

/// Builds a stack `T` whose case lives under `T/Case`, runs `pack` (advisory, so every finding
/// is reported) and returns the synthesized stack.
pub fn run_pack(pack: RulePack, build: impl FnOnce(&mut Scope<'_>)) -> Synthesized {
    let mut stack = Stack::new("T");
    stack.set_guardrails(pack, Enforcement::Advise);
    build(&mut stack.root().child("Case"));
    stack
        .synth()
        .unwrap_or_else(|e| panic!("the test template is invalid: {e}"))
}

pub fn of<'a>(out: &'a Synthesized, rule: &str) -> Vec<&'a Finding> {
    out.findings.iter().filter(|f| f.rule_id == rule).collect()
}

/// `construct-path property` of each finding of `rule`.
pub fn props(out: &Synthesized, rule: &str) -> Vec<String> {
    of(out, rule)
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f.construct_path,
                f.property.as_deref().unwrap_or("-")
            )
        })
        .collect()
}

/// With `pack`, the template breaks `rule` at the resource `T/Case/<id>`, on `property`.
pub fn breaks_in(
    pack: RulePack,
    rule: &str,
    build: fn(&mut Scope<'_>),
    id: &str,
    property: Option<&str>,
) {
    let fix = pack.get(rule).map(|r| r.fix());
    let out = run_pack(pack, build);
    let path = format!("T/Case/{id}");
    let logical = out
        .paths
        .iter()
        .find(|(_, p)| **p == path)
        .map(|(l, _)| l.clone())
        .unwrap_or_else(|| panic!("no resource at {path}"));
    let found = of(&out, rule);
    assert!(
        found.iter().any(|f| f.logical_id == logical
            && f.construct_path == path
            && f.property.as_deref() == property),
        "expected {rule} on {path} ({logical}) at {property:?}; got {:#?}",
        out.findings
    );
    let f = found
        .iter()
        .find(|f| f.logical_id == logical)
        .unwrap_or_else(|| panic!("no finding on {logical}"));
    assert!(!f.message.is_empty() && !f.message.contains('\n'));
    assert_eq!(Some(f.fix), fix);
}

/// With `pack`, the template satisfies `rule`.
pub fn satisfies_in(pack: RulePack, rule: &str, build: fn(&mut Scope<'_>)) {
    let out = run_pack(pack, build);
    let found = of(&out, rule);
    assert!(found.is_empty(), "unexpected {rule}: {found:#?}");
}

/// One module per rule with a `breaks` and a `satisfies` test, calling the including file's
/// `breaks` and `satisfies`.
macro_rules! cases {
    ($($name:ident: $rule:literal {
        breaks: $bad:expr => ($id:literal, $prop:expr),
        satisfies: $good:expr $(,)?
    })*) => {$(
        mod $name {
            use super::*;
            #[test]
            fn breaks() {
                super::breaks($rule, $bad, $id, $prop);
            }
            #[test]
            fn satisfies() {
                super::satisfies($rule, $good);
            }
        }
    )*};
}
pub(crate) use cases;

pub fn raw(s: &mut Scope<'_>, id: &str, ty: &str, props: Value) -> cfn_core::ResourceRef {
    s.add_raw(id, ty, None, props)
}

/// Adds `extra`'s keys to the object `v`.
pub fn merge(v: &mut Value, extra: Value) {
    if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
        o.extend(e);
    }
}
