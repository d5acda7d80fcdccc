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

/// A [`Tree`] and the reusable bag a poll's counts become.
#[derive(Debug, Clone)]
pub struct TreeDecision {
    tree: Tree,
    bag: Vec<(u64, u32)>,
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
            let mut tree = Tree::new(protocol, params, initial as u64);
            for c in (0..choices).filter(|&c| c != initial) {
                tree.add(c as u64);
            }
            let bag = Vec::with_capacity(choices);
            return Decision::Tree(Box::new(TreeDecision { tree, bag }));
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
            t.bag.extend(voted.map(|(c, &n)| (c as u64, n)));
            t.tree.record_poll(&mut t.bag);
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
                t.bag.push((choice as u64, count as u32));
                t.tree.record_poll(&mut t.bag);
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
            Decision::Tree(t) => t.tree.preference() as usize,
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
