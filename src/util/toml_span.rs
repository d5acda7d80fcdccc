//! Locating errors in a TOML file (scenarios, node configs): value spans as a tree, byte
//! offsets as line and column.

use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::ops::Range;
use toml::Spanned;

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
