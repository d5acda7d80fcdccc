//! Event mode: the nodes' state machines driven through the bus by the virtual clock.
//!
//! A query to an honest node is answered in one of two ways, with identical results (the
//! contract [`crate::node::Validator`] states: an honest answer is a pure function of the
//! answerer's preference; `tests/exact.rs` checks the digests agree on every run of the
//! digest corpus):
//!
//! - **Fast** (the default, [`shortcut`]): the query is not an event of its own. The bus
//!   decides both legs when it is sent, the answer's choice is read from the answerer's
//!   preference history as of the query's arrival, and the honest answers of one poll travel
//!   as one event. A poll that event surely completes (every peer honest and in time, the
//!   querier up throughout) schedules no timeout: the timeout would find it recorded.
//! - **Exact** (`exact = true` in the scenario, `luxsim run --exact`, and every run that
//!   writes a `messages` trace; [`exact`]): every query reaches the answerer as an event at
//!   its arrival and [`Node::handle`] answers it; every answer is an event of its own.
//!
//! Both modes draw from the bus in the same order (an answer's journey is drawn when its
//! query is sent), an answer that completes a poll pops where the fast mode's batch does,
//! and a query is handled after every other event of its instant (so it sees the answerer's
//! preference "as of" its arrival, changes at that time included). In exact mode the
//! `messages` trace is in time order; in fast mode each answer row is written when its query
//! is sent, stamped with the time the answer leaves.
//!
//! Invariants, checked by `debug_assert!`: each node sees its inputs in non-decreasing time,
//! its preference history is in non-decreasing time, a crashed node neither handles inputs nor
//! sends, and a poll never counts more answers than peers it sampled (in the node).

mod exact;
mod send;
mod shortcut;

use super::event_loop::{self, EventCounters};
use super::network::Fate;
use super::population::Population;
use super::progress::{End, Watch};
use super::rng::{rng_for, seed_for, Purpose};
use super::scenario::Scenario;
use super::scheduler::{nanos, Nanos};
use super::shell::{self, Host, Shell, ShellEv};
use super::summary::Outcomes;
use super::trace::{Event, Kind, Trace};
use super::SimError;
use crate::node::decision::{Input, Message, Node, NodeConfig, Output, Report, Timer};
use crate::node::{Adversary, Reply, Strategy, View};
use crate::node::{NodeId, StakeSampler, Validator};
use exact::Pending;
use send::record_message;

/// One scheduled event; kept at 24 bytes, since the queue moves millions of them.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ev {
    /// A query reaching a Byzantine node (Message::Query, flattened to keep events small).
    Query {
        to: NodeId,
        from: NodeId,
        request: u32,
        deadline: Nanos,
    },
    /// A Byzantine node's answer reaching `to` (Message::Answer, flattened).
    Answer {
        to: NodeId,
        from: NodeId,
        request: u32,
        choice: u32,
    },
    /// The honest answers to `to`'s poll `request`, sent at `sent`, kept in
    /// `batches[batch]`, due at the last of their arrival times before the poll's deadline.
    Answers {
        to: NodeId,
        request: u32,
        batch: u32,
        sent: Nanos,
    },
    /// Exact mode: a query reaching honest node `to`; the journey of its answer, drawn when
    /// the query was sent, is `pending[slot]` (`NO_ANSWER` if `to` is down on arrival).
    Ask {
        to: NodeId,
        from: NodeId,
        request: u32,
        slot: u32,
    },
    /// A start, timer, crash or recovery.
    Shell(ShellEv<Timer>),
}

impl Ev {
    fn deliver(to: NodeId, from: NodeId, msg: Message) -> Ev {
        match msg {
            Message::Query { request, deadline } => Ev::Query {
                to,
                from,
                request,
                deadline,
            },
            Message::Answer { request, choice } => Ev::Answer {
                to,
                from,
                request,
                choice,
            },
        }
    }
}

/// Fast mode: an honest answer in a batch, its times as offsets from its poll's start (12
/// bytes: a node keeps about k of them a concurrent poll).
#[derive(Debug, Clone, Copy)]
struct Answer {
    /// When it reaches the querier.
    arrival: u32,
    /// Who answers.
    from: NodeId,
    /// When the query reached the answerer (its answer is its preference then).
    asked: u32,
}

/// The simulated world of an event-mode run.
pub struct World<'a> {
    scenario: &'a Scenario,
    pop: Population,
    nodes: Vec<Node>,
    /// The queue, the bus, the crashes, the nodes' clocks and the message count.
    shell: Shell<Ev>,
    split: Vec<u64>,
    /// Whether every query and answer goes through [`Node::handle`] (see the module docs).
    exact: bool,
    /// Fast mode: honest answers of the poll whose queries are being sent:
    /// (arrival, answerer, asked).
    open: Vec<(Nanos, NodeId, Nanos)>,
    /// Queries sent for that poll (to honest and Byzantine peers).
    open_queries: u32,
    /// Fast mode: answer batches in flight, by index; `free_batches` lists the unused ones.
    batches: Vec<Vec<Answer>>,
    free_batches: Vec<u32>,
    /// Exact mode: the answers drawn for queries in flight, by slot; `free_pending` lists
    /// the unused slots and `open_pending` those of the poll whose queries are being sent.
    pending: Vec<Pending>,
    free_pending: Vec<u32>,
    open_pending: Vec<u32>,
    /// Scratch of [`World::answers`]: the answerer and preference of each answer of a batch.
    batch_prefs: Vec<(NodeId, u32)>,
    /// Exact mode: the slot of the query being answered.
    answering: Option<u32>,
    /// Each node's preference changes: (time, preference), oldest first.
    history: Vec<Vec<(Nanos, u32)>>,
    /// The time of the last entry of each history, apart from its preference so that the
    /// array most answers read is half as large and stays in the cache.
    latest_at: Vec<Nanos>,
    /// The preference of the last entry of each history (choices fit a byte).
    latest_pref: Vec<u8>,
    finalized: usize,
    honest: usize,
    adversary: Option<Adversary>,
    /// Scratch for the informed adversary's view of a poll.
    poll_view: Vec<u32>,
    /// Every node's poll timeout, in nanoseconds.
    poll_timeout: Nanos,
    out: Vec<Output>,
}

impl<'a> World<'a> {
    /// Builds the nodes, the bus and the adversary of `scenario`; `exact` sends every query
    /// and answer through [`Node::handle`] (see the module docs).
    pub fn new(scenario: &'a Scenario, pop: Population, exact: bool) -> Result<Self, SimError> {
        let net = &scenario.network;
        // Fast mode keeps a batch's times as 32-bit offsets from the poll's start, so a poll
        // timeout past 2^32 ns (4.29 s) runs exact: the same run, with more events.
        let exact = exact || nanos(net.poll_timeout) > u64::from(u32::MAX);
        let seed = scenario.seed;
        let mut shell = Shell::new(scenario)?;
        let poll_timeout = nanos(net.poll_timeout);
        let nodes: Vec<Node> = (0..net.nodes as NodeId)
            .map(|id| {
                Node::new(&NodeConfig {
                    id,
                    params: scenario.params,
                    protocol: scenario.protocol(),
                    shape: scenario.shape(),
                    choices: scenario.workload.choices,
                    initial: pop.initial[id as usize] as usize,
                    poll_timeout,
                    self_sample: net.self_sample,
                    seed: seed_for(seed, Purpose::Node(id)),
                })
            })
            .collect();
        let mut split = vec![0u64; scenario.workload.choices];
        for (i, node) in nodes.iter().enumerate() {
            if !pop.byzantine[i] {
                split[node.preference()] += 1;
            }
        }
        let adversary = scenario.byzantine.as_ref().map(|b| {
            let rng = rng_for(seed, Purpose::Adversary);
            Adversary::new(b.strategy, b.target, scenario.workload.choices, rng)
                .with_share(pop.byzantine_stake)
        });
        let k = scenario.params.k;
        // Crashes first: a node crashed at time 0 must not start polling at time 0.
        shell.schedule_crashes(scenario, Ev::Shell);
        for id in 0..net.nodes as NodeId {
            if !pop.byzantine[id as usize] {
                shell.sched.at(0, Ev::Shell(ShellEv::Start(id)));
            }
        }
        let honest = pop.honest();
        let history = nodes
            .iter()
            .map(|n| vec![(0, n.preference() as u32)])
            .collect();
        Ok(World {
            exact,
            open: Vec::new(),
            open_queries: 0,
            batches: Vec::new(),
            free_batches: Vec::new(),
            pending: Vec::new(),
            free_pending: Vec::new(),
            open_pending: Vec::new(),
            answering: None,
            batch_prefs: Vec::new(),
            latest_at: vec![0; nodes.len()],
            latest_pref: nodes.iter().map(|n| n.preference() as u8).collect(),
            history,
            shell,
            scenario,
            nodes,
            pop,
            split,
            finalized: 0,
            honest,
            adversary,
            poll_view: Vec::new(),
            poll_timeout,
            out: Vec::with_capacity(4 * (k + 1)),
        })
    }

    /// Runs until every honest node finalized, nothing is left to do, a budget ends or
    /// `watch` says stop; `watch` is told the progress every 65,536 events.
    pub fn run(&mut self, trace: &mut Trace, watch: Watch) -> Result<EventCounters, SimError> {
        let (budget, max_events) = (nanos(self.scenario.max_time), self.scenario.max_events);
        event_loop::run(self, budget, max_events, trace, watch)
    }

    /// The per-node results for the summary.
    pub fn outcomes(&self) -> Outcomes {
        let mut o = Outcomes {
            honest: self.honest,
            ..Outcomes::default()
        };
        for (i, n) in self.nodes.iter().enumerate() {
            if self.pop.byzantine[i] {
                continue;
            }
            if let Some(t) = n.decided_at() {
                o.decided.push(n.preference() as u32);
                o.nodes.push(i as u32);
                o.finality.push(t as f64 / 1e6);
                o.polls.push(f64::from(n.polls_recorded()));
            }
        }
        o
    }

    #[inline]
    fn is_down(&self, node: NodeId) -> bool {
        self.shell.is_down(node)
    }

    /// Whether a scenario crash keeps `node` down at time `t`.
    fn down_at(&self, node: NodeId, t: Nanos) -> bool {
        self.shell.crashes.down_at(node, t)
    }

    /// Fills `poll` with the votes `querier`'s poll `request` counts from the peers other
    /// than Byzantine `me`: its honest peers' preferences now, and the Byzantine peers
    /// before `me` in sample order as the informed adversary plans them; returns `me`'s
    /// slots, or `None` when the poll is no longer live.
    fn plan_poll(
        &self,
        now: Nanos,
        me: NodeId,
        querier: NodeId,
        request: u32,
        poll: &mut Vec<u32>,
    ) -> Option<u32> {
        let (ids, counts) = self.nodes[querier as usize].poll_sample(request)?;
        poll.clear();
        poll.resize(self.scenario.workload.choices, 0);
        for (&peer, &w) in ids.iter().zip(counts) {
            if !self.pop.byzantine[peer as usize] {
                poll[self.preference_at(peer, now) as usize] += w;
            }
        }
        for (&peer, &w) in ids.iter().zip(counts) {
            if peer == me {
                return Some(w);
            }
            if self.pop.byzantine[peer as usize] {
                let c = Adversary::informed_choice(poll, &self.split);
                poll[c as usize] += w;
            }
        }
        None
    }

    /// Runs `f` on honest node `id` at `now` and notes a change of its preference in the
    /// split and its history.
    #[inline]
    fn on_node(&mut self, now: Nanos, id: NodeId, f: impl FnOnce(&mut Node, &StakeSampler)) {
        let node = &mut self.nodes[id as usize];
        let before = node.preference();
        f(node, &self.pop.sampler);
        let after = node.preference();
        if before != after {
            self.split[before] -= 1;
            self.split[after] += 1;
            let h = &mut self.history[id as usize];
            debug_assert!(
                h.last().is_none_or(|&(t, _)| t <= now),
                "history out of order"
            );
            h.push((now, after as u32));
            self.latest_at[id as usize] = now;
            self.latest_pref[id as usize] = after as u8;
        }
    }

    /// `node`'s preference as of time `t` (changes at `t` included).
    #[inline]
    fn preference_at(&self, node: NodeId, t: Nanos) -> u32 {
        if self.latest_at[node as usize] <= t {
            return u32::from(self.latest_pref[node as usize]);
        }
        let h = &self.history[node as usize];
        h.iter()
            .rev()
            .find(|&&(at, _)| at <= t)
            .map_or(h[0].1, |&(_, p)| p)
    }
}

impl Host for World<'_> {
    type Node = Node;
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
        self.on_node(now, id, |node, sampler| {
            node.handle(now, input, sampler, out)
        });
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
        match o {
            Output::Send { to, msg } => self.send(now, id, to, msg, trace)?,
            Output::SetTimer { at, timer } => {
                let Timer::PollTimeout { request } = timer;
                let completes = if self.exact {
                    self.close_pending();
                    false
                } else {
                    self.close_batch(now, id, request, at)
                };
                // A timeout that would find its poll recorded is not scheduled (fast mode).
                if !completes {
                    self.shell
                        .sched
                        .at(at, Ev::Shell(ShellEv::Timer { node: id, timer }));
                }
            }
            Output::PollOpened { .. } | Output::Broadcast { .. } | Output::PollRecorded { .. } => {
                unreachable!("the shell carries these out")
            }
            Output::Report(Report::Decided { choice }) => {
                self.finalized += 1;
                trace.record(
                    Kind::Decide,
                    Event {
                        time: now,
                        node: id,
                        choice: Some(choice),
                        ..Event::default()
                    },
                )?;
            }
        }
        Ok(())
    }
    fn step(&mut self, now: Nanos, ev: Ev, trace: &mut Trace) -> Result<(), SimError> {
        match ev {
            Ev::Shell(ev) => shell::step(self, now, ev, trace)?,
            Ev::Query {
                to,
                from,
                request,
                deadline,
            } => shell::deliver(
                self,
                now,
                to,
                from,
                Message::Query { request, deadline },
                trace,
            )?,
            Ev::Answer {
                to,
                from,
                request,
                choice,
            } => shell::deliver(
                self,
                now,
                to,
                from,
                Message::Answer { request, choice },
                trace,
            )?,
            Ev::Answers {
                to,
                request,
                batch,
                sent,
            } => self.answers(now, to, request, batch, sent, trace)?,
            Ev::Ask {
                to,
                from,
                request,
                slot,
            } => self.ask(now, to, from, request, slot, trace)?,
        }
        Ok(())
    }
    fn finished(&self) -> Option<End> {
        (self.finalized == self.honest).then_some(End::Finalized)
    }
    fn done_of(&self) -> (usize, usize) {
        (self.finalized, self.honest)
    }
    fn byzantine_receive(
        &mut self,
        now: Nanos,
        me: NodeId,
        from: NodeId,
        msg: Message,
        trace: &mut Trace,
    ) -> Result<(), SimError> {
        let Message::Query { request, deadline } = msg else {
            return Ok(());
        };
        let Some(strategy) = self.adversary.as_ref().map(Adversary::strategy) else {
            return Ok(());
        };
        // The view: the querier's preference when it sent the query (deadline minus the
        // poll timeout), and, for the informed adversary, the poll in flight.
        let sent = deadline.saturating_sub(self.poll_timeout);
        let mine = self.preference_at(from, sent);
        let mut poll = std::mem::take(&mut self.poll_view);
        let slots = if strategy == Strategy::BalanceInformed {
            self.plan_poll(now, me, from, request, &mut poll)
        } else {
            None
        };
        let view = View {
            split: &self.split,
            querier_preference: Some(mine),
            poll: slots.map(|_| &poll[..]),
            slots: slots.unwrap_or(1),
        };
        let reply = self
            .adversary
            .as_mut()
            .expect("checked above")
            .answer(from, &view);
        self.poll_view = poll;
        match reply {
            Reply::Silent => Ok(()),
            Reply::Now(choice) => {
                self.send(now, me, from, Message::Answer { request, choice }, trace)
            }
            Reply::AtDeadline(choice) => {
                // The adversary holds its answer back so that it lands just before the
                // querier's deadline; the bus still decides whether it is lost or cut.
                // Its row's latency is the wait until it lands, so the trace says when the
                // querier really got it.
                let fate = self.shell.route(now, me, from);
                let msg = Message::Answer { request, choice };
                let at = deadline.saturating_sub(1).max(now);
                let seen = match fate {
                    Fate::Delivered(..) => Fate::Delivered(at - now, None),
                    other => other,
                };
                record_message(trace, now, me, from, msg, seen)?;
                if let Fate::Delivered(..) = fate {
                    self.shell.sched.at(at, Ev::deliver(from, me, msg));
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_stay_small() {
        assert!(
            std::mem::size_of::<Ev>() <= 24,
            "{}",
            std::mem::size_of::<Ev>()
        );
    }
}
