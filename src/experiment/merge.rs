//! `luxsim merge`: joins the outputs of sweep shards into the files of one whole sweep.
//!
//! The shards must come from the same sweep (same scenario contents, `--set`, `--vary`,
//! seeds), be complete (not interrupted), and together hold every run exactly once. The
//! result (`runs.csv`, `points.csv`, `sweep.json`) is byte-identical to what an unsharded
//! sweep writes (the manifest's `scenario` path is taken from shard 1).

use super::records::{runs_header, RunRecord};
use super::sweep::{write_outputs, Manifest, Shard, MANIFEST_FORMAT};
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
}

/// `luxsim merge`: checks and joins shard outputs; returns the exit code.
pub fn merge(args: &MergeArgs) -> u8 {
    match try_merge(args) {
        Ok(code) => code,
        Err(e) => fail(&e),
    }
}

/// One shard directory, read.
struct Part {
    dir: PathBuf,
    manifest: Manifest,
    shard: Shard,
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
    let first = &parts[0].manifest;
    let mut records = Vec::with_capacity(first.runs);
    for part in &parts {
        read_runs(part, &mut records)?;
    }
    let merged = Manifest {
        shard: None,
        first_run: 0,
        end_run: first.runs,
        completed: first.runs,
        partial: false,
        ..first.clone()
    };
    let files = write_outputs(&args.out, &merged, &records, true)?;
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

fn read_part(dir: &Path) -> Result<Part, ExperimentError> {
    let path = dir.join("sweep.json");
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
    if manifest.partial {
        return Err(bad(format!(
            "the sweep was interrupted ({} of {} runs finished): run this shard again",
            manifest.completed,
            manifest.end_run - manifest.first_run.min(manifest.end_run)
        )));
    }
    let shard = manifest.shard.unwrap_or(Shard { index: 1, count: 1 });
    let points = manifest.grid().points();
    let consistent = shard.index >= 1
        && shard.index <= shard.count
        && manifest.seeds >= 1
        && points == Some(manifest.points)
        && (manifest.points as u128 * manifest.seeds as u128) == manifest.runs as u128
        && shard.range(manifest.runs) == (manifest.first_run..manifest.end_run)
        && manifest.completed == manifest.end_run - manifest.first_run
        && manifest
            .first_seed
            .checked_add(manifest.seeds - 1)
            .is_some();
    if !consistent {
        return Err(bad("inconsistent manifest (edited by hand?)".into()));
    }
    Ok(Part {
        dir: dir.to_path_buf(),
        manifest,
        shard,
    })
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
    let count = parts[0].shard.count;
    let missing: Vec<String> = (1..=count)
        .filter(|i| !parts.iter().any(|p| p.shard.index == *i))
        .map(|i| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(ExperimentError::Merge(format!(
            "shards missing: {} (every run must be covered)",
            missing.join(", ")
        )));
    }
    Ok(())
}

/// Reads a shard's `runs.csv`, checking each row's values and seed against its run.
fn read_runs(part: &Part, out: &mut Vec<(usize, RunRecord)>) -> Result<(), ExperimentError> {
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
    let grid = m.grid();
    let mut run = m.first_run;
    for row in reader.records() {
        let row = row.map_err(|e| bad(e.to_string()))?;
        let line = row.position().map_or(0, |p| p.line());
        let at = |message: String| bad(format!("line {line}: {message}"));
        if run >= m.end_run {
            return Err(at(format!(
                "more rows than the {} runs of the shard",
                m.end_run - m.first_run
            )));
        }
        let record = RunRecord::parse(&row, m.vary.len(), &header).map_err(at)?;
        let point = run / m.seeds as usize;
        if record.values != grid.labels(point) || record.seed != m.seed_of(run) {
            return Err(at(format!(
                "expected run {run} ({}, seed {})",
                grid.describe(point),
                m.seed_of(run)
            )));
        }
        out.push((run, record));
        run += 1;
    }
    if run != m.end_run {
        return Err(bad(format!(
            "{} rows, expected the {} runs of the shard",
            run - m.first_run,
            m.end_run - m.first_run
        )));
    }
    Ok(())
}
