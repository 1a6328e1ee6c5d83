//! Schema descriptions turned into one-paragraph rustdoc that neither warns nor runs doctests.

/// Longest description kept, in characters, before it is cut at a word.
const MAX_CHARS: usize = 320;

/// The first `sentences` sentences of a schema description as safe rustdoc text, or `None`
/// when the description is empty.
///
/// Whitespace collapses to single spaces (so no indented code blocks or fences survive),
/// Markdown links become `text (<url>)`, bare URLs become autolinks, `[`, `]`, `\` are escaped,
/// `<`/`>` become entities and each run of backticks becomes one `'`.
pub fn doc_text(description: &str, sentences: usize) -> Option<String> {
    let collapsed = description.split_whitespace().collect::<Vec<_>>().join(" ");
    let unlinked = unlink(&collapsed);
    let short = truncate(&unlinked, sentences);
    let text = escape(short.trim());
    if text.is_empty() { None } else { Some(text) }
}

/// `[text](url)` → `text (url)`.
fn unlink(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let link = after.find("](").and_then(|close| {
            let text = &after[..close];
            let tail = &after[close + 2..];
            let end = tail.find(')')?;
            (!text.contains('[')).then(|| (text, &tail[..end], &tail[end + 1..]))
        });
        match link {
            Some((text, url, tail)) => {
                out.push_str(text);
                out.push_str(" (");
                out.push_str(url.trim());
                out.push(')');
                rest = tail;
            }
            None => {
                out.push('[');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Keeps the first `sentences` sentences, then at most `MAX_CHARS` characters.
fn truncate(s: &str, sentences: usize) -> String {
    let mut end = s.len();
    let mut seen = 0;
    let bytes = s.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if matches!(b, b'.' | b'!' | b'?') && bytes.get(i + 1) == Some(&b' ') && i > 3 {
            seen += 1;
            if seen == sentences {
                end = i + 1;
                break;
            }
        }
    }
    let s = &s[..end];
    if s.chars().count() <= MAX_CHARS {
        return s.to_owned();
    }
    let cut: String = s.chars().take(MAX_CHARS).collect();
    let cut = match cut.rfind(' ') {
        Some(i) if i > MAX_CHARS / 2 => cut[..i].to_owned(),
        _ => cut,
    };
    format!("{}…", cut.trim_end_matches([',', ';', ':', ' ']))
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    let mut i = 0;
    while i < s.len() {
        let rest = &s[i..];
        if rest.starts_with("http://") || rest.starts_with("https://") {
            let len = rest
                .find(|c: char| c.is_whitespace() || "<>\"'`()[]{}|\\^".contains(c))
                .unwrap_or(rest.len());
            let url = rest[..len].trim_end_matches(['.', ',', ';', ':', '!', '?']);
            out.push('<');
            out.push_str(url);
            out.push('>');
            i += url.len();
            continue;
        }
        let c = rest.chars().next().unwrap_or(' ');
        match c {
            '\\' => out.push_str("\\\\"),
            '[' => out.push_str("\\["),
            ']' => out.push_str("\\]"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '`' => {
                out.push('\'');
                i += rest.len() - rest.trim_start_matches('`').len();
                continue;
            }
            _ => out.push(c),
        }
        i += c.len_utf8();
    }
    out
}

/// Text safe to put between backticks in a doc comment (for schema names and values).
pub fn code(s: &str) -> String {
    let s: String = s.chars().filter(|c| !c.is_control()).collect();
    if s.is_empty() {
        "\"\"".to_owned()
    } else if s.contains('`') {
        escape(&s)
    } else {
        format!("`{s}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makes_descriptions_harmless() {
        let d = "Uses ``Tags`` in [the guide](https://docs.aws.amazon.com/x.html). Second <b>one</b>.\n    indented code\n Third.";
        assert_eq!(
            doc_text(d, 2).as_deref(),
            Some(
                "Uses 'Tags' in the guide (<https://docs.aws.amazon.com/x.html>). Second &lt;b&gt;one&lt;/b&gt;."
            )
        );
        assert_eq!(
            doc_text("a [b] \\[c", 2).as_deref(),
            Some("a \\[b\\] \\\\\\[c")
        );
        assert_eq!(doc_text("  ", 2), None);
        assert_eq!(
            doc_text("see https://x.y/z.", 1).as_deref(),
            Some("see <https://x.y/z>.")
        );
        let long = "word ".repeat(200);
        assert!(doc_text(&long, 2).is_some_and(|t| t.chars().count() < 330 && t.ends_with('…')));
    }

    #[test]
    fn code_spans() {
        assert_eq!(code("Arn"), "`Arn`");
        assert_eq!(code("a`b"), "a'b");
        assert_eq!(code(""), "\"\"");
    }
}
