//! The node's counters, gauges and poll-latency histogram, rendered as Prometheus text.
//!
//! Each [`Metrics`] owns its own Prometheus recorder (nothing global), so several nodes can
//! live in one process. Every counter also keeps a local copy that the final summary line
//! reads.

use metrics::{Counter, Gauge, Histogram, Key, Label, Metadata, Recorder, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Why a frame or vote was dropped (the `reason` label of `luxsim_frames_dropped_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// Not a well-formed frame: bad envelope, magic, kind or length.
    Malformed,
    /// A frame of a version this build does not speak.
    Version,
    /// The sender id is not a configured peer (or is this node's own id).
    UnknownPeer,
    /// The frame claims a sender other than the peer of its connection: the one the CURVE
    /// handshake authenticated (inbox), or the one this node dialled (outbox).
    Spoofed,
    /// A query on an outbox, or an answer on the inbox: not how the protocol flows.
    WrongSocket,
    /// An answer to a query this node never sent to that peer.
    Unsolicited,
    /// An answer that came after its poll was recorded.
    Late,
    /// An answer naming a choice that does not exist.
    InvalidChoice,
    /// A peer's send queue (its high-water mark, max_outstanding_items) was full.
    OutboxFull,
    /// The peer is not connected (no completed handshake yet, or gone).
    NotConnected,
    /// An answer whose querier's connection closed before it could be sent.
    Unroutable,
    /// A compact vote on the feed that did not unpack, or not from the feed's owner.
    MalformedVote,
    /// A ledger decision not published: the item's id does not fit a compact vote's u16.
    VoteIdTooLarge,
}

impl DropReason {
    /// Every reason, in label order.
    pub const ALL: [DropReason; 13] = [
        DropReason::Malformed,
        DropReason::Version,
        DropReason::UnknownPeer,
        DropReason::Spoofed,
        DropReason::WrongSocket,
        DropReason::Unsolicited,
        DropReason::Late,
        DropReason::InvalidChoice,
        DropReason::OutboxFull,
        DropReason::NotConnected,
        DropReason::Unroutable,
        DropReason::MalformedVote,
        DropReason::VoteIdTooLarge,
    ];

    /// The `reason` label.
    pub fn label(self) -> &'static str {
        match self {
            DropReason::Malformed => "malformed",
            DropReason::Version => "version",
            DropReason::UnknownPeer => "unknown_peer",
            DropReason::Spoofed => "spoofed",
            DropReason::WrongSocket => "wrong_socket",
            DropReason::Unsolicited => "unsolicited_answer",
            DropReason::Late => "late_answer",
            DropReason::InvalidChoice => "invalid_choice",
            DropReason::OutboxFull => "outbox_full",
            DropReason::NotConnected => "not_connected",
            DropReason::Unroutable => "unroutable_answer",
            DropReason::MalformedVote => "malformed_vote",
            DropReason::VoteIdTooLarge => "vote_id_too_large",
        }
    }
}

/// A Prometheus counter with a local copy that can be read back.
#[derive(Clone)]
pub struct Count {
    prom: Counter,
    local: Arc<AtomicU64>,
}

impl Count {
    /// Adds `n`.
    #[inline]
    pub fn add(&self, n: u64) {
        self.prom.increment(n);
        self.local.fetch_add(n, Ordering::Relaxed);
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// The value so far.
    pub fn get(&self) -> u64 {
        self.local.load(Ordering::Relaxed)
    }
}

/// Upper bounds of the poll-latency histogram buckets, in seconds.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.000_25, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Every metric of one node.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
    /// Compact votes published on the feed.
    pub votes_sent: Count,
    /// Compact votes received from subscribed feeds.
    pub votes_received: Count,
    /// Queries sent to peers.
    pub queries_sent: Count,
    /// Queries received from peers.
    pub queries_received: Count,
    /// Answers sent to peers.
    pub answers_sent: Count,
    /// Answers received (and accepted) from peers.
    pub answers_received: Count,
    /// Polls recorded.
    pub polls: Count,
    /// Polls whose top choice reached alpha_confidence.
    pub polls_successful: Count,
    /// 1 once the node has finalized.
    pub finalized: Gauge,
    /// The current preference (a choice index).
    pub preference: Gauge,
    /// Peers whose outbox is connected now.
    pub connected_peers: Gauge,
    /// Share of the sampleable stake reachable now (connected peers, and self if self-sampling).
    pub connected_stake: Gauge,
    /// Time from a poll's queries to its recording.
    pub poll_latency: Histogram,
    /// CURVE handshakes refused: a client key that is not a configured validator's.
    pub handshakes_refused: Count,
    /// Ledger nodes: blocks or vertices accepted.
    pub items_accepted: Count,
    /// Ledger nodes: blocks or vertices rejected.
    pub items_rejected: Count,
    /// Ledger nodes: the height of the last accepted block or vertex.
    pub accepted_height: Gauge,
    dropped: Arc<[Count]>,
}

fn metadata() -> Metadata<'static> {
    Metadata::new(module_path!(), metrics::Level::INFO, None)
}

impl Metrics {
    /// Fresh metrics with their own recorder.
    pub fn new() -> Metrics {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("luxsim_poll_latency_seconds".into()),
                &LATENCY_BUCKETS,
            )
            .expect("the bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        let counter = |name: &'static str, help: &'static str| {
            recorder.describe_counter(name.into(), None, help.into());
            Count {
                prom: recorder.register_counter(&Key::from_static_name(name), &metadata()),
                local: Arc::new(AtomicU64::new(0)),
            }
        };
        let gauge = |name: &'static str, help: &'static str| {
            recorder.describe_gauge(name.into(), None, help.into());
            recorder.register_gauge(&Key::from_static_name(name), &metadata())
        };
        let dropped_help = "Frames and votes dropped, by reason.";
        recorder.describe_counter(
            "luxsim_frames_dropped_total".into(),
            None,
            dropped_help.into(),
        );
        let dropped: Vec<Count> = DropReason::ALL
            .iter()
            .map(|r| {
                let key = Key::from_parts(
                    "luxsim_frames_dropped_total",
                    vec![Label::new("reason", r.label())],
                );
                let c = Count {
                    prom: recorder.register_counter(&key, &metadata()),
                    local: Arc::new(AtomicU64::new(0)),
                };
                c.add(0);
                c
            })
            .collect();
        recorder.describe_histogram(
            "luxsim_poll_latency_seconds".into(),
            Some(Unit::Seconds),
            "Time from a poll's queries to its recording.".into(),
        );
        let m = Metrics {
            votes_sent: counter(
                "luxsim_votes_sent_total",
                "Compact votes published on the feed.",
            ),
            votes_received: counter(
                "luxsim_votes_received_total",
                "Compact votes received from subscribed feeds.",
            ),
            queries_sent: counter("luxsim_queries_sent_total", "Poll queries sent."),
            queries_received: counter("luxsim_queries_received_total", "Poll queries received."),
            answers_sent: counter("luxsim_answers_sent_total", "Answers sent."),
            answers_received: counter(
                "luxsim_answers_received_total",
                "Answers received and counted.",
            ),
            polls: counter("luxsim_polls_total", "Polls recorded."),
            polls_successful: counter(
                "luxsim_polls_successful_total",
                "Polls whose top choice reached alpha_confidence.",
            ),
            finalized: gauge("luxsim_finalized", "1 once this node has finalized."),
            preference: gauge(
                "luxsim_preference",
                "The current preference (choice index).",
            ),
            connected_peers: gauge("luxsim_connected_peers", "Peers connected now."),
            connected_stake: gauge(
                "luxsim_connected_stake_ratio",
                "Share of sampleable stake reachable now.",
            ),
            poll_latency: recorder.register_histogram(
                &Key::from_static_name("luxsim_poll_latency_seconds"),
                &metadata(),
            ),
            handshakes_refused: counter(
                "luxsim_handshakes_refused_total",
                "CURVE handshakes refused: the client key is no configured validator's.",
            ),
            items_accepted: counter(
                "luxsim_items_accepted_total",
                "Ledger nodes: blocks or vertices accepted.",
            ),
            items_rejected: counter(
                "luxsim_items_rejected_total",
                "Ledger nodes: blocks or vertices rejected.",
            ),
            accepted_height: gauge(
                "luxsim_accepted_height",
                "Ledger nodes: height of the last accepted block or vertex.",
            ),
            dropped: dropped.into(),
            handle,
        };
        for c in [
            &m.votes_sent,
            &m.votes_received,
            &m.polls,
            &m.handshakes_refused,
        ] {
            c.add(0);
        }
        m.finalized.set(0.0);
        m
    }

    /// Counts one dropped frame or vote.
    #[inline]
    pub fn drop_frame(&self, reason: DropReason) {
        self.dropped_count(reason).inc();
    }

    /// The counter of `reason`.
    pub fn dropped_count(&self, reason: DropReason) -> &Count {
        let i = DropReason::ALL
            .iter()
            .position(|&r| r == reason)
            .unwrap_or(0);
        &self.dropped[i]
    }

    /// Drops so far by reason label (reasons with none are left out).
    pub fn dropped(&self) -> Vec<(&'static str, u64)> {
        DropReason::ALL
            .iter()
            .map(|&r| (r.label(), self.dropped_count(r).get()))
            .filter(|&(_, n)| n > 0)
            .collect()
    }

    /// Everything in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        self.handle.run_upkeep();
        self.handle.render()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("votes_sent", &self.votes_sent.get())
            .field("votes_received", &self.votes_received.get())
            .field("polls", &self.polls.get())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_family() {
        let m = Metrics::new();
        m.votes_sent.add(3);
        m.drop_frame(DropReason::UnknownPeer);
        m.poll_latency.record(0.002);
        let text = m.render();
        assert!(text.contains("luxsim_votes_sent_total 3"), "{text}");
        assert!(text.contains("luxsim_frames_dropped_total{reason=\"unknown_peer\"} 1"));
        assert!(text.contains("luxsim_frames_dropped_total{reason=\"spoofed\"} 0"));
        assert!(
            text.contains("luxsim_poll_latency_seconds_bucket{le=\"0.0025\"} 1"),
            "{text}"
        );
        assert_eq!(m.dropped(), vec![("unknown_peer", 1)]);
        assert_eq!(m.votes_sent.get(), 3);
    }
}
