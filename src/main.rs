//! The `luxsim` command line: parses arguments and calls the library.

use clap::{Parser, Subcommand, ValueEnum};
use luxsim::commands::{self, RunArgs};
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
        }),
    };
    ExitCode::from(code)
}
