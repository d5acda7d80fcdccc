//! One run of a scenario: draw the population, drive the mode, write the outputs.

use super::atomic::write_atomic;
use super::lockstep;
use super::population::Population;
use super::scenario::{Mode, Scenario};
use super::summary::{ByzantineSummary, Outcomes, Summary};
use super::trace::{Trace, TraceFormat, TraceLevel};
use super::world::World;
use super::SimError;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::time::Instant;

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
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            out_dir: None,
            trace: TraceLevel::None,
            format: TraceFormat::Csv,
            progress: false,
        }
    }
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The summary (also written as `summary.json`).
    pub summary: Summary,
    /// The files written.
    pub files: Vec<PathBuf>,
}

/// Runs `scenario` once and writes its outputs atomically.
pub fn run(scenario: &Scenario, opts: &RunOptions) -> Result<RunReport, SimError> {
    let started = Instant::now();
    let pop = Population::draw(scenario)?;
    let out_dir = opts.out_dir.as_deref();
    let output_err = |path: &std::path::Path| {
        let path = path.display().to_string();
        move |source| SimError::Output { path, source }
    };
    if let Some(dir) = out_dir {
        std::fs::create_dir_all(dir).map_err(output_err(dir))?;
    }
    let mut trace = Trace::create(out_dir, opts.trace, opts.format)?;
    let bar = if opts.progress {
        let bar = ProgressBar::new(1000);
        let style = ProgressStyle::with_template(
            "{spinner} {msg} [{bar:40}] {percent}% {elapsed} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style.progress_chars("=> "));
        bar.set_message(scenario.name.clone());
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut progress = |share: f64| bar.set_position((share.clamp(0.0, 1.0) * 1000.0) as u64);
    let byzantine = ByzantineSummary {
        count: pop.byzantine_count(),
        strategy: scenario
            .byzantine
            .as_ref()
            .map(|b| b.strategy.name().to_string()),
        stake_share: pop.byzantine_stake + 0.0,
    };
    let mut summary = Summary::start(scenario, byzantine);
    if scenario.engine.is_ledger() {
        // Ledgers run in event mode only (validation rejects lockstep).
        let r = super::ledger::run(scenario, pop, &mut trace, &mut progress)?;
        summary.events = r.counters.events;
        summary.messages = r.counters.messages;
        summary.virtual_time_ms = r.counters.end as f64 / 1e6;
        bar.finish_and_clear();
        summary.settle_ledger(r.summary, r.honest, r.polls, &scenario.expect);
        return finish(summary, trace, started, out_dir, opts);
    }
    let outcomes = match scenario.mode {
        Mode::Event => {
            let mut world = World::new(scenario, pop)?;
            let c = world.run(&mut trace, &mut progress)?;
            summary.events = c.events;
            summary.messages = c.messages;
            summary.virtual_time_ms = c.end as f64 / 1e6;
            world.outcomes()
        }
        Mode::Lockstep => {
            trace = trace.without_poll_digest();
            let mut o = Outcomes::default();
            let c = lockstep::run(scenario, &pop, &mut trace, &mut o, &mut progress)?;
            summary.events = c.polls;
            summary.messages = c.answers;
            summary.rounds = Some(c.rounds);
            o
        }
    };
    bar.finish_and_clear();
    summary.settle(outcomes, scenario.mode == Mode::Lockstep, &scenario.expect);
    finish(summary, trace, started, out_dir, opts)
}

/// Closes the trace, stamps digest and wall time, writes `summary.json`.
fn finish(
    mut summary: Summary,
    trace: Trace,
    started: Instant,
    out_dir: Option<&std::path::Path>,
    opts: &RunOptions,
) -> Result<RunReport, SimError> {
    let output_err = |path: &std::path::Path| {
        let path = path.display().to_string();
        move |source| SimError::Output { path, source }
    };
    summary.digest = trace.finish()?;
    summary.wall_ms = (started.elapsed().as_secs_f64() * 1e3).round();
    let mut files = Vec::new();
    if let Some(dir) = out_dir {
        if opts.trace != TraceLevel::None {
            files.push(dir.join(opts.format.file_name()));
        }
        let path = dir.join("summary.json");
        let mut json = serde_json::to_vec_pretty(&summary).map_err(std::io::Error::other)?;
        json.push(b'\n');
        write_atomic(&path, &json).map_err(output_err(&path))?;
        files.push(path);
    }
    Ok(RunReport { summary, files })
}

/// Runs `scenario` a second time without outputs and returns both digests.
pub fn rerun_digest(scenario: &Scenario) -> Result<String, SimError> {
    Ok(run(scenario, &RunOptions::default())?.summary.digest)
}
