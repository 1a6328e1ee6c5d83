//! Dependency cycles between resources.

use std::collections::{HashMap, HashSet};

/// Strongly connected components with more than one member, or a self-loop (Tarjan), each
/// sorted, in a stable order.
pub(super) fn cycles(edges: &HashMap<&str, Vec<String>>) -> Vec<Vec<String>> {
    let mut keys: Vec<&str> = edges.keys().copied().collect();
    keys.sort_unstable();
    let mut t = Tarjan {
        edges,
        index: HashMap::new(),
        low: HashMap::new(),
        on_stack: HashSet::new(),
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for k in keys {
        if !t.index.contains_key(k) {
            t.visit(k);
        }
    }
    t.out.sort();
    t.out
}

/// The state of Tarjan's walk over the dependency graph.
struct Tarjan<'a> {
    edges: &'a HashMap<&'a str, Vec<String>>,
    index: HashMap<&'a str, usize>,
    low: HashMap<&'a str, usize>,
    on_stack: HashSet<&'a str>,
    stack: Vec<&'a str>,
    next: usize,
    out: Vec<Vec<String>>,
}

impl<'a> Tarjan<'a> {
    /// Numbers `v` and what it reaches, closing every component whose root is `v`.
    fn visit(&mut self, v: &'a str) {
        self.index.insert(v, self.next);
        self.low.insert(v, self.next);
        self.next += 1;
        self.stack.push(v);
        self.on_stack.insert(v);
        let succ: Vec<&'a str> = self
            .edges
            .get(v)
            .map(|s| s.iter().map(String::as_str).collect())
            .unwrap_or_default();
        for w in succ {
            let Some((&w, _)) = self.edges.get_key_value(w) else {
                continue;
            };
            if !self.index.contains_key(w) {
                self.visit(w);
                let lw = self.low[w];
                let lv = self.low[v];
                self.low.insert(v, lv.min(lw));
            } else if self.on_stack.contains(w) {
                let iw = self.index[w];
                let lv = self.low[v];
                self.low.insert(v, lv.min(iw));
            }
        }
        if self.low[v] == self.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = self.stack.pop() {
                self.on_stack.remove(w);
                comp.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            let self_loop = self.edges.get(v).is_some_and(|s| s.iter().any(|x| x == v));
            if comp.len() > 1 || self_loop {
                comp.sort();
                self.out.push(comp);
            }
        }
    }
}
