//! The core's modules form layers (docs/ARCHITECTURE.md, "Layers"): no two
//! modules import each other, however indirectly, and the bottom layers
//! import nothing above them. Read from the source: every `crate::` path and
//! every `super::` path naming a sibling module, outside test modules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path (`interp::flow`) -> its file.
fn modules(dir: &Path, prefix: &[String], out: &mut BTreeMap<String, PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        if path.is_dir() {
            let mut inner = prefix.to_vec();
            inner.push(name);
            modules(&path, &inner, out);
        } else if path.extension().is_some_and(|e| e == "rs") && name != "tests" {
            let mut parts = prefix.to_vec();
            if name != "mod" && name != "lib" {
                parts.push(name);
            }
            out.insert(parts.join("::"), path);
        }
    }
}

/// The paths a file names: `crate::a::b`, and `super::x` resolved against `module`.
fn named_paths(source: &str, module: &str) -> BTreeSet<String> {
    let source = source.split("#[cfg(test)]").next().unwrap();
    let parent: Vec<&str> = module.split("::").filter(|p| !p.is_empty()).collect();
    let parent = parent[..parent.len().saturating_sub(1)].join("::");
    let mut paths = BTreeSet::new();
    for (marker, base) in [("crate::", String::new()), ("super::", parent)] {
        for (at, _) in source.match_indices(marker) {
            let before = source[..at].chars().last();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let rest = &source[at + marker.len()..];
            let mut path = base.clone();
            // Either a path (a::b::C) or a group ({a::b, c}): take each head.
            let heads: Vec<String> = if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(0);
                group[..end].split(',').map(|s| s.trim().to_owned()).collect()
            } else {
                vec![rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect()]
            };
            for head in heads {
                let mut full = path.clone();
                for part in head.split("::").filter(|p| !p.is_empty() && p.chars().next().unwrap().is_lowercase()) {
                    if !full.is_empty() {
                        full.push_str("::");
                    }
                    full.push_str(part);
                }
                paths.insert(full);
            }
            path.clear();
        }
    }
    paths
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = BTreeMap::new();
    modules(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &[], &mut files);
    let mut graph = BTreeMap::new();
    for (module, file) in &files {
        let source = std::fs::read_to_string(file).unwrap();
        let mut deps = BTreeSet::new();
        for path in named_paths(&source, module) {
            // The longest module the path names.
            let parts: Vec<&str> = path.split("::").collect();
            let target = (1..=parts.len()).rev().map(|n| parts[..n].join("::")).find(|m| files.contains_key(m));
            if let Some(target) = target
                && &target != module
                && !module.starts_with(&format!("{target}::"))
                && !target.starts_with(&format!("{module}::"))
            {
                deps.insert(target);
            }
        }
        graph.insert(module.clone(), deps);
    }
    graph
}

/// A cycle through `start`, if there is one.
fn cycle_from(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    let mut stack = vec![(start.to_owned(), vec![start.to_owned()])];
    let mut seen = BTreeSet::new();
    while let Some((at, path)) = stack.pop() {
        for next in graph.get(&at).into_iter().flatten() {
            if next == start {
                return Some(path.clone());
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push((next.clone(), longer));
            }
        }
    }
    None
}

#[test]
fn no_module_imports_itself_through_others() {
    let graph = graph();
    assert!(graph.len() > 40, "read {} modules", graph.len());
    assert!(graph["interp::shot"].contains("interp::cuts"), "the reader sees imports: {:?}", graph["interp::shot"]);
    for module in graph.keys() {
        if let Some(cycle) = cycle_from(&graph, module) {
            panic!("an import cycle: {} -> {module}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_bottom_layers_import_nothing_above_them() {
    let graph = graph();
    let above = ["media", "pixels", "interp", "composite", "consistency", "generate", "shot", "pipeline"];
    for bottom in ["runtime", "logging", "frame", "error", "rational", "staged", "files", "base64", "markup"] {
        for dep in &graph[bottom] {
            assert!(!above.iter().any(|a| dep == a || dep.starts_with(&format!("{a}::"))), "{bottom} imports {dep}");
        }
    }
    for dep in graph.iter().filter(|(m, _)| m.starts_with("pixels")).flat_map(|(_, d)| d) {
        assert!(!above[2..].iter().any(|a| dep.starts_with(a)), "pixels imports {dep}");
    }
}
