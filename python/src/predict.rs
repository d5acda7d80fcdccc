//! Consensus-time prediction from Python: a scenario's features and the analytic baseline,
//! computed by the same code as `luxsim predict` (`luxsim::experiment::predict`). The
//! Python side (`luxsim/predict.py`) fits and evaluates the models.

use crate::sim::{Scenario, ScenarioError};
use luxsim::experiment;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The features of a single-decision event-mode scenario, as an ordered dict (names as
/// `luxsim predict --json` prints them); `ScenarioError` for any other scenario.
#[pyfunction]
pub(crate) fn scenario_features<'p>(
    py: Python<'p>,
    scenario: &Scenario,
) -> PyResult<Bound<'p, PyDict>> {
    let f =
        experiment::features(&scenario.inner).map_err(|e| ScenarioError::new_err(e.to_string()))?;
    let d = PyDict::new(py);
    for (name, value) in f.iter() {
        d.set_item(name, value)?;
    }
    Ok(d)
}

/// The analytic baseline, ms: `beta / concurrent_polls * 2 * (latency median + region base)`.
#[pyfunction]
pub(crate) fn scenario_baseline(scenario: &Scenario) -> f64 {
    experiment::baseline(&scenario.inner)
}
