//! ECMA-262 patterns from registry schemas, compiled for Rust's `regex` once per process.
//!
//! Its own module because both the schema model (which patterns are enforced) and validation
//! (does a value match) need it, and neither should reach into the other for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use regex::Regex;

/// A compiled schema pattern.
#[derive(Debug)]
pub(crate) enum Pattern {
    /// Compiled with ASCII classes, as ECMA-262 reads `\w`, `\d` and `\b` (and much cheaper
    /// to compile than Unicode classes under counted repetition such as `{1,512}`).
    Ascii(regex::bytes::Regex),
    /// Patterns that need Unicode (`\p{L}` and the like).
    Unicode(Regex),
}

impl Pattern {
    /// Whether `s` matches, searching anywhere in it as ECMA-262 `test` does (schemas anchor
    /// with `^…$` where they mean the whole value).
    pub(crate) fn is_match(&self, s: &str) -> bool {
        match self {
            Pattern::Ascii(r) => r.is_match(s.as_bytes()),
            Pattern::Unicode(r) => r.is_match(s),
        }
    }

    fn compile(p: &str) -> Option<Pattern> {
        let p = ecma_to_rust(p);
        regex::bytes::RegexBuilder::new(&p)
            .unicode(false)
            .build()
            .map(Pattern::Ascii)
            .or_else(|_| Regex::new(&p).map(Pattern::Unicode))
            .ok()
    }
}

/// Compiles a schema pattern once per process. Patterns the `regex` crate cannot express
/// (look-around, back-references) give `None`: they are skipped rather than guessed at.
pub(crate) fn compiled(p: &'static str) -> Option<Arc<Pattern>> {
    // Keyed by the pattern's address: patterns are static schema data, so the address names
    // the text, and hashing it is cheaper than hashing the text. The compiled regex is shared
    // through an Arc because cloning a Regex gives the clone a new (empty) matching cache.
    type Cache = HashMap<(usize, usize), Option<Arc<Pattern>>>;
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    cache
        .entry((p.as_ptr() as usize, p.len()))
        .or_insert_with(|| Pattern::compile(p).map(Arc::new))
        .clone()
}

/// Rewrites the ECMA-262 pattern syntax the registry schemas use where Rust's `regex` reads it
/// differently: inside a character class, `[` is a literal in ECMA but opens a nested class in
/// Rust, and `&&`, `--`, `~~` are set operations in Rust but literals in ECMA. Also maps the
/// Java/Python-isms `\Z` and `\p{Print}` that a few schemas contain.
fn ecma_to_rust(p: &str) -> String {
    let mut out = String::with_capacity(p.len() + 8);
    let mut in_class = false;
    let mut chars = p.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                // Java/Python spellings some registry schemas use.
                Some('Z') => out.push_str("\\z"),
                Some('p') if chars.clone().take(7).collect::<String>() == "{Print}" => {
                    chars.nth(6);
                    out.push_str("[[:print:]]");
                }
                Some(n) => {
                    out.push(c);
                    out.push(n);
                }
                None => out.push(c),
            },
            '[' if !in_class => {
                in_class = true;
                out.push(c);
                // A leading `^` or `]` belongs to the class syntax, not to its members.
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            '[' | '&' | '~' if in_class => {
                out.push('\\');
                out.push(c);
            }
            '-' if in_class && chars.peek() == Some(&'-') => out.push_str("\\-"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::unwrap_used)]
    fn ecma_classes_read_the_ecma_way() {
        let p = r"^([a-z,A-Z,0-9,. _\-:/()#,@[\]+=&;\{\}!$*])*$";
        let re = Regex::new(&ecma_to_rust(p)).unwrap();
        assert!(re.is_match("Dify [web] & co"));
        assert!(!re.is_match("Dify's group"));
        assert!(Regex::new(&ecma_to_rust("^[^a-z]--[0-9]~~$")).is_ok());
        let z = Regex::new(&ecma_to_rust(r"^[a-z]{1,3}\Z")).unwrap();
        assert!(z.is_match("abc") && !z.is_match("abcd"));
        let word = Pattern::compile(r"^\w+$").unwrap();
        assert!(
            word.is_match("abc_1") && !word.is_match("é"),
            "ECMA \\w is ASCII"
        );
        assert!(matches!(
            Pattern::compile(r"^\p{L}+$"),
            Some(Pattern::Unicode(_))
        ));
        assert!(Pattern::compile(r"^\p{L}+$").unwrap().is_match("é"));
        let print = Regex::new(&ecma_to_rust(r"^\p{Print}+$")).unwrap();
        assert!(print.is_match("a b") && !print.is_match("a\u{7}"));
    }
}
