//! One validator of a growing ledger, a chain of blocks ([`Chain`], Snowman) or a DAG of
//! vertices ([`Dag`], Avalanche), as a sans-I/O state machine: (now, input) in, outputs out.
//! It has the shape of [`crate::node`] and knows nothing of the transport, so the simulator
//! and a socket bridge both drive it through [`LedgerNode::handle`].
//!
//! The protocol:
//! - While it has items processing, a node keeps up to `concurrent_polls` polls outstanding.
//!   A poll fills k slots by the sampler's [`Sampling`](crate::node::Sampling) (k stake
//!   units as avalanchego, or k distinct validators) and sends each sampled validator one
//!   [`Message::Query`] naming the node's preferred tip (chain) or its leaves (dag: the
//!   preferred frontier and the accepted vertices without a live child).
//! - Every node answers a query with a [`Message::Answer`] naming the same, at most
//!   [`MAX_IDS`] ids; a dag answer first names the ids of the query that the answerer has
//!   accepted, so that a node still deciding them gets the votes of those that are done. An
//!   answer counts once per slot its validator fills. A poll closes when every sampled
//!   validator has answered or at its timeout; its bag (item id -> votes naming it) is given to `record_poll` of the engine, which applies the votes transitively.
//! - A proposer adds its new item and broadcasts it ([`Message::Push`]). A node that hears of
//!   an item it lacks (named in a query or answer, or the parent of an item it got) asks the
//!   sender for it ([`Message::Get`]); the reply is one [`Message::Put`] per item: the item
//!   and, for chains, its ancestors above the asker's last accepted height (at most
//!   [`MAX_ANCESTORS`]). Items whose parents are missing are parked until they arrive.
//! - An idle node (nothing processing) still sends one poll every poll timeout, a gossip
//!   poll: the answers name the tips of the others, so that a node that missed the last
//!   items learns of them and fetches them.
//! - A closed poll naming an item still on its way is held (at most `concurrent_polls` polls,
//!   at most one poll timeout) and recorded once the item is in, so that the votes count.
//!
//! Choices of this implementation: a dag answer names each leaf once, and the engine counts
//! each bag entry for every processing ancestor, so a common ancestor of two leaves gets two
//! votes from one answer. Honest dag proposers take as parents the newest clean leaf and
//! the oldest others (clean: accepted, or without a transaction known to conflict); a
//! vertex asked to be `anchored` (double spends) names only the last accepted vertex, so
//! that it can lose only to its conflict.

mod adversary;
mod engines;
mod polls;
mod store;
mod types;

use crate::node::StakeSampler;
use crate::{Chain, Dag, Status};
use engines::Ledger;
use polls::{HeldPolls, Polls};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use store::Store;

pub use adversary::{Answer, LedgerAdversary, LedgerView};
pub use types::{
    BlockHeader, Command, Ids, IdsBuf, Input, Item, LedgerConfig, LedgerKind, Message, Output,
    Report, Timer, Vertex,
};

use super::{NodeId, Validator};

pub use crate::GENESIS;
/// Most ids a query or an answer names.
pub const MAX_IDS: usize = 8;
/// Most items one `Get` is answered with.
pub const MAX_ANCESTORS: usize = 32;

/// One honest ledger validator.
#[derive(Debug, Clone)]
pub struct LedgerNode {
    id: NodeId,
    k: usize,
    poll_timeout: u64,
    self_sample: bool,
    max_parents: usize,
    ledger: Ledger,
    store: Store,
    polls: Polls,
    held: HeldPolls,
    held_cap: usize,
    rng: Box<ChaCha8Rng>,
    /// The preference named in queries and answers.
    tips: Ids,
    preferred_height: u64,
    polls_recorded: u32,
    /// Whether the idle gossip timer is set.
    gossip_armed: bool,
    // Scratch.
    bag: Vec<(u64, usize)>,
    cascade: Vec<u64>,
}

impl LedgerNode {
    /// A node with an empty ledger (only the genesis); nothing happens until [`Input::Start`].
    pub fn new(cfg: &LedgerConfig) -> Self {
        LedgerNode {
            id: cfg.id,
            k: cfg.params.k,
            poll_timeout: cfg.poll_timeout,
            self_sample: cfg.self_sample,
            max_parents: cfg.max_parents.max(1),
            ledger: Ledger::new(cfg.kind, &cfg.params, cfg.block_protocol),
            store: Store::default(),
            polls: Polls::new(cfg.params.concurrent_polls, cfg.params.k),
            held: HeldPolls::default(),
            held_cap: cfg.params.concurrent_polls.max(1),
            rng: Box::new(ChaCha8Rng::seed_from_u64(cfg.seed)),
            tips: Ids::EMPTY,
            preferred_height: 0,
            polls_recorded: 0,
            gossip_armed: false,
            bag: Vec::with_capacity(cfg.params.k * MAX_IDS),
            cascade: Vec::new(),
        }
    }

    /// Chain or dag.
    pub fn kind(&self) -> LedgerKind {
        self.ledger.kind()
    }

    /// The chain engine, if this node keeps a chain.
    pub fn chain(&self) -> Option<&Chain> {
        self.ledger.chain()
    }

    /// The dag engine, if this node keeps a dag.
    pub fn dag(&self) -> Option<&Dag> {
        self.ledger.dag()
    }

    /// The preferred tip (chain) or leaves (dag, at most [`MAX_IDS`]) named in answers.
    pub fn tips(&self) -> &Ids {
        &self.tips
    }

    /// The height of the preferred tip (dag: of the newest leaf).
    pub fn preferred_height(&self) -> u64 {
        self.preferred_height
    }

    /// The height of the last accepted block (dag: of the last accepted vertex).
    pub fn accepted_height(&self) -> u64 {
        match self.chain() {
            Some(c) => c.last_accepted_height(),
            None => self.height_of(self.ledger.last_accepted()),
        }
    }

    /// Blocks (or vertices) accepted so far.
    pub fn accepted_items(&self) -> usize {
        self.ledger.accepted_items()
    }

    /// Transactions accepted so far (dag).
    pub fn accepted_txs(&self) -> usize {
        self.dag().map_or(0, Dag::accepted_txs)
    }

    /// Transactions decided (accepted or rejected) so far (dag).
    pub fn decided_txs(&self) -> usize {
        self.dag()
            .map_or(0, |d| d.accepted_txs() + d.rejected_txs())
    }

    /// The status of block or vertex `id`, `None` when the engine does not know it.
    pub fn status(&self, id: u64) -> Option<Status> {
        self.ledger.status(id)
    }

    /// The status of transaction `tx` (dag), `None` when unknown.
    pub fn tx_status(&self, tx: u64) -> Option<Status> {
        self.dag().and_then(|d| d.tx_status(tx))
    }

    /// The item `id` if the node has it (in its engine or parked).
    pub fn item(&self, id: u64) -> Option<&Item> {
        self.store.get(id)
    }

    /// The accepted chain, heights 1 to the last accepted (empty for a dag).
    pub fn accepted_chain(&self) -> Vec<u64> {
        let Some(c) = self.chain() else {
            return Vec::new();
        };
        let mut ids = Vec::with_capacity(c.last_accepted_height() as usize);
        let mut cur = c.last_accepted();
        while cur != GENESIS {
            ids.push(cur);
            cur = match self.store.get(cur) {
                Some(Item::Block(b)) => b.parent,
                _ => break,
            };
        }
        ids.reverse();
        ids
    }

    /// Whether any block or vertex is processing (the node polls only then).
    pub fn has_processing(&self) -> bool {
        self.ledger.has_processing()
    }

    /// Polls outstanding now.
    pub fn outstanding_polls(&self) -> usize {
        self.polls.live
    }

    /// Closed polls held until the items they name arrive.
    pub fn held_polls(&self) -> usize {
        self.held.list.len()
    }

    /// Items parked until their parents arrive.
    pub fn parked(&self) -> usize {
        self.store.parked()
    }

    /// Handles one input at time `now`, appending what the driver must do to `out`.
    fn handle_input(
        &mut self,
        now: u64,
        input: Input,
        sampler: &StakeSampler,
        out: &mut Vec<Output>,
    ) {
        match input {
            Input::Start => {
                self.polls.clear();
                self.held.clear();
                self.gossip_armed = false;
                self.fill_polls(now, sampler, out);
            }
            Input::Timer(Timer::Gossip) => {
                self.gossip_armed = false;
                if !self.has_processing() && self.polls.live == 0 {
                    self.open_poll(now, sampler, out);
                }
                self.fill_polls(now, sampler, out);
            }
            Input::Message { from, msg } => self.message(now, from, msg, sampler, out),
            Input::Timer(Timer::PollTimeout { request }) => {
                if let Some(s) = self.polls.find(request) {
                    self.finish_poll(now, s, sampler, out);
                }
            }
            Input::Timer(Timer::Release { request }) => {
                if let Some(i) = self.held.list.iter().position(|h| h.request == request) {
                    self.release(i, out);
                    self.fill_polls(now, sampler, out);
                }
            }
            Input::Command(Command::Propose { id, txs, anchored }) => {
                let (store, max) = (&self.store, self.max_parents);
                let item = self.ledger.build(store, id, txs, anchored, max);
                self.add(item.clone());
                out.push(Output::Report(Report::Proposed(item.clone())));
                out.push(Output::Broadcast {
                    msg: Message::Push(item),
                });
                self.after_adding(now, sampler, out);
            }
        }
    }

    fn message(
        &mut self,
        now: u64,
        from: NodeId,
        msg: Message,
        sampler: &StakeSampler,
        out: &mut Vec<Output>,
    ) {
        match msg {
            Message::Query { request, tips, .. } => {
                let msg = Message::Answer {
                    request,
                    tips: self.answer_tips(&tips),
                };
                out.push(Output::Send { to: from, msg });
                for &id in tips.as_slice() {
                    self.fetch(now, from, id, out);
                }
            }
            Message::Answer { request, tips } => {
                let Some(s) = self.polls.find(request) else {
                    return;
                };
                let done = self.polls.answer(s, from, &tips);
                for &id in tips.as_slice() {
                    self.fetch(now, from, id, out);
                }
                if done {
                    self.finish_poll(now, s, sampler, out);
                }
            }
            Message::Push(item) | Message::Put(item) => self.receive(now, from, item, sampler, out),
            Message::Get { id, above } => self.serve(from, id, above, out),
        }
    }

    /// The ids an answer names: for a chain the preferred tip; for a dag first the ids of
    /// the query that this node accepted (a querier still deciding them gets the votes of
    /// those that are done), then this node's own leaves.
    fn answer_tips(&self, asked: &Ids) -> Ids {
        if self.kind() == LedgerKind::Chain {
            return self.tips.clone();
        }
        let mut tips = IdsBuf::default();
        for &id in asked.as_slice() {
            if self.ledger.status(id) == Some(Status::Accepted) {
                tips.push(id);
            }
        }
        if tips.as_slice().is_empty() {
            return self.tips.clone();
        }
        for &id in self.tips.as_slice() {
            if !tips.as_slice().contains(&id) && !tips.push(id) {
                break;
            }
        }
        tips.freeze()
    }

    /// Asks `from` for `id` unless the node has it or asked for it recently; when `id` is
    /// parked, asks for the missing ancestor it waits for instead.
    fn fetch(&mut self, now: u64, from: NodeId, id: u64, out: &mut Vec<Output>) {
        // Most ids named are this node's own preference: no lookup for those.
        if id == GENESIS || from == self.id || self.tips.as_slice().contains(&id) {
            return;
        }
        let mut want = id;
        for _ in 0..MAX_ANCESTORS {
            if self.store.is_added(want) {
                return;
            }
            let Some(item) = self.store.get(want) else {
                break;
            };
            match self.missing_parent(item) {
                Some(p) => want = p,
                None => return,
            }
        }
        if !self.store.should_fetch(want, now, self.poll_timeout) {
            return;
        }
        let above = self.ledger.fetch_floor();
        let msg = Message::Get { id: want, above };
        out.push(Output::Send { to: from, msg });
    }

    /// Answers a `Get`: the item and, for a chain, its ancestors above `above`.
    fn serve(&self, to: NodeId, id: u64, above: u64, out: &mut Vec<Output>) {
        let mut cur = id;
        for sent in 0..MAX_ANCESTORS {
            let Some(item) = self.store.get(cur) else {
                return;
            };
            if sent > 0 && item.height() <= above {
                return;
            }
            out.push(Output::Send {
                to,
                msg: Message::Put(item.clone()),
            });
            match item {
                Item::Block(b) if b.parent != GENESIS => cur = b.parent,
                _ => return,
            }
        }
    }

    /// The first parent of `item` not in the engine.
    fn missing_parent(&self, item: &Item) -> Option<u64> {
        (item.parents().iter().copied()).find(|&p| p != GENESIS && !self.store.is_added(p))
    }

    fn receive(
        &mut self,
        now: u64,
        from: NodeId,
        item: Item,
        sampler: &StakeSampler,
        out: &mut Vec<Output>,
    ) {
        let id = item.id();
        if id == GENESIS || self.store.is_known(id) {
            return;
        }
        if let Some(p) = self.missing_parent(&item) {
            if self.store.park(item, p) {
                self.fetch(now, from, p, out);
            }
            return;
        }
        self.add(item);
        // Items parked for what was just added, and so on down.
        let mut stack = std::mem::take(&mut self.cascade);
        stack.push(id);
        while let Some(parent) = stack.pop() {
            for child in self.store.unpark(parent).unwrap_or_default() {
                if self.store.is_added(child) {
                    continue;
                }
                let Some(item) = self.store.get(child).cloned() else {
                    continue;
                };
                match self.missing_parent(&item) {
                    Some(p) => {
                        self.store.park(item, p);
                        self.fetch(now, from, p, out);
                    }
                    None => {
                        self.add(item);
                        stack.push(child);
                    }
                }
            }
        }
        self.cascade = stack;
        self.after_adding(now, sampler, out);
    }

    /// Adds an item whose parents are all in the engine; malformed items are dropped.
    fn add(&mut self, item: Item) {
        if self.ledger.add(&item) {
            self.store.added(item);
        }
    }

    fn after_adding(&mut self, now: u64, sampler: &StakeSampler, out: &mut Vec<Output>) {
        self.settle(out);
        let mut i = 0;
        while i < self.held.list.len() {
            let ready = self.held.list[i].bag.iter().all(|&(id, _)| {
                self.store.is_added(id) || !self.store.is_pending(id, now, self.poll_timeout)
            });
            if ready {
                self.release(i, out);
            } else {
                i += 1;
            }
        }
        self.fill_polls(now, sampler, out);
    }

    /// Records held poll number `i`.
    fn release(&mut self, i: usize, out: &mut Vec<Output>) {
        let mut bag = std::mem::take(&mut self.bag);
        let (request, answers) = self.held.take(i, &mut bag);
        self.record(request, answers, &bag, out);
        self.bag = bag;
    }

    fn finish_poll(&mut self, now: u64, s: usize, sampler: &StakeSampler, out: &mut Vec<Output>) {
        let mut bag = std::mem::take(&mut self.bag);
        let (request, answers) = self.polls.close(s, &mut bag);
        let waits = bag.iter().any(|&(id, _)| {
            !self.store.is_added(id) && self.store.is_pending(id, now, self.poll_timeout)
        });
        if waits && self.held.list.len() < self.held_cap {
            self.held.hold(request, answers, &bag);
            let at = now.saturating_add(self.poll_timeout);
            let timer = Timer::Release { request };
            out.push(Output::SetTimer { at, timer });
        } else {
            self.record(request, answers, &bag, out);
        }
        self.bag = bag;
        self.fill_polls(now, sampler, out);
    }

    fn record(&mut self, request: u32, answers: u32, bag: &[(u64, usize)], out: &mut Vec<Output>) {
        self.ledger.record(bag);
        self.polls_recorded += 1;
        let votes = bag.iter().map(|&(id, n)| (id, n as u32));
        let (top, count) = crate::node::top(votes).unwrap_or((0, 0));
        out.push(Output::PollRecorded {
            request,
            top,
            count,
            answers,
        });
        self.settle(out);
    }

    /// Reports the decisions made since the last call and refreshes the preference.
    fn settle(&mut self, out: &mut Vec<Output>) {
        let (tips, height) = self.ledger.settle(&self.store, out);
        if tips.as_slice() != self.tips.as_slice() {
            self.tips = tips.freeze();
        }
        self.preferred_height = height;
    }

    fn height_of(&self, id: u64) -> u64 {
        self.store.get(id).map_or(0, Item::height)
    }

    /// Opens polls while items are processing; an idle node instead arms its gossip timer.
    fn fill_polls(&mut self, now: u64, sampler: &StakeSampler, out: &mut Vec<Output>) {
        if !self.has_processing() {
            if !self.gossip_armed {
                self.gossip_armed = true;
                let at = now.saturating_add(self.poll_timeout);
                out.push(Output::SetTimer {
                    at,
                    timer: Timer::Gossip,
                });
            }
            return;
        }
        while self.open_poll(now, sampler, out) {}
    }

    /// Opens one poll in a free slot; false when none is free.
    fn open_poll(&mut self, now: u64, sampler: &StakeSampler, out: &mut Vec<Output>) -> bool {
        let Some(s) = self.polls.open() else {
            return false;
        };
        let exclude = (!self.self_sample).then_some(self.id);
        let deadline = now.saturating_add(self.poll_timeout);
        let slot = &mut self.polls.slots[s];
        sampler.sample(&mut *self.rng, self.k, exclude, &mut slot.sample);
        slot.answered.resize(slot.sample.len(), false);
        let request = slot.request;
        out.push(Output::PollOpened {
            request,
            deadline,
            peers: slot.sample.len() as u32,
        });
        for &to in slot.sample.ids() {
            let msg = Message::Query {
                request,
                deadline,
                tips: self.tips.clone(),
            };
            out.push(Output::Send { to, msg });
        }
        let timer = Timer::PollTimeout { request };
        out.push(Output::SetTimer {
            at: deadline,
            timer,
        });
        true
    }
}

impl Validator for LedgerNode {
    type Message = Message;
    type Timer = Timer;
    type Command = Command;
    type Report = Report;

    fn id(&self) -> NodeId {
        self.id
    }

    fn handle(&mut self, now: u64, input: Input, sampler: &StakeSampler, out: &mut Vec<Output>) {
        self.handle_input(now, input, sampler, out);
    }

    fn polls_recorded(&self) -> u32 {
        self.polls_recorded
    }
}

#[cfg(test)]
mod tests;
