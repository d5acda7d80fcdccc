//! Locating keys in a YAML node file (the analogue of `util::toml_span::Tree` for TOML):
//! every value's line and column from a span-aware parse (`serde_saphyr::Spanned`), found by
//! the dotted path the checks of `config_check.rs` name (`NodeFile` paths such as
//! `params.k` or `peers.2.address`), translated to where the YAML layout puts that key
//! (`consensus.params.k`, `network.peers.2.address`).

use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_saphyr::Spanned;

/// Where each `NodeFile` key lives in the YAML layout: `(toml, yaml)` prefixes, the more
/// specific first. A path starting with `toml` (whole segments) starts with `yaml` in YAML.
pub(super) const PLACES: &[(&str, &str)] = &[
    ("id", "node.id"),
    ("secret_key", "node.secret_key"),
    ("stake", "node.stake"),
    ("seed", "node.seed"),
    ("max_time", "node.max_time"),
    ("listen", "network.bind_address"),
    ("feed", "network.feed"),
    ("feed_connect", "network.feed_connect"),
    ("peers", "network.peers"),
    ("metrics_port", "monitoring.metrics_port"),
    ("metrics_host", "monitoring.metrics_host"),
    ("health_port", "monitoring.health_port"),
    ("log_level", "monitoring.log_level"),
    ("log_format", "monitoring.log_format"),
    ("engine", "consensus.engine"),
    ("decision", "consensus.decision"),
    ("choices", "consensus.choices"),
    ("blocks", "consensus.blocks"),
    ("initial", "consensus.initial"),
    ("poll_timeout", "consensus.poll_timeout"),
    ("self_sample", "consensus.self_sample"),
    ("sampling", "consensus.sampling"),
    ("stake_unit", "consensus.stake_unit"),
    ("params", "consensus.params"),
    ("byzantine", "byzantine"),
    // A ledger node's kind is its engine; its other keys are under consensus.ledger.
    ("ledger.kind", "consensus.engine"),
    ("ledger", "consensus.ledger"),
];

/// The YAML path of `NodeFile` path `path` (`peers.1.address` -> `network.peers.1.address`).
pub(super) fn yaml_name(path: &str) -> String {
    for (toml, yaml) in PLACES {
        if path == *toml {
            return (*yaml).to_string();
        }
        if let Some(rest) = path.strip_prefix(toml).and_then(|r| r.strip_prefix('.')) {
            return format!("{yaml}.{rest}");
        }
    }
    path.to_string()
}

/// One YAML value and what it holds, each part with its location.
enum Tree {
    Leaf,
    Map(Vec<(Spanned<String>, Spanned<Tree>)>),
    Seq(Vec<Spanned<Tree>>),
}

impl<'de> Deserialize<'de> for Tree {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Tree, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Tree;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a YAML value")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_i128<E>(self, _: i128) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_u128<E>(self, _: u128) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_str<E>(self, _: &str) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_bytes<E>(self, _: &[u8]) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_unit<E>(self) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_none<E>(self) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Tree, D::Error> {
                Tree::deserialize(d)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Tree, A::Error> {
                let mut entries = Vec::new();
                while let Some(k) = m.next_key::<Spanned<String>>()? {
                    entries.push((k, m.next_value()?));
                }
                Ok(Tree::Map(entries))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Tree, A::Error> {
                let mut items = Vec::new();
                while let Some(v) = s.next_element()? {
                    items.push(v);
                }
                Ok(Tree::Seq(items))
            }
        }
        d.deserialize_any(V)
    }
}

/// 1-based line and column (characters) of a spanned value, where it is referenced.
fn at<T>(s: &Spanned<T>) -> (usize, usize) {
    let l = s.referenced;
    (l.line() as usize, l.column() as usize)
}

/// The line and column of every value of a YAML node file, by path.
pub(super) struct YamlIndex {
    root: Tree,
}

impl YamlIndex {
    /// The index of YAML `text`; empty when the text does not parse (its typed parse then
    /// failed first, with its own location).
    pub(super) fn new(text: &str) -> YamlIndex {
        YamlIndex {
            root: serde_saphyr::from_str(text).unwrap_or(Tree::Leaf),
        }
    }

    /// Where the value at YAML path `path` is (`consensus.params.k`, `network.peers.0`): a
    /// scalar's own position, a map's or a list's key (list items: the item).
    pub(super) fn find(&self, path: &str) -> Option<(usize, usize)> {
        let (mut node, mut pos) = (&self.root, None);
        for seg in path.split('.') {
            let child = match node {
                Tree::Map(entries) => {
                    let (k, v) = entries.iter().rev().find(|(k, _)| k.value == seg)?;
                    pos = Some(match v.value {
                        Tree::Leaf => at(v),
                        _ => at(k),
                    });
                    v
                }
                Tree::Seq(items) => {
                    let v = items.get(seg.parse::<usize>().ok()?)?;
                    pos = Some(at(v));
                    v
                }
                Tree::Leaf => return None,
            };
            node = &child.value;
        }
        pos
    }

    /// The line and column for an error about the first of `paths` (`NodeFile` paths)
    /// present in the file; failing that, the nearest enclosing key of the first that is
    /// (a peer given as a bare address stands for all its keys); failing that, 1:1.
    pub(super) fn locate(&self, paths: &[&str]) -> (usize, usize) {
        let yaml: Vec<String> = paths.iter().map(|p| yaml_name(p)).collect();
        if let Some(pos) = yaml.iter().find_map(|p| self.find(p)) {
            return pos;
        }
        let mut up = yaml.first().map(String::as_str).unwrap_or("");
        while let Some((parent, _)) = up.rsplit_once('.') {
            if let Some(pos) = self.find(parent) {
                return pos;
            }
            up = parent;
        }
        (1, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_file_paths_have_a_yaml_place() {
        assert_eq!(yaml_name("listen"), "network.bind_address");
        assert_eq!(yaml_name("peers.2.address"), "network.peers.2.address");
        assert_eq!(yaml_name("params.k"), "consensus.params.k");
        assert_eq!(yaml_name("ledger.kind"), "consensus.engine");
        assert_eq!(yaml_name("ledger.batch"), "consensus.ledger.batch");
        assert_eq!(yaml_name("stake_unit"), "consensus.stake_unit");
        assert_eq!(yaml_name("stake"), "node.stake");
        assert_eq!(yaml_name("byzantine.target"), "byzantine.target");
    }

    #[test]
    fn values_are_found_by_node_file_path() {
        let text = "node:\n  id: 2\nconsensus:\n  params:\n    k: 20\nnetwork:\n  peers:\n    - \"tcp://a:1\"\n    - id: 7\n      address: \"tcp://b:1\"\n";
        let ix = YamlIndex::new(text);
        assert_eq!(ix.find("node.id"), Some((2, 7)));
        assert_eq!(ix.find("consensus.params"), Some((4, 3)), "a map: its key");
        assert_eq!(ix.locate(&["params.k"]), (5, 8));
        assert_eq!(ix.locate(&["peers.1.address"]), (10, 16));
        // A bare-address peer stands for its id, address and stake.
        assert_eq!(ix.locate(&["peers.0.id"]), (8, 7));
        // Absent keys: the next path, then the nearest enclosing key, then 1:1.
        assert_eq!(ix.locate(&["params.beta", "id"]), (2, 7));
        assert_eq!(ix.locate(&["params.beta"]), (4, 3));
        assert_eq!(ix.locate(&["metrics_port"]), (1, 1));
    }
}
