//! The folders of `src/` are layers and imports point down (`docs/architecture.md`):
//! every `crate::` path in a layer's files must name that layer or one below it. Root
//! re-exports (`crate::Chain`, `crate::Vote`) count as the layer they come from.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The layers bottom up, and what each may import besides itself.
const LAYERS: &[(&str, &[&str])] = &[
    ("engine", &[]),
    ("api", &["engine"]),
    ("node", &["engine", "api"]),
    ("util", &[]),
    ("wire", &["node"]),
    ("sim", &["engine", "api", "node", "util"]),
    ("bridge", &["engine", "api", "node", "util", "sim", "wire"]),
    ("experiment", &["engine", "api", "node", "util", "sim"]),
    (
        "plot",
        &["engine", "api", "node", "util", "sim", "experiment"],
    ),
    (
        "analysis",
        &["engine", "api", "node", "util", "sim", "experiment", "plot"],
    ),
    (
        "cli",
        &[
            "analysis",
            "engine",
            "api",
            "node",
            "util",
            "wire",
            "sim",
            "bridge",
            "experiment",
            "plot",
        ],
    ),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Root names re-exported by `lib.rs` (`pub use api::{Block, ...}`), with their layer.
fn root_exports() -> BTreeMap<String, String> {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let mut map = BTreeMap::new();
    let mut rest = lib.as_str();
    while let Some(at) = rest.find("pub use ") {
        rest = &rest[at + 8..];
        let end = rest.find(';').unwrap();
        let stmt = &rest[..end];
        let (layer, names) = stmt.split_once("::").unwrap();
        let layer = layer.trim().to_string();
        let names = names.trim().trim_start_matches('{').trim_end_matches('}');
        for n in names.split(',') {
            let n = n.trim();
            let n = n.rsplit("::").next().unwrap().trim();
            if !n.is_empty() {
                map.insert(n.to_string(), layer.clone());
            }
        }
        rest = &rest[end..];
    }
    map
}

/// The first segment of every `crate::` path in `text` (names inside `crate::{...}` each).
fn crate_paths(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + 7..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for n in group[..end].split(',') {
                let seg = n.trim().split("::").next().unwrap_or("").trim();
                if !seg.is_empty() {
                    out.push(seg.to_string());
                }
            }
        } else {
            let seg: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !seg.is_empty() {
                out.push(seg);
            }
        }
    }
    out
}

#[test]
fn imports_point_down_the_layers() {
    let exports = root_exports();
    let mut problems = Vec::new();
    for &(layer, below) in LAYERS {
        let mut list = Vec::new();
        let single = src().join(format!("{layer}.rs"));
        if single.exists() {
            list.push(single);
        } else {
            files(&src().join(layer), &mut list);
        }
        assert!(!list.is_empty(), "no files in layer {layer}");
        for f in list {
            let text = std::fs::read_to_string(&f).unwrap();
            for seg in crate_paths(&text) {
                let target = match exports.get(&seg) {
                    Some(l) => l.clone(),
                    None => seg.clone(),
                };
                let known = LAYERS.iter().any(|(l, _)| *l == target);
                if !known {
                    problems.push(format!("{}: crate::{seg} is no layer", f.display()));
                } else if target != layer && !below.contains(&target.as_str()) {
                    problems.push(format!(
                        "{}: layer {layer} imports crate::{seg} (layer {target})",
                        f.display()
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_checker_reads_paths() {
    let text = "use crate::{Chain, ConsensusParams};\nuse crate::sim::x::Y;\n// crate::node";
    assert_eq!(
        crate_paths(text),
        ["Chain", "ConsensusParams", "sim", "node"]
    );
    let exports = root_exports();
    assert_eq!(exports.get("Chain").map(String::as_str), Some("engine"));
    assert_eq!(exports.get("Vote").map(String::as_str), Some("api"));
}
