//! Consensus-time prediction (`luxsim predict`): a scenario's features, the analytic
//! baseline, and a JSON linear model that corrects the baseline (see `docs/prediction.md`).
//!
//! A model predicts `ln(target / baseline)` for each target (`p50_ms`, `p99_ms`, a run's
//! median and 99th-percentile time to finality) as `intercept + sum(w_j * term_j)`, where a
//! term is `transform(product of features / product of features)`. The Python package fits
//! models (`luxsim.predict`) and evaluates them with the same arithmetic, term by term.

use crate::node::{Stake, StakeError, Strategy};
use crate::sim::latency::Latency;
use crate::sim::population::Population;
use crate::sim::rng::{rng_for, Purpose};
use crate::sim::scenario::{Mode, Scenario, ScenarioError};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use std::path::Path;
use std::time::Duration;
use thiserror::Error;

mod command;
#[cfg(test)]
mod tests;

pub use command::command_predict;

/// The `format` tag of a model file.
pub const MODEL_FORMAT: &str = "luxsim-predict/1";

/// The names of the features, in the order of [`Features::values`] and of a model file.
pub const FEATURE_NAMES: &[&str] = &[
    "nodes",
    "k",
    "alpha_preference",
    "alpha_confidence",
    "beta",
    "concurrent_polls",
    "latency_median_ms",
    "latency_p95_ms",
    "region_base_ms",
    "poll_timeout_ms",
    "loss",
    "lossy_poll_share",
    "byzantine_share",
    "byzantine_stake_share",
    "strategy_silent",
    "strategy_stubborn",
    "strategy_random",
    "strategy_equivocate",
    "strategy_balance",
    "strategy_delay",
    "strategy_balance_simple",
    "strategy_balance_informed",
    "strategy_split",
    "stake_gini",
    "choices",
    "initial_max_share",
];

/// Index of the first strategy one-hot in [`FEATURE_NAMES`].
const STRATEGY_BASE: usize = 14;

/// The position of a strategy's one-hot among the nine (exhaustive: a new strategy must
/// get a feature).
fn strategy_slot(s: Strategy) -> usize {
    match s {
        Strategy::Silent => 0,
        Strategy::Stubborn => 1,
        Strategy::Random => 2,
        Strategy::Equivocate => 3,
        Strategy::Balance => 4,
        Strategy::Delay => 5,
        Strategy::BalanceSimple => 6,
        Strategy::BalanceInformed => 7,
        Strategy::Split => 8,
    }
}

/// The 95th percentile of the standard normal distribution.
const Z95: f64 = 1.644_853_626_951_472_2;

/// Why a scenario cannot be featurized, or a model loaded or applied.
#[derive(Debug, Error)]
pub enum PredictError {
    /// The scenario is of a kind the features do not describe.
    #[error(
        "{what}: prediction covers single-decision event-mode scenarios without partitions or crashes"
    )]
    Unsupported {
        /// What the scenario has (`engine = chain`, `mode = lockstep`, ...).
        what: String,
    },
    /// The scenario could not be loaded.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The stake distribution cannot be drawn.
    #[error("network.stake: {0}")]
    Stake(#[from] StakeError),
    /// The model file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The model file is not valid JSON, or a field has the wrong type.
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// Line of the error (1-based).
        line: usize,
        /// Column of the error (1-based).
        column: usize,
        /// What serde_json says.
        message: String,
    },
    /// The model file's `format` tag is missing or unknown.
    #[error("{path}: format {found:?} is not {MODEL_FORMAT:?}")]
    Format {
        /// The file.
        path: String,
        /// The tag found (empty when absent).
        found: String,
    },
    /// The model's feature names are not this build's.
    #[error("{path}: the model's features differ from luxsim's: {message}")]
    FeatureMismatch {
        /// The file.
        path: String,
        /// The first difference.
        message: String,
    },
    /// The model is inconsistent (a term names an unknown feature, a weight is missing).
    #[error("{path}: {message}")]
    BadModel {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A prediction came out infinite or NaN (a `log` term of a feature <= 0, say).
    #[error(
        "the predicted {target} is {value}: a term of the model is undefined for this scenario"
    )]
    NotFinite {
        /// `p50_ms` or `p99_ms`.
        target: &'static str,
        /// The value.
        value: f64,
    },
}

/// A scenario's features: one f64 per name of [`FEATURE_NAMES`], in that order.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    values: Vec<f64>,
}

impl Features {
    /// Features from values in the order of [`FEATURE_NAMES`] (`None` if the count differs).
    pub fn from_values(values: Vec<f64>) -> Option<Features> {
        (values.len() == FEATURE_NAMES.len()).then_some(Features { values })
    }
    /// The values, in the order of [`FEATURE_NAMES`].
    pub fn values(&self) -> &[f64] {
        &self.values
    }
    /// The value of feature `name`, if there is one.
    pub fn get(&self, name: &str) -> Option<f64> {
        FEATURE_NAMES
            .iter()
            .position(|&n| n == name)
            .map(|i| self.values[i])
    }
    /// `(name, value)` pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, f64)> + '_ {
        FEATURE_NAMES
            .iter()
            .copied()
            .zip(self.values.iter().copied())
    }
}

impl Serialize for Features {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.values.len()))?;
        for (name, value) in self.iter() {
            map.serialize_entry(name, &value)?;
        }
        map.end()
    }
}

/// Milliseconds of a duration, from its nanoseconds.
fn ms(d: Duration) -> f64 {
    crate::util::nanos(d) as f64 / 1e6
}

/// The closed-form median and 95th percentile, in ms, of one draw of a latency model.
///
/// `constant`: its value (both); `uniform`: `(min + max) / 2` and `min + 0.95 (max - min)`;
/// `normal` (negative draws clamped to 0): `mean` and `max(0, mean + 1.645 std)`;
/// `lognormal`: `median` and `median * exp(1.645 sigma)`; `exponential`: `mean * ln 2` and
/// `mean * ln 20`.
pub fn latency_quantiles_ms(l: &Latency) -> (f64, f64) {
    match *l {
        Latency::Constant { value } => (ms(value), ms(value)),
        Latency::Uniform { min, max } => {
            let (lo, hi) = (ms(min), ms(max));
            (lo + (hi - lo) / 2.0, lo + 0.95 * (hi - lo))
        }
        Latency::Normal { mean, std } => (ms(mean), (ms(mean) + Z95 * ms(std)).max(0.0)),
        Latency::Lognormal { median, sigma } => (ms(median), ms(median) * (Z95 * sigma).exp()),
        Latency::Exponential { mean } => (ms(mean) * std::f64::consts::LN_2, ms(mean) * 20f64.ln()),
    }
}

/// The mean region base latency (ms) over ordered pairs of distinct nodes (node i is in
/// region `i % R`); 0 without regions or with one node.
fn region_base_ms(s: &Scenario) -> f64 {
    let (Some(r), n) = (&s.network.regions, s.network.nodes) else {
        return 0.0;
    };
    let regions = r.names.len();
    if regions == 0 || n < 2 {
        return 0.0;
    }
    let count = |a: usize| (n / regions + usize::from(a < n % regions)) as f64;
    let mut sum = 0.0;
    for (a, row) in r.base.iter().enumerate().take(regions) {
        for (b, &base) in row.iter().enumerate().take(regions) {
            let pairs = count(a) * (count(b) - f64::from(u8::from(a == b)));
            sum += pairs * ms(base);
        }
    }
    sum / (n as f64 * (n as f64 - 1.0))
}

/// The Gini coefficient of `weights` (0: all equal; towards 1: one node holds everything).
pub fn gini(weights: &[f64]) -> f64 {
    let n = weights.len();
    let total: f64 = weights.iter().sum();
    if n < 2 || total <= 0.0 {
        return 0.0;
    }
    let mut sorted = weights.to_vec();
    sorted.sort_by(f64::total_cmp);
    let ranked: f64 = sorted
        .iter()
        .enumerate()
        .map(|(i, w)| (i + 1) as f64 * w)
        .sum();
    let nf = n as f64;
    2.0 * ranked / (nf * total) - (nf + 1.0) / nf
}

/// Checks the scenario is of the kind the features describe.
fn supported(s: &Scenario) -> Result<(), PredictError> {
    let what = if s.engine.is_ledger() {
        format!("engine = {}", s.engine.name())
    } else if s.mode != Mode::Event {
        format!("mode = {}", s.mode.name())
    } else if !s.network.partitions.is_empty() {
        "network.partitions".to_string()
    } else if !s.network.crashes.is_empty() {
        "network.crashes".to_string()
    } else {
        return Ok(());
    };
    Err(PredictError::Unsupported { what })
}

/// The features of a single-decision event-mode scenario (see `docs/prediction.md`).
///
/// Stake and the Byzantine set are drawn as a run with the scenario's seed draws them
/// (`stake_gini`, `byzantine_share`, `byzantine_stake_share`); `lossy_poll_share` is
/// `1 - (1 - loss)^(2k)`, the share of polls that lose a query or an answer; the strategy
/// one-hots are all 0 when no node is Byzantine.
pub fn features(s: &Scenario) -> Result<Features, PredictError> {
    supported(s)?;
    let n = s.network.nodes;
    let p = &s.params;
    let weights = s
        .network
        .stake
        .weights(n, &mut rng_for(s.seed, Purpose::Stake))?;
    let stake_gini = match s.network.stake {
        Stake::Uniform => 0.0,
        _ => gini(&weights),
    };
    let pop = Population::draw(s)?;
    let byz = pop.byzantine.iter().filter(|&&b| b).count();
    let (median, p95) = latency_quantiles_ms(&s.network.latency);
    let loss = s.network.loss;
    let mut v = vec![
        n as f64,
        p.k as f64,
        p.alpha_preference as f64,
        p.alpha_confidence as f64,
        p.beta as f64,
        p.concurrent_polls as f64,
        median,
        p95,
        region_base_ms(s),
        ms(s.network.poll_timeout),
        loss,
        1.0 - (1.0 - loss).powf(2.0 * p.k as f64),
        byz as f64 / n as f64,
        pop.byzantine_stake,
    ];
    let mut strategies = [0.0; 9];
    if let (Some(b), true) = (&s.byzantine, byz > 0) {
        strategies[strategy_slot(b.strategy)] = 1.0;
    }
    v.extend(strategies);
    let initial_max = s.workload.initial.iter().copied().fold(0.0, f64::max);
    v.extend([stake_gini, s.workload.choices as f64, initial_max]);
    debug_assert_eq!(v.len(), FEATURE_NAMES.len());
    debug_assert_eq!(FEATURE_NAMES[STRATEGY_BASE], "strategy_silent");
    Ok(Features { values: v })
}

/// The analytic estimate of the time to finality, ms: `beta / concurrent_polls` round trips
/// of `2 * (latency_median_ms + region_base_ms)` each.
///
/// A node needs at least `beta` successful polls and keeps `concurrent_polls` of them in
/// flight, each taking one round trip, so it completes `concurrent_polls` polls per round
/// trip. This ignores that a poll waits for its slowest answer, timeouts, and the polls
/// needed to break an even split; the model corrects for them.
pub fn baseline(s: &Scenario) -> f64 {
    let (median, _) = latency_quantiles_ms(&s.network.latency);
    baseline_of(
        s.params.beta as f64,
        s.params.concurrent_polls as f64,
        median + region_base_ms(s),
    )
}

/// The baseline from its three inputs (ms).
fn baseline_of(beta: f64, concurrent: f64, one_way_ms: f64) -> f64 {
    beta / concurrent * (2.0 * one_way_ms)
}

/// How a term maps its product of features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transform {
    /// The value itself.
    Identity,
    /// `ln(x)`.
    Log,
    /// `ln(1 + x)`.
    Log1p,
}

impl Transform {
    fn apply(self, x: f64) -> f64 {
        match self {
            Transform::Identity => x,
            Transform::Log => x.ln(),
            Transform::Log1p => x.ln_1p(),
        }
    }
}

/// One input of a linear model: `transform(of[0] * of[1] * ... / per[0] / per[1] ...)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Term {
    /// How the product is mapped.
    pub transform: Transform,
    /// Features multiplied together (at least one).
    pub of: Vec<String>,
    /// Features divided by, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub per: Vec<String>,
}

impl Term {
    /// The term's value for `f` (NaN if it names an unknown feature).
    pub fn value(&self, f: &Features) -> f64 {
        let get = |name: &String| f.get(name).unwrap_or(f64::NAN);
        let mut x = 1.0;
        for name in &self.of {
            x *= get(name);
        }
        for name in &self.per {
            x /= get(name);
        }
        self.transform.apply(x)
    }
}

/// `intercept + sum(weights[j] * term_j)`: the predicted `ln(target / baseline)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Linear {
    /// The constant.
    pub intercept: f64,
    /// One weight per term of the model.
    pub weights: Vec<f64>,
}

/// The two targets of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    /// A run's median time to finality.
    pub p50_ms: Linear,
    /// A run's 99th-percentile time to finality.
    pub p99_ms: Linear,
}

/// A consensus-time model file (`docs/prediction.md`, format `luxsim-predict/1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    /// Always [`MODEL_FORMAT`].
    pub format: String,
    /// The feature names, as [`FEATURE_NAMES`].
    pub features: Vec<String>,
    /// The terms, shared by both targets.
    pub terms: Vec<Term>,
    /// One linear model per target.
    pub targets: Targets,
    /// Free-form facts about the training (kept, never read).
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub about: serde_json::Value,
}

/// Predicted times to finality, ms.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Prediction {
    /// A run's median time to finality.
    pub p50_ms: f64,
    /// A run's 99th-percentile time to finality.
    pub p99_ms: f64,
}

impl Model {
    /// Reads and checks the model file at `path`; every error names the file.
    pub fn load(path: &Path) -> Result<Model, PredictError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| PredictError::Read {
            path: origin.clone(),
            source,
        })?;
        Model::parse(&text, &origin)
    }

    /// Parses and checks a model from JSON `text` (`origin` names it in errors).
    pub fn parse(text: &str, origin: &str) -> Result<Model, PredictError> {
        let located = |e: serde_json::Error| {
            // serde_json ends its message with the position, which the error shows first.
            let text = e.to_string();
            let message = match text.rfind(" at line ") {
                Some(at) => text[..at].to_string(),
                None => text,
            };
            PredictError::Parse {
                path: origin.to_string(),
                line: e.line(),
                column: e.column(),
                message,
            }
        };
        // The tag first: a file of another format need not have our fields.
        let value: serde_json::Value = serde_json::from_str(text).map_err(located)?;
        let found = value.get("format").and_then(|f| f.as_str()).unwrap_or("");
        if found != MODEL_FORMAT {
            return Err(PredictError::Format {
                path: origin.to_string(),
                found: found.to_string(),
            });
        }
        let model: Model = serde_json::from_str(text).map_err(located)?;
        model.check(origin)?;
        Ok(model)
    }

    /// Checks feature names, term names and weight counts.
    fn check(&self, origin: &str) -> Result<(), PredictError> {
        let mismatch = |message: String| PredictError::FeatureMismatch {
            path: origin.to_string(),
            message,
        };
        for (i, want) in FEATURE_NAMES.iter().enumerate() {
            match self.features.get(i) {
                Some(got) if got == want => {}
                Some(got) => return Err(mismatch(format!("feature {i} is {got:?}, not {want:?}"))),
                None => return Err(mismatch(format!("feature {i} ({want:?}) is missing"))),
            }
        }
        if let Some(extra) = self.features.get(FEATURE_NAMES.len()) {
            return Err(mismatch(format!("unknown feature {extra:?}")));
        }
        let bad = |message: String| PredictError::BadModel {
            path: origin.to_string(),
            message,
        };
        for (j, t) in self.terms.iter().enumerate() {
            if t.of.is_empty() {
                return Err(bad(format!("terms[{j}].of is empty")));
            }
            if let Some(u) =
                t.of.iter()
                    .chain(&t.per)
                    .find(|n| !FEATURE_NAMES.contains(&n.as_str()))
            {
                return Err(bad(format!("terms[{j}] names unknown feature {u:?}")));
            }
        }
        for (name, lin) in [
            ("p50_ms", &self.targets.p50_ms),
            ("p99_ms", &self.targets.p99_ms),
        ] {
            if lin.weights.len() != self.terms.len() {
                return Err(bad(format!(
                    "targets.{name} has {} weights for {} terms",
                    lin.weights.len(),
                    self.terms.len()
                )));
            }
        }
        Ok(())
    }

    /// `baseline * exp(intercept + sum(w_j * term_j))` for each target.
    pub fn predict(&self, f: &Features, baseline: f64) -> Prediction {
        let terms: Vec<f64> = self.terms.iter().map(|t| t.value(f)).collect();
        let apply = |lin: &Linear| {
            let mut y = lin.intercept;
            for (w, t) in lin.weights.iter().zip(&terms) {
                y += w * t;
            }
            baseline * y.exp()
        };
        Prediction {
            p50_ms: apply(&self.targets.p50_ms),
            p99_ms: apply(&self.targets.p99_ms),
        }
    }
}
