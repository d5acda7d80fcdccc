//! Reading what a run left behind: finding the trace and `summary.json`, and loading the
//! `poll` and `decide` rows of a trace (CSV or JSONL) with clear errors.

use super::PlotError;
use crate::sim::Summary;
use rustc_hash::FxHashSet;
use serde::Deserialize;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

/// The largest choice id of a single decision (`workload.choices` is at most 255).
const MAX_CHOICE: u32 = 254;

/// What a path given to `luxsim plot` is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A run: its trace file and its `summary.json`, each when present.
    Run {
        /// `trace.csv`, `trace.jsonl` or the trace file given.
        trace: Option<PathBuf>,
        /// `summary.json` beside the trace.
        summary: Option<PathBuf>,
    },
    /// A sweep directory's `points.csv`.
    Sweep {
        /// The points file.
        points: PathBuf,
    },
}

/// Finds out whether `path` is a trace file, a run directory or a sweep directory.
pub fn locate(path: &Path) -> Result<Input, PlotError> {
    let meta = std::fs::metadata(path).map_err(|source| PlotError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let dir = if meta.is_dir() {
        path
    } else {
        path.parent().unwrap_or(Path::new("."))
    };
    let existing = |name: &str| Some(dir.join(name)).filter(|p| p.is_file());
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if meta.is_dir() {
        if let Some(points) = existing("points.csv") {
            return Ok(Input::Sweep { points });
        }
        let trace = existing("trace.csv").or_else(|| existing("trace.jsonl"));
        let summary = existing("summary.json");
        if trace.is_none() && summary.is_none() {
            return Err(PlotError::NotFound {
                path: path.to_path_buf(),
                message: "no trace.csv, trace.jsonl, summary.json (a run) or points.csv (a sweep) \
                          in this directory"
                    .into(),
            });
        }
        return Ok(Input::Run { trace, summary });
    }
    Ok(match name {
        "points.csv" => Input::Sweep {
            points: path.to_path_buf(),
        },
        "summary.json" => Input::Run {
            trace: existing("trace.csv").or_else(|| existing("trace.jsonl")),
            summary: Some(path.to_path_buf()),
        },
        _ => Input::Run {
            trace: Some(path.to_path_buf()),
            summary: existing("summary.json"),
        },
    })
}

/// One `poll` or `decide` row: when, who, which choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    /// Virtual time in nanoseconds (lockstep: the round).
    pub time: u64,
    /// The node.
    pub node: u32,
    /// The poll's top choice, or the choice finalized.
    pub choice: u32,
}

/// The parts of a run the plots need.
#[derive(Debug, Clone)]
pub struct RunData {
    /// The trace file read.
    pub trace: PathBuf,
    /// The run's summary, when `summary.json` was found.
    pub summary: Option<Summary>,
    /// Whether times are lockstep rounds rather than nanoseconds.
    pub lockstep: bool,
    /// Honest nodes: from the summary, else the nodes seen polling or deciding.
    pub honest: usize,
    /// Choices seen (the largest choice id plus one, at least 1).
    pub choices: usize,
    /// Whether the trace has poll rows at all (it was written at level `polls` or above).
    pub polls_traced: bool,
    /// Polls that got at least one vote for their top choice, in time order.
    pub polls: Vec<Row>,
    /// The first decision of each node, in time order.
    pub decides: Vec<Row>,
    /// The end of the run: its last event, or the summary's end time when later.
    pub end: u64,
}

/// A unit for a time axis: its label and nanoseconds (or rounds) per unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeUnit {
    /// Axis label, e.g. `virtual time (ms)`.
    pub label: &'static str,
    /// Short suffix for values, e.g. `ms`.
    pub suffix: &'static str,
    /// Raw trace units per axis unit.
    pub per_unit: f64,
}

impl TimeUnit {
    /// Rounds in lockstep mode; otherwise ms for spans under 10 s, else seconds.
    pub fn for_span(lockstep: bool, span: u64) -> Self {
        if lockstep {
            TimeUnit {
                label: "round",
                suffix: " rounds",
                per_unit: 1.0,
            }
        } else if span < 10_000_000_000 {
            TimeUnit {
                label: "virtual time (ms)",
                suffix: " ms",
                per_unit: 1e6,
            }
        } else {
            TimeUnit {
                label: "virtual time (s)",
                suffix: " s",
                per_unit: 1e9,
            }
        }
    }

    /// `raw` in this unit.
    pub fn of(&self, raw: u64) -> f64 {
        raw as f64 / self.per_unit
    }
}

/// Reads `summary.json`.
pub fn load_summary(path: &Path) -> Result<Summary, PlotError> {
    let text = std::fs::read_to_string(path).map_err(|source| PlotError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| PlotError::Malformed {
        path: path.to_path_buf(),
        line: e.line() as u64,
        message: format!("not a luxsim summary.json: {e}"),
    })
}

/// Loads the trace at `trace` (CSV, or JSONL when it ends in `.jsonl`) and the summary.
pub fn load_run(trace: &Path, summary: Option<&Path>) -> Result<RunData, PlotError> {
    let summary = summary.map(load_summary).transpose()?;
    let file = File::open(trace).map_err(|source| PlotError::Read {
        path: trace.to_path_buf(),
        source,
    })?;
    let jsonl = trace.extension().is_some_and(|e| e == "jsonl");
    read_run(BufReader::new(file), jsonl, summary, trace)
}

/// Reads a trace (CSV, or JSONL when `jsonl`) from `reader`; `trace` names it in errors.
pub fn read_run(
    reader: impl BufRead,
    jsonl: bool,
    summary: Option<Summary>,
    trace: &Path,
) -> Result<RunData, PlotError> {
    let mut acc = Acc::default();
    let bad = |line: u64, message: String| PlotError::Malformed {
        path: trace.to_path_buf(),
        line,
        message,
    };
    if jsonl {
        read_jsonl(reader, &mut acc, &bad)?;
    } else {
        read_csv(reader, &mut acc, &bad)?;
    }
    if acc.ledger || summary.as_ref().is_some_and(|s| s.ledger.is_some()) {
        return Err(PlotError::Unsupported {
            path: trace.to_path_buf(),
            message: "a chain or dag ledger run: the plots cover single-decision runs \
                      (slush, snowflake, snowball)"
                .into(),
        });
    }
    if let Some(c) = acc.max_choice.filter(|&c| c > MAX_CHOICE) {
        return Err(bad(
            0,
            format!("choice {c} is out of range: a decision has at most 255 choices"),
        ));
    }
    acc.polls.sort_by_key(|r| r.time);
    acc.decides.sort_by_key(|r| r.time);
    let lockstep = summary.as_ref().is_some_and(|s| s.mode == "lockstep");
    let mut end = acc.end;
    if let Some(s) = &summary {
        let summary_end = if lockstep {
            s.rounds.unwrap_or(0)
        } else {
            (s.virtual_time_ms * 1e6) as u64
        };
        end = end.max(summary_end);
    }
    let honest = match &summary {
        Some(s) if s.honest > 0 => s.honest,
        _ => acc.seen.len(),
    };
    Ok(RunData {
        trace: trace.to_path_buf(),
        summary,
        lockstep,
        honest,
        choices: acc.max_choice.map_or(1, |c| c as usize + 1),
        polls_traced: acc.polls_traced,
        polls: acc.polls,
        decides: acc.decides,
        end,
    })
}

/// What is gathered while reading a trace.
#[derive(Default)]
struct Acc {
    polls_traced: bool,
    polls: Vec<Row>,
    decides: Vec<Row>,
    decided: FxHashSet<u32>,
    seen: FxHashSet<u32>,
    max_choice: Option<u32>,
    ledger: bool,
    end: u64,
}

impl Acc {
    /// Takes one row; `Err` says what is wrong with it.
    fn add(
        &mut self,
        time: u64,
        node: u32,
        kind: &str,
        choice: Option<u32>,
        count: Option<u32>,
    ) -> Result<(), String> {
        self.end = self.end.max(time);
        let poll = match kind {
            "poll" => true,
            "decide" => false,
            "query" | "answer" | "lost" | "cut" | "crash" | "recover" => return Ok(()),
            "propose" | "accept" | "reject" | "accept_tx" | "reject_tx" | "push" | "get"
            | "put" => {
                self.ledger = true;
                return Ok(());
            }
            other => return Err(format!("unknown kind {other:?}")),
        };
        let choice = choice.ok_or_else(|| format!("a {kind} row without a choice"))?;
        self.max_choice = Some(self.max_choice.map_or(choice, |m| m.max(choice)));
        self.seen.insert(node);
        let row = Row { time, node, choice };
        if poll {
            self.polls_traced = true;
            if count != Some(0) {
                self.polls.push(row);
            }
        } else if self.decided.insert(node) {
            self.decides.push(row);
        }
        Ok(())
    }
}

fn read_csv<R: std::io::Read>(
    reader: R,
    acc: &mut Acc,
    bad: &dyn Fn(u64, String) -> PlotError,
) -> Result<(), PlotError> {
    let mut csv = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(reader);
    let headers = csv
        .headers()
        .map_err(|e| bad(1, format!("cannot read the header: {e}")))?
        .clone();
    if headers.is_empty() {
        return Err(bad(1, "empty file: not a luxsim trace".into()));
    }
    let column = |name: &str| {
        headers.iter().position(|h| h == name).ok_or_else(|| {
            bad(
                1,
                format!(
                    "no {name} column: a luxsim trace has the header \
                     time_ns,node,kind,peer,request,choice,count,answers"
                ),
            )
        })
    };
    let (t, n, k) = (column("time_ns")?, column("node")?, column("kind")?);
    let (c, v) = (column("choice")?, column("count")?);
    let mut record = csv::StringRecord::new();
    loop {
        let more = csv.read_record(&mut record).map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            bad(line, e.to_string())
        })?;
        if !more {
            return Ok(());
        }
        let line = record.position().map_or(0, |p| p.line());
        let field = |i: usize| record.get(i).unwrap_or("");
        let parsed = (|| {
            let time = parse::<u64>(field(t), "time_ns")?.ok_or("empty time_ns")?;
            let node = parse::<u32>(field(n), "node")?.ok_or("empty node")?;
            let choice = parse::<u32>(field(c), "choice")?;
            let count = parse::<u32>(field(v), "count")?;
            acc.add(time, node, field(k), choice, count)
        })();
        parsed.map_err(|m| bad(line, m))?;
    }
}

/// An optional number: `Ok(None)` when the field is empty.
fn parse<T: std::str::FromStr>(s: &str, name: &str) -> Result<Option<T>, String> {
    if s.is_empty() {
        return Ok(None);
    }
    s.parse()
        .map(Some)
        .map_err(|_| format!("{name} {s:?} is not a valid number"))
}

#[derive(Deserialize)]
struct JsonRow {
    time_ns: u64,
    node: u32,
    kind: String,
    choice: Option<u32>,
    count: Option<u32>,
}

fn read_jsonl<R: BufRead>(
    reader: R,
    acc: &mut Acc,
    bad: &dyn Fn(u64, String) -> PlotError,
) -> Result<(), PlotError> {
    for (i, line) in reader.lines().enumerate() {
        let no = i as u64 + 1;
        let line = line.map_err(|e| bad(no, e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let row: JsonRow = serde_json::from_str(&line)
            .map_err(|e| bad(no, format!("not a luxsim trace row: {e}")))?;
        acc.add(row.time_ns, row.node, &row.kind, row.choice, row.count)
            .map_err(|m| bad(no, m))?;
    }
    Ok(())
}
