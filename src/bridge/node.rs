//! The async driver of [`crate::node::Node`] over ZeroMQ: the same state machine the
//! simulator runs, fed by sockets and a monotonic clock instead of the virtual one.
//!
//! Tasks: the inbox (ROUTER: decode, check, queue), one outbox per peer (DEALER), the vote
//! feed (PUB/SUB), the HTTP endpoint, and the driver loop, which alone owns the node.

use super::config::NodeSettings;
use super::feed::Network;
use super::frame::Frame;
use super::health::{self, Health};
use super::metrics::{DropReason, Metrics};
use super::outbox::Outboxes;
use super::BridgeError;
use crate::node::{Input, Message, Node, NodeConfig, Output, Timer};
use crate::sim::byzantine::{Adversary, Reply};
use crate::sim::stake::StakeSampler;
use crate::{EngineType, Protocol, Vote, VoteType};
use rand::SeedableRng;
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use zeromq::prelude::*;
use zeromq::RouterSocket;

/// Closed polls remembered to tell a late answer from an unsolicited one.
const RECENT_POLLS: usize = 256;
/// Frames the driver takes from the inbox per wake-up.
const BATCH: usize = 256;

/// What a running node reports, one JSON line each on stdout (`docs/bridge.md`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// Sockets are bound.
    Ready {
        /// This node's id.
        node: u32,
        /// The ROUTER endpoint (port resolved).
        listen: String,
        /// The PUB endpoint of the vote feed.
        feed: Option<String>,
        /// The HTTP address of `/metrics` and `/health`.
        metrics: Option<String>,
    },
    /// The node finalized.
    Decided {
        /// This node's id.
        node: u32,
        /// The final choice.
        choice: u32,
        /// Its block id in compact votes.
        block: u16,
        /// Milliseconds since the node started.
        at_ms: f64,
        /// Polls recorded until then.
        polls: u32,
    },
    /// The final line, written on shutdown.
    Summary(NodeReport),
}

/// The node's figures at shutdown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeReport {
    /// This node's id.
    pub node: u32,
    /// The Byzantine strategy played, if any.
    pub byzantine: Option<String>,
    /// The final choice, if the node finalized.
    pub decided: Option<u32>,
    /// When, in milliseconds since the node started.
    pub decided_at_ms: Option<f64>,
    /// The preference at shutdown.
    pub preference: u32,
    /// Polls recorded.
    pub polls: u64,
    /// Queries sent.
    pub queries_sent: u64,
    /// Queries received.
    pub queries_received: u64,
    /// Answers sent.
    pub answers_sent: u64,
    /// Answers received and counted.
    pub answers_received: u64,
    /// Compact votes published.
    pub votes_sent: u64,
    /// Compact votes received from subscribed feeds.
    pub votes_received: u64,
    /// Dropped frames by reason.
    pub dropped: BTreeMap<String, u64>,
    /// Milliseconds the node ran.
    pub uptime_ms: f64,
}

/// What the node does with queries: the honest state machine or an adversary.
enum Role {
    Honest(Box<Node>),
    Byzantine {
        adversary: Box<Adversary>,
        /// The latest choice seen on the feed from each validator (u32::MAX: none yet).
        view: Arc<[AtomicU32]>,
    },
}

/// A deferred action of the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Pending {
    Poll(u32),
    Answer { to: u32, request: u32, choice: u32 },
}

/// A poll in flight: when it began and whom it still waits for.
struct PollTrack {
    started: u64,
    owed: Vec<u32>,
}

struct Driver {
    s: Arc<NodeSettings>,
    me: u32,
    start: Instant,
    engine: EngineType,
    role: Role,
    sampler: StakeSampler,
    out: Vec<Output>,
    timers: BinaryHeap<Reverse<(u64, Pending)>>,
    delayed: usize,
    polls: HashMap<u32, PollTrack>,
    recent: VecDeque<u32>,
    local: VecDeque<Message>,
    outboxes: Outboxes,
    feed: Network,
    metrics: Metrics,
    decided: Option<(u32, f64)>,
    scratch: Vec<u8>,
    events: Vec<Event>,
}

/// The compact-vote engine code of a protocol (Slush has none: its votes say snowball).
pub fn engine_of(p: Protocol) -> EngineType {
    match p {
        Protocol::Snowflake => EngineType::Snowflake,
        Protocol::Snowball | Protocol::Slush => EngineType::Snowball,
    }
}

/// Runs one node until `shutdown` completes (or `max_time` passes); `on_event` sees each
/// event as it happens, the final summary included, which is also returned.
pub async fn run(
    settings: NodeSettings,
    shutdown: impl Future<Output = ()>,
    mut on_event: impl FnMut(&Event),
) -> Result<NodeReport, BridgeError> {
    let s = Arc::new(settings);
    let f = &s.file;
    let me = s
        .index_of(f.id)
        .ok_or(BridgeError::NotInValidatorSet(f.id))?;
    let cap = s.params.max_outstanding_items.max(1);
    let metrics = Metrics::new();

    let mut router = RouterSocket::new();
    let listen = router
        .bind(&f.listen)
        .await
        .map_err(|e| BridgeError::bind(&f.listen, e))?
        .to_string();
    let feed = Network::start(f.feed.as_deref(), &f.feed_connect, cap, metrics.clone()).await?;
    let peers: Vec<(u32, String)> = f
        .peers
        .iter()
        .filter_map(|p| Some((s.index_of(p.id)?, p.address.clone())))
        .collect();
    let outboxes = Outboxes::start(
        s.validators.len(),
        &peers,
        cap,
        f.poll_timeout,
        metrics.clone(),
    );
    let health = Health {
        connected: outboxes.flags(),
        stakes: s.stakes.clone(),
        me: me as usize,
        self_sample: f.self_sample,
        k: s.params.k,
        alpha_confidence: s.params.alpha_confidence,
    };
    let mut http = None;
    if let Some(port) = f.metrics_port {
        let addr = format!("{}:{port}", f.metrics_host);
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .map_err(|e| BridgeError::bind(&addr, e))?;
        let local = listener
            .local_addr()
            .map_err(|e| BridgeError::bind(&addr, e))?;
        http = Some((
            local.to_string(),
            tokio::spawn(health::serve(listener, metrics.clone(), health.clone())),
        ));
    }
    on_event(&Event::Ready {
        node: f.id,
        listen: listen.clone(),
        feed: feed.endpoint().map(str::to_string),
        metrics: http.as_ref().map(|h| h.0.clone()),
    });

    let (in_tx, mut in_rx) = mpsc::channel(cap);
    let (stop_tx, stop_rx) = oneshot::channel();
    let inbox = tokio::spawn(super::inbox::run(
        router,
        in_tx,
        s.clone(),
        me,
        metrics.clone(),
        stop_rx,
    ));

    let role = match &f.byzantine {
        None => Role::Honest(Box::new(Node::new(&NodeConfig {
            id: me,
            params: s.params,
            protocol: f.engine,
            choices: s.choices(),
            initial: f.initial,
            poll_timeout: f.poll_timeout.as_nanos().min(u64::MAX as u128) as u64,
            self_sample: f.self_sample,
            seed: f.seed,
        }))),
        Some(b) => {
            let view: Arc<[AtomicU32]> = (0..s.validators.len())
                .map(|_| AtomicU32::new(u32::MAX))
                .collect();
            let (v, s2) = (view.clone(), s.clone());
            feed.on_vote(move |vote: Vote| {
                let index = s2.index_of(vote.node_id);
                let choice = s2
                    .blocks
                    .iter()
                    .position(|&b| u64::from(b) == vote.block_id);
                if let (Some(i), Some(c)) = (index, choice) {
                    v[i as usize].store(c as u32, Ordering::Relaxed);
                }
            });
            let rng = rand_chacha::ChaCha8Rng::seed_from_u64(f.seed);
            Role::Byzantine {
                adversary: Box::new(Adversary::new(b.strategy, b.target, s.choices(), rng)),
                view,
            }
        }
    };
    let sampler = StakeSampler::new(&s.stakes).map_err(BridgeError::Stake)?;
    let mut d = Driver {
        me,
        start: Instant::now(),
        engine: engine_of(f.engine),
        role,
        sampler,
        out: Vec::with_capacity(64),
        timers: BinaryHeap::new(),
        delayed: 0,
        polls: HashMap::new(),
        recent: VecDeque::with_capacity(RECENT_POLLS),
        local: VecDeque::new(),
        outboxes,
        feed,
        metrics: metrics.clone(),
        decided: None,
        scratch: Vec::with_capacity(32),
        events: Vec::new(),
        s: s.clone(),
    };

    tokio::pin!(shutdown);
    let limit = async {
        match s.file.max_time {
            Some(t) => tokio::time::sleep(t).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(limit);
    // Polling starts once every peer is reachable, or after one poll timeout at most: the
    // first polls of a node started before its peers would only time out.
    let start_by = d.now() + d.s.file.poll_timeout.as_nanos() as u64;
    let mut started = false;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let wake = d.timers.peek().map(|Reverse((at, _))| {
            tokio::time::Instant::from_std(d.start + Duration::from_nanos(*at))
        });
        tokio::select! {
            biased;
            _ = &mut shutdown => break,
            _ = &mut limit => break,
            n = in_rx.recv_many(&mut batch, BATCH) => {
                if n == 0 {
                    break;
                }
                for (from, frame) in batch.drain(..) {
                    d.on_frame(from, frame);
                }
            }
            _ = tokio::time::sleep_until(wake.unwrap_or_else(tokio::time::Instant::now)), if wake.is_some() => d.fire_timers(),
            _ = tick.tick() => {
                if !started && (health.all_reachable() || d.now() >= start_by) {
                    started = true;
                    d.input(Input::Start);
                }
                d.refresh_gauges(&health);
            }
        }
        for e in d.events.drain(..) {
            on_event(&e);
        }
    }

    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(1), inbox).await;
    let report = d.report();
    let Driver { outboxes, feed, .. } = d;
    outboxes.close().await;
    feed.close().await;
    if let Some((_, task)) = http {
        task.abort();
    }
    on_event(&Event::Summary(report.clone()));
    Ok(report)
}

impl Driver {
    /// Nanoseconds since the node started (monotonic).
    fn now(&self) -> u64 {
        self.start.elapsed().as_nanos().min(u64::MAX as u128) as u64
    }

    fn on_frame(&mut self, from: u32, frame: Frame) {
        let now = self.now();
        match frame {
            Frame::Query { request, .. } => {
                self.metrics.queries_received.inc();
                let msg = frame.to_message(now);
                if let Role::Byzantine { adversary, view } = &mut self.role {
                    let mut split = vec![0u64; self.s.choices()];
                    for (i, v) in view.iter().enumerate() {
                        let c = v.load(Ordering::Relaxed) as usize;
                        if i != self.me as usize && c < split.len() {
                            split[c] += 1;
                        }
                    }
                    let querier = self.s.id_at(from).unwrap_or(from);
                    match adversary.reply(querier, &split) {
                        Reply::Silent => {}
                        Reply::Now(choice) => self.send(from, Message::Answer { request, choice }),
                        Reply::AtDeadline(choice) => {
                            let Message::Query { deadline, .. } = msg else {
                                return;
                            };
                            let margin = ((deadline - now.min(deadline)) / 20).max(1_000_000);
                            if self.delayed >= self.s.params.max_outstanding_items {
                                self.metrics.drop_frame(DropReason::Overload);
                            } else {
                                self.delayed += 1;
                                let at = deadline.saturating_sub(margin).max(now);
                                self.timers.push(Reverse((
                                    at,
                                    Pending::Answer {
                                        to: from,
                                        request,
                                        choice,
                                    },
                                )));
                            }
                        }
                    }
                    return;
                }
                self.input(Input::Message { from, msg });
            }
            Frame::Answer { request, .. } => {
                let owed = self.polls.get_mut(&request).and_then(|p| {
                    let pos = p.owed.iter().position(|&x| x == from)?;
                    Some(p.owed.swap_remove(pos))
                });
                if owed.is_none() {
                    let late = self.recent.contains(&request);
                    self.metrics.drop_frame(if late {
                        DropReason::Late
                    } else {
                        DropReason::Unsolicited
                    });
                    return;
                }
                self.metrics.answers_received.inc();
                self.input(Input::Message {
                    from,
                    msg: frame.to_message(now),
                });
            }
        }
    }

    fn fire_timers(&mut self) {
        let now = self.now();
        while let Some(&Reverse((at, what))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            match what {
                Pending::Poll(request) => self.input(Input::Timer(Timer::PollTimeout { request })),
                Pending::Answer {
                    to,
                    request,
                    choice,
                } => {
                    self.delayed -= 1;
                    self.send(to, Message::Answer { request, choice });
                }
            }
        }
    }

    /// Feeds one input to the state machine and carries out what it asks, self-messages included.
    fn input(&mut self, input: Input) {
        let now = self.now();
        let Role::Honest(node) = &mut self.role else {
            return;
        };
        node.handle(now, input, &self.sampler, &mut self.out);
        let mut out = std::mem::take(&mut self.out);
        for o in out.drain(..) {
            self.output(now, o);
        }
        self.out = out;
        while let Some(msg) = self.local.pop_front() {
            let input = Input::Message { from: self.me, msg };
            let Role::Honest(node) = &mut self.role else {
                return;
            };
            node.handle(now, input, &self.sampler, &mut self.out);
            let mut out = std::mem::take(&mut self.out);
            for o in out.drain(..) {
                self.output(now, o);
            }
            self.out = out;
        }
    }

    fn output(&mut self, now: u64, o: Output) {
        match o {
            Output::Send { to, msg } => {
                if let Message::Query { request, .. } = msg {
                    self.polls
                        .entry(request)
                        .or_insert_with(|| PollTrack {
                            started: now,
                            owed: Vec::new(),
                        })
                        .owed
                        .push(to);
                }
                if to == self.me {
                    if let Message::Answer { choice, .. } = msg {
                        self.publish(choice, VoteType::Prefer);
                    }
                    self.local.push_back(msg);
                    return;
                }
                self.send(to, msg);
            }
            Output::SetTimer {
                at,
                timer: Timer::PollTimeout { request },
            } => {
                self.polls.entry(request).or_insert_with(|| PollTrack {
                    started: now,
                    owed: Vec::new(),
                });
                self.timers.push(Reverse((at, Pending::Poll(request))));
            }
            Output::PollRecorded { request, count, .. } => {
                self.metrics.polls.inc();
                if count as usize >= self.s.params.alpha_confidence {
                    self.metrics.polls_successful.inc();
                }
                if let Some(p) = self.polls.remove(&request) {
                    let secs = (now.saturating_sub(p.started)) as f64 / 1e9;
                    self.metrics.poll_latency.record(secs);
                }
                if self.recent.len() == RECENT_POLLS {
                    self.recent.pop_front();
                }
                self.recent.push_back(request);
            }
            Output::Decided { choice } => {
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
                self.recent.extend(self.polls.drain().map(|(r, _)| r));
                while self.recent.len() > RECENT_POLLS {
                    self.recent.pop_front();
                }
            }
        }
    }

    /// Sends `msg` to validator `to`; an answer is also a vote cast, so it is published.
    fn send(&mut self, to: u32, msg: Message) {
        let now = self.now();
        self.scratch.clear();
        Frame::from_message(self.s.file.id, msg, now).encode_into(&mut self.scratch);
        let sent = self.outboxes.send(to, self.scratch.clone());
        match msg {
            Message::Query { .. } if sent => self.metrics.queries_sent.inc(),
            Message::Answer { choice, .. } => {
                if sent {
                    self.metrics.answers_sent.inc();
                }
                self.publish(choice, VoteType::Prefer);
            }
            _ => {}
        }
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

    fn refresh_gauges(&self, health: &Health) {
        let (count, share) = health.reachable();
        let peers = count - usize::from(self.s.file.self_sample);
        self.metrics.connected_peers.set(peers as f64);
        self.metrics.connected_stake.set(share);
        self.metrics.preference.set(f64::from(self.preference()));
    }

    fn report(&self) -> NodeReport {
        let m = &self.metrics;
        NodeReport {
            node: self.s.file.id,
            byzantine: self
                .s
                .file
                .byzantine
                .as_ref()
                .map(|b| b.strategy.name().to_string()),
            decided: self.decided.map(|d| d.0),
            decided_at_ms: self.decided.map(|d| d.1),
            preference: self.preference(),
            polls: m.polls.get(),
            queries_sent: m.queries_sent.get(),
            queries_received: m.queries_received.get(),
            answers_sent: m.answers_sent.get(),
            answers_received: m.answers_received.get(),
            votes_sent: m.votes_sent.get(),
            votes_received: m.votes_received.get(),
            dropped: m
                .dropped()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            uptime_ms: self.now() as f64 / 1e6,
        }
    }
}
