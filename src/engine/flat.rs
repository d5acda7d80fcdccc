//! Flat: blocks that share a parent compete as the choices of one Slush, Snowflake or
//! Snowball decision; votes are not transitive.
//!
//! Each parent's children form one decision: by default a [`Tree`] over the children's
//! block ids (avalanchego's `snowball.Tree`), which records every poll's bag of votes for
//! them; or, shaped [`Shape::Flat`], one n-ary [`Decision`] recording the child with the
//! most votes (ties: smallest id), or an unsuccessful poll when none of them got a vote. When a decision finalizes, its preferred child is
//! accepted as soon as its parent is accepted, and the other children are rejected with all
//! their descendants. A block whose parent is rejected is rejected.

use crate::{ConsensusParams, Decision, Protocol, Shape, Status, Tree};
use rustc_hash::FxHashMap;

use crate::engine::GENESIS;

#[derive(Debug, Clone)]
struct Item {
    id: u64,
    parent: u32,
    status: Status,
    /// The decision among this item's children, created with the first child.
    group: Option<u32>,
}

/// The decision among one parent's children.
#[derive(Debug, Clone)]
enum Siblings {
    /// One n-ary instance over the children's positions.
    Flat(Decision),
    /// A tree over the children's ids, with the bag of the poll being applied.
    Tree(Tree, Vec<(u64, u32)>),
}

#[derive(Debug, Clone)]
struct Group {
    parent: u32,
    members: Vec<u32>,
    decision: Siblings,
    /// Flat: best (choice position, votes, id) in the poll being applied.
    best: Option<(u32, u32, u64)>,
}

impl Group {
    fn finalized(&self) -> bool {
        match &self.decision {
            Siblings::Flat(d) => d.finalized(),
            Siblings::Tree(t, _) => t.finalized(),
        }
    }
}

/// Independent decisions among siblings, one per parent block.
#[derive(Debug, Clone)]
pub struct Flat {
    protocol: Protocol,
    shape: Shape,
    params: ConsensusParams,
    items: Vec<Item>,
    index: FxHashMap<u64, u32>,
    groups: Vec<Group>,
    /// Groups whose decision is not finalized yet, or finalized but not applied.
    active: Vec<u32>,
    accepted: usize,
    rejected: usize,
    decided: Vec<(u64, Status)>,
    stack: Vec<u32>,
}

impl Flat {
    /// An empty engine holding only the accepted genesis block, whose sibling sets decide
    /// with `protocol` shaped as `shape`.
    pub fn new(protocol: Protocol, shape: Shape, params: &ConsensusParams) -> Self {
        let mut index = FxHashMap::default();
        index.insert(GENESIS, 0);
        Flat {
            protocol,
            shape,
            params: *params,
            items: vec![Item {
                id: GENESIS,
                parent: 0,
                status: Status::Accepted,
                group: None,
            }],
            index,
            groups: Vec::new(),
            active: Vec::new(),
            accepted: 0,
            rejected: 0,
            decided: Vec::new(),
            stack: Vec::new(),
        }
    }

    /// Whether `id` is known (the genesis included).
    #[inline]
    pub fn contains(&self, id: u64) -> bool {
        self.index.contains_key(&id)
    }

    /// Adds a block under a known parent; returns its status (rejected when the parent is
    /// rejected or its siblings' decision is already final), `None` when the parent is unknown
    /// or the id is taken.
    pub fn add(&mut self, id: u64, parent: u64) -> Option<Status> {
        if self.index.contains_key(&id) {
            return None;
        }
        let p = *self.index.get(&parent)?;
        let me = self.items.len() as u32;
        let closed = match self.items[p as usize].group {
            Some(g) => self.groups[g as usize].finalized(),
            None => false,
        };
        let status = if self.items[p as usize].status == Status::Rejected || closed {
            Status::Rejected
        } else {
            Status::Processing
        };
        self.items.push(Item {
            id,
            parent: p,
            status,
            group: None,
        });
        self.index.insert(id, me);
        if status == Status::Rejected {
            self.rejected += 1;
            self.decided.push((id, Status::Rejected));
            return Some(status);
        }
        match self.items[p as usize].group {
            Some(g) => {
                let group = &mut self.groups[g as usize];
                group.members.push(me);
                match &mut group.decision {
                    Siblings::Flat(Decision::Snowball(s)) => {
                        s.add_choice();
                    }
                    Siblings::Flat(_) => {}
                    Siblings::Tree(t, _) => t.add(id),
                }
            }
            None => {
                let g = self.groups.len() as u32;
                let decision = match self.shape {
                    Shape::Flat => Siblings::Flat(Decision::new(
                        self.protocol,
                        Shape::Flat,
                        &self.params,
                        1,
                        0,
                    )),
                    Shape::Tree => {
                        Siblings::Tree(Tree::new(self.protocol, &self.params, id), Vec::new())
                    }
                };
                self.groups.push(Group {
                    parent: p,
                    members: vec![me],
                    decision,
                    best: None,
                });
                self.items[p as usize].group = Some(g);
                self.active.push(g);
            }
        }
        Some(status)
    }

    /// The status of a block, `None` when unknown.
    #[inline]
    pub fn status(&self, id: u64) -> Option<Status> {
        self.index.get(&id).map(|&i| self.items[i as usize].status)
    }

    /// The preferred child of `parent`, if it has children.
    pub fn preferred_child(&self, parent: u64) -> Option<u64> {
        let p = *self.index.get(&parent)?;
        let g = &self.groups[self.items[p as usize].group? as usize];
        Some(self.items[self.winner(g) as usize].id)
    }

    /// The item a group prefers.
    fn winner(&self, g: &Group) -> u32 {
        match &g.decision {
            Siblings::Flat(d) => g.members[d.preference()],
            Siblings::Tree(t, _) => self.index[&t.preference()],
        }
    }

    /// The preferred tip: follow preferred children down from the genesis.
    pub fn preference(&self) -> u64 {
        let mut id = GENESIS;
        while let Some(c) = self.preferred_child(id) {
            id = c;
        }
        id
    }

    /// Blocks accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted
    }

    /// Blocks rejected so far.
    pub fn rejected(&self) -> usize {
        self.rejected
    }

    /// Decisions in the order they were made, since the last [`Flat::clear_decided`].
    pub fn decided(&self) -> &[(u64, Status)] {
        &self.decided
    }

    /// Forgets the decisions reported by [`Flat::decided`].
    pub fn clear_decided(&mut self) {
        self.decided.clear();
    }

    /// Records one poll, the bag (block id, count); returns whether any block was decided.
    pub fn record_poll(&mut self, votes: &[(u64, usize)]) -> bool {
        for &(id, count) in votes {
            let Some(&i) = self.index.get(&id) else {
                continue;
            };
            let item = &self.items[i as usize];
            if item.status != Status::Processing {
                continue;
            }
            let Some(g) = self.items[item.parent as usize].group else {
                continue;
            };
            let group = &mut self.groups[g as usize];
            let count = count as u32;
            if let Siblings::Tree(_, bag) = &mut group.decision {
                bag.push((id, count));
                continue;
            }
            let Some(pos) = group.members.iter().position(|&m| m == i) else {
                continue;
            };
            let better = match group.best {
                None => true,
                Some((_, c, bid)) => count > c || (count == c && id < bid),
            };
            if better {
                group.best = Some((pos as u32, count, id));
            }
        }
        for &g in &self.active {
            let group = &mut self.groups[g as usize];
            match (&mut group.decision, group.best.take()) {
                (Siblings::Tree(t, bag), _) => {
                    t.record_poll(bag);
                    bag.clear();
                }
                (Siblings::Flat(d), Some((pos, count, _))) => {
                    d.record_poll(count as usize, pos as usize)
                }
                (Siblings::Flat(d), None) => d.record_unsuccessful_poll(),
            }
        }
        self.apply_decisions()
    }

    /// Accepts the winners of finalized decisions whose parent is accepted, to a fixpoint.
    fn apply_decisions(&mut self) -> bool {
        let mut any = false;
        let mut progress = true;
        while progress {
            progress = false;
            let mut i = 0;
            while i < self.active.len() {
                let g = self.active[i] as usize;
                let group = &self.groups[g];
                let parent_status = self.items[group.parent as usize].status;
                if parent_status == Status::Rejected {
                    // Rejected with the parent's subtree already.
                    self.active.remove(i);
                    continue;
                }
                if !group.finalized() || parent_status != Status::Accepted {
                    i += 1;
                    continue;
                }
                let winner = self.winner(group);
                let members = std::mem::take(&mut self.groups[g].members);
                for &m in &members {
                    if m == winner {
                        let item = &mut self.items[m as usize];
                        item.status = Status::Accepted;
                        self.accepted += 1;
                        self.decided.push((item.id, Status::Accepted));
                    } else {
                        self.reject_subtree(m);
                    }
                }
                self.groups[g].members = members;
                // `remove`, not `swap_remove`: the active list stays in creation order.
                self.active.remove(i);
                any = true;
                progress = true;
            }
        }
        any
    }

    fn reject_subtree(&mut self, top: u32) {
        self.stack.push(top);
        while let Some(n) = self.stack.pop() {
            let item = &mut self.items[n as usize];
            if item.status == Status::Processing {
                item.status = Status::Rejected;
                self.rejected += 1;
                self.decided.push((item.id, Status::Rejected));
            }
            if let Some(g) = item.group {
                self.stack
                    .extend_from_slice(&self.groups[g as usize].members);
            }
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
    fn siblings_compete_and_the_winner_is_accepted() {
        let mut f = Flat::new(Protocol::Snowball, Shape::Flat, &small());
        assert_eq!(f.add(1, GENESIS), Some(Status::Processing));
        assert_eq!(f.add(2, GENESIS), Some(Status::Processing));
        assert_eq!(f.add(3, 2), Some(Status::Processing));
        assert_eq!(f.preference(), 1);
        assert!(!f.record_poll(&[(2, 4), (1, 1)]));
        assert!(!f.record_poll(&[(2, 4), (1, 1)]));
        assert!(f.record_poll(&[(1, 1), (2, 4)]));
        assert_eq!(f.status(2), Some(Status::Accepted));
        assert_eq!(f.status(1), Some(Status::Rejected));
        assert_eq!(f.preference(), 3);
        assert_eq!(f.add(4, GENESIS), Some(Status::Rejected), "decision closed");
    }

    #[test]
    fn votes_are_not_transitive() {
        let mut f = Flat::new(Protocol::Snowflake, Shape::Flat, &small());
        f.add(1, GENESIS);
        f.add(2, 1);
        for _ in 0..3 {
            f.record_poll(&[(2, 5)]);
        }
        assert_eq!(f.status(1), Some(Status::Processing), "no votes for 1");
        assert_eq!(
            f.status(2),
            Some(Status::Processing),
            "final, waits for its parent"
        );
        for _ in 0..3 {
            f.record_poll(&[(1, 5)]);
        }
        assert_eq!(f.status(1), Some(Status::Accepted));
        assert_eq!(
            f.status(2),
            Some(Status::Accepted),
            "unblocked by its parent"
        );
        assert_eq!(f.decided(), &[(1, Status::Accepted), (2, Status::Accepted)]);
    }

    #[test]
    fn a_rejected_block_takes_its_descendants_with_it() {
        let mut f = Flat::new(Protocol::Snowball, Shape::Flat, &small());
        f.add(1, GENESIS);
        f.add(2, GENESIS);
        f.add(3, 1);
        f.add(4, 3);
        for _ in 0..3 {
            f.record_poll(&[(2, 5)]);
        }
        for id in [1, 3, 4] {
            assert_eq!(f.status(id), Some(Status::Rejected), "{id}");
        }
        assert_eq!(f.rejected(), 3);
        assert_eq!(f.add(5, 4), Some(Status::Rejected));
    }

    #[test]
    fn slush_decides_after_beta_polls_whatever_the_votes() {
        let mut f = Flat::new(Protocol::Slush, Shape::Flat, &small());
        f.add(1, GENESIS);
        f.record_poll(&[]);
        f.record_poll(&[(1, 1)]);
        assert_eq!(f.status(1), Some(Status::Processing));
        f.record_poll(&[]);
        assert_eq!(f.status(1), Some(Status::Accepted));
    }

    #[test]
    fn unknown_parent_and_duplicate_are_refused() {
        let mut f = Flat::new(Protocol::Snowball, Shape::Flat, &small());
        assert_eq!(f.add(1, 9), None);
        assert_eq!(f.add(1, GENESIS), Some(Status::Processing));
        assert_eq!(f.add(1, GENESIS), None);
        assert!(f.contains(GENESIS) && f.contains(1) && !f.contains(9));
    }

    #[test]
    fn a_tree_pools_votes_that_share_bits_and_flat_does_not() {
        // Siblings 2 (0b10, preferred first), 1 (0b01) and 3 (0b11): 1 and 3 share bit 0.
        let poll = [(1, 2), (3, 2)];
        let mut tree = Flat::new(Protocol::Snowball, Shape::Tree, &small());
        let mut flat = Flat::new(Protocol::Snowball, Shape::Flat, &small());
        for f in [&mut tree, &mut flat] {
            for id in [2, 1, 3] {
                f.add(id, GENESIS);
            }
            assert_eq!(f.preference(), 2);
            f.record_poll(&poll);
        }
        assert_eq!(flat.preference(), 2, "no child got alpha = 3 votes");
        assert_ne!(tree.preference(), 2, "bit 0 = 1 got 4 votes");
        for _ in 0..3 {
            tree.record_poll(&[(3, 4), (1, 1)]);
        }
        assert_eq!(tree.status(3), Some(Status::Accepted));
        assert_eq!(tree.status(1), Some(Status::Rejected));
        assert_eq!(tree.status(2), Some(Status::Rejected));
    }
}
