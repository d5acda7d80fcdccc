//! Many runs in parallel: a local rayon pool, a progress bar, and SIGINT/SIGTERM.
//!
//! Workers take the runs in task order; results come back in task order whatever the
//! number of threads. The first SIGINT or SIGTERM stops the batch: no new run starts, and
//! the runs under way stop at their next progress report and are left out (a run is kept
//! only complete); a second signal exits at once (`crate::util::signals`).

use super::ExperimentError;
use crate::sim::{self, RunOptions, Scenario, SimError, Summary};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// Installs the signal handlers (once per process; later calls do nothing).
pub fn catch_interrupt() {
    crate::util::signals::install();
}

/// Whether SIGINT or SIGTERM has arrived.
pub fn interrupted() -> bool {
    crate::util::signals::received().is_some()
}

/// One run to make: a scenario and the seed to run it with.
#[derive(Debug, Clone, Copy)]
pub struct Task<'a> {
    /// The scenario (its own seed is replaced by `seed`).
    pub scenario: &'a Scenario,
    /// The seed of this run.
    pub seed: u64,
}

/// What a batch of runs produced, in task order.
#[derive(Debug)]
pub struct Batch {
    /// One summary per task; `None` for a run skipped after Ctrl-C.
    pub summaries: Vec<Option<Summary>>,
    /// Whether Ctrl-C stopped the batch early.
    pub interrupted: bool,
}

/// How many threads and whether to draw a progress bar.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    /// Most worker threads (`None`: one per core).
    pub jobs: Option<usize>,
    /// Draw a progress bar on stderr (only when it is a terminal).
    pub progress: bool,
    /// The bar's label.
    pub label: String,
}

/// Runs every task, at most `jobs` at once; `describe(i)` names task i in an error, and
/// `finished(i, summary)` is called on the worker as soon as task i has finished (the
/// sweep's journal); an error from it stops the batch and is returned.
///
/// A failed run stops the batch; the error returned is the first failure in task order.
pub fn run_all(
    tasks: &[Task<'_>],
    opts: &PoolOptions,
    describe: impl Fn(usize) -> String,
    finished: impl Fn(usize, &Summary) -> Result<(), ExperimentError> + Sync,
) -> Result<Batch, ExperimentError> {
    if opts.jobs == Some(0) {
        return Err(ExperimentError::BadArgument(
            "--jobs must be at least 1".into(),
        ));
    }
    let jobs = opts.jobs.unwrap_or(0);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .thread_name(|i| format!("luxsim-run-{i}"))
        .build()
        .map_err(|e| ExperimentError::Pool {
            jobs,
            message: e.to_string(),
        })?;
    let bar = progress_bar(tasks.len(), opts);
    let failed = AtomicBool::new(false);
    // Workers take runs in task order, so an interrupted batch has finished a prefix
    // (up to the runs under way); each result goes to its task's slot.
    let next = AtomicUsize::new(0);
    let slots: Vec<OnceLock<Result<Summary, SimError>>> =
        tasks.iter().map(|_| OnceLock::new()).collect();
    let announced = AtomicBool::new(false);
    let hook_error: Mutex<Option<ExperimentError>> = Mutex::new(None);
    pool.scope(|scope| {
        for _ in 0..pool.current_num_threads() {
            scope.spawn(|_| loop {
                if interrupted() && !announced.swap(true, Ordering::SeqCst) {
                    bar.suspend(|| {
                        eprintln!(
                            "{}: stopping; the runs that finished are kept",
                            crate::util::signals::name()
                        )
                    });
                }
                if interrupted() || failed.load(Ordering::SeqCst) {
                    return;
                }
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(t) = tasks.get(i) else { return };
                let mut scenario = t.scenario.clone();
                scenario.seed = t.seed;
                let opts = RunOptions {
                    stop_on_signal: true,
                    ..RunOptions::default()
                };
                let result = sim::run(&scenario, &opts).map(|r| r.summary);
                match &result {
                    Err(_) => failed.store(true, Ordering::SeqCst),
                    // Stopped by the signal: not a finished run, so not kept.
                    Ok(s) if s.interrupted => continue,
                    Ok(s) => {
                        if let Err(e) = finished(i, s) {
                            failed.store(true, Ordering::SeqCst);
                            let mut slot = hook_error.lock().unwrap_or_else(|e| e.into_inner());
                            slot.get_or_insert(e);
                            return;
                        }
                    }
                }
                let _ = slots[i].set(result);
                bar.inc(1);
            });
        }
    });
    let results: Vec<Option<Result<Summary, SimError>>> =
        slots.into_iter().map(OnceLock::into_inner).collect();
    bar.finish_and_clear();
    if let Some(e) = hook_error.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e);
    }
    let mut summaries = Vec::with_capacity(results.len());
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Some(Err(source)) => {
                return Err(ExperimentError::Run {
                    point: describe(i),
                    seed: tasks[i].seed,
                    source,
                })
            }
            Some(Ok(s)) => summaries.push(Some(s)),
            None => summaries.push(None),
        }
    }
    let skipped = summaries.iter().any(Option::is_none);
    Ok(Batch {
        summaries,
        interrupted: skipped || interrupted(),
    })
}

fn progress_bar(len: usize, opts: &PoolOptions) -> ProgressBar {
    if !opts.progress || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64);
    let style = ProgressStyle::with_template(
        "{spinner} {msg} [{bar:40}] {pos}/{len} runs, {elapsed} elapsed, eta {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style.progress_chars("=> "));
    bar.set_message(opts.label.clone());
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}
