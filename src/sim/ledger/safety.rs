//! The safety checker, always on: two honest nodes must never accept different blocks at
//! one height, nor conflicting transactions. The first violation is kept for the summary.

use super::super::scheduler::Nanos;
use crate::node::NodeId;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// The first safety violation of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    /// `height` (two blocks at one height) or `conflict` (two conflicting transactions).
    pub kind: String,
    /// The height (chain).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u64>,
    /// The conflict key (dag).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict_key: Option<u64>,
    /// The node that accepted first, then the node that accepted the other item.
    pub nodes: [NodeId; 2],
    /// The two blocks (or transactions), in the same order.
    pub items: [u64; 2],
    /// When the second acceptance happened, in virtual milliseconds.
    pub time_ms: f64,
}

/// What honest nodes accepted, by height and by conflict key.
#[derive(Debug, Clone, Default)]
pub struct SafetyChecker {
    /// Index height - 1: (block, first node to accept it); block 0 = none yet.
    heights: Vec<(u64, NodeId)>,
    /// Conflict key -> (transaction, first node to accept it).
    keys: FxHashMap<u64, (u64, NodeId)>,
    first: Option<Violation>,
}

impl SafetyChecker {
    /// An empty checker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Honest `node` accepted `block` at `height`; returns whether that is a violation.
    pub fn block(&mut self, node: NodeId, block: u64, height: u64, now: Nanos) -> bool {
        let Some(i) = (height as usize).checked_sub(1) else {
            return false;
        };
        if self.heights.len() <= i {
            self.heights.resize(i + 1, (0, 0));
        }
        let (seen, by) = self.heights[i];
        if seen == 0 {
            self.heights[i] = (block, node);
            return false;
        }
        if seen == block {
            return false;
        }
        self.note(Violation {
            kind: "height".into(),
            height: Some(height),
            conflict_key: None,
            nodes: [by, node],
            items: [seen, block],
            time_ms: now as f64 / 1e6,
        });
        true
    }

    /// Honest `node` accepted transaction `tx` with conflict key `key`; returns whether
    /// that is a violation.
    pub fn tx(&mut self, node: NodeId, tx: u64, key: u64, now: Nanos) -> bool {
        let &mut (seen, by) = self.keys.entry(key).or_insert((tx, node));
        if seen == tx {
            return false;
        }
        self.note(Violation {
            kind: "conflict".into(),
            height: None,
            conflict_key: Some(key),
            nodes: [by, node],
            items: [seen, tx],
            time_ms: now as f64 / 1e6,
        });
        true
    }

    fn note(&mut self, v: Violation) {
        if self.first.is_none() {
            self.first = Some(v);
        }
    }

    /// The first violation, if any.
    pub fn violation(&self) -> Option<&Violation> {
        self.first.as_ref()
    }

    /// The block honest nodes accepted at `height`, if any did.
    pub fn accepted_at(&self, height: u64) -> Option<u64> {
        let i = (height as usize).checked_sub(1)?;
        self.heights.get(i).map(|h| h.0).filter(|&b| b != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_of_two_blocks_at_one_height_is_reported() {
        let mut s = SafetyChecker::new();
        assert!(!s.block(1, 10, 1, 5));
        assert!(!s.block(2, 10, 1, 6));
        assert!(!s.block(2, 11, 2, 7));
        assert!(s.block(3, 12, 2, 2_000_000));
        assert!(s.block(4, 13, 2, 9_000_000));
        let v = s.violation().unwrap();
        assert_eq!((v.height, v.nodes, v.items), (Some(2), [2, 3], [11, 12]));
        assert_eq!(v.time_ms, 2.0);
        assert_eq!(s.accepted_at(1), Some(10));
        assert_eq!(s.accepted_at(5), None);
    }

    #[test]
    fn conflicting_transactions_are_a_violation() {
        let mut s = SafetyChecker::new();
        assert!(!s.tx(1, 100, 7, 0));
        assert!(!s.tx(2, 100, 7, 0));
        assert!(!s.tx(2, 101, 8, 0));
        assert!(s.tx(3, 102, 7, 1_000_000));
        let v = s.violation().unwrap();
        assert_eq!((v.kind.as_str(), v.conflict_key), ("conflict", Some(7)));
        assert_eq!((v.nodes, v.items), ([1, 3], [100, 102]));
    }
}
