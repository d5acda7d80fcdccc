//! The `luxsim` command line: every subcommand's arguments (clap), and `luxsim run`.
//! The other subcommands live with their layer (`experiment`, `plot`, `bridge`); `main.rs`
//! only calls [`main`].

use crate::experiment::{self, CheckArgs, MergeArgs, SweepArgs};
use crate::sim::{self, RunOptions, SimError, TraceFormat, TraceLevel};
use crate::util::console::say;
use crate::util::console::{EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_OK};
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// The arguments of `luxsim run`.
#[derive(Debug, Clone)]
pub struct RunArgs {
    /// The scenario file.
    pub scenario: PathBuf,
    /// Replaces the scenario's seed.
    pub seed: Option<u64>,
    /// `key.path=value` overrides.
    pub set: Vec<String>,
    /// Output directory (default `results/<name>/`).
    pub out: Option<PathBuf>,
    /// Trace detail.
    pub trace: TraceLevel,
    /// Trace format.
    pub format: TraceFormat,
    /// Run twice and compare digests.
    pub check_determinism: bool,
    /// No progress bar and no summary on stdout.
    pub quiet: bool,
    /// Also write `report.html` into the output directory.
    pub report: bool,
    /// Run even when the memory estimate exceeds the memory available.
    pub skip_memory_check: bool,
}

/// `luxsim run`: runs a scenario, writes its outputs, prints a summary; returns the exit code.
pub fn run(args: &RunArgs) -> u8 {
    crate::util::signals::install();
    match try_run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_BAD_INPUT
        }
    }
}

fn try_run(args: &RunArgs) -> Result<u8, SimError> {
    let scenario = sim::load(&args.scenario, &args.set, args.seed)?;
    sim::memory::check(&scenario, 1, args.skip_memory_check)?;
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("results").join(&scenario.name));
    let opts = RunOptions {
        out_dir: Some(out_dir.clone()),
        trace: args.trace,
        format: args.format,
        progress: !args.quiet,
        stop_on_signal: true,
    };
    let (report, staging) = sim::run_staged(&scenario, &opts)?;
    let summary = &report.summary;
    let mut files = report.files.clone();
    // The report joins the run's files before they are published, as one set.
    crate::util::signals::while_writing(|| -> Result<(), SimError> {
        if let Some(staging) = staging {
            if args.report {
                crate::plot::write_report(staging.dir()).map_err(|e| SimError::Output {
                    path: out_dir.join("report.html").display().to_string(),
                    source: std::io::Error::other(e),
                })?;
                files.push(out_dir.join("report.html"));
            }
            sim::publish(staging)?;
        }
        Ok(())
    })?;
    if summary.interrupted {
        eprintln!(
            "interrupted by {}: kept {} (summary.json says \"interrupted\": true; figures as of {:.1}ms virtual)",
            crate::util::signals::name(),
            out_dir.display(),
            summary.virtual_time_ms
        );
        return Ok(crate::util::signals::exit_code());
    }
    if !args.quiet {
        say(summary);
        for f in &files {
            say(format_args!("  wrote {}", f.display()));
        }
    }
    let mut code = EXIT_OK;
    if !summary.passed() {
        for c in summary.expect.iter().filter(|c| !c.passed) {
            eprintln!(
                "expect {} failed: wanted {}, got {}",
                c.name, c.expected, c.actual
            );
        }
        code = EXIT_CHECK_FAILED;
    }
    if args.check_determinism {
        let again = sim::run(
            &scenario,
            &RunOptions {
                stop_on_signal: true,
                ..RunOptions::default()
            },
        )?;
        if again.summary.interrupted {
            eprintln!(
                "interrupted by {}: the determinism check did not finish",
                crate::util::signals::name()
            );
            return Ok(crate::util::signals::exit_code());
        }
        if again.summary.digest == summary.digest {
            if !args.quiet {
                say("  determinism: second run has the same digest");
            }
        } else {
            eprintln!(
                "determinism check failed: digest {} then {}",
                summary.digest, again.summary.digest
            );
            code = EXIT_CHECK_FAILED;
        }
    }
    Ok(code)
}

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
        /// Threads a lockstep round is split across [default: one per core]; the result
        /// is the same for any number.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
        threads: Option<u16>,
    },
    /// Plot a run (trace file or run directory) or a sweep directory as SVG or PNG.
    Plot {
        /// A trace file, a run directory or a sweep directory (with points.csv).
        input: PathBuf,
        /// Output file, .svg or .png [default: plot.svg or sweep.svg beside the input].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Per-node features of a run with a messages trace, the rule-based Byzantine
    /// detector, and its ROC AUC, precision and recall against nodes.csv.
    Analyze {
        /// A run directory written with --trace messages (trace.csv and nodes.csv).
        run_dir: PathBuf,
        /// Where features.csv, analysis.json and roc.svg go [default: the run directory].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Answers of one node to different queriers at most this far apart count as
        /// "at nearly the same time".
        #[arg(long, default_value = "50ms", value_parser = humantime_serde::re::humantime::parse_duration)]
        window: std::time::Duration,
        /// Time buckets (columns) of the vote matrix.
        #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        buckets: u32,
        /// Score at or above which a node is flagged (0.5 = a robust z of 3).
        #[arg(long, default_value_t = 0.5)]
        threshold: f64,
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
        /// Run only the I-th of M slices of the runs (1-based), for `luxsim merge`; `auto`
        /// (or auto/M) takes I and M from a Slurm array or Kubernetes Indexed Job.
        #[arg(long, value_name = "I/M|auto")]
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
        /// Merge the runs present when shards or runs are missing (sweep.json then says
        /// "partial": true) instead of refusing.
        #[arg(long)]
        allow_partial: bool,
        /// Nothing on stdout.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Predict a scenario's p50 and p99 time to finality with a model file
    /// (docs/prediction.md); print its features and the analytic baseline.
    Predict {
        /// The model file (JSON, format luxsim-predict/1).
        #[arg(long)]
        model: PathBuf,
        /// The scenario file (TOML).
        scenario: PathBuf,
        /// Override a scenario key, e.g. --set params.k=30 (repeatable).
        #[arg(long, value_name = "KEY.PATH=VALUE")]
        set: Vec<String>,
        /// Print JSON (features, baseline_ms, p50_ms, p99_ms) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Rerun the baseline's scenarios; fail (exit 1) when convergence got worse.
    Check {
        /// The baseline file.
        #[arg(long, default_value = crate::experiment::check::DEFAULT_BASELINE)]
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
        /// The node file: YAML when it ends in .yaml or .yml, else TOML.
        #[arg(long)]
        config: PathBuf,
        /// Also stop cleanly when stdin closes (used by `luxsim cluster`).
        #[arg(long)]
        exit_on_stdin_close: bool,
        /// Only check the file (exit 0, or 2 with the error) and log what the node would
        /// warn about; start nothing.
        #[arg(long)]
        check: bool,
        /// Log level on stderr: error, warn, info, debug or trace (any case) [default:
        /// RUST_LOG, else the file's log_level, else info].
        #[arg(long, value_name = "LEVEL")]
        log_level: Option<log::Level>,
        /// Log format on stderr [default: the file's log_format, else text].
        #[arg(long, value_enum, value_name = "FORMAT")]
        log_format: Option<crate::bridge::LogFormat>,
        /// Serve /metrics on this port (0: any), instead of the file's metrics_port.
        #[arg(long, value_name = "PORT")]
        metrics_port: Option<u16>,
        /// Serve /health on a port of its own (0: any), instead of the file's health_port.
        #[arg(long, value_name = "PORT")]
        health_port: Option<u16>,
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

/// Parses the command line and runs the subcommand; the process exit code.
pub fn main() -> ExitCode {
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
            threads,
        } => {
            if let Some(n) = threads {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(usize::from(n));
                if let Err(e) = pool.build_global() {
                    eprintln!("error: --threads {n}: {e}");
                    return ExitCode::from(crate::util::console::EXIT_BAD_INPUT);
                }
            }
            run(&RunArgs {
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
            })
        }
        Command::Plot { input, out } => crate::plot::command_plot(&input, out.as_deref()),
        Command::Analyze {
            run_dir,
            out,
            window,
            buckets,
            threshold,
        } => crate::analysis::command_analyze(
            &run_dir,
            out.as_deref(),
            crate::analysis::Options {
                window_ns: u64::try_from(window.as_nanos()).unwrap_or(u64::MAX),
                buckets: buckets as usize,
            },
            threshold,
        ),
        Command::Graph { scenario, set, out } => {
            crate::plot::command_graph(&scenario, &set, out.as_deref())
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
            signals: true,
        }),
        Command::Merge {
            dirs,
            out,
            allow_partial,
            quiet,
        } => experiment::merge(&MergeArgs {
            dirs,
            out,
            quiet,
            allow_partial,
        }),
        Command::Predict {
            model,
            scenario,
            set,
            json,
        } => experiment::command_predict(&model, &scenario, &set, json),
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
            check,
            log_level,
            log_format,
            metrics_port,
            health_port,
        } => crate::bridge::node_command(&crate::bridge::NodeArgs {
            config,
            exit_on_stdin_close,
            check,
            log_level,
            log_format,
            metrics_port,
            health_port,
        }),
        #[cfg(feature = "bridge")]
        Command::Keygen => crate::bridge::keygen_command(),
        #[cfg(feature = "bridge")]
        Command::Cluster {
            scenario,
            seed,
            set,
            out,
            max_time,
            quiet,
        } => crate::bridge::cluster::cluster_command(&crate::bridge::cluster::ClusterArgs {
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
