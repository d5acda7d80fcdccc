//! Event mode for ledgers: honest [`LedgerNode`]s driven through the bus by the virtual
//! clock, block and vertex production, the Byzantine nodes and the safety checker.
//!
//! The run ends when every honest node reached the target (chain: accepted height
//! `heights`; dag: accepted one transaction for each arrival, after all arrivals: each
//! innocent payment in one of its incarnations, one half of each double spend), at the first
//! safety violation, when nothing is left to do, or at `max_time`.

use super::figures::Tally;
use super::production::{Production, Proposal};
use super::safety::SafetyChecker;
use crate::node::ledger::{
    Command, Input, Item, LedgerAdversary, LedgerConfig, LedgerKind, LedgerNode, Message, Output,
    Report, Timer,
};
use crate::node::{NodeId, Validator};
use crate::sim::event_loop::{self, EventCounters};
use crate::sim::network::Fate;
use crate::sim::population::Population;
use crate::sim::progress::{End, Watch};
use crate::sim::rng::{rng_for, seed_for, Purpose};
use crate::sim::scenario::{LedgerSpec, Scenario, ScenarioEngine};
use crate::sim::scheduler::{nanos, Nanos};
use crate::sim::shell::{self, Host, Shell, ShellEv};
use crate::sim::trace::{Event, Kind, Trace};
use crate::sim::SimError;

#[derive(Debug, Clone)]
pub(crate) enum Ev {
    Deliver {
        to: NodeId,
        from: NodeId,
        msg: Message,
    },
    Slot(u64),
    Arrival,
    /// A start, timer, crash or recovery.
    Shell(ShellEv<Timer>),
}

/// The simulated world of a chain or dag run.
pub struct LedgerWorld<'a> {
    pub(super) scenario: &'a Scenario,
    pub(super) spec: LedgerSpec,
    pub(super) kind: LedgerKind,
    pub(super) pop: Population,
    pub(super) nodes: Vec<LedgerNode>,
    /// The queue, the bus, the crashes, the nodes' clocks and the message count.
    pub(super) shell: Shell<Ev>,
    pub(super) honest: usize,
    pub(super) adversary: Option<LedgerAdversary>,
    pub(super) production: Production,
    pub(super) safety: SafetyChecker,
    pub(super) tally: Tally,
    /// Chain: honest nodes at the target height.
    reached: Vec<bool>,
    pub(super) reached_count: usize,
    /// Dag: transactions each node accepted; nodes that accepted one for every arrival so
    /// far; arrivals so far.
    accepted_txs: Vec<u64>,
    pub(super) complete: usize,
    arrived: u64,
    out: Vec<Output>,
    stopped: bool,
}

impl<'a> LedgerWorld<'a> {
    /// Builds the nodes, the bus, production and the adversary of a chain or dag scenario.
    pub fn new(scenario: &'a Scenario, pop: Population) -> Result<Self, SimError> {
        let net = &scenario.network;
        let seed = scenario.seed;
        let spec = scenario.ledger();
        let kind = match scenario.engine {
            ScenarioEngine::Dag => LedgerKind::Dag,
            _ => LedgerKind::Chain,
        };
        let mut shell = Shell::new(scenario)?;
        let poll_timeout = nanos(net.poll_timeout);
        let nodes: Vec<LedgerNode> = (0..net.nodes as NodeId)
            .map(|id| {
                LedgerNode::new(&LedgerConfig {
                    id,
                    params: scenario.params,
                    kind,
                    block_protocol: scenario.block_protocol(),
                    poll_timeout,
                    self_sample: net.self_sample,
                    seed: seed_for(seed, Purpose::Node(id)),
                    max_parents: spec.parents,
                })
            })
            .collect();
        let adversary = scenario.byzantine.as_ref().map(|b| {
            let rng = rng_for(seed, Purpose::Adversary);
            LedgerAdversary::new(b.strategy, rng)
        });
        let mut production = Production::new(spec, net.nodes, seed);
        let sched = &mut shell.sched;
        for id in 0..net.nodes as NodeId {
            if !pop.byzantine[id as usize] {
                sched.at(0, Ev::Shell(ShellEv::Start(id)));
            }
        }
        sched.at(production.slot_time(1), Ev::Slot(1));
        if kind == LedgerKind::Dag {
            sched.at(production.first_gap(), Ev::Arrival);
        }
        shell.schedule_crashes(scenario, Ev::Shell);
        let honest = pop.honest();
        Ok(LedgerWorld {
            scenario,
            spec,
            kind,
            shell,
            reached: vec![false; net.nodes],
            reached_count: 0,
            accepted_txs: vec![0; net.nodes],
            complete: honest,
            arrived: 0,
            nodes,
            pop,
            honest,
            adversary,
            production,
            safety: SafetyChecker::new(),
            tally: Tally::default(),
            out: Vec::new(),
            stopped: false,
        })
    }

    /// Node `id`'s state machine (meaningless for Byzantine nodes).
    pub fn node(&self, id: NodeId) -> &LedgerNode {
        &self.nodes[id as usize]
    }

    /// Whether node `id` is Byzantine.
    pub fn is_byzantine(&self, id: NodeId) -> bool {
        self.pop.byzantine[id as usize]
    }

    /// The honest nodes' ids, ascending.
    pub fn honest_ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        (0..self.nodes.len() as NodeId).filter(|&i| !self.pop.byzantine[i as usize])
    }

    /// Everything proposed and issued so far.
    pub fn registry(&self) -> &super::production::Registry {
        &self.production.registry
    }

    /// The safety checker.
    pub fn safety(&self) -> &SafetyChecker {
        &self.safety
    }

    /// Whether every honest node reached the target.
    pub fn done(&self) -> bool {
        match self.kind {
            LedgerKind::Chain => self.spec.heights > 0 && self.reached_count == self.honest,
            LedgerKind::Dag => self.production.drained() && self.complete == self.honest,
        }
    }

    /// Runs to the end (see the module docs), a budget's end, or until `watch` says stop;
    /// `watch` is told the progress every 65,536 events.
    pub fn run(&mut self, trace: &mut Trace, watch: Watch) -> Result<EventCounters, SimError> {
        let (budget, max_events) = (nanos(self.scenario.max_time), self.scenario.max_events);
        event_loop::run(self, budget, max_events, trace, watch)
    }

    /// Dag: recounts the nodes that accepted a transaction for every arrival, when the
    /// number of arrivals changed.
    fn recount(&mut self) {
        let arrived = self.production.arrivals();
        if arrived == self.arrived {
            return;
        }
        self.arrived = arrived;
        let (pop, accepted) = (&self.pop, &self.accepted_txs);
        self.complete = (0..self.nodes.len())
            .filter(|&i| !pop.byzantine[i] && accepted[i] == arrived)
            .count();
    }

    /// The slot's leader proposes (or not).
    fn slot(&mut self, now: Nanos, s: u64, trace: &mut Trace) -> Result<(), SimError> {
        let leader = self.production.leader(s, &self.pop.sampler);
        if self.shell.crashes.is_down(leader) {
            return Ok(());
        }
        if self.pop.byzantine[leader as usize] {
            return match self.kind {
                LedgerKind::Chain => self.byzantine_propose(now, leader, trace),
                LedgerKind::Dag => Ok(()),
            };
        }
        match self.kind {
            LedgerKind::Chain => {
                let h = self.nodes[leader as usize].preferred_height();
                if self.spec.heights == 0 || h < self.spec.heights {
                    self.propose(now, leader, Vec::new(), false, trace)?;
                }
            }
            LedgerKind::Dag => {
                let batch = self.production.take_batch();
                if !batch.txs.is_empty() {
                    self.propose(now, leader, batch.txs, false, trace)?;
                }
                if !batch.a.is_empty() {
                    let (pop, crashes) = (&self.pop, &self.shell.crashes);
                    let ok = |i: NodeId| !pop.byzantine[i as usize] && !crashes.is_down(i);
                    let n = self.nodes.len();
                    let issuers = (self.production.pick(n, ok), self.production.pick(n, ok));
                    let (Some(pa), Some(pb)) = issuers else {
                        let rest = super::production::Batch {
                            txs: Vec::new(),
                            a: batch.a,
                            b: batch.b,
                        };
                        self.production.put_back(rest);
                        return Ok(());
                    };
                    let a = self.propose(now, pa, batch.a, true, trace)?;
                    let b = self.propose(now, pb, batch.b, true, trace)?;
                    self.production.registry.pairs.push((a, b));
                }
                self.recount();
            }
        }
        Ok(())
    }

    /// Honest node `p` proposes the next item; returns its id.
    fn propose(
        &mut self,
        now: Nanos,
        p: NodeId,
        txs: Vec<(u64, u64)>,
        anchored: bool,
        trace: &mut Trace,
    ) -> Result<u64, SimError> {
        let id = self.production.registry.next_id();
        let input = Input::Command(Command::Propose { id, txs, anchored });
        shell::drive(self, now, p, input, trace)?;
        Ok(id)
    }

    /// Records a new item in the registry and the trace.
    pub(super) fn register(
        &mut self,
        now: Nanos,
        item: Item,
        proposer: NodeId,
        honest: bool,
        trace: &mut Trace,
    ) -> Result<(), SimError> {
        let e = Event {
            time: now,
            node: proposer,
            choice: Some(item.id() as u32),
            count: Some(item.height() as u32),
            ..Event::default()
        };
        trace.record(Kind::Propose, e)?;
        self.tally.proposed(now);
        let at = now;
        let p = Proposal {
            item,
            proposer,
            at,
            honest,
        };
        self.production.registry.add(p);
        Ok(())
    }

    fn tx_accepted(&mut self, id: NodeId) {
        let a = &mut self.accepted_txs[id as usize];
        *a += 1;
        if *a == self.arrived {
            self.complete += 1;
        }
    }

    /// Hands a message to the bus and schedules its delivery.
    pub(super) fn send(
        &mut self,
        now: Nanos,
        from: NodeId,
        to: NodeId,
        msg: Message,
        trace: &mut Trace,
    ) -> Result<(), SimError> {
        let fate = self.shell.route(now, from, to);
        if trace.wants(Kind::Query) {
            let (kind, request, choice, count) = describe(&msg);
            let (kind, latency) = match fate {
                Fate::Lost => (Kind::Lost, None),
                Fate::Partitioned => (Kind::Cut, None),
                Fate::Delivered(d, _) => (kind, Some(d)),
            };
            let e = Event {
                time: now,
                node: from,
                peer: Some(to),
                request,
                choice,
                count,
                answers: None,
                latency,
            };
            trace.record(kind, e)?;
        }
        self.shell
            .schedule(now, fate, msg, |msg| Ev::Deliver { to, from, msg });
        Ok(())
    }
}

/// The trace kind and fields of a message: request, first id named, height.
fn describe(msg: &Message) -> (Kind, Option<u32>, Option<u32>, Option<u32>) {
    // A query or an answer names the sender's preference: its first id, or the genesis
    // when it names none (a node that has accepted nothing yet prefers the genesis).
    let first = |ids: &crate::node::ledger::Ids| {
        Some(
            ids.as_slice()
                .first()
                .map_or(crate::GENESIS as u32, |&i| i as u32),
        )
    };
    match msg {
        Message::Query { request, tips, .. } => (Kind::Query, Some(*request), first(tips), None),
        Message::Answer { request, tips } => (Kind::Answer, Some(*request), first(tips), None),
        Message::Push(item) => (
            Kind::Push,
            None,
            Some(item.id() as u32),
            Some(item.height() as u32),
        ),
        Message::Get { id, .. } => (Kind::Get, None, Some(*id as u32), None),
        Message::Put(item) => (
            Kind::Put,
            None,
            Some(item.id() as u32),
            Some(item.height() as u32),
        ),
    }
}

impl Host for LedgerWorld<'_> {
    type Node = LedgerNode;
    type Ev = Ev;
    fn shell(&mut self) -> &mut Shell<Ev> {
        &mut self.shell
    }
    fn is_byzantine(&self, id: NodeId) -> bool {
        self.pop.byzantine[id as usize]
    }
    fn nodes(&self) -> usize {
        self.nodes.len()
    }
    fn handle(&mut self, now: Nanos, id: NodeId, input: Input, out: &mut Vec<Output>) {
        self.nodes[id as usize].handle(now, input, &self.pop.sampler, out);
    }
    fn outputs(&mut self) -> &mut Vec<Output> {
        &mut self.out
    }
    fn output(
        &mut self,
        now: Nanos,
        id: NodeId,
        o: Output,
        trace: &mut Trace,
    ) -> Result<(), SimError> {
        let ev = |choice: u64, count: Option<u32>| Event {
            time: now,
            node: id,
            choice: Some(choice as u32),
            count,
            ..Event::default()
        };
        match o {
            Output::Send { to, msg } => {
                if matches!(msg, Message::Get { .. }) {
                    self.tally.fetches += 1;
                }
                self.send(now, id, to, msg, trace)?;
            }

            Output::SetTimer { at, timer } => self
                .shell
                .sched
                .at(at, Ev::Shell(ShellEv::Timer { node: id, timer })),
            Output::Report(Report::Proposed(item)) => self.register(now, item, id, true, trace)?,
            Output::PollOpened { .. } | Output::Broadcast { .. } | Output::PollRecorded { .. } => {
                unreachable!("the shell carries these out")
            }
            Output::Report(Report::Accepted { id: item, height }) => {
                trace.record(Kind::Accept, ev(item, Some(height as u32)))?;
                let at = self.production.registry.get(item).map_or(now, |p| p.at);
                self.tally.accepted(now, at);
                if self.kind == LedgerKind::Chain {
                    self.tally.accepted_units += 1;
                    if self.safety.block(id, item, height, now) {
                        self.stopped = true;
                    }
                    let target = self.spec.heights;
                    if target > 0 && height >= target && !self.reached[id as usize] {
                        self.reached[id as usize] = true;
                        self.reached_count += 1;
                    }
                }
            }
            Output::Report(Report::Rejected { id: item, height }) => {
                trace.record(Kind::Reject, ev(item, Some(height as u32)))?;
                self.tally.rejected(item);
            }
            Output::Report(Report::TxAccepted { tx, key }) => {
                trace.record(Kind::AcceptTx, ev(tx, None))?;
                self.tally.accepted_units += 1;
                if self.safety.tx(id, tx, key, now) {
                    self.stopped = true;
                }
                self.tx_accepted(id);
            }
            Output::Report(Report::TxRejected { tx, .. }) => {
                trace.record(Kind::RejectTx, ev(tx, None))?;
                self.tally.rejected_tx(tx);
                if self.production.reissue(tx, now) {
                    self.tally.reissued += 1;
                }
            }
        }
        Ok(())
    }
    fn step(&mut self, now: Nanos, ev: Ev, trace: &mut Trace) -> Result<(), SimError> {
        match ev {
            Ev::Shell(ev) => shell::step(self, now, ev, trace)?,
            Ev::Deliver { to, from, msg } => shell::deliver(self, now, to, from, msg, trace)?,
            Ev::Slot(s) => {
                self.slot(now, s, trace)?;
                self.shell
                    .sched
                    .at(self.production.slot_time(s + 1), Ev::Slot(s + 1));
            }
            Ev::Arrival => {
                if let Some(gap) = self.production.arrive(now) {
                    self.shell.sched.at(now.saturating_add(gap), Ev::Arrival);
                }
                self.recount();
            }
        }
        Ok(())
    }
    fn finished(&self) -> Option<End> {
        if self.stopped {
            Some(End::SafetyViolation)
        } else {
            self.done().then_some(End::Finalized)
        }
    }
    fn done_of(&self) -> (usize, usize) {
        (self.reached_count, self.honest)
    }
    fn byzantine_receive(
        &mut self,
        now: Nanos,
        me: NodeId,
        from: NodeId,
        msg: Message,
        trace: &mut Trace,
    ) -> Result<(), SimError> {
        match msg {
            Message::Query {
                request, deadline, ..
            } => self.byzantine_answer(now, me, from, request, deadline, trace),
            Message::Get { id, above } => self.byzantine_serve(now, me, from, id, above, trace),
            _ => Ok(()),
        }
    }
}
