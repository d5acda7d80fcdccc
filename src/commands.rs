//! The command-line subcommands as library functions: `main.rs` only parses arguments.

use crate::sim::{self, RunOptions, Scenario, SimError, TraceFormat, TraceLevel};
use std::path::PathBuf;

/// Exit code: every check held.
pub const EXIT_OK: u8 = 0;
/// Exit code: an `[expect]` check or the determinism check failed.
pub const EXIT_CHECK_FAILED: u8 = 1;
/// Exit code: bad input (the reason is on stderr).
pub const EXIT_BAD_INPUT: u8 = 2;

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
}

/// Loads a scenario with `--set` overrides and an optional seed.
pub fn load(
    path: &std::path::Path,
    set: &[String],
    seed: Option<u64>,
) -> Result<Scenario, SimError> {
    let mut s = Scenario::load(path, set)?;
    if let Some(seed) = seed {
        s.seed = seed;
    }
    Ok(s)
}

/// `luxsim run`: runs a scenario, writes its outputs, prints a summary; returns the exit code.
pub fn run(args: &RunArgs) -> u8 {
    match try_run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_BAD_INPUT
        }
    }
}

fn try_run(args: &RunArgs) -> Result<u8, SimError> {
    let scenario = load(&args.scenario, &args.set, args.seed)?;
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("results").join(&scenario.name));
    let opts = RunOptions {
        out_dir: Some(out_dir.clone()),
        trace: args.trace,
        format: args.format,
        progress: !args.quiet,
    };
    let report = sim::run(&scenario, &opts)?;
    let summary = &report.summary;
    if !args.quiet {
        println!("{summary}");
        for f in &report.files {
            println!("  wrote {}", f.display());
        }
    }
    if args.report {
        let path = crate::plot::write_report(&out_dir).map_err(|e| SimError::Output {
            path: out_dir.join("report.html").display().to_string(),
            source: std::io::Error::other(e),
        })?;
        if !args.quiet {
            println!("  wrote {}", path.display());
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
        let again = sim::rerun_digest(&scenario)?;
        if again == summary.digest {
            if !args.quiet {
                println!("  determinism: second run has the same digest");
            }
        } else {
            eprintln!(
                "determinism check failed: digest {} then {again}",
                summary.digest
            );
            code = EXIT_CHECK_FAILED;
        }
    }
    Ok(code)
}
