//! `synth [env] [--out DIR] [--strict] [--json]`.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use cfn_core::Severity;
use cfn_core::rules::Finding;
use cfn_core::synth::TEMPLATE_BODY_LIMIT;

use super::{CliError, Exit, Run};
use crate::assets;
use crate::project::{Environment, Project, SynthOutput};
use crate::render::{self, thousands};

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

/// How `synth` treats guardrail findings and prints its report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct SynthFlags {
    /// Treat advisory error findings as errors (exit 1, nothing written).
    pub strict: bool,
    /// Print the report as JSON on stdout instead of the table.
    pub json: bool,
}

pub(super) fn synth<P: Project + ?Sized>(
    run: &Run<'_, P>,
    only: Option<&str>,
    out_dir: &Path,
    flags: SynthFlags,
) -> Result<Exit, CliError> {
    let envs: Vec<Environment> = match only {
        Some(name) => vec![run.environment(name)?],
        None => run.environments()?,
    };
    let mut done: Vec<(Environment, SynthOutput)> = Vec::new();
    let mut failed = Vec::new();
    for env in envs {
        match run.synth(&env) {
            Ok(mut o) => {
                // Writing needs only the text; the JSON tree is the bulk of a synthesized
                // stack's memory, and every environment is held until all are written.
                for s in &mut o.stacks {
                    s.template = serde_json::Value::Null;
                }
                done.push((env, o));
            }
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
    if flags.strict {
        let blocking: Vec<String> = done
            .iter()
            .flat_map(|(env, o)| {
                o.stacks
                    .iter()
                    .flat_map(|s| &s.findings)
                    .filter(|f| f.severity == Severity::Error)
                    .map(move |f| format!("[{}] {f}", env.name))
            })
            .collect();
        if !blocking.is_empty() {
            for b in &blocking {
                run.console().err(b.clone());
            }
            return Err(CliError::new(
                Exit::Failed,
                format!(
                    "--strict: {} guardrail error{} (shown above); nothing was written to {}",
                    blocking.len(),
                    if blocking.len() == 1 { "" } else { "s" },
                    out_dir.display()
                ),
            ));
        }
    }
    write_all(out_dir, &done)?;
    if flags.json {
        run.console()
            .out_raw(&json_report(&done, out_dir, flags.strict));
        return Ok(Exit::Ok);
    }
    let rows: Vec<SynthRow> = done
        .iter()
        .flat_map(|(env, o)| {
            o.stacks.iter().map(|s| SynthRow {
                stack: s.stack_name.clone(),
                env: env.name.clone(),
                resources: s.resource_count(),
                bytes: s.bytes(),
            })
        })
        .collect();
    run.console().out_raw(&synth_table(&rows));
    run.console().out(format!(
        "Wrote {} template{} to {}",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" },
        out_dir.display()
    ));
    if let Some(line) = assets_written(&done) {
        run.console().out(line);
    }
    for (env, o) in &done {
        for r in &o.reports {
            run.console().out_raw(&reports_text(env, r));
        }
    }
    for (env, o) in &done {
        run.warnings(env, o);
    }
    for (env, o) in &done {
        for s in &o.stacks {
            if let Some(report) = findings_report(env, s, o.stacks.len() > 1) {
                run.console().out_raw(&report);
            }
        }
    }
    Ok(Exit::Ok)
}

/// A report under its environment's name: `[dev] ` before its first line, indented after.
fn reports_text(env: &Environment, r: &crate::project::Report) -> String {
    let mut out = String::new();
    for (i, line) in r.text.lines().enumerate() {
        if i == 0 {
            out.push_str(&format!("[{}] {line}\n", env.name));
        } else {
            out.push_str(&format!("{line}\n"));
        }
    }
    out
}

/// "Wrote 2 assets (14 KB) beside them: asset.<hash>.zip, …", or `None` without assets.
fn assets_written(done: &[(Environment, SynthOutput)]) -> Option<String> {
    let mut seen = BTreeSet::new();
    let files: Vec<(String, usize)> = done
        .iter()
        .flat_map(|(_, o)| o.stacks.iter().flat_map(|s| &s.assets))
        .filter(|a| seen.insert(a.hash().to_owned()))
        .map(|a| (a.file_name(), a.size()))
        .collect();
    if files.is_empty() {
        return None;
    }
    let bytes: usize = files.iter().map(|(_, n)| n).sum();
    let names: Vec<&str> = files.iter().map(|(f, _)| f.as_str()).collect();
    Some(format!(
        "Wrote {} asset{} ({}) beside them: {}",
        files.len(),
        if files.len() == 1 { "" } else { "s" },
        render::size(bytes as u64),
        names.join(", ")
    ))
}

/// Findings of one environment grouped by construct, or `None` when there is nothing to say.
///
/// ```text
/// Guardrails, dev: 1 error, 1 warning (advisory; --strict enforces them), 2 suppressed
///   dify-dev/App/Api/Logs (AppApiLogs1A2B3C4D)
///     error    enc-logs-kms  Properties.KmsKeyId: not encrypted with a customer key — fix: …
/// ```
pub(super) fn findings_report(
    env: &Environment,
    s: &cfn_core::Synthesized,
    name_stack: bool,
) -> Option<String> {
    if s.findings.is_empty() && s.suppressed.is_empty() {
        return None;
    }
    let errors = s
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = s.findings.len() - errors;
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    let mut out = format!(
        "Guardrails, {}{}: {}, {}",
        env.name,
        if name_stack {
            format!(" ({})", s.stack_name)
        } else {
            String::new()
        },
        plural(errors, "error"),
        plural(warnings, "warning")
    );
    if errors > 0 {
        out.push_str(" (advisory; --strict enforces them)");
    }
    if !s.suppressed.is_empty() {
        out.push_str(&format!(", {} suppressed", s.suppressed.len()));
    }
    out.push('\n');
    let mut groups: indexmap::IndexMap<(&str, &str), Vec<&Finding>> = indexmap::IndexMap::new();
    for f in &s.findings {
        groups
            .entry((f.construct_path.as_str(), f.logical_id.as_str()))
            .or_default()
            .push(f);
    }
    groups.sort_keys();
    for ((path, id), findings) in groups {
        out.push_str(&format!("  {path} ({id})\n"));
        for f in findings {
            let sev = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            let at = f
                .property
                .as_deref()
                .map(|p| format!("{p}: "))
                .unwrap_or_default();
            out.push_str(&format!(
                "    {sev:<8} {}  {at}{} — fix: {}\n",
                f.rule_id, f.message, f.fix
            ));
        }
    }
    Some(out)
}

/// The machine-readable report of `synth --json`.
fn json_report(done: &[(Environment, SynthOutput)], out_dir: &Path, strict: bool) -> String {
    let stacks: Vec<serde_json::Value> = done
        .iter()
        .flat_map(|(env, o)| o.stacks.iter().map(move |s| (env, o, s)))
        .map(|(env, o, s)| {
            serde_json::json!({
                "env": env.name,
                "stack": s.stack_name,
                "file": out_dir.join(s.file_name()),
                "resources": s.resource_count(),
                "bytes": s.bytes(),
                "via_s3": s.needs_s3(),
                "assets": s.assets.iter().map(|a| serde_json::json!({
                    "file": out_dir.join(a.file_name()),
                    "hash": a.hash(),
                    "bytes": a.size(),
                    "source": a.source(),
                })).collect::<Vec<_>>(),
                "findings": s.findings,
                "suppressed": s.suppressed,
                "warnings": s.diagnostics,
                "notes": o.notes,
                "reports": o.reports.iter().map(|r| (r.key.clone(), r.data.clone())).collect::<serde_json::Map<_, _>>(),
                "depends_on": s.dependencies,
            })
        })
        .collect();
    let report = serde_json::json!({"strict": strict, "stacks": stacks});
    let mut text = serde_json::to_string_pretty(&report).unwrap_or_default();
    text.push('\n');
    text
}

/// One file `synth` writes: where, and what.
struct Output<'a> {
    target: PathBuf,
    bytes: &'a [u8],
}

/// Writes every template, and for a stack with file assets its zips and its manifest
/// (`<stack>.assets.json`), to temporary files first, then renames them all into place, so a
/// failure leaves the directory as it was. Then removes the zips that a written stack's
/// previous manifest listed and nothing lists any more (and the manifest of a stack that has
/// no assets now); files no manifest names are never touched.
fn write_all(dir: &Path, done: &[(Environment, SynthOutput)]) -> Result<(), CliError> {
    let io = |what: String, e: std::io::Error| CliError::new(Exit::Failed, format!("{what}: {e}"));
    fs::create_dir_all(dir).map_err(|e| io(format!("creating {}", dir.display()), e))?;
    let stacks: Vec<&cfn_core::Synthesized> = done.iter().flat_map(|(_, o)| &o.stacks).collect();
    let manifests: Vec<(usize, String)> = stacks
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.assets.is_empty())
        .map(|(i, s)| (i, assets::manifest(&s.stack_name, &s.assets)))
        .collect();
    let mut outputs: Vec<Output<'_>> = Vec::new();
    let mut zips: BTreeSet<String> = BTreeSet::new();
    for (i, s) in stacks.iter().enumerate() {
        outputs.push(Output {
            target: dir.join(s.file_name()),
            bytes: s.body.as_bytes(),
        });
        if let Some((_, m)) = manifests.iter().find(|(at, _)| *at == i) {
            outputs.push(Output {
                target: dir.join(assets::manifest_file_name(&s.stack_name)),
                bytes: m.as_bytes(),
            });
        }
        for a in &s.assets {
            if zips.insert(a.file_name()) {
                outputs.push(Output {
                    target: dir.join(a.file_name()),
                    bytes: a.bytes(),
                });
            }
        }
    }
    // What the manifests on disk list, read before anything is replaced.
    let written: BTreeSet<&str> = stacks.iter().map(|s| s.stack_name.as_str()).collect();
    let (previous, others) = listed_zips(dir, &written);

    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    let cleanup = |staged: &[(PathBuf, PathBuf)]| {
        for (tmp, _) in staged {
            let _ = fs::remove_file(tmp);
        }
    };
    for out in &outputs {
        let name = out
            .target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
        let written = fs::File::create(&tmp).and_then(|mut f| {
            f.write_all(out.bytes)?;
            f.sync_all()
        });
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            cleanup(&staged);
            return Err(io(format!("writing {}", tmp.display()), e));
        }
        staged.push((tmp, out.target.clone()));
    }
    for (i, (tmp, target)) in staged.iter().enumerate() {
        if let Err(e) = fs::rename(tmp, target) {
            cleanup(&staged[i..]);
            return Err(io(format!("renaming into {}", target.display()), e));
        }
    }
    for s in &stacks {
        if s.assets.is_empty() {
            let _ = fs::remove_file(dir.join(assets::manifest_file_name(&s.stack_name)));
        }
    }
    for stale in previous.difference(&zips).filter(|z| !others.contains(*z)) {
        let _ = fs::remove_file(dir.join(stale));
    }
    Ok(())
}

/// The zip files listed by the asset manifests in `dir`: those of the stacks being written,
/// and those of every other stack. An unreadable manifest lists nothing.
fn listed_zips(dir: &Path, written: &BTreeSet<&str>) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut previous = BTreeSet::new();
    let mut others = BTreeSet::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return (previous, others);
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(stack) = name.strip_suffix(assets::MANIFEST_SUFFIX) else {
            continue;
        };
        let files = fs::read_to_string(entry.path())
            .map(|text| assets::manifest_files(&text))
            .unwrap_or_default();
        if written.contains(stack) {
            previous.extend(files);
        } else {
            others.extend(files);
        }
    }
    (previous, others)
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
