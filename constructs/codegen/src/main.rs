//! `cfn-codegen`: regenerates `cfn-resources` from vendored schemas (`generate`), or every type
//! of the cfn-lint index into a standalone crate (`all`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use cfn_codegen::{Error, Source, layout};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cfn-codegen",
    about = "Generates typed CloudFormation resources from registry schemas"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Regenerates `constructs/resources/src/generated/` from `constructs/resources/schemas/`.
    Generate {
        /// Directory of vendored schemas (with SOURCE.toml).
        #[arg(long)]
        schemas: Option<PathBuf>,
        /// Output directory.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Only compare: exit 1 listing the files that differ.
        #[arg(long)]
        check: bool,
    },
    /// Generates every type of a cfn-lint schema index into a standalone crate.
    All {
        /// An unpacked `cfnlint/data/schemas` directory.
        #[arg(long)]
        schemas: PathBuf,
        /// Directory of the crate to write.
        #[arg(long)]
        out: PathBuf,
        /// Which `providers/<region>.json` index to read.
        #[arg(long, default_value = "us-east-1")]
        region: String,
    },
}

/// The workspace root (two levels above this crate's manifest).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("cfn-codegen: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, Error> {
    let start = Instant::now();
    match cli.command {
        Cmd::Generate {
            schemas,
            out,
            check,
        } => {
            let root = workspace_root();
            let schemas = schemas.unwrap_or_else(|| root.join("constructs/resources/schemas"));
            let out_dir = out.unwrap_or_else(|| root.join("constructs/resources/src/generated"));
            let toml_path = schemas.join("SOURCE.toml");
            let toml = std::fs::read_to_string(&toml_path)
                .map_err(|e| Error::Io(toml_path.display().to_string(), e))?;
            let source = Source::from_toml(&toml)?;
            let input = layout::read_schema_dir(&schemas)?;
            let output = cfn_codegen::generate(&input, &source, true)?;
            if check {
                let bad = layout::diff(&output, &out_dir);
                if bad.is_empty() {
                    println!("{} generated files are up to date", output.files.len());
                    return Ok(ExitCode::SUCCESS);
                }
                for b in &bad {
                    println!("{b}");
                }
                println!(
                    "generated code is out of date: run `cargo run -p cfn-codegen -- generate`"
                );
                return Ok(ExitCode::FAILURE);
            }
            let written = layout::write(&output, &out_dir)?;
            println!(
                "{} types, {} files ({} rewritten), {} lines in {} ms",
                output.type_names.len(),
                output.files.len(),
                written,
                output.lines(),
                start.elapsed().as_millis()
            );
        }
        Cmd::All {
            schemas,
            out,
            region,
        } => {
            let source = layout::cfnlint_source(&schemas);
            let input = layout::read_cfnlint_index(&schemas, &region)?;
            let output = cfn_codegen::generate(&input, &source, true)?;
            let root = workspace_root();
            let core = root.join("constructs/core");
            let core = core
                .canonicalize()
                .map_err(|e| Error::Io(core.display().to_string(), e))?;
            layout::write_standalone(&output, &out, &core, Some(&root.join("Cargo.lock")))?;
            println!(
                "{} types, {} files, {} lines in {} ms into {}",
                output.type_names.len(),
                output.files.len(),
                output.lines(),
                start.elapsed().as_millis(),
                out.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
