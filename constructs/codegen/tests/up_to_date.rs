//! The committed `cfn-resources` code is what the generator makes from the vendored schemas
//! (the test twin of `cargo run -p cfn-codegen -- generate --check`).

use std::path::Path;

use cfn_codegen::{Source, generate, layout};

#[test]
fn committed_generated_code_is_up_to_date() {
    let resources = Path::new(env!("CARGO_MANIFEST_DIR")).join("../resources");
    let schemas = resources.join("schemas");
    let toml = std::fs::read_to_string(schemas.join("SOURCE.toml")).expect("SOURCE.toml");
    let source = Source::from_toml(&toml).expect("parses");
    let input = layout::read_schema_dir(&schemas).expect("schemas");
    let out = generate(&input, &source, true).expect("generates");
    let stale = layout::diff(&out, &resources.join("src/generated"));
    assert!(
        stale.is_empty(),
        "generated code is out of date, run `cargo run -p cfn-codegen -- generate`:\n{}",
        stale.join("\n")
    );

    // Every listed type is vendored and generated.
    let types = std::fs::read_to_string(schemas.join("types.txt")).expect("types.txt");
    let mut listed: Vec<String> = types
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    listed.sort_unstable();
    assert_eq!(out.type_names, listed);
}
