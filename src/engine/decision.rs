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
    let mut z = c.wrapping_add(GOLDEN);
    z = (z ^ (z >> 30)).wrapping_mul(MIX_1);
    z = (z ^ (z >> 27)).wrapping_mul(MIX_2);
    z ^ (z >> 31)
}

const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;
const MIX_1: u64 = 0xbf58_476d_1ce4_e5b9;
const MIX_2: u64 = 0x94d0_49bb_1331_11eb;

/// The inverse of an odd `a` modulo 2^64 (Newton's iteration; each step doubles the bits).
const fn inverse(a: u64) -> u64 {
    let mut x = a; // right to 3 bits, since a * a = 1 (mod 8) for odd a
    let mut i = 0;
    while i < 5 {
        x = x.wrapping_mul(2u64.wrapping_sub(a.wrapping_mul(x)));
        i += 1;
    }
    x
}

/// Undoes `z ^= z >> s`, for `22 <= s < 32` (where three terms suffice).
#[inline]
fn unshift(z: u64, s: u32) -> u64 {
    debug_assert!((22..32).contains(&s));
    z ^ (z >> s) ^ (z >> (2 * s))
}

/// The choice whose [`tree_id`] is `id`: the inverse bijection, so that a tree decision
/// needs no map from ids back to choices.
pub fn choice_of(id: u64) -> u64 {
    let mut z = unshift(id, 31);
    z = unshift(z.wrapping_mul(inverse(MIX_2)), 27);
    z = unshift(z.wrapping_mul(inverse(MIX_1)), 30);
    z.wrapping_sub(GOLDEN)
}

/// Choices a poll may vote for before its bag needs the heap.
const BAG_ON_STACK: usize = 16;

/// A [`Tree`] over the choices' [`tree_id`]s and the preferred choice. A poll's bag is
/// built on the stack (or, past [`BAG_ON_STACK`] voted choices, in a fresh vector), so
/// that a decision holds only its tree: millions of them fit in memory.
#[derive(Debug, Clone)]
pub struct TreeDecision {
    tree: Tree,
    preference: u32,
}

impl TreeDecision {
    fn record(&mut self, bag: &mut [(u64, u32)]) {
        self.tree.record_poll(bag);
        let choice = choice_of(self.tree.preference());
        debug_assert!(
            choice <= u64::from(u32::MAX),
            "the tree prefers a choice it holds"
        );
        self.preference = choice as u32;
    }

    /// Records a poll of `counts[c]` votes for choice `c`.
    fn record_counts(&mut self, counts: &[u32]) {
        let voted = counts.iter().enumerate().filter(|&(_, &n)| n > 0);
        let bag = voted.map(|(c, &n)| (tree_id(c as u64), n));
        let len = counts.iter().filter(|&&n| n > 0).count();
        if len > BAG_ON_STACK {
            return self.record(&mut bag.collect::<Vec<_>>());
        }
        let mut stack = [(0u64, 0u32); BAG_ON_STACK];
        for (slot, vote) in stack.iter_mut().zip(bag) {
            *slot = vote;
        }
        self.record(&mut stack[..len]);
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
    Tree(TreeDecision),
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
            tree.shrink_to_fit();
            return Decision::Tree(TreeDecision {
                tree,
                preference: initial as u32,
            });
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
            t.record_counts(counts);
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
            Decision::Tree(t) => t.record(&mut [(tree_id(choice as u64), count as u32)]),
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
    fn choice_of_inverts_tree_id() {
        for c in (0..100_000).chain([u64::MAX, u64::MAX - 1, 1 << 63, 0x1234_5678_9abc_def0]) {
            assert_eq!(choice_of(tree_id(c)), c);
        }
        assert_eq!(inverse(MIX_1).wrapping_mul(MIX_1), 1);
        assert_eq!(inverse(MIX_2).wrapping_mul(MIX_2), 1);
    }

    #[test]
    fn a_bag_of_more_choices_than_the_stack_holds_counts_them_all() {
        // 40 choices; 17 of them get one vote each and choice 33 gets 100 (18 voted, more
        // than the stack holds). No other side of any bit reaches alpha (18), so the tree
        // moves to 33; the same votes on a tree built the same way must agree throughout.
        let p = ConsensusParams {
            k: 117,
            alpha_preference: 18,
            alpha_confidence: 18,
            beta: 5,
            ..ConsensusParams::default()
        };
        let mut counts = vec![0u32; 40];
        counts[..17].iter_mut().for_each(|c| *c = 1);
        counts[33] = 100;
        let mut d = Decision::new(Protocol::Snowball, Shape::Tree, &p, 40, 0);
        let mut reference = Tree::new(Protocol::Snowball, &p, tree_id(0));
        for c in 1..40 {
            reference.add(tree_id(c));
        }
        for _ in 0..30 {
            d.record_counts(&counts);
            let voted = (0..40u64).filter(|&c| counts[c as usize] > 0);
            let mut bag: Vec<(u64, u32)> =
                voted.map(|c| (tree_id(c), counts[c as usize])).collect();
            reference.record_poll(&mut bag);
            assert_eq!(d.preference() as u64, choice_of(reference.preference()));
        }
        // The votes moved it off its initial choice: the comparison above was not idle.
        assert_eq!(d.preference(), 33);
        assert!(d.finalized());
    }

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
