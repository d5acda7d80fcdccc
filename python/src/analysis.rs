//! `luxsim analyze` from Python: one run's features, vote matrix, rule verdicts and scores,
//! computed by the core with the GIL released; `luxsim/analysis.py` makes them pandas and
//! numpy objects.

use luxsim::analysis::{self, AnalysisError, Options};
use pyo3::exceptions::{PyFileNotFoundError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use std::path::PathBuf;

fn analysis_error(e: AnalysisError) -> PyErr {
    match e {
        AnalysisError::Missing { .. } | AnalysisError::Read { .. } => {
            PyFileNotFoundError::new_err(e.to_string())
        }
        other => PyValueError::new_err(other.to_string()),
    }
}

/// Analyses the run in `run_dir`: a dict with `columns` (features.csv's columns as lists,
/// empty cells None), `matrix` (little-endian i32 bytes, `nodes` x `buckets`), `report`
/// (analysis.json's text) and, when `out` is given, `files` (what was written there).
#[pyfunction]
#[pyo3(signature = (run_dir, window_ns, buckets, threshold, out=None))]
pub fn analyze_run<'py>(
    py: Python<'py>,
    run_dir: PathBuf,
    window_ns: u64,
    buckets: usize,
    threshold: f64,
    out: Option<PathBuf>,
) -> PyResult<Bound<'py, PyDict>> {
    if buckets == 0 {
        return Err(PyValueError::new_err("buckets must be at least 1"));
    }
    let opts = Options { window_ns, buckets };
    let (a, files) = py
        .allow_threads(|| {
            let a = analysis::analyze(&run_dir, opts, threshold)?;
            let files = match &out {
                Some(dir) => analysis::write(&a, dir)?,
                None => Vec::new(),
            };
            Ok((a, files))
        })
        .map_err(analysis_error)?;
    let d = PyDict::new(py);
    let text = a.features_csv();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let mut columns: Vec<Vec<Option<String>>> = vec![Vec::new(); header.len()];
    for line in lines {
        for (c, v) in columns.iter_mut().zip(line.split(',')) {
            c.push((!v.is_empty()).then(|| v.to_owned()));
        }
    }
    let cols = PyDict::new(py);
    for (name, values) in header.iter().zip(columns) {
        cols.set_item(name, values)?;
    }
    d.set_item("columns", cols)?;
    d.set_item("header", header)?;
    let m = &a.extracted.matrix;
    let bytes: Vec<u8> = m.cells.iter().flat_map(|c| c.to_le_bytes()).collect();
    d.set_item("matrix", PyBytes::new(py, &bytes))?;
    d.set_item("nodes", m.nodes)?;
    d.set_item("buckets", m.buckets)?;
    d.set_item("bucket_ns", m.bucket_ns)?;
    let report = serde_json::to_string(&a.json()).unwrap_or_default();
    d.set_item("report", report)?;
    d.set_item(
        "files",
        files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>(),
    )?;
    Ok(d)
}

/// Scores any detector's `scores` (one per node) against the run's `nodes.csv` at
/// `threshold`: a list of dicts (strategy, byzantine, auc, flagged, false_positives,
/// precision, recall), as analysis.json's `scores`.
#[pyfunction]
pub fn score_detector(nodes_csv: PathBuf, scores: Vec<f64>, threshold: f64) -> PyResult<String> {
    let truth = analysis::read_truth(&nodes_csv).map_err(analysis_error)?;
    if scores.len() != truth.byzantine.len() {
        return Err(PyValueError::new_err(format!(
            "{} scores for the {} nodes of {}",
            scores.len(),
            truth.byzantine.len(),
            nodes_csv.display()
        )));
    }
    if let Some(i) = scores.iter().position(|s| !s.is_finite()) {
        return Err(PyValueError::new_err(format!(
            "score of node {i} is not finite"
        )));
    }
    let rows = analysis::score(&scores, &truth, threshold);
    Ok(serde_json::to_string(&rows).unwrap_or_default())
}
