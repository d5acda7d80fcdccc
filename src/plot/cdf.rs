//! The distribution of finality times: the empirical CDF of the time of each honest node's
//! first `decide` row, over the nodes that finalized, with the p50 and p99 marked.

use super::draw::{color, fail, tick};
use super::input::{RunData, TimeUnit};
use crate::sim::summary::Percentiles;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Most step points drawn; larger runs are thinned to evenly spaced ranks.
pub const MAX_POINTS: usize = 2000;

/// The finality-time CDF of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Cdf {
    /// The unit of the x values.
    pub unit: TimeUnit,
    /// Step points `(time, share of finalized nodes)`, share in 0..=1.
    pub points: Vec<(f64, f64)>,
    /// Nodes that finalized.
    pub finalized: usize,
    /// Honest nodes.
    pub honest: usize,
    /// Nearest-rank percentiles of the finality times, in `unit` (as in `summary.json`);
    /// `None` when no node finalized.
    pub percentiles: Option<Percentiles>,
}

/// The CDF of the finality times of `run`.
pub fn cdf(run: &RunData) -> Cdf {
    let span = run.decides.iter().map(|r| r.time).max().unwrap_or(run.end);
    let unit = TimeUnit::for_span(run.lockstep, span);
    let mut times: Vec<f64> = run.decides.iter().map(|r| unit.of(r.time)).collect();
    let percentiles = Percentiles::of(&mut times);
    let n = times.len();
    let stride = n.div_ceil(MAX_POINTS).max(1);
    let mut points = Vec::with_capacity(2 * n / stride + 2);
    let mut below = 0.0;
    for i in (0..n).filter(|&i| (i + 1) % stride == 0 || i + 1 == n) {
        let share = (i + 1) as f64 / n as f64;
        points.push((times[i], below));
        points.push((times[i], share));
        below = share;
    }
    Cdf {
        unit,
        points,
        finalized: n,
        honest: run.honest,
        percentiles,
    }
}

/// Draws the CDF `c` into `area`.
pub fn draw<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, c: &Cdf) -> Result<(), String> {
    let x_max = c.percentiles.map_or(1.0, |p| (p.max * 1.05).max(1.0));
    let caption = if c.finalized == 0 {
        format!(
            "Time to finality: none of {} honest nodes finalized",
            c.honest
        )
    } else {
        format!(
            "Time to finality: CDF over the {} of {} honest nodes that finalized",
            c.finalized, c.honest
        )
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
        .x_desc(format!("time to finality ({})", c.unit.suffix.trim()))
        .y_desc("finalized nodes (%)")
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 15))
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .light_line_style(RGBColor(238, 238, 238))
        .max_light_lines(2)
        .draw()
        .map_err(fail)?;
    let Some(p) = c.percentiles else {
        return Ok(());
    };
    let style = color(0).stroke_width(3);
    let points = c.points.iter().map(|&(t, s)| (t, s * 100.0));
    chart
        .draw_series(LineSeries::new(points, style))
        .map_err(fail)?
        .label("finalized by time t")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
    let marks = [("p50", p.p50, color(1)), ("p99", p.p99, color(3))];
    for (name, at, col) in marks {
        let style = col.stroke_width(2);
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(at, 0.0), (at, 100.0)],
                style,
            )))
            .map_err(fail)?
            .label(format!("{name} = {}", fmt_value(at, c.unit)))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(160, 160, 160))
        .draw()
        .map_err(fail)
}

/// `value` with its unit, e.g. `812.4 ms` or `17 rounds`.
pub fn fmt_value(value: f64, unit: TimeUnit) -> String {
    if unit.per_unit == 1.0 {
        format!("{value}{}", unit.suffix)
    } else {
        format!("{value:.1}{}", unit.suffix)
    }
}
