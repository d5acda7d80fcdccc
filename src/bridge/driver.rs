//! What the bridge's loop does with each frame, timer and output of the state machine.
//!
//! Invariants, checked where they matter:
//! - an answer goes back on the connection its query came in on, never to the address of
//!   the sender a frame claims: no frame can make this node send to a third party;
//! - with CURVE keys, a query's claimed sender is the validator the handshake authenticated
//!   (`User-Id`), and an answer's is the peer of the outbox it came on; otherwise `spoofed`;
//! - every frame read is either handed to the state machine or counted as dropped, once.

use super::config::NodeSettings;
use super::feed::Network;
use super::health::Health;
use super::metrics::{DropReason, Metrics};
use super::node::{Event, NodeReport, Sockets};
use super::port::{
    recv_inbox, recv_outbox, send_back, send_out, Inbound, PollBook, ReplyTo, BATCH,
};
use crate::node::decision::{Input, Message, Output, Report, Timer};
use crate::node::StakeSampler;
use crate::node::{Adversary, Reply, View};
use crate::node::{Node, Validator};
use crate::wire::{Frame, FrameError};
use crate::{EngineType, Protocol, Vote, VoteType};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the node does with queries: the honest state machine or an adversary.
pub(super) enum Role {
    Honest(Box<Node>),
    Byzantine {
        adversary: Box<Adversary>,
        /// The latest choice seen on the feed from each validator (u32::MAX: none yet).
        view: Arc<[AtomicU32]>,
    },
}

/// A deferred action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Pending {
    Poll(u32),
    Answer {
        to: ReplyTo,
        request: u32,
        choice: u32,
    },
}

/// The compact-vote engine code of a protocol (Slush has none: its votes say snowball).
pub fn engine_of(p: Protocol) -> EngineType {
    match p {
        Protocol::Snowflake => EngineType::Snowflake,
        Protocol::Snowball | Protocol::Slush => EngineType::Snowball,
    }
}

/// The loop's state: the node, its timers and the bookkeeping around its polls.
pub(super) struct Driver {
    s: Arc<NodeSettings>,
    me: u32,
    start: Instant,
    engine: EngineType,
    role: Role,
    sampler: StakeSampler,
    out: Vec<Output>,
    timers: BinaryHeap<Reverse<(u64, Pending)>>,
    delayed: usize,
    polls: PollBook,
    local: VecDeque<Message>,
    /// Where answers produced by the input being handled go.
    reply_to: Option<ReplyTo>,
    feed: Network,
    metrics: Metrics,
    connected: Arc<[AtomicBool]>,
    decided: Option<(u32, f64)>,
    scratch: Vec<u8>,
    msg: zmq::Message,
    events: Vec<Event>,
}

impl Driver {
    pub(super) fn new(
        s: Arc<NodeSettings>,
        me: u32,
        role: Role,
        sampler: StakeSampler,
        feed: Network,
        metrics: Metrics,
        connected: Arc<[AtomicBool]>,
    ) -> Driver {
        Driver {
            engine: engine_of(s.file.engine),
            s,
            me,
            start: Instant::now(),
            role,
            sampler,
            out: Vec::with_capacity(64),
            timers: BinaryHeap::new(),
            delayed: 0,
            polls: PollBook::default(),
            local: VecDeque::new(),
            reply_to: None,
            feed,
            metrics,
            connected,
            decided: None,
            scratch: Vec::with_capacity(32),
            msg: zmq::Message::new(),
            events: Vec::new(),
        }
    }

    /// Nanoseconds since the node started (monotonic).
    pub(super) fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Time until the next timer is due (zero when overdue), if any.
    pub(super) fn next_timer_in(&self) -> Option<Duration> {
        let Reverse((at, _)) = self.timers.peek()?;
        Some(Duration::from_nanos(at.saturating_sub(self.now())))
    }

    pub(super) fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    pub(super) fn set_connected(&self, index: u32, up: bool) {
        if let Some(c) = self.connected.get(index as usize) {
            c.store(up, Ordering::Relaxed);
        }
    }

    pub(super) fn start(&mut self, sockets: &Sockets) {
        self.input(sockets, Input::Start);
    }

    /// Reads the inbox: queries, each with the identity of its connection.
    pub(super) fn on_inbox(&mut self, sockets: &Sockets) {
        for _ in 0..BATCH {
            let (identity, user) = match recv_inbox(&sockets.router, &mut self.msg, &self.metrics) {
                Inbound::Empty => return,
                Inbound::Dropped => continue,
                Inbound::Body { reply_to, user } => (reply_to, user),
            };
            let frame = match self.decode() {
                Some(frame) => frame,
                None => continue,
            };
            let (Frame::Query { from, .. }, Some(identity)) = (frame, identity) else {
                let reason = match frame {
                    Frame::Answer { .. } => DropReason::WrongSocket,
                    Frame::Query { .. } => DropReason::Malformed,
                };
                self.metrics.drop_frame(reason);
                continue;
            };
            if self.s.keys.is_some() && user != Some(from) {
                self.metrics.drop_frame(DropReason::Spoofed);
                continue;
            }
            let Some(index) = self.s.index_of(from).filter(|&i| i != self.me) else {
                self.metrics.drop_frame(DropReason::UnknownPeer);
                continue;
            };
            self.metrics.queries_received.inc();
            self.on_query(sockets, index, identity, frame);
        }
    }

    /// Reads the outbox of validator `index`: answers to this node's queries.
    pub(super) fn on_outbox(&mut self, sockets: &Sockets, index: u32) {
        let Some(Some(dealer)) = sockets.outboxes.get(index as usize) else {
            return;
        };
        for _ in 0..BATCH {
            match recv_outbox(dealer, &mut self.msg, &self.metrics) {
                None => return,
                Some(false) => continue,
                Some(true) => {}
            }
            let Some(frame) = self.decode() else {
                continue;
            };
            let Frame::Answer { from, request, .. } = frame else {
                self.metrics.drop_frame(DropReason::WrongSocket);
                continue;
            };
            // The outbox was dialled to this peer (and, with keys, checked its server key).
            if self.s.id_at(index) != Some(from) {
                self.metrics.drop_frame(DropReason::Spoofed);
                continue;
            }
            if let Err(reason) = self.polls.answered(request, index) {
                self.metrics.drop_frame(reason);
                continue;
            }
            self.metrics.answers_received.inc();
            let msg = frame.to_message(self.now());
            self.input(sockets, Input::Message { from: index, msg });
        }
    }

    /// The frame in `self.msg`, or `None` after counting why it is not one.
    fn decode(&mut self) -> Option<Frame> {
        match Frame::decode(&self.msg) {
            Ok(Frame::Answer { choice, .. }) if choice as usize >= self.s.choices() => {
                self.metrics.drop_frame(DropReason::InvalidChoice);
                None
            }
            Ok(frame) => Some(frame),
            Err(FrameError::UnsupportedVersion(_)) => {
                self.metrics.drop_frame(DropReason::Version);
                None
            }
            Err(_) => {
                self.metrics.drop_frame(DropReason::Malformed);
                None
            }
        }
    }

    fn on_query(&mut self, sockets: &Sockets, from: u32, to: ReplyTo, frame: Frame) {
        let now = self.now();
        let Frame::Query { request, .. } = frame else {
            return;
        };
        let msg = frame.to_message(now);
        let Role::Byzantine { adversary, view } = &mut self.role else {
            self.reply_to = Some(to);
            self.input(sockets, Input::Message { from, msg });
            self.reply_to = None;
            return;
        };
        let mut split = vec![0u64; self.s.choices()];
        for (i, v) in view.iter().enumerate() {
            let c = v.load(Ordering::Relaxed) as usize;
            if i != self.me as usize && c < split.len() {
                split[c] += 1;
            }
        }
        let querier = self.s.id_at(from).unwrap_or(from);
        // What the feed shows: the honest split and the querier's latest vote; a socket
        // node sees no poll in flight.
        let revealed = view
            .get(from as usize)
            .map(|v| v.load(Ordering::Relaxed))
            .filter(|&c| (c as usize) < split.len());
        let seen = View {
            split: &split,
            querier_preference: revealed,
            poll: None,
            slots: 1,
        };
        match adversary.answer(querier, &seen) {
            Reply::Silent => {}
            Reply::Now(choice) => self.answer(sockets, to, request, choice),
            Reply::AtDeadline(choice) => {
                let Message::Query { deadline, .. } = msg else {
                    return;
                };
                let margin = ((deadline - now.min(deadline)) / 20).max(1_000_000);
                if self.delayed >= self.s.params.max_outstanding_items {
                    self.metrics.drop_frame(DropReason::OutboxFull);
                } else {
                    self.delayed += 1;
                    let at = deadline.saturating_sub(margin).max(now);
                    let pending = Pending::Answer {
                        to,
                        request,
                        choice,
                    };
                    self.timers.push(Reverse((at, pending)));
                }
            }
        }
    }

    pub(super) fn fire_timers(&mut self, sockets: &Sockets) {
        let now = self.now();
        while let Some(&Reverse((at, what))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            match what {
                Pending::Poll(request) => {
                    self.input(sockets, Input::Timer(Timer::PollTimeout { request }))
                }
                Pending::Answer {
                    to,
                    request,
                    choice,
                } => {
                    self.delayed -= 1;
                    self.answer(sockets, to, request, choice);
                }
            }
        }
    }

    /// Feeds one input to the state machine and carries out what it asks, messages to
    /// itself (self-sampling) included.
    fn input(&mut self, sockets: &Sockets, input: Input) {
        let now = self.now();
        self.handle(sockets, now, input);
        while let Some(msg) = self.local.pop_front() {
            // What the node says to itself goes back to itself, on no connection.
            let outer = self.reply_to.take();
            let from = self.me;
            self.handle(sockets, now, Input::Message { from, msg });
            self.reply_to = outer;
        }
    }

    fn handle(&mut self, sockets: &Sockets, now: u64, input: Input) {
        let Role::Honest(node) = &mut self.role else {
            return;
        };
        node.handle(now, input, &self.sampler, &mut self.out);
        let mut out = std::mem::take(&mut self.out);
        for o in out.drain(..) {
            self.output(sockets, now, o);
        }
        self.out = out;
    }

    fn output(&mut self, sockets: &Sockets, now: u64, o: Output) {
        match o {
            Output::Send { to, msg } if to == self.me => {
                if let Message::Query { request, .. } = msg {
                    self.track(now, request, to);
                }
                if let Message::Answer { choice, .. } = msg {
                    self.publish(choice, VoteType::Prefer);
                }
                self.local.push_back(msg);
            }
            Output::Send {
                to,
                msg: Message::Query { request, deadline },
            } => {
                self.track(now, request, to);
                let frame = Frame::Query {
                    from: self.s.file.id,
                    request,
                    budget_ns: deadline.saturating_sub(now),
                };
                self.scratch.clear();
                frame.encode_into(&mut self.scratch);
                if send_out(sockets, &self.connected, to, &self.scratch, &self.metrics) {
                    self.metrics.queries_sent.inc();
                }
            }
            Output::Send {
                msg: Message::Answer { request, choice },
                ..
            } => match self.reply_to {
                Some(to) => self.answer(sockets, to, request, choice),
                None => {
                    debug_assert!(false, "an answer outside the handling of a query");
                    self.metrics.drop_frame(DropReason::Unroutable);
                }
            },
            Output::SetTimer {
                at,
                timer: Timer::PollTimeout { request },
            } => {
                self.polls.open(request, now);
                self.timers.push(Reverse((at, Pending::Poll(request))));
            }
            Output::PollOpened { request, .. } => self.polls.open(request, now),
            Output::Broadcast { .. } => {
                debug_assert!(false, "a single-decision node never broadcasts");
                self.metrics.drop_frame(DropReason::Unroutable);
            }
            Output::PollRecorded {
                request,
                top,
                count,
                answers,
            } => {
                let alpha = self.s.params.alpha_confidence;
                let m = &self.metrics;
                (self.polls).recorded(m, alpha, now, request, top, count, answers);
            }
            Output::Report(Report::Decided { choice }) => {
                self.metrics.finalized.set(1.0);
                self.decided = Some((choice, now as f64 / 1e6));
                self.publish(choice, VoteType::Accept);
                self.events.push(Event::Decided {
                    node: self.s.file.id,
                    choice,
                    block: self.s.blocks.get(choice as usize).copied().unwrap_or(0),
                    at_ms: now as f64 / 1e6,
                    polls: self.metrics.polls.get() as u32,
                });
                // Polls still tracked are closed by the decision.
                self.polls.close_all();
            }
        }
    }

    fn track(&mut self, now: u64, request: u32, to: u32) {
        self.polls.owe(request, to, now);
    }

    /// Sends an answer on the inbox connection `to`; an answer is a vote cast, so it is
    /// published too.
    fn answer(&mut self, sockets: &Sockets, to: ReplyTo, request: u32, choice: u32) {
        let frame = Frame::Answer {
            from: self.s.file.id,
            request,
            choice,
        };
        self.scratch.clear();
        frame.encode_into(&mut self.scratch);
        if send_back(&sockets.router, to, &self.scratch, &self.metrics) {
            self.metrics.answers_sent.inc();
        }
        self.publish(choice, VoteType::Prefer);
    }

    /// Publishes this node's vote for `choice` on the feed, if it has one.
    fn publish(&self, choice: u32, vote_type: VoteType) {
        if self.feed.endpoint().is_none() {
            return;
        }
        let block = self.s.blocks.get(choice as usize).copied().unwrap_or(0);
        let vote = Vote::new(self.engine, self.s.file.id, u64::from(block), vote_type);
        let _ = self.feed.broadcast(&vote);
    }

    fn preference(&self) -> u32 {
        match &self.role {
            Role::Honest(node) => node.preference() as u32,
            Role::Byzantine { .. } => self.s.file.initial as u32,
        }
    }

    pub(super) fn refresh_gauges(&self, health: &Health) {
        let (count, share) = health.reachable();
        let peers = count - usize::from(self.s.file.self_sample);
        self.metrics.connected_peers.set(peers as f64);
        self.metrics.connected_stake.set(share);
        self.metrics.preference.set(f64::from(self.preference()));
    }

    pub(super) fn report(&self) -> NodeReport {
        let mut r = NodeReport::of(&self.s, &self.metrics, self.now());
        r.decided = self.decided.map(|d| d.0);
        r.decided_at_ms = self.decided.map(|d| d.1);
        r.preference = self.preference();
        r
    }

    /// Closes the feed.
    pub(super) fn close(self) {
        self.feed.close();
    }
}

impl super::node::Drive for Driver {
    fn now(&self) -> u64 {
        Driver::now(self)
    }
    fn next_timer_in(&self) -> Option<Duration> {
        Driver::next_timer_in(self)
    }
    fn start(&mut self, sockets: &Sockets) {
        Driver::start(self, sockets)
    }
    fn on_inbox(&mut self, sockets: &Sockets) {
        Driver::on_inbox(self, sockets)
    }
    fn on_outbox(&mut self, sockets: &Sockets, index: u32) {
        Driver::on_outbox(self, sockets, index)
    }
    fn set_connected(&self, index: u32, up: bool) {
        Driver::set_connected(self, index, up)
    }
    fn fire_timers(&mut self, sockets: &Sockets) {
        Driver::fire_timers(self, sockets)
    }
    fn refresh_gauges(&self, health: &Health) {
        Driver::refresh_gauges(self, health)
    }
    fn take_events(&mut self) -> Vec<Event> {
        Driver::take_events(self)
    }
    fn report(&self) -> NodeReport {
        Driver::report(self)
    }
    fn close(self) {
        Driver::close(self)
    }
}
