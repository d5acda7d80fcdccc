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
use super::progress::End;
use super::rng::{rng_for, Purpose};
use super::scenario::Scenario;
use super::scheduler::{Nanos, Scheduler};
use super::trace::{Event, Kind, Trace};
use super::SimError;
use crate::node::{Input, InputOf, NodeId, Output, OutputOf, Validator};

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

    /// Schedules the scenario's crashes and recoveries as the world's events (`wrap` makes
    /// one of a [`ShellEv`]).
    pub fn schedule_crashes<T>(&mut self, scenario: &Scenario, wrap: impl Fn(ShellEv<T>) -> E) {
        let crash = |first, last| wrap(ShellEv::Crash { first, last });
        let recover = |first, last| wrap(ShellEv::Recover { first, last });
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

/// The events every world has, whatever its protocol; `T` is its validators' timer.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ShellEv<T> {
    /// A node starts polling.
    Start(NodeId),
    /// A node's timer fires.
    Timer { node: NodeId, timer: T },
    /// Nodes `first..=last` crash.
    Crash { first: NodeId, last: NodeId },
    /// Nodes `first..=last` recover.
    Recover { first: NodeId, last: NodeId },
}

/// A validator's [`ShellEv`].
pub(crate) type ShellEvOf<V> = ShellEv<<V as Validator>::Timer>;

/// A world of validators `Node` on a [`Shell`]: what the event loop and the shared events
/// need of it. The world's own events, outputs and adversary are its hooks.
pub(crate) trait Host {
    /// The validators it runs.
    type Node: Validator;
    /// Its events.
    type Ev;
    /// Its shell.
    fn shell(&mut self) -> &mut Shell<Self::Ev>;
    /// Whether node `id` is Byzantine (the world's adversary plays it).
    fn is_byzantine(&self, id: NodeId) -> bool;
    /// Nodes in the world, honest and Byzantine.
    fn nodes(&self) -> usize;
    /// Honest node `id` handles `input` at `now`, appending its outputs to `out`; the world
    /// notes what it tracks of the node's state.
    fn handle(
        &mut self,
        now: Nanos,
        id: NodeId,
        input: InputOf<Self::Node>,
        out: &mut Outputs<Self>,
    );
    /// The world's reusable output buffer, empty between inputs.
    fn outputs(&mut self) -> &mut Outputs<Self>;
    /// Carries out one output of node `id` at `now`: a `Send`, a `SetTimer` or a `Report`
    /// (the shell carries out the others, see [`drive`]).
    fn output(
        &mut self,
        now: Nanos,
        id: NodeId,
        o: OutputOf<Self::Node>,
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
    /// Carries out one event at time `now`.
    fn step(&mut self, now: Nanos, ev: Self::Ev, trace: &mut Trace) -> Result<(), SimError>;
    /// Why the world ended by itself (every honest node done, a safety violation), if it did.
    fn finished(&self) -> Option<End>;
    /// Honest nodes done so far, and of how many.
    fn done_of(&self) -> (usize, usize);
}

/// A host's output buffer.
pub(crate) type Outputs<H> = Vec<OutputOf<<H as Host>::Node>>;

/// Honest node `id` handles `input` at `now` and its outputs are carried out in order: a
/// broadcast as one `Send` to every other node, a recorded poll as its trace row, an opened
/// poll as nothing (the world learns of its queries from the sends); the rest by the world.
pub(crate) fn drive<H: Host + ?Sized>(
    h: &mut H,
    now: Nanos,
    id: NodeId,
    input: InputOf<H::Node>,
    trace: &mut Trace,
) -> Result<(), SimError> {
    drive_with(h, now, id, trace, |h, out| h.handle(now, id, input, out))
}

/// As [`drive`], with `handle` in place of [`Host::handle`] (a world that hands a node
/// several inputs of one instant at once).
pub(crate) fn drive_with<H: Host + ?Sized>(
    h: &mut H,
    now: Nanos,
    id: NodeId,
    trace: &mut Trace,
    handle: impl FnOnce(&mut H, &mut Outputs<H>),
) -> Result<(), SimError> {
    h.shell().enter(now, id);
    let mut out = std::mem::take(h.outputs());
    debug_assert!(out.is_empty(), "outputs left over from an earlier input");
    handle(h, &mut out);
    for o in out.drain(..) {
        match o {
            Output::PollOpened { .. } => {}
            Output::PollRecorded {
                request,
                top,
                count,
                answers,
            } => record_poll(trace, now, id, request, top, count, answers)?,
            Output::Broadcast { msg } => {
                for to in (0..h.nodes() as NodeId).filter(|&to| to != id) {
                    let msg = msg.clone();
                    h.output(now, id, Output::Send { to, msg }, trace)?;
                }
            }
            o => h.output(now, id, o, trace)?,
        }
    }
    *h.outputs() = out;
    Ok(())
}

/// Carries out one of the events every world has.
pub(crate) fn step<H: Host>(
    h: &mut H,
    now: Nanos,
    ev: ShellEvOf<H::Node>,
    trace: &mut Trace,
) -> Result<(), SimError> {
    match ev {
        ShellEv::Start(n) => wake(h, now, n, Input::Start, trace),
        ShellEv::Timer { node, timer } => wake(h, now, node, Input::Timer(timer), trace),
        ShellEv::Crash { first, last } => crash(h, now, first, last, trace),
        ShellEv::Recover { first, last } => recover(h, now, first, last, trace),
    }
}

/// Node `n` handles `input` (a start or a timer) at `now`, unless it is down.
fn wake<H: Host>(
    h: &mut H,
    now: Nanos,
    n: NodeId,
    input: InputOf<H::Node>,
    trace: &mut Trace,
) -> Result<(), SimError> {
    if h.shell().is_down(n) {
        return Ok(());
    }
    drive(h, now, n, input, trace)
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
        drive(h, now, to, Input::Message { from, msg }, trace)
    }
}

/// Nodes `first..=last` crash at `now`.
fn crash<H: Host>(
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
fn recover<H: Host>(
    h: &mut H,
    now: Nanos,
    first: NodeId,
    last: NodeId,
    trace: &mut Trace,
) -> Result<(), SimError> {
    for n in first..=last {
        let up = h.shell().crashes.recover(now, n, trace)?;
        if up && !h.is_byzantine(n) {
            drive(h, now, n, Input::Start, trace)?;
        }
    }
    Ok(())
}

/// The trace row of a recorded poll of node `node`: its top choice or item had `count`
/// votes of `answers` answers.
fn record_poll(
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
