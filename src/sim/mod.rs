//! The deterministic simulator: scenarios, the world that runs them, and their outputs.

// What a run is made of.
pub(crate) mod latency;
pub(crate) mod population;
pub(crate) mod rng;
pub mod scenario;

// Event mode: the virtual clock, the bus, the adversary, the world.
pub(crate) mod crashes;
pub(crate) mod event_loop;
pub(crate) mod network;
pub(crate) mod scheduler;
pub(crate) mod shell;
pub(crate) mod world;

// Lockstep mode.
pub(crate) mod lockstep;
// Harness mode: avalanchego's test network.
pub(crate) mod harness;

// Ledgers (chain and dag engines) in event mode.
pub(crate) mod ledger;

// Outputs and the run itself.
pub mod ground_truth;
pub(crate) mod memory;
pub(crate) mod progress;
pub(crate) mod run;
pub(crate) mod summary;
pub mod trace;

pub use latency::{Latency, LatencyError};
pub use ledger::{simulate as simulate_ledger, LedgerRun, LedgerSummary, LedgerWorld, Violation};
pub use progress::{End, Progress};
pub use run::{load, publish, rerun_digest, run, run_staged, RunOptions, RunReport};
pub use scenario::{Scenario, ScenarioError};
pub use summary::{ByzantineSummary, Check, Percentiles, Summary};
pub use trace::{TraceFormat, TraceLevel};

use thiserror::Error;

/// Why a run could not be carried out.
#[derive(Debug, Error)]
pub enum SimError {
    /// The scenario file is wrong.
    #[error(transparent)]
    Scenario(#[from] scenario::ScenarioError),
    /// The latency model's parameters are wrong.
    #[error("network.latency: {0}")]
    Latency(#[from] latency::LatencyError),
    /// The stake distribution is wrong.
    #[error("network.stake: {0}")]
    Stake(#[from] crate::node::StakeError),
    /// Writing an output failed.
    #[error("cannot write {path}: {source}")]
    Output {
        /// The file or directory.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Writing the trace failed.
    #[error("cannot write the trace: {0}")]
    Trace(#[from] std::io::Error),
    /// The run would need more memory than is available ([`memory::estimate`]).
    #[error(
        "network.nodes = {nodes} ({mode}) needs about {}{}, and {} is available (MemAvailable); \
         use fewer nodes, or --skip-memory-check to try anyway",
        memory::human(*need),
        if *runs > 1 { format!(" for {runs} runs at once") } else { String::new() },
        memory::human(*have)
    )]
    Memory {
        /// Bytes estimated.
        need: u64,
        /// Bytes available.
        have: u64,
        /// The scenario's nodes.
        nodes: usize,
        /// Its mode or ledger engine.
        mode: &'static str,
        /// Runs at once.
        runs: usize,
    },
}
