//! `luxsim sweep`: one scenario over a grid of values and seeds, in parallel.
//!
//! Run r of a sweep is grid point `r / N` with seed `first_seed + r % N` (N = `--seeds`,
//! `first_seed` = the scenario's seed). A shard `I/M` runs the I-th of M contiguous slices
//! of that list. Outputs: `runs.csv`, `points.csv` (not for shards: `merge` writes it) and
//! the manifest `sweep.json`, written last.

use super::grid::{Axis, Grid};
use super::journal::{Journal, HOLD_VAR, JOURNAL};
use super::pool::{self, PoolOptions, Task};
use super::records::{points_csv, points_header, runs_csv, runs_header, RunRecord};
use super::shard::Shard;
use super::{fail, read, to_json, write, ExperimentError};
use crate::sim::scenario::Mode;
use crate::sim::Scenario;
use crate::util::atomic::Staging;
use crate::util::console::{say, EXIT_OK};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The `format` of `sweep.json` files this version writes and reads.
pub const MANIFEST_FORMAT: &str = "luxsim-sweep/1";

/// Most runs one sweep may have.
const MAX_RUNS: usize = 10_000_000;

/// The arguments of `luxsim sweep`.
#[derive(Debug, Clone, Default)]
pub struct SweepArgs {
    /// The scenario file.
    pub scenario: PathBuf,
    /// `key.path=value` overrides applied to every point (before the varied values).
    pub set: Vec<String>,
    /// `KEY=VALUES` axes, the first outermost.
    pub vary: Vec<String>,
    /// Seeds per point.
    pub seeds: u64,
    /// Most worker threads (default: one per core).
    pub jobs: Option<usize>,
    /// `I/M`: run only the I-th of M slices.
    pub shard: Option<String>,
    /// Output directory (default `results/<name>-sweep/`, shards `.../shard-I-of-M/`).
    pub out: Option<PathBuf>,
    /// No progress bar and nothing on stdout.
    pub quiet: bool,
    /// Install the SIGINT/SIGTERM handlers that stop the sweep cleanly (the CLI does; a
    /// library caller, such as the Python package, keeps its own).
    pub signals: bool,
}

/// `sweep.json`: what a sweep (or shard) is, so that `merge` can check and join shards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`MANIFEST_FORMAT`].
    pub format: String,
    /// The scenario file as given on the command line.
    pub scenario: String,
    /// SHA-256 of the scenario file's bytes.
    pub scenario_sha256: String,
    /// The `--set` overrides.
    pub set: Vec<String>,
    /// The axes, the first outermost.
    pub vary: Vec<Axis>,
    /// The mode of every point (finality in ms for event, rounds for lockstep).
    pub mode: Mode,
    /// The first seed of every point.
    pub first_seed: u64,
    /// Seeds per point.
    pub seeds: u64,
    /// Grid points.
    pub points: usize,
    /// Runs of the whole sweep (points x seeds).
    pub runs: usize,
    /// The slice this directory holds; `null` for a whole sweep.
    pub shard: Option<Shard>,
    /// First run (0-based) of the slice.
    pub first_run: usize,
    /// One past the last run of the slice.
    pub end_run: usize,
    /// Runs finished and written to `runs.csv`.
    pub completed: usize,
    /// Whether some runs of the slice are not in `runs.csv`: the sweep was stopped (Ctrl-C,
    /// SIGTERM) before every run finished, or `merge --allow-partial` lacked some.
    pub partial: bool,
    /// What `merge --allow-partial` lacked, e.g. `shard 3 of 4 missing` (absent otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

impl Manifest {
    /// The grid of the sweep.
    pub fn grid(&self) -> Grid {
        Grid {
            axes: self.vary.clone(),
        }
    }

    /// The varied keys, in order.
    pub fn keys(&self) -> Vec<String> {
        self.vary.iter().map(|a| a.key.clone()).collect()
    }

    /// The seed of run `r`.
    pub fn seed_of(&self, r: usize) -> u64 {
        self.first_seed + (r as u64 % self.seeds)
    }

    /// Why `other` is not a slice of the same sweep (the scenario path may differ).
    pub fn differs_from(&self, other: &Manifest) -> Option<&'static str> {
        let checks = [
            (self.format != other.format, "format"),
            (
                self.scenario_sha256 != other.scenario_sha256,
                "scenario file contents",
            ),
            (self.set != other.set, "--set overrides"),
            (self.vary != other.vary, "--vary axes"),
            (self.mode != other.mode, "mode"),
            (self.first_seed != other.first_seed, "first seed"),
            (self.seeds != other.seeds, "--seeds"),
            (self.points != other.points, "points"),
            (self.runs != other.runs, "runs"),
        ];
        checks.into_iter().find(|c| c.0).map(|c| c.1)
    }

    /// Why `other` is not the same slice of the same sweep (for resuming a directory).
    pub fn slice_differs_from(&self, other: &Manifest) -> Option<&'static str> {
        self.differs_from(other).or_else(|| {
            let slice = (self.shard, self.first_run, self.end_run);
            (slice != (other.shard, other.first_run, other.end_run)).then_some("--shard")
        })
    }

    /// Checks that `record` is run `r` of the sweep (its point's values and its seed).
    pub fn check_row(&self, r: usize, record: &RunRecord) -> Result<(), String> {
        let point = r / self.seeds.max(1) as usize;
        let grid = self.grid();
        if r >= self.runs || record.values != grid.labels(point) || record.seed != self.seed_of(r) {
            return Err(format!(
                "expected run {r} ({}, seed {})",
                grid.describe(point),
                self.seed_of(r)
            ));
        }
        Ok(())
    }

    /// The run a record is (from its values and seed), if it is one of the sweep.
    pub fn run_of(&self, record: &RunRecord) -> Option<usize> {
        if record.values.len() != self.vary.len() {
            return None;
        }
        let mut point = 0usize;
        for (axis, value) in self.vary.iter().zip(&record.values) {
            let i = axis.values.iter().position(|v| v == value)?;
            point = point.checked_mul(axis.values.len())?.checked_add(i)?;
        }
        let offset = record.seed.checked_sub(self.first_seed)?;
        (offset < self.seeds)
            .then(|| point * self.seeds as usize + offset as usize)
            .filter(|&r| r < self.runs)
    }
}

/// `luxsim sweep`: runs the grid and writes the outputs; returns the exit code.
pub fn sweep(args: &SweepArgs) -> u8 {
    match run_sweep(args) {
        Ok(code) => code,
        Err(e) => fail(&e),
    }
}

/// Runs the sweep and writes its outputs; returns the exit code, or the error that
/// [`sweep`] prints.
pub fn run_sweep(args: &SweepArgs) -> Result<u8, ExperimentError> {
    let started = Instant::now();
    let axes = args
        .vary
        .iter()
        .map(|a| Axis::parse(a))
        .collect::<Result<Vec<_>, _>>()?;
    let grid = Grid::new(axes)?;
    let shard = args
        .shard
        .as_deref()
        .map(|a| Shard::resolve(a, |k| std::env::var(k).ok()))
        .transpose()?;
    if args.seeds == 0 {
        return Err(ExperimentError::BadArgument(
            "--seeds must be at least 1".into(),
        ));
    }
    if args.jobs == Some(0) {
        return Err(ExperimentError::BadArgument(
            "--jobs must be at least 1".into(),
        ));
    }
    let points = grid.points().unwrap_or(usize::MAX);
    let runs = usize::try_from(args.seeds)
        .ok()
        .and_then(|n| points.checked_mul(n))
        .filter(|&r| r <= MAX_RUNS)
        .ok_or_else(|| {
            ExperimentError::BadArgument(format!(
                "the sweep is too large: at most {MAX_RUNS} runs (points x seeds)"
            ))
        })?;
    let bytes = read(&args.scenario)?;
    let origin = args.scenario.display().to_string();
    let text = String::from_utf8(bytes.clone()).map_err(|_| ExperimentError::BadFile {
        path: origin.clone(),
        message: "not UTF-8 text".into(),
    })?;
    let load = |p: usize| -> Result<Scenario, ExperimentError> {
        let mut set = args.set.clone();
        set.extend(grid.overrides(p));
        Scenario::parse(&text, &origin, &set).map_err(|source| match grid.axes.is_empty() {
            true => ExperimentError::Scenario(source),
            false => ExperimentError::Point {
                point: grid.describe(p),
                source,
            },
        })
    };
    // Point 0 fixes the name, the seeds and the mode of the whole sweep.
    let reference = load(0)?;
    let first_seed = reference.seed;
    if first_seed.checked_add(args.seeds - 1).is_none() {
        return Err(ExperimentError::BadArgument(format!(
            "seeds {first_seed}..{first_seed}+{} overflow",
            args.seeds
        )));
    }
    let slice = shard.map_or(0..runs, |s| s.range(runs));
    let seeds = args.seeds as usize;
    let mut scenarios = Vec::new();
    let first_point = slice.start / seeds;
    for p in first_point..slice.end.div_ceil(seeds) {
        let s = if p == 0 { reference.clone() } else { load(p)? };
        if s.mode != reference.mode {
            return Err(ExperimentError::BadArgument(format!(
                "every point of a sweep must use one mode: {} runs in {} mode, {} in {} mode",
                grid.describe(0),
                reference.mode.name(),
                grid.describe(p),
                s.mode.name()
            )));
        }
        scenarios.push(s);
    }
    let mut manifest = Manifest {
        format: MANIFEST_FORMAT.into(),
        scenario: origin.clone(),
        scenario_sha256: hex(&Sha256::digest(&bytes)),
        set: args.set.clone(),
        vary: grid.axes.clone(),
        mode: reference.mode,
        first_seed,
        seeds: args.seeds,
        points,
        runs,
        shard,
        first_run: slice.start,
        end_run: slice.end,
        completed: 0,
        partial: false,
        missing: Vec::new(),
    };
    let out = args.out.clone().unwrap_or_else(|| {
        let dir = PathBuf::from("results").join(format!("{}-sweep", reference.name));
        match shard {
            Some(s) => dir.join(format!("shard-{}-of-{}", s.index, s.count)),
            None => dir,
        }
    });
    if !args.quiet {
        let part = shard.map_or(String::new(), |s| {
            format!(
                " (shard {}/{}: runs {}..{})",
                s.index, s.count, slice.start, slice.end
            )
        });
        eprintln!(
            "sweep {}: {points} points x {} seeds = {runs} runs{part}",
            reference.name, args.seeds
        );
    }
    // Never start a journal in a directory of other files (publishing would refuse it).
    crate::util::atomic::check_replaceable(&out).map_err(|source| ExperimentError::Write {
        path: out.display().to_string(),
        source,
    })?;
    // Runs a killed or stopped attempt finished are in the journal: they are not run again.
    let (journal, mut done) = Journal::open(&out, &manifest)?;
    if !done.is_empty() {
        eprintln!(
            "resuming: {} of {} runs already done in {}",
            done.len(),
            slice.len(),
            out.display()
        );
    }
    let todo: Vec<usize> = slice.clone().filter(|r| !done.contains_key(r)).collect();
    let tasks: Vec<Task> = todo
        .iter()
        .map(|&r| Task {
            scenario: &scenarios[r / seeds - first_point],
            seed: manifest.seed_of(r),
        })
        .collect();
    if args.signals {
        pool::catch_interrupt();
    }
    let opts = PoolOptions {
        jobs: args.jobs,
        progress: !args.quiet,
        label: reference.name.clone(),
    };
    let hold = hold_after(done.is_empty(), shard);
    let journaled = std::sync::atomic::AtomicUsize::new(0);
    let record = |i: usize, s: &crate::sim::Summary| {
        RunRecord::from_summary(grid.labels(todo[i] / seeds), s)
    };
    let batch = pool::run_all(
        &tasks,
        &opts,
        |i| grid.describe(todo[i] / seeds),
        |i, s| {
            journal.append(todo[i], &record(i, s))?;
            let n = journaled.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            if hold.is_some_and(|h| n >= h) {
                while !pool::interrupted() {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
            }
            Ok(())
        },
    )?;
    for (i, s) in batch.summaries.iter().enumerate() {
        if let Some(s) = s {
            done.insert(todo[i], record(i, s));
        }
    }
    let records: Vec<(usize, RunRecord)> = done.into_iter().collect();
    manifest.completed = records.len();
    manifest.partial = batch.interrupted;
    // A stopped sweep keeps its journal beside its partial outputs, to be resumed.
    let keep = batch.interrupted.then(|| journal.path());
    let files = write_outputs(&out, &manifest, &records, shard.is_none(), keep)?;
    if batch.interrupted {
        eprintln!(
            "interrupted by {}: kept the {} of {} runs that finished in {} (sweep.json says \"partial\": true; \
             rerun the same command to resume)",
            crate::util::signals::name(),
            records.len(),
            slice.len(),
            out.display()
        );
        return Ok(crate::util::signals::exit_code());
    }
    if !args.quiet {
        say(format_args!(
            "{} runs in {:.1}s",
            tasks.len(),
            started.elapsed().as_secs_f64()
        ));
        for f in files {
            say(format_args!("  wrote {}", f.display()));
        }
    }
    Ok(EXIT_OK)
}

/// The test hook of [`HOLD_VAR`] (`N`, or `N@I` for shard I only): hold after N runs, if
/// the journal held none.
fn hold_after(fresh: bool, shard: Option<Shard>) -> Option<usize> {
    let value = std::env::var(HOLD_VAR).ok()?;
    let (n, only) = match value.split_once('@') {
        Some((n, i)) => (n, Some(i.trim().parse::<usize>().ok()?)),
        None => (value.as_str(), None),
    };
    let n = n.trim().parse::<usize>().ok()?;
    let ours = only.is_none_or(|i| shard.is_some_and(|s| s.index == i));
    (fresh && ours && n > 0).then_some(n)
}

/// Publishes `runs.csv`, `points.csv` (when `points`) and `sweep.json` as the set of files
/// of directory `dir` (staged, then put in place at once: no kill mixes two sweeps' files).
pub(super) fn write_outputs(
    dir: &Path,
    manifest: &Manifest,
    records: &[(usize, RunRecord)],
    points: bool,
    journal: Option<&Path>,
) -> Result<Vec<PathBuf>, ExperimentError> {
    let failed = |source| ExperimentError::Write {
        path: dir.display().to_string(),
        source,
    };
    crate::util::signals::while_writing(|| {
        let staging = Staging::begin(dir).map_err(failed)?;
        let keys = manifest.keys();
        let rows: Vec<RunRecord> = records.iter().map(|(_, r)| r.clone()).collect();
        let mut names = vec!["runs.csv"];
        let runs = runs_csv(&runs_header(&keys, manifest.mode), &rows);
        write(&staging.dir().join("runs.csv"), &runs)?;
        if points {
            let header = points_header(&keys, manifest.mode);
            let bytes = points_csv(&header, records, manifest.seeds);
            write(&staging.dir().join("points.csv"), &bytes)?;
            names.push("points.csv");
        }
        if let Some(journal) = journal {
            write(&staging.dir().join(JOURNAL), &read(journal)?)?;
        }
        write(&staging.dir().join("sweep.json"), &to_json(manifest))?;
        names.push("sweep.json");
        staging.publish().map_err(failed)?;
        Ok(names.into_iter().map(|n| dir.join(n)).collect())
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
