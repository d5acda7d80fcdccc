//! `report.html`: one self-contained page per run: the figures of `summary.json` as tables
//! and the progress and finality plots as inline SVG (no scripts, no external files).

use super::draw::{svg_string, CdfFigure, ProgressFigure};
use super::input::{load_run, load_summary, locate, Input};
use super::{cdf, progress, PlotError};
use crate::sim::summary::Percentiles;
use crate::sim::Summary;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Writes `report.html` into the run directory `run_dir` (which must hold `summary.json`;
/// the plots need a trace as well) and returns its path.
pub fn write_report(run_dir: &Path) -> Result<PathBuf, PlotError> {
    let (trace, summary_path) = match locate(run_dir)? {
        Input::Run {
            trace,
            summary: Some(summary),
        } => (trace, summary),
        _ => {
            return Err(PlotError::NotFound {
                path: run_dir.to_path_buf(),
                message: "no summary.json: not a run directory".into(),
            })
        }
    };
    let summary = load_summary(&summary_path)?;
    let dir = summary_path.parent().unwrap_or(Path::new("."));
    let draw_err = |message: String| PlotError::Draw {
        path: dir.join("report.html"),
        message,
    };
    let mut figures = String::new();
    match trace {
        Some(_) if summary.ledger.is_some() => figures
            .push_str("<p>A chain or dag ledger run: the plots cover single-decision runs.</p>\n"),
        Some(trace) => {
            let run = load_run(&trace, Some(&summary_path))?;
            let p = svg_string(&ProgressFigure(progress::progress(&run))).map_err(draw_err)?;
            let c = svg_string(&CdfFigure(cdf::cdf(&run))).map_err(draw_err)?;
            let name = trace
                .file_name()
                .map_or(String::new(), |n| n.to_string_lossy().into());
            let note = if run.polls_traced {
                "The thin lines are the share of honest nodes whose latest poll's top choice \
                 is each choice; the thick lines the share that finalized it."
            } else {
                "The trace has no poll rows (run with <code>--trace polls</code> to see \
                 preferences); the lines are the share of honest nodes that finalized."
            };
            let _ = write!(
                figures,
                "<h2>Consensus progress</h2>\n<p>{note} From <code>{}</code>.</p>\n\
                 <figure>{p}</figure>\n<h2>Time to finality</h2>\n<figure>{c}</figure>\n",
                escape(&name)
            );
        }
        None => figures.push_str(
            "<p>No trace in this directory (the run used <code>--trace none</code>), so there \
             are no plots.</p>\n",
        ),
    }
    let html = page(&summary, &figures);
    let path = dir.join("report.html");
    crate::util::atomic::write_atomic(&path, html.as_bytes()).map_err(|source| {
        PlotError::Write {
            path: path.clone(),
            source,
        }
    })?;
    Ok(path)
}

/// Escapes `&`, `<`, `>` and `"` for HTML text and attributes.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The percentiles as `p50 1695.6 ms · p90 ...`; without `unit`, whole numbers lose `.0`.
fn percentiles(p: Option<&Percentiles>, unit: &str) -> String {
    let Some(p) = p else {
        return "none measured (no honest node finalized)".into();
    };
    let v = |x: f64| {
        if x.fract() == 0.0 && unit.is_empty() {
            format!("{x:.0}{unit}")
        } else {
            format!("{x:.1}{unit}")
        }
    };
    format!(
        "p50 {} &middot; p90 {} &middot; p99 {} &middot; max {} (n = {})",
        v(p.p50),
        v(p.p90),
        v(p.p99),
        v(p.max),
        p.n
    )
}

/// The summary's rows: label and HTML value.
fn rows(s: &Summary) -> Vec<(&'static str, String)> {
    let decided: Vec<String> = s
        .decided
        .iter()
        .map(|(c, n)| format!("choice {}: {n}", escape(c)))
        .collect();
    let p = &s.params;
    let mut rows = vec![
        ("scenario", escape(&s.scenario)),
        ("seed", s.seed.to_string()),
        (
            "engine / mode",
            format!("{} / {}", escape(&s.engine), escape(&s.mode)),
        ),
        (
            "parameters",
            format!(
                "k {} &middot; alpha_preference {} &middot; alpha_confidence {} &middot; beta {}",
                p.k, p.alpha_preference, p.alpha_confidence, p.beta
            ),
        ),
        ("nodes", s.nodes.to_string()),
        (
            "byzantine",
            format!(
                "{}{} ({:.1} % of stake)",
                s.byzantine.count,
                s.byzantine
                    .strategy
                    .as_deref()
                    .map(|x| format!(", {}", escape(x)))
                    .unwrap_or_default(),
                s.byzantine.stake_share * 100.0
            ),
        ),
        ("honest nodes", s.honest.to_string()),
        (
            "finalized",
            format!("{:.2} % of honest nodes", s.honest_finalized * 100.0),
        ),
        ("decided", decided.join(", ")),
        (
            "safety",
            if s.safety_violation {
                "<b class=\"bad\">VIOLATED</b>".into()
            } else {
                "<span class=\"ok\">ok</span> (agreement)".into()
            },
        ),
    ];
    match s.rounds {
        Some(rounds) => {
            let r = s.finality_rounds.as_ref();
            rows.push(("rounds to finality", percentiles(r, "")));
            rows.push(("rounds run", rounds.to_string()));
        }
        None => {
            let f = s.finality_ms.as_ref();
            rows.push(("time to finality", percentiles(f, " ms")));
        }
    }
    if s.ended != crate::sim::End::Finalized {
        rows.push(("ended", escape(s.ended.describe())));
    }
    rows.extend([
        ("polls to finality", percentiles(s.polls.as_ref(), "")),
        (
            "events / messages",
            format!("{} / {}", s.events, s.messages),
        ),
        (
            "virtual / wall time",
            format!("{:.1} ms / {:.0} ms", s.virtual_time_ms, s.wall_ms),
        ),
        ("digest", format!("<code>{}</code>", escape(&s.digest))),
    ]);
    rows
}

/// The whole page.
fn page(s: &Summary, figures: &str) -> String {
    let mut html = String::new();
    let title = format!(
        "{} (seed {}): {} nodes, {} byzantine",
        s.scenario, s.seed, s.nodes, s.byzantine.count
    );
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>luxsim report: {t}</title>\n<style>\n\
         body {{ font-family: sans-serif; max-width: 1000px; margin: 2em auto; color: #222; }}\n\
         table {{ border-collapse: collapse; margin: 1em 0; }}\n\
         th, td {{ border: 1px solid #ccc; padding: 4px 10px; text-align: left; }}\n\
         th {{ background: #f2f2f2; }}\n.ok {{ color: #2a7d2a; }}\n.bad {{ color: #c0392b; }}\n\
         figure {{ margin: 0; }} svg {{ max-width: 100%; height: auto; }}\n\
         </style>\n</head>\n<body>\n<h1>{t}</h1>\n<h2>Summary</h2>\n<table class=\"summary\">\n",
        t = escape(&title)
    );
    for (label, value) in rows(s) {
        let _ = writeln!(html, "<tr><th>{label}</th><td>{value}</td></tr>");
    }
    html.push_str("</table>\n");
    if !s.expect.is_empty() {
        html.push_str(
            "<h2>Checks</h2>\n<table class=\"checks\">\n\
             <tr><th>check</th><th>wanted</th><th>got</th><th>result</th></tr>\n",
        );
        for c in &s.expect {
            let result = if c.passed {
                "<span class=\"ok\">passed</span>"
            } else {
                "<b class=\"bad\">FAILED</b>"
            };
            let _ = writeln!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{result}</td></tr>",
                escape(&c.name),
                escape(&c.expected),
                escape(&c.actual)
            );
        }
        html.push_str("</table>\n");
    }
    html.push_str(figures);
    html.push_str("</body>\n</html>\n");
    html
}
