//! `NodeMachine`: the project's chain/DAG validator ([`LedgerNode`]), sans-I/O, for
//! Python's networked `ConsensusNode`. Python owns the clock and the transport (asyncio
//! queues in one event loop, or ZeroMQ sockets); this object owns the state machine, its
//! timers and the frames of `docs/wire.md`, which it encodes and decodes itself, so that
//! a Python node speaks the bytes a `luxsim node` ledger validator speaks.
//!
//! Invariants:
//! - every frame handed to [`NodeMachine::receive`] is either given to the state machine
//!   or counted in `dropped`, once;
//! - a send is `(to, frame, reply)`: `reply` frames (answers, puts) go back on the
//!   connection of the request they answer, the others on this node's own connection to
//!   `to`;
//! - messages a self-sampling node sends itself never leave the machine.

use crate::{value_error, Block, ConsensusParams, EngineType};
use luxsim::node::ledger::{
    Command, Input, LedgerConfig, LedgerKind, LedgerNode, Message, Output, Report, Timer,
};
use luxsim::node::{Sampling, StakeSampler, Validator, STAKE_UNIT};
use luxsim::wire::{is_reply, LedgerFrame};
use luxsim::{Protocol, Status, GENESIS};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// Most parents a vertex of a Python DAG node names (as `luxsim node`'s default).
const MAX_PARENTS: usize = 4;

/// What a machine asks its transport to send: recipient id, frame, whether it is a reply.
type Sends = Vec<(u32, Py<PyBytes>, bool)>;

/// The ledger kind and block protocol an engine type runs as a networked node.
fn ledger_of(engine: EngineType) -> (LedgerKind, Protocol) {
    match engine {
        EngineType::DAG | EngineType::AVALANCHE => (LedgerKind::Dag, Protocol::Snowflake),
        // Snowman: each block's choice among its siblings is a Snowflake (avalanchego).
        EngineType::CHAIN | EngineType::POST_QUANTUM => (LedgerKind::Chain, Protocol::Snowflake),
        EngineType::SNOWBALL => (LedgerKind::Chain, Protocol::Snowball),
        EngineType::SNOWFLAKE => (LedgerKind::Chain, Protocol::Snowflake),
        EngineType::SLUSH => (LedgerKind::Chain, Protocol::Slush),
    }
}

/// One networked validator's state machine, timers and codec (see the module's doc).
#[pyclass(module = "luxsim")]
pub(crate) struct NodeMachine {
    node: LedgerNode,
    sampler: StakeSampler,
    kind: LedgerKind,
    /// Validator ids, ascending: the state machine's index of a validator is its position.
    ids: Vec<u32>,
    me: u32,
    timers: BinaryHeap<Reverse<(u64, Timer)>>,
    out: Vec<Output>,
    local: VecDeque<Message>,
    accepted: Vec<u64>,
    rejected: Vec<u64>,
    frames_in: u64,
    frames_out: u64,
    dropped: u64,
    polls_successful: u64,
    alpha_confidence: u32,
    last_drop: Option<String>,
    scratch: Vec<u8>,
}

impl NodeMachine {
    fn index_of(&self, id: u32) -> Option<u32> {
        self.ids.binary_search(&id).ok().map(|i| i as u32)
    }

    /// Feeds one input, then what the node said to itself, and returns the frames to send.
    fn run(&mut self, py: Python<'_>, now: u64, input: Input) -> Sends {
        let mut sends = Vec::new();
        self.step(py, now, input, &mut sends);
        while let Some(msg) = self.local.pop_front() {
            let from = self.me;
            self.step(py, now, Input::Message { from, msg }, &mut sends);
        }
        sends
    }

    fn step(&mut self, py: Python<'_>, now: u64, input: Input, sends: &mut Sends) {
        self.node.handle(now, input, &self.sampler, &mut self.out);
        let mut out = std::mem::take(&mut self.out);
        for o in out.drain(..) {
            match o {
                Output::Send { to, msg } if to == self.me => self.local.push_back(msg),
                Output::Send { to, msg } => {
                    let reply = is_reply(&msg);
                    let frame = self.encode(py, now, msg);
                    sends.push((self.ids[to as usize], frame, reply));
                }
                Output::Broadcast { msg } => {
                    let frame = self.encode(py, now, msg);
                    for (i, &id) in self.ids.iter().enumerate() {
                        if i as u32 != self.me {
                            sends.push((id, frame.clone_ref(py), false));
                        }
                    }
                }
                Output::SetTimer { at, timer } => self.timers.push(Reverse((at, timer))),
                Output::PollOpened { .. } => {}
                Output::PollRecorded { count, .. } => {
                    self.polls_successful += u64::from(count >= self.alpha_confidence);
                }
                Output::Report(Report::Accepted { id, .. }) => self.accepted.push(id),
                Output::Report(Report::Rejected { id, .. }) => self.rejected.push(id),
                Output::Report(_) => {}
            }
        }
        self.out = out;
    }

    fn encode(&mut self, py: Python<'_>, now: u64, msg: Message) -> Py<PyBytes> {
        self.scratch.clear();
        let from = self.ids[self.me as usize];
        LedgerFrame { from, msg }.encode_into(now, &mut self.scratch);
        self.frames_out += 1;
        PyBytes::new(py, &self.scratch).unbind()
    }

    fn drop_frame(&mut self, why: String) {
        self.dropped += 1;
        self.last_drop = Some(why);
    }
}

#[pymethods]
impl NodeMachine {
    /// A validator `node_id` among `validators` (every id of the network, its own
    /// included), with stake weights in `validators` order (default: equal).
    #[new]
    #[pyo3(signature = (node_id, validators, engine_type, params, poll_timeout_ms=1000, seed=None, stakes=None, self_sample=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        node_id: u32,
        validators: Vec<u32>,
        engine_type: EngineType,
        params: ConsensusParams,
        poll_timeout_ms: u64,
        seed: Option<u64>,
        stakes: Option<Vec<f64>>,
        self_sample: bool,
    ) -> PyResult<Self> {
        let params = params.inner;
        params.validate().map_err(value_error)?;
        let stakes = stakes.unwrap_or_else(|| vec![1.0; validators.len()]);
        if stakes.len() != validators.len() {
            return Err(value_error(format!(
                "{} stakes for {} validators",
                stakes.len(),
                validators.len()
            )));
        }
        let mut pairs: Vec<(u32, f64)> = validators.into_iter().zip(stakes).collect();
        pairs.sort_by_key(|p| p.0);
        if pairs.windows(2).any(|w| w[0].0 == w[1].0) {
            return Err(value_error("a validator id is listed twice"));
        }
        if let Some(&(id, _)) = pairs.iter().find(|p| p.0 > u32::from(u16::MAX)) {
            return Err(value_error(format!(
                "node id {id} does not fit in 16 bits (votes carry u16 node ids)"
            )));
        }
        let ids: Vec<u32> = pairs.iter().map(|p| p.0).collect();
        let Ok(me) = ids.binary_search(&node_id) else {
            return Err(value_error(format!(
                "node {node_id} is not among the validators {ids:?}"
            )));
        };
        if ids.len() < 2 && !self_sample {
            return Err(value_error(
                "a node needs at least one peer (connect_to_peers) or self_sample=True",
            ));
        }
        let weights: Vec<f64> = pairs.iter().map(|p| p.1).collect();
        let sampler =
            StakeSampler::new(&weights, Sampling::Stake, STAKE_UNIT).map_err(value_error)?;
        if poll_timeout_ms == 0 {
            return Err(value_error("poll_timeout_ms must be greater than 0"));
        }
        let (kind, block_protocol) = ledger_of(engine_type);
        let node = LedgerNode::new(&LedgerConfig {
            id: me as u32,
            params,
            kind,
            block_protocol,
            poll_timeout: poll_timeout_ms * 1_000_000,
            self_sample,
            seed: seed.unwrap_or(u64::from(node_id)),
            max_parents: MAX_PARENTS,
        });
        Ok(NodeMachine {
            node,
            sampler,
            kind,
            ids,
            me: me as u32,
            timers: BinaryHeap::new(),
            out: Vec::with_capacity(64),
            local: VecDeque::new(),
            accepted: Vec::new(),
            rejected: Vec::new(),
            frames_in: 0,
            frames_out: 0,
            dropped: 0,
            polls_successful: 0,
            alpha_confidence: params.alpha_confidence as u32,
            last_drop: None,
            scratch: Vec::with_capacity(256),
        })
    }

    /// Starts polling at `now_ns`; returns `(to, frame, reply)` sends.
    fn start(&mut self, py: Python<'_>, now_ns: u64) -> Sends {
        self.run(py, now_ns, Input::Start)
    }

    /// Hands a frame from the network to the node (a bad or unknown-sender frame is
    /// counted in `dropped`, never raised); returns the sender's id (or None) and sends.
    fn receive(&mut self, py: Python<'_>, now_ns: u64, frame: &[u8]) -> (Option<u32>, Sends) {
        self.frames_in += 1;
        let f = match LedgerFrame::decode(frame, now_ns) {
            Ok(f) => f,
            Err(e) => {
                self.drop_frame(format!("undecodable frame: {e}"));
                return (None, Vec::new());
            }
        };
        let Some(from) = self.index_of(f.from).filter(|&i| i != self.me) else {
            self.drop_frame(format!("frame from {}, not a peer", f.from));
            return (None, Vec::new());
        };
        let sends = self.run(py, now_ns, Input::Message { from, msg: f.msg });
        (Some(f.from), sends)
    }

    /// Fires every timer due at `now_ns`; returns the sends.
    fn fire(&mut self, py: Python<'_>, now_ns: u64) -> Sends {
        let mut sends = Vec::new();
        while let Some(&Reverse((at, timer))) = self.timers.peek() {
            if at > now_ns {
                break;
            }
            self.timers.pop();
            sends.extend(self.run(py, now_ns, Input::Timer(timer)));
        }
        sends
    }

    /// When the next timer is due (ns, the caller's clock), if any.
    fn next_timer(&self) -> Option<u64> {
        self.timers.peek().map(|r| r.0 .0)
    }

    /// Proposes `block` now and returns the sends (its push to every peer). A chain block
    /// must extend this node's preferred tip (its parent and height say so); a DAG
    /// vertex's parents are this node's frontier, and `block.parent_id` must be a known
    /// vertex or the genesis.
    fn submit(&mut self, py: Python<'_>, now_ns: u64, block: &Block) -> PyResult<Sends> {
        let b = &block.inner;
        if b.id == GENESIS {
            return Err(value_error("block id 0 is the genesis"));
        }
        if self.node.status(b.id).is_some() {
            return Err(value_error(format!("block {} is already known", b.id)));
        }
        match self.kind {
            LedgerKind::Chain => {
                let tip = self
                    .node
                    .tips()
                    .as_slice()
                    .first()
                    .copied()
                    .unwrap_or(GENESIS);
                let height = self.node.preferred_height() + 1;
                if b.parent_id != tip || b.height != height {
                    return Err(value_error(format!(
                        "block {} (parent {}, height {}) does not extend this node's preferred tip: \
                         a block submitted now has parent_id={tip} and height={height}",
                        b.id, b.parent_id, b.height
                    )));
                }
            }
            LedgerKind::Dag => {
                if b.parent_id != GENESIS && self.node.status(b.parent_id).is_none() {
                    return Err(value_error(format!(
                        "vertex {}: parent {} is not known to this node",
                        b.id, b.parent_id
                    )));
                }
            }
        }
        let txs = match self.kind {
            LedgerKind::Chain => Vec::new(),
            LedgerKind::Dag => vec![(b.id, b.id)],
        };
        let cmd = Command::Propose {
            id: b.id,
            txs,
            anchored: false,
        };
        Ok(self.run(py, now_ns, Input::Command(cmd)))
    }

    /// "processing", "accepted", "rejected", or None for a block this node has not seen.
    fn status(&self, block_id: u64) -> Option<&'static str> {
        self.node.status(block_id).map(|s| match s {
            Status::Processing => "processing",
            Status::Accepted => "accepted",
            Status::Rejected => "rejected",
        })
    }

    /// Whether `block_id` is accepted here (the genesis always is).
    fn is_accepted(&self, block_id: u64) -> bool {
        block_id == GENESIS || self.node.status(block_id) == Some(Status::Accepted)
    }

    /// The ids this node accepted, in the order it accepted them.
    #[getter]
    fn accepted(&self) -> Vec<u64> {
        self.accepted.clone()
    }

    /// The ids this node rejected, in order.
    #[getter]
    fn rejected(&self) -> Vec<u64> {
        self.rejected.clone()
    }

    /// The validator ids of the network, ascending.
    #[getter]
    fn validators(&self) -> Vec<u32> {
        self.ids.clone()
    }

    /// "chain" or "dag".
    #[getter]
    fn kind(&self) -> &'static str {
        match self.kind {
            LedgerKind::Chain => "chain",
            LedgerKind::Dag => "dag",
        }
    }

    /// The preferred tip's height (chain) or the frontier's (dag).
    #[getter]
    fn preferred_height(&self) -> u64 {
        self.node.preferred_height()
    }

    /// The preferred tip (chain) or frontier (dag): the ids this node names in answers.
    #[getter]
    fn preference(&self) -> Vec<u64> {
        self.node.tips().as_slice().to_vec()
    }

    /// Counters: frames in and out, dropped frames (and the last reason), polls.
    fn stats(&self) -> std::collections::BTreeMap<&'static str, u64> {
        [
            ("frames_in", self.frames_in),
            ("frames_out", self.frames_out),
            ("dropped", self.dropped),
            ("polls", u64::from(self.node.polls_recorded())),
            ("polls_successful", self.polls_successful),
            ("accepted", self.accepted.len() as u64),
            ("rejected", self.rejected.len() as u64),
            ("outstanding_polls", self.node.outstanding_polls() as u64),
        ]
        .into_iter()
        .collect()
    }

    /// Why the last dropped frame was dropped.
    #[getter]
    fn last_drop(&self) -> Option<String> {
        self.last_drop.clone()
    }
}
