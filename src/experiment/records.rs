//! The rows of a sweep: `runs.csv` (one row per run) and `points.csv` (one row per point).
//!
//! Numbers are written with Rust's shortest round-trip formatting, so reading `runs.csv`
//! back gives the very same values, and `merge` rebuilds byte-identical files from shards.

use crate::sim::scenario::Mode;
use crate::sim::summary::Percentiles;
use crate::sim::Summary;

/// The figures of one run, as written in `runs.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    /// The varied values (labels), one per axis.
    pub values: Vec<String>,
    /// The seed of the run.
    pub seed: u64,
    /// Share of honest nodes that finalized.
    pub honest_finalized: f64,
    /// Whether every finalized honest node finalized the same choice.
    pub agreement: bool,
    /// Whether two honest nodes finalized different choices.
    pub safety_violation: bool,
    /// When safety broke: the time of the first honest decision that conflicts with an
    /// earlier one (ms in event mode, rounds in lockstep mode); `None` when safe.
    pub first_conflict: Option<f64>,
    /// Finality p50, p90, p99 and max (ms in event mode, rounds in lockstep mode); `None`
    /// (an empty cell) when no honest node finalized.
    pub finality: [Option<f64>; 4],
    /// Polls to finality, p50 and p99; `None` when no honest node finalized.
    pub polls: [Option<f64>; 2],
    /// Events processed (lockstep: polls).
    pub events: u64,
    /// Messages sent (lockstep: queries answered).
    pub messages: u64,
    /// Virtual time at the end, in ms (lockstep: 0).
    pub virtual_time_ms: f64,
    /// The run's digest.
    pub digest: String,
}

/// The unit of finality figures in a mode: `ms` or `rounds`.
pub fn unit(mode: Mode) -> &'static str {
    match mode {
        Mode::Event => "ms",
        Mode::Lockstep | Mode::Harness => "rounds",
    }
}

/// The finality percentiles of a summary: ms in event mode, rounds in lockstep mode;
/// `None` when no honest node finalized.
pub fn finality(summary: &Summary) -> Option<Percentiles> {
    summary.finality_rounds.or(summary.finality_ms)
}

/// Columns of `runs.csv` after the varied keys.
const RUN_FIGURES: usize = 15;

impl RunRecord {
    /// The record of a run at a point with these labels.
    pub fn from_summary(values: Vec<String>, s: &Summary) -> RunRecord {
        let f = finality(s);
        RunRecord {
            values,
            seed: s.seed,
            honest_finalized: s.honest_finalized,
            agreement: s.agreement,
            safety_violation: s.safety_violation,
            first_conflict: s.first_conflict.as_ref().map(|c| c[1].at),
            finality: [
                f.map(|f| f.p50),
                f.map(|f| f.p90),
                f.map(|f| f.p99),
                f.map(|f| f.max),
            ],
            polls: [s.polls.map(|p| p.p50), s.polls.map(|p| p.p99)],
            events: s.events,
            messages: s.messages,
            virtual_time_ms: s.virtual_time_ms,
            digest: s.digest.clone(),
        }
    }

    /// Whether every honest node finalized.
    pub fn finished(&self) -> bool {
        self.honest_finalized >= 1.0
    }

    /// The cells of its `runs.csv` row.
    pub fn fields(&self) -> Vec<String> {
        let mut f = self.values.clone();
        f.push(self.seed.to_string());
        f.push(self.honest_finalized.to_string());
        f.push(self.agreement.to_string());
        f.push(self.safety_violation.to_string());
        let cell = |x: &Option<f64>| x.map_or(String::new(), |x| x.to_string());
        f.push(cell(&self.first_conflict));
        f.extend(self.finality.iter().map(cell));
        f.extend(self.polls.iter().map(cell));
        f.push(self.events.to_string());
        f.push(self.messages.to_string());
        f.push(self.virtual_time_ms.to_string());
        f.push(self.digest.clone());
        f
    }

    /// Parses a `runs.csv` row with `axes` varied values; the error names the column.
    pub fn parse(row: &csv::StringRecord, axes: usize, header: &[String]) -> Result<Self, String> {
        if row.len() != axes + RUN_FIGURES {
            return Err(format!(
                "{} fields, expected {}",
                row.len(),
                axes + RUN_FIGURES
            ));
        }
        let at = |i: usize| &row[axes + i];
        let bad = |i: usize| format!("bad {} {:?}", header[axes + i], &row[axes + i]);
        let f64_at = |i: usize| match at(i).parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(x),
            _ => Err(bad(i)),
        };
        // An empty cell: not measured (no honest node finalized).
        let opt_at = |i: usize| match at(i) {
            "" => Ok(None),
            _ => f64_at(i).map(Some),
        };
        let u64_at = |i: usize| at(i).parse::<u64>().map_err(|_| bad(i));
        let bool_at = |i: usize| at(i).parse::<bool>().map_err(|_| bad(i));
        Ok(RunRecord {
            values: (0..axes).map(|i| row[i].to_string()).collect(),
            seed: u64_at(0)?,
            honest_finalized: f64_at(1)?,
            agreement: bool_at(2)?,
            safety_violation: bool_at(3)?,
            first_conflict: opt_at(4)?,
            finality: [opt_at(5)?, opt_at(6)?, opt_at(7)?, opt_at(8)?],
            polls: [opt_at(9)?, opt_at(10)?],
            events: u64_at(11)?,
            messages: u64_at(12)?,
            virtual_time_ms: f64_at(13)?,
            digest: at(14).to_string(),
        })
    }
}

/// The header of `runs.csv`.
pub fn runs_header(keys: &[String], mode: Mode) -> Vec<String> {
    let u = unit(mode);
    let mut h = keys.to_vec();
    h.extend(
        [
            "seed",
            "honest_finalized",
            "agreement",
            "safety_violation",
            &format!("first_conflict_{u}"),
            &format!("finality_p50_{u}"),
            &format!("finality_p90_{u}"),
            &format!("finality_p99_{u}"),
            &format!("finality_max_{u}"),
            "polls_p50",
            "polls_p99",
            "events",
            "messages",
            "virtual_time_ms",
            "digest",
        ]
        .map(String::from),
    );
    h
}

/// The header of `points.csv`.
pub fn points_header(keys: &[String], mode: Mode) -> Vec<String> {
    let u = unit(mode);
    let mut h = keys.to_vec();
    h.extend(
        [
            "runs",
            "finality_runs",
            &format!("finality_mean_{u}"),
            &format!("finality_p50_{u}"),
            &format!("finality_p90_{u}"),
            &format!("finality_p99_{u}"),
            "safety_violation_share",
            "finished_share",
            "stalled_share",
            &format!("first_conflict_p50_{u}"),
        ]
        .map(String::from),
    );
    h
}

fn csv_bytes(header: &[String], rows: impl Iterator<Item = Vec<String>>) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    w.write_record(header).expect("writing to memory");
    for row in rows {
        w.write_record(&row).expect("writing to memory");
    }
    w.into_inner().expect("writing to memory")
}

/// The bytes of `runs.csv` for these records (in the order given).
pub fn runs_csv(header: &[String], records: &[RunRecord]) -> Vec<u8> {
    csv_bytes(header, records.iter().map(RunRecord::fields))
}

/// The bytes of `points.csv`: records are `(run index, record)` in run order, and run r
/// belongs to point `r / seeds`.
///
/// Finality statistics are over the runs' p50 finality (one value per run), leaving out
/// runs where no honest node finalized; percentiles are nearest-rank. A point whose runs
/// all failed to finalize gets empty finality cells.
pub fn points_csv(header: &[String], records: &[(usize, RunRecord)], seeds: u64) -> Vec<u8> {
    let seeds = seeds.max(1) as usize;
    let mut rows = Vec::new();
    let mut start = 0;
    while start < records.len() {
        let point = records[start].0 / seeds;
        let end = start
            + records[start..]
                .iter()
                .take_while(|(r, _)| r / seeds == point)
                .count();
        rows.push(point_row(&records[start..end]));
        start = end;
    }
    csv_bytes(header, rows.into_iter())
}

fn point_row(group: &[(usize, RunRecord)]) -> Vec<String> {
    let runs = group.len();
    let share = |n: usize| (n as f64 / runs as f64).to_string();
    let mut p50s: Vec<f64> = group.iter().filter_map(|(_, r)| r.finality[0]).collect();
    let mut row = group[0].1.values.clone();
    row.push(runs.to_string());
    row.push(p50s.len().to_string());
    let mean = p50s.iter().sum::<f64>() / p50s.len().max(1) as f64;
    match Percentiles::of(&mut p50s) {
        None => row.extend(std::iter::repeat_n(String::new(), 4)),
        Some(p) => row.extend([mean, p.p50, p.p90, p.p99].map(|x| x.to_string())),
    }
    row.push(share(
        group.iter().filter(|(_, r)| r.safety_violation).count(),
    ));
    row.push(share(group.iter().filter(|(_, r)| r.finished()).count()));
    row.push(share(
        group
            .iter()
            .filter(|(_, r)| r.honest_finalized == 0.0)
            .count(),
    ));
    let mut conflicts: Vec<f64> = group.iter().filter_map(|(_, r)| r.first_conflict).collect();
    row.push(Percentiles::of(&mut conflicts).map_or(String::new(), |p| p.p50.to_string()));
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(values: &[&str], seed: u64, p50: f64, finalized: f64) -> RunRecord {
        let some = finalized > 0.0;
        let f = |x: f64| some.then_some(x);
        RunRecord {
            values: values.iter().map(|v| v.to_string()).collect(),
            seed,
            honest_finalized: finalized,
            agreement: true,
            safety_violation: seed == 2,
            first_conflict: (seed == 2).then_some(12.5),
            finality: [f(p50), f(p50 + 1.0), f(p50 + 2.0), f(p50 + 3.0)],
            polls: [f(20.0), f(25.0)],
            events: 100,
            messages: 200,
            virtual_time_ms: 0.1 + 0.2,
            digest: "ab,c".into(),
        }
    }

    #[test]
    fn runs_round_trip() {
        let keys = vec!["params.k".to_string()];
        let header = runs_header(&keys, Mode::Event);
        let recs = vec![
            record(&["10"], 1, 412.5, 1.0),
            record(&["a\"b"], 2, 1.0 / 3.0, 0.5),
        ];
        let bytes = runs_csv(&header, &recs);
        let mut rd = csv::Reader::from_reader(&bytes[..]);
        let back: Vec<RunRecord> = rd
            .records()
            .map(|r| RunRecord::parse(&r.unwrap(), 1, &header).unwrap())
            .collect();
        assert_eq!(back, recs);
        assert_eq!(runs_csv(&header, &back), bytes);
    }

    #[test]
    fn points_over_run_p50s() {
        let keys = vec!["k".to_string()];
        let header = points_header(&keys, Mode::Event);
        let recs = vec![
            (0, record(&["10"], 1, 100.0, 1.0)),
            (1, record(&["10"], 2, 300.0, 0.5)),
            (2, record(&["20"], 1, 0.0, 0.0)),
        ];
        let text = String::from_utf8(points_csv(&header, &recs, 2)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "10,2,2,200,100,300,300,0.5,0.5,0,12.5");
        assert_eq!(lines[2], "20,1,0,,,,,0,0,1,");
    }
}
