//! Rust identifiers from schema names: case conversion, keyword escaping, de-duplication.

use std::collections::HashSet;

use heck::{ToShoutySnakeCase, ToSnakeCase, ToUpperCamelCase};

/// Strict and reserved keywords of Rust 2024, which cannot name a field, method or module.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Type names a generated module uses unqualified (or that the prelude provides), so no
/// generated struct or enum may take them.
pub const RESERVED_TYPE_NAMES: &[&str] = &[
    "AsMut",
    "AsRef",
    "Box",
    "Clone",
    "Copy",
    "Debug",
    "Default",
    "Drop",
    "Eq",
    "Err",
    "Extend",
    "Fn",
    "FnMut",
    "FnOnce",
    "From",
    "Hash",
    "IndexMap",
    "Into",
    "IntoIterator",
    "Iterator",
    "Json",
    "None",
    "Ok",
    "Option",
    "Ord",
    "PartialEq",
    "PartialOrd",
    "Result",
    "Self",
    "Send",
    "Sized",
    "Some",
    "String",
    "Sync",
    "ToOwned",
    "ToString",
    "Unpin",
    "Value",
    "Vec",
];

/// True for a Rust keyword (strict or reserved).
pub fn is_keyword(s: &str) -> bool {
    KEYWORDS.contains(&s)
}

/// Keeps ASCII alphanumerics and `_`; makes the result a valid identifier start.
fn clean(s: &str, fallback: &str, digit_prefix: &str) -> String {
    let mut out: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    if out.trim_matches('_').is_empty() {
        out = fallback.to_owned();
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, digit_prefix);
    }
    out
}

/// `snake_case` identifier for a field, method or module; keywords get a trailing `_`.
pub fn snake_ident(name: &str) -> String {
    let s = clean(&name.to_snake_case(), "field", "n");
    escape_keyword(s)
}

/// Appends `_` to a keyword.
pub fn escape_keyword(mut s: String) -> String {
    if is_keyword(&s) {
        s.push('_');
    }
    s
}

/// `UpperCamelCase` name for a type.
pub fn pascal(name: &str) -> String {
    let s = clean(&name.to_upper_camel_case(), "Item", "T");
    if s == "Self" {
        "SelfType".to_owned()
    } else {
        s
    }
}

/// `SCREAMING_SNAKE_CASE` name for a static.
pub fn shouty(name: &str) -> String {
    clean(&name.to_shouty_snake_case(), "ITEM", "N")
}

/// An enum variant for a string value: `t2.micro` → `T2Micro`, `TLSv1.2` → `TlSv1_2`, `*` →
/// `Value{index}`. Digit runs split by punctuation keep a `_` so `1.2` and `12` differ.
pub fn variant(value: &str, index: usize) -> String {
    let mut out = String::new();
    for chunk in value.split(|c: char| !c.is_ascii_alphanumeric()) {
        if chunk.is_empty() {
            continue;
        }
        let part = chunk.to_upper_camel_case();
        if out.ends_with(|c: char| c.is_ascii_digit())
            && part.starts_with(|c: char| c.is_ascii_digit())
        {
            out.push('_');
        }
        out.push_str(&part);
    }
    if out.is_empty() {
        return if value.is_empty() {
            "Empty".to_owned()
        } else {
            format!("Value{index}")
        };
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'V');
    }
    if out == "Self" {
        out.push_str("Value");
    }
    out
}

/// A set of names already taken in one namespace.
#[derive(Debug, Default, Clone)]
pub struct Namespace {
    taken: HashSet<String>,
}

impl Namespace {
    /// A namespace where `reserved` are already taken.
    pub fn with_reserved(reserved: &[&str]) -> Self {
        Namespace {
            taken: reserved.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// True when `name` is taken.
    pub fn contains(&self, name: &str) -> bool {
        self.taken.contains(name)
    }

    /// Takes `name` if free and returns true.
    pub fn try_take(&mut self, name: &str) -> bool {
        self.taken.insert(name.to_owned())
    }

    /// Takes the first free name among `base`, `base{sep}2`, `base{sep}3`, …
    pub fn take(&mut self, base: &str, sep: &str) -> String {
        if self.try_take(base) {
            return base.to_owned();
        }
        (2..)
            .map(|n| format!("{base}{sep}{n}"))
            .find(|c| self.try_take(c))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert_eq!(snake_ident("BucketName"), "bucket_name");
        assert_eq!(snake_ident("Type"), "type_");
        assert_eq!(snake_ident("DBClusterIdentifier"), "db_cluster_identifier");
        assert_eq!(snake_ident("3Az"), "n3az");
        assert_eq!(pascal("DBCluster"), "DbCluster");
        assert_eq!(pascal("WebACL"), "WebAcl");
        assert_eq!(pascal("VPC"), "Vpc");
        assert_eq!(
            shouty("VersioningConfiguration"),
            "VERSIONING_CONFIGURATION"
        );
        assert_eq!(variant("t2.micro", 0), "T2Micro");
        assert_eq!(variant("1.2", 0), "V1_2");
        assert_eq!(variant("*", 3), "Value3");
        assert_eq!(variant("", 0), "Empty");
        assert_eq!(variant("aws:ec2:image", 0), "AwsEc2Image");
    }

    #[test]
    fn namespace_suffixes() {
        let mut ns = Namespace::with_reserved(&["Value"]);
        assert_eq!(ns.take("Value", ""), "Value2");
        assert_eq!(ns.take("Value", ""), "Value3");
        assert_eq!(ns.take("a", "_"), "a");
        assert_eq!(ns.take("a", "_"), "a_2");
    }
}
