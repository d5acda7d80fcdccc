//! Locating errors in a TOML file (scenarios, node configs): value spans as a tree, byte
//! offsets as line and column.

use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::ops::Range;
use std::path::PathBuf;
use toml::Spanned;

/// Why a TOML file (a scenario or a node config) or a YAML node config could not be loaded,
/// located at its file, line and column: the one error type of every loader.
#[derive(Debug, thiserror::Error)]
pub enum TomlError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not valid TOML (or YAML), or a key or value of the wrong name or type.
    #[error("{origin}:{line}:{column}: {message}")]
    Syntax {
        /// The file name.
        origin: String,
        /// 1-based line (0: the value came from `--set`).
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// Well-formed but breaks a rule (e.g. a partition group beyond the last node).
    #[error("{origin}:{line}:{column}: {message}")]
    Invalid {
        /// The file name.
        origin: String,
        /// 1-based line (0: the value came from `--set`).
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A malformed `--set key.path=value` (scenarios only: node configs take no `--set`).
    #[error("bad --set {arg:?}: {message}")]
    BadOverride {
        /// The argument as given.
        arg: String,
        /// What is wrong.
        message: String,
    },
}

impl TomlError {
    /// The file at `path` could not be read.
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> TomlError {
        TomlError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// A `Syntax` error at byte `offset` of `text`; multi-line messages become one line.
    pub(crate) fn syntax(origin: &str, text: &str, offset: usize, message: &str) -> TomlError {
        let (line, column) = line_column(text, offset);
        TomlError::Syntax {
            origin: origin.to_string(),
            line,
            column,
            message: message.trim().replace('\n', "; "),
        }
    }

    /// An `Invalid` error at `line` and `column` (0, 0: not in the file).
    pub(crate) fn invalid(origin: &str, line: usize, column: usize, message: String) -> TomlError {
        TomlError::Invalid {
            origin: origin.to_string(),
            line,
            column,
            message,
        }
    }
}

/// Where each value of the file is: a tree of spanned values.
pub(crate) enum Tree {
    Leaf,
    Table(Vec<(String, Spanned<Tree>)>),
    Array(Vec<Spanned<Tree>>),
}

impl<'de> Deserialize<'de> for Tree {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Tree, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Tree;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a TOML value")
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
            fn visit_f64<E>(self, _: f64) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_str<E>(self, _: &str) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Tree, A::Error> {
                let mut entries = Vec::new();
                while let Some(k) = m.next_key::<String>()? {
                    entries.push((k, m.next_value()?));
                }
                Ok(Tree::Table(entries))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Tree, A::Error> {
                let mut items = Vec::new();
                while let Some(v) = s.next_element()? {
                    items.push(v);
                }
                Ok(Tree::Array(items))
            }
        }
        d.deserialize_any(V)
    }
}

impl Tree {
    /// The span of the value at a dotted path (`network.partitions.0.groups`, `peers.2.address`).
    pub(crate) fn span(&self, path: &str) -> Option<Range<usize>> {
        let (mut node, mut span) = (self, None);
        for seg in path.split('.') {
            let child = match node {
                Tree::Table(t) => t.iter().rev().find(|(k, _)| k == seg).map(|(_, v)| v),
                Tree::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
                Tree::Leaf => None,
            }?;
            span = Some(child.span());
            node = child.get_ref();
        }
        span
    }
}

/// 1-based line and column (in characters) of byte `offset` of `text`.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_file_line_and_column_in_characters() {
        let text = "a = 1\nname = \"é\" x\n";
        let offset = text.find('x').unwrap();
        let e = TomlError::syntax("f.toml", text, offset, "  expected newline\nafter value  ");
        assert_eq!(
            e.to_string(),
            "f.toml:2:12: expected newline; after value",
            "column counts characters, not bytes; one line"
        );
    }

    #[test]
    fn spans_are_found_by_dotted_path() {
        let text = "[net]\nnodes = 5\n[[peers]]\nid = 1\n[[peers]]\nid = 2\n";
        let tree: Tree = toml::from_str(text).unwrap();
        let at = |p: &str| tree.span(p).map(|s| line_column(text, s.start));
        assert_eq!(at("net.nodes"), Some((2, 9)));
        assert_eq!(at("peers.1.id"), Some((6, 6)));
        assert_eq!(at("peers.2.id"), None);
    }
}
