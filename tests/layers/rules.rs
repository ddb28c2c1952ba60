//! The two rules, checked on a crate's module tree:
//!
//! 1. ranked layers: a file imports only its own top-level module or lower-ranked ones; the
//!    top rank (the entry points) may import anything; layers kept apart import each other not
//!    at all, whatever their ranks;
//! 2. no circles among siblings: in each module, the child modules that are files of their own
//!    (`x.rs`, or `x/` with its subtree) import each other in no circle. The parent's own file
//!    (`mod.rs`, `lib.rs`, `foo.rs` for `foo/`) is not one of them: it declares and re-exports.
//!
//! Each violation is one text naming the file, the line and the import.

use std::collections::{BTreeMap, BTreeSet};

use super::modules::{CrateTree, Import, ModPath};
use super::source::{PathRef, RefKind};

/// What a check found.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    /// Imports of the crate's own modules that were checked (other crates' are not).
    pub(crate) imports_checked: usize,
    pub(crate) violations: Vec<String>,
}

/// The rank key of the crate root's files and items.
const ROOT: &str = "lib.rs";

/// Checks both rules on `tree`; `ranks` gives each top-level module (and `lib.rs`, `main.rs`)
/// its rank, higher above lower; `apart` names pairs of layers that never import each other.
pub(crate) fn check(tree: &CrateTree, ranks: &[(&str, u32)], apart: &[(&str, &str)]) -> Findings {
    let mut findings = Findings::default();
    findings
        .violations
        .extend(tree.problems.iter().map(|p| format!("cannot check: {p}")));
    let resolved: Vec<(&Import, ModPath)> = tree
        .imports
        .iter()
        .filter_map(|import| Some((import, tree.target(import)?)))
        .collect();
    findings.imports_checked = resolved.len();
    findings
        .violations
        .extend(ranked_layers(&resolved, ranks, apart));
    findings.violations.extend(sibling_circles(tree, &resolved));
    findings
}

/// The layer a module belongs to: its top-level module, or the root file for the crate root.
fn layer_of(module: &[String], file: &str) -> String {
    match module.first() {
        Some(top) => top.clone(),
        None => file.rsplit('/').next().unwrap_or(ROOT).to_string(),
    }
}

fn ranked_layers(
    resolved: &[(&Import, ModPath)],
    ranks: &[(&str, u32)],
    apart: &[(&str, &str)],
) -> Vec<String> {
    let kept_apart = |a: &str, b: &str| {
        apart
            .iter()
            .any(|&(x, y)| (x == a && y == b) || (x == b && y == a))
    };
    let rank = |layer: &str| {
        ranks
            .iter()
            .find(|(name, _)| *name == layer)
            .map(|&(_, r)| r)
    };
    let top = ranks.iter().map(|&(_, r)| r).max().unwrap_or(0);
    // (file, line, from, to) → the imports on that line, so a grouped `use` is one finding.
    let mut upward: BTreeMap<(&str, usize, String, String), Vec<&Import>> = BTreeMap::new();
    let mut unranked = BTreeMap::new();
    for (import, target) in resolved {
        let from = layer_of(&import.from, &import.file);
        let to = match target.first() {
            Some(top) => top.clone(),
            None => ROOT.to_string(),
        };
        if from == to {
            continue;
        }
        match (rank(&from), rank(&to)) {
            (Some(_), Some(_)) if kept_apart(&from, &to) => upward
                .entry((&import.file, import.path.line, from, to))
                .or_default()
                .push(import),
            // The entry points, at the top rank, may import anything.
            (Some(from_rank), Some(to_rank)) if from_rank == top || to_rank < from_rank => {}
            (Some(_), Some(_)) => upward
                .entry((&import.file, import.path.line, from, to))
                .or_default()
                .push(import),
            _ => {
                for layer in [from, to] {
                    if rank(&layer).is_none() {
                        unranked.entry(layer).or_insert_with(|| import.file.clone());
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    for ((file, line, from, to), imports) in upward {
        let (from_rank, to_rank) = (rank(&from).unwrap_or(0), rank(&to).unwrap_or(0));
        let why = if kept_apart(&from, &to) {
            format!("{from} and {to} are kept apart; neither imports the other")
        } else if to_rank > from_rank {
            format!("{from} (rank {from_rank}) imports {to} (rank {to_rank}), a layer above it")
        } else {
            format!(
                "{from} and {to} share rank {from_rank}; modules of one rank import each other not at all"
            )
        };
        out.push(format!(
            "rule 1 (ranked layers): {file}:{line}: {}: {why}",
            describe(&imports)
        ));
    }
    for (layer, file) in unranked {
        out.push(format!(
            "rule 1 (ranked layers): `{layer}` (seen from {file}) has no rank in the layer table"
        ));
    }
    out
}

/// The imports of one line as they read there: `` `use a::b::{C, D}` `` for leaves of one tree.
fn describe(imports: &[&Import]) -> String {
    let paths: Vec<&PathRef> = imports.iter().map(|i| &i.path).collect();
    let all_uses = paths.iter().all(|p| matches!(p.kind, RefKind::Use { .. }));
    // The segments every path of the line starts with, leaving each at least its last one.
    let shortest = paths.iter().map(|p| p.segments.len()).min().unwrap_or(0);
    let common = (0..shortest.saturating_sub(1))
        .take_while(|&i| paths.iter().all(|p| p.segments[i] == paths[0].segments[i]))
        .count();
    if paths.len() == 1 || !all_uses || common == 0 {
        let texts: Vec<String> = paths.iter().map(|p| format!("`{}`", p.text())).collect();
        return texts.join(", ");
    }
    let leaves: Vec<String> = paths
        .iter()
        .map(|p| {
            let rest = p.segments[common..].join("::");
            match p.alias() {
                Some(alias) => format!("{rest} as {alias}"),
                None => rest,
            }
        })
        .collect();
    let prefix = paths[0].segments[..common].join("::").replace("::::", "::");
    format!("`use {prefix}::{{{}}}`", leaves.join(", "))
}

/// The import edges between two children of one module, with the imports that make each.
type Edges<'a> = BTreeMap<(String, String), Vec<&'a Import>>;

fn sibling_circles(tree: &CrateTree, resolved: &[(&Import, ModPath)]) -> Vec<String> {
    let mut by_parent: BTreeMap<ModPath, Edges> = BTreeMap::new();
    for (import, target) in resolved {
        let from = &import.from;
        let common = from
            .iter()
            .zip(target.iter())
            .take_while(|(a, b)| a == b)
            .count();
        let (Some(a), Some(b)) = (from.get(common), target.get(common)) else {
            continue; // the parent's own file, or an import of the parent
        };
        let parent = from[..common].to_vec();
        let Some(module) = tree.modules.get(&parent) else {
            continue;
        };
        if module.file_children.contains(a) && module.file_children.contains(b) {
            by_parent
                .entry(parent)
                .or_default()
                .entry((a.clone(), b.clone()))
                .or_default()
                .push(import);
        }
    }
    let mut out = Vec::new();
    for (parent, edges) in &by_parent {
        for component in circles(edges) {
            let shown = if parent.is_empty() {
                "the crate root".to_string()
            } else {
                format!("crate::{}", parent.join("::"))
            };
            let dir = tree
                .modules
                .get(parent)
                .map_or(String::new(), |m| m.dir_shown.clone());
            let names: Vec<&str> = component.iter().map(String::as_str).collect();
            let mut text = format!(
                "rule 2 (no circles among siblings): in {dir} ({shown}), {} import each other in a circle:",
                names.join(", ")
            );
            for ((a, b), imports) in edges {
                if !(component.contains(a) && component.contains(b)) {
                    continue;
                }
                let mut by_line: BTreeMap<(&str, usize), Vec<&Import>> = BTreeMap::new();
                for import in imports {
                    by_line
                        .entry((&import.file, import.path.line))
                        .or_default()
                        .push(import);
                }
                for ((file, line), imports) in by_line {
                    text.push_str(&format!(
                        "\n    {a} -> {b}: {file}:{line}: {}",
                        describe(&imports)
                    ));
                }
            }
            out.push(text);
        }
    }
    out
}

/// The strongly connected components of more than one node (Tarjan's algorithm).
pub(crate) fn circles(edges: &Edges) -> Vec<BTreeSet<String>> {
    let mut graph: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (a, b) in edges.keys() {
        graph.entry(a).or_default().push(b);
        graph.entry(b).or_default();
    }
    let mut tarjan = Tarjan {
        graph: &graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for node in graph.keys() {
        if !tarjan.index.contains_key(node) {
            tarjan.visit(node);
        }
    }
    tarjan.found
}

struct Tarjan<'g> {
    graph: &'g BTreeMap<&'g str, Vec<&'g str>>,
    index: BTreeMap<&'g str, usize>,
    low: BTreeMap<&'g str, usize>,
    stack: Vec<&'g str>,
    on_stack: BTreeSet<&'g str>,
    found: Vec<BTreeSet<String>>,
}

impl<'g> Tarjan<'g> {
    fn visit(&mut self, node: &'g str) {
        let index = self.index.len();
        self.index.insert(node, index);
        self.low.insert(node, index);
        self.stack.push(node);
        self.on_stack.insert(node);
        for &next in self.graph.get(node).into_iter().flatten() {
            if !self.index.contains_key(next) {
                self.visit(next);
                let low = self.low[node].min(self.low[next]);
                self.low.insert(node, low);
            } else if self.on_stack.contains(next) {
                let low = self.low[node].min(self.index[next]);
                self.low.insert(node, low);
            }
        }
        if self.low[node] == index {
            let mut component = BTreeSet::new();
            while let Some(member) = self.stack.pop() {
                self.on_stack.remove(member);
                component.insert(member.to_string());
                if member == node {
                    break;
                }
            }
            if component.len() > 1 {
                self.found.push(component);
            }
        }
    }
}
