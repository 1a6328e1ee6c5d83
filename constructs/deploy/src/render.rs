//! Text the CLI prints: change sets, event lines, failed resources, outputs.

use std::time::Duration;

use indexmap::IndexMap;

use crate::changeset::{Action, ChangeSet, Kind, Replacement};
use crate::diff::table;
use crate::events::{FailedResource, StackEvent};

/// SGR color codes, or nothing.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    /// Whether to emit ANSI colors.
    pub color: bool,
}

impl Style {
    fn paint(self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }
}

/// `1 change`, `3 changes`: the size of a change set, as every message states it.
pub fn change_count(cs: &ChangeSet) -> String {
    let n = cs.changes.len();
    format!("{n} change{}", if n == 1 { "" } else { "s" })
}

/// A size for people: `512 bytes`, `12 KB`, `3.4 MB` (decimal units, as S3 bills them).
pub fn size(bytes: u64) -> String {
    match bytes {
        0..1_000 => format!("{bytes} bytes"),
        1_000..1_000_000 => format!("{} KB", (bytes + 500) / 1_000),
        _ => format!("{:.1} MB", bytes as f64 / 1e6),
    }
}

/// The change set as a table: sign, type, logical ID, construct path, and the replacement
/// column (`REPLACE` for True, `may replace` for Conditional), highlighted.
pub fn change_set(cs: &ChangeSet, style: Style) -> String {
    let kind = match cs.kind {
        Kind::Create => "create",
        Kind::Update => "update",
        Kind::Import => "import",
    };
    let mut out = format!(
        "Change set {} ({kind} of {}, {}):\n",
        cs.name,
        cs.stack_name,
        change_count(cs)
    );
    let rows: Vec<[String; 5]> = cs
        .changes
        .iter()
        .map(|c| {
            let sign = match c.action {
                Action::Add => style.paint("32", "+"),
                Action::Remove => style.paint("31", "-"),
                Action::Modify => style.paint("33", "~"),
                ref other => other.sign().to_owned(),
            };
            let repl = match (c.action.clone(), c.replacement) {
                (Action::Modify, Some(Replacement::True)) => style.paint("1;31", "REPLACE"),
                (Action::Modify, Some(Replacement::Conditional)) => {
                    style.paint("1;33", "may replace (Conditional)")
                }
                _ => String::new(),
            };
            [
                sign,
                c.resource_type.clone(),
                c.logical_id.clone(),
                c.path.clone().unwrap_or_else(|| "-".into()),
                repl,
            ]
        })
        .collect();
    out.push_str(&table(
        &["", "TYPE", "LOGICAL ID", "CONSTRUCT PATH", "REPLACEMENT"],
        &rows,
    ));
    out
}

/// One line per event, for CI logs.
pub fn event_line(e: &StackEvent, path: Option<&str>) -> String {
    let mut s = format!(
        "{}  {:<28} {:<34} {}",
        e.time_of_day(),
        e.status,
        e.resource_type,
        e.logical_id
    );
    if let Some(p) = path {
        s.push_str(&format!(" ({p})"));
    }
    if let Some(r) = &e.reason {
        s.push_str(&format!(": {r}"));
    }
    s
}

/// The "Failed resources" block, root cause first.
pub fn failed_resources(failed: &[FailedResource], stack_reason: Option<&str>) -> String {
    let mut out = String::from("Failed resources (root cause first):\n");
    if failed.is_empty() {
        out.push_str(&format!(
            "  (no resource reported a failure{})\n",
            stack_reason
                .map(|r| format!("; the stack says: {r}"))
                .unwrap_or_default()
        ));
        return out;
    }
    let rows: Vec<[String; 5]> = failed
        .iter()
        .map(|f| {
            [
                f.logical_id.clone(),
                f.resource_type.clone(),
                f.path.clone().unwrap_or_else(|| "-".into()),
                f.status.clone(),
                f.reason.clone(),
            ]
        })
        .collect();
    out.push_str(&table(
        &["LOGICAL ID", "TYPE", "CONSTRUCT PATH", "STATUS", "REASON"],
        &rows,
    ));
    out
}

/// Outputs, `key = value`, one per line.
pub fn outputs(outputs: &IndexMap<String, String>) -> String {
    let mut out = String::new();
    if outputs.is_empty() {
        return out;
    }
    out.push_str("Outputs:\n");
    let w = outputs.keys().map(|k| k.len()).max().unwrap_or(0);
    for (k, v) in outputs {
        out.push_str(&format!("  {k:<w$} = {v}\n"));
    }
    out
}

/// `4.2s`, `1m 05s`.
pub fn duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 {
        format!("{s:.1}s")
    } else {
        let m = (s / 60.0).floor() as u64;
        format!("{m}m {:02}s", (s as u64) % 60)
    }
}

/// `61,234`.
pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changeset::ResourceChange;

    #[test]
    fn sizes_read_as_bytes_kilobytes_or_megabytes() {
        assert_eq!(size(0), "0 bytes");
        assert_eq!(size(999), "999 bytes");
        assert_eq!(size(1_000), "1 KB");
        assert_eq!(size(12_345), "12 KB");
        assert_eq!(size(3_400_000), "3.4 MB");
    }

    #[test]
    fn change_sets_show_sign_type_id_path_and_replacement() {
        let cs = ChangeSet {
            id: "arn".into(),
            name: "cs-1".into(),
            stack_id: "sid".into(),
            stack_name: "S".into(),
            kind: Kind::Update,
            changes: vec![
                ResourceChange {
                    action: Action::Modify,
                    logical_id: "Db".into(),
                    physical_id: None,
                    resource_type: "AWS::RDS::DBCluster".into(),
                    replacement: Some(Replacement::True),
                    scope: vec!["Properties".into()],
                    properties: vec![],
                    path: Some("S/Db".into()),
                },
                ResourceChange {
                    action: Action::Add,
                    logical_id: "Q".into(),
                    physical_id: None,
                    resource_type: "AWS::SQS::Queue".into(),
                    replacement: None,
                    scope: vec![],
                    properties: vec![],
                    path: None,
                },
            ],
        };
        let t = change_set(&cs, Style { color: false });
        assert!(
            t.starts_with("Change set cs-1 (update of S, 2 changes):\n"),
            "{t}"
        );
        assert!(
            t.contains("~  AWS::RDS::DBCluster  Db          S/Db            REPLACE"),
            "{t}"
        );
        assert!(t.contains("+  AWS::SQS::Queue      Q           -"), "{t}");
    }

    #[test]
    fn numbers_and_durations() {
        assert_eq!(thousands(61234), "61,234");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(duration(Duration::from_millis(4200)), "4.2s");
        assert_eq!(duration(Duration::from_secs(65)), "1m 05s");
    }
}
