//! Problems in the `required_workers` graph, found before any scan.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::PluginError;

/// Missing required workers and cycles in `graph` (plugin → its required workers). A required
/// worker that is not a key of `graph` is missing.
pub fn problems(graph: &BTreeMap<String, Vec<String>>) -> Vec<PluginError> {
    let mut out = Vec::new();
    for (name, deps) in graph {
        for dep in deps {
            if !graph.contains_key(dep) {
                out.push(PluginError::MissingRequiredWorker {
                    name: name.clone(),
                    required: dep.clone(),
                });
            }
        }
    }
    let mut cycles: BTreeSet<Vec<String>> = BTreeSet::new();
    for start in graph.keys() {
        let mut path = Vec::new();
        find_cycles(graph, start, &mut path, &mut cycles);
    }
    for cycle in cycles {
        let mut shown = cycle.clone();
        shown.push(cycle[0].clone());
        out.push(PluginError::CircularRequiredWorkers {
            name: cycle[0].clone(),
            cycle: shown,
        });
    }
    out
}

/// Depth-first search from `node`; records each cycle once, rotated to start at its smallest
/// name.
fn find_cycles(
    graph: &BTreeMap<String, Vec<String>>,
    node: &str,
    path: &mut Vec<String>,
    cycles: &mut BTreeSet<Vec<String>>,
) {
    if let Some(at) = path.iter().position(|p| p == node) {
        let mut cycle = path[at..].to_vec();
        let min = cycle
            .iter()
            .enumerate()
            .min_by_key(|(_, n)| *n)
            .map_or(0, |(i, _)| i);
        cycle.rotate_left(min);
        cycles.insert(cycle);
        return;
    }
    // Paths longer than the graph cannot add new cycles.
    if path.len() > graph.len() {
        return;
    }
    path.push(node.to_owned());
    for dep in graph.get(node).into_iter().flatten() {
        find_cycles(graph, dep, path, cycles);
    }
    path.pop();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        edges
            .iter()
            .map(|(n, d)| ((*n).to_owned(), d.iter().map(|s| (*s).to_owned()).collect()))
            .collect()
    }

    #[test]
    fn finds_missing_workers_and_each_cycle_once() {
        let g = graph(&[
            ("a", &["b"]),
            ("b", &["c"]),
            ("c", &["a"]),
            ("d", &["zz", "d"]),
        ]);
        let found: Vec<String> = problems(&g).iter().map(ToString::to_string).collect();
        assert_eq!(
            found,
            [
                "plugin `d`: required worker `zz` is not a loaded plugin",
                "plugin `a`: circular required workers: a -> b -> c -> a",
                "plugin `d`: circular required workers: d -> d",
            ]
        );
        assert!(problems(&graph(&[("a", &["b"]), ("b", &[])])).is_empty());
    }
}
