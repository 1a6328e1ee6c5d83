//! The reference walk of synth-time validation, form by form: every way a template can name a
//! resource, parameter or condition is found, with the property it sits in, and nothing else
//! is. Written for the mutants a cargo-mutants run found surviving (docs/testing.md).
#![allow(missing_docs, clippy::unwrap_used)]

use cfn_core::{Condition, Diagnostic, Stack, SynthError};
use serde_json::{Value as Json, json};

fn errors(stack: Stack) -> Vec<Diagnostic> {
    let SynthError::Invalid { diagnostics, .. } = stack.synth().unwrap_err();
    diagnostics
        .into_iter()
        .filter(Diagnostic::is_error)
        .collect()
}

/// A stack with one raw resource `R` of `properties`, and a bucket `B` to refer to.
fn one(properties: Json) -> Stack {
    let mut stack = Stack::new("S");
    let mut root = stack.root();
    root.add_raw("B", "Test::Bucket", None, json!({}));
    root.add_raw("R", "Test::Raw", None, properties);
    stack
}

/// `(code, message, property)` of each error.
fn found(errs: &[Diagnostic]) -> Vec<(&'static str, String, String)> {
    errs.iter()
        .map(|d| {
            (
                d.code,
                d.message.clone(),
                d.property.clone().unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn a_reference_in_a_one_property_object_names_that_property() {
    let errs = errors(one(json!({"Target": {"Ref": "Ghost"}})));
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert_eq!(errs[0].code, "unknown-ref");
    assert_eq!(errs[0].property.as_deref(), Some("Properties.Target"));
}

#[test]
fn get_att_in_its_dotted_string_form_is_a_reference() {
    let errs = errors(one(json!({"A": {"Fn::GetAtt": "Ghost.Arn"}, "B": 1})));
    let f = found(&errs);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].0, "unknown-ref");
    assert!(f[0].1.contains("'Ghost'"), "{f:#?}");
}

#[test]
fn sub_in_its_list_form_reads_the_string_but_not_its_own_variables() {
    let errs = errors(one(json!({
        "A": {"Fn::Sub": ["${Local}-${Ghost}-${B}", {"Local": "x"}]},
        "B": 1
    })));
    let f = found(&errs);
    assert_eq!(f.len(), 1, "only Ghost is unknown: {f:#?}");
    assert!(f[0].1.contains("'Ghost'"), "{f:#?}");
}

#[test]
fn sub_names_are_read_from_after_the_dollar_brace_wherever_it_starts() {
    // A variable in the middle of the string: its name is what lies between `${` and `}`.
    let errs = errors(one(
        json!({"A": {"Fn::Sub": "arn:aws:s3:::${Ghost}/x"}, "B": 1}),
    ));
    let f = found(&errs);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert!(f[0].1.contains("'Ghost'"), "{f:#?}");
    assert!(errors_free(one(
        json!({"A": {"Fn::Sub": "pre-${B}-post"}, "B": 1})
    )));
}

#[test]
fn an_empty_sub_variable_is_reported_not_a_crash() {
    let f = found(&errors(one(
        json!({"A": {"Fn::Sub": "x-${}-${B}"}, "B": 1}),
    )));
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].0, "unknown-ref");
    assert!(f[0].1.contains("''"), "{f:#?}");
}

fn errors_free(stack: Stack) -> bool {
    stack.synth().is_ok()
}

#[test]
fn depends_on_as_a_single_name_is_checked() {
    let mut stack = Stack::new("S");
    let r = stack.root().add_raw("R", "Test::Raw", None, json!({}));
    stack
        .resource(&r)
        .add_override("DependsOn", json!("Phantom"));
    let f = found(&errors(stack));
    assert_eq!(f.len(), 1, "{f:#?}");
    assert!(f[0].1.contains("'Phantom'"), "{f:#?}");
    assert_eq!(f[0].2, "DependsOn");
}

#[test]
fn condition_operands_of_condition_functions_are_condition_references() {
    // Inside the Conditions section: a condition used only by another condition is used.
    let mut stack = Stack::new("S");
    let a = stack.add_condition("A", Condition::equals("x", "y"));
    let b = stack.add_condition("NotA", Condition::not(Condition::named(&a)));
    let mut root = stack.root();
    let t = root.add_raw("T", "Test::Raw", None, json!({}));
    stack.resource(&t).condition(&b);
    let out = stack.synth().unwrap();
    assert!(
        out.diagnostics.is_empty(),
        "A is used by NotA: {:#?}",
        out.diagnostics
    );

    // Anywhere else, a condition function's `Condition` operand is still a condition name,
    // while a one-key `Condition` object outside one is data (an IAM policy's Condition).
    let errs = errors(one(json!({
        "A": {"Fn::Not": [{"Condition": "Nope"}]},
        "Policy": {"Condition": "NotACondition"}
    })));
    let f = found(&errs);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].0, "unknown-condition");
    assert!(f[0].1.contains("'Nope'"), "{f:#?}");
}
