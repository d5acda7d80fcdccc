//! `luxsim merge`: joins the outputs of sweep shards into the files of one whole sweep.
//!
//! The shards must come from the same sweep (same scenario contents, `--set`, `--vary`,
//! seeds) and split it the same way; each slice is given at most once. Every shard must be
//! there and finished, or the error names the shards missing and the ones short of runs;
//! with `--allow-partial` the runs present are merged and the manifest says what lacks. A
//! shard directory without `sweep.json` but with a journal (a task killed hard) counts as a
//! shard with the runs its journal holds. A whole merge (`runs.csv`, `points.csv`,
//! `sweep.json`) is byte-identical to what an unsharded sweep writes (the manifest's
//! `scenario` path is taken from the first shard present).

use super::journal;
use super::records::{runs_header, RunRecord};
use super::shard::Shard;
use super::sweep::{write_outputs, Manifest, MANIFEST_FORMAT};
use super::{fail, read, ExperimentError};
use crate::util::console::{say, EXIT_OK};
use std::path::{Path, PathBuf};

/// The arguments of `luxsim merge`.
#[derive(Debug, Clone, Default)]
pub struct MergeArgs {
    /// The shard directories (each with `sweep.json` and `runs.csv`), in any order.
    pub dirs: Vec<PathBuf>,
    /// Where to write the merged outputs.
    pub out: PathBuf,
    /// Nothing on stdout.
    pub quiet: bool,
    /// Merge the runs present when shards or runs are missing (the output says it is
    /// partial) instead of refusing.
    pub allow_partial: bool,
}

/// `luxsim merge`: checks and joins shard outputs; returns the exit code.
pub fn merge(args: &MergeArgs) -> u8 {
    match try_merge(args) {
        Ok(code) => code,
        Err(e) => fail(&e),
    }
}

/// One shard directory, read: its manifest, its slice and the runs it holds.
struct Part {
    dir: PathBuf,
    manifest: Manifest,
    shard: Shard,
    rows: Vec<(usize, RunRecord)>,
}

impl Part {
    fn size(&self) -> usize {
        self.manifest.end_run - self.manifest.first_run
    }
}

fn try_merge(args: &MergeArgs) -> Result<u8, ExperimentError> {
    if args.dirs.is_empty() {
        return Err(ExperimentError::Merge("no shard directories given".into()));
    }
    let mut parts = args
        .dirs
        .iter()
        .map(|d| read_part(d))
        .collect::<Result<Vec<_>, _>>()?;
    check_parts(&mut parts)?;
    let lacking = lacking(&parts);
    if !lacking.is_empty() && !args.allow_partial {
        return Err(ExperimentError::Merge(format!(
            "{}: rerun those shards into their directories (they resume where they stopped), \
             or pass --allow-partial to merge the runs present",
            lacking.join("; ")
        )));
    }
    let first = &parts[0].manifest;
    let records: Vec<(usize, RunRecord)> =
        parts.iter().flat_map(|p| p.rows.iter().cloned()).collect();
    let merged = Manifest {
        shard: None,
        first_run: 0,
        end_run: first.runs,
        completed: records.len(),
        partial: !lacking.is_empty(),
        missing: lacking.clone(),
        ..first.clone()
    };
    let files = write_outputs(&args.out, &merged, &records, true, None)?;
    if !lacking.is_empty() {
        eprintln!(
            "warning: incomplete merge, {} of {} runs ({}); {} says \"partial\": true",
            records.len(),
            first.runs,
            lacking.join("; "),
            args.out.join("sweep.json").display()
        );
    }
    if !args.quiet {
        say(format_args!(
            "merged {} shards, {} runs",
            parts.len(),
            records.len()
        ));
        for f in files {
            say(format_args!("  wrote {}", f.display()));
        }
    }
    Ok(EXIT_OK)
}

/// What the parts (sorted, checked) lack: `shard 3 of 4 missing`, `shard 2 of 4 (DIR) has 5
/// of 8 runs`.
fn lacking(parts: &[Part]) -> Vec<String> {
    let count = parts[0].shard.count;
    let mut out = Vec::new();
    for i in 1..=count {
        match parts.iter().find(|p| p.shard.index == i) {
            None => out.push(format!("shard {i} of {count} missing")),
            Some(p) if p.rows.len() < p.size() => out.push(format!(
                "shard {i} of {count} ({}) has {} of {} runs",
                p.dir.display(),
                p.rows.len(),
                p.size()
            )),
            Some(_) => {}
        }
    }
    out
}

fn read_part(dir: &Path) -> Result<Part, ExperimentError> {
    let path = dir.join("sweep.json");
    if !path.exists() {
        // A task killed hard leaves only its journal: a shard with the runs it holds.
        if let Some(progress) = journal::read(dir)? {
            let shard = progress
                .manifest
                .shard
                .unwrap_or(Shard { index: 1, count: 1 });
            return Ok(Part {
                dir: dir.to_path_buf(),
                manifest: progress.manifest,
                shard,
                rows: progress.rows.into_iter().collect(),
            });
        }
    }
    let bad = |message: String| ExperimentError::BadFile {
        path: path.display().to_string(),
        message,
    };
    let manifest: Manifest = serde_json::from_slice(&read(&path)?)
        .map_err(|e| bad(format!("not a sweep manifest: {e}")))?;
    if manifest.format != MANIFEST_FORMAT {
        return Err(bad(format!(
            "format {:?}, this luxsim reads {MANIFEST_FORMAT:?}",
            manifest.format
        )));
    }
    let shard = manifest.shard.unwrap_or(Shard { index: 1, count: 1 });
    let points = manifest.grid().points();
    let size = manifest.end_run.saturating_sub(manifest.first_run);
    let consistent = shard.index >= 1
        && shard.index <= shard.count
        && manifest.seeds >= 1
        && points == Some(manifest.points)
        && (manifest.points as u128 * manifest.seeds as u128) == manifest.runs as u128
        && shard.range(manifest.runs) == (manifest.first_run..manifest.end_run)
        && (manifest.completed == size || (manifest.partial && manifest.completed < size))
        && manifest
            .first_seed
            .checked_add(manifest.seeds - 1)
            .is_some();
    if !consistent {
        return Err(bad("inconsistent manifest (edited by hand?)".into()));
    }
    let mut part = Part {
        dir: dir.to_path_buf(),
        manifest,
        shard,
        rows: Vec::new(),
    };
    part.rows = read_runs(&part)?;
    Ok(part)
}
/// Same sweep, same split, every slice exactly once; sorts `parts` by slice.
fn check_parts(parts: &mut [Part]) -> Result<(), ExperimentError> {
    let name = |p: &Part| {
        format!(
            "{} (shard {}/{})",
            p.dir.display(),
            p.shard.index,
            p.shard.count
        )
    };
    let (head, rest) = parts.split_first().expect("at least one part");
    for p in rest {
        if let Some(what) = head.manifest.differs_from(&p.manifest) {
            return Err(ExperimentError::Merge(format!(
                "{} and {} are not from the same sweep: their {what} differ",
                head.dir.display(),
                p.dir.display()
            )));
        }
        if p.shard.count != head.shard.count {
            return Err(ExperimentError::Merge(format!(
                "{} and {} split the sweep differently",
                name(head),
                name(p)
            )));
        }
    }
    parts.sort_by_key(|p| p.shard.index);
    for w in parts.windows(2) {
        if w[0].shard.index == w[1].shard.index {
            return Err(ExperimentError::Merge(format!(
                "{} and {} are the same shard: each run must be given once",
                w[0].dir.display(),
                w[1].dir.display()
            )));
        }
    }
    Ok(())
}

/// Reads a shard's `runs.csv`: each row must be a run of the shard's slice, in run order;
/// a finished shard has every run, an interrupted one those that finished.
fn read_runs(part: &Part) -> Result<Vec<(usize, RunRecord)>, ExperimentError> {
    let path = part.dir.join("runs.csv");
    let bad = |message: String| ExperimentError::BadFile {
        path: path.display().to_string(),
        message,
    };
    let m = &part.manifest;
    let header = runs_header(&m.keys(), m.mode);
    let bytes = read(&path)?;
    let mut reader = csv::Reader::from_reader(&bytes[..]);
    let found: Vec<String> = reader
        .headers()
        .map_err(|e| bad(e.to_string()))?
        .iter()
        .map(String::from)
        .collect();
    if found != header {
        return Err(bad(format!(
            "header is {}, expected {}",
            found.join(","),
            header.join(",")
        )));
    }
    let mut out = Vec::new();
    let mut next = m.first_run;
    for row in reader.records() {
        let row = row.map_err(|e| bad(e.to_string()))?;
        let line = row.position().map_or(0, |p| p.line());
        let at = |message: String| bad(format!("line {line}: {message}"));
        if next >= m.end_run {
            return Err(at(format!(
                "more rows than the {} runs of the shard",
                m.end_run - m.first_run
            )));
        }
        let record = RunRecord::parse(&row, m.vary.len(), &header).map_err(at)?;
        let run = match m.run_of(&record) {
            Some(r) if m.partial && r > next && r < m.end_run => r,
            _ => next,
        };
        m.check_row(run, &record).map_err(at)?;
        out.push((run, record));
        next = run + 1;
    }
    if out.len() != m.completed {
        return Err(bad(format!(
            "{} rows, expected the {} runs sweep.json says are done",
            out.len(),
            m.completed
        )));
    }
    Ok(out)
}
