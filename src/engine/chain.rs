//! Chain (Snowman): a linear chain decided over a tree of blocks with transitive votes.
//!
//! Blocks hang from the last accepted block. Every block that is processing (and the last
//! accepted block itself) owns a [`Snowball`] over its children. A vote for a block counts
//! for it and for every processing ancestor. A poll is applied from the last accepted block
//! downwards: at each level the child with the most votes (ties: smallest id) is recorded in
//! that level's Snowball, the other children's subtrees have their confidence reset, and the
//! walk continues into the voted child only while the poll reached alpha_preference there.
//! When the Snowball of the last accepted block finalizes, its preferred child is accepted
//! and its siblings with all their descendants are rejected; acceptance then continues
//! downwards.

use crate::{ConsensusParams, Snowball, Status};
use rustc_hash::FxHashMap;
use thiserror::Error;

use crate::engine::GENESIS;

/// Why a block cannot be added to a [`Chain`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ChainError {
    /// The parent is neither a known block nor the genesis.
    #[error("block {block} names unknown parent {parent}")]
    UnknownParent {
        /// The block added.
        block: u64,
        /// Its parent id.
        parent: u64,
    },
    /// A block with this id is already known.
    #[error("block {0} is already known")]
    Duplicate(u64),
    /// The height is not the parent's height plus one.
    #[error("block {block} has height {height}, but its parent is at height {parent_height}")]
    BadHeight {
        /// The block added.
        block: u64,
        /// Its height.
        height: u64,
        /// The parent's height.
        parent_height: u64,
    },
}

#[derive(Debug, Clone)]
struct Node {
    id: u64,
    parent: u32,
    height: u64,
    status: Status,
    children: Vec<u32>,
    snowball: Snowball,
    /// Transitive votes gathered in the poll being applied.
    votes: u32,
}

/// The Snowman engine: a block tree, transitive votes, acceptance of one chain.
#[derive(Debug, Clone)]
pub struct Chain {
    params: ConsensusParams,
    nodes: Vec<Node>,
    index: FxHashMap<u64, u32>,
    last_accepted: u32,
    accepted: usize,
    rejected: usize,
    decided: Vec<(u64, Status)>,
    touched: Vec<u32>,
    stack: Vec<u32>,
}

impl Chain {
    /// An empty chain holding only the accepted genesis block.
    pub fn new(params: &ConsensusParams) -> Self {
        let genesis = Node {
            id: GENESIS,
            parent: 0,
            height: 0,
            status: Status::Accepted,
            children: Vec::new(),
            snowball: Snowball::new(params, 0, 0),
            votes: 0,
        };
        let mut index = FxHashMap::default();
        index.insert(GENESIS, 0);
        Chain {
            params: *params,
            nodes: vec![genesis],
            index,
            last_accepted: 0,
            accepted: 0,
            rejected: 0,
            decided: Vec::new(),
            touched: Vec::new(),
            stack: Vec::new(),
        }
    }

    /// Adds a block; its status is processing, or rejected at once when its parent is
    /// rejected or is an accepted block below the tip (a sibling was already accepted).
    pub fn add_block(&mut self, id: u64, parent: u64, height: u64) -> Result<Status, ChainError> {
        if self.index.contains_key(&id) {
            return Err(ChainError::Duplicate(id));
        }
        let &p = self
            .index
            .get(&parent)
            .ok_or(ChainError::UnknownParent { block: id, parent })?;
        let parent_height = self.nodes[p as usize].height;
        if height != parent_height + 1 {
            return Err(ChainError::BadHeight {
                block: id,
                height,
                parent_height,
            });
        }
        let parent_status = self.nodes[p as usize].status;
        let status = match parent_status {
            Status::Processing => Status::Processing,
            Status::Accepted if p == self.last_accepted => Status::Processing,
            _ => Status::Rejected,
        };
        let me = self.nodes.len() as u32;
        self.nodes.push(Node {
            id,
            parent: p,
            height,
            status,
            children: Vec::new(),
            snowball: Snowball::new(&self.params, 0, 0),
            votes: 0,
        });
        self.index.insert(id, me);
        if status == Status::Processing {
            let parent = &mut self.nodes[p as usize];
            parent.children.push(me);
            parent.snowball.add_choice();
        } else {
            self.rejected += 1;
            self.decided.push((id, Status::Rejected));
        }
        Ok(status)
    }

    /// The status of a block, `None` when unknown.
    #[inline]
    pub fn status(&self, id: u64) -> Option<Status> {
        self.index.get(&id).map(|&i| self.nodes[i as usize].status)
    }

    /// Whether the block is accepted.
    pub fn is_accepted(&self, id: u64) -> bool {
        self.status(id) == Some(Status::Accepted)
    }

    /// The id of the last accepted block (the genesis at first).
    pub fn last_accepted(&self) -> u64 {
        self.nodes[self.last_accepted as usize].id
    }

    /// The height of the last accepted block.
    pub fn last_accepted_height(&self) -> u64 {
        self.nodes[self.last_accepted as usize].height
    }

    /// The preferred tip: follow each level's preference down from the last accepted block.
    pub fn preference(&self) -> u64 {
        let mut cur = self.last_accepted as usize;
        loop {
            let node = &self.nodes[cur];
            if node.children.is_empty() {
                return node.id;
            }
            cur = node.children[node.snowball.preference()] as usize;
        }
    }

    /// Blocks accepted so far (the genesis not counted).
    pub fn accepted(&self) -> usize {
        self.accepted
    }

    /// Blocks rejected so far.
    pub fn rejected(&self) -> usize {
        self.rejected
    }

    /// Decisions in the order they were made, since the last [`Chain::clear_decided`].
    pub fn decided(&self) -> &[(u64, Status)] {
        &self.decided
    }

    /// Forgets the decisions reported by [`Chain::decided`].
    pub fn clear_decided(&mut self) {
        self.decided.clear();
    }

    /// Records one poll: `votes` is the bag (block id, count); unknown or decided blocks are
    /// dropped. Returns whether any block was decided by it.
    pub fn record_poll(&mut self, votes: &[(u64, usize)]) -> bool {
        let root = self.last_accepted;
        for &(id, count) in votes {
            let Some(&start) = self.index.get(&id) else {
                continue;
            };
            if self.nodes[start as usize].status != Status::Processing {
                continue;
            }
            let mut cur = start;
            while cur != root {
                let node = &mut self.nodes[cur as usize];
                if node.votes == 0 {
                    self.touched.push(cur);
                }
                node.votes += count as u32;
                cur = node.parent;
            }
        }
        let alpha_preference = self.params.alpha_preference as u32;
        let mut cur = root;
        loop {
            let node = &self.nodes[cur as usize];
            if node.children.is_empty() {
                break;
            }
            let mut best: Option<(usize, u32)> = None;
            for (pos, &c) in node.children.iter().enumerate() {
                let child = &self.nodes[c as usize];
                let better = match best {
                    None => child.votes > 0,
                    Some((bp, bv)) => {
                        child.votes > bv
                            || (child.votes == bv
                                && child.id < self.nodes[node.children[bp] as usize].id)
                    }
                };
                if better {
                    best = Some((pos, child.votes));
                }
            }
            let Some((pos, count)) = best else {
                self.reset_subtree(cur);
                break;
            };
            let voted = node.children[pos];
            self.nodes[cur as usize]
                .snowball
                .record_poll(count as usize, pos);
            for i in 0..self.nodes[cur as usize].children.len() {
                let c = self.nodes[cur as usize].children[i];
                if c != voted {
                    self.reset_subtree(c);
                }
            }
            if count < alpha_preference {
                self.reset_subtree(voted);
                break;
            }
            cur = voted;
        }
        for &t in &self.touched {
            self.nodes[t as usize].votes = 0;
        }
        self.touched.clear();
        self.accept_downwards()
    }

    /// Resets the confidence of every Snowball in the subtree rooted at `top`.
    fn reset_subtree(&mut self, top: u32) {
        self.stack.push(top);
        while let Some(n) = self.stack.pop() {
            let node = &mut self.nodes[n as usize];
            node.snowball.record_unsuccessful_poll();
            self.stack.extend_from_slice(&node.children);
        }
    }

    fn accept_downwards(&mut self) -> bool {
        let mut any = false;
        loop {
            let root = &self.nodes[self.last_accepted as usize];
            if root.children.is_empty() || !root.snowball.finalized() {
                return any;
            }
            any = true;
            let winner = root.children[root.snowball.preference()];
            let losers: Vec<u32> = root
                .children
                .iter()
                .copied()
                .filter(|&c| c != winner)
                .collect();
            let w = &mut self.nodes[winner as usize];
            w.status = Status::Accepted;
            self.accepted += 1;
            self.decided.push((w.id, Status::Accepted));
            for l in losers {
                self.reject_subtree(l);
            }
            let old = self.last_accepted as usize;
            self.nodes[old].children.clear();
            self.last_accepted = winner;
        }
    }

    fn reject_subtree(&mut self, top: u32) {
        self.stack.push(top);
        while let Some(n) = self.stack.pop() {
            let node = &mut self.nodes[n as usize];
            if node.status == Status::Processing {
                node.status = Status::Rejected;
                self.rejected += 1;
                self.decided.push((node.id, Status::Rejected));
            }
            self.stack.append(&mut node.children);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> ConsensusParams {
        ConsensusParams {
            k: 5,
            alpha_preference: 3,
            alpha_confidence: 4,
            beta: 3,
            concurrent_polls: 1,
            ..ConsensusParams::default()
        }
    }

    #[test]
    fn a_block_is_accepted_after_beta_strong_polls() {
        let mut c = Chain::new(&ConsensusParams::default());
        assert_eq!(c.add_block(1, GENESIS, 1), Ok(Status::Processing));
        for i in 0..19 {
            assert!(!c.record_poll(&[(1, 20)]), "poll {i}");
        }
        assert!(c.record_poll(&[(1, 15)]));
        assert!(c.is_accepted(1));
        assert_eq!(c.last_accepted(), 1);
        assert_eq!(c.last_accepted_height(), 1);
    }

    #[test]
    fn a_weak_poll_resets_the_count() {
        let mut c = Chain::new(&small());
        c.add_block(1, GENESIS, 1).unwrap();
        c.record_poll(&[(1, 4)]);
        c.record_poll(&[(1, 4)]);
        c.record_poll(&[(1, 2)]);
        c.record_poll(&[(1, 4)]);
        c.record_poll(&[(1, 4)]);
        assert!(!c.is_accepted(1));
        c.record_poll(&[(1, 4)]);
        assert!(c.is_accepted(1));
    }

    #[test]
    fn transitive_votes_accept_a_whole_chain() {
        let mut c = Chain::new(&small());
        c.add_block(1, GENESIS, 1).unwrap();
        c.add_block(2, 1, 2).unwrap();
        c.add_block(3, 2, 3).unwrap();
        for _ in 0..3 {
            c.record_poll(&[(3, 5)]);
        }
        assert!(c.is_accepted(1) && c.is_accepted(2) && c.is_accepted(3));
        assert_eq!(c.accepted(), 3);
        assert_eq!(
            c.decided(),
            &[
                (1, Status::Accepted),
                (2, Status::Accepted),
                (3, Status::Accepted)
            ]
        );
    }

    #[test]
    fn siblings_and_their_descendants_are_rejected() {
        let mut c = Chain::new(&small());
        c.add_block(1, GENESIS, 1).unwrap();
        c.add_block(2, GENESIS, 1).unwrap();
        c.add_block(3, 2, 2).unwrap();
        c.add_block(4, 1, 2).unwrap();
        assert_eq!(c.preference(), 4, "first child preferred at each level");
        for _ in 0..3 {
            c.record_poll(&[(3, 4), (4, 1)]);
        }
        assert_eq!(c.preference(), 3);
        assert!(c.is_accepted(2) && c.is_accepted(3));
        assert_eq!(c.status(1), Some(Status::Rejected));
        assert_eq!(c.status(4), Some(Status::Rejected));
        assert_eq!(c.rejected(), 2);
        assert_eq!(
            c.add_block(5, 1, 2),
            Ok(Status::Rejected),
            "child of rejected"
        );
        assert_eq!(
            c.add_block(6, GENESIS, 1),
            Ok(Status::Rejected),
            "late sibling"
        );
    }

    #[test]
    fn split_votes_count_for_the_common_ancestor() {
        let mut c = Chain::new(&small());
        c.add_block(1, GENESIS, 1).unwrap();
        c.add_block(2, 1, 2).unwrap();
        c.add_block(3, 1, 2).unwrap();
        for _ in 0..3 {
            c.record_poll(&[(2, 2), (3, 2)]);
        }
        assert!(c.is_accepted(1), "4 transitive votes for 1 each poll");
        assert_eq!(c.status(2), Some(Status::Processing));
        assert_eq!(c.status(3), Some(Status::Processing));
    }

    #[test]
    fn off_path_children_lose_their_confidence() {
        let mut c = Chain::new(&small());
        c.add_block(1, GENESIS, 1).unwrap();
        c.add_block(2, GENESIS, 1).unwrap();
        c.add_block(3, 1, 2).unwrap();
        c.record_poll(&[(3, 4)]);
        c.record_poll(&[(3, 4)]);
        assert_eq!(c.nodes[1].snowball.confidence(), 2);
        c.record_poll(&[(2, 4)]);
        assert_eq!(c.nodes[1].snowball.confidence(), 0);
    }

    #[test]
    fn votes_for_unknown_or_decided_blocks_are_dropped() {
        let mut c = Chain::new(&small());
        c.add_block(1, GENESIS, 1).unwrap();
        for _ in 0..3 {
            c.record_poll(&[(1, 5), (99, 5)]);
        }
        assert!(c.is_accepted(1));
        c.add_block(2, 1, 2).unwrap();
        c.record_poll(&[(1, 5)]);
        assert_eq!(
            c.nodes[1].snowball.confidence(),
            0,
            "a vote for 1 is no vote for 2"
        );
    }

    #[test]
    fn bad_blocks_are_errors() {
        let mut c = Chain::new(&small());
        assert_eq!(
            c.add_block(1, 7, 1),
            Err(ChainError::UnknownParent {
                block: 1,
                parent: 7
            })
        );
        c.add_block(1, GENESIS, 1).unwrap();
        assert_eq!(c.add_block(1, GENESIS, 1), Err(ChainError::Duplicate(1)));
        assert!(matches!(
            c.add_block(2, 1, 5),
            Err(ChainError::BadHeight { .. })
        ));
    }
}
