//! The vendored schema tree, the per-service cargo features and the generated API agree:
//! every service directory is a feature of cfn-resources (and in `all`), every schema
//! generates, and no generated constructor takes required values positionally.

use std::path::{Path, PathBuf};

use cfn_codegen::{generate_service, layout};

fn resources() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../resources")
}

#[test]
fn every_service_directory_is_a_cargo_feature_and_in_all() {
    let services = layout::list_services(&resources().join("schemas")).expect("schemas");
    assert!(services.len() > 300, "{} services", services.len());
    let manifest = std::fs::read_to_string(resources().join("Cargo.toml")).expect("Cargo.toml");
    let (_, features) = manifest
        .split_once("# BEGIN services (scripts/refresh-schemas.sh)\n")
        .expect("marker");
    let (features, _) = features.split_once("# END services\n").expect("marker");
    for svc in &services {
        assert!(
            features.contains(&format!("\n{svc} = []\n")),
            "no feature `{svc}`"
        );
        assert!(
            features.contains(&format!("    \"{svc}\",\n")),
            "`{svc}` not in `all`"
        );
    }
}

/// Over every vendored type: a constructor is either `new()` (no required property) or a
/// builder whose required properties are set by name; nothing takes them positionally.
#[test]
fn no_generated_constructor_takes_required_values_positionally() {
    let schemas = resources().join("schemas");
    let (mut types, mut builders) = (0, 0);
    for svc in layout::list_services(&schemas).expect("schemas") {
        let input = layout::read_schema_dir(&schemas.join(&svc)).expect("reads");
        let code = generate_service(&svc, &input).expect("generates");
        types += code.registry.len();
        let mut rest = code.text.as_str();
        while let Some(i) = rest.find("pub fn new(") {
            let after = &rest[i + "pub fn new(".len()..];
            assert!(
                after.starts_with(") -> Self"),
                "{svc}: positional constructor `pub fn new({}`",
                after.lines().next().unwrap_or_default()
            );
            rest = after;
        }
        builders += code.text.matches("pub fn builder() -> ").count();
    }
    assert!(types > 1800, "{types} types");
    assert!(builders > 3000, "{builders} builders");
}
