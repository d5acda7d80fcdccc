//! What the bridge's loop does for a chain or DAG validator ([`LedgerNode`]): the frames of
//! [`super::ledger_frame`], its timers, the slot schedule and proposals submitted over HTTP.
//!
//! Invariants, checked where they matter:
//! - requests (query, get, push) leave on this node's outbox to the peer; replies (answer,
//!   put) go back on the connection their request came in on, never anywhere else;
//! - with CURVE keys, a request's claimed sender is the validator the handshake
//!   authenticated, and a reply's is the peer of the outbox it came on; otherwise `spoofed`;
//! - every frame read is either handed to the state machine or counted as dropped, once.

use super::config::NodeSettings;
use super::feed::{FeedError, Network};
use super::health::Health;
use super::ledger_config::LedgerFile;
use super::metrics::{DropReason, Metrics};
use super::node::{Drive, Event, NodeReport, Sockets};
use super::port::{
    recv_inbox, recv_outbox, send_back, send_out, Inbound, PollBook, ReplyTo, BATCH,
};
use super::schedule::{leader, plan, Slots};
use crate::node::ledger::{Command, Input, LedgerKind, LedgerNode, Message, Output, Report, Timer};
use crate::node::{StakeSampler, Validator};
use crate::wire::{is_reply, LedgerFrame};
use crate::{EngineType, Vote, VoteType};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Proposals submitted over HTTP (`POST /propose`) waiting for the loop, at most.
pub const SUBMIT_QUEUE: usize = 64;

/// The loop's state for one ledger validator.
pub(super) struct LedgerDriver {
    s: Arc<NodeSettings>,
    l: LedgerFile,
    me: u32,
    start: Instant,
    /// `None`: a silent Byzantine node, which answers, serves and proposes nothing.
    node: Option<Box<LedgerNode>>,
    sampler: StakeSampler,
    out: Vec<Output>,
    timers: BinaryHeap<Reverse<(u64, Timer)>>,
    slots: Slots,
    submitted: Option<Receiver<Command>>,
    polls: PollBook,
    local: VecDeque<Message>,
    /// The peer whose request is being handled and the connection it came on.
    reply_to: Option<(u32, ReplyTo)>,
    feed: Network,
    metrics: Metrics,
    connected: Arc<[AtomicBool]>,
    /// `Get` requests sent.
    fetches: u64,
    scratch: Vec<u8>,
    msg: zmq::Message,
    events: Vec<Event>,
}

impl LedgerDriver {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        s: Arc<NodeSettings>,
        me: u32,
        node: Option<LedgerNode>,
        sampler: StakeSampler,
        submitted: Option<Receiver<Command>>,
        feed: Network,
        metrics: Metrics,
        connected: Arc<[AtomicBool]>,
    ) -> LedgerDriver {
        let l = s
            .file
            .ledger
            .clone()
            .expect("a ledger driver has a [ledger] table");
        LedgerDriver {
            slots: Slots::new(crate::util::nanos(l.block_interval)),
            l,
            s,
            me,
            start: Instant::now(),
            node: node.map(Box::new),
            sampler,
            out: Vec::with_capacity(64),
            timers: BinaryHeap::new(),
            submitted,
            polls: PollBook::default(),
            local: VecDeque::new(),
            reply_to: None,
            feed,
            metrics,
            connected,
            fetches: 0,
            scratch: Vec::with_capacity(256),
            msg: zmq::Message::new(),
            events: Vec::new(),
        }
    }

    fn engine(&self) -> EngineType {
        match self.l.kind {
            LedgerKind::Chain => EngineType::Chain,
            LedgerKind::Dag => EngineType::Dag,
        }
    }

    fn at_ms(&self, now: u64) -> f64 {
        now as f64 / 1e6
    }

    /// Feeds one input to the node and carries out what it asks, what it says to itself
    /// (self-sampling) included.
    fn input(&mut self, sockets: &Sockets, input: Input) {
        let now = self.now();
        self.handle(sockets, now, input);
        while let Some(msg) = self.local.pop_front() {
            let outer = self.reply_to.take();
            self.handle(sockets, now, Input::Message { from: self.me, msg });
            self.reply_to = outer;
        }
    }

    fn handle(&mut self, sockets: &Sockets, now: u64, input: Input) {
        let Some(node) = &mut self.node else {
            return;
        };
        node.handle(now, input, &self.sampler, &mut self.out);
        let mut out = std::mem::take(&mut self.out);
        for o in out.drain(..) {
            self.output(sockets, now, o);
        }
        self.out = out;
    }

    fn encode(&mut self, now: u64, msg: Message) {
        self.scratch.clear();
        let frame = LedgerFrame {
            from: self.s.file.id,
            msg,
        };
        frame.encode_into(now, &mut self.scratch);
    }

    fn output(&mut self, sockets: &Sockets, now: u64, o: Output) {
        match o {
            Output::Send { to, msg } if to == self.me => self.local.push_back(msg),
            Output::Send { to, msg } if is_reply(&msg) => {
                let answer = matches!(msg, Message::Answer { .. });
                match self.reply_to {
                    Some((peer, conn)) if peer == to => {
                        self.encode(now, msg);
                        if send_back(&sockets.router, conn, &self.scratch, &self.metrics) && answer
                        {
                            self.metrics.answers_sent.inc();
                        }
                    }
                    _ => {
                        debug_assert!(false, "a reply outside the handling of its request");
                        self.metrics.drop_frame(DropReason::Unroutable);
                    }
                }
            }
            Output::Send { to, msg } => {
                if let Message::Query { request, .. } = msg {
                    self.polls.owe(request, to, now);
                }
                let query = matches!(msg, Message::Query { .. });
                self.fetches += u64::from(matches!(msg, Message::Get { .. }));
                self.encode(now, msg);
                if send_out(sockets, &self.connected, to, &self.scratch, &self.metrics) && query {
                    self.metrics.queries_sent.inc();
                }
            }
            Output::Broadcast { msg } => {
                self.encode(now, msg);
                for &to in &sockets.outbox_of {
                    send_out(sockets, &self.connected, to, &self.scratch, &self.metrics);
                }
            }
            Output::SetTimer { at, timer } => self.timers.push(Reverse((at, timer))),
            Output::PollOpened { request, .. } => self.polls.open(request, now),
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
            Output::Report(r) => self.report_item(now, r),
        }
    }

    fn report_item(&mut self, now: u64, r: Report) {
        let node = self.s.file.id;
        let at_ms = self.at_ms(now);
        match r {
            Report::Proposed(item) => self.events.push(Event::Proposed {
                node,
                id: item.id(),
                height: item.height(),
                at_ms,
            }),
            Report::Accepted { id, height } => {
                self.metrics.items_accepted.inc();
                self.metrics.accepted_height.set(height as f64);
                self.publish(id, VoteType::Accept);
                let txs = self.node.as_ref().map_or(0, |n| n.accepted_txs() as u64);
                self.events.push(Event::Accepted {
                    node,
                    id,
                    height,
                    at_ms,
                    polls: self.metrics.polls.get() as u32,
                    accepted_txs: (self.l.kind == LedgerKind::Dag).then_some(txs),
                });
            }
            Report::Rejected { id, height } => {
                self.metrics.items_rejected.inc();
                self.publish(id, VoteType::Reject);
                self.events.push(Event::Rejected {
                    node,
                    id,
                    height,
                    at_ms,
                });
            }
            Report::TxAccepted { .. } | Report::TxRejected { .. } => {}
        }
    }

    /// Publishes this node's vote on item `id` on the feed, if it has one.
    /// An item whose id does not fit a compact vote's u16 (`POST /propose` picks such ids)
    /// is not published, and is counted (`vote_id_too_large`).
    fn publish(&self, id: u64, vote_type: VoteType) {
        if self.feed.endpoint().is_some() {
            let vote = Vote::new(self.engine(), self.s.file.id, id, vote_type);
            if let Err(FeedError::Pack(_)) = self.feed.broadcast(&vote) {
                self.metrics.drop_frame(DropReason::VoteIdTooLarge);
            }
        }
    }

    /// The slots due now whose leader is this node propose; a chain leader first waits up
    /// to half an interval for the previous slot's block, so that a leader whose clock runs
    /// ahead still builds on it.
    fn run_slots(&mut self, sockets: &Sockets) {
        let now = self.now();
        while let Some(s) = self.slots.due(now) {
            let Some(node) = &self.node else {
                self.slots.advance();
                continue;
            };
            if leader(&self.l, s) != Some(self.s.file.id) {
                self.slots.advance();
                continue;
            }
            let waits = self.l.kind == LedgerKind::Chain
                && s > 1
                && node.item(s - 1).is_none()
                && self
                    .slots
                    .time_of(s)
                    .is_some_and(|t| now < t + self.slots.interval() / 2);
            if waits {
                return;
            }
            let commands = plan(&self.l, s, node.preferred_height()).commands;
            self.slots.advance();
            for c in commands {
                self.propose(sockets, c);
            }
        }
    }

    fn propose(&mut self, sockets: &Sockets, c: Command) {
        let Some(node) = &self.node else {
            return;
        };
        let Command::Propose { id, .. } = &c;
        if *id == crate::GENESIS || node.item(*id).is_some() || node.status(*id).is_some() {
            log::warn!(
                "node {}: item {id} exists already; not proposed",
                self.s.file.id
            );
            return;
        }
        self.input(sockets, Input::Command(c));
    }

    fn fire_node_timers(&mut self, sockets: &Sockets) {
        let now = self.now();
        while let Some(&Reverse((at, timer))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            self.input(sockets, Input::Timer(timer));
        }
    }
}

impl Drive for LedgerDriver {
    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn next_timer_in(&self) -> Option<Duration> {
        let timer = self.timers.peek().map(|Reverse((at, _))| *at);
        let at = match (timer, self.slots.next_at()) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        Some(Duration::from_nanos(at.saturating_sub(self.now())))
    }

    fn start(&mut self, sockets: &Sockets) {
        self.slots.begin(self.now());
        self.input(sockets, Input::Start);
    }

    fn on_inbox(&mut self, sockets: &Sockets) {
        for _ in 0..BATCH {
            let (conn, user) = match recv_inbox(&sockets.router, &mut self.msg, &self.metrics) {
                Inbound::Empty => return,
                Inbound::Dropped => continue,
                Inbound::Body { reply_to, user } => (reply_to, user),
            };
            let Some(frame) = self.decode() else {
                continue;
            };
            let Some(conn) = conn.filter(|_| !is_reply(&frame.msg)) else {
                self.metrics.drop_frame(if is_reply(&frame.msg) {
                    DropReason::WrongSocket
                } else {
                    DropReason::Malformed
                });
                continue;
            };
            if self.s.keys.is_some() && user != Some(frame.from) {
                self.metrics.drop_frame(DropReason::Spoofed);
                continue;
            }
            let Some(from) = self.s.index_of(frame.from).filter(|&i| i != self.me) else {
                self.metrics.drop_frame(DropReason::UnknownPeer);
                continue;
            };
            if matches!(frame.msg, Message::Query { .. }) {
                self.metrics.queries_received.inc();
            }
            self.reply_to = Some((from, conn));
            self.input(
                sockets,
                Input::Message {
                    from,
                    msg: frame.msg,
                },
            );
            self.reply_to = None;
        }
    }

    fn on_outbox(&mut self, sockets: &Sockets, index: u32) {
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
            if !is_reply(&frame.msg) {
                self.metrics.drop_frame(DropReason::WrongSocket);
                continue;
            }
            // The outbox was dialled to this peer (and, with keys, checked its server key).
            if self.s.id_at(index) != Some(frame.from) {
                self.metrics.drop_frame(DropReason::Spoofed);
                continue;
            }
            if let Message::Answer { request, .. } = frame.msg {
                if let Err(reason) = self.polls.answered(request, index) {
                    self.metrics.drop_frame(reason);
                    continue;
                }
                self.metrics.answers_received.inc();
            }
            self.input(
                sockets,
                Input::Message {
                    from: index,
                    msg: frame.msg,
                },
            );
        }
    }

    fn set_connected(&self, index: u32, up: bool) {
        if let Some(c) = self.connected.get(index as usize) {
            c.store(up, Ordering::Relaxed);
        }
    }

    fn fire_timers(&mut self, sockets: &Sockets) {
        self.fire_node_timers(sockets);
        self.run_slots(sockets);
        while let Some(c) = self.submitted.as_ref().and_then(|r| r.try_recv().ok()) {
            self.propose(sockets, c);
        }
    }

    fn refresh_gauges(&self, health: &Health) {
        let (count, share) = health.reachable();
        let peers = count - usize::from(self.s.file.self_sample);
        self.metrics.connected_peers.set(peers as f64);
        self.metrics.connected_stake.set(share);
        let height = self.node.as_ref().map_or(0, |n| n.preferred_height());
        self.metrics.preference.set(height as f64);
    }

    fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    fn report(&self) -> NodeReport {
        let mut r = NodeReport::of(&self.s, &self.metrics, self.now());
        if let Some(n) = &self.node {
            r.preference = n.preferred_height() as u32;
            r.accepted_height = Some(n.accepted_height());
            r.accepted_items = Some(n.accepted_items() as u64);
            r.accepted_txs = (self.l.kind == LedgerKind::Dag).then_some(n.accepted_txs() as u64);
            r.fetches = Some(self.fetches);
        }
        r
    }

    fn close(self) {
        self.feed.close();
    }
}

impl LedgerDriver {
    /// The ledger frame in `self.msg`, or `None` after counting why it is not one.
    fn decode(&mut self) -> Option<LedgerFrame> {
        match LedgerFrame::decode(&self.msg, self.now()) {
            Ok(f) => Some(f),
            Err(crate::wire::FrameError::UnsupportedVersion(_)) => {
                self.metrics.drop_frame(DropReason::Version);
                None
            }
            Err(_) => {
                self.metrics.drop_frame(DropReason::Malformed);
                None
            }
        }
    }
}
