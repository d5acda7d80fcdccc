//! The half of an event world that does not depend on the protocol: the event queue, the
//! bus, the crash book, each node's clock and the message count ([`Shell`]), and the events
//! every world has (start, timer, delivery, crash, recovery), carried out once for any
//! [`Validator`] by the functions of this module. A world ([`super::world::World`] for one
//! decision, [`super::ledger::LedgerWorld`] for chains and DAGs) adds its own hooks: how an
//! honest answer travels, block and vertex production, the ledger safety checker.
//!
//! Invariants (`debug_assert!`ed in [`Shell::enter`]): a crashed node handles no input, and
//! each node sees its inputs in non-decreasing time.

use super::crashes::Crashes;
use super::network::{Bus, Fate};
use super::rng::{rng_for, Purpose};
use super::scenario::Scenario;
use super::scheduler::{Nanos, Scheduler};
use super::trace::{Event, Kind, Trace};
use super::SimError;
use crate::node::{Input, InputOf, NodeId, Validator};

/// The protocol-independent state of an event world.
pub(crate) struct Shell<E> {
    /// The events to come.
    pub sched: Scheduler<E>,
    /// Latency, loss, duplication and partitions.
    pub bus: Bus,
    /// Which nodes the scenario's crashes keep down, now and at any time.
    pub crashes: Crashes,
    /// The time of each node's last input, for the monotonic-time invariant.
    clock: Vec<Nanos>,
    /// Messages sent.
    pub messages: u64,
}

impl<E> Shell<E> {
    /// The shell of `scenario`: an empty queue (the world schedules the crashes, with
    /// [`Shell::schedule_crashes`], where its event order wants them), the bus on the
    /// scenario's network stream, no node down.
    pub fn new(scenario: &Scenario) -> Result<Self, SimError> {
        let net = &scenario.network;
        let latency = net.latency.sampler()?;
        Ok(Shell {
            sched: Scheduler::new(),
            bus: Bus::new(net, latency, rng_for(scenario.seed, Purpose::Network)),
            crashes: Crashes::new(net.nodes, &net.crashes),
            clock: vec![0; net.nodes],
            messages: 0,
        })
    }

    /// Schedules the scenario's crashes and recoveries as the world's events.
    pub fn schedule_crashes(
        &mut self,
        scenario: &Scenario,
        crash: impl Fn(NodeId, NodeId) -> E,
        recover: impl Fn(NodeId, NodeId) -> E,
    ) {
        Crashes::schedule(&scenario.network.crashes, &mut self.sched, crash, recover);
    }

    /// Whether `node` is down now.
    #[inline]
    pub fn is_down(&self, node: NodeId) -> bool {
        self.crashes.is_down(node)
    }

    /// Node `id` is about to handle an input at `now`: checks it is up and its time does not
    /// run backwards.
    #[inline]
    pub fn enter(&mut self, now: Nanos, id: NodeId) {
        debug_assert!(!self.is_down(id), "a crashed node handles an input");
        debug_assert!(
            now >= self.clock[id as usize],
            "node {id} sees time run backwards"
        );
        self.clock[id as usize] = now;
    }

    /// Counts a message from `from` to `to` sent at `now` and lets the bus decide its fate.
    #[inline]
    pub fn route(&mut self, now: Nanos, from: NodeId, to: NodeId) -> Fate {
        debug_assert!(!self.is_down(from), "a crashed node sends");
        self.messages += 1;
        self.bus.route(now, from, to)
    }

    /// Schedules the deliveries `fate` decided for `msg`, sent at `now`, as the events `ev`
    /// makes (two for a duplicated message, none for a dropped one).
    #[inline]
    pub fn schedule<M: Clone>(&mut self, now: Nanos, fate: Fate, msg: M, ev: impl Fn(M) -> E) {
        if let Fate::Delivered(first, second) = fate {
            let again = second.map(|d| (d, msg.clone()));
            self.sched.at(now.saturating_add(first), ev(msg));
            if let Some((d, msg)) = again {
                self.sched.at(now.saturating_add(d), ev(msg));
            }
        }
    }
}

/// A world of validators `Node` on a [`Shell`]: what the shared events need of it.
pub(crate) trait Host {
    /// The validators it runs.
    type Node: Validator;
    /// Its events.
    type Ev;
    /// Its shell.
    fn shell(&mut self) -> &mut Shell<Self::Ev>;
    /// Whether node `id` is Byzantine (the world's adversary plays it).
    fn is_byzantine(&self, id: NodeId) -> bool;
    /// Honest node `id` handles `input` at `now` and the world carries out its outputs.
    fn drive(
        &mut self,
        now: Nanos,
        id: NodeId,
        input: InputOf<Self::Node>,
        trace: &mut Trace,
    ) -> Result<(), SimError>;
    /// A message reached Byzantine node `me`.
    fn byzantine_receive(
        &mut self,
        now: Nanos,
        me: NodeId,
        from: NodeId,
        msg: <Self::Node as Validator>::Message,
        trace: &mut Trace,
    ) -> Result<(), SimError>;
}

/// Node `n` handles `input` (a start or a timer) at `now`, unless it is down.
pub(crate) fn wake<H: Host>(
    h: &mut H,
    now: Nanos,
    n: NodeId,
    input: InputOf<H::Node>,
    trace: &mut Trace,
) -> Result<(), SimError> {
    if h.shell().is_down(n) {
        return Ok(());
    }
    h.drive(now, n, input, trace)
}

/// `msg` from `from` reaches `to` at `now`: lost if `to` is down, else handled by the node
/// or by the adversary playing it.
pub(crate) fn deliver<H: Host>(
    h: &mut H,
    now: Nanos,
    to: NodeId,
    from: NodeId,
    msg: <H::Node as Validator>::Message,
    trace: &mut Trace,
) -> Result<(), SimError> {
    if h.shell().is_down(to) {
        return Ok(());
    }
    if h.is_byzantine(to) {
        h.byzantine_receive(now, to, from, msg, trace)
    } else {
        h.drive(now, to, Input::Message { from, msg }, trace)
    }
}

/// Nodes `first..=last` crash at `now`.
pub(crate) fn crash<H: Host>(
    h: &mut H,
    now: Nanos,
    first: NodeId,
    last: NodeId,
    trace: &mut Trace,
) -> Result<(), SimError> {
    for n in first..=last {
        h.shell().crashes.crash(now, n, trace)?;
    }
    Ok(())
}

/// Nodes `first..=last` recover at `now`; each honest one that is up again starts.
pub(crate) fn recover<H: Host>(
    h: &mut H,
    now: Nanos,
    first: NodeId,
    last: NodeId,
    trace: &mut Trace,
) -> Result<(), SimError> {
    for n in first..=last {
        let up = h.shell().crashes.recover(now, n, trace)?;
        if up && !h.is_byzantine(n) {
            h.drive(now, n, Input::Start, trace)?;
        }
    }
    Ok(())
}

/// The trace row of a recorded poll of node `node`: its top choice or item had `count`
/// votes of `answers` answers.
pub(crate) fn record_poll(
    trace: &mut Trace,
    time: Nanos,
    node: NodeId,
    request: u32,
    top: u64,
    count: u32,
    answers: u32,
) -> Result<(), SimError> {
    let e = Event {
        time,
        node,
        request: Some(request),
        choice: Some(top as u32),
        count: Some(count),
        answers: Some(answers),
        ..Event::default()
    };
    trace.record(Kind::Poll, e)?;
    Ok(())
}
