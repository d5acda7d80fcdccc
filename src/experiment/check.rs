//! `luxsim check`: reruns the baseline's scenarios and fails when convergence got worse.
//!
//! Runs go in parallel; the figures are means over each scenario's seeds in the order
//! listed, so an unchanged engine reproduces the recorded values exactly. `--update`
//! records the new values instead, keeping the scenarios, seeds and tolerances.

use super::baseline::{judge, measure, table, Baseline, Line, Status, FIGURES};
use super::pool::{self, PoolOptions, Task};
use super::records::unit;
use super::{fail, read, to_json, write, ExperimentError};
use crate::sim::Scenario;
use crate::util::console::{say, EXIT_CHECK_FAILED, EXIT_OK};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The default baseline file, relative to the repository root.
pub const DEFAULT_BASELINE: &str = "results/baseline.json";

/// The arguments of `luxsim check`.
#[derive(Debug, Clone)]
pub struct CheckArgs {
    /// The baseline file.
    pub baseline: PathBuf,
    /// Record the figures measured now instead of comparing.
    pub update: bool,
    /// Most worker threads (default: one per core).
    pub jobs: Option<usize>,
    /// No progress bar, and the table only when something regressed.
    pub quiet: bool,
}

impl Default for CheckArgs {
    fn default() -> Self {
        CheckArgs {
            baseline: PathBuf::from(DEFAULT_BASELINE),
            update: false,
            jobs: None,
            quiet: false,
        }
    }
}

/// `luxsim check`: 0 when no figure regressed, 1 when one did, 2 on bad input, 130 on Ctrl-C.
pub fn check(args: &CheckArgs) -> u8 {
    match try_check(args) {
        Ok(code) => code,
        Err(e) => fail(&e),
    }
}

fn try_check(args: &CheckArgs) -> Result<u8, ExperimentError> {
    let started = Instant::now();
    let path = args.baseline.display().to_string();
    let baseline = Baseline::parse(&read(&args.baseline)?, &path)?;
    let scenarios = baseline
        .scenarios
        .iter()
        .map(|e| Scenario::load(Path::new(&e.scenario), &e.set))
        .collect::<Result<Vec<_>, _>>()?;
    let mut tasks = Vec::new();
    let mut owner = Vec::new();
    for (i, (entry, scenario)) in baseline.scenarios.iter().zip(&scenarios).enumerate() {
        for &seed in &entry.seeds {
            tasks.push(Task { scenario, seed });
            owner.push(i);
        }
    }
    let label = |i: usize| {
        let e = &baseline.scenarios[i];
        if e.set.is_empty() {
            e.scenario.clone()
        } else {
            format!("{} [{}]", e.scenario, e.set.join(" "))
        }
    };
    pool::catch_interrupt();
    let opts = PoolOptions {
        jobs: args.jobs,
        progress: !args.quiet,
        label: "check".into(),
    };
    let batch = pool::run_all(&tasks, &opts, |t| label(owner[t]), |_, _| Ok(()))?;
    if batch.interrupted {
        eprintln!(
            "interrupted by {}: nothing checked or recorded",
            crate::util::signals::name()
        );
        return Ok(crate::util::signals::exit_code());
    }
    let mut lines = Vec::new();
    let mut updated = baseline.clone();
    for (i, entry) in baseline.scenarios.iter().enumerate() {
        let runs: Vec<_> = batch
            .summaries
            .iter()
            .zip(&owner)
            .filter(|(_, &o)| o == i)
            .filter_map(|(s, _)| s.as_ref())
            .collect();
        let now = measure(&runs);
        updated.scenarios[i].figures = entry.figures.with_values(now);
        let u = unit(scenarios[i].mode);
        for (j, figure) in entry.figures.list().iter().enumerate() {
            let (name, larger_worse) = FIGURES[j];
            lines.push(Line {
                scenario: label(i),
                figure: match name {
                    "finality_p50" => format!("finality p50 ({u})"),
                    "finality_p99" => format!("finality p99 ({u})"),
                    "polls_p50" => "polls p50".into(),
                    _ => "finalized share".into(),
                },
                baseline: figure.value,
                now: now[j],
                tolerance: figure.tolerance,
                status: if args.update {
                    Status::Updated
                } else {
                    judge(figure, now[j], larger_worse)
                },
            });
        }
    }
    let bad = lines
        .iter()
        .filter(|l| l.status == Status::Regressed)
        .count();
    let missing = lines.iter().filter(|l| l.status == Status::Missing).count();
    if !args.quiet || bad + missing > 0 {
        say(table(&lines).trim_end());
        say(format_args!(
            "{} runs of {} scenarios in {:.1}s",
            tasks.len(),
            scenarios.len(),
            started.elapsed().as_secs_f64()
        ));
    }
    if args.update {
        write(&args.baseline, &to_json(&updated))?;
        if !args.quiet {
            say(format_args!("recorded the figures in {path}"));
        }
        return Ok(EXIT_OK);
    }
    if bad + missing > 0 {
        eprintln!(
            "check failed: {bad} figures regressed, {missing} have no baseline value \
             (after a deliberate change: luxsim check --update --baseline {path})"
        );
        return Ok(EXIT_CHECK_FAILED);
    }
    Ok(EXIT_OK)
}
