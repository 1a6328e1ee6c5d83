//! The shape of our hand-written public API, read from the sources with `syn` (the generated
//! resource code has its own test: `constructs/codegen/tests/up_to_date.rs`).
//!
//! - Whatever adds to a construct tree takes `(scope, id, props)`: after the scope and the id,
//!   at most one value, a props struct (or one handle), whose fields name every input; a
//!   method adding to a construct it belongs to may take `(scope, value)`.
//! - A constructor (`pub fn new`) takes at most one value, or values no swap can confuse:
//!   pairwise different types, none a string, number or bool (a literal fits several of those).
//! - No `bool` parameter on either: a bare `true` at a call site says nothing.
//! - The Dify constructs do not read the environment-file model (`crate::config`): only the
//!   bridge from a file to props (`config/`), `DifyStack` (a stack per environment file), the
//!   prelude and `lib.rs` do.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};

use quote::ToTokens;
use syn::visit::Visit;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// The hand-written library and app sources.
fn sources() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = ["core", "rules", "assets", "dify", "deploy"]
        .iter()
        .map(|c| Path::new(ROOT).join("constructs").join(c).join("src"))
        .collect();
    for app in fs::read_dir(Path::new(ROOT).join("apps")).expect("apps/") {
        dirs.push(app.expect("an app").path().join("src"));
    }
    let mut files = Vec::new();
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for e in entries {
            let path = e.expect("a directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(files.len() > 50, "found only {} source files", files.len());
    files
}

fn parse(path: &Path) -> syn::File {
    let text = fs::read_to_string(path).expect("readable source");
    syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn ty(t: &syn::Type) -> String {
    t.to_token_stream().to_string().replace(' ', "")
}

/// What a literal or a careless swap can pass for the type: `string`, `integer`, `float`,
/// `bool`, or the type itself without references and lifetimes.
fn family(t: &str) -> String {
    let bare = t
        .trim_start_matches('&')
        .trim_start_matches("'_")
        .trim_start_matches("'a")
        .trim_start_matches("mut")
        .to_owned();
    match bare.as_str() {
        "str" | "String" | "implInto<String>" | "implAsRef<str>" | "&str" => "string".into(),
        "u8" | "u16" | "u32" | "u64" | "usize" | "i8" | "i16" | "i32" | "i64" | "isize" => {
            "integer".into()
        }
        "f32" | "f64" => "float".into(),
        "bool" => "bool".into(),
        _ => bare,
    }
}

fn is_primitive(family: &str) -> bool {
    matches!(family, "string" | "integer" | "float" | "bool")
}

/// A public function's name, where it is, and its parameter types (receiver left out).
struct Signature {
    name: String,
    at: String,
    params: Vec<String>,
}

#[derive(Default)]
struct Collect {
    file: String,
    out: Vec<Signature>,
}

impl Collect {
    fn push(&mut self, vis: &syn::Visibility, sig: &syn::Signature) {
        if !matches!(vis, syn::Visibility::Public(_)) {
            return;
        }
        let params = sig
            .inputs
            .iter()
            .filter_map(|a| match a {
                syn::FnArg::Typed(p) => Some(ty(&p.ty)),
                syn::FnArg::Receiver(_) => None,
            })
            .collect();
        self.out.push(Signature {
            name: sig.ident.to_string(),
            at: format!("{}: fn {}", self.file, sig.ident),
            params,
        });
    }
}

impl<'ast> Visit<'ast> for Collect {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.push(&f.vis, &f.sig);
    }
    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.push(&f.vis, &f.sig);
    }
}

fn signatures() -> Vec<Signature> {
    let mut all = Vec::new();
    for path in sources() {
        let mut c = Collect {
            file: path
                .strip_prefix(ROOT)
                .unwrap_or(&path)
                .display()
                .to_string(),
            ..Collect::default()
        };
        c.visit_file(&parse(&path));
        all.extend(c.out);
    }
    all
}

/// Why a signature breaks the rules above, if it does.
fn violation(s: &Signature) -> Option<String> {
    let families: Vec<String> = s.params.iter().map(|p| family(p)).collect();
    let takes_scope = s.params.iter().any(|p| p.contains("Scope<"));
    if takes_scope {
        // (scope, id, props), or a method's (scope, one value): `encrypt_with(scope, key)`.
        let shape_ok = s.params.first().is_some_and(|p| p.contains("Scope<"))
            && match s.params.len() {
                1 | 2 => true,
                3 => s.params[1] == "&str",
                _ => false,
            };
        if !shape_ok {
            return Some(format!(
                "adds to a scope but is not (scope, id, props): {:?}",
                s.params
            ));
        }
        if families.iter().skip(2).any(|f| f == "bool") {
            return Some("a bare bool after (scope, id)".into());
        }
        return None;
    }
    if s.name != "new" || s.params.len() <= 1 {
        return (s.name == "new" && families.iter().any(|f| f == "bool"))
            .then(|| "a constructor taking a bare bool".into());
    }
    for (i, f) in families.iter().enumerate() {
        if is_primitive(f) {
            return Some(format!(
                "a constructor taking {} values, one a {f}",
                s.params.len()
            ));
        }
        if families[..i].contains(f) {
            return Some(format!("a constructor taking two values of type {f}"));
        }
    }
    None
}

#[test]
fn constructs_take_scope_id_props_and_constructors_take_no_swappable_values() {
    let all = signatures();
    assert!(
        all.iter()
            .filter(|s| s.params.iter().any(|p| p.contains("Scope<")))
            .count()
            >= 15,
        "the scan found too few constructs to mean anything"
    );
    let bad: Vec<String> = all
        .iter()
        .filter_map(|s| violation(s).map(|why| format!("{}: {why}", s.at)))
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn the_rules_catch_what_they_are_for() {
    let sig = |name: &str, params: &[&str]| Signature {
        name: name.into(),
        at: "t".into(),
        params: params.iter().map(|p| p.replace(' ', "")).collect(),
    };
    let refused = [
        sig(
            "new",
            &["&mut Scope<'_>", "&str", "&Database", "&DifyNetwork"],
        ),
        sig("new", &["implInto<String>", "implInto<String>"]),
        sig("new", &["u32", "u16"]),
        sig("new", &["bool"]),
        sig("new", &["&SecurityGroupHandle", "&SecurityGroupHandle"]),
        sig(
            "allow",
            &["&mut Scope<'_>", "&str", "&SecurityGroupHandle", "u16"],
        ),
        sig("storage", &["&mut Scope<'_>", "&str", "bool"]),
    ];
    for s in &refused {
        assert!(violation(s).is_some(), "{:?} passed", s.params);
    }
    let accepted = [
        sig("new", &["&mut Scope<'_>", "&str", "DifyDatabaseProps<'_>"]),
        sig("new", &["Value<VpcId>", "Vec<Value<SubnetId>>"]),
        sig("new", &["implInto<String>"]),
        sig("encrypt_with", &["&mut Scope<'_>", "&Value<KmsKeyArn>"]),
        sig("count_only", &["bool", "bool"]),
    ];
    for s in &accepted {
        assert_eq!(violation(s), None, "{:?}", s.params);
    }
}

/// Every `crate::config…` path in a file, comments and doc links aside.
#[derive(Default)]
struct ConfigPaths(Vec<String>);

impl<'ast> Visit<'ast> for ConfigPaths {
    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segs: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        if segs.len() >= 2 && segs[0] == "crate" && segs[1] == "config" {
            self.0.push(segs.join("::"));
        }
        syn::visit::visit_path(self, p);
    }
    fn visit_use_tree(&mut self, t: &'ast syn::UseTree) {
        if let syn::UseTree::Path(p) = t
            && p.ident == "crate"
            && let syn::UseTree::Path(q) = &*p.tree
            && q.ident == "config"
        {
            self.0.push("crate::config".into());
        }
        syn::visit::visit_use_tree(self, t);
    }
}

#[test]
fn the_dify_constructs_do_not_read_the_environment_file_model() {
    let src = Path::new(ROOT).join("constructs/dify/src");
    let allowed = ["lib.rs", "prelude.rs", "stack.rs"];
    let mut readers = Vec::new();
    let mut scanned = 0;
    for e in fs::read_dir(&src).expect("constructs/dify/src") {
        let path = e.expect("an entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_owned();
        if path.is_dir() || allowed.contains(&name.as_str()) {
            continue;
        }
        scanned += 1;
        let mut v = ConfigPaths::default();
        v.visit_file(&parse(&path));
        if !v.0.is_empty() {
            readers.push(format!("{name}: {}", v.0.join(", ")));
        }
    }
    assert!(scanned >= 15, "scanned only {scanned} construct files");
    assert!(
        readers.is_empty(),
        "constructs reading crate::config:\n{}",
        readers.join("\n")
    );
}
