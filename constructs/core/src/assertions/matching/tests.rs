#![allow(clippy::unwrap_used)]

use serde_json::json;

use super::*;

fn ok(expected: Json, actual: Json) {
    if let Err(e) = Match::check(&expected, &actual) {
        panic!("expected a match: {e}");
    }
}

fn fails(expected: Json, actual: Json) -> Vec<Mismatch> {
    match Match::check(&expected, &actual) {
        Ok(()) => panic!("expected a mismatch of {expected} against {actual}"),
        Err(e) => e.mismatches,
    }
}

#[test]
fn objects_match_partially_and_recursively() {
    let actual = json!({"A": 1, "B": {"C": "x", "D": [1, 2]}, "E": true});
    ok(json!({}), actual.clone());
    ok(json!({"B": {"C": "x"}}), actual.clone());
    let m = fails(json!({"B": {"C": "y"}, "E": false}), actual);
    assert_eq!(m.len(), 2);
    assert_eq!(m[0].path, "B.C");
    assert_eq!(m[0].message, r#"expected "y", found "x""#);
    assert_eq!(m[1].path, "E");
}

#[test]
fn a_missing_key_is_a_mismatch_naming_what_was_expected() {
    let m = fails(json!({"A": {"B": 1}}), json!({"A": {}}));
    assert_eq!(m[0].path, "A.B");
    assert_eq!(m[0].message, "expected 1, found nothing");
}

#[test]
fn arrays_need_the_same_length_and_match_element_wise() {
    let actual = json!([{"K": "a", "V": 1}, {"K": "b", "V": 2}]);
    ok(json!([{"K": "a"}, {"K": "b"}]), actual.clone());
    let m = fails(json!([{"K": "a"}]), actual.clone());
    assert_eq!(m[0].path, "");
    assert!(
        m[0].message
            .starts_with("expected an array of 1 element(s), found 2")
    );
    let m = fails(json!([{"K": "b"}, {"K": "a"}]), actual);
    assert_eq!(m[0].path, "[0].K");
    assert_eq!(m[1].path, "[1].K");
}

#[test]
fn numbers_compare_by_value_and_types_do_not_coerce() {
    ok(json!({"N": 4}), json!({"N": 4.0}));
    let m = fails(json!({"N": "4"}), json!({"N": 4}));
    assert_eq!(m[0].message, r#"expected "4", found 4"#);
    let m = fails(json!({"N": {"X": 1}}), json!({"N": [1]}));
    assert_eq!(m[0].message, r#"expected an object {"X": 1}, found [1]"#);
}

#[test]
fn any_value_needs_a_present_non_null_value() {
    ok(json!({"A": Match::any_value()}), json!({"A": [1]}));
    let m = fails(json!({"A": Match::any_value()}), json!({"A": null}));
    assert_eq!(
        m[0].message,
        "expected a value (Match::any_value()), found none"
    );
    fails(json!({"A": Match::any_value()}), json!({}));
}

#[test]
fn absent_needs_the_key_missing() {
    ok(json!({"A": Match::absent()}), json!({"B": 1}));
    ok(json!({"A": Match::absent()}), json!({"A": null}));
    let m = fails(json!({"A": Match::absent()}), json!({"A": "x"}));
    assert_eq!(m[0].path, "A");
    assert_eq!(
        m[0].message,
        r#"expected no value (Match::absent()), found "x""#
    );
}

#[test]
fn array_with_finds_each_element_anywhere_each_once() {
    let tags = json!([{"Key": "app", "Value": "dify"}, {"Key": "env", "Value": "prd"}]);
    ok(
        json!(Match::array_with(json!([{"Key": "env"}, {"Key": "app"}]))),
        tags.clone(),
    );
    ok(
        json!(Match::array_with(json!({"Value": "prd"}))),
        tags.clone(),
    );
    let m = fails(
        json!(Match::array_with(json!([{"Key": "env", "Value": "dev"}]))),
        tags,
    );
    assert_eq!(
        m[0].message,
        r#"expected an array containing {"Key": "env", "Value": "dev"} (Match::array_with), but none of its 2 element(s) matches it; the closest is [1]:"#
    );
    // The closest element's differences follow, at full paths.
    assert_eq!(m[1].path, "[1].Value");
    assert_eq!(m[1].message, r#"expected "dev", found "prd""#);
    let m = fails(json!(Match::array_with(json!([1]))), json!([]));
    assert!(
        m[0].message.ends_with("(the array is empty)"),
        "{}",
        m[0].message
    );
    // Two expected elements cannot share one actual element.
    let m = fails(
        json!(Match::array_with(json!([{"A": 1}, {"A": 1}]))),
        json!([{"A": 1}]),
    );
    assert!(m[0].message.contains("taken by other expected elements"));
    // A greedy pass would give the first element to the first pattern and fail.
    ok(
        json!(Match::array_with(json!([{"X": 1}, {"Y": 2}]))),
        json!([{"X": 1, "Y": 2}, {"X": 1}]),
    );
    let m = fails(
        json!({"L": Match::array_with(json!([1]))}),
        json!({"L": "1"}),
    );
    assert_eq!(m[0].path, "L");
    assert!(m[0].message.contains("found \"1\""));
}

#[test]
fn string_like_regexp_searches_strings_and_reports_bad_patterns() {
    ok(
        json!(Match::string_like_regexp("^dify-(dev|prd)$")),
        json!("dify-prd"),
    );
    ok(
        json!(Match::string_like_regexp("prd")),
        json!("dify-prd-api"),
    );
    let m = fails(json!(Match::string_like_regexp("^prd")), json!("dify-prd"));
    assert_eq!(
        m[0].message,
        r#"expected a string matching /^prd/, found "dify-prd""#
    );
    let m = fails(json!(Match::string_like_regexp("x")), json!(1));
    assert_eq!(m[0].message, "expected a string matching /x/, found 1");
    let m = fails(json!(Match::string_like_regexp("(")), json!("("));
    assert!(m[0].message.starts_with("invalid regular expression /(/"));
}

#[test]
fn object_equals_is_exact_all_the_way_down_unless_relaxed() {
    let actual = json!({"A": 1, "B": {"C": 2, "D": 3}});
    ok(json!(Match::object_equals(actual.clone())), actual.clone());
    let m = fails(
        json!(Match::object_equals(json!({"A": 1, "B": {"C": 2}}))),
        actual.clone(),
    );
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].path, "B.D");
    assert_eq!(
        m[0].message,
        "unexpected key (Match::object_equals), with 3"
    );
    ok(
        json!(Match::object_equals(
            json!({"A": Match::any_value(), "B": Match::object_like(json!({"C": 2}))})
        )),
        actual,
    );
}

#[test]
fn not_inverts_a_pattern() {
    ok(json!({"A": Match::not("x")}), json!({"A": "y"}));
    ok(json!({"A": Match::not(Match::any_value())}), json!({}));
    let m = fails(json!({"A": Match::not("x")}), json!({"A": "x"}));
    assert_eq!(m[0].message, r#"expected anything but "x", found "x""#);
}

#[test]
fn matchers_render_as_they_are_written() {
    let e = json!({"A": Match::array_with(json!([{"K": Match::string_like_regexp("^a")}]))});
    assert_eq!(
        render(&e),
        r#"{"A": Match::array_with([{"K": Match::string_like_regexp("^a")}])}"#
    );
    assert_eq!(render(&json!(Match::absent())), "Match::absent()");
}
