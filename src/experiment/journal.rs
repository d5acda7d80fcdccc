//! The journal of an unfinished sweep: `runs.journal.jsonl` in its output directory, so
//! that a sweep (or shard) killed, preempted or requeued continues where it stopped.
//!
//! The first line is a header: the journal format, the luxsim version and the sweep's
//! manifest (what the sweep is: scenario digest, `--set`, grid, seeds, shard). Each
//! finished run then appends one line `{"run":R,"row":[...]}` (R the run number, `row` the
//! cells of its `runs.csv` row), written in one `write` and flushed to disk (`fsync`)
//! before the next. A line is trusted only whole: a last line without its newline, or one
//! that does not parse (a kill in the middle of a write), is discarded and cut off; a
//! damaged line before the last is an error. Each row must be the run its number says.
//!
//! The journal lives while the slice is unfinished: an interrupted sweep publishes it
//! with its partial outputs, a finished one publishes its outputs without it. A journal of
//! another sweep (or another luxsim version) is never reused: the directory is refused.
//! The file is locked while a sweep writes it, so two processes never share one.

use super::records::{runs_header, RunRecord};
use super::sweep::Manifest;
use super::ExperimentError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The journal's file name in the output directory.
pub const JOURNAL: &str = "runs.journal.jsonl";
/// The `journal` field of the header line this version writes and reads.
pub const JOURNAL_FORMAT: &str = "luxsim-journal/1";

/// The first line.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    journal: String,
    luxsim: String,
    sweep: Manifest,
}

/// A run's line.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    run: usize,
    row: Vec<String>,
}

/// What a journal holds: its sweep and the finished runs, by run number.
#[derive(Debug)]
pub struct Progress {
    /// The sweep the journal belongs to.
    pub manifest: Manifest,
    /// The finished runs.
    pub rows: BTreeMap<usize, RunRecord>,
    /// Whether a torn last line was discarded.
    pub torn: bool,
    /// Bytes of the whole lines kept.
    valid: u64,
}

/// An open, locked journal that finished runs are appended to.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: Mutex<File>,
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> ExperimentError + '_ {
    move |source| ExperimentError::Write {
        path: path.display().to_string(),
        source,
    }
}

impl Journal {
    /// Opens the journal of `manifest`'s slice in `dir`: continues the one there (returning
    /// the runs it holds) or starts a new one. A journal of another sweep is an error.
    pub fn open(
        dir: &Path,
        manifest: &Manifest,
    ) -> Result<(Journal, BTreeMap<usize, RunRecord>), ExperimentError> {
        let path = dir.join(JOURNAL);
        let failed = io_error(&path);
        if !path.exists() {
            std::fs::create_dir_all(dir).map_err(io_error(dir))?;
            let header = Header {
                journal: JOURNAL_FORMAT.into(),
                luxsim: env!("CARGO_PKG_VERSION").into(),
                sweep: manifest.clone(),
            };
            let mut line = serde_json::to_vec(&header).expect("plain data serializes");
            line.push(b'\n');
            super::write(&path, &line)?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&path)
            .map_err(&failed)?;
        if let Err(e) = file.try_lock() {
            return Err(match e {
                std::fs::TryLockError::WouldBlock => ExperimentError::Busy {
                    path: path.display().to_string(),
                },
                std::fs::TryLockError::Error(source) => failed(source),
            });
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(&failed)?;
        let progress = parse(&path, &bytes)?;
        if let Some(what) = progress.manifest.slice_differs_from(manifest) {
            return Err(ExperimentError::OtherSweep {
                dir: dir.display().to_string(),
                what: what.to_string(),
            });
        }
        if progress.torn {
            eprintln!(
                "{}: discarded a torn last line (a run cut off by a kill; it runs again)",
                path.display()
            );
            file.set_len(progress.valid).map_err(&failed)?;
            file.sync_all().map_err(&failed)?;
        }
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok((
            Journal {
                path: path.clone(),
                file: Mutex::new(file),
            },
            progress.rows,
        ))
    }

    /// Appends run `run` and flushes it to disk before returning.
    pub fn append(&self, run: usize, record: &RunRecord) -> Result<(), ExperimentError> {
        let line = Line {
            run,
            row: record.fields(),
        };
        let mut bytes = serde_json::to_vec(&line).expect("plain data serializes");
        bytes.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let failed = io_error(&self.path);
        file.write_all(&bytes).map_err(&failed)?;
        file.sync_data().map_err(&failed)
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Reads the journal in `dir` without locking or changing it (for `merge`); `None` when
/// there is none.
pub fn read(dir: &Path) -> Result<Option<Progress>, ExperimentError> {
    let path = dir.join(JOURNAL);
    if !path.exists() {
        return Ok(None);
    }
    parse(&path, &super::read(&path)?).map(Some)
}

/// Parses a journal's bytes: the header, then whole lines (see the module's docs).
fn parse(path: &Path, bytes: &[u8]) -> Result<Progress, ExperimentError> {
    let bad = |message: String| ExperimentError::BadFile {
        path: path.display().to_string(),
        message,
    };
    let mut lines = bytes.split_inclusive(|&b| b == b'\n');
    let first = lines.next().unwrap_or_default();
    let header: Header = first
        .strip_suffix(b"\n")
        .and_then(|l| serde_json::from_slice(l).ok())
        .ok_or_else(|| bad("not a luxsim sweep journal (bad first line)".into()))?;
    if header.journal != JOURNAL_FORMAT {
        return Err(bad(format!(
            "journal format {:?}, this luxsim reads {JOURNAL_FORMAT:?}",
            header.journal
        )));
    }
    let version = env!("CARGO_PKG_VERSION");
    if header.luxsim != version {
        return Err(bad(format!(
            "written by luxsim {}, this is {version}: its runs cannot be reused; \
             remove the directory to start over",
            header.luxsim
        )));
    }
    let m = header.sweep;
    let runs_header = runs_header(&m.keys(), m.mode);
    let mut rows = BTreeMap::new();
    let mut valid = first.len() as u64;
    let mut torn = false;
    let all: Vec<&[u8]> = lines.collect();
    for (i, raw) in all.iter().enumerate() {
        let number = i + 2;
        let row = raw
            .strip_suffix(b"\n")
            .ok_or_else(|| "no newline at its end".to_string())
            .and_then(|l| serde_json::from_slice::<Line>(l).map_err(|e| e.to_string()));
        let line = match row {
            Ok(line) => line,
            Err(_) if i + 1 == all.len() => {
                torn = true;
                break;
            }
            Err(e) => return Err(bad(format!("line {number} is damaged ({e})"))),
        };
        let at = |message: String| bad(format!("line {number}: {message}"));
        let record = csv::StringRecord::from(line.row);
        let record = RunRecord::parse(&record, m.vary.len(), &runs_header).map_err(at)?;
        if !(m.first_run..m.end_run).contains(&line.run) {
            return Err(at(format!("run {} is not in this slice", line.run)));
        }
        m.check_row(line.run, &record).map_err(at)?;
        if rows.insert(line.run, record).is_some() {
            return Err(at(format!("run {} appears twice", line.run)));
        }
        valid += raw.len() as u64;
    }
    Ok(Progress {
        manifest: m,
        rows,
        torn,
        valid,
    })
}

/// For tests: the environment variable that holds a sweep (each worker stops after its
/// run) once this process has journaled N runs, until a signal stops it; `N@I` holds only
/// shard I. Only when the journal held no runs at the start, so a resumed sweep goes on. `scripts/slurm-test` uses it to
/// stop a task in the middle for certain.
pub const HOLD_VAR: &str = "LUXSIM_TEST_HOLD_AFTER_RUNS";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::grid::Axis;
    use crate::sim::scenario::Mode;

    fn manifest() -> Manifest {
        Manifest {
            format: super::super::sweep::MANIFEST_FORMAT.into(),
            scenario: "s.toml".into(),
            scenario_sha256: "ab".into(),
            set: vec![],
            vary: vec![Axis {
                key: "params.k".into(),
                values: vec!["10".into(), "20".into()],
            }],
            mode: Mode::Event,
            first_seed: 5,
            seeds: 2,
            points: 2,
            runs: 4,
            shard: None,
            first_run: 0,
            end_run: 4,
            completed: 0,
            partial: false,
            missing: vec![],
        }
    }

    fn record(k: &str, seed: u64) -> RunRecord {
        RunRecord {
            values: vec![k.into()],
            seed,
            honest_finalized: 1.0,
            agreement: true,
            safety_violation: false,
            first_conflict: None,
            finality: [Some(1.5), Some(2.0), Some(2.5), Some(3.0)],
            polls: [Some(20.0), Some(25.0)],
            events: 100,
            messages: 200,
            virtual_time_ms: 0.1 + 0.2,
            digest: "d".into(),
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("luxsim-journal-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn rows_come_back_and_torn_lines_are_cut_off() {
        let dir = scratch("torn");
        let (j, done) = Journal::open(&dir, &manifest()).unwrap();
        assert!(done.is_empty());
        j.append(2, &record("20", 5)).unwrap();
        j.append(0, &record("10", 5)).unwrap();
        // A second writer is refused while the first holds the lock.
        assert!(matches!(
            Journal::open(&dir, &manifest()),
            Err(ExperimentError::Busy { .. })
        ));
        drop(j);
        let path = dir.join(JOURNAL);
        let whole = std::fs::read(&path).unwrap();
        for torn in [
            &b"{\"run\":1,\"row\":[\"10\""[..],
            b"{\"run\":1}\n",
            b"\0\0\0",
        ] {
            let mut bytes = whole.clone();
            bytes.extend_from_slice(torn);
            std::fs::write(&path, &bytes).unwrap();
            let (_, done) = Journal::open(&dir, &manifest()).unwrap();
            assert_eq!(done.keys().copied().collect::<Vec<_>>(), [0, 2]);
            assert_eq!(done[&2], record("20", 5));
            assert_eq!(
                std::fs::read(&path).unwrap(),
                whole,
                "cut back to whole lines"
            );
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn damaged_wrong_or_foreign_journals_are_errors() {
        let dir = scratch("bad");
        let (j, _) = Journal::open(&dir, &manifest()).unwrap();
        j.append(0, &record("10", 5)).unwrap();
        drop(j);
        let path = dir.join(JOURNAL);
        let whole = std::fs::read_to_string(&path).unwrap();
        let row = whole.lines().nth(1).unwrap().to_string();
        let header = whole.lines().next().unwrap().to_string();
        for (text, wanted) in [
            (format!("{header}\ngarbage\n{row}\n"), "line 2 is damaged"),
            (format!("{header}\n{row}\n{row}\n"), "appears twice"),
            (
                format!("{header}\n{}\n", row.replace("\"run\":0", "\"run\":1")),
                "expected run 1",
            ),
            (
                format!("{header}\n{}\n", row.replace("\"run\":0", "\"run\":9")),
                "not in this slice",
            ),
            (
                format!("{}\n", header.replace("0.", "9.")),
                "written by luxsim",
            ),
            ("not json\n".to_string(), "not a luxsim sweep journal"),
        ] {
            std::fs::write(&path, &text).unwrap();
            let e = Journal::open(&dir, &manifest()).unwrap_err().to_string();
            assert!(e.contains(wanted), "{wanted}: {e}");
        }
        std::fs::write(&path, &whole).unwrap();
        let mut other = manifest();
        other.seeds = 3;
        other.runs = 6;
        let e = Journal::open(&dir, &other).unwrap_err().to_string();
        assert!(e.contains("another sweep") && e.contains("--seeds"), "{e}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
