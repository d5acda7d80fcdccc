//! One run of a scenario: draw the population, drive the mode, write the outputs.
//!
//! Outputs are staged ([`Staging`]) and published as one directory, so a kill at any moment
//! leaves either the previous run's files or this run's, never a mix. A run stopped by a
//! signal ([`RunOptions::stop_on_signal`]) still writes complete files for what it reached,
//! with `"interrupted": true` in its summary.

use super::population::Population;
use super::progress::{End, Progress};
use super::scenario::{Mode, Scenario};
use super::summary::{ByzantineSummary, Outcomes, Summary};
use super::trace::{Trace, TraceFormat, TraceLevel};
use super::world::World;
use super::SimError;
use super::{harness, lockstep};
use crate::util::atomic::{write_atomic, Staging};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How to run and where to write.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Directory for `summary.json` and the trace; `None` writes nothing.
    pub out_dir: Option<PathBuf>,
    /// Trace detail.
    pub trace: TraceLevel,
    /// Trace format.
    pub format: TraceFormat,
    /// Show a progress bar on stderr (drawn only when stderr is a terminal).
    pub progress: bool,
    /// End the run at its next progress report once SIGINT or SIGTERM has arrived
    /// (handlers installed by [`crate::util::signals::install`]); the run is then `interrupted`.
    pub stop_on_signal: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            out_dir: None,
            trace: TraceLevel::None,
            format: TraceFormat::Csv,
            progress: false,
            stop_on_signal: false,
        }
    }
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The summary (also written as `summary.json`).
    pub summary: Summary,
    /// The files written, under their final paths.
    pub files: Vec<PathBuf>,
}

/// Loads the scenario at `path` with `--set` overrides, its seed replaced by `seed` if any.
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

/// Runs `scenario` once and publishes its outputs (if `opts.out_dir` is set).
pub fn run(scenario: &Scenario, opts: &RunOptions) -> Result<RunReport, SimError> {
    let (report, staging) = run_staged(scenario, opts)?;
    if let Some(s) = staging {
        publish(s)?;
    }
    Ok(report)
}

/// Publishes a staged set of outputs.
pub fn publish(staging: Staging) -> Result<(), SimError> {
    let target = staging.target().display().to_string();
    staging.publish().map_err(|source| SimError::Output {
        path: target,
        source,
    })
}

/// Runs `scenario` once and writes its outputs into a staging directory that the caller
/// may add files to ([`Staging::dir`]) before it publishes them with [`publish`]; `files`
/// name the final paths.
pub fn run_staged(
    scenario: &Scenario,
    opts: &RunOptions,
) -> Result<(RunReport, Option<Staging>), SimError> {
    let started = Instant::now();
    let pop = Population::draw(scenario)?;
    let staging = match &opts.out_dir {
        Some(dir) => Some(Staging::begin(dir).map_err(|source| SimError::Output {
            path: dir.display().to_string(),
            source,
        })?),
        None => None,
    };
    let stage_dir = staging.as_ref().map(Staging::dir);
    let mut trace = Trace::create(stage_dir, opts.trace, opts.format)?;
    // The truth an analysis of the trace is scored against, beside it (`nodes.csv`).
    let with_nodes = opts.trace != TraceLevel::None;
    if let Some(dir) = stage_dir.filter(|_| with_nodes) {
        super::ground_truth::write(dir, scenario, &pop).map_err(|source| SimError::Output {
            path: dir.join(super::ground_truth::FILE).display().to_string(),
            source,
        })?;
    }
    let mut bar = Bar::new(opts.progress, scenario);
    let stop_on_signal = opts.stop_on_signal;
    let mut watch = |p: Progress| {
        bar.update(p);
        !(stop_on_signal && crate::util::signals::received().is_some())
    };
    let strategy = scenario
        .byzantine
        .as_ref()
        .map(|b| b.strategy.name().to_string());
    let byzantine = ByzantineSummary::of(&pop, strategy);
    let mut summary = Summary::start(scenario, byzantine);
    if scenario.engine.is_ledger() {
        // Ledgers run in event mode only (validation rejects lockstep).
        let r = super::ledger::run(scenario, pop, &mut trace, &mut watch)?;
        summary.events = r.counters.events;
        summary.messages = r.counters.messages;
        summary.virtual_time_ms = r.counters.end as f64 / 1e6;
        summary.ended = r.counters.ended;
        bar.finish();
        summary.settle_ledger(r.summary, r.honest, r.polls, &scenario.expect);
    } else {
        let outcomes = match scenario.mode {
            Mode::Event => {
                // A messages trace comes out in time order only in exact mode; the digest
                // is the same either way (tests/exact.rs).
                let exact = scenario.exact || opts.trace == TraceLevel::Messages;
                let mut world = World::new(scenario, pop, exact)?;
                let c = world.run(&mut trace, &mut watch)?;
                summary.events = c.events;
                summary.messages = c.messages;
                summary.virtual_time_ms = c.end as f64 / 1e6;
                summary.ended = c.ended;
                world.outcomes()
            }
            Mode::Lockstep | Mode::Harness => {
                trace = trace.without_poll_digest();
                let mut o = Outcomes::default();
                let c = if scenario.mode == Mode::Lockstep {
                    lockstep::run(scenario, &pop, &mut trace, &mut o, &mut watch)?
                } else {
                    harness::run(scenario, &pop, &mut trace, &mut o, &mut watch)?
                };
                summary.events = c.polls;
                summary.messages = c.answers;
                summary.rounds = Some(c.rounds);
                summary.ended = c.ended;
                o
            }
        };
        bar.finish();
        summary.settle(outcomes, scenario.mode.rounds(), &scenario.expect);
    }
    summary.interrupted = summary.ended == End::Interrupted;
    summary.digest = trace.finish()?;
    summary.wall_ms = (started.elapsed().as_secs_f64() * 1e3).round();
    let mut files = Vec::new();
    if let Some(s) = &staging {
        if opts.trace != TraceLevel::None {
            files.push(s.target().join(opts.format.file_name()));
        }
        if with_nodes {
            files.push(s.target().join(super::ground_truth::FILE));
        }
        write_summary(s.dir(), &summary)?;
        files.push(s.target().join("summary.json"));
    }
    Ok((RunReport { summary, files }, staging))
}

/// Writes `summary.json` into `dir`.
fn write_summary(dir: &Path, summary: &Summary) -> Result<(), SimError> {
    let path = dir.join("summary.json");
    let mut json = serde_json::to_vec_pretty(summary).map_err(std::io::Error::other)?;
    json.push(b'\n');
    write_atomic(&path, &json).map_err(|source| SimError::Output {
        path: path.display().to_string(),
        source,
    })
}

/// Runs `scenario` a second time without outputs and returns its digest.
pub fn rerun_digest(scenario: &Scenario) -> Result<String, SimError> {
    Ok(run(scenario, &RunOptions::default())?.summary.digest)
}

/// The progress bar: the share of honest nodes finalized, virtual time against its budget,
/// and an estimate of the wall time left from the rates of both.
struct Bar {
    bar: ProgressBar,
    started: Instant,
    /// Wall time and finalized share at the first report with a decision.
    first_decision: Option<(Duration, f64)>,
    lockstep: bool,
}

impl Bar {
    fn new(wanted: bool, scenario: &Scenario) -> Bar {
        let bar = if wanted && std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(1000);
            let style = ProgressStyle::with_template("{spinner} {prefix} [{bar:30}] {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style.progress_chars("=> "));
            bar.set_prefix(scenario.name.clone());
            bar
        } else {
            ProgressBar::hidden()
        };
        Bar {
            bar,
            started: Instant::now(),
            first_decision: None,
            lockstep: scenario.mode.rounds(),
        }
    }

    fn update(&mut self, p: Progress) {
        if self.bar.is_hidden() {
            return;
        }
        let elapsed = self.started.elapsed();
        let by_time = p.at as f64 / p.budget.max(1) as f64;
        let finalized = p.done as f64 / p.of.max(1) as f64;
        if p.done > 0 && self.first_decision.is_none() {
            self.first_decision = Some((elapsed, finalized));
        }
        self.bar
            .set_position((by_time.max(finalized).clamp(0.0, 1.0) * 1000.0) as u64);
        let eta = eta(elapsed, by_time, finalized, self.first_decision);
        let clock = if self.lockstep {
            format!("round {} of {}", p.at, p.budget)
        } else {
            format!(
                "virtual {:.2}s of {:.0}s",
                p.at as f64 / 1e9,
                p.budget as f64 / 1e9
            )
        };
        let eta = eta.map_or("eta --".to_string(), |s| format!("eta {}", short(s)));
        self.bar.set_message(format!(
            "finalized {:.1}% · {clock} · {eta}",
            finalized * 100.0
        ));
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// Seconds of wall time left: the sooner of the end of the virtual-time budget at the
/// virtual-time rate so far, and full finality at the finalization rate since the first
/// decision. `None` until a rate is known.
fn eta(
    elapsed: Duration,
    by_time: f64,
    finalized: f64,
    first: Option<(Duration, f64)>,
) -> Option<f64> {
    let t = elapsed.as_secs_f64();
    let by_clock = (by_time > 0.0 && t > 0.0).then(|| (1.0 - by_time).max(0.0) * t / by_time);
    let by_finality = first.and_then(|(t0, f0)| {
        let (dt, df) = (t - t0.as_secs_f64(), finalized - f0);
        (dt > 0.0 && df > 0.0).then(|| (1.0 - finalized).max(0.0) * dt / df)
    });
    match (by_clock, by_finality) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// `3s`, `2m05s`, `1h02m`.
fn short(secs: f64) -> String {
    let s = secs.round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eta_takes_the_sooner_of_both_rates() {
        let s = Duration::from_secs;
        // 10 s for 10 % of the virtual budget: 90 s more by the clock.
        assert_eq!(eta(s(10), 0.1, 0.0, None), Some(90.0));
        // Half the nodes finalized in the 2 s since the first decision: 2 s more.
        assert_eq!(eta(s(10), 0.1, 0.5, Some((s(8), 0.0))), Some(2.0));
        assert_eq!(eta(s(0), 0.0, 0.0, None), None);
        assert_eq!(short(125.0), "2m05s");
        assert_eq!(short(3720.0), "1h02m");
    }
}
