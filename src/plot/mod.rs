//! Pictures of runs and sweeps: `luxsim plot` (SVG or PNG through plotters), `luxsim graph`
//! (the scenario's network as Graphviz DOT through petgraph) and `report.html`.
//!
//! See `docs/plots.md` for what each figure shows. Text in PNG files is drawn with Noto Sans
//! Regular, bundled by the `ttf-noto-sans` crate and registered with plotters' `ab_glyph`
//! font backend, so no system font or fontconfig is needed.

pub(crate) mod cdf;
pub mod draw;
pub(crate) mod graph;
pub(crate) mod input;
pub(crate) mod progress;
pub(crate) mod report;
pub(crate) mod sweep;

pub use graph::{network_dot, network_graph, write_dot, Edge, Vertex};
pub use input::read_run;
pub use input::{load_run, locate, Input, RunData, TimeUnit};
pub use progress::{progress, Progress};
pub use report::write_report;
pub use sweep::{load as load_sweep, read as read_sweep};

use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why a plot, graph or report could not be made.
#[derive(Debug, Error)]
pub enum PlotError {
    /// A file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An output could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The input is neither a trace, a run directory nor a sweep directory.
    #[error("{}: {message}", path.display())]
    NotFound {
        /// The path given.
        path: PathBuf,
        /// What was looked for.
        message: String,
    },
    /// A trace, summary or points file is malformed.
    #[error("{}:{line}: {message}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line (0: the whole file).
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// The run is of a kind the plots do not cover (a chain or dag ledger run).
    #[error("{}: {message}", path.display())]
    Unsupported {
        /// The trace or summary.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The output file's extension is neither `.svg` nor `.png`.
    #[error("{}: the output must end in .svg or .png", path.display())]
    Format {
        /// The file.
        path: PathBuf,
    },
    /// plotters failed to draw.
    #[error("cannot draw {}: {message}", path.display())]
    Draw {
        /// The output.
        path: PathBuf,
        /// plotters' error.
        message: String,
    },
    /// The scenario of `luxsim graph` could not be loaded.
    #[error(transparent)]
    Scenario(#[from] crate::sim::ScenarioError),
}

/// Exit code of `luxsim plot` and `luxsim graph` on success.
const EXIT_OK: u8 = 0;
/// Exit code on bad input (the reason is on stderr).
const EXIT_BAD_INPUT: u8 = 2;

/// Plots a run (trace file or run directory) or a sweep directory into `out`, or next to
/// the input when `out` is `None`; returns the files written.
pub fn plot(input: &Path, out: Option<&Path>) -> Result<Vec<PathBuf>, PlotError> {
    match locate(input)? {
        Input::Run { trace, summary } => {
            let trace = trace.ok_or_else(|| PlotError::NotFound {
                path: input.to_path_buf(),
                message: "the run has no trace.csv or trace.jsonl (run it with --trace decisions \
                          or --trace polls)"
                    .into(),
            })?;
            let run = load_run(&trace, summary.as_deref())?;
            let out = out.map_or_else(|| default_out(&trace, "plot.svg"), Path::to_path_buf);
            draw::write_run_figure(&run, &out)?;
            Ok(vec![out])
        }
        Input::Sweep { points } => {
            let sweep = sweep::load(&points)?;
            let out = out.map_or_else(|| default_out(&points, "sweep.svg"), Path::to_path_buf);
            draw::write_sweep_figure(&sweep, &out)?;
            Ok(vec![out])
        }
    }
}

/// `dir/name` where `dir` is the directory holding `file`.
fn default_out(file: &Path, name: &str) -> PathBuf {
    file.parent().unwrap_or(Path::new(".")).join(name)
}

/// `luxsim plot INPUT [--out FILE]`: plots, prints the files written; returns the exit code.
pub fn command_plot(input: &Path, out: Option<&Path>) -> u8 {
    match plot(input, out) {
        Ok(files) => {
            for f in files {
                crate::util::console::say(format_args!("wrote {}", f.display()));
            }
            EXIT_OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_BAD_INPUT
        }
    }
}

/// `luxsim graph SCENARIO [--set K=V]... [--out FILE]`: DOT to `out`, or stdout; the exit code.
pub fn command_graph(scenario: &Path, set: &[String], out: Option<&Path>) -> u8 {
    let result = crate::sim::Scenario::load(scenario, set)
        .map_err(PlotError::from)
        .and_then(|s| match out {
            Some(path) => write_dot(&s, path).map(|()| Some(path)),
            None => {
                crate::util::console::say(network_dot(&s).trim_end());
                Ok(None)
            }
        });
    match result {
        Ok(Some(path)) => {
            crate::util::console::say(format_args!("wrote {}", path.display()));
            EXIT_OK
        }
        Ok(None) => EXIT_OK,
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_BAD_INPUT
        }
    }
}
