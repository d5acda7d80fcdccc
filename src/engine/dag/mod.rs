//! Avalanche: the DAG engine. Vertices carry transactions and name parent vertices; each
//! conflict set (transactions with the same conflict key) runs a [`Snowball`].
//!
//! Rules (`../shared/spec/engines.md`, "DAG (Avalanche)" and "Polls"):
//! - A vote for vertex V counts for V and each processing ancestor of V, once per bag entry
//!   even through several paths; a transaction gets its vertex's votes. Votes for unknown or
//!   decided vertices are dropped; the bag is not checked against k.
//! - Each poll, every set not finalized that has a processing transaction records its
//!   processing transaction with the most votes (ties: smallest id) in its Snowball, or an
//!   unsuccessful poll if none got a vote. Choice = position in the set (insertion order); the
//!   first transaction is the initial preference.
//! - A transaction is accepted when its set is finalized on it and all parents of its vertex
//!   are accepted (so every transaction it depends on is); its conflicts are then rejected.
//!   A vertex is accepted when its parents and transactions are (a vertex without
//!   transactions as soon as its parents are), rejected when a parent or transaction is.
//!   Both run to a fixpoint after each poll and each added vertex.
//!
//! Choices where the spec is silent:
//! - A rejected vertex rejects its processing transactions (it gets no more votes); an
//!   accepted transaction stays accepted.
//! - When a transaction is rejected through its vertex while it is its set's preference, the
//!   set's Snowball restarts, preferring its first processing member; otherwise a set
//!   finalized on a dead transaction would block its other members forever.
//! - A transaction joining a set that already accepted one is rejected at once, with its
//!   vertex; so is a vertex naming a rejected parent. Duplicate parents are merged.
//! - [`GENESIS`] cannot be added and does not count in [`Dag::accepted_vertices`]. Decided
//!   transactions and vertices are preferred when accepted, not preferred when rejected.
//! - `record_poll` does not allocate in steady state (scratch buffers, generation stamps);
//!   only a Snowball restart does.

use crate::Status::{Accepted, Processing, Rejected};
use crate::{ConsensusParams, Snowball, Status};
use rustc_hash::FxHashMap;
use thiserror::Error;

use crate::engine::GENESIS;

/// Why a vertex could not be added; the DAG is then left unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DagError {
    /// A parent is neither a known vertex nor [`GENESIS`].
    #[error("vertex {vertex} names unknown parent {parent}")]
    UnknownParent {
        /// The vertex being added.
        vertex: u64,
        /// The unknown parent.
        parent: u64,
    },
    /// The vertex id is already known (or is [`GENESIS`]).
    #[error("vertex {0} already exists")]
    DuplicateVertex(u64),
    /// The transaction id is already known, or given twice.
    #[error("transaction {0} already exists")]
    DuplicateTransaction(u64),
    /// A vertex must name at least one parent.
    #[error("vertex {0} has no parents")]
    NoParents(u64),
}

/// Parents, children and txs are dense indices; parents sorted, unique, without genesis.
#[derive(Debug, Clone)]
struct Vertex {
    id: u64,
    status: Status,
    parents: Vec<u32>,
    children: Vec<u32>,
    txs: Vec<u32>,
}

#[derive(Debug, Clone)]
struct Tx {
    id: u64,
    status: Status,
    vertex: u32,
    set: u32,
    choice: u32,
}

/// `processing`: members still processing; `decided`: one was accepted; `active`: polled.
#[derive(Debug, Clone)]
struct ConflictSet {
    members: Vec<u32>,
    snowball: Snowball,
    processing: u32,
    decided: bool,
    active: bool,
}

/// The Avalanche DAG engine: a pure state machine fed with vertices and polls.
#[derive(Debug, Clone, Default)]
pub struct Dag {
    params: ConsensusParams,
    vertices: Vec<Vertex>,
    txs: Vec<Tx>,
    sets: Vec<ConflictSet>,
    vertex_index: FxHashMap<u64, u32>,
    tx_index: FxHashMap<u64, u32>,
    set_index: FxHashMap<u64, u32>,
    /// Processing vertices, ascending dense index (parents before children).
    processing: Vec<u32>,
    /// Sets polled on each poll (not finalized, with processing members).
    active: Vec<u32>,
    counts: [usize; 4], // accepted vertices, accepted txs, rejected txs, rejected vertices
    /// Id of the vertex accepted last ([`GENESIS`] before any).
    last_accepted: u64,
    // Scratch, reused across polls.
    stamp: Vec<u32>,
    generation: u32,
    votes: Vec<usize>,
    touched: Vec<u32>,
    stack: Vec<u32>,
    tx_work: Vec<u32>,
    vertex_work: Vec<u32>,
    reject_work: Vec<u32>,
}

impl Dag {
    /// An empty DAG (only the accepted [`GENESIS`]) with the given parameters.
    pub fn new(params: &ConsensusParams) -> Dag {
        let params = *params;
        Dag {
            params,
            ..Dag::default()
        }
    }

    /// Adds vertex `id` over `parents` (known ids or [`GENESIS`]) carrying `txs`, each
    /// `(transaction id, conflict key)`: transactions with the same key conflict.
    pub fn add_vertex(
        &mut self,
        id: u64,
        parents: &[u64],
        txs: &[(u64, u64)],
    ) -> Result<(), DagError> {
        if id == GENESIS || self.vertex_index.contains_key(&id) {
            return Err(DagError::DuplicateVertex(id));
        } else if parents.is_empty() {
            return Err(DagError::NoParents(id));
        }
        let mut ps = Vec::with_capacity(parents.len());
        for &parent in parents.iter().filter(|&&p| p != GENESIS) {
            let err = DagError::UnknownParent { vertex: id, parent };
            ps.push(*self.vertex_index.get(&parent).ok_or(err)?);
        }
        ps.sort_unstable();
        ps.dedup();
        let (v, first_tx) = (self.vertices.len() as u32, self.txs.len() as u32);
        for (i, &(t, _)) in txs.iter().enumerate() {
            if let Some(old) = self.tx_index.insert(t, first_tx + i as u32) {
                for (u, _) in &txs[..i] {
                    self.tx_index.remove(u);
                }
                if old < first_tx {
                    self.tx_index.insert(t, old); // else t was in txs[..i]: removed
                }
                return Err(DagError::DuplicateTransaction(t));
            }
        }
        for &p in &ps {
            self.vertices[p as usize].children.push(v);
        }
        let parent_rejected = ps.iter().any(|&p| self.vx(p).status == Rejected);
        for &(id, key) in txs {
            let (ti, new) = (self.txs.len() as u32, self.sets.len() as u32);
            let set = *self.set_index.entry(key).or_insert(new);
            if set == new {
                let snowball = Snowball::new(&self.params, 0, 0);
                let (members, processing, decided, active) = (Vec::new(), 0, false, false);
                self.sets.push(ConflictSet {
                    members,
                    snowball,
                    processing,
                    decided,
                    active,
                });
            }
            let s = &mut self.sets[set as usize];
            let choice = s.snowball.add_choice() as u32;
            s.members.push(ti);
            s.processing += 1;
            self.txs.push(Tx {
                id,
                status: Processing,
                vertex: v,
                set,
                choice,
            });
        }
        let (children, txs) = (Vec::new(), (first_tx..self.txs.len() as u32).collect());
        let vertex = Vertex {
            id,
            status: Processing,
            parents: ps,
            children,
            txs,
        };
        self.vertices.push(vertex);
        self.vertex_index.insert(id, v);
        self.stamp.push(0);
        self.votes.push(0);
        if parent_rejected {
            self.reject_vertex(v);
        }
        for t in first_tx..self.txs.len() as u32 {
            if self.sets[self.tx(t).set as usize].decided {
                self.reject_tx(t);
            }
        }
        self.vertex_work.push(v);
        self.settle();
        if self.vx(v).status == Processing {
            self.processing.push(v);
        }
        for t in first_tx..self.txs.len() as u32 {
            self.activate(self.tx(t).set);
        }
        Ok(())
    }

    /// Records one poll: the bag of `(vertex id, count)`; unknown or decided vertices are ignored.
    pub fn record_poll(&mut self, votes: &[(u64, usize)]) {
        // 1. Transitive votes over processing ancestors, once per bag entry.
        for &(id, count) in votes {
            let Some(&v) = self.vertex_index.get(&id) else {
                continue;
            };
            if count == 0 || self.vx(v).status != Processing {
                continue;
            }
            if self.generation == u32::MAX {
                self.stamp.fill(0);
                self.generation = 0;
            }
            self.generation += 1;
            let g = self.generation;
            self.stamp[v as usize] = g;
            self.stack.push(v);
            while let Some(u) = self.stack.pop() {
                if self.votes[u as usize] == 0 {
                    self.touched.push(u);
                }
                self.votes[u as usize] = self.votes[u as usize].saturating_add(count);
                for &p in &self.vertices[u as usize].parents {
                    if self.stamp[p as usize] != g && self.vertices[p as usize].status == Processing
                    {
                        self.stamp[p as usize] = g;
                        self.stack.push(p);
                    }
                }
            }
        }
        // 2. One Snowball poll per active conflict set.
        for &s in &self.active {
            let set = &mut self.sets[s as usize];
            if !Self::wants_polls(set) {
                continue; // decided or finalized since the list was last pruned
            }
            let mut best: Option<(usize, u64, usize)> = None; // (votes, tx id, choice)
            for (choice, &m) in set.members.iter().enumerate() {
                let tx = &self.txs[m as usize];
                let c = self.votes[tx.vertex as usize];
                let beats = best.is_none_or(|(bc, bid, _)| c > bc || (c == bc && tx.id < bid));
                if tx.status == Processing && c > 0 && beats {
                    best = Some((c, tx.id, choice));
                }
            }
            match best {
                Some((c, _, choice)) => set.snowball.record_poll(c, choice),
                None => set.snowball.record_unsuccessful_poll(),
            }
            if set.snowball.finalized() {
                self.tx_work.push(set.members[set.snowball.preference()]);
            }
        }
        for &u in &self.touched {
            self.votes[u as usize] = 0;
        }
        self.touched.clear();
        // 3. Accept and reject to a fixpoint, then drop what was decided from the lists.
        self.settle();
        let vertices = &self.vertices;
        self.processing
            .retain(|&v| vertices[v as usize].status == Processing);
        let sets = &mut self.sets;
        self.active.retain(|&s| {
            let set = &mut sets[s as usize];
            set.active = Self::wants_polls(set);
            set.active
        });
    }

    /// Status of vertex `id` ([`GENESIS`] is accepted); `None` if unknown.
    pub fn vertex_status(&self, id: u64) -> Option<Status> {
        if id == GENESIS {
            return Some(Accepted);
        }
        self.vertex_index.get(&id).map(|&v| self.vx(v).status)
    }

    /// Status of transaction `id`; `None` if unknown.
    pub fn tx_status(&self, id: u64) -> Option<Status> {
        self.tx_index.get(&id).map(|&t| self.tx(t).status)
    }

    /// Whether vertex `id` is accepted ([`GENESIS`] is).
    pub fn is_accepted(&self, vertex: u64) -> bool {
        self.vertex_status(vertex) == Some(Accepted)
    }

    /// Whether transaction `tx` is its conflict set's Snowball preference (or accepted).
    pub fn is_preferred_tx(&self, tx: u64) -> bool {
        self.tx_index
            .get(&tx)
            .is_some_and(|&t| self.tx_preferred(t))
    }

    /// Whether all txs of `vertex` and all its processing ancestors are preferred (or accepted).
    pub fn is_preferred_vertex(&self, vertex: u64) -> bool {
        match self.vertex_status(vertex) {
            Some(Accepted) => true,
            Some(Processing) => {
                let (v, flags) = (self.vertex_index[&vertex], self.preferred_flags());
                self.processing.binary_search(&v).is_ok_and(|i| flags[i])
            }
            _ => false,
        }
    }

    /// Clears `out`, pushes the preferred processing vertices without a preferred processing
    /// child, ascending.
    pub fn preferred_frontier(&self, out: &mut Vec<u64>) {
        out.clear();
        let flags = self.preferred_flags();
        let mut has_child = vec![false; flags.len()];
        for (&v, _) in self.processing.iter().zip(&flags).filter(|(_, &f)| f) {
            for p in &self.vx(v).parents {
                self.processing
                    .binary_search(p)
                    .map(|j| has_child[j] = true)
                    .ok();
            }
        }
        for (i, &v) in self.processing.iter().enumerate() {
            if flags[i] && !has_child[i] {
                out.push(self.vx(v).id);
            }
        }
        out.sort_unstable();
    }

    /// Number of vertices still processing.
    pub fn processing_vertices(&self) -> usize {
        self.processing.len()
    }

    /// Id of the vertex accepted last ([`GENESIS`] before any).
    pub fn last_accepted(&self) -> u64 {
        self.last_accepted
    }

    /// Number of accepted vertices, [`GENESIS`] not included.
    pub fn accepted_vertices(&self) -> usize {
        self.counts[0]
    }

    /// Number of rejected vertices.
    pub fn rejected_vertices(&self) -> usize {
        self.counts[3]
    }

    /// Number of accepted transactions.
    pub fn accepted_txs(&self) -> usize {
        self.counts[1]
    }

    /// Number of rejected transactions.
    pub fn rejected_txs(&self) -> usize {
        self.counts[2]
    }

    fn vx(&self, v: u32) -> &Vertex {
        &self.vertices[v as usize]
    }

    fn tx(&self, t: u32) -> &Tx {
        &self.txs[t as usize]
    }

    fn tx_preferred(&self, t: u32) -> bool {
        let tx = self.tx(t);
        match tx.status {
            Processing => self.sets[tx.set as usize].snowball.preference() == tx.choice as usize,
            status => status == Accepted,
        }
    }

    /// Preference of each entry of `self.processing` (parents come before children).
    fn preferred_flags(&self) -> Vec<bool> {
        let mut flags = Vec::with_capacity(self.processing.len());
        for &v in &self.processing {
            let parent_ok = |&p: &u32| match self.vx(p).status {
                Processing => self.processing.binary_search(&p).is_ok_and(|j| flags[j]),
                status => status == Accepted,
            };
            let vx = self.vx(v);
            flags.push(
                vx.txs.iter().all(|&t| self.tx_preferred(t)) && vx.parents.iter().all(parent_ok),
            );
        }
        flags
    }

    fn wants_polls(set: &ConflictSet) -> bool {
        !set.decided && !set.snowball.finalized() && set.processing > 0
    }

    fn activate(&mut self, s: u32) {
        let set = &mut self.sets[s as usize];
        if !set.active && Self::wants_polls(set) {
            set.active = true;
            self.active.push(s);
        }
    }

    fn parents_accepted(&self, v: u32) -> bool {
        self.vx(v)
            .parents
            .iter()
            .all(|&p| self.vx(p).status == Accepted)
    }

    /// Drains the acceptance work lists; rejections happen eagerly and never enable acceptance.
    fn settle(&mut self) {
        loop {
            if let Some(t) = self.tx_work.pop() {
                self.try_accept_tx(t);
            } else if let Some(v) = self.vertex_work.pop() {
                self.try_accept_vertex(v);
            } else {
                break;
            }
        }
    }

    fn try_accept_tx(&mut self, t: u32) {
        let (tx, s) = (self.tx(t), self.tx(t).set as usize);
        let sb = &self.sets[s].snowball;
        let chosen = sb.finalized() && sb.preference() == tx.choice as usize;
        if tx.status != Processing || !chosen || !self.parents_accepted(tx.vertex) {
            return;
        }
        self.vertex_work.push(tx.vertex);
        self.txs[t as usize].status = Accepted;
        self.counts[1] += 1;
        self.sets[s].processing -= 1;
        self.sets[s].decided = true;
        for i in 0..self.sets[s].members.len() {
            self.reject_tx(self.sets[s].members[i]);
        }
    }

    fn try_accept_vertex(&mut self, v: u32) {
        let vx = self.vx(v);
        let txs_ok = vx.txs.iter().all(|&t| self.tx(t).status == Accepted);
        if vx.status != Processing || !txs_ok || !self.parents_accepted(v) {
            return;
        }
        self.vertices[v as usize].status = Accepted;
        self.last_accepted = self.vertices[v as usize].id;
        self.counts[0] += 1;
        for &c in &self.vertices[v as usize].children {
            self.vertex_work.push(c);
            self.tx_work
                .extend_from_slice(&self.vertices[c as usize].txs);
        }
    }

    /// Rejects a processing transaction and, with it, its vertex and the vertex's descendants.
    fn reject_tx(&mut self, t: u32) {
        if self.tx(t).status == Processing {
            self.mark_tx_rejected(t);
            self.reject_vertex(self.tx(t).vertex);
        }
    }

    fn reject_vertex(&mut self, v: u32) {
        self.reject_work.push(v);
        while let Some(u) = self.reject_work.pop() {
            if self.vx(u).status == Processing {
                self.vertices[u as usize].status = Rejected;
                self.counts[3] += 1;
                for i in 0..self.vx(u).txs.len() {
                    let t = self.vx(u).txs[i];
                    if self.tx(t).status == Processing {
                        self.mark_tx_rejected(t);
                    }
                }
                self.reject_work
                    .extend_from_slice(&self.vertices[u as usize].children);
            }
        }
    }

    /// Marks one transaction rejected; restarts its set's Snowball if it was the live preference.
    fn mark_tx_rejected(&mut self, t: u32) {
        let tx = &mut self.txs[t as usize];
        tx.status = Rejected;
        self.counts[2] += 1;
        let (s, choice) = (tx.set, tx.choice as usize);
        let set = &mut self.sets[s as usize];
        set.processing -= 1;
        if set.decided || set.snowball.preference() != choice {
            return;
        }
        let txs = &self.txs;
        let live = set
            .members
            .iter()
            .position(|&m| txs[m as usize].status == Processing);
        set.snowball = Snowball::new(&self.params, set.members.len(), live.unwrap_or(0));
        self.activate(s);
    }
}

#[cfg(test)]
mod tests;
