//! Chain (Snowman): a linear chain decided over a tree of blocks, as avalanchego's
//! `snowman.Topological` decides it (`snow/consensus/snowman/topological.go`).
//!
//! Blocks hang from the last accepted block. Every block with children (the last accepted
//! block included) owns a [`Tree`] over its children's ids, created with the first child
//! added; avalanchego's production chains run Snowflake trees (`SnowflakeFactory`, since PR
//! #3403), the default here, and Snowball trees are an option ([`Chain::with_protocol`]).
//!
//! A poll of at least alpha_preference votes is applied as avalanchego applies it:
//! 1. each vote for a processing block counts for that block in its parent's bag, and each
//!    block's total (its own votes and its descendants') counts for it in its parent's bag,
//!    up to the last accepted block (a topological sort from the voted blocks up);
//! 2. every block whose bag reached alpha_preference records it in its tree, from the last
//!    accepted block down; when the last accepted block's tree finalizes, its preferred
//!    child is accepted (its siblings and their descendants rejected) and the walk goes on
//!    from the new last accepted block;
//! 3. every child of a polled block other than the next block polled (all of them, if the
//!    block had to falter) is marked to *falter*: its tree records an unsuccessful poll the
//!    next time it is polled. A poll of fewer votes marks the last accepted block.
//!
//! The preference is the tip reached by following each tree's preference down from the last
//! accepted block. Where avalanchego leaves an order open (the order of a Go set), this
//! engine picks one: leaves are taken last found, first served.
//!
//! Invariants: a block is processing only while its parent is processing or the last
//! accepted block; an accepted block's siblings are rejected with all their descendants;
//! the last accepted block's height never decreases.

#[cfg(test)]
mod tests;

use crate::engine::GENESIS;
use crate::{ConsensusParams, Protocol, Status, Tree};
use rustc_hash::FxHashMap;
use thiserror::Error;

/// Why a block cannot be added to a [`Chain`] (avalanchego refuses the first two cases
/// alike, as an unknown parent: its engine keeps only the last accepted and processing
/// blocks).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ChainError {
    /// The parent was never added (or the block is the genesis, which has none).
    #[error("block {block} names unknown parent {parent}")]
    UnknownParent {
        /// The block added.
        block: u64,
        /// Its parent id.
        parent: u64,
    },
    /// The parent is decided: rejected, or accepted below the last accepted block.
    #[error("block {block} builds on {parent}, which is already {status:?}")]
    DecidedParent {
        /// The block added.
        block: u64,
        /// Its parent id.
        parent: u64,
        /// The parent's status.
        status: Status,
    },
    /// A block with this id is processing, or already decided.
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
struct Block {
    id: u64,
    parent: u32,
    height: u64,
    status: Status,
    /// Children added while this block was processing or last accepted.
    children: Vec<u32>,
    /// The decision among the children, created with the first.
    tree: Option<Tree>,
    /// The tree records an unsuccessful poll before its next poll.
    should_falter: bool,
    /// The poll being applied: whether this block has an entry in the sort.
    sorted: bool,
    /// The poll being applied: children of this block with votes not yet pushed up.
    in_degree: u32,
    /// The poll being applied: votes for each child (subtree totals).
    votes: Vec<(u64, u32)>,
}

impl Block {
    fn new(id: u64, parent: u32, height: u64, status: Status) -> Self {
        Block {
            id,
            parent,
            height,
            status,
            children: Vec::new(),
            tree: None,
            should_falter: false,
            sorted: false,
            in_degree: 0,
            votes: Vec::new(),
        }
    }
}

/// The Snowman engine: a block tree, transitive votes, acceptance of one chain.
#[derive(Debug, Clone)]
pub struct Chain {
    params: ConsensusParams,
    protocol: Protocol,
    blocks: Vec<Block>,
    index: FxHashMap<u64, u32>,
    last_accepted: u32,
    accepted: usize,
    rejected: usize,
    decided: Vec<(u64, Status)>,
    /// Scratch of a poll: blocks with a sort entry, leaves, and the blocks to poll.
    sorted: Vec<u32>,
    leaves: Vec<u32>,
    stack: Vec<u32>,
    rejecting: Vec<u32>,
}

impl Chain {
    /// An empty chain of Snowflake trees (avalanchego's production engine) holding only the
    /// accepted genesis block.
    pub fn new(params: &ConsensusParams) -> Self {
        Chain::with_protocol(params, Protocol::Snowflake)
    }

    /// An empty chain whose blocks decide among their children with `protocol` trees.
    pub fn with_protocol(params: &ConsensusParams, protocol: Protocol) -> Self {
        let genesis = Block::new(GENESIS, 0, 0, Status::Accepted);
        let mut index = FxHashMap::default();
        index.insert(GENESIS, 0);
        Chain {
            params: *params,
            protocol,
            blocks: vec![genesis],
            index,
            last_accepted: 0,
            accepted: 0,
            rejected: 0,
            decided: Vec::new(),
            sorted: Vec::new(),
            leaves: Vec::new(),
            stack: Vec::new(),
            rejecting: Vec::new(),
        }
    }

    /// The protocol of the blocks' trees.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// Whether block `b` is the last accepted block or processing (avalanchego's `blocks`).
    fn live(&self, b: u32) -> bool {
        b == self.last_accepted || self.blocks[b as usize].status == Status::Processing
    }

    /// Adds a processing block on the last accepted block or on a processing block.
    pub fn add_block(&mut self, id: u64, parent: u64, height: u64) -> Result<Status, ChainError> {
        if id == GENESIS {
            return Err(ChainError::UnknownParent { block: id, parent });
        }
        if self.index.contains_key(&id) {
            return Err(ChainError::Duplicate(id));
        }
        let &p = self
            .index
            .get(&parent)
            .ok_or(ChainError::UnknownParent { block: id, parent })?;
        let pb = &self.blocks[p as usize];
        if !self.live(p) {
            let status = pb.status;
            return Err(ChainError::DecidedParent {
                block: id,
                parent,
                status,
            });
        }
        if height != pb.height + 1 {
            return Err(ChainError::BadHeight {
                block: id,
                height,
                parent_height: pb.height,
            });
        }
        let me = self.blocks.len() as u32;
        self.blocks
            .push(Block::new(id, p, height, Status::Processing));
        self.index.insert(id, me);
        let (params, protocol) = (self.params, self.protocol);
        let parent = &mut self.blocks[p as usize];
        parent.children.push(me);
        match &mut parent.tree {
            Some(t) => t.add(id),
            None => parent.tree = Some(Tree::new(protocol, &params, id)),
        }
        Ok(Status::Processing)
    }

    /// The status of a block, `None` when unknown.
    #[inline]
    pub fn status(&self, id: u64) -> Option<Status> {
        self.index.get(&id).map(|&i| self.blocks[i as usize].status)
    }

    /// Whether the block is accepted.
    pub fn is_accepted(&self, id: u64) -> bool {
        self.status(id) == Some(Status::Accepted)
    }

    /// The id of the last accepted block (the genesis at first).
    pub fn last_accepted(&self) -> u64 {
        self.blocks[self.last_accepted as usize].id
    }

    /// The height of the last accepted block.
    pub fn last_accepted_height(&self) -> u64 {
        self.blocks[self.last_accepted as usize].height
    }

    /// Blocks processing.
    pub fn processing(&self) -> usize {
        self.blocks.len() - 1 - self.accepted - self.rejected
    }

    /// The preferred tip: each tree's preference followed down from the last accepted block
    /// (the last accepted block itself when nothing is processing).
    pub fn preference(&self) -> u64 {
        let mut cur = self.last_accepted as usize;
        while let Some(t) = &self.blocks[cur].tree {
            cur = self.index[&t.preference()] as usize;
        }
        self.blocks[cur].id
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

    /// The printed tree of block `id`'s children, as avalanchego prints it.
    pub fn describe(&self, id: u64) -> Option<String> {
        let b = &self.blocks[*self.index.get(&id)? as usize];
        b.tree.as_ref().map(Tree::to_string)
    }

    /// Records one poll: `votes` is the bag (block id, count); votes for unknown or decided
    /// blocks count toward alpha_preference but for no block. Returns whether any block was
    /// decided by it.
    pub fn record_poll(&mut self, votes: &[(u64, usize)]) -> bool {
        let before = self.decided.len();
        let total: usize = votes.iter().map(|&(_, n)| n).sum();
        if total >= self.params.alpha_preference {
            self.sort_votes(votes);
            self.push_votes();
        }
        self.vote();
        for s in std::mem::take(&mut self.sorted) {
            let b = &mut self.blocks[s as usize];
            b.sorted = false;
            b.in_degree = 0;
            b.votes.clear();
        }
        self.decided.len() > before
    }

    fn entry(&mut self, b: u32) -> bool {
        let block = &mut self.blocks[b as usize];
        let seen = block.sorted;
        if !seen {
            block.sorted = true;
            self.sorted.push(b);
        }
        seen
    }

    /// Step 1a (avalanchego's `calculateInDegree`): each vote goes into its parent's bag; the
    /// blocks with votes in their bag and nothing below them are the leaves.
    fn sort_votes(&mut self, votes: &[(u64, usize)]) {
        for &(id, count) in votes {
            let Some(&v) = self.index.get(&id) else {
                continue;
            };
            if self.blocks[v as usize].status != Status::Processing {
                continue;
            }
            let mut p = self.blocks[v as usize].parent;
            let seen = self.entry(p);
            self.blocks[p as usize].votes.push((id, count as u32));
            if seen {
                continue;
            }
            self.leaves.push(p);
            while p != self.last_accepted {
                p = self.blocks[p as usize].parent;
                let seen = self.entry(p);
                self.blocks[p as usize].in_degree += 1;
                if seen {
                    if let Some(i) = self.leaves.iter().position(|&l| l == p) {
                        self.leaves.remove(i);
                    }
                    break;
                }
            }
        }
    }

    /// Step 1b (`pushVotes`): leaves hand their totals to their parents, children before
    /// parents; every block whose bag reached alpha_preference goes on the stack.
    fn push_votes(&mut self) {
        while let Some(leaf) = self.leaves.pop() {
            let b = &self.blocks[leaf as usize];
            let total: u32 = b.votes.iter().map(|&(_, n)| n).sum();
            if total as usize >= self.params.alpha_preference {
                self.stack.push(leaf);
            }
            if leaf == self.last_accepted {
                continue;
            }
            let (id, par) = (b.id, b.parent);
            let pb = &mut self.blocks[par as usize];
            pb.in_degree -= 1;
            pb.votes.push((id, total));
            if pb.in_degree == 0 {
                self.leaves.push(par);
            }
        }
    }

    /// Steps 2 and 3 (`vote`): the stack's blocks record their bags, from the last accepted
    /// block down.
    fn vote(&mut self) {
        if self.stack.is_empty() {
            let la = self.last_accepted as usize;
            self.blocks[la].should_falter = true;
            return;
        }
        while let Some(b) = self.stack.pop() {
            if !self.live(b) {
                break;
            }
            let block = &mut self.blocks[b as usize];
            let falter = std::mem::take(&mut block.should_falter);
            let tree = block
                .tree
                .as_mut()
                .expect("a block with votes has children");
            if falter {
                tree.record_unsuccessful_poll();
            }
            tree.record_poll(&mut block.votes);
            let finalized = tree.finalized();
            if finalized && b == self.last_accepted {
                self.accept_preferred_child(b);
            }
            let next = self.stack.last().copied();
            let block = &self.blocks[b as usize];
            for i in 0..block.children.len() {
                let c = self.blocks[b as usize].children[i];
                if !falter && Some(c) == next {
                    continue;
                }
                if self.live(c) {
                    self.blocks[c as usize].should_falter = true;
                }
            }
        }
        self.stack.clear();
    }

    /// Accepts block `b`'s preferred child and rejects the others with their descendants.
    fn accept_preferred_child(&mut self, b: u32) {
        let tree = self.blocks[b as usize]
            .tree
            .as_ref()
            .expect("a decided tree");
        let winner = self.index[&tree.preference()];
        debug_assert_eq!(self.blocks[winner as usize].parent, b);
        let w = &mut self.blocks[winner as usize];
        debug_assert_eq!(w.status, Status::Processing);
        w.status = Status::Accepted;
        self.accepted += 1;
        self.decided.push((w.id, Status::Accepted));
        debug_assert!(w.height > self.blocks[self.last_accepted as usize].height);
        self.last_accepted = winner;
        let children = std::mem::take(&mut self.blocks[b as usize].children);
        for &c in children.iter().filter(|&&c| c != winner) {
            self.reject_subtree(c);
        }
        self.blocks[b as usize].children = children;
    }

    fn reject_subtree(&mut self, top: u32) {
        self.rejecting.push(top);
        while let Some(n) = self.rejecting.pop() {
            let block = &mut self.blocks[n as usize];
            if block.status == Status::Processing {
                block.status = Status::Rejected;
                self.rejected += 1;
                self.decided.push((block.id, Status::Rejected));
                self.rejecting.extend_from_slice(&block.children);
            }
        }
    }
}
