//! Consensus progress over virtual time: for each choice, the share of honest nodes whose
//! latest poll's top choice it is, and the share of honest nodes that finalized it.
//!
//! A node's preference itself is not in the trace; the top choice of its latest poll with
//! at least one vote is what the trace shows of it (`poll` rows, `--trace polls`). Before a
//! node's first such poll it counts for no choice, so early on the shares add up to less
//! than 100 %. Finalized shares come from each node's first `decide` row.

use super::draw::{color, fail, tick};
use super::input::{RunData, TimeUnit};
use plotters::coord::Shift;
use plotters::prelude::*;
use rustc_hash::FxHashMap;

/// Points in time at which the shares are evaluated (event mode; lockstep: at most this many).
pub const SAMPLES: usize = 600;

/// Most choices drawn with a preference line: those with the highest peak shares.
pub const MAX_CHOICES: usize = 10;

/// The progress series of a run, evaluated on an even time grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// The unit of `times`.
    pub unit: TimeUnit,
    /// The grid, in `unit`.
    pub times: Vec<f64>,
    /// `[choice][i]`: share of honest nodes whose latest poll's top choice is `choice` at
    /// `times[i]`; empty when the trace has no poll rows.
    pub preferring: Vec<Vec<f64>>,
    /// `[choice][i]`: share of honest nodes that finalized `choice` by `times[i]`.
    pub finalized: Vec<Vec<f64>>,
    /// Honest nodes the shares are of.
    pub honest: usize,
}

/// Evaluates the progress of `run` on [`SAMPLES`] points from time 0 to its end.
pub fn progress(run: &RunData) -> Progress {
    let unit = TimeUnit::for_span(run.lockstep, run.end);
    let n = if run.lockstep {
        usize::try_from(run.end).map_or(SAMPLES, |e| (e + 1).min(SAMPLES))
    } else {
        SAMPLES
    };
    let grid: Vec<u64> = (0..n)
        .map(|k| match n {
            1 => run.end,
            _ => (u128::from(run.end) * k as u128 / (n - 1) as u128) as u64,
        })
        .collect();
    let honest = run.honest.max(1) as f64;
    let share = |counts: &[usize], out: &mut [Vec<f64>]| {
        for (c, series) in out.iter_mut().enumerate() {
            series.push(counts[c] as f64 / honest);
        }
    };
    let mut latest: FxHashMap<u32, u32> = FxHashMap::default();
    let mut preferring = vec![Vec::with_capacity(n); run.choices];
    let mut finalized = vec![Vec::with_capacity(n); run.choices];
    let (mut prefer_counts, mut final_counts) = (vec![0; run.choices], vec![0; run.choices]);
    let (mut p, mut d) = (0, 0);
    for &t in &grid {
        while let Some(r) = run.polls.get(p).filter(|r| r.time <= t) {
            if let Some(old) = latest.insert(r.node, r.choice) {
                prefer_counts[old as usize] -= 1;
            }
            prefer_counts[r.choice as usize] += 1;
            p += 1;
        }
        while let Some(r) = run.decides.get(d).filter(|r| r.time <= t) {
            final_counts[r.choice as usize] += 1;
            d += 1;
        }
        share(&prefer_counts, &mut preferring);
        share(&final_counts, &mut finalized);
    }
    if !run.polls_traced {
        preferring.clear();
    }
    Progress {
        unit,
        times: grid.iter().map(|&t| unit.of(t)).collect(),
        preferring,
        finalized,
        honest: run.honest,
    }
}

/// Draws the progress chart of `p` into `area`.
pub fn draw<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &Progress) -> Result<(), String> {
    let x_max = p.times.last().copied().unwrap_or(0.0).max(1.0);
    let caption = if p.preferring.is_empty() {
        format!(
            "Finalized share of {} honest nodes (no poll rows: use --trace polls for preferences)",
            p.honest
        )
    } else {
        format!("Consensus progress: share of {} honest nodes", p.honest)
    };
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..x_max, 0.0..100.0)
        .map_err(fail)?;
    chart
        .configure_mesh()
        .x_desc(p.unit.label)
        .y_desc("honest nodes (%)")
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 15))
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .light_line_style(RGBColor(238, 238, 238))
        .max_light_lines(2)
        .draw()
        .map_err(fail)?;
    let line = |series: &[f64]| -> Vec<(f64, f64)> {
        p.times
            .iter()
            .zip(series)
            .map(|(&t, &s)| (t, s * 100.0))
            .collect()
    };
    let peak = |s: &Vec<f64>| s.iter().copied().fold(0.0, f64::max);
    let mut shown: Vec<usize> = (0..p.preferring.len())
        .filter(|&c| peak(&p.preferring[c]) > 0.0 || p.preferring.len() <= 2)
        .collect();
    shown.sort_by(|&a, &b| peak(&p.preferring[b]).total_cmp(&peak(&p.preferring[a])));
    shown.truncate(MAX_CHOICES);
    shown.sort_unstable();
    for c in shown {
        let series = &p.preferring[c];
        let style = color(c).mix(0.55).stroke_width(2);
        chart
            .draw_series(LineSeries::new(line(series), style))
            .map_err(fail)?
            .label(format!("choice {c}: latest poll"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
    }
    for (c, series) in p.finalized.iter().enumerate() {
        if p.finalized.len() > 1 && series.last().is_some_and(|&s| s == 0.0) {
            continue;
        }
        let style = color(c).stroke_width(4);
        chart
            .draw_series(LineSeries::new(line(series), style))
            .map_err(fail)?
            .label(format!("choice {c}: finalized"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::MiddleRight)
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(160, 160, 160))
        .draw()
        .map_err(fail)
}
