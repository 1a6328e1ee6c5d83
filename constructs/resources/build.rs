//! Generates the Rust of every enabled service (one cargo feature per AWS service namespace)
//! from the registry schemas vendored in `schemas/`, into `OUT_DIR`. Only what is enabled is
//! generated and compiled, so one more service costs only that service's build time.

use std::path::PathBuf;

fn main() {
    if let Err(e) = run() {
        // A build script reports by failing; the message names the schema or file.
        eprintln!("cfn-resources build: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let schemas = manifest.join("schemas");
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    println!("cargo:rerun-if-changed=schemas");
    let enabled: Vec<String> = cfn_codegen::layout::list_services(&schemas)?
        .into_iter()
        .filter(|svc| {
            let var = format!("CARGO_FEATURE_{}", svc.to_uppercase().replace('-', "_"));
            std::env::var_os(var).is_some()
        })
        .collect();
    let include = out.display().to_string();
    cfn_codegen::layout::generate_dir(&schemas, &enabled, &out, &include, false)?;
    Ok(())
}
