//! Block and vertex production: who leads each slot, the transactions that arrive, and the
//! registry of everything proposed in the run.
//!
//! - Slots come every `block_interval`. Round-robin leaders go through all nodes in an order
//!   shuffled from the seed; stake leaders are drawn by stake for each slot.
//! - Dag: transactions arrive one at a time with exponential gaps of mean `1 / tx_rate`;
//!   with probability `conflicts` an arrival is a double spend, two transactions A and B
//!   with one conflict key. At its slot the leader takes up to `batch` waiting transactions
//!   (a double spend counts two and is never split) and proposes the innocent ones in one
//!   vertex. The A halves of the slot go in one more vertex and the B halves in another, each
//!   proposed `anchored` (on an accepted parent) by a random live honest node: every
//!   conflict set of the slot then sees the same votes, and one of the two vertices wins
//!   whole. An innocent transaction rejected with its vertex (a vertex built on a losing
//!   double spend before its proposer saw the conflict) is issued again under a new id and
//!   key: the same payment, a new incarnation.

use super::super::rng::{rng_for, Purpose};
use super::super::scheduler::{nanos, Nanos};
use crate::node::ledger::{Item, GENESIS};
use crate::node::NodeId;
use crate::node::StakeSampler;
use crate::sim::scenario::{Leader, LedgerSpec};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;

/// One item proposed in the run.
#[derive(Debug, Clone)]
pub struct Proposal {
    /// The block or vertex.
    pub item: Item,
    /// Who proposed it.
    pub proposer: NodeId,
    /// When.
    pub at: Nanos,
    /// Whether an honest node proposed it.
    pub honest: bool,
}

/// One transaction issued in the run (an incarnation of a payment).
#[derive(Debug, Clone, Copy)]
pub struct TxInfo {
    /// Its conflict key.
    pub key: u64,
    /// The payment it carries (index into [`Registry::payments`]).
    pub payment: u32,
    /// When it arrived (or was issued again).
    pub at: Nanos,
    /// Whether it was issued again after being rejected.
    pub reissued: bool,
}

/// A payment: an innocent one has one or more incarnations; a double spend has exactly one
/// transaction and a twin payment with the same key.
#[derive(Debug, Clone)]
pub struct Payment {
    /// Transaction ids issued for it, oldest first.
    pub txs: Vec<u64>,
    /// The other half of a double spend.
    pub twin: Option<u32>,
}

/// Everything proposed and issued in the run; ids are dense from 1.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    items: Vec<Proposal>,
    /// Pairs of conflicting items: chain equivocations (A to even nodes, B to odd), dag
    /// double-spend vertices.
    pub pairs: Vec<(u64, u64)>,
    latest_honest: u64,
    txs: Vec<TxInfo>,
    /// The payments, in arrival order.
    pub payments: Vec<Payment>,
}

impl Registry {
    /// The id the next item gets.
    pub fn next_id(&self) -> u64 {
        self.items.len() as u64 + 1
    }

    /// Records a proposal (its id must be [`Registry::next_id`]).
    pub fn add(&mut self, p: Proposal) {
        debug_assert_eq!(p.item.id(), self.next_id());
        if p.honest {
            self.latest_honest = p.item.id();
        }
        self.items.push(p);
    }

    /// The proposal of item `id`.
    pub fn get(&self, id: u64) -> Option<&Proposal> {
        (id as usize).checked_sub(1).and_then(|i| self.items.get(i))
    }

    /// Items proposed so far.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing was proposed yet.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The latest item proposed by an honest node ([`GENESIS`] before any).
    pub fn latest_honest(&self) -> u64 {
        self.latest_honest
    }

    /// The height of item `id` ([`GENESIS`]: 0).
    pub fn height(&self, id: u64) -> u64 {
        self.get(id).map_or(0, |p| p.item.height())
    }

    /// The `n` newest items, oldest first.
    pub fn recent(&self, n: usize) -> &[Proposal] {
        &self.items[self.items.len().saturating_sub(n)..]
    }

    /// The latest conflicting pair, if any.
    pub fn latest_pair(&self) -> Option<(u64, u64)> {
        self.pairs.last().copied()
    }

    /// The ancestor of block `tip` at `height` (itself when at that height; chains only).
    pub fn ancestor_at(&self, mut tip: u64, height: u64) -> u64 {
        while let Some(p) = self.get(tip) {
            match &p.item {
                Item::Block(b) if b.height > height => tip = b.parent,
                _ => break,
            }
        }
        tip
    }

    /// Transaction `tx`.
    pub fn tx(&self, tx: u64) -> Option<&TxInfo> {
        (tx as usize).checked_sub(1).and_then(|i| self.txs.get(i))
    }

    /// Transactions issued so far (every incarnation).
    pub fn tx_count(&self) -> usize {
        self.txs.len()
    }

    fn issue(&mut self, key: u64, payment: u32, at: Nanos, reissued: bool) -> u64 {
        self.txs.push(TxInfo {
            key,
            payment,
            at,
            reissued,
        });
        let id = self.txs.len() as u64;
        self.payments[payment as usize].txs.push(id);
        id
    }
}

/// A transaction waiting for a vertex.
#[derive(Debug, Clone, Copy)]
struct Waiting {
    tx: u64,
    key: u64,
    /// Half of a double spend (the B half follows its A half in the pool).
    double: bool,
}

/// What a slot puts in vertices.
#[derive(Debug, Default)]
pub struct Batch {
    /// Innocent transactions, for one vertex of the leader.
    pub txs: Vec<(u64, u64)>,
    /// The A halves of the slot's double spends, for one anchored vertex.
    pub a: Vec<(u64, u64)>,
    /// Their B halves, in the same order, for another anchored vertex.
    pub b: Vec<(u64, u64)>,
}

/// The production side of a ledger run.
pub struct Production {
    spec: LedgerSpec,
    order: Vec<NodeId>,
    leaders: ChaCha8Rng,
    workload: ChaCha8Rng,
    /// Everything proposed and issued.
    pub registry: Registry,
    pool: VecDeque<Waiting>,
    arrivals: u64,
    next_key: u64,
}

impl Production {
    /// Production for `nodes` nodes with the run's `seed`.
    pub fn new(spec: LedgerSpec, nodes: usize, seed: u64) -> Self {
        let mut leaders = rng_for(seed, Purpose::Leader);
        let mut order: Vec<NodeId> = (0..nodes as NodeId).collect();
        order.shuffle(&mut leaders);
        Production {
            spec,
            order,
            leaders,
            workload: rng_for(seed, Purpose::Workload),
            registry: Registry::default(),
            pool: VecDeque::new(),
            arrivals: 0,
            next_key: 1,
        }
    }

    /// The time of slot `slot` (slots count from 1).
    pub fn slot_time(&self, slot: u64) -> Nanos {
        slot.saturating_mul(nanos(self.spec.block_interval))
    }

    /// The leader of slot `slot`.
    pub fn leader(&mut self, slot: u64, sampler: &StakeSampler) -> NodeId {
        match self.spec.leader {
            Leader::RoundRobin => self.order[((slot - 1) % self.order.len() as u64) as usize],
            Leader::Stake => sampler.draw(&mut self.leaders),
        }
    }

    /// Time until the first arrival (dag).
    pub fn first_gap(&mut self) -> Nanos {
        self.gap()
    }

    fn gap(&mut self) -> Nanos {
        let u: f64 = self.workload.random();
        let mean_ns = 1e9 / self.spec.tx_rate;
        ((-(1.0 - u).ln()) * mean_ns).round().max(1.0) as Nanos
    }

    /// One arrival at `now`: an innocent payment or a double spend. Returns the time to the
    /// next arrival, `None` when all have arrived.
    pub fn arrive(&mut self, now: Nanos) -> Option<Nanos> {
        let double = self.workload.random::<f64>() < self.spec.conflicts;
        let key = self.fresh_key();
        let first = self.registry.payments.len() as u32;
        let halves = if double { 2 } else { 1 };
        for i in 0..halves {
            let twin = double.then_some(first + 1 - i);
            self.registry.payments.push(Payment {
                txs: Vec::new(),
                twin,
            });
            let tx = self.registry.issue(key, first + i, now, false);
            self.pool.push_back(Waiting { tx, key, double });
        }
        self.arrivals += 1;
        let limit = self.spec.transactions;
        (limit == 0 || self.arrivals < limit).then(|| self.gap())
    }

    fn fresh_key(&mut self) -> u64 {
        self.next_key += 1;
        self.next_key - 1
    }

    /// Arrivals so far (payments: an innocent one or a double spend).
    pub fn arrivals(&self) -> u64 {
        self.arrivals
    }

    /// Whether every arrival happened and nothing waits for a vertex.
    pub fn drained(&self) -> bool {
        self.spec.transactions != 0
            && self.arrivals >= self.spec.transactions
            && self.pool.is_empty()
    }

    /// Takes up to `batch` waiting transactions for the slot (a double spend counts two).
    pub fn take_batch(&mut self) -> Batch {
        let mut b = Batch::default();
        let mut taken = 0;
        while let Some(&w) = self.pool.front() {
            let size = if w.double { 2 } else { 1 };
            if taken > 0 && taken + size > self.spec.batch {
                break;
            }
            taken += size;
            self.pool.pop_front();
            if w.double {
                b.a.push((w.tx, w.key));
                if let Some(twin) = self.pool.pop_front() {
                    b.b.push((twin.tx, twin.key));
                }
            } else {
                b.txs.push((w.tx, w.key));
            }
        }
        b
    }

    /// Puts a batch back at the head of the pool (no one could propose it).
    pub fn put_back(&mut self, batch: Batch) {
        for (&(ta, ka), &(tb, kb)) in batch.a.iter().zip(&batch.b).rev() {
            let half = |tx, key| Waiting {
                tx,
                key,
                double: true,
            };
            self.pool.push_front(half(tb, kb));
            self.pool.push_front(half(ta, ka));
        }
        for &(tx, key) in batch.txs.iter().rev() {
            self.pool.push_front(Waiting {
                tx,
                key,
                double: false,
            });
        }
    }

    /// Issues innocent transaction `tx` again after its rejection (once per incarnation);
    /// returns whether it did.
    pub fn reissue(&mut self, tx: u64, now: Nanos) -> bool {
        let Some(&info) = self.registry.tx(tx) else {
            return false;
        };
        let payment = &self.registry.payments[info.payment as usize];
        let newest = payment.txs.last() == Some(&tx);
        if payment.twin.is_some() || !newest {
            return false;
        }
        let key = self.fresh_key();
        let tx = self.registry.issue(key, info.payment, now, true);
        self.pool.push_back(Waiting {
            tx,
            key,
            double: false,
        });
        true
    }

    /// A uniformly drawn node among those `ok` accepts, `None` if there is none.
    pub fn pick(&mut self, nodes: usize, ok: impl Fn(NodeId) -> bool) -> Option<NodeId> {
        let eligible = (0..nodes as NodeId).filter(|&i| ok(i)).count();
        if eligible == 0 {
            return None;
        }
        let nth = self.workload.random_range(0..eligible);
        (0..nodes as NodeId).filter(|&i| ok(i)).nth(nth)
    }

    /// The parent a Byzantine leader builds on: the latest honest block, or the genesis.
    pub fn byzantine_parent(&self) -> (u64, u64) {
        let parent = self.registry.latest_honest();
        let height = if parent == GENESIS {
            0
        } else {
            self.registry.height(parent)
        };
        (parent, height)
    }
}

impl crate::node::ledger::LedgerView for Registry {
    fn latest_pair(&self) -> Option<(u64, u64)> {
        Registry::latest_pair(self)
    }
    fn recent(&self, n: usize) -> impl ExactSizeIterator<Item = u64> {
        Registry::recent(self, n).iter().map(|p| p.item.id())
    }
    fn latest_honest(&self) -> u64 {
        Registry::latest_honest(self)
    }
}
