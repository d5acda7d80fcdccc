//! Sweeps: finality p50 and p99 against the varied key from a sweep's `points.csv`, one line
//! per value of the other varied keys, and heat maps when exactly two keys vary.
//!
//! `points.csv` (written by `luxsim sweep`) starts with the key columns (scenario key paths
//! such as `params.k` or `byzantine.fraction`), then `runs` and the aggregated columns; in a
//! file without a `runs` column the keys are the leading columns named like key paths. The
//! finality columns are found by name: `finality_p50_ms` and `finality_p99_ms` when present,
//! else the first columns whose names hold `p50` (and `p99`), preferring ones that also hold
//! `finality`. Rows with equal keys are averaged; empty or non-numeric values are skipped.

use super::draw::{color, fail, tick, Figure};
use super::PlotError;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::{Path, PathBuf};

/// Top-level scenario keys, which have no dot but can be varied.
const TOP_LEVEL_KEYS: [&str; 6] = ["name", "seed", "engine", "mode", "max_time", "max_rounds"];

/// One row of `points.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// The value of each key column, as written.
    pub keys: Vec<String>,
    /// The finality p50, when the column holds a number.
    pub p50: Option<f64>,
    /// The finality p99, when the column holds a number.
    pub p99: Option<f64>,
}

/// A sweep's points.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    /// The points file.
    pub path: PathBuf,
    /// The key columns, in file order.
    pub keys: Vec<String>,
    /// Indexes into `keys` of the keys that take more than one value.
    pub varied: Vec<usize>,
    /// The names of the p50 and p99 columns.
    pub columns: [String; 2],
    /// The rows.
    pub points: Vec<Point>,
}

/// Reads a sweep's `points.csv`.
pub fn load(path: &Path) -> Result<Sweep, PlotError> {
    let file = std::fs::File::open(path).map_err(|source| PlotError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    read(std::io::BufReader::new(file), path)
}

/// Reads a `points.csv` from `reader`; `path` names it in errors.
pub fn read(reader: impl std::io::Read, path: &Path) -> Result<Sweep, PlotError> {
    let bad = |line: u64, message: String| PlotError::Malformed {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut csv = csv::Reader::from_reader(reader);
    let header = csv.headers().map_err(|e| bad(1, e.to_string()))?.clone();
    let names: Vec<&str> = header.iter().collect();
    // `luxsim sweep` writes the keys, then `runs`; other files: the leading key-like columns.
    let nkeys = names.iter().position(|n| *n == "runs").unwrap_or_else(|| {
        names
            .iter()
            .take_while(|n| n.contains('.') || TOP_LEVEL_KEYS.contains(n))
            .count()
    });
    if nkeys == 0 {
        return Err(bad(
            1,
            "no key columns: the first columns must be scenario keys such as params.k".into(),
        ));
    }
    let find = |q: &str| -> Result<usize, PlotError> {
        let exact = format!("finality_{q}_ms");
        let rest = || names.iter().enumerate().skip(nkeys);
        rest()
            .find(|(_, n)| **n == exact)
            .or_else(|| rest().find(|(_, n)| n.contains(q) && n.contains("finality")))
            .or_else(|| rest().find(|(_, n)| n.contains(q)))
            .map(|(i, _)| i)
            .ok_or_else(|| {
                bad(
                    1,
                    format!("no {q} column (expected one named like {exact})"),
                )
            })
    };
    let (c50, c99) = (find("p50")?, find("p99")?);
    let mut points = Vec::new();
    for record in csv.records() {
        let record =
            record.map_err(|e| bad(e.position().map_or(0, |p| p.line()), e.to_string()))?;
        let number = |i: usize| record.get(i).and_then(|v| v.trim().parse::<f64>().ok());
        points.push(Point {
            keys: (0..nkeys)
                .map(|i| record.get(i).unwrap_or("").to_string())
                .collect(),
            p50: number(c50).filter(|v| v.is_finite()),
            p99: number(c99).filter(|v| v.is_finite()),
        });
    }
    if points.is_empty() {
        return Err(bad(2, "no points: the file has a header only".into()));
    }
    let varied = (0..nkeys)
        .filter(|&k| points.iter().any(|p| p.keys[k] != points[0].keys[k]))
        .collect();
    Ok(Sweep {
        path: path.to_path_buf(),
        keys: names[..nkeys].iter().map(|s| s.to_string()).collect(),
        varied,
        columns: [names[c50].to_string(), names[c99].to_string()],
        points,
    })
}

/// Which aggregated column a panel shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// The finality p50.
    P50,
    /// The finality p99.
    P99,
}

impl Metric {
    fn of(self, p: &Point) -> Option<f64> {
        match self {
            Metric::P50 => p.p50,
            Metric::P99 => p.p99,
        }
    }
}

/// The distinct values of key `k` in order: numerically when all are numbers, else as met.
fn values(s: &Sweep, k: usize) -> (Vec<String>, bool) {
    let mut v: Vec<String> = Vec::new();
    for p in &s.points {
        if !v.contains(&p.keys[k]) {
            v.push(p.keys[k].clone());
        }
    }
    let numeric = v.iter().all(|x| x.parse::<f64>().is_ok());
    if numeric {
        v.sort_by(|a, b| num(a).total_cmp(&num(b)));
    }
    (v, numeric)
}

fn num(s: &str) -> f64 {
    s.parse().unwrap_or(f64::NAN)
}

/// The mean of `metric` over the points that `keep` selects, if any holds a number.
fn mean(s: &Sweep, metric: Metric, keep: impl Fn(&Point) -> bool) -> Option<f64> {
    let v: Vec<f64> = s
        .points
        .iter()
        .filter(|p| keep(p))
        .filter_map(|p| metric.of(p))
        .collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// The label of a category axis at `v`: the category whose index `v` is, if any.
fn category(labels: &[String], v: f64) -> String {
    let i = v.round();
    if (v - i).abs() > 1e-6 || i < 0.0 {
        return String::new();
    }
    labels.get(i as usize).cloned().unwrap_or_default()
}

/// Draws `metric` against the first varied key, one line per value of the other varied keys.
pub fn draw_lines<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    s: &Sweep,
    metric: Metric,
) -> Result<(), String> {
    let column = &s.columns[metric as usize];
    let xk = s.varied.first().copied().unwrap_or(0);
    let others: Vec<usize> = s.varied.iter().copied().filter(|&k| k != xk).collect();
    let (xs, numeric) = values(s, xk);
    let x_of = |i: usize| if numeric { num(&xs[i]) } else { i as f64 };
    let mut groups: Vec<Vec<String>> = Vec::new();
    for p in &s.points {
        let g: Vec<String> = others.iter().map(|&k| p.keys[k].clone()).collect();
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    let lines: Vec<(String, Vec<(f64, f64)>)> = groups
        .iter()
        .map(|g| {
            let label = others
                .iter()
                .zip(g)
                .map(|(&k, v)| format!("{}={v}", s.keys[k]))
                .collect::<Vec<_>>()
                .join(", ");
            let pts = (0..xs.len())
                .filter_map(|i| {
                    let y = mean(s, metric, |p| {
                        p.keys[xk] == xs[i] && others.iter().zip(g).all(|(&k, v)| &p.keys[k] == v)
                    })?;
                    Some((x_of(i), y))
                })
                .collect();
            (label, pts)
        })
        .collect();
    let all = || lines.iter().flat_map(|(_, p)| p.iter());
    let (x0, x1) = if numeric {
        let lo = all().map(|p| p.0).fold(f64::INFINITY, f64::min);
        let hi = all().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
        let pad = if hi > lo {
            (hi - lo) * 0.05
        } else {
            (lo.abs() * 0.1).max(1.0)
        };
        if lo.is_finite() {
            (lo - pad, hi + pad)
        } else {
            (0.0, 1.0)
        }
    } else {
        (-0.5, xs.len() as f64 - 0.5)
    };
    let y1 = all().map(|p| p.1).fold(0.0, f64::max).max(1.0) * 1.1;
    let mut chart = ChartBuilder::on(area)
        .caption(format!("{column} by {}", s.keys[xk]), ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, 0.0..y1)
        .map_err(fail)?;
    let fmt_x = |v: &f64| {
        if numeric {
            tick(v)
        } else {
            category(&xs, *v)
        }
    };
    chart
        .configure_mesh()
        .x_desc(s.keys[xk].as_str())
        .y_desc(column.as_str())
        .x_labels(if numeric { 10 } else { xs.len() })
        .x_label_formatter(&fmt_x)
        .y_label_formatter(&tick)
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 15))
        .light_line_style(RGBColor(238, 238, 238))
        .max_light_lines(2)
        .draw()
        .map_err(fail)?;
    for (i, (label, pts)) in lines.into_iter().enumerate() {
        let style = color(i).stroke_width(2);
        let label = if label.is_empty() {
            column.clone()
        } else {
            label
        };
        chart
            .draw_series(LineSeries::new(pts.clone(), style))
            .map_err(fail)?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
        chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, 4, style.filled())))
            .map_err(fail)?;
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

/// The colour of `t` in 0..=1 on a viridis-like scale.
fn scale(t: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    } * 4.0;
    let i = (t.floor() as usize).min(3);
    let f = t - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |x: f64, y: f64| (x + (y - x) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Draws a heat map of `metric` over the first two varied keys (nothing when fewer vary).
pub fn draw_heat<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    s: &Sweep,
    metric: Metric,
) -> Result<(), String> {
    let [kx, ky] = match s.varied[..] {
        [a, b, ..] => [a, b],
        _ => return Ok(()),
    };
    let column = &s.columns[metric as usize];
    let ((xs, _), (ys, _)) = (values(s, kx), values(s, ky));
    let cells: Vec<(usize, usize, Option<f64>)> = (0..xs.len())
        .flat_map(|i| (0..ys.len()).map(move |j| (i, j)))
        .map(|(i, j)| {
            let v = mean(s, metric, |p| p.keys[kx] == xs[i] && p.keys[ky] == ys[j]);
            (i, j, v)
        })
        .collect();
    let present = || cells.iter().filter_map(|c| c.2);
    let lo = present().fold(f64::INFINITY, f64::min);
    let hi = present().fold(f64::NEG_INFINITY, f64::max);
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!("{column} ({} x {})", s.keys[kx], s.keys[ky]),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.5..xs.len() as f64 - 0.5, -0.5..ys.len() as f64 - 0.5)
        .map_err(fail)?;
    let (fx, fy) = (|v: &f64| category(&xs, *v), |v: &f64| category(&ys, *v));
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(s.keys[kx].as_str())
        .y_desc(s.keys[ky].as_str())
        .x_labels(xs.len())
        .y_labels(ys.len())
        .x_label_formatter(&fx)
        .y_label_formatter(&fy)
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 15))
        .draw()
        .map_err(fail)?;
    let t = |v: f64| if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
    chart
        .draw_series(cells.iter().map(|&(i, j, v)| {
            let (x, y) = (i as f64, j as f64);
            let fill = v.map_or(RGBColor(200, 200, 200), |v| scale(t(v)));
            Rectangle::new([(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)], fill.filled())
        }))
        .map_err(fail)?;
    if cells.len() <= 400 {
        let center = Pos::new(HPos::Center, VPos::Center);
        chart
            .draw_series(cells.iter().map(|&(i, j, v)| {
                let ink = match v {
                    Some(v) if t(v) < 0.6 => WHITE,
                    _ => BLACK,
                };
                let text = v.map_or("n/a".to_string(), |v| format!("{v:.0}"));
                let style = ("sans-serif", 14).into_font().color(&ink).pos(center);
                Text::new(text, (i as f64, j as f64), style)
            }))
            .map_err(fail)?;
    }
    Ok(())
}

/// A sweep's figure: p50 and p99 line charts, and heat maps below when two keys vary.
pub struct SweepFigure<'a>(pub &'a Sweep);

impl Figure for SweepFigure<'_> {
    fn size(&self) -> (u32, u32) {
        if self.0.varied.len() == 2 {
            (1400, 1160)
        } else {
            (1400, 600)
        }
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(fail)?;
        let title = format!("Sweep {}", self.0.path.display());
        let body = root.titled(&title, ("sans-serif", 24)).map_err(fail)?;
        let heat = self.0.varied.len() == 2;
        let panels = body.split_evenly((if heat { 2 } else { 1 }, 2));
        draw_lines(&panels[0], self.0, Metric::P50)?;
        draw_lines(&panels[1], self.0, Metric::P99)?;
        if heat {
            draw_heat(&panels[2], self.0, Metric::P50)?;
            draw_heat(&panels[3], self.0, Metric::P99)?;
        }
        Ok(())
    }
}
