//! `luxsim._luxsim`: the Lux consensus library API (`Consensus`, `ConsensusParams`, `Block`,
//! `Vote`, `VoteType`, `EngineType`, `Stats`) on the Rust core, for Python. The Python
//! packages `luxsim` and `lux_consensus` re-export it and add the docs' coroutines.
//!
//! Errors of the core become Python exceptions carrying the core's message: bad parameters
//! and undecodable bytes are `ValueError`, consensus refusals `ConsensusError`, bad
//! scenarios `ScenarioError` (a `ValueError`).
//!
//! Layout: this file holds the value types (engine and vote types, parameters, blocks,
//! votes); `consensus` the instance, its vote handler, vote log and metrics; `node` the
//! networked validator's state machine and codec (`ConsensusNode`); `sim` the simulator
//! (scenarios, runs, sweeps, progress series, network graphs).

mod analysis;
mod consensus;
mod node;
mod predict;
mod sim;

use consensus::{Consensus, Stats};
use luxsim::{
    Block as CoreBlock, ConsensusParams as CoreParams, EngineType as CoreEngine, Vote as CoreVote,
    VoteType as CoreVoteType,
};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

create_exception!(
    _luxsim,
    ConsensusError,
    PyException,
    "The core refused an operation."
);

/// The consensus engines, under the docs' names.
#[pyclass(eq, eq_int, frozen, hash, module = "luxsim")]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[allow(clippy::upper_case_acronyms, non_camel_case_types)]
pub(crate) enum EngineType {
    SLUSH,
    SNOWBALL,
    AVALANCHE,
    SNOWFLAKE,
    DAG,
    CHAIN,
    POST_QUANTUM,
}

impl EngineType {
    pub(crate) fn core(self) -> CoreEngine {
        match self {
            EngineType::SLUSH => CoreEngine::Slush,
            EngineType::SNOWBALL => CoreEngine::Snowball,
            EngineType::AVALANCHE => CoreEngine::Avalanche,
            EngineType::SNOWFLAKE => CoreEngine::Snowflake,
            EngineType::DAG => CoreEngine::Dag,
            EngineType::CHAIN => CoreEngine::Chain,
            EngineType::POST_QUANTUM => CoreEngine::PostQuantum,
        }
    }

    pub(crate) fn of(e: CoreEngine) -> Self {
        match e {
            CoreEngine::Slush => EngineType::SLUSH,
            CoreEngine::Snowball => EngineType::SNOWBALL,
            CoreEngine::Avalanche => EngineType::AVALANCHE,
            CoreEngine::Snowflake => EngineType::SNOWFLAKE,
            CoreEngine::Dag => EngineType::DAG,
            CoreEngine::Chain => EngineType::CHAIN,
            CoreEngine::PostQuantum => EngineType::POST_QUANTUM,
        }
    }
}

/// What a vote says about its block.
#[pyclass(eq, eq_int, frozen, hash, module = "luxsim")]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[allow(clippy::upper_case_acronyms)]
pub(crate) enum VoteType {
    PREFER,
    ACCEPT,
    REJECT,
}

impl VoteType {
    pub(crate) fn core(self) -> CoreVoteType {
        match self {
            VoteType::PREFER => CoreVoteType::Prefer,
            VoteType::ACCEPT => CoreVoteType::Accept,
            VoteType::REJECT => CoreVoteType::Reject,
        }
    }

    pub(crate) fn of(v: CoreVoteType) -> Self {
        match v {
            CoreVoteType::Prefer => VoteType::PREFER,
            CoreVoteType::Accept => VoteType::ACCEPT,
            CoreVoteType::Reject => VoteType::REJECT,
        }
    }
}

pub(crate) fn value_error(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// The engine parameters, with the docs' keyword defaults (the `default` preset).
#[pyclass(module = "luxsim")]
#[derive(Clone)]
pub(crate) struct ConsensusParams {
    pub(crate) inner: CoreParams,
}

#[pymethods]
impl ConsensusParams {
    #[new]
    #[pyo3(signature = (k=None, alpha_preference=None, alpha_confidence=None, beta=None,
        concurrent_polls=None, max_outstanding_items=None))]
    fn new(
        k: Option<usize>,
        alpha_preference: Option<usize>,
        alpha_confidence: Option<usize>,
        beta: Option<usize>,
        concurrent_polls: Option<usize>,
        max_outstanding_items: Option<usize>,
    ) -> Self {
        let d = CoreParams::default();
        ConsensusParams {
            inner: CoreParams {
                k: k.unwrap_or(d.k),
                alpha_preference: alpha_preference.unwrap_or(d.alpha_preference),
                alpha_confidence: alpha_confidence.unwrap_or(d.alpha_confidence),
                beta: beta.unwrap_or(d.beta),
                concurrent_polls: concurrent_polls.unwrap_or(d.concurrent_polls),
                max_outstanding_items: max_outstanding_items.unwrap_or(d.max_outstanding_items),
                ..d
            },
        }
    }

    /// A preset by name: default, mainnet, testnet or local.
    #[staticmethod]
    fn preset(name: &str) -> PyResult<Self> {
        let inner = CoreParams::preset(name).map_err(value_error)?;
        Ok(ConsensusParams { inner })
    }

    /// Raises `ValueError` naming the field and the rule it breaks.
    fn validate(&self) -> PyResult<()> {
        self.inner.validate().map_err(value_error)
    }

    #[getter]
    fn k(&self) -> usize {
        self.inner.k
    }
    #[getter]
    fn alpha_preference(&self) -> usize {
        self.inner.alpha_preference
    }
    #[getter]
    fn alpha_confidence(&self) -> usize {
        self.inner.alpha_confidence
    }
    #[getter]
    fn beta(&self) -> usize {
        self.inner.beta
    }
    #[getter]
    fn concurrent_polls(&self) -> usize {
        self.inner.concurrent_polls
    }
    #[getter]
    fn max_outstanding_items(&self) -> usize {
        self.inner.max_outstanding_items
    }

    fn __repr__(&self) -> String {
        let p = &self.inner;
        format!(
            "ConsensusParams(k={}, alpha_preference={}, alpha_confidence={}, beta={}, concurrent_polls={}, max_outstanding_items={})",
            p.k, p.alpha_preference, p.alpha_confidence, p.beta, p.concurrent_polls, p.max_outstanding_items
        )
    }
}

/// A block: id, parent id, height, timestamp (seconds since the epoch) and data.
#[pyclass(module = "luxsim")]
#[derive(Clone)]
pub(crate) struct Block {
    pub(crate) inner: CoreBlock,
}

/// Seconds since the epoch from an int, a float or a `datetime`.
fn seconds(t: &Bound<'_, PyAny>) -> PyResult<u64> {
    if let Ok(n) = t.extract::<u64>() {
        return Ok(n);
    }
    if let Ok(x) = t.extract::<f64>() {
        return Ok(x.max(0.0) as u64);
    }
    let x: f64 = t
        .call_method0("timestamp")
        .map_err(|_| value_error("timestamp: expected seconds (int) or a datetime"))?
        .extract()?;
    Ok(x.max(0.0) as u64)
}

#[pymethods]
impl Block {
    #[new]
    #[pyo3(signature = (id, parent_id, height, timestamp=None, data=Vec::new()))]
    fn new(
        id: u64,
        parent_id: u64,
        height: u64,
        timestamp: Option<&Bound<'_, PyAny>>,
        data: Vec<u8>,
    ) -> PyResult<Self> {
        let t = timestamp.map(seconds).transpose()?.unwrap_or(0);
        let inner = CoreBlock::new(id, parent_id, height, t, data);
        inner.validate().map_err(value_error)?;
        Ok(Block { inner })
    }

    #[getter]
    fn id(&self) -> u64 {
        self.inner.id
    }
    #[getter]
    fn parent_id(&self) -> u64 {
        self.inner.parent_id
    }
    #[getter]
    fn height(&self) -> u64 {
        self.inner.height
    }
    #[getter]
    fn timestamp(&self) -> u64 {
        self.inner.timestamp
    }
    #[getter]
    fn data<'p>(&self, py: Python<'p>) -> Bound<'p, PyBytes> {
        PyBytes::new(py, &self.inner.data)
    }

    /// The SHA-256 of the block's serialized bytes.
    fn hash<'p>(&self, py: Python<'p>) -> Bound<'p, PyBytes> {
        PyBytes::new(py, &self.inner.hash())
    }

    /// The block's bytes (`wire.md`).
    fn serialize<'p>(&self, py: Python<'p>) -> Bound<'p, PyBytes> {
        PyBytes::new(py, &self.inner.serialize())
    }

    /// A block from its bytes; `ValueError` says what is wrong and where.
    #[staticmethod]
    fn deserialize(data: &[u8]) -> PyResult<Self> {
        let inner = CoreBlock::deserialize(data).map_err(value_error)?;
        Ok(Block { inner })
    }

    fn __repr__(&self) -> String {
        let b = &self.inner;
        format!(
            "Block(id={}, parent_id={}, height={}, timestamp={}, data=<{} bytes>)",
            b.id,
            b.parent_id,
            b.height,
            b.timestamp,
            b.data.len()
        )
    }
}

/// One vote: which engine, which node, which block, what it says.
#[pyclass(module = "luxsim", frozen)]
#[derive(Clone, Copy)]
pub(crate) struct Vote {
    pub(crate) inner: CoreVote,
}

#[pymethods]
impl Vote {
    #[new]
    fn new(engine_type: EngineType, node_id: u32, block_id: u64, vote_type: VoteType) -> Self {
        Vote {
            inner: CoreVote::new(engine_type.core(), node_id, block_id, vote_type.core()),
        }
    }

    #[getter]
    fn engine_type(&self) -> EngineType {
        EngineType::of(self.inner.engine_type)
    }
    #[getter]
    fn node_id(&self) -> u32 {
        self.inner.node_id
    }
    #[getter]
    fn block_id(&self) -> u64 {
        self.inner.block_id
    }
    #[getter]
    fn vote_type(&self) -> VoteType {
        VoteType::of(self.inner.vote_type)
    }

    /// The 8-byte compact vote (`wire.md`); `ValueError` when a field does not fit.
    fn pack<'p>(&self, py: Python<'p>) -> PyResult<Bound<'p, PyBytes>> {
        let b = self.inner.pack().map_err(value_error)?;
        Ok(PyBytes::new(py, &b))
    }

    /// A vote from its 8 bytes; `ValueError` names the byte at fault.
    #[staticmethod]
    fn unpack(data: &[u8]) -> PyResult<Self> {
        let inner = CoreVote::unpack(data).map_err(value_error)?;
        Ok(Vote { inner })
    }

    fn __eq__(&self, other: &Vote) -> bool {
        self.inner == other.inner
    }

    fn __repr__(&self) -> String {
        format!(
            "Vote(engine_type={:?}, node_id={}, block_id={}, vote_type={:?})",
            self.inner.engine_type, self.inner.node_id, self.inner.block_id, self.inner.vote_type
        )
    }
}

#[pymodule]
fn _luxsim(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<EngineType>()?;
    m.add_class::<VoteType>()?;
    m.add_class::<ConsensusParams>()?;
    m.add_class::<Block>()?;
    m.add_class::<Vote>()?;
    m.add_class::<Stats>()?;
    m.add_class::<Consensus>()?;
    m.add_class::<sim::Scenario>()?;
    m.add_class::<node::NodeMachine>()?;
    m.add("ConsensusError", m.py().get_type::<ConsensusError>())?;
    m.add("ScenarioError", m.py().get_type::<sim::ScenarioError>())?;
    m.add("OUTCOMES", consensus::OUTCOMES.to_vec())?;
    m.add_function(wrap_pyfunction!(analysis::analyze_run, m)?)?;
    m.add_function(wrap_pyfunction!(analysis::score_detector, m)?)?;
    m.add_function(wrap_pyfunction!(sim::run_scenario, m)?)?;
    m.add_function(wrap_pyfunction!(sim::sweep_scenario, m)?)?;
    m.add_function(wrap_pyfunction!(sim::progress_series, m)?)?;
    m.add_function(wrap_pyfunction!(sim::network_parts, m)?)?;
    m.add_function(wrap_pyfunction!(predict::scenario_features, m)?)?;
    m.add_function(wrap_pyfunction!(predict::scenario_baseline, m)?)?;
    Ok(())
}
