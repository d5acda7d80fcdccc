//! Analysis of a finished run, scored against its ground truth (`luxsim analyze`).
//!
//! A run directory written with `--trace messages` holds `trace.csv` (every query and
//! answer) and `nodes.csv` (who was Byzantine, with which strategy). From them:
//!
//! - [`features`]: per node, what it did as an answerer and as a querier (counts and
//!   rates), and the vote matrix, answerer x time bucket;
//! - [`detect`]: the rule-based detector (robust z-scores on answerer-side features) and
//!   the scoring of any detector's scores (ROC AUC, precision and recall per strategy);
//! - [`report`]: `features.csv`, `analysis.json` and `roc.svg`.
//!
//! Only single-decision runs (slush, snowflake, snowball) are analysed; a chain or DAG
//! trace is refused with a clear error.

pub mod detect;
pub mod features;
mod report;
mod roc;
mod truth;

pub use features::{extract, Extracted, NodeFeatures, Options, VoteMatrix};
pub use report::{analyze, score, write, Analysis, StrategyScore};
pub use truth::{read_truth, Truth};

use std::path::PathBuf;

/// Why a run could not be analysed.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An output could not be written.
    #[error("cannot write {}: {message}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A trace row is malformed.
    #[error("{}:{line}: {message}", path.display())]
    Trace {
        /// The trace.
        path: PathBuf,
        /// Its line (1 is the header).
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// A `nodes.csv` row is malformed.
    #[error("{}:{line}: {message}", path.display())]
    Truth {
        /// The file.
        path: PathBuf,
        /// Its line (1 is the header).
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// The trace has no query or answer rows.
    #[error("{}: no query or answer rows: analyze needs a messages-level trace (luxsim run --trace messages)", path.display())]
    NoMessages {
        /// The trace.
        path: PathBuf,
    },
    /// The trace is a chain or DAG run's.
    #[error("{}:{line}: a chain or DAG trace: analyze reads single-decision runs (slush, snowflake, snowball) only", path.display())]
    Ledger {
        /// The trace.
        path: PathBuf,
        /// The first ledger row.
        line: u64,
    },
    /// The run directory lacks a file.
    #[error("{}: {message}", path.display())]
    Missing {
        /// The missing file.
        path: PathBuf,
        /// What to do about it.
        message: String,
    },
}

/// `luxsim analyze RUN_DIR [--out DIR]`: writes the files, prints the scores; the exit code.
pub fn command_analyze(
    dir: &std::path::Path,
    out: Option<&std::path::Path>,
    options: Options,
    threshold: f64,
) -> u8 {
    use crate::util::console::say;
    if !(0.0..=1.0).contains(&threshold) {
        eprintln!("error: --threshold {threshold}: a score threshold is between 0 and 1");
        return crate::util::console::EXIT_BAD_INPUT;
    }
    let result = analyze(dir, options, threshold).and_then(|a| {
        let files = write(&a, out.unwrap_or(dir))?;
        Ok((a, files))
    });
    match result {
        Ok((a, files)) => {
            say(format_args!(
                "{} nodes, {} Byzantine; rule-based detector, threshold {}:",
                a.truth.byzantine.len(),
                a.truth.byzantine.iter().filter(|&&b| b).count(),
                threshold
            ));
            for s in &a.scores {
                let f = |v: Option<f64>| v.map_or("n/a".to_owned(), |x| format!("{x:.3}"));
                say(format_args!(
                    "  {:<16} {:>6} nodes  AUC {}  precision {}  recall {:.3}",
                    s.strategy,
                    s.byzantine,
                    f(s.auc),
                    f(s.precision),
                    s.recall
                ));
            }
            for f in files {
                say(format_args!("wrote {}", f.display()));
            }
            crate::util::console::EXIT_OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            crate::util::console::EXIT_BAD_INPUT
        }
    }
}
