//! The modules of each library crate (cfn-core, cfn-rules, the Dify constructs, cfn-deploy) form layers: no module reaches, through `crate::` paths, a module
//! that reaches back to it. A cycle lets a change anywhere on it ripple through all of it and
//! hides which part is the foundation; this test keeps the graph a DAG as the crate grows.
//!
//! The graph is read from the sources: every `crate::name` (also inside `use crate::{…}` groups)
//! in `src/<module>.rs` or below `src/<module>/` is an edge from `<module>` to `name`, where a
//! name re-exported by `lib.rs` (`crate::Stack`) counts as the module it comes from. Comments and
//! string literals are skipped, so an intra-doc link is not a dependency.
#![allow(missing_docs, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Ident(String),
    /// `::`
    Sep,
    Punct(char),
}

/// Rust tokens, as much as this test needs: identifiers, `::` and single punctuation; comments,
/// strings, chars and lifetimes' quotes are dropped.
fn tokens(src: &str) -> Vec<Tok> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == '"' {
            i = skip_string(&chars, i + 1);
        } else if (c == 'r' || c == 'b')
            && let Some(end) = raw_or_byte_string(&chars, i)
        {
            i = end;
        } else if c == '\'' {
            if at(i + 1) == '\\' {
                // An escaped char literal: up to the closing quote.
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                // A lifetime: its name follows as an identifier.
                i += 1;
            }
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(chars[start..i].iter().collect()));
        } else if c == ':' && at(i + 1) == ':' {
            out.push(Tok::Sep);
            i += 2;
        } else {
            out.push(Tok::Punct(c));
            i += 1;
        }
    }
    out
}

/// Past the closing quote of a string whose body starts at `i`.
fn skip_string(chars: &[char], mut i: usize) -> usize {
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    i
}

/// Past a raw (`r#"…"#`) or byte (`b"…"`, `br"…"`) string starting at `i`, if one does.
fn raw_or_byte_string(chars: &[char], i: usize) -> Option<usize> {
    let mut j = i;
    if chars.get(j) == Some(&'b') {
        j += 1;
        if chars.get(j) == Some(&'"') {
            return Some(skip_string(chars, j + 1));
        }
    }
    if chars.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let hashes = chars[j..].iter().take_while(|c| **c == '#').count();
    j += hashes;
    if chars.get(j) != Some(&'"') {
        return None;
    }
    j += 1;
    while j < chars.len() {
        if chars[j] == '"'
            && chars[j + 1..]
                .iter()
                .take(hashes)
                .filter(|c| **c == '#')
                .count()
                == hashes
        {
            return Some(j + 1 + hashes);
        }
        j += 1;
    }
    Some(j)
}

/// The first name of every path that starts with `crate::`: `crate::stack::Stack` gives `stack`,
/// `crate::{value::Json, Stack}` gives `value` and `Stack`.
fn crate_names(toks: &[Tok]) -> Vec<String> {
    let mut names = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        if *t != Tok::Ident("crate".into()) || toks.get(i + 1) != Some(&Tok::Sep) {
            continue;
        }
        match toks.get(i + 2) {
            Some(Tok::Ident(name)) => names.push(name.clone()),
            Some(Tok::Punct('{')) => names.extend(group_heads(&toks[i + 3..])),
            _ => {}
        }
    }
    names
}

/// The first identifier of each comma-separated item of a `{…}` group, up to its closing brace.
fn group_heads(toks: &[Tok]) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut expect_head = true;
    for t in toks {
        match t {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') if depth == 0 => break,
            Tok::Punct('}') => depth -= 1,
            Tok::Punct(',') if depth == 0 => expect_head = true,
            Tok::Ident(name) if depth == 0 && expect_head => {
                heads.push(name.clone());
                expect_head = false;
            }
            _ => {}
        }
    }
    heads
}

/// Names `lib.rs` re-exports, with the module each comes from (`Stack` → `stack`).
fn root_reexports(lib: &str) -> BTreeMap<String, String> {
    let toks = tokens(lib);
    let mut map = BTreeMap::new();
    for w in 0..toks.len() {
        let is_pub_use = toks[w] == Tok::Ident("pub".into())
            && toks.get(w + 1) == Some(&Tok::Ident("use".into()));
        let (Some(Tok::Ident(module)), Some(Tok::Sep)) = (toks.get(w + 2), toks.get(w + 3)) else {
            continue;
        };
        if !is_pub_use {
            continue;
        }
        match toks.get(w + 4) {
            Some(Tok::Punct('{')) => {
                for name in group_heads(&toks[w + 5..]) {
                    map.insert(name, module.clone());
                }
            }
            Some(Tok::Ident(name)) => {
                map.insert(name.clone(), module.clone());
            }
            _ => {}
        }
    }
    map
}

/// Module → the other modules it names.
type Graph = BTreeMap<String, BTreeSet<String>>;

/// The graph of modules given as name → source text, with the crate root's re-exports.
fn graph(modules: &BTreeMap<String, String>, reexports: &BTreeMap<String, String>) -> Graph {
    modules
        .iter()
        .map(|(module, src)| {
            let deps = crate_names(&tokens(src))
                .into_iter()
                .filter_map(|name| {
                    if modules.contains_key(&name) {
                        Some(name)
                    } else {
                        reexports.get(&name).cloned()
                    }
                })
                .filter(|dep| dep != module)
                .collect();
            (module.clone(), deps)
        })
        .collect()
}

/// A cycle, as the modules on it with the first repeated at the end, if the graph has one.
fn find_cycle(g: &Graph) -> Option<Vec<String>> {
    fn visit(
        g: &Graph,
        m: &str,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == m) {
            let mut cycle = path[at..].to_vec();
            cycle.push(m.to_owned());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_owned());
        for dep in g.get(m).into_iter().flatten() {
            if let Some(c) = visit(g, dep, done, path) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    g.keys()
        .find_map(|m| visit(g, m, &mut done, &mut Vec::new()))
}

/// Every `.rs` file below `dir`, concatenated.
fn read_tree(dir: &Path) -> String {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    let mut text = String::new();
    for p in entries {
        if p.is_dir() {
            text.push_str(&read_tree(&p));
        } else if p.extension().is_some_and(|e| e == "rs") {
            text.push_str(&fs::read_to_string(&p).unwrap());
            text.push('\n');
        }
    }
    text
}

/// A crate's top-level modules (`src/x.rs` or `src/x/`), each with all of its source, and its
/// `lib.rs`. `krate` is its directory below `constructs/`.
fn crate_modules(krate: &str) -> (BTreeMap<String, String>, String) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../constructs")
        .join(krate)
        .join("src");
    let mut modules: BTreeMap<String, String> = BTreeMap::new();
    for entry in fs::read_dir(&src).unwrap() {
        let p = entry.unwrap().path();
        let Some(stem) = p.file_stem().and_then(|s| s.to_str()).map(str::to_owned) else {
            continue;
        };
        // `x.rs` with a `x/` directory of submodules is one module too.
        if p.is_dir() {
            modules.entry(stem).or_default().push_str(&read_tree(&p));
        } else if p.extension().is_some_and(|e| e == "rs") && stem != "lib" {
            modules
                .entry(stem)
                .or_default()
                .push_str(&fs::read_to_string(&p).unwrap());
        }
    }
    let lib = fs::read_to_string(src.join("lib.rs")).unwrap();
    (modules, lib)
}

/// The modules of each hand-written library crate form layers.
#[test]
fn library_modules_form_no_cycle() {
    for krate in ["core", "rules", "dify", "deploy"] {
        let (modules, lib) = crate_modules(krate);
        let g = graph(&modules, &root_reexports(&lib));
        assert!(g.len() > 3, "{krate}: too few modules found: {g:?}");
        if let Some(cycle) = find_cycle(&g) {
            let edges: Vec<String> = g
                .iter()
                .map(|(m, deps)| {
                    format!(
                        "  {m} -> {}",
                        deps.iter().cloned().collect::<Vec<_>>().join(", ")
                    )
                })
                .collect();
            panic!(
                "{krate}'s modules import each other in a cycle: {}\nthe graph:\n{}",
                cycle.join(" -> "),
                edges.join("\n")
            );
        }
    }
}

#[test]
fn the_checker_sees_paths_groups_and_reexports_but_not_comments() {
    let lib = "pub mod a;\npub use a::{Alpha, Beta};\npub use b::Gamma;\n";
    let modules: BTreeMap<String, String> = [
        (
            "a",
            "use crate::{b::x, c};\n// crate::d is only a comment\nconst S: &str = \"crate::d\";",
        ),
        ("b", "fn f(_: crate::Alpha) {}"),
        (
            "c",
            "fn g<'a>(x: &'a str) -> char { let _ = '\"'; 'x' }\nuse crate::Gamma;",
        ),
        ("d", ""),
    ]
    .into_iter()
    .map(|(m, s)| (m.to_owned(), s.to_owned()))
    .collect();
    let g = graph(&modules, &root_reexports(lib));
    let deps = |m: &str| g[m].iter().cloned().collect::<Vec<_>>();
    assert_eq!(deps("a"), ["b", "c"]);
    assert_eq!(deps("b"), ["a"]);
    assert_eq!(deps("c"), ["b"]);
    assert!(deps("d").is_empty());
    assert_eq!(
        find_cycle(&g),
        Some(vec!["a".to_owned(), "b".to_owned(), "a".to_owned()])
    );
}
