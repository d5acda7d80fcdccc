//! The run's trace: one row per event at the chosen level, and the digest of the run.
//!
//! Columns (CSV header, or JSON keys): `time_ns` (virtual time; the round in lockstep mode),
//! `node`, `kind`, `peer`, `request`, `choice`, `count`, `answers`, `latency_ns`; fields a
//! kind does not use are empty (CSV) or null (JSON). Kinds: `decide` (node finalized `choice`), `poll` (node
//! recorded poll `request`: top `choice` with `count` votes of `answers`), `query` and
//! `answer` (node sent to peer), `lost` and `cut` (a message from node to peer dropped by loss
//! or by a partition), `crash` and `recover`. Ledger runs (chain, dag) add `propose`,
//! `accept` and `reject` (`choice` = block or vertex id, `count` = its height), `accept_tx`
//! and `reject_tx` (`choice` = transaction id) at the decisions level, and `push`, `get` and
//! `put` (`choice` = item id) at the messages level; their `poll` rows carry the id named most
//! as `choice`. A delivered message's row (`query`, `answer`, ledger `push`, `get`, `put`)
//! carries the one-way latency it met as `latency_ns`; an answer's `choice` is what it
//! answered (for ledgers the first id named, 0 for the genesis).
//!
//! The digest is a SHA-256 over every decisions- and polls-level event (`decide`, `poll`,
//! `crash`, `recover`, and for ledgers `propose`, `accept`, `reject`, `accept_tx`,
//! `reject_tx`) in a fixed binary form, whatever the trace level and format: two runs have
//! equal digests exactly when they made the same decisions from the same polls at the same
//! times. In lockstep mode poll events are left out of the digest (see
//! [`Trace::without_poll_digest`]).

use crate::util::atomic::AtomicFile;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{self, Write};
use std::path::Path;

/// How much of a run the trace file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TraceLevel {
    /// No trace file.
    None,
    /// Decisions, crashes and recoveries.
    Decisions,
    /// And every recorded poll.
    Polls,
    /// And every message sent or dropped.
    Messages,
}

/// The trace file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TraceFormat {
    /// `trace.csv` with a header row.
    Csv,
    /// `trace.jsonl`, one JSON object a line.
    Jsonl,
}

impl TraceFormat {
    /// The trace file's name.
    pub fn file_name(self) -> &'static str {
        match self {
            TraceFormat::Csv => "trace.csv",
            TraceFormat::Jsonl => "trace.jsonl",
        }
    }
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A node finalized.
    Decide,
    /// A node recorded a poll.
    Poll,
    /// A query was sent.
    Query,
    /// An answer was sent.
    Answer,
    /// A message was lost.
    Lost,
    /// A message was cut by a partition.
    Cut,
    /// A node crashed.
    Crash,
    /// A node recovered.
    Recover,
    /// Ledgers: a node proposed a block or vertex (`choice` = its id, `count` = its height).
    Propose,
    /// Ledgers: a node accepted a block or vertex (`choice` = id, `count` = height).
    Accept,
    /// Ledgers: a node rejected a block or vertex (`choice` = id, `count` = height).
    Reject,
    /// Dag: a node accepted transaction `choice`.
    AcceptTx,
    /// Dag: a node rejected transaction `choice`.
    RejectTx,
    /// Ledgers: a block or vertex pushed by its proposer (`choice` = id, `count` = height).
    Push,
    /// Ledgers: a request for a missing item (`choice` = its id).
    Get,
    /// Ledgers: an item sent in reply to a request (`choice` = id, `count` = height).
    Put,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Decide => "decide",
            Kind::Poll => "poll",
            Kind::Query => "query",
            Kind::Answer => "answer",
            Kind::Lost => "lost",
            Kind::Cut => "cut",
            Kind::Crash => "crash",
            Kind::Recover => "recover",
            Kind::Propose => "propose",
            Kind::Accept => "accept",
            Kind::Reject => "reject",
            Kind::AcceptTx => "accept_tx",
            Kind::RejectTx => "reject_tx",
            Kind::Push => "push",
            Kind::Get => "get",
            Kind::Put => "put",
        }
    }

    /// The lowest trace level that shows this kind.
    pub fn level(self) -> TraceLevel {
        match self {
            Kind::Decide | Kind::Crash | Kind::Recover => TraceLevel::Decisions,
            Kind::Propose | Kind::Accept | Kind::Reject | Kind::AcceptTx | Kind::RejectTx => {
                TraceLevel::Decisions
            }
            Kind::Poll => TraceLevel::Polls,
            Kind::Query | Kind::Answer | Kind::Lost | Kind::Cut => TraceLevel::Messages,
            Kind::Push | Kind::Get | Kind::Put => TraceLevel::Messages,
        }
    }

    fn in_digest(self) -> bool {
        self.level() <= TraceLevel::Polls
    }
}

/// One event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Event {
    /// Virtual time in nanoseconds (lockstep: the round).
    pub time: u64,
    /// The node concerned (the sender for messages).
    pub node: u32,
    /// The other node of a message.
    pub peer: Option<u32>,
    /// The poll's request id.
    pub request: Option<u32>,
    /// The choice.
    pub choice: Option<u32>,
    /// Votes for the choice.
    pub count: Option<u32>,
    /// Answers in the poll.
    pub answers: Option<u32>,
    /// A delivered message's one-way latency in nanoseconds (not in the digest).
    pub latency: Option<u64>,
}

/// The columns of the trace, in order (the CSV header).
pub const HEADER: [&str; 9] = [
    "time_ns",
    "node",
    "kind",
    "peer",
    "request",
    "choice",
    "count",
    "answers",
    "latency_ns",
];

#[derive(Serialize)]
struct Row<'a> {
    time_ns: u64,
    node: u32,
    kind: &'a str,
    peer: Option<u32>,
    request: Option<u32>,
    choice: Option<u32>,
    count: Option<u32>,
    answers: Option<u32>,
    latency_ns: Option<u64>,
}

enum Sink {
    None,
    Csv(Box<csv::Writer<AtomicFile>>),
    Jsonl(AtomicFile),
}

/// Where events go: the trace file (at its level) and the digest (always).
pub struct Trace {
    level: TraceLevel,
    sink: Sink,
    digest: Sha256,
    digest_polls: bool,
    rows: u64,
}

impl Trace {
    /// A trace writing into `dir` at `level`, or only digesting when the level is `None`.
    pub fn create(dir: Option<&Path>, level: TraceLevel, format: TraceFormat) -> io::Result<Self> {
        let sink = match (dir, level) {
            (Some(dir), l) if l != TraceLevel::None => {
                let file = AtomicFile::create(&dir.join(format.file_name()))?;
                match format {
                    TraceFormat::Csv => {
                        // The header is written now, so a run without a single row still
                        // gives a CSV file that readers (pandas, `luxsim plot`) accept.
                        let mut w = csv::WriterBuilder::new()
                            .has_headers(false)
                            .from_writer(file);
                        w.write_record(HEADER).map_err(io::Error::other)?;
                        Sink::Csv(Box::new(w))
                    }
                    TraceFormat::Jsonl => Sink::Jsonl(file),
                }
            }
            _ => Sink::None,
        };
        Ok(Trace {
            level,
            sink,
            digest: Sha256::new(),
            digest_polls: true,
            rows: 0,
        })
    }

    /// Leaves poll events out of the digest (lockstep mode, where polls number in the
    /// tens of millions and the decisions already pin the run down).
    pub fn without_poll_digest(mut self) -> Self {
        self.digest_polls = false;
        self
    }

    /// Whether events of `kind` are written; callers skip building message events otherwise.
    #[inline]
    pub fn wants(&self, kind: Kind) -> bool {
        kind.level() <= self.level
    }

    /// Records one event.
    pub fn record(&mut self, kind: Kind, e: Event) -> io::Result<()> {
        if kind.in_digest() && (kind != Kind::Poll || self.digest_polls) {
            let none = u32::MAX;
            self.digest.update([kind as u8]);
            self.digest.update(e.time.to_be_bytes());
            for v in [e.node, e.peer.unwrap_or(none), e.request.unwrap_or(none)] {
                self.digest.update(v.to_be_bytes());
            }
            for v in [e.choice, e.count, e.answers] {
                self.digest.update(v.unwrap_or(none).to_be_bytes());
            }
        }
        if !self.wants(kind) {
            return Ok(());
        }
        let row = Row {
            time_ns: e.time,
            node: e.node,
            kind: kind.name(),
            peer: e.peer,
            request: e.request,
            choice: e.choice,
            count: e.count,
            answers: e.answers,
            latency_ns: e.latency,
        };
        match &mut self.sink {
            Sink::None => return Ok(()),
            Sink::Csv(w) => w.serialize(row).map_err(io::Error::other)?,
            Sink::Jsonl(w) => {
                serde_json::to_writer(&mut *w, &row)?;
                w.write_all(b"\n")?;
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Commits the trace file and returns the digest as lower-case hex.
    pub fn finish(self) -> io::Result<String> {
        match self.sink {
            Sink::None => {}
            Sink::Csv(w) => w.into_inner().map_err(|e| e.into_error())?.commit()?,
            Sink::Jsonl(w) => w.commit()?,
        }
        Ok(self
            .digest
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(time: u64, node: u32) -> Event {
        Event {
            time,
            node,
            choice: Some(1),
            ..Event::default()
        }
    }

    #[test]
    fn digest_ignores_level_and_messages_but_not_decisions() {
        let digest = |level, extra: bool| {
            let mut t = Trace::create(None, level, TraceFormat::Csv).unwrap();
            t.record(Kind::Poll, ev(1, 2)).unwrap();
            if extra {
                t.record(Kind::Query, ev(1, 3)).unwrap();
            }
            t.record(Kind::Decide, ev(5, 2)).unwrap();
            t.finish().unwrap()
        };
        assert_eq!(
            digest(TraceLevel::None, false),
            digest(TraceLevel::Messages, true)
        );
        let mut t = Trace::create(None, TraceLevel::None, TraceFormat::Csv).unwrap();
        t.record(Kind::Decide, ev(6, 2)).unwrap();
        assert_ne!(t.finish().unwrap(), digest(TraceLevel::None, false));
    }

    #[test]
    fn csv_rows_follow_the_level_with_a_header() {
        let dir = std::env::temp_dir().join(format!("luxsim-trace-{}", std::process::id()));
        let mut t = Trace::create(Some(&dir), TraceLevel::Polls, TraceFormat::Csv).unwrap();
        t.record(Kind::Poll, ev(1, 2)).unwrap();
        t.record(Kind::Query, ev(1, 3)).unwrap();
        t.record(Kind::Decide, ev(5, 2)).unwrap();
        assert_eq!(t.rows(), 2);
        t.finish().unwrap();
        let text = std::fs::read_to_string(dir.join("trace.csv")).unwrap();
        assert_eq!(
            text,
            "time_ns,node,kind,peer,request,choice,count,answers,latency_ns\n1,2,poll,,,1,,,\n5,2,decide,,,1,,,\n"
        );
        // No row at all: the header alone.
        let t = Trace::create(Some(&dir), TraceLevel::Decisions, TraceFormat::Csv).unwrap();
        t.finish().unwrap();
        let text = std::fs::read_to_string(dir.join("trace.csv")).unwrap();
        assert_eq!(
            text,
            "time_ns,node,kind,peer,request,choice,count,answers,latency_ns\n"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
