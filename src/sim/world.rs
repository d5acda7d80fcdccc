//! Event mode: the nodes' state machines driven through the bus by the virtual clock.
//!
//! Two shortcuts keep the event count down, without changing any result:
//!
//! - A query to an honest node is not an event of its own. When it is sent, the bus decides
//!   both legs at once (the query's delay and fate, then the answer's, from the arrival
//!   time). The answer's choice is read, when it is delivered, from the answerer's preference
//!   history as of the query's arrival: exactly what [`Node::handle`] would have answered
//!   then, since every event before that time has been processed by then. A node crashed
//!   when the query arrives does not answer.
//! - The honest answers of one poll travel as one `Answers` event, due when the last of them
//!   (before the poll's deadline) arrives; there they are handed to the node one by one, in
//!   arrival order and each at its own time. Until the answer that completes a poll, answers
//!   only count, so the poll is recorded at the same time and the same way as if each answer
//!   were an event; a poll that misses answers is closed by its timeout as before.
//!
//! Queries to Byzantine nodes and their answers are events, since the adversary reacts to
//! the world as it is. In a `messages` trace the answer row is written when the query is
//! sent, stamped with the time the answer leaves.

use super::network::{Bus, Fate};
use super::population::Population;
use super::progress::{End, Progress, Watch};
use super::rng::{rng_for, seed_for, Purpose};
use super::scenario::Scenario;
use super::scheduler::{nanos, Nanos, Scheduler};
use super::summary::Outcomes;
use super::trace::{Event, Kind, Trace};
use super::SimError;
use crate::node::decision::{Input, Message, Node, NodeConfig, Output, Report, Timer};
use crate::node::{Adversary, Reply};
use crate::node::{NodeId, Validator};

/// One scheduled event; kept at 24 bytes, since the queue moves millions of them.
#[derive(Debug, Clone, Copy)]
enum Ev {
    Start(NodeId),
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
    /// The honest answers to `to`'s poll `request`, kept in `batches[batch]`, due at the
    /// last of their arrival times before the poll's deadline.
    Answers {
        to: NodeId,
        request: u32,
        batch: u32,
    },
    Timer {
        node: NodeId,
        timer: Timer,
    },
    Crash {
        first: NodeId,
        last: NodeId,
    },
    Recover {
        first: NodeId,
        last: NodeId,
    },
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

/// Counters of an event-mode run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counters {
    /// Events processed.
    pub events: u64,
    /// Messages sent.
    pub messages: u64,
    /// Virtual time of the last event.
    pub end: Nanos,
    /// Why the run ended.
    pub ended: End,
}

/// The simulated world of an event-mode run.
pub struct World<'a> {
    scenario: &'a Scenario,
    pop: Population,
    nodes: Vec<Node>,
    down: Vec<bool>,
    split: Vec<u64>,
    /// Honest answers of the poll whose queries are being sent: (arrival, answerer, asked).
    open: Vec<(Nanos, NodeId, Nanos)>,
    /// Answer batches in flight, by index; `free_batches` lists the unused ones.
    batches: Vec<Vec<(Nanos, NodeId, Nanos)>>,
    free_batches: Vec<u32>,
    /// Each node's preference changes: (time, preference), oldest first.
    history: Vec<Vec<(Nanos, u32)>>,
    /// The last entry of each history, compact so that most answers hit the cache.
    latest: Vec<(Nanos, u32)>,
    /// Crash intervals [from, to) per scenario entry, for answers decided ahead of time.
    crashes: Vec<(NodeId, NodeId, Nanos, Nanos)>,
    finalized: usize,
    honest: usize,
    sched: Scheduler<Ev>,
    bus: Bus,
    adversary: Option<Adversary>,
    out: Vec<Output>,
    messages: u64,
}

impl<'a> World<'a> {
    /// Builds the nodes, the bus and the adversary of `scenario`.
    pub fn new(scenario: &'a Scenario, pop: Population) -> Result<Self, SimError> {
        let net = &scenario.network;
        let seed = scenario.seed;
        let latency = net.latency.sampler()?;
        let bus = Bus::new(net, latency, rng_for(seed, Purpose::Network));
        let poll_timeout = nanos(net.poll_timeout);
        let nodes: Vec<Node> = (0..net.nodes as NodeId)
            .map(|id| {
                Node::new(&NodeConfig {
                    id,
                    params: scenario.params,
                    protocol: scenario.protocol(),
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
            Adversary::new(
                b.strategy,
                b.target,
                scenario.workload.choices,
                rng_for(seed, Purpose::Adversary),
            )
        });
        let k = scenario.params.k;
        let mut sched = Scheduler::new();
        // Crashes first: a node crashed at time 0 must not start polling at time 0.
        for c in &net.crashes {
            let (first, last) = (c.nodes[0] as NodeId, c.nodes[1] as NodeId);
            sched.at(nanos(c.at), Ev::Crash { first, last });
            if let Some(r) = c.recover {
                sched.at(nanos(r), Ev::Recover { first, last });
            }
        }
        for id in 0..net.nodes as NodeId {
            if !pop.byzantine[id as usize] {
                sched.at(0, Ev::Start(id));
            }
        }
        let honest = pop.honest();
        let history = nodes
            .iter()
            .map(|n| vec![(0, n.preference() as u32)])
            .collect();
        let crashes = net
            .crashes
            .iter()
            .map(|c| {
                let end = c.recover.map_or(Nanos::MAX, nanos);
                (c.nodes[0] as NodeId, c.nodes[1] as NodeId, nanos(c.at), end)
            })
            .collect();
        Ok(World {
            open: Vec::new(),
            batches: Vec::new(),
            free_batches: Vec::new(),
            latest: nodes.iter().map(|n| (0, n.preference() as u32)).collect(),
            history,
            crashes,
            scenario,
            down: vec![false; net.nodes],
            nodes,
            pop,
            split,
            finalized: 0,
            honest,
            sched,
            bus,
            adversary,
            out: Vec::with_capacity(4 * (k + 1)),
            messages: 0,
        })
    }

    /// Runs until every honest node finalized, nothing is left to do, a budget ends or
    /// `watch` says stop; `watch` is told the progress every 65,536 events.
    pub fn run(&mut self, trace: &mut Trace, watch: Watch) -> Result<Counters, SimError> {
        let budget = nanos(self.scenario.max_time);
        let max_events = self.scenario.max_events;
        let mut end = 0;
        let mut ended = None;
        while self.finalized < self.honest {
            if self.sched.popped() >= max_events {
                ended = Some(End::MaxEvents);
                break;
            }
            let Some((now, ev)) = self.sched.pop_until(budget) else {
                break;
            };
            end = now;
            self.step(now, ev, trace)?;
            if self.sched.popped() & 0xffff == 0 {
                let p = Progress {
                    at: now,
                    budget,
                    done: self.finalized,
                    of: self.honest,
                };
                if !watch(p) {
                    ended = Some(End::Interrupted);
                    break;
                }
            }
        }
        let ended = match ended {
            Some(e) => e,
            None if self.finalized == self.honest => End::Finalized,
            None if self.sched.is_empty() => {
                end = end.max(self.sched.now());
                End::Idle
            }
            None => {
                end = budget;
                End::MaxTime
            }
        };
        Ok(Counters {
            events: self.sched.popped(),
            messages: self.messages,
            end,
            ended,
        })
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
                o.finality.push(t as f64 / 1e6);
                o.polls.push(f64::from(n.polls_recorded()));
            }
        }
        o
    }

    fn step(&mut self, now: Nanos, ev: Ev, trace: &mut Trace) -> Result<(), SimError> {
        match ev {
            Ev::Start(n) => {
                if !self.down[n as usize] {
                    self.drive(now, n, Input::Start, trace)?;
                }
            }
            Ev::Query {
                to,
                from,
                request,
                deadline,
            } => self.deliver(now, to, from, Message::Query { request, deadline }, trace)?,
            Ev::Answer {
                to,
                from,
                request,
                choice,
            } => self.deliver(now, to, from, Message::Answer { request, choice }, trace)?,
            Ev::Answers { to, request, batch } => {
                let answers = std::mem::take(&mut self.batches[batch as usize]);
                for &(arrival, from, asked) in &answers {
                    if self.down_at(to, arrival) {
                        continue;
                    }
                    let pref = self.preference_at(from, asked);
                    let msg = Node::answer(request, pref as usize);
                    self.drive(arrival, to, Input::Message { from, msg }, trace)?;
                }
                self.batches[batch as usize] = answers;
                self.batches[batch as usize].clear();
                self.free_batches.push(batch);
            }
            Ev::Timer { node, timer } => {
                if !self.down[node as usize] {
                    self.drive(now, node, Input::Timer(timer), trace)?;
                }
            }
            Ev::Crash { first, last } => {
                for n in first..=last {
                    self.down[n as usize] = true;
                    trace.record(
                        Kind::Crash,
                        Event {
                            time: now,
                            node: n,
                            ..Event::default()
                        },
                    )?;
                }
            }
            Ev::Recover { first, last } => {
                for n in first..=last {
                    self.down[n as usize] = false;
                    trace.record(
                        Kind::Recover,
                        Event {
                            time: now,
                            node: n,
                            ..Event::default()
                        },
                    )?;
                    if !self.pop.byzantine[n as usize] {
                        self.drive(now, n, Input::Start, trace)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn drive(
        &mut self,
        now: Nanos,
        id: NodeId,
        input: Input,
        trace: &mut Trace,
    ) -> Result<(), SimError> {
        let node = &mut self.nodes[id as usize];
        let before = node.preference();
        node.handle(now, input, &self.pop.sampler, &mut self.out);
        let after = node.preference();
        if before != after {
            self.split[before] -= 1;
            self.split[after] += 1;
            self.history[id as usize].push((now, after as u32));
            self.latest[id as usize] = (now, after as u32);
        }
        let mut out = std::mem::take(&mut self.out);
        for o in out.drain(..) {
            match o {
                Output::Send { to, msg } => self.send(now, id, to, msg, trace)?,
                Output::SetTimer { at, timer } => {
                    let Timer::PollTimeout { request } = timer;
                    self.close_batch(id, request, at);
                    self.sched.at(at, Ev::Timer { node: id, timer });
                }
                Output::PollOpened { .. } => {}
                Output::Broadcast { msg } => {
                    for to in 0..self.nodes.len() as NodeId {
                        if to != id {
                            self.send(now, id, to, msg, trace)?;
                        }
                    }
                }
                Output::PollRecorded {
                    request,
                    top,
                    count,
                    answers,
                } => trace.record(
                    Kind::Poll,
                    Event {
                        time: now,
                        node: id,
                        request: Some(request),
                        choice: Some(top as u32),
                        count: Some(count),
                        answers: Some(answers),
                        ..Event::default()
                    },
                )?,
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
        }
        self.out = out;
        Ok(())
    }

    fn byzantine_receive(
        &mut self,
        now: Nanos,
        me: NodeId,
        from: NodeId,
        msg: Message,
        trace: &mut Trace,
    ) -> Result<(), SimError> {
        let (Message::Query { request, deadline }, Some(adv)) = (msg, self.adversary.as_mut())
        else {
            return Ok(());
        };
        match adv.reply(from, &self.split) {
            Reply::Silent => Ok(()),
            Reply::Now(choice) => {
                self.send(now, me, from, Message::Answer { request, choice }, trace)
            }
            Reply::AtDeadline(choice) => {
                // The adversary holds its answer back so that it lands just before the
                // querier's deadline; the bus still decides whether it is lost or cut.
                self.messages += 1;
                let fate = self.bus.route(now, me, from);
                if trace.wants(Kind::Answer) {
                    let kind = match fate {
                        Fate::Lost => Kind::Lost,
                        Fate::Partitioned => Kind::Cut,
                        Fate::Delivered(..) => Kind::Answer,
                    };
                    let e = Event {
                        time: now,
                        node: me,
                        peer: Some(from),
                        request: Some(request),
                        choice: Some(choice),
                        ..Event::default()
                    };
                    trace.record(kind, e)?;
                }
                if let Fate::Delivered(..) = fate {
                    let at = deadline.saturating_sub(1).max(now);
                    let msg = Message::Answer { request, choice };
                    self.sched.at(at, Ev::deliver(from, me, msg));
                }
                Ok(())
            }
        }
    }

    fn deliver(
        &mut self,
        now: Nanos,
        to: NodeId,
        from: NodeId,
        msg: Message,
        trace: &mut Trace,
    ) -> Result<(), SimError> {
        if self.down[to as usize] {
            return Ok(());
        }
        if self.pop.byzantine[to as usize] {
            self.byzantine_receive(now, to, from, msg, trace)
        } else {
            self.drive(now, to, Input::Message { from, msg }, trace)
        }
    }

    /// `node`'s preference as of time `t` (changes at `t` included).
    #[inline]
    fn preference_at(&self, node: NodeId, t: Nanos) -> u32 {
        let (at, latest) = self.latest[node as usize];
        if at <= t {
            return latest;
        }
        let h = &self.history[node as usize];
        h.iter()
            .rev()
            .find(|&&(at, _)| at <= t)
            .map_or(h[0].1, |&(_, p)| p)
    }

    /// Whether a scenario crash keeps `node` down at time `t`.
    fn down_at(&self, node: NodeId, t: Nanos) -> bool {
        self.crashes.iter().any(|&(first, last, from, to)| {
            (first..=last).contains(&node) && (from..to).contains(&t)
        })
    }

    fn send(
        &mut self,
        now: Nanos,
        from: NodeId,
        to: NodeId,
        msg: Message,
        trace: &mut Trace,
    ) -> Result<(), SimError> {
        if let Message::Query { request, .. } = msg {
            if !self.pop.byzantine[to as usize] {
                return self.query_honest(now, from, to, request, trace);
            }
        }
        self.messages += 1;
        let fate = self.bus.route(now, from, to);
        if trace.wants(Kind::Query) {
            let (request, choice) = match msg {
                Message::Query { request, .. } => (request, None),
                Message::Answer { request, choice } => (request, Some(choice)),
            };
            let kind = match (fate, choice) {
                (Fate::Lost, _) => Kind::Lost,
                (Fate::Partitioned, _) => Kind::Cut,
                (_, None) => Kind::Query,
                (_, Some(_)) => Kind::Answer,
            };
            let e = Event {
                time: now,
                node: from,
                peer: Some(to),
                request: Some(request),
                choice,
                ..Event::default()
            };
            trace.record(kind, e)?;
        }
        if let Fate::Delivered(first, second) = fate {
            self.sched
                .at(now.saturating_add(first), Ev::deliver(to, from, msg));
            if let Some(d) = second {
                self.sched
                    .at(now.saturating_add(d), Ev::deliver(to, from, msg));
            }
        }
        Ok(())
    }

    /// Sends a query to an honest node and decides its answer's journey at once.
    fn query_honest(
        &mut self,
        now: Nanos,
        from: NodeId,
        to: NodeId,
        request: u32,
        trace: &mut Trace,
    ) -> Result<(), SimError> {
        self.messages += 1;
        let fate = self.bus.route(now, from, to);
        let messages = trace.wants(Kind::Query);
        if messages {
            let kind = match fate {
                Fate::Lost => Kind::Lost,
                Fate::Partitioned => Kind::Cut,
                Fate::Delivered(..) => Kind::Query,
            };
            let e = Event {
                time: now,
                node: from,
                peer: Some(to),
                request: Some(request),
                ..Event::default()
            };
            trace.record(kind, e)?;
        }
        let Fate::Delivered(first, second) = fate else {
            return Ok(());
        };
        for delay in std::iter::once(first).chain(second) {
            let asked = now.saturating_add(delay);
            if self.down_at(to, asked) {
                continue;
            }
            self.messages += 1;
            let back = self.bus.route(asked, to, from);
            if messages {
                let kind = match back {
                    Fate::Lost => Kind::Lost,
                    Fate::Partitioned => Kind::Cut,
                    Fate::Delivered(..) => Kind::Answer,
                };
                let e = Event {
                    time: asked,
                    node: to,
                    peer: Some(from),
                    request: Some(request),
                    ..Event::default()
                };
                trace.record(kind, e)?;
            }
            if let Fate::Delivered(d1, d2) = back {
                for d in std::iter::once(d1).chain(d2) {
                    self.open.push((asked.saturating_add(d), to, asked));
                }
            }
        }
        Ok(())
    }

    /// Schedules the honest answers gathered for `node`'s poll `request` (its queries were
    /// just sent) as one event at the last arrival before `deadline`; later ones are useless.
    ///
    /// Answers only count toward the poll until the one that completes it, and they arrive in
    /// time order within the batch, so the poll is recorded exactly when (and as) the
    /// answer-by-answer simulation would record it.
    fn close_batch(&mut self, node: NodeId, request: u32, deadline: Nanos) {
        if self.open.is_empty() {
            return;
        }
        let batch = match self.free_batches.pop() {
            Some(b) => b,
            None => {
                self.batches.push(Vec::new());
                (self.batches.len() - 1) as u32
            }
        };
        let answers = &mut self.batches[batch as usize];
        answers.extend(self.open.drain(..).filter(|a| a.0 <= deadline));
        // Stable: answers arriving at the same time keep the order they were sent in.
        answers.sort_by_key(|a| a.0);
        // A duplicated answer counts once, at its first arrival: drop the later copies, so
        // that the batch is due exactly when the last answerer's first copy lands.
        let mut i = 0;
        while i < answers.len() {
            let from = answers[i].1;
            if answers[..i].iter().any(|a| a.1 == from) {
                answers.remove(i);
            } else {
                i += 1;
            }
        }
        match answers.last() {
            Some(&(last, _, _)) => self.sched.at(
                last,
                Ev::Answers {
                    to: node,
                    request,
                    batch,
                },
            ),
            None => self.free_batches.push(batch),
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
