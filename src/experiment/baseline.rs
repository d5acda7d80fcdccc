//! The baseline file of `luxsim check`: scenarios, their seeds, and the convergence
//! figures recorded for them, each with a relative tolerance.
//!
//! ```json
//! {
//!   "scenarios": [
//!     {
//!       "scenario": "scenarios/baseline.toml",
//!       "set": ["network.nodes=500"],
//!       "seeds": [1, 2, 3],
//!       "figures": {
//!         "finality_p50": { "value": 412.5, "tolerance": 0.05 },
//!         "finality_p99": { "value": 980.0, "tolerance": 0.1 },
//!         "polls_p50": { "value": 24.0, "tolerance": 0.05 },
//!         "finalized": { "value": 1.0, "tolerance": 0.0 }
//!       }
//!     }
//!   ]
//! }
//! ```

use super::records::finality;
use super::ExperimentError;
use crate::sim::Summary;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// A whole baseline file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// Free text for the reader; kept by `--update`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub about: String,
    /// The scenarios checked, in order.
    pub scenarios: Vec<Entry>,
}

/// One scenario of the baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The scenario file, relative to the directory `check` runs in (the repository root).
    pub scenario: String,
    /// `key.path=value` overrides, e.g. to make the scenario smaller.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub set: Vec<String>,
    /// The seeds to run; the figures are means over them.
    pub seeds: Vec<u64>,
    /// The recorded figures.
    pub figures: Figures,
}

/// The convergence figures of a scenario (means over its seeds).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Figures {
    /// Median time to finality: ms in event mode, rounds in lockstep mode.
    pub finality_p50: Figure,
    /// 99th percentile of the time to finality (ms, or rounds in lockstep mode).
    pub finality_p99: Figure,
    /// Median number of polls to finality.
    pub polls_p50: Figure,
    /// Share of honest nodes that finalized.
    pub finalized: Figure,
}

/// A recorded value and how much worse (relative) a run may be.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Figure {
    /// The recorded value; absent until `check --update` records it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// Relative tolerance: 0.05 allows 5 % worse.
    pub tolerance: f64,
}

/// The names of the figures, in table order, and whether larger is worse.
pub const FIGURES: [(&str, bool); 4] = [
    ("finality_p50", true),
    ("finality_p99", true),
    ("polls_p50", true),
    ("finalized", false),
];

impl Figures {
    /// The figures in [`FIGURES`] order.
    pub fn list(&self) -> [Figure; 4] {
        [
            self.finality_p50,
            self.finality_p99,
            self.polls_p50,
            self.finalized,
        ]
    }

    /// The same tolerances with new values, in [`FIGURES`] order.
    pub fn with_values(&self, values: [f64; 4]) -> Figures {
        let set = |f: Figure, v: f64| Figure {
            value: Some(v),
            ..f
        };
        Figures {
            finality_p50: set(self.finality_p50, values[0]),
            finality_p99: set(self.finality_p99, values[1]),
            polls_p50: set(self.polls_p50, values[2]),
            finalized: set(self.finalized, values[3]),
        }
    }
}

impl Baseline {
    /// Parses and checks a baseline file's text; `path` names it in errors.
    pub fn parse(bytes: &[u8], path: &str) -> Result<Baseline, ExperimentError> {
        let bad = |message: String| ExperimentError::BadFile {
            path: path.to_string(),
            message,
        };
        let b: Baseline =
            serde_json::from_slice(bytes).map_err(|e| bad(format!("not a baseline: {e}")))?;
        if b.scenarios.is_empty() {
            return Err(bad("no scenarios".into()));
        }
        for (i, e) in b.scenarios.iter().enumerate() {
            let at = |m: String| bad(format!("scenarios[{i}] ({}): {m}", e.scenario));
            if e.seeds.is_empty() {
                return Err(at("no seeds".into()));
            }
            for (f, (name, _)) in e.figures.list().iter().zip(FIGURES) {
                if !(f.tolerance.is_finite() && f.tolerance >= 0.0) {
                    return Err(at(format!("{name}: tolerance must be a number >= 0")));
                }
                if f.value.is_some_and(|v| !v.is_finite()) {
                    return Err(at(format!("{name}: value must be a finite number")));
                }
            }
        }
        Ok(b)
    }
}

/// The figures of a set of runs, in [`FIGURES`] order: means over the runs in the order
/// given. A run in which no honest node finalized has no finality to average: the figure
/// is then infinite, which every baseline judges a regression.
pub fn measure(summaries: &[&Summary]) -> [f64; 4] {
    let n = summaries.len().max(1) as f64;
    let mean = |f: &dyn Fn(&Summary) -> Option<f64>| {
        summaries
            .iter()
            .map(|s| f(s).unwrap_or(f64::INFINITY))
            .sum::<f64>()
            / n
    };
    [
        mean(&|s| finality(s).map(|p| p.p50)),
        mean(&|s| finality(s).map(|p| p.p99)),
        mean(&|s| s.polls.map(|p| p.p50)),
        mean(&|s| Some(s.honest_finalized)),
    ]
}

/// The verdict on one figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Within tolerance (or better).
    Ok,
    /// Worse than the baseline by more than the tolerance.
    Regressed,
    /// No recorded value yet.
    Missing,
    /// Recorded anew by `--update`.
    Updated,
}

/// Compares `now` with a recorded figure; `larger_worse` says which way is worse.
pub fn judge(figure: &Figure, now: f64, larger_worse: bool) -> Status {
    let Some(base) = figure.value else {
        return Status::Missing;
    };
    // A hair of slack so that a value read back from JSON always matches itself.
    let slack = 1e-9 * base.abs() + 1e-12;
    let worse = if larger_worse {
        now > base * (1.0 + figure.tolerance) + slack
    } else {
        now < base * (1.0 - figure.tolerance) - slack
    };
    if worse {
        Status::Regressed
    } else {
        Status::Ok
    }
}

/// One line of the comparison table.
#[derive(Debug, Clone)]
pub struct Line {
    /// The scenario (path and overrides).
    pub scenario: String,
    /// The figure's name with its unit.
    pub figure: String,
    /// The recorded value, if any.
    pub baseline: Option<f64>,
    /// The value measured now.
    pub now: f64,
    /// The tolerance.
    pub tolerance: f64,
    /// The verdict.
    pub status: Status,
}

/// The comparison table, aligned, one line per figure.
pub fn table(lines: &[Line]) -> String {
    let num = |x: f64| {
        if x == x.round() && x.abs() < 1e15 {
            format!("{x:.0}")
        } else {
            format!("{x:.3}")
        }
    };
    let mut rows = vec![[
        "scenario".to_string(),
        "figure".into(),
        "baseline".into(),
        "now".into(),
        "change".into(),
        "tolerance".into(),
        "status".into(),
    ]];
    for l in lines {
        let change = match l.baseline {
            Some(b) if b != 0.0 => format!("{:+.2}%", (l.now - b) / b.abs() * 100.0),
            Some(_) if l.now == 0.0 => "+0.00%".into(),
            _ => "n/a".into(),
        };
        rows.push([
            l.scenario.clone(),
            l.figure.clone(),
            l.baseline.map_or("-".into(), num),
            num(l.now),
            change,
            format!("{}%", format_pct(l.tolerance)),
            match l.status {
                Status::Ok => "ok",
                Status::Regressed => "REGRESSED",
                Status::Missing => "NO BASELINE",
                Status::Updated => "updated",
            }
            .into(),
        ]);
    }
    let mut widths = [0; 7];
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in &rows {
        let mut line = String::new();
        for (i, (c, w)) in r.iter().zip(widths).enumerate() {
            // Text columns left-aligned, numbers right-aligned.
            if i < 2 || i == 6 {
                let _ = write!(line, "{c:<w$}  ");
            } else {
                let _ = write!(line, "{c:>w$}  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn format_pct(tolerance: f64) -> String {
    super::grid::format_minimal(tolerance * 100.0, 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fig(value: f64, tolerance: f64) -> Figure {
        Figure {
            value: Some(value),
            tolerance,
        }
    }

    #[test]
    fn worse_is_relative_and_directional() {
        assert_eq!(judge(&fig(100.0, 0.05), 105.0, true), Status::Ok);
        assert_eq!(judge(&fig(100.0, 0.05), 105.1, true), Status::Regressed);
        assert_eq!(judge(&fig(100.0, 0.0), 100.0, true), Status::Ok);
        assert_eq!(judge(&fig(100.0, 0.0), 50.0, true), Status::Ok);
        assert_eq!(judge(&fig(1.0, 0.0), 1.0, false), Status::Ok);
        assert_eq!(judge(&fig(1.0, 0.01), 0.995, false), Status::Ok);
        assert_eq!(judge(&fig(1.0, 0.01), 0.98, false), Status::Regressed);
        let none = Figure {
            value: None,
            tolerance: 0.1,
        };
        assert_eq!(judge(&none, 1.0, true), Status::Missing);
    }

    #[test]
    fn rejects_bad_files() {
        let ok = r#"{"scenarios":[{"scenario":"a.toml","seeds":[1],"figures":{
            "finality_p50":{"tolerance":0.05},"finality_p99":{"tolerance":0.1},
            "polls_p50":{"tolerance":0.05},"finalized":{"value":1.0,"tolerance":0}}}]}"#;
        assert!(Baseline::parse(ok.as_bytes(), "b.json").is_ok());
        for bad in [
            ok.replace("[1]", "[]"),
            ok.replace("0.05}", "-1}"),
            ok.replace("\"seeds\"", "\"seedz\""),
            r#"{"scenarios":[]}"#.to_string(),
            "nonsense".to_string(),
        ] {
            assert!(Baseline::parse(bad.as_bytes(), "b.json").is_err(), "{bad}");
        }
    }
}
