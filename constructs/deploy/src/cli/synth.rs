//! `synth [env] [--out DIR]`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use cfn_core::synth::TEMPLATE_BODY_LIMIT;

use super::{CliError, Exit, Run};
use crate::project::{Environment, Project, SynthOutput};
use crate::render::thousands;

/// One row of the synth table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SynthRow {
    /// The stack name.
    pub stack: String,
    /// The environment.
    pub env: String,
    /// How many resources.
    pub resources: usize,
    /// The template's size in bytes.
    pub bytes: usize,
}

/// The table `synth` prints:
///
/// ```text
///   STACK       ENV  RESOURCES   BYTES  NOTE
///   StarterDev  dev          3   2,345
///   StarterBig  big        153  61,234  via S3
/// ```
///
/// Columns are padded to the widest cell; numbers are right-aligned with thousands separators;
/// `NOTE` says `via S3` for a template over 51,200 bytes (deploy stages it in S3).
pub fn synth_table(rows: &[SynthRow]) -> String {
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                r.stack.clone(),
                r.env.clone(),
                thousands(r.resources),
                thousands(r.bytes),
                if r.bytes > TEMPLATE_BODY_LIMIT {
                    "via S3".to_owned()
                } else {
                    String::new()
                },
            ]
        })
        .collect();
    let header = ["STACK", "ENV", "RESOURCES", "BYTES", "NOTE"];
    let mut w = header.map(str::len);
    for c in &cells {
        for (i, s) in c.iter().enumerate() {
            w[i] = w[i].max(s.chars().count());
        }
    }
    let line = |c: [&str; 5]| {
        format!(
            "  {:<w0$}  {:<w1$}  {:>w2$}  {:>w3$}  {}",
            c[0],
            c[1],
            c[2],
            c[3],
            c[4],
            w0 = w[0],
            w1 = w[1],
            w2 = w[2],
            w3 = w[3]
        )
        .trim_end()
        .to_owned()
            + "\n"
    };
    let mut out = line(header);
    for c in &cells {
        out.push_str(&line([&c[0], &c[1], &c[2], &c[3], &c[4]]));
    }
    out
}

pub(super) fn synth<P: Project + ?Sized>(
    run: &Run<'_, P>,
    only: Option<&str>,
    out_dir: &Path,
) -> Result<Exit, CliError> {
    let envs: Vec<Environment> = match only {
        Some(name) => vec![run.environment(name)?],
        None => run.environments()?,
    };
    let mut done: Vec<(Environment, SynthOutput)> = Vec::new();
    let mut failed = Vec::new();
    for env in envs {
        match run.synth(&env) {
            Ok(o) => done.push((env, o)),
            Err(e) => failed.push(e),
        }
    }
    if !failed.is_empty() {
        let n = failed.len();
        for e in failed {
            run.console().err(format!("error: {}", e.message));
        }
        return Err(CliError::new(
            Exit::Failed,
            format!(
                "{n} environment{} failed to synthesize; nothing was written to {}",
                if n == 1 { "" } else { "s" },
                out_dir.display()
            ),
        ));
    }
    write_all(out_dir, &done)?;
    let rows: Vec<SynthRow> = done
        .iter()
        .map(|(env, o)| SynthRow {
            stack: o.stack.stack_name.clone(),
            env: env.name.clone(),
            resources: o.stack.resource_count(),
            bytes: o.stack.bytes(),
        })
        .collect();
    run.console().out_raw(&synth_table(&rows));
    run.console().out(format!(
        "Wrote {} template{} to {}",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" },
        out_dir.display()
    ));
    for (env, o) in &done {
        run.warnings(env, o);
    }
    Ok(Exit::Ok)
}

/// Writes every template to a temporary file first, then renames them all into place, so a
/// failure leaves the directory as it was.
fn write_all(dir: &Path, done: &[(Environment, SynthOutput)]) -> Result<(), CliError> {
    let io = |what: String, e: std::io::Error| CliError::new(Exit::Failed, format!("{what}: {e}"));
    fs::create_dir_all(dir).map_err(|e| io(format!("creating {}", dir.display()), e))?;
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    let cleanup = |staged: &[(PathBuf, PathBuf)]| {
        for (tmp, _) in staged {
            let _ = fs::remove_file(tmp);
        }
    };
    for (_, o) in done {
        let target = dir.join(o.stack.file_name());
        let tmp = dir.join(format!(
            ".{}.tmp-{}",
            o.stack.file_name(),
            std::process::id()
        ));
        let written = fs::File::create(&tmp).and_then(|mut f| {
            f.write_all(o.stack.body.as_bytes())?;
            f.sync_all()
        });
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            cleanup(&staged);
            return Err(io(format!("writing {}", tmp.display()), e));
        }
        staged.push((tmp, target));
    }
    for (i, (tmp, target)) in staged.iter().enumerate() {
        if let Err(e) = fs::rename(tmp, target) {
            cleanup(&staged[i..]);
            return Err(io(format!("renaming into {}", target.display()), e));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_and_notes_s3() {
        let t = synth_table(&[
            SynthRow {
                stack: "StarterDev".into(),
                env: "dev".into(),
                resources: 3,
                bytes: 2345,
            },
            SynthRow {
                stack: "StarterBig".into(),
                env: "big".into(),
                resources: 153,
                bytes: 61234,
            },
        ]);
        assert_eq!(
            t,
            "  STACK       ENV  RESOURCES   BYTES  NOTE\n\
             \x20 StarterDev  dev          3   2,345\n\
             \x20 StarterBig  big        153  61,234  via S3\n"
        );
    }
}
