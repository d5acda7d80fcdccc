//! Experiments over many runs: parameter sweeps (`luxsim sweep`), joining sharded sweeps
//! (`luxsim merge`), the convergence regression check (`luxsim check`) and consensus-time
//! prediction (`luxsim predict`).
//!
//! Every command here is deterministic: runs go in parallel on a local rayon pool, but
//! their results are collected and written in a fixed order (grid order, then seed order),
//! so the output files are byte-identical whatever the number of threads or shards.
//! See `docs/experiments.md`.

use crate::sim::{ScenarioError, SimError};
use std::path::Path;
use thiserror::Error;

pub(crate) mod baseline;
pub(crate) mod check;
pub(crate) mod grid;
pub(crate) mod journal;
pub(crate) mod merge;
pub(crate) mod pool;
pub(crate) mod predict;
pub(crate) mod records;
pub(crate) mod shard;
pub(crate) mod sweep;

pub use baseline::Baseline;
pub use check::{check, CheckArgs};
pub use grid::{Axis, Grid};
pub use journal::{JOURNAL, JOURNAL_FORMAT};
pub use merge::{merge, MergeArgs};
pub use predict::{
    baseline, command_predict, features, Features, Linear, Model, PredictError, Prediction,
    Targets, Term, Transform, FEATURE_NAMES, MODEL_FORMAT,
};
pub use records::{runs_header, RunRecord};
pub use shard::{Shard, ShardEnvError};
pub use sweep::{run_sweep, sweep, Manifest, SweepArgs};

/// Why an experiment could not be carried out (all are exit code 2).
#[derive(Debug, Error)]
pub enum ExperimentError {
    /// A scenario (or a point's overrides) is invalid.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The scenario is invalid at one grid point (with that point's values).
    #[error("at {point}: {source}")]
    Point {
        /// The grid point, as `key=value` pairs.
        point: String,
        /// The error.
        source: ScenarioError,
    },
    /// A malformed `--vary KEY=VALUES`.
    #[error("bad --vary {arg:?}: {message}")]
    BadVary {
        /// The argument as given.
        arg: String,
        /// What is wrong.
        message: String,
    },
    /// A malformed `--shard I/M`.
    #[error("bad --shard {arg:?}: {message}")]
    BadShard {
        /// The argument as given.
        arg: String,
        /// What is wrong.
        message: String,
    },
    /// `--shard auto` found no usable array index in the environment.
    #[error("--shard auto: {0}")]
    ShardEnv(#[from] ShardEnvError),
    /// The output directory holds the unfinished progress of another sweep.
    #[error(
        "{dir} holds the unfinished progress of another sweep (their {what} differ): \
         rerun that sweep to finish it, or remove {dir} (or choose another --out) to start over"
    )]
    OtherSweep {
        /// The output directory.
        dir: String,
        /// What differs.
        what: String,
    },
    /// Another process is writing the same journal.
    #[error("{path} is locked: another luxsim is writing this sweep's directory")]
    Busy {
        /// The journal.
        path: String,
    },
    /// Another bad argument (`--seeds 0`, `--jobs 0`, ...).
    #[error("{0}")]
    BadArgument(String),
    /// A run failed (e.g. a latency model the scenario check cannot catch).
    #[error("run of {point} with seed {seed}: {source}")]
    Run {
        /// The grid point or scenario, as `key=value` pairs.
        point: String,
        /// The seed of the run.
        seed: u64,
        /// What went wrong.
        source: SimError,
    },
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file (manifest, runs.csv, baseline) has the wrong content.
    #[error("{path}: {message}")]
    BadFile {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Shard outputs that do not make up one sweep.
    #[error("cannot merge: {0}")]
    Merge(String),
    /// The thread pool could not be built.
    #[error("cannot start {jobs} worker threads: {message}")]
    Pool {
        /// Threads asked for.
        jobs: usize,
        /// The reason.
        message: String,
    },
}

/// Reads a whole file, naming it in the error.
fn read(path: &Path) -> Result<Vec<u8>, ExperimentError> {
    std::fs::read(path).map_err(|source| ExperimentError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// Writes a whole file atomically, naming it in the error.
fn write(path: &Path, bytes: &[u8]) -> Result<(), ExperimentError> {
    crate::util::atomic::write_atomic(path, bytes).map_err(|source| ExperimentError::Write {
        path: path.display().to_string(),
        source,
    })
}

/// Pretty JSON with a final newline.
fn to_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    let mut json = serde_json::to_vec_pretty(value).expect("plain data serializes");
    json.push(b'\n');
    json
}

/// Prints an error and returns the bad-input exit code.
fn fail(e: &ExperimentError) -> u8 {
    eprintln!("error: {e}");
    crate::util::console::EXIT_BAD_INPUT
}
