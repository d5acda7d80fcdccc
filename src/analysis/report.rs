//! One run's analysis and its files: `features.csv`, `analysis.json`, `roc.svg`.

use super::detect::{auc, roc, rule_verdicts, Verdict, RULES};
use super::features::{extract, Extracted, Options};
use super::roc::RocFigure;
use super::truth::{read_truth, Truth};
use super::AnalysisError;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A run analysed: features, the rule detector's verdicts, and their scores.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The trace read.
    pub trace: PathBuf,
    /// The truth.
    pub truth: Truth,
    /// Features and matrix.
    pub extracted: Extracted,
    /// One verdict per node.
    pub verdicts: Vec<Verdict>,
    /// The options used.
    pub options: Options,
    /// The flagging threshold on scores.
    pub threshold: f64,
    /// Per strategy (and "all"): how well the scores separate Byzantine from honest.
    pub scores: Vec<StrategyScore>,
}

/// How a detector's scores did on one strategy's nodes against every honest node.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StrategyScore {
    /// The strategy, or "all" for every Byzantine node.
    pub strategy: String,
    /// Byzantine nodes playing it.
    pub byzantine: usize,
    /// ROC AUC (None without honest nodes).
    pub auc: Option<f64>,
    /// Of them, flagged (score >= threshold).
    pub flagged: usize,
    /// Honest nodes flagged.
    pub false_positives: usize,
    /// flagged / (flagged + false_positives), None if nothing was flagged.
    pub precision: Option<f64>,
    /// flagged / byzantine.
    pub recall: f64,
}

/// Scores `scores` (one per node) against `truth` at `threshold`: one row per strategy,
/// then "all" when there are several.
pub fn score(scores: &[f64], truth: &Truth, threshold: f64) -> Vec<StrategyScore> {
    debug_assert_eq!(scores.len(), truth.byzantine.len());
    let honest: Vec<f64> = scores
        .iter()
        .zip(&truth.byzantine)
        .filter(|(_, &b)| !b)
        .map(|(&s, _)| s)
        .collect();
    let false_positives = honest.iter().filter(|&&s| s >= threshold).count();
    let row = |name: &str, of: &dyn Fn(usize) -> bool| {
        let pos: Vec<f64> = (0..scores.len())
            .filter(|&i| of(i))
            .map(|i| scores[i])
            .collect();
        let flagged = pos.iter().filter(|&&s| s >= threshold).count();
        StrategyScore {
            strategy: name.to_owned(),
            byzantine: pos.len(),
            auc: auc(&pos, &honest),
            flagged,
            false_positives,
            precision: (flagged + false_positives > 0)
                .then(|| flagged as f64 / (flagged + false_positives) as f64),
            recall: if pos.is_empty() {
                0.0
            } else {
                flagged as f64 / pos.len() as f64
            },
        }
    };
    let strategies = truth.strategies();
    let mut out: Vec<StrategyScore> = strategies
        .iter()
        .map(|s| row(s, &|i| truth.strategy[i] == *s))
        .collect();
    if strategies.len() > 1 {
        out.push(row("all", &|i| truth.byzantine[i]));
    }
    out
}

/// Analyses the run in `dir` (its `trace.csv` and `nodes.csv`).
pub fn analyze(dir: &Path, options: Options, threshold: f64) -> Result<Analysis, AnalysisError> {
    let trace = dir.join("trace.csv");
    let nodes = dir.join("nodes.csv");
    for (p, what) in [(&trace, "trace.csv"), (&nodes, "nodes.csv")] {
        if !p.exists() {
            let hint = if dir.join("trace.jsonl").exists() {
                "the run wrote trace.jsonl: analyze reads CSV traces (luxsim run --format csv)"
            } else {
                "no such file: rerun with luxsim run --trace messages --out DIR"
            };
            return Err(AnalysisError::Missing {
                path: p.to_path_buf(),
                message: format!("{what}: {hint}"),
            });
        }
    }
    let truth = read_truth(&nodes)?;
    let honest: Vec<bool> = truth.byzantine.iter().map(|b| !b).collect();
    let extracted = extract(&trace, &honest, options)?;
    let verdicts = rule_verdicts(&extracted.nodes);
    let s: Vec<f64> = verdicts.iter().map(|v| v.score).collect();
    let scores = score(&s, &truth, threshold);
    Ok(Analysis {
        trace,
        truth,
        extracted,
        verdicts,
        options,
        threshold,
        scores,
    })
}

/// features.csv's columns.
pub fn feature_header() -> Vec<String> {
    let mut h: Vec<String> = [
        "id",
        "byzantine",
        "strategy",
        "queries_received",
        "answers",
        "response_rate",
        "agree_decision",
        "agree_poll",
        "agree_late",
        "flips",
        "flip_rate",
        "contradictions",
        "contradiction_rate",
        "response_ms",
        "response_ms_max",
        "answer_latency_ms",
        "queries_sent",
        "polls",
        "answers_per_poll",
        "decided",
        "decision_ms",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    h.extend(RULES.iter().map(|r| format!("z_{}", r.name)));
    h.push("score".into());
    h.push("reason".into());
    h
}

fn num(v: Option<f64>) -> String {
    v.map_or(String::new(), |x| format!("{x:.6}"))
}

impl Analysis {
    /// features.csv as text: one row per node, columns of [`feature_header`].
    pub fn features_csv(&self) -> String {
        let mut s = feature_header().join(",");
        s.push('\n');
        for (i, (f, v)) in self.extracted.nodes.iter().zip(&self.verdicts).enumerate() {
            let _ = write!(
                s,
                "{i},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                self.truth.byzantine[i],
                self.truth.strategy[i],
                f.queries_received,
                f.answers,
                num(f.response_rate()),
                num(f.agree_decision_rate()),
                num(f.agree_poll_rate()),
                num(f.agree_late_rate()),
                f.flips,
                num(f.flip_rate()),
                f.contradictions,
                num(f.contradiction_rate()),
                num(f.response_ms()),
                num((f.answers > 0).then(|| f.response_ns_max as f64 / 1e6)),
                num(f.answer_latency_ms()),
                f.queries_sent,
                f.polls,
                num((f.polls > 0).then(|| f.poll_answers as f64 / f.polls as f64)),
                f.decided.map_or(String::new(), |(c, _)| c.to_string()),
                num(f.decided.map(|(_, t)| t as f64 / 1e6)),
            );
            for z in &v.z {
                s.push(',');
                s.push_str(&num(*z));
            }
            let _ = writeln!(s, ",{:.6},{}", v.score, v.reason);
        }
        s
    }

    /// analysis.json as a value.
    pub fn json(&self) -> serde_json::Value {
        let mut order: Vec<usize> = (0..self.verdicts.len()).collect();
        order.sort_by(|&a, &b| self.verdicts[b].score.total_cmp(&self.verdicts[a].score));
        let top: Vec<serde_json::Value> = order
            .iter()
            .take(20)
            .map(|&i| {
                serde_json::json!({
                    "id": i,
                    "score": self.verdicts[i].score,
                    "reason": self.verdicts[i].reason,
                    "byzantine": self.truth.byzantine[i],
                })
            })
            .collect();
        let e = &self.extracted;
        serde_json::json!({
            "format": "luxsim-analysis/1",
            "trace": self.trace.display().to_string(),
            "nodes": e.nodes.len(),
            "byzantine": self.truth.byzantine.iter().filter(|&&b| b).count(),
            "rows": e.rows,
            "decision": e.decision,
            "end_ms": e.end_ns as f64 / 1e6,
            "unmatched_answers": e.unmatched_answers,
            "options": {
                "window_ms": self.options.window_ns as f64 / 1e6,
                "buckets": e.matrix.buckets,
                "bucket_ms": e.matrix.bucket_ns as f64 / 1e6,
                "threshold": self.threshold,
            },
            "detector": "rule",
            "rules": RULES.iter().map(|r| r.name).collect::<Vec<_>>(),
            "scores": self.scores,
            "top": top,
        })
    }

    /// The ROC curve of each strategy's nodes against the honest ones.
    pub fn roc_curves(&self) -> Vec<(String, Vec<(f64, f64)>)> {
        let s: Vec<f64> = self.verdicts.iter().map(|v| v.score).collect();
        let t = &self.truth;
        let honest: Vec<f64> = (0..s.len())
            .filter(|&i| !t.byzantine[i])
            .map(|i| s[i])
            .collect();
        t.strategies()
            .into_iter()
            .map(|name| {
                let pos: Vec<f64> = (0..s.len())
                    .filter(|&i| t.strategy[i] == name)
                    .map(|i| s[i])
                    .collect();
                let curve = roc(&pos, &honest);
                (name, curve)
            })
            .collect()
    }
}

/// Writes `features.csv`, `analysis.json` and (with Byzantine nodes) `roc.svg` into `out`;
/// returns the files written.
pub fn write(a: &Analysis, out: &Path) -> Result<Vec<PathBuf>, AnalysisError> {
    let werr = |path: &Path| {
        let path = path.to_path_buf();
        move |e: std::io::Error| AnalysisError::Write {
            path,
            message: e.to_string(),
        }
    };
    std::fs::create_dir_all(out).map_err(werr(out))?;
    let features = out.join("features.csv");
    crate::util::atomic::write_atomic(&features, a.features_csv().as_bytes())
        .map_err(werr(&features))?;
    let json = out.join("analysis.json");
    let mut text = serde_json::to_string_pretty(&a.json()).unwrap_or_default();
    text.push('\n');
    crate::util::atomic::write_atomic(&json, text.as_bytes()).map_err(werr(&json))?;
    let mut files = vec![features, json];
    let curves = a.roc_curves();
    if !curves.is_empty() && a.truth.byzantine.iter().any(|b| !b) {
        let svg = out.join("roc.svg");
        let fig = RocFigure {
            title: format!("Rule-based detector: {}", a.trace.display()),
            curves,
            scores: a.scores.clone(),
        };
        crate::plot::draw::write_figure(&fig, &svg).map_err(|e| AnalysisError::Write {
            path: svg.clone(),
            message: e.to_string(),
        })?;
        files.push(svg);
    }
    Ok(files)
}
