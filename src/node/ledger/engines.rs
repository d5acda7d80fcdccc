//! The engine of a ledger node, chain or dag, with what the node keeps beside it: the
//! decisions to report, and for a dag the leaves it names and builds on.
//!
//! Dag leaves: the preferred frontier of the engine (processing vertices) together with the
//! settled leaves, accepted vertices without a live (processing or accepted) child. Queries
//! and answers name the frontier (its oldest vertices and its newest when it is too large)
//! and, in the room left, the newest settled leaves, so that a node still deciding a
//! vertex that others accepted keeps getting votes for it. New vertices take clean leaves
//! as parents (accepted ones, or processing ones without a transaction known to conflict),
//! so that accepted double spends get built upon.

use super::store::Store;
use super::{BlockHeader, IdsBuf, Item, LedgerKind, Output, Report, Vertex, GENESIS};
use crate::{Chain, ChainError, ConsensusParams, Dag, Protocol, Status};
use rustc_hash::FxHashMap;
use std::sync::Arc;

/// The chain stays inline (it is polled on every answer); the large dag is boxed.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
enum LedgerEngine {
    Chain(Chain),
    Dag(Box<Dag>),
}

/// A node's engine and its bookkeeping.
#[derive(Debug, Clone)]
pub(super) struct Ledger {
    engine: LedgerEngine,
    // Dag: processing vertices and txs (to report decisions), the decision counts last seen,
    // how often each conflict key was seen, the leaves.
    pending_vertices: Vec<u64>,
    pending_txs: Vec<(u64, u64)>,
    counts: [usize; 4],
    key_count: FxHashMap<u64, u32>,
    /// Vertex -> children added and not rejected.
    live_children: FxHashMap<u64, u32>,
    frontier: Vec<u64>,
    settled: Vec<u64>,
    leaves: Vec<u64>,
    /// Chain: blocks the engine refused for a decided ancestry, to report as rejected.
    refused: Vec<u64>,
    /// Chain: every block so refused, ascending (their status is rejected).
    refused_ids: Vec<u64>,
}

/// Inserts `id` into the ascending `v` unless present.
fn insert_sorted(v: &mut Vec<u64>, id: u64) {
    if let Err(i) = v.binary_search(&id) {
        v.insert(i, id);
    }
}

/// Removes `id` from the ascending `v` if present.
fn remove_sorted(v: &mut Vec<u64>, id: u64) {
    if let Ok(i) = v.binary_search(&id) {
        v.remove(i);
    }
}

impl Ledger {
    pub(super) fn new(
        kind: LedgerKind,
        params: &ConsensusParams,
        block_protocol: Protocol,
    ) -> Self {
        let engine = match kind {
            LedgerKind::Chain => LedgerEngine::Chain(Chain::with_protocol(params, block_protocol)),
            LedgerKind::Dag => LedgerEngine::Dag(Box::new(Dag::new(params))),
        };
        Ledger {
            engine,
            pending_vertices: Vec::new(),
            pending_txs: Vec::new(),
            counts: [0; 4],
            key_count: FxHashMap::default(),
            live_children: FxHashMap::default(),
            frontier: Vec::new(),
            refused: Vec::new(),
            refused_ids: Vec::new(),
            settled: Vec::new(),
            leaves: Vec::new(),
        }
    }

    pub(super) fn kind(&self) -> LedgerKind {
        match self.engine {
            LedgerEngine::Chain(_) => LedgerKind::Chain,
            LedgerEngine::Dag(_) => LedgerKind::Dag,
        }
    }

    pub(super) fn chain(&self) -> Option<&Chain> {
        match &self.engine {
            LedgerEngine::Chain(c) => Some(c),
            LedgerEngine::Dag(_) => None,
        }
    }

    pub(super) fn dag(&self) -> Option<&Dag> {
        match &self.engine {
            LedgerEngine::Chain(_) => None,
            LedgerEngine::Dag(d) => Some(d),
        }
    }

    pub(super) fn status(&self, id: u64) -> Option<Status> {
        match &self.engine {
            LedgerEngine::Chain(c) => c.status(id).or_else(|| {
                (self.refused_ids.binary_search(&id).is_ok()).then_some(Status::Rejected)
            }),
            LedgerEngine::Dag(d) => d.vertex_status(id),
        }
    }

    /// The last accepted block or vertex.
    pub(super) fn last_accepted(&self) -> u64 {
        match &self.engine {
            LedgerEngine::Chain(c) => c.last_accepted(),
            LedgerEngine::Dag(d) => d.last_accepted(),
        }
    }

    pub(super) fn accepted_items(&self) -> usize {
        match &self.engine {
            LedgerEngine::Chain(c) => c.accepted(),
            LedgerEngine::Dag(d) => d.accepted_vertices(),
        }
    }

    /// The height sent in a `Get`: the last accepted height (chain), 0 (dag).
    pub(super) fn fetch_floor(&self) -> u64 {
        self.chain().map_or(0, Chain::last_accepted_height)
    }

    pub(super) fn has_processing(&self) -> bool {
        match &self.engine {
            LedgerEngine::Chain(c) => c.preference() != c.last_accepted(),
            LedgerEngine::Dag(d) => d.processing_vertices() > 0,
        }
    }

    /// Adds an item whose parents are all in the engine; false for a malformed one.
    pub(super) fn add(&mut self, item: &Item) -> bool {
        match (&mut self.engine, item) {
            (LedgerEngine::Chain(c), Item::Block(b)) => {
                match c.add_block(b.id, b.parent, b.height) {
                    Ok(_) => true,
                    // Its parent is decided, or was itself refused so: it can never be
                    // accepted. The store keeps it (its children follow it) and it is
                    // reported as rejected, as a block on a rejected parent is.
                    Err(ChainError::DecidedParent { .. } | ChainError::UnknownParent { .. }) => {
                        self.refused.push(b.id);
                        insert_sorted(&mut self.refused_ids, b.id);
                        true
                    }
                    Err(ChainError::Duplicate(_) | ChainError::BadHeight { .. }) => false,
                }
            }
            (LedgerEngine::Dag(d), Item::Vertex(v)) => {
                if d.add_vertex(v.id, &v.parents, &v.txs).is_err() {
                    return false;
                }
                self.pending_vertices.push(v.id);
                self.pending_txs.extend_from_slice(&v.txs);
                for &(_, key) in &v.txs {
                    *self.key_count.entry(key).or_default() += 1;
                }
                for &p in &v.parents {
                    *self.live_children.entry(p).or_default() += 1;
                    remove_sorted(&mut self.settled, p);
                }
                true
            }
            _ => false,
        }
    }

    /// Records a poll's bag.
    pub(super) fn record(&mut self, bag: &[(u64, usize)]) {
        match &mut self.engine {
            LedgerEngine::Chain(c) => {
                c.record_poll(bag);
            }
            LedgerEngine::Dag(d) => d.record_poll(bag),
        }
    }

    /// Reports the decisions made since the last call; returns the ids to name in queries
    /// and answers, and the height of the preferred tip (dag: of the newest leaf).
    pub(super) fn settle(&mut self, store: &Store, out: &mut Vec<Output>) -> (IdsBuf, u64) {
        let height_of = |id: u64| store.get(id).map_or(0, Item::height);
        match &mut self.engine {
            LedgerEngine::Chain(c) => {
                for id in self.refused.drain(..) {
                    let height = height_of(id);
                    out.push(Output::Report(Report::Rejected { id, height }));
                }
                for &(id, status) in c.decided() {
                    let height = height_of(id);
                    out.push(match status {
                        Status::Accepted => Output::Report(Report::Accepted { id, height }),
                        _ => Output::Report(Report::Rejected { id, height }),
                    });
                }
                c.clear_decided();
                let pref = c.preference();
                let height = if pref == c.last_accepted() {
                    c.last_accepted_height()
                } else {
                    height_of(pref)
                };
                let mut tips = IdsBuf::default();
                if pref != GENESIS {
                    tips.push(pref);
                }
                (tips, height)
            }
            LedgerEngine::Dag(d) => {
                let counts = [
                    d.accepted_vertices(),
                    d.rejected_vertices(),
                    d.accepted_txs(),
                    d.rejected_txs(),
                ];
                if counts != self.counts {
                    self.counts = counts;
                    let (settled, live) = (&mut self.settled, &mut self.live_children);
                    self.pending_vertices.retain(|&id| {
                        let height = height_of(id);
                        let parents = store.get(id).map_or(&[][..], Item::parents);
                        match d.vertex_status(id) {
                            Some(Status::Accepted) => {
                                if live.get(&id).is_none_or(|&n| n == 0) {
                                    insert_sorted(settled, id);
                                }
                                out.push(Output::Report(Report::Accepted { id, height }));
                            }
                            Some(Status::Rejected) => {
                                for &p in parents {
                                    let n = live.entry(p).or_default();
                                    *n = n.saturating_sub(1);
                                    if *n == 0 && p != GENESIS && d.is_accepted(p) {
                                        insert_sorted(settled, p);
                                    }
                                }
                                out.push(Output::Report(Report::Rejected { id, height }));
                            }
                            _ => return true,
                        }
                        false
                    });
                    self.pending_txs.retain(|&(tx, key)| {
                        match d.tx_status(tx) {
                            Some(Status::Accepted) => {
                                out.push(Output::Report(Report::TxAccepted { tx, key }))
                            }
                            Some(Status::Rejected) => {
                                out.push(Output::Report(Report::TxRejected { tx, key }))
                            }
                            _ => return true,
                        }
                        false
                    });
                }
                d.preferred_frontier(&mut self.frontier);
                self.leaves.clear();
                self.leaves.extend_from_slice(&self.frontier);
                self.leaves.extend_from_slice(&self.settled);
                self.leaves.sort_unstable();
                self.leaves.dedup();
                // The processing frontier needs the votes; settled leaves fill what is left.
                let mut tips = IdsBuf::oldest_and_newest(&self.frontier);
                for &id in self.settled.iter().rev() {
                    if !tips.push(id) {
                        break;
                    }
                }
                let newest = self.leaves.last().copied().unwrap_or(GENESIS);
                (tips, height_of(newest))
            }
        }
    }

    /// Whether `id` may be a parent: accepted, or processing without a transaction whose
    /// conflict key was seen twice.
    fn clean(&self, store: &Store, id: u64) -> bool {
        if self.status(id) == Some(Status::Accepted) {
            return true;
        }
        match store.get(id) {
            Some(Item::Vertex(v)) => !v
                .txs
                .iter()
                .any(|(_, key)| self.key_count.get(key).is_some_and(|&n| n > 1)),
            _ => false,
        }
    }

    /// The item proposed as `id`: a block on the preferred tip, or a vertex carrying `txs`
    /// on the newest clean leaf and the oldest others (only the last accepted vertex when
    /// `anchored`), at most `max_parents`.
    pub(super) fn build(
        &self,
        store: &Store,
        id: u64,
        txs: Vec<(u64, u64)>,
        anchored: bool,
        max_parents: usize,
    ) -> Item {
        let height_of = |id: u64| store.get(id).map_or(0, Item::height);
        match &self.engine {
            LedgerEngine::Chain(c) => {
                let parent = c.preference();
                let height = if parent == c.last_accepted() {
                    c.last_accepted_height()
                } else {
                    height_of(parent)
                } + 1;
                Item::Block(BlockHeader { id, parent, height })
            }
            LedgerEngine::Dag(d) => {
                let mut parents: Vec<u64> = Vec::with_capacity(max_parents);
                if !anchored {
                    let mut clean = self
                        .leaves
                        .iter()
                        .copied()
                        .filter(|&v| self.clean(store, v));
                    if let Some(newest) = clean.clone().next_back() {
                        parents.push(newest);
                        let rest = clean.by_ref().filter(|&v| v != newest);
                        parents.extend(rest.take(max_parents - 1));
                    }
                }
                if parents.is_empty() {
                    parents.push(d.last_accepted());
                }
                parents.sort_unstable();
                let height = 1 + parents.iter().map(|&p| height_of(p)).max().unwrap_or(0);
                Item::Vertex(Arc::new(Vertex {
                    id,
                    height,
                    parents,
                    txs,
                }))
            }
        }
    }
}
