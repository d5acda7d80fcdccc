//! One node on real sockets: the simulator's state machines ([`crate::node::Node`] for one
//! decision, [`crate::node::ledger::LedgerNode`] for a chain or a DAG), driven by libzmq
//! sockets and a monotonic clock instead of the virtual one.
//!
//! The loop (`serve`) owns every socket; it polls the inbox (ROUTER), one outbox per peer
//! (DEALER) and their monitors, with a timeout that is the next timer's, and hands what
//! arrives to a `Drive` (`driver.rs` for one decision, `ledger_driver.rs` for ledgers),
//! which carries out what the state machine asks. Queries come in on the inbox and are answered on the same
//! connection; answers come back on the outbox that asked. No send ever waits: a full or
//! absent peer is a counted drop. The vote feed ([`Network`]) and the HTTP endpoint
//! ([`HttpServer`]) run in threads of their own.

use super::config::NodeSettings;
use super::driver::{Driver, Role};
use super::feed::Network;
use super::health::Health;
use super::http::{Endpoints, Submit};
use super::ledger_driver::{LedgerDriver, SUBMIT_QUEUE};
use super::metrics::Metrics;
use super::security::Zap;
use super::sockets::{
    bound_endpoint, bounded_to, curve_client, curve_server, Link, Monitor, LEDGER_MAX_MESSAGE,
    MAX_MESSAGE,
};
use super::BridgeError;
use crate::node::ledger::{LedgerConfig, LedgerKind, LedgerNode};
use crate::node::Adversary;
use crate::node::StakeSampler;
use crate::node::{Node, NodeConfig};
use crate::Vote;
use rand::SeedableRng;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the loop wakes without traffic: gauges, the start check, the stop check.
const TICK: Duration = Duration::from_millis(20);

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
        /// The HTTP address of `/metrics` (and of `/health`, unless it has a port of its own).
        metrics: Option<String>,
        /// The HTTP address of `/health` when it has a port of its own (`health_port`);
        /// absent otherwise.
        #[serde(skip_serializing_if = "Option::is_none")]
        health: Option<String>,
        /// Whether peers are authenticated (CURVE keys configured).
        authenticated: bool,
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
    /// A ledger node proposed a block or vertex.
    Proposed {
        /// This node's id.
        node: u32,
        /// The item's id.
        id: u64,
        /// Its height.
        height: u64,
        /// Milliseconds since the node started.
        at_ms: f64,
    },
    /// A ledger node accepted a block or vertex.
    Accepted {
        /// This node's id.
        node: u32,
        /// The item's id.
        id: u64,
        /// Its height.
        height: u64,
        /// Milliseconds since the node started.
        at_ms: f64,
        /// Polls recorded until then.
        polls: u32,
        /// Dag: transactions this node has accepted in all, this item's included.
        #[serde(skip_serializing_if = "Option::is_none")]
        accepted_txs: Option<u64>,
    },
    /// A ledger node rejected a block or vertex.
    Rejected {
        /// This node's id.
        node: u32,
        /// The item's id.
        id: u64,
        /// Its height.
        height: u64,
        /// Milliseconds since the node started.
        at_ms: f64,
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
    /// CURVE handshakes refused.
    pub handshakes_refused: u64,
    /// Dropped frames by reason.
    pub dropped: BTreeMap<String, u64>,
    /// Milliseconds the node ran.
    pub uptime_ms: f64,
    /// Ledger nodes: the height of the last accepted block or vertex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted_height: Option<u64>,
    /// Ledger nodes: blocks or vertices accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted_items: Option<u64>,
    /// Dag nodes: transactions accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted_txs: Option<u64>,
    /// Ledger nodes: `Get` requests sent for items the node lacked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fetches: Option<u64>,
}

impl NodeReport {
    /// The report of node `s` from its metrics after `uptime` nanoseconds; the decision and
    /// ledger fields are left empty for the driver to fill.
    pub(super) fn of(s: &NodeSettings, m: &Metrics, uptime: u64) -> NodeReport {
        NodeReport {
            node: s.file.id,
            byzantine: s
                .file
                .byzantine
                .as_ref()
                .map(|b| b.strategy.name().to_string()),
            decided: None,
            decided_at_ms: None,
            preference: 0,
            polls: m.polls.get(),
            queries_sent: m.queries_sent.get(),
            queries_received: m.queries_received.get(),
            answers_sent: m.answers_sent.get(),
            answers_received: m.answers_received.get(),
            votes_sent: m.votes_sent.get(),
            votes_received: m.votes_received.get(),
            handshakes_refused: m.handshakes_refused.get(),
            dropped: m
                .dropped()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            uptime_ms: uptime as f64 / 1e6,
            accepted_height: None,
            accepted_items: None,
            accepted_txs: None,
            fetches: None,
        }
    }
}

/// What the loop asks of a driver: one for single decisions, one for ledgers.
pub(super) trait Drive {
    /// Nanoseconds since the node started (monotonic).
    fn now(&self) -> u64;
    /// Time until the next timer (or slot) is due, zero when overdue.
    fn next_timer_in(&self) -> Option<Duration>;
    /// Begin polling.
    fn start(&mut self, sockets: &Sockets);
    /// Read the inbox.
    fn on_inbox(&mut self, sockets: &Sockets);
    /// Read the outbox of validator `index`.
    fn on_outbox(&mut self, sockets: &Sockets, index: u32);
    /// Record whether the outbox of validator `index` is connected.
    fn set_connected(&self, index: u32, up: bool);
    /// Fire what is due.
    fn fire_timers(&mut self, sockets: &Sockets);
    /// Refresh the gauges of `/metrics`.
    fn refresh_gauges(&self, health: &Health);
    /// The events since the last call.
    fn take_events(&mut self) -> Vec<Event>;
    /// The figures at shutdown.
    fn report(&self) -> NodeReport;
    /// Close the feed.
    fn close(self);
}

/// The node's sockets, borrowed by the loop's poll items for the whole run.
pub(super) struct Sockets {
    /// The inbox: queries in, answers out.
    pub router: zmq::Socket,
    /// One outbox per validator index (`None`: this node, or no address).
    pub outboxes: Vec<Option<zmq::Socket>>,
    /// The validator index of each outbox, in poll order.
    pub outbox_of: Vec<u32>,
    /// One monitor per outbox, in the same order.
    pub monitors: Vec<Monitor>,
}

/// Runs one node until `stop()` says so (checked every 20 ms) or its `max_time` passes;
/// `on_event` sees each event as it happens, the final summary included, which is also
/// returned.
pub fn run(
    settings: NodeSettings,
    stop: &dyn Fn() -> bool,
    mut on_event: impl FnMut(&Event),
) -> Result<NodeReport, BridgeError> {
    let s = Arc::new(settings);
    let f = &s.file;
    let me = s
        .index_of(f.id)
        .ok_or(BridgeError::NotInValidatorSet(f.id))?;
    let cap = s.params.max_outstanding_items.max(1);
    let metrics = Metrics::new();
    let max_message = match f.ledger {
        Some(_) => LEDGER_MAX_MESSAGE,
        None => MAX_MESSAGE,
    };
    let ctx = zmq::Context::new();
    let zmq_err = |what: &str| {
        let what = what.to_string();
        move |e: zmq::Error| BridgeError::bind(&what, e)
    };

    // The ZAP handler must be running before the CURVE inbox binds.
    let _zap = match &s.keys {
        Some(_) => {
            let allowed: HashMap<_, _> = s
                .public_keys
                .iter()
                .zip(&s.validators)
                .filter(|(_, &id)| id != f.id)
                .filter_map(|(k, &id)| Some((*k.as_ref()?, id)))
                .collect();
            Some(Zap::start(&ctx, allowed, metrics.clone()).map_err(zmq_err("the ZAP handler"))?)
        }
        None => None,
    };
    let router = ctx.socket(zmq::ROUTER).map_err(zmq_err(&f.listen))?;
    bounded_to(&router, cap, max_message).map_err(zmq_err(&f.listen))?;
    router
        .set_router_mandatory(true)
        .map_err(zmq_err(&f.listen))?;
    if let Some(keys) = &s.keys {
        curve_server(&router, keys).map_err(zmq_err(&f.listen))?;
    }
    router.bind(&f.listen).map_err(zmq_err(&f.listen))?;
    let listen = bound_endpoint(&router);
    let feed = Network::start_in(
        &ctx,
        f.feed.as_deref(),
        &f.feed_connect,
        cap,
        metrics.clone(),
    )?;

    let mut sockets = Sockets {
        router,
        outboxes: (0..s.validators.len()).map(|_| None).collect(),
        outbox_of: Vec::new(),
        monitors: Vec::new(),
    };
    for p in &f.peers {
        let Some(index) = s.index_of(p.id) else {
            continue;
        };
        let dealer = ctx.socket(zmq::DEALER).map_err(zmq_err(&p.address))?;
        bounded_to(&dealer, cap, max_message).map_err(zmq_err(&p.address))?;
        // Queue only on completed connections: a send to an absent peer fails at once.
        dealer.set_immediate(true).map_err(zmq_err(&p.address))?;
        if let (Some(keys), Some(Some(server))) = (&s.keys, s.public_keys.get(index as usize)) {
            curve_client(&dealer, keys, server).map_err(zmq_err(&p.address))?;
        }
        let name = format!("luxsim-{}-outbox-{index}", f.id);
        let monitor = Monitor::watch(&ctx, &dealer, &name).map_err(zmq_err(&p.address))?;
        dealer.connect(&p.address).map_err(zmq_err(&p.address))?;
        sockets.outboxes[index as usize] = Some(dealer);
        sockets.outbox_of.push(index);
        sockets.monitors.push(monitor);
    }
    let health = Health::of(&s);
    let connected = health.connected.clone();
    let (submit, submitted) = match &f.ledger {
        Some(_) => {
            let (tx, rx) = std::sync::mpsc::sync_channel(SUBMIT_QUEUE);
            (Some(tx), Some(rx))
        }
        None => (None, None),
    };
    let http = Endpoints::start(
        &f.metrics_host,
        f.metrics_port,
        f.health_port,
        &metrics,
        &health,
        submit.map(|tx| Submit {
            queue: tx,
            kind: f.ledger.as_ref().map_or(LedgerKind::Chain, |l| l.kind),
            node: f.id,
        }),
    )?;
    let metrics_at = http.metrics.as_ref().map(|h| h.address.clone());
    log::info!(
        "node {} starting: {}, listen {listen}, {} peers, feed {}, /metrics {}, /health {}",
        f.id,
        match &f.ledger {
            Some(l) => format!("{:?} ledger", l.kind).to_lowercase(),
            None => format!("engine {:?}", f.engine).to_lowercase(),
        },
        f.peers.len(),
        feed.endpoint().unwrap_or("none"),
        metrics_at.as_deref().unwrap_or("none"),
        http.health_address().unwrap_or("none"),
    );
    if let Some(why) = health.never_succeeds() {
        log::warn!("node {}: {why}", f.id);
    }
    on_event(&Event::Ready {
        node: f.id,
        listen: listen.clone(),
        feed: feed.endpoint().map(str::to_string),
        metrics: metrics_at,
        health: http.health.as_ref().map(|h| h.address.clone()),
        authenticated: s.keys.is_some(),
    });
    let sampler =
        StakeSampler::new(&s.stakes, f.sampling, f.stake_unit).map_err(BridgeError::Stake)?;
    let poll_timeout = crate::util::nanos(f.poll_timeout);
    // One loop for both kinds of driver.
    macro_rules! serve_with {
        ($d:expr) => {
            serve(
                $d,
                &sockets,
                &s.validators,
                &health,
                poll_timeout,
                f.max_time,
                stop,
                &mut on_event,
            )
        };
    }
    let report = if let Some(l) = &f.ledger {
        let node = f.byzantine.is_none().then(|| {
            LedgerNode::new(&LedgerConfig {
                id: me,
                params: s.params,
                kind: l.kind,
                block_protocol: l.block_protocol,
                poll_timeout,
                self_sample: f.self_sample,
                seed: f.seed,
                max_parents: l.parents,
            })
        });
        let d = LedgerDriver::new(
            s.clone(),
            me,
            node,
            sampler,
            submitted,
            feed,
            metrics,
            connected,
        );
        serve_with!(d)
    } else {
        let role = decision_role(&s, me, &feed);
        serve_with!(Driver::new(
            s.clone(),
            me,
            role,
            sampler,
            feed,
            metrics,
            connected
        ))
    };
    drop(sockets);
    drop(http);
    log::info!(
        "node {} stopped after {:.0} ms: {} polls, {}",
        f.id,
        report.uptime_ms,
        report.polls,
        match (report.decided, report.accepted_height) {
            (Some(c), _) => format!("decided choice {c}"),
            (None, Some(h)) => format!("accepted up to height {h}"),
            (None, None) => "undecided".to_string(),
        }
    );
    on_event(&Event::Summary(report.clone()));
    Ok(report)
}

/// The single-decision node's role: the honest state machine, or its adversary watching
/// the honest feeds.
fn decision_role(s: &Arc<NodeSettings>, me: u32, feed: &Network) -> Role {
    let f = &s.file;
    let Some(b) = &f.byzantine else {
        return Role::Honest(Box::new(Node::new(&NodeConfig {
            id: me,
            params: s.params,
            protocol: f.engine,
            shape: f.decision,
            choices: s.choices(),
            initial: f.initial,
            poll_timeout: crate::util::nanos(f.poll_timeout),
            self_sample: f.self_sample,
            seed: f.seed,
        })));
    };
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
        // A socket adversary acts alone: its share is its own stake's.
        adversary: Box::new(
            Adversary::new(b.strategy, b.target, s.choices(), rng)
                .with_share(own_share(s).min(0.999)),
        ),
        view,
    }
}

/// The loop: polls every socket with the next timer's timeout, starts polling once every
/// peer is reachable (or after one poll timeout at most: the first polls of a node started
/// before its peers would only time out), and stops when `stop()` says so or `max_time`
/// passes.
#[allow(clippy::too_many_arguments)]
fn serve<D: Drive>(
    mut d: D,
    sockets: &Sockets,
    validators: &[u32],
    health: &Health,
    poll_timeout: u64,
    max_time: Option<Duration>,
    stop: &dyn Fn() -> bool,
    on_event: &mut impl FnMut(&Event),
) -> NodeReport {
    let start_by = d.now() + poll_timeout;
    let until = max_time.map(|t| Instant::now() + t);
    let mut started = false;
    let mut last_tick = Instant::now();
    let mut items: Vec<zmq::PollItem> = Vec::with_capacity(1 + 2 * sockets.monitors.len());
    items.push(sockets.router.as_poll_item(zmq::POLLIN));
    for &i in &sockets.outbox_of {
        if let Some(o) = &sockets.outboxes[i as usize] {
            items.push(o.as_poll_item(zmq::POLLIN));
        }
    }
    for m in &sockets.monitors {
        items.push(m.socket.as_poll_item(zmq::POLLIN));
    }
    let peers = sockets.outbox_of.len();
    let why = loop {
        if stop() {
            break "asked to stop".to_string();
        }
        if until.is_some_and(|u| Instant::now() >= u) {
            break "max_time reached".to_string();
        }
        let wait = d.next_timer_in().map_or(TICK, |t| t.min(TICK));
        match zmq::poll(&mut items, wait.as_millis() as i64) {
            // A signal (SIGTERM: the check above stops the loop next).
            Err(zmq::Error::EINTR) => continue,
            Err(e) => {
                log::error!("polling the sockets failed: {e}");
                break format!("socket error ({e})");
            }
            Ok(_) => {}
        }
        if items[0].is_readable() {
            d.on_inbox(sockets);
        }
        for j in 0..peers {
            if items[1 + j].is_readable() {
                d.on_outbox(sockets, sockets.outbox_of[j]);
            }
            if items[1 + peers + j].is_readable() {
                let index = sockets.outbox_of[j];
                for link in sockets.monitors[j].drain() {
                    let (up, peer) = (link == Link::Up, validators.get(index as usize));
                    let was = health
                        .connected
                        .get(index as usize)
                        .map(|c| c.load(Ordering::Relaxed));
                    if was.is_some_and(|w| w != up) {
                        let peer = peer.copied().unwrap_or(index);
                        match up {
                            true => log::info!("peer {peer} connected"),
                            false => log::info!("peer {peer} disconnected"),
                        }
                    }
                    d.set_connected(index, up);
                }
            }
        }
        d.fire_timers(sockets);
        if last_tick.elapsed() >= TICK {
            last_tick = Instant::now();
            if !started && (health.all_reachable() || d.now() >= start_by) {
                started = true;
                d.start(sockets);
            }
            d.refresh_gauges(health);
        }
        for e in d.take_events() {
            super::logging::event(&e);
            on_event(&e);
        }
    };
    log::info!("shutting down: {why}");
    drop(items);
    let report = d.report();
    d.close();
    report
}

/// This node's share of all the validators' stake.
fn own_share(s: &NodeSettings) -> f64 {
    let total: f64 = s.stakes.iter().sum();
    let me = s.validators.iter().position(|&v| v == s.file.id);
    me.map_or(0.0, |i| s.stakes[i] / total.max(f64::MIN_POSITIVE))
}
