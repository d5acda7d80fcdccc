//! One decision among n choices, run by whichever of Slush, Snowflake or Snowball was asked
//! for, shaped as avalanchego's tree (the default) or as one flat n-ary instance.

use crate::{ConsensusParams, Slush, Snowball, Snowflake, Tree};

/// Which single-decision protocol a [`Decision`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// Memoryless; decides after beta polls.
    Slush,
    /// Consecutive successes only.
    Snowflake,
    /// Snowflake plus strength counters.
    Snowball,
}

/// How a decision among many choices is split.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Shape {
    /// avalanchego's `snowball.Tree`: the choices' ids decided bit by bit, a poll's votes
    /// pooled per bit; what avalanchego runs.
    #[default]
    Tree,
    /// One n-ary instance: a poll counts only for its single top choice.
    Flat,
}

impl Shape {
    /// The name scenarios and node configs use.
    pub fn name(self) -> &'static str {
        match self {
            Shape::Tree => "tree",
            Shape::Flat => "flat",
        }
    }
}

/// The id choice `c` goes by in a decision's tree: a fixed bijection of `c` (the SplitMix64
/// finalizer), standing in for avalanchego's hashed ids, so that the tree over choices
/// `0..n` is shaped as avalanchego's over n hashed ids is, not skewed by small integers
/// that share their high bits.
pub fn tree_id(c: u64) -> u64 {
    let mut z = c.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A [`Tree`] over the choices' [`tree_id`]s, the reusable bag a poll's counts become, and
/// the preferred choice.
#[derive(Debug, Clone)]
pub struct TreeDecision {
    tree: Tree,
    bag: Vec<(u64, u32)>,
    /// (tree id, choice), by id.
    choices: Vec<(u64, u32)>,
    preference: u32,
}

impl TreeDecision {
    fn record(&mut self) {
        self.tree.record_poll(&mut self.bag);
        let id = self.tree.preference();
        let i = self.choices.partition_point(|&(t, _)| t < id);
        debug_assert_eq!(self.choices[i].0, id, "the tree prefers a choice it holds");
        self.preference = self.choices[i].1;
    }
}

/// A single-decision engine: an enum, so that a run picks its protocol at start-up.
#[derive(Debug, Clone)]
pub enum Decision {
    /// A Slush instance.
    Slush(Slush),
    /// A Snowflake instance.
    Snowflake(Snowflake),
    /// A Snowball instance.
    Snowball(Snowball),
    /// A tree of Slush, Snowflake or Snowball nodes.
    Tree(Box<TreeDecision>),
}

impl Decision {
    /// A fresh instance of `protocol` shaped as `shape` over choices `0..choices`,
    /// preferring `initial`.
    pub fn new(
        protocol: Protocol,
        shape: Shape,
        params: &ConsensusParams,
        choices: usize,
        initial: usize,
    ) -> Self {
        if shape == Shape::Tree {
            let mut tree = Tree::new(protocol, params, tree_id(initial as u64));
            for c in (0..choices).filter(|&c| c != initial) {
                tree.add(tree_id(c as u64));
            }
            let mut ids: Vec<(u64, u32)> = (0..choices.max(initial + 1) as u32)
                .map(|c| (tree_id(u64::from(c)), c))
                .collect();
            ids.sort_unstable();
            return Decision::Tree(Box::new(TreeDecision {
                tree,
                bag: Vec::with_capacity(choices),
                choices: ids,
                preference: initial as u32,
            }));
        }
        match protocol {
            Protocol::Slush => Decision::Slush(Slush::new(params, initial)),
            Protocol::Snowflake => Decision::Snowflake(Snowflake::new(params, initial)),
            Protocol::Snowball => Decision::Snowball(Snowball::new(params, choices, initial)),
        }
    }

    /// Records a poll: `counts[c]` votes for choice `c`. A flat instance records the top
    /// choice (ties: the smallest) or, with no vote at all, an unsuccessful poll; a tree
    /// takes the whole bag.
    #[inline]
    pub fn record_counts(&mut self, counts: &[u32]) {
        if let Decision::Tree(t) = self {
            t.bag.clear();
            let voted = counts.iter().enumerate().filter(|&(_, &n)| n > 0);
            t.bag.extend(voted.map(|(c, &n)| (tree_id(c as u64), n)));
            t.record();
            return;
        }
        let (mut choice, mut count) = (0, 0);
        for (c, &n) in counts.iter().enumerate() {
            if n > count {
                (choice, count) = (c, n);
            }
        }
        if count == 0 {
            self.record_unsuccessful_poll();
        } else {
            self.record_poll(count as usize, choice);
        }
    }

    /// Records a poll whose top choice got `count` votes (a tree: a bag of that one choice).
    #[inline]
    pub fn record_poll(&mut self, count: usize, choice: usize) {
        match self {
            Decision::Slush(s) => s.record_poll(count, choice),
            Decision::Snowflake(s) => s.record_poll(count, choice),
            Decision::Snowball(s) => s.record_poll(count, choice),
            Decision::Tree(t) => {
                t.bag.clear();
                t.bag.push((tree_id(choice as u64), count as u32));
                t.record();
            }
        }
    }

    /// Records a poll in which no choice got a vote.
    #[inline]
    pub fn record_unsuccessful_poll(&mut self) {
        match self {
            Decision::Slush(s) => s.record_unsuccessful_poll(),
            Decision::Snowflake(s) => s.record_unsuccessful_poll(),
            Decision::Snowball(s) => s.record_unsuccessful_poll(),
            Decision::Tree(t) => t.tree.record_unsuccessful_poll(),
        }
    }

    /// The current preference.
    #[inline]
    pub fn preference(&self) -> usize {
        match self {
            Decision::Slush(s) => s.preference(),
            Decision::Snowflake(s) => s.preference(),
            Decision::Snowball(s) => s.preference(),
            Decision::Tree(t) => t.preference as usize,
        }
    }

    /// Whether the decision is final.
    #[inline]
    pub fn finalized(&self) -> bool {
        match self {
            Decision::Slush(s) => s.finalized(),
            Decision::Snowflake(s) => s.finalized(),
            Decision::Snowball(s) => s.finalized(),
            Decision::Tree(t) => t.tree.finalized(),
        }
    }

    /// Consecutive successful polls (Slush: polls so far).
    pub fn confidence(&self) -> usize {
        match self {
            Decision::Slush(s) => s.polls(),
            Decision::Snowflake(s) => s.confidence(),
            Decision::Snowball(s) => s.confidence(),
            Decision::Tree(t) => t.tree.confidence(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_ids_are_distinct_and_a_tree_decision_speaks_in_choices() {
        let mut ids: Vec<u64> = (0..10_000).map(tree_id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 10_000);
        let p = ConsensusParams {
            k: 5,
            alpha_preference: 3,
            alpha_confidence: 3,
            beta: 2,
            concurrent_polls: 1,
            ..ConsensusParams::default()
        };
        for protocol in [Protocol::Slush, Protocol::Snowflake, Protocol::Snowball] {
            let mut d = Decision::new(protocol, Shape::Tree, &p, 3, 1);
            assert_eq!(d.preference(), 1);
            d.record_counts(&[0, 1, 4]);
            assert_eq!(d.preference(), 2, "{protocol:?}");
            d.record_counts(&[0, 0, 5]);
            assert!(d.finalized(), "{protocol:?}");
            assert_eq!(d.preference(), 2, "{protocol:?}");
        }
    }
}
