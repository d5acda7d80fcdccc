//! The command-line subcommands as library functions: `main.rs` only parses arguments.

use crate::console::say;
pub use crate::console::{EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_OK};
use crate::sim::{self, memory, RunOptions, Scenario, SimError, TraceFormat, TraceLevel};
use std::path::PathBuf;

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

/// Refuses a run whose memory estimate (times `runs` at once) exceeds what is available.
pub fn check_memory(scenario: &Scenario, runs: usize, skip: bool) -> Result<(), SimError> {
    let need = memory::estimate(scenario).saturating_mul(runs.max(1) as u64);
    match memory::available() {
        Some(have) if need > have && !skip => Err(SimError::Memory {
            need,
            have,
            nodes: scenario.network.nodes,
            mode: if scenario.engine.is_ledger() {
                scenario.engine.name()
            } else {
                scenario.mode.name()
            },
            runs,
        }),
        _ => Ok(()),
    }
}

/// `luxsim run`: runs a scenario, writes its outputs, prints a summary; returns the exit code.
pub fn run(args: &RunArgs) -> u8 {
    crate::signals::install();
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
    check_memory(&scenario, 1, args.skip_memory_check)?;
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
    crate::signals::while_writing(|| -> Result<(), SimError> {
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
            crate::signals::name(),
            out_dir.display(),
            summary.virtual_time_ms
        );
        return Ok(crate::signals::exit_code());
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
                crate::signals::name()
            );
            return Ok(crate::signals::exit_code());
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
