//! `luxsim predict`: loads a model and a scenario, prints the features, the baseline and
//! the predicted times (text, or JSON with `--json`).

use super::{baseline, features, Features, Model, PredictError};
use crate::sim::scenario::Scenario;
use crate::util::console::{say, EXIT_BAD_INPUT, EXIT_OK};
use serde::Serialize;
use std::path::Path;

/// What `luxsim predict --json` prints.
#[derive(Serialize)]
struct Report<'a> {
    scenario: String,
    model: String,
    features: &'a Features,
    baseline_ms: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// `luxsim predict`: features, baseline and prediction of a scenario; the exit code.
pub fn command_predict(model: &Path, scenario: &Path, set: &[String], json: bool) -> u8 {
    match try_predict(model, scenario, set, json) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_BAD_INPUT
        }
    }
}

fn try_predict(
    model: &Path,
    scenario: &Path,
    set: &[String],
    json: bool,
) -> Result<(), PredictError> {
    let m = Model::load(model)?;
    let s = Scenario::load(scenario, set)?;
    let f = features(&s)?;
    let b = baseline(&s);
    let p = m.predict(&f, b);
    for (target, value) in [("p50_ms", p.p50_ms), ("p99_ms", p.p99_ms)] {
        if !value.is_finite() {
            return Err(PredictError::NotFinite { target, value });
        }
    }
    if json {
        let report = Report {
            scenario: scenario.display().to_string(),
            model: model.display().to_string(),
            features: &f,
            baseline_ms: b,
            p50_ms: p.p50_ms,
            p99_ms: p.p99_ms,
        };
        say(serde_json::to_string_pretty(&report).expect("plain data serializes"));
        return Ok(());
    }
    say(format_args!(
        "{} ({}), model {}",
        s.name,
        scenario.display(),
        model.display()
    ));
    for (name, value) in f.iter() {
        say(format_args!("  {name:<26} {value}"));
    }
    say(format_args!("baseline    {b:.1} ms"));
    say(format_args!("p50         {:.1} ms", p.p50_ms));
    say(format_args!("p99         {:.1} ms", p.p99_ms));
    Ok(())
}
