//! The `luxsim` command line: parses arguments and calls the library.

use clap::{Parser, Subcommand, ValueEnum};
use luxsim::commands::{self, RunArgs};
use luxsim::experiment::{self, CheckArgs, MergeArgs, SweepArgs};
use luxsim::sim::{TraceFormat, TraceLevel};
use std::path::PathBuf;
use std::process::ExitCode;

/// Simulator and test bench for the Snow family of consensus protocols.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario and write summary.json and a trace.
    Run {
        /// The scenario file (TOML).
        scenario: PathBuf,
        /// Use this seed instead of the scenario's.
        #[arg(long)]
        seed: Option<u64>,
        /// Override a scenario key, e.g. --set params.k=30 (repeatable).
        #[arg(long, value_name = "KEY.PATH=VALUE")]
        set: Vec<String>,
        /// Output directory [default: results/<name>/].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Trace detail.
        #[arg(long, value_enum, default_value = "decisions")]
        trace: Level,
        /// Trace format.
        #[arg(long, value_enum, default_value = "csv")]
        format: Format,
        /// Run twice and fail (exit 1) if the digests differ.
        #[arg(long)]
        check_determinism: bool,
        /// No progress bar and no summary on stdout.
        #[arg(long, short)]
        quiet: bool,
        /// Also write report.html (summary table and plots) into the output directory.
        #[arg(long)]
        report: bool,
        /// Run even when the memory estimate exceeds the memory available.
        #[arg(long)]
        skip_memory_check: bool,
    },
    /// Plot a run (trace file or run directory) or a sweep directory as SVG or PNG.
    Plot {
        /// A trace file, a run directory or a sweep directory (with points.csv).
        input: PathBuf,
        /// Output file, .svg or .png [default: plot.svg or sweep.svg beside the input].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Write a scenario's network (regions, latencies, partitions) as Graphviz DOT.
    Graph {
        /// The scenario file (TOML).
        scenario: PathBuf,
        /// Override a scenario key, e.g. --set network.nodes=500 (repeatable).
        #[arg(long, value_name = "KEY.PATH=VALUE")]
        set: Vec<String>,
        /// Output file [default: stdout].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run a scenario over a grid of values and seeds; write runs.csv and points.csv.
    Sweep {
        /// The scenario file (TOML).
        scenario: PathBuf,
        /// Override a scenario key for every run, e.g. --set network.nodes=500 (repeatable).
        #[arg(long, value_name = "KEY.PATH=VALUE")]
        set: Vec<String>,
        /// Vary a key: a list (params.k=10,20,30) or a range (byzantine.fraction=0..0.3:0.05).
        #[arg(long, value_name = "KEY.PATH=VALUES")]
        vary: Vec<String>,
        /// Seeds per point: the scenario's seed S, then S+1, ..., S+N-1.
        #[arg(long, value_name = "N")]
        seeds: u64,
        /// Most worker threads [default: one per core].
        #[arg(long, value_name = "J")]
        jobs: Option<usize>,
        /// Run only the I-th of M slices of the runs (1-based), for `luxsim merge`.
        #[arg(long, value_name = "I/M")]
        shard: Option<String>,
        /// Output directory [default: results/<name>-sweep/].
        #[arg(long)]
        out: Option<PathBuf>,
        /// No progress bar and nothing on stdout.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Join the outputs of sweep shards into one runs.csv and points.csv.
    Merge {
        /// The shard output directories.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Where to write the merged outputs.
        #[arg(long)]
        out: PathBuf,
        /// Nothing on stdout.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Rerun the baseline's scenarios; fail (exit 1) when convergence got worse.
    Check {
        /// The baseline file.
        #[arg(long, default_value = luxsim::experiment::check::DEFAULT_BASELINE)]
        baseline: PathBuf,
        /// Record the figures measured now in the baseline (after a deliberate change).
        #[arg(long)]
        update: bool,
        /// Most worker threads [default: one per core].
        #[arg(long, value_name = "J")]
        jobs: Option<usize>,
        /// No progress bar; the table only when a figure regressed.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Run one node over ZeroMQ (config: see docs/bridge.md) until SIGINT or SIGTERM.
    #[cfg(feature = "bridge")]
    Node {
        /// The node file (TOML).
        #[arg(long)]
        config: PathBuf,
        /// Also stop cleanly when stdin closes (used by `luxsim cluster`).
        #[arg(long)]
        exit_on_stdin_close: bool,
    },
    /// Print a fresh CURVE key pair for a node file (secret_key, and public_key for peers).
    #[cfg(feature = "bridge")]
    Keygen,
    /// Run a scenario's nodes as local processes over ZeroMQ; write summary.json.
    #[cfg(feature = "bridge")]
    Cluster {
        /// The scenario file (TOML).
        scenario: PathBuf,
        /// Use this seed instead of the scenario's.
        #[arg(long)]
        seed: Option<u64>,
        /// Override a scenario key, e.g. --set network.nodes=20 (repeatable).
        #[arg(long, value_name = "KEY.PATH=VALUE")]
        set: Vec<String>,
        /// Output directory [default: results/<name>-cluster/].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Wall-clock budget, e.g. 30s [default: the scenario's max_time].
        #[arg(long, value_parser = humantime_serde::re::humantime::parse_duration)]
        max_time: Option<std::time::Duration>,
        /// No summary on stdout.
        #[arg(long, short)]
        quiet: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Level {
    None,
    Decisions,
    Polls,
    Messages,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Csv,
    Jsonl,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Run {
            scenario,
            seed,
            set,
            out,
            trace,
            format,
            check_determinism,
            quiet,
            report,
            skip_memory_check,
        } => commands::run(&RunArgs {
            scenario,
            seed,
            set,
            out,
            trace: match trace {
                Level::None => TraceLevel::None,
                Level::Decisions => TraceLevel::Decisions,
                Level::Polls => TraceLevel::Polls,
                Level::Messages => TraceLevel::Messages,
            },
            format: match format {
                Format::Csv => TraceFormat::Csv,
                Format::Jsonl => TraceFormat::Jsonl,
            },
            check_determinism,
            quiet,
            report,
            skip_memory_check,
        }),
        Command::Plot { input, out } => luxsim::plot::command_plot(&input, out.as_deref()),
        Command::Graph { scenario, set, out } => {
            luxsim::plot::command_graph(&scenario, &set, out.as_deref())
        }
        Command::Sweep {
            scenario,
            set,
            vary,
            seeds,
            jobs,
            shard,
            out,
            quiet,
        } => experiment::sweep(&SweepArgs {
            scenario,
            set,
            vary,
            seeds,
            jobs,
            shard,
            out,
            quiet,
        }),
        Command::Merge { dirs, out, quiet } => experiment::merge(&MergeArgs { dirs, out, quiet }),
        Command::Check {
            baseline,
            update,
            jobs,
            quiet,
        } => experiment::check(&CheckArgs {
            baseline,
            update,
            jobs,
            quiet,
        }),
        #[cfg(feature = "bridge")]
        Command::Node {
            config,
            exit_on_stdin_close,
        } => luxsim::bridge::node_command(&config, exit_on_stdin_close),
        #[cfg(feature = "bridge")]
        Command::Keygen => luxsim::bridge::keygen_command(),
        #[cfg(feature = "bridge")]
        Command::Cluster {
            scenario,
            seed,
            set,
            out,
            max_time,
            quiet,
        } => luxsim::bridge::cluster::cluster_command(&luxsim::bridge::cluster::ClusterArgs {
            scenario,
            seed,
            set,
            out,
            max_time,
            binary: None,
            quiet,
        }),
    };
    ExitCode::from(code)
}
