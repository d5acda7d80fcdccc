//! The simulator from Python: scenarios, runs and sweeps on the same code as `luxsim run`
//! and `luxsim sweep` (so digests and CSV files are the CLI's), with the GIL released while
//! the core works; and the series and graphs the pictures are drawn from.
//!
//! The Python side (`luxsim/sim.py`) turns the files these write into pandas objects.

use crate::value_error;
use luxsim::experiment::{run_sweep, SweepArgs};
use luxsim::plot::{self, Edge, Vertex};
use luxsim::sim::{self, RunOptions, Scenario as CoreScenario, TraceFormat, TraceLevel};
use pyo3::create_exception;
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;

create_exception!(
    _luxsim,
    ScenarioError,
    PyValueError,
    "A scenario, an override or a sweep axis is wrong (the message names file, line, column)."
);

fn sim_error(e: sim::SimError) -> PyErr {
    match e {
        sim::SimError::Scenario(_) | sim::SimError::Latency(_) | sim::SimError::Stake(_) => {
            ScenarioError::new_err(e.to_string())
        }
        other => PyOSError::new_err(other.to_string()),
    }
}

/// A scenario file loaded and validated, with its `--set` overrides.
#[pyclass(module = "luxsim", frozen)]
#[derive(Clone)]
pub(crate) struct Scenario {
    pub(crate) inner: CoreScenario,
    path: PathBuf,
    set: Vec<String>,
}

#[pymethods]
impl Scenario {
    /// Loads `path` with `key.path=value` overrides (as `--set`); `ScenarioError` names
    /// file, line and column.
    #[staticmethod]
    #[pyo3(signature = (path, set=None))]
    fn load(path: PathBuf, set: Option<Vec<String>>) -> PyResult<Self> {
        let set = set.unwrap_or_default();
        let inner = sim::load(&path, &set, None).map_err(sim_error)?;
        Ok(Scenario { inner, path, set })
    }

    /// The same file with more overrides (applied after the present ones).
    fn with_set(&self, more: Vec<String>) -> PyResult<Self> {
        let mut set = self.set.clone();
        set.extend(more);
        Scenario::load(self.path.clone(), Some(set))
    }

    /// The scenario's name.
    #[getter]
    fn name(&self) -> String {
        self.inner.name.clone()
    }
    /// Its seed.
    #[getter]
    fn seed(&self) -> u64 {
        self.inner.seed
    }
    /// Its number of validators.
    #[getter]
    fn nodes(&self) -> usize {
        self.inner.network.nodes
    }
    /// Its mode: "event", "lockstep" or "harness".
    #[getter]
    fn mode(&self) -> &'static str {
        self.inner.mode.name()
    }
    /// The file it was loaded from.
    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }
    /// Its overrides, in order.
    #[getter]
    fn set(&self) -> Vec<String> {
        self.set.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "Scenario({:?}, name={:?}, nodes={}, mode={}, seed={})",
            self.path.display().to_string(),
            self.inner.name,
            self.inner.network.nodes,
            self.inner.mode.name(),
            self.inner.seed
        )
    }
}

fn trace_level(s: &str) -> PyResult<TraceLevel> {
    Ok(match s {
        "none" => TraceLevel::None,
        "decisions" => TraceLevel::Decisions,
        "polls" => TraceLevel::Polls,
        "messages" => TraceLevel::Messages,
        _ => {
            return Err(value_error(format!(
                "trace: {s:?} is not one of none, decisions, polls, messages"
            )))
        }
    })
}

/// Runs `scenario` (seed replaced by `seed` if given) and writes `summary.json` and the
/// trace into `out_dir`, as `luxsim run --out`; returns the files written.
#[pyfunction]
#[pyo3(signature = (scenario, out_dir, trace="polls", seed=None))]
pub(crate) fn run_scenario(
    py: Python<'_>,
    scenario: &Scenario,
    out_dir: PathBuf,
    trace: &str,
    seed: Option<u64>,
) -> PyResult<Vec<PathBuf>> {
    let mut s = scenario.inner.clone();
    if let Some(seed) = seed {
        s.seed = seed;
    }
    let opts = RunOptions {
        out_dir: Some(out_dir),
        trace: trace_level(trace)?,
        format: TraceFormat::Csv,
        progress: false,
        stop_on_signal: false,
    };
    let report = py
        .allow_threads(|| sim::run(&s, &opts))
        .map_err(sim_error)?;
    Ok(report.files)
}

/// Runs a sweep as `luxsim sweep SCENARIO --vary ... --seeds N --out OUT --quiet` and
/// returns its exit code (0, or 1 when a run failed its `[expect]` checks).
#[pyfunction]
#[pyo3(signature = (scenario, out_dir, vary, seeds, set, jobs=None))]
pub(crate) fn sweep_scenario(
    py: Python<'_>,
    scenario: PathBuf,
    out_dir: PathBuf,
    vary: Vec<String>,
    seeds: u64,
    set: Vec<String>,
    jobs: Option<usize>,
) -> PyResult<u8> {
    let args = SweepArgs {
        scenario,
        set,
        vary,
        seeds,
        jobs,
        shard: None,
        out: Some(out_dir),
        quiet: true,
        signals: false,
    };
    py.allow_threads(|| run_sweep(&args))
        .map_err(|e| ScenarioError::new_err(e.to_string()))
}

/// The consensus-progress series of a run directory or trace, as `luxsim plot` draws them:
/// `unit` (axis label), `times`, `preferring` and `finalized` (per choice, shares of the
/// honest nodes in [0, 1]), `honest`.
#[pyfunction]
pub(crate) fn progress_series<'p>(py: Python<'p>, path: PathBuf) -> PyResult<Bound<'p, PyDict>> {
    let (trace, summary) = match plot::locate(&path).map_err(value_error)? {
        plot::Input::Run { trace, summary } => (trace, summary),
        _ => {
            return Err(value_error(format!(
                "{}: a sweep, not a run: progress needs a run's trace",
                path.display()
            )))
        }
    };
    let trace = trace.ok_or_else(|| {
        value_error(format!(
            "{}: no trace.csv or trace.jsonl (run with trace=\"polls\")",
            path.display()
        ))
    })?;
    let run = plot::load_run(&trace, summary.as_deref()).map_err(value_error)?;
    let p = plot::progress(&run);
    let d = PyDict::new(py);
    d.set_item("unit", p.unit.label)?;
    d.set_item("times", p.times)?;
    d.set_item("preferring", p.preferring)?;
    d.set_item("finalized", p.finalized)?;
    d.set_item("honest", p.honest)?;
    Ok(d)
}

/// Vertices (attribute dicts) and edges (`(from, to, attributes)`) of a graph.
type Parts<'p> = (
    Vec<Bound<'p, PyDict>>,
    Vec<(usize, usize, Bound<'p, PyDict>)>,
);

/// The network of a scenario as `luxsim graph` draws it: vertices (regions and node
/// ranges, with attributes) and edges (base latency in ms, partitions).
#[pyfunction]
pub(crate) fn network_parts<'p>(py: Python<'p>, scenario: &Scenario) -> PyResult<Parts<'p>> {
    let g = plot::network_graph(&scenario.inner);
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    let mut vertices = Vec::new();
    for v in g.node_weights() {
        let d = PyDict::new(py);
        d.set_item("label", v.to_string())?;
        match v {
            Vertex::Region { name, nodes, intra } => {
                d.set_item("kind", "region")?;
                d.set_item("name", name)?;
                d.set_item("nodes", nodes)?;
                d.set_item("latency_ms", ms(*intra))?;
            }
            Vertex::Range {
                first,
                last,
                regions,
                crashes,
            } => {
                d.set_item("kind", "range")?;
                d.set_item("first", first)?;
                d.set_item("last", last)?;
                d.set_item("nodes", last + 1 - first)?;
                d.set_item("regions", regions.clone())?;
                d.set_item("crashes", crashes.clone())?;
            }
            Vertex::Rest { nodes } => {
                d.set_item("kind", "rest")?;
                d.set_item("nodes", nodes)?;
            }
            Vertex::Network { nodes } => {
                d.set_item("kind", "network")?;
                d.set_item("nodes", nodes)?;
            }
        }
        vertices.push(d);
    }
    let mut edges = Vec::new();
    for e in g.edge_indices() {
        let (a, b) = g
            .edge_endpoints(e)
            .expect("an edge of the graph has endpoints");
        let d = PyDict::new(py);
        match &g[e] {
            Edge::Latency { base, both_ways } => {
                d.set_item("kind", "latency")?;
                d.set_item("latency_ms", ms(*base))?;
                d.set_item("both_ways", both_ways)?;
            }
            Edge::Partition {
                index,
                start,
                end,
                direction,
            } => {
                d.set_item("kind", "partition")?;
                d.set_item("index", index)?;
                d.set_item("start_ms", ms(*start))?;
                d.set_item("end_ms", end.map(ms))?;
                d.set_item("direction", format!("{direction:?}").to_lowercase())?;
            }
        }
        edges.push((a.index(), b.index(), d));
    }
    Ok((vertices, edges))
}
