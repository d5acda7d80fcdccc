//! The `[params]` table: a preset plus per-field overrides, and which key an error is about.

use crate::{ConsensusParams, ParamsError};
use serde::de::Deserializer;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The `[params]` table as written: an optional preset plus per-field overrides.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ParamsSpec {
    preset: Option<String>,
    k: Option<usize>,
    alpha_preference: Option<usize>,
    alpha_confidence: Option<usize>,
    beta: Option<usize>,
    concurrent_polls: Option<usize>,
    optimal_processing: Option<usize>,
    max_outstanding_items: Option<usize>,
    #[serde(default, with = "humantime_serde")]
    max_item_processing_time: Option<Duration>,
}

impl ParamsSpec {
    /// The preset (or the defaults), then each field given.
    fn resolve(self) -> Result<ConsensusParams, ParamsError> {
        let mut p = match &self.preset {
            Some(name) => ConsensusParams::preset(name)?,
            None => ConsensusParams::default(),
        };
        let set = |slot: &mut usize, v: Option<usize>| *slot = v.unwrap_or(*slot);
        set(&mut p.k, self.k);
        set(&mut p.alpha_preference, self.alpha_preference);
        set(&mut p.alpha_confidence, self.alpha_confidence);
        set(&mut p.beta, self.beta);
        set(&mut p.concurrent_polls, self.concurrent_polls);
        set(&mut p.optimal_processing, self.optimal_processing);
        set(&mut p.max_outstanding_items, self.max_outstanding_items);
        if let Some(t) = self.max_item_processing_time {
            p.max_item_processing_time = t;
        }
        Ok(p)
    }
}

/// Deserializes a `[params]` table into resolved [`ConsensusParams`].
pub(super) fn resolve_params<'de, D: Deserializer<'de>>(d: D) -> Result<ConsensusParams, D::Error> {
    ParamsSpec::deserialize(d)?
        .resolve()
        .map_err(serde::de::Error::custom)
}

/// The key of `[params]` that a parameter error is about.
pub(super) fn params_field(e: &ParamsError) -> &'static str {
    match e {
        ParamsError::KTooSmall(_) => "k",
        ParamsError::AlphaPreferenceTooSmall { .. } => "alpha_preference",
        ParamsError::AlphaConfidenceBelowPreference { .. }
        | ParamsError::AlphaConfidenceAboveK { .. } => "alpha_confidence",
        ParamsError::BetaTooSmall(_) => "beta",
        ParamsError::ConcurrentPolls { .. } => "concurrent_polls",
        ParamsError::OptimalProcessing(_) => "optimal_processing",
        ParamsError::MaxOutstandingItems(_) => "max_outstanding_items",
        ParamsError::MaxItemProcessingTime(_) => "max_item_processing_time",
        _ => "preset",
    }
}
