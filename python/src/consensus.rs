//! `Consensus` for Python: the core instance, plus what the docs' Python API adds around
//! it: a vote handler written in Python, a log of every vote for `to_dataframe()`, and the
//! figures `MetricsCollector` reads (decision latency, votes handled).
//!
//! Invariants: `poll_votes` holds exactly the votes counted into the poll under way (it is
//! emptied when a poll is recorded or closed); `pending` holds exactly the added blocks
//! still processing; `refused` counts the votes the Python handler refused, which the
//! core never saw, so `Stats` adds them to its own counters.

use crate::{value_error, Block, ConsensusError, ConsensusParams, EngineType, Vote};
use luxsim::{
    Consensus as CoreConsensus, Status, Vote as CoreVote, VoteOutcome, VoteType as CoreVoteType,
};
use pyo3::exceptions::{PyStopIteration, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// What became of a vote, by code (the `outcome` column of `to_dataframe()`).
pub(crate) const OUTCOMES: [&str; 6] = [
    "counted",
    "poll_recorded",
    "duplicate",
    "already_decided",
    "refused",
    "invalid",
];
const COUNTED: u8 = 0;
const POLL_RECORDED: u8 = 1;
const DUPLICATE: u8 = 2;
const ALREADY_DECIDED: u8 = 3;
const REFUSED: u8 = 4;
const INVALID: u8 = 5;

/// What a `Consensus` has done so far (votes refused by a Python vote handler included).
#[pyclass(module = "luxsim", frozen, get_all)]
#[derive(Clone)]
pub(crate) struct Stats {
    votes_processed: u64,
    votes_counted: u64,
    duplicate_votes: u64,
    refused_votes: u64,
    invalid_votes: u64,
    votes_for_decided: u64,
    polls_recorded: u64,
    blocks_added: u64,
    blocks_accepted: u64,
    blocks_rejected: u64,
}

#[pymethods]
impl Stats {
    fn __repr__(&self) -> String {
        format!(
            "Stats(votes_processed={}, votes_counted={}, polls_recorded={}, blocks_added={}, \
             blocks_accepted={}, blocks_rejected={})",
            self.votes_processed,
            self.votes_counted,
            self.polls_recorded,
            self.blocks_added,
            self.blocks_accepted,
            self.blocks_rejected
        )
    }
}

pub(crate) fn status_name(s: Status) -> &'static str {
    match s {
        Status::Processing => "processing",
        Status::Accepted => "accepted",
        Status::Rejected => "rejected",
    }
}

fn vote_type_code(v: CoreVoteType) -> u8 {
    match v {
        CoreVoteType::Prefer => 0,
        CoreVoteType::Accept => 1,
        CoreVoteType::Reject => 2,
    }
}

/// One row of the vote log (32 bytes).
#[derive(Clone, Copy)]
struct Row {
    /// Wall-clock time the vote was handed in, ns since the epoch.
    ts_ns: i64,
    /// The poll it went into, from 1.
    poll: u64,
    block: u64,
    node: u32,
    vote_type: u8,
    outcome: u8,
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

fn consensus_error(e: impl std::fmt::Display) -> PyErr {
    ConsensusError::new_err(e.to_string())
}

/// One consensus instance over blocks and votes (synchronous methods; the Python classes
/// add the docs' coroutines on top).
#[pyclass(module = "luxsim", subclass, unsendable)]
pub(crate) struct Consensus {
    inner: CoreConsensus,
    /// The votes counted into the poll under way.
    poll_votes: Vec<CoreVote>,
    /// Every vote handed in during the poll under way (kept only while a handler is set).
    seen: Vec<CoreVote>,
    /// `handler(vote, context) -> bool`, or a coroutine function of the same shape.
    handler: Option<PyObject>,
    /// Votes the Python handler refused.
    refused: u64,
    /// Whether votes are logged for `to_dataframe()`.
    record: bool,
    rows: Vec<Row>,
    /// Blocks still processing and when they were added.
    pending: Vec<(u64, Instant)>,
    decided: u64,
    latency_ns: u128,
    /// Each decision seen: block, votes logged before it, accepted.
    decisions: Vec<(u64, usize, bool)>,
}

impl Consensus {
    /// Asks the Python handler about `vote`; a coroutine is driven to its end, which it
    /// must reach without suspending (a handler that awaits needs `await process_vote`).
    fn ask(&self, py: Python<'_>, handler: &PyObject, vote: CoreVote) -> PyResult<bool> {
        let ctx = self.context(py, vote)?;
        let r = handler.call1(py, (Vote { inner: vote }, ctx))?;
        let r = r.bind(py);
        if r.hasattr("send")? && r.hasattr("throw")? {
            return match r.call_method1("send", (py.None(),)) {
                Ok(_) => {
                    r.call_method0("close")?;
                    Err(PyTypeError::new_err(
                        "the vote handler suspended (it awaited something not ready): \
                         use `await consensus.process_vote(vote)`, or a plain `def handle_vote`",
                    ))
                }
                Err(e) if e.is_instance_of::<PyStopIteration>(py) => {
                    e.value(py).getattr("value")?.is_truthy()
                }
                Err(e) => Err(e),
            };
        }
        r.is_truthy()
    }

    /// Takes `vote` into the core unless the handler refused it; logs it.
    fn apply(&mut self, vote: CoreVote, allowed: bool) -> PyResult<u8> {
        let poll = self.inner.stats().polls_recorded + 1;
        if self.handler.is_some() {
            self.seen.push(vote);
        }
        let code = if !allowed {
            self.refused += 1;
            REFUSED
        } else {
            match self.inner.process_vote(vote) {
                Ok(VoteOutcome::Counted) => {
                    self.poll_votes.push(vote);
                    COUNTED
                }
                Ok(VoteOutcome::PollRecorded) => {
                    self.poll_votes.clear();
                    self.seen.clear();
                    POLL_RECORDED
                }
                Ok(VoteOutcome::Duplicate) => DUPLICATE,
                Ok(VoteOutcome::AlreadyDecided) => ALREADY_DECIDED,
                Ok(VoteOutcome::Refused) => REFUSED,
                Err(e) => {
                    self.log(vote, poll, INVALID);
                    return Err(consensus_error(e));
                }
            }
        };
        self.log(vote, poll, code);
        if code == POLL_RECORDED {
            self.settle();
        }
        Ok(code)
    }

    fn process(&mut self, py: Python<'_>, vote: CoreVote) -> PyResult<u8> {
        let allowed = match &self.handler {
            Some(h) => {
                let h = h.clone_ref(py);
                self.ask(py, &h, vote)?
            }
            None => true,
        };
        self.apply(vote, allowed)
    }

    fn log(&mut self, vote: CoreVote, poll: u64, outcome: u8) {
        if self.record {
            self.rows.push(Row {
                ts_ns: now_ns(),
                poll,
                block: vote.block_id,
                node: vote.node_id,
                vote_type: vote_type_code(vote.vote_type),
                outcome,
            });
        }
    }

    /// Moves the blocks decided since the last look from `pending` to the latency figures.
    fn settle(&mut self) {
        let now = Instant::now();
        let inner = &self.inner;
        let logged = self.rows.len();
        let (decided, latency, log) =
            (&mut self.decided, &mut self.latency_ns, &mut self.decisions);
        self.pending.retain(|&(id, at)| {
            let status = inner.status(id);
            let processing = matches!(status, Some(Status::Processing));
            if !processing {
                *decided += 1;
                *latency += now.duration_since(at).as_nanos();
                log.push((id, logged, matches!(status, Some(Status::Accepted))));
            }
            processing
        });
    }

    fn context<'p>(&self, py: Python<'p>, vote: CoreVote) -> PyResult<Bound<'p, PyDict>> {
        let ctx = PyDict::new(py);
        ctx.set_item("poll", self.inner.stats().polls_recorded + 1)?;
        let earlier: Vec<Vote> = self
            .seen
            .iter()
            .filter(|v| v.node_id == vote.node_id)
            .map(|&inner| Vote { inner })
            .collect();
        ctx.set_item("earlier_votes", earlier)?;
        ctx.set_item(
            "block_status",
            self.inner.status(vote.block_id).map(status_name),
        )?;
        ctx.set_item("votes_in_poll", self.poll_votes.len())?;
        ctx.set_item("engine_type", EngineType::of(self.inner.engine_type()))?;
        Ok(ctx)
    }
}

#[pymethods]
impl Consensus {
    #[new]
    #[pyo3(signature = (engine_type, params=None, record_votes=true))]
    fn new(
        engine_type: EngineType,
        params: Option<ConsensusParams>,
        record_votes: bool,
    ) -> PyResult<Self> {
        let params = params.map_or_else(luxsim::ConsensusParams::default, |p| p.inner);
        let inner = CoreConsensus::new(engine_type.core(), params).map_err(value_error)?;
        Ok(Consensus {
            inner,
            poll_votes: Vec::new(),
            seen: Vec::new(),
            handler: None,
            refused: 0,
            record: record_votes,
            rows: Vec::new(),
            pending: Vec::new(),
            decided: 0,
            latency_ns: 0,
            decisions: Vec::new(),
        })
    }

    #[getter]
    fn engine_type(&self) -> EngineType {
        EngineType::of(self.inner.engine_type())
    }

    #[getter]
    fn params(&self) -> ConsensusParams {
        ConsensusParams {
            inner: *self.inner.params(),
        }
    }

    /// Adds a block; returns its status ("processing", ...).
    fn add_block_sync(&mut self, block: &Block) -> PyResult<&'static str> {
        let s = self
            .inner
            .add_block(block.inner.clone())
            .map_err(consensus_error)?;
        self.pending.push((block.inner.id, Instant::now()));
        self.settle();
        Ok(status_name(s))
    }

    /// Counts one vote; returns "counted", "poll_recorded", "duplicate", "already_decided"
    /// or "refused".
    fn process_vote_sync(&mut self, py: Python<'_>, vote: &Vote) -> PyResult<&'static str> {
        Ok(OUTCOMES[self.process(py, vote.inner)? as usize])
    }

    /// Counts a vote the caller's handler already judged (`allowed`); the async
    /// `process_vote` uses it after awaiting an async handler.
    fn process_judged(&mut self, vote: &Vote, allowed: bool) -> PyResult<&'static str> {
        Ok(OUTCOMES[self.apply(vote.inner, allowed)? as usize])
    }

    /// The context a vote handler gets for `vote`: `poll` (the poll under way, from 1),
    /// `earlier_votes` (the voter's votes already handed in during it), `block_status`,
    /// `votes_in_poll`, `engine_type`.
    fn vote_context<'p>(&self, py: Python<'p>, vote: &Vote) -> PyResult<Bound<'p, PyDict>> {
        self.context(py, vote.inner)
    }

    /// Installs `handler(vote, context) -> bool` (None removes it).
    #[pyo3(signature = (handler))]
    fn set_handler_callable(&mut self, handler: Option<PyObject>) {
        if handler.is_none() {
            self.seen.clear();
        }
        self.handler = handler;
    }

    /// Counts many votes: a list of `Vote`s, or bytes (or a numpy uint8 array) of packed
    /// 8-byte votes; returns how many were counted into polls.
    fn process_votes(&mut self, py: Python<'_>, votes: &Bound<'_, PyAny>) -> PyResult<usize> {
        let counts = |c: u8| usize::from(c == COUNTED || c == POLL_RECORDED);
        if let Ok(list) = votes.extract::<Vec<PyRef<'_, Vote>>>() {
            let mut counted = 0;
            for v in list {
                counted += counts(self.process(py, v.inner)?);
            }
            return Ok(counted);
        }
        let owned;
        let bytes: &[u8] = match votes.downcast::<PyBytes>() {
            Ok(b) => b.as_bytes(),
            Err(_) => {
                let b = votes.call_method0("tobytes").map_err(|_| {
                    value_error("process_votes: expected a list of Votes, bytes or a numpy array")
                })?;
                owned = b.downcast_into::<PyBytes>()?;
                owned.as_bytes()
            }
        };
        if !bytes.len().is_multiple_of(8) {
            return Err(value_error(format!(
                "packed votes: {} bytes is not a multiple of 8",
                bytes.len()
            )));
        }
        // Decode all first: a bad vote anywhere counts none of the batch.
        let mut decoded = Vec::with_capacity(bytes.len() / 8);
        for (i, chunk) in bytes.chunks_exact(8).enumerate() {
            let v = CoreVote::unpack(chunk).map_err(|e| {
                value_error(format!("vote {i} (bytes {}..{}): {e}", i * 8, i * 8 + 8))
            })?;
            decoded.push(v);
        }
        let mut counted = 0;
        for v in decoded {
            counted += counts(self.process(py, v)?);
        }
        Ok(counted)
    }

    /// Closes the poll under way, as its timeout would; returns the votes it counted.
    fn poll_sync(&mut self, block_id: u64) -> PyResult<Vec<Vote>> {
        self.inner.poll(block_id).map_err(consensus_error)?;
        self.seen.clear();
        self.settle();
        Ok(self
            .poll_votes
            .drain(..)
            .map(|inner| Vote { inner })
            .collect())
    }

    /// Whether the block is accepted.
    fn is_accepted_sync(&self, block_id: u64) -> bool {
        self.inner.is_accepted(block_id)
    }

    /// The block's status, or None when it is unknown.
    fn status(&self, block_id: u64) -> Option<&'static str> {
        self.inner.status(block_id).map(status_name)
    }

    /// The preferred block, or None when nothing is processing.
    fn get_preference(&self) -> Option<u64> {
        self.inner.preference()
    }

    /// Counters of what the instance did.
    fn get_stats(&self) -> Stats {
        let s = self.inner.stats();
        Stats {
            votes_processed: s.votes_processed + self.refused,
            votes_counted: s.votes_counted,
            duplicate_votes: s.duplicate_votes,
            refused_votes: s.refused_votes + self.refused,
            invalid_votes: s.invalid_votes,
            votes_for_decided: s.votes_for_decided,
            polls_recorded: s.polls_recorded,
            blocks_added: s.blocks_added,
            blocks_accepted: s.blocks_accepted,
            blocks_rejected: s.blocks_rejected,
        }
    }

    /// The raw figures `MetricsCollector` reads: votes handled, blocks decided, the sum of
    /// their decision latencies (ms, wall clock, from `add_block` to the poll that decided
    /// them), blocks still processing and rows in the vote log.
    fn metrics_raw<'p>(&self, py: Python<'p>) -> PyResult<Bound<'p, PyDict>> {
        let d = PyDict::new(py);
        d.set_item(
            "votes_processed",
            self.inner.stats().votes_processed + self.refused,
        )?;
        d.set_item("blocks_decided", self.decided)?;
        d.set_item("latency_sum_ms", self.latency_ns as f64 / 1e6)?;
        d.set_item("blocks_processing", self.pending.len())?;
        d.set_item("logged_votes", self.rows.len())?;
        Ok(d)
    }

    /// The vote log as little-endian column buffers: `timestamp_ns` (i64), `poll` (u64),
    /// `block_id` (u64), `node_id` (u32), `vote_type` and `outcome` (u8 codes).
    fn vote_columns<'p>(&self, py: Python<'p>) -> PyResult<Bound<'p, PyDict>> {
        let n = self.rows.len();
        let (mut ts, mut poll, mut block) = (
            Vec::with_capacity(n * 8),
            Vec::with_capacity(n * 8),
            Vec::with_capacity(n * 8),
        );
        let (mut node, mut vt, mut out) = (
            Vec::with_capacity(n * 4),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for r in &self.rows {
            ts.extend_from_slice(&r.ts_ns.to_le_bytes());
            poll.extend_from_slice(&r.poll.to_le_bytes());
            block.extend_from_slice(&r.block.to_le_bytes());
            node.extend_from_slice(&r.node.to_le_bytes());
            vt.push(r.vote_type);
            out.push(r.outcome);
        }
        let d = PyDict::new(py);
        d.set_item("timestamp_ns", PyBytes::new(py, &ts))?;
        d.set_item("poll", PyBytes::new(py, &poll))?;
        d.set_item("block_id", PyBytes::new(py, &block))?;
        d.set_item("node_id", PyBytes::new(py, &node))?;
        d.set_item("vote_type", PyBytes::new(py, &vt))?;
        d.set_item("outcome", PyBytes::new(py, &out))?;
        Ok(d)
    }

    /// Every decision seen, in order: `(block_id, votes logged before it, accepted)`; a
    /// decision made by a vote comes right after that vote's row.
    fn decisions(&self) -> Vec<(u64, usize, bool)> {
        self.decisions.clone()
    }

    /// Whether votes are logged for `to_dataframe()`.
    #[getter]
    fn record_votes(&self) -> bool {
        self.record
    }

    /// Empties the vote log.
    fn clear_votes(&mut self) {
        self.rows.clear();
    }
}
