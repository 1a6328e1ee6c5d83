//! `cfn-codegen`: writes the Rust that cfn-resources generates at build time, formatted, so a
//! person can read it (`generate`), and lists the services of the vendored schemas (`services`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use cfn_codegen::{Error, layout};
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
    /// Writes the generated code of some services (default: all), formatted with rustfmt.
    Generate {
        /// Directory of vendored schemas (default: constructs/resources/schemas).
        #[arg(long)]
        schemas: Option<PathBuf>,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Services to generate (comma-separated feature names); all when omitted.
        #[arg(long, value_delimiter = ',')]
        services: Vec<String>,
        /// Skip rustfmt (what the build does).
        #[arg(long)]
        no_format: bool,
    },
    /// Lists the services (cargo features) and how many types each has.
    Services {
        /// Directory of vendored schemas (default: constructs/resources/schemas).
        #[arg(long)]
        schemas: Option<PathBuf>,
    },
}

/// The vendored schemas (two levels above this crate's manifest).
fn default_schemas() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../resources/schemas")
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cfn-codegen: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<(), Error> {
    let start = Instant::now();
    match cli.command {
        Cmd::Generate {
            schemas,
            out,
            services,
            no_format,
        } => {
            let schemas = schemas.unwrap_or_else(default_schemas);
            let services = if services.is_empty() {
                layout::list_services(&schemas)?
            } else {
                services
            };
            let include = out.display().to_string();
            let stats = layout::generate_dir(&schemas, &services, &out, &include, !no_format)?;
            println!(
                "{} services, {} types, {} lines in {} ms into {}",
                stats.services,
                stats.types,
                stats.lines,
                start.elapsed().as_millis(),
                out.display()
            );
        }
        Cmd::Services { schemas } => {
            let schemas = schemas.unwrap_or_else(default_schemas);
            for svc in layout::list_services(&schemas)? {
                let dir = schemas.join(&svc);
                let n = std::fs::read_dir(&dir)
                    .map_err(|e| Error::Io(dir.display().to_string(), e))?
                    .count();
                println!("{svc}\t{n}");
            }
        }
    }
    Ok(())
}
