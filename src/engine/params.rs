//! Consensus parameters: the Snow family's k, alpha and beta, presets and validation.

use serde::{Deserialize, Serialize};
use std::time::Duration;
use thiserror::Error;

/// Names of the presets accepted by [`ConsensusParams::preset`].
pub const PRESETS: [&str; 4] = ["default", "mainnet", "testnet", "local"];

/// Parameters shared by every Snow engine (see `../shared/spec/engines.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsensusParams {
    /// Peers sampled (queried) per poll.
    pub k: usize,
    /// Votes in one poll needed to change preference.
    pub alpha_preference: usize,
    /// Votes in one poll needed to raise confidence.
    pub alpha_confidence: usize,
    /// Consecutive successful polls that finalize.
    pub beta: usize,
    /// Polls a node keeps outstanding at once.
    pub concurrent_polls: usize,
    /// Soft limit of items processing at once.
    pub optimal_processing: usize,
    /// Hard limit of items processing at once (back-pressure).
    pub max_outstanding_items: usize,
    /// An item processing for longer than this is reported unhealthy.
    #[serde(with = "humantime_serde")]
    pub max_item_processing_time: Duration,
}

impl Default for ConsensusParams {
    fn default() -> Self {
        ConsensusParams {
            k: 20,
            alpha_preference: 15,
            alpha_confidence: 15,
            beta: 20,
            concurrent_polls: 4,
            optimal_processing: 10,
            max_outstanding_items: 256,
            max_item_processing_time: Duration::from_secs(30),
        }
    }
}

/// A parameter set that breaks a rule of the spec, or an unknown preset name.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParamsError {
    /// k must be at least 1.
    #[error("k ({0}) must be at least 1")]
    KTooSmall(usize),
    /// alpha_preference must exceed k/2 (integer division).
    #[error("alpha_preference ({alpha_preference}) must be greater than k/2 ({half})")]
    AlphaPreferenceTooSmall {
        /// The value given.
        alpha_preference: usize,
        /// k / 2.
        half: usize,
    },
    /// alpha_confidence must be at least alpha_preference.
    #[error("alpha_confidence ({alpha_confidence}) must be at least alpha_preference ({alpha_preference})")]
    AlphaConfidenceBelowPreference {
        /// The value given.
        alpha_confidence: usize,
        /// alpha_preference.
        alpha_preference: usize,
    },
    /// alpha_confidence must not exceed k.
    #[error("alpha_confidence ({alpha_confidence}) must be at most k ({k})")]
    AlphaConfidenceAboveK {
        /// The value given.
        alpha_confidence: usize,
        /// k.
        k: usize,
    },
    /// beta must be at least 1.
    #[error("beta ({0}) must be at least 1")]
    BetaTooSmall(usize),
    /// concurrent_polls must lie in 1..=beta.
    #[error("concurrent_polls ({concurrent_polls}) must be between 1 and beta ({beta})")]
    ConcurrentPolls {
        /// The value given.
        concurrent_polls: usize,
        /// beta.
        beta: usize,
    },
    /// optimal_processing must be at least 1.
    #[error("optimal_processing ({0}) must be at least 1")]
    OptimalProcessing(usize),
    /// max_outstanding_items must be at least 1.
    #[error("max_outstanding_items ({0}) must be at least 1")]
    MaxOutstandingItems(usize),
    /// max_item_processing_time must be positive.
    #[error("max_item_processing_time ({0:?}) must be greater than 0")]
    MaxItemProcessingTime(Duration),
    /// The preset name is not one of [`PRESETS`].
    #[error("unknown preset {name:?}; known presets: default, mainnet, testnet, local")]
    UnknownPreset {
        /// The name asked for.
        name: String,
    },
}

impl ConsensusParams {
    /// The named preset (`default`, `mainnet`, `testnet`, `local`), as the Lux node configures it.
    ///
    /// ```
    /// let p = luxsim::ConsensusParams::preset("mainnet").unwrap();
    /// assert_eq!((p.k, p.alpha_preference, p.alpha_confidence, p.beta), (21, 15, 15, 14));
    /// assert!(luxsim::ConsensusParams::preset("moon").is_err());
    /// ```
    pub fn preset(name: &str) -> Result<Self, ParamsError> {
        let (k, alpha_preference, alpha_confidence, beta) = match name {
            "default" => return Ok(Self::default()),
            "mainnet" => (21, 15, 15, 14),
            "testnet" => (11, 8, 8, 8),
            "local" => (3, 2, 2, 2),
            _ => {
                return Err(ParamsError::UnknownPreset {
                    name: name.to_string(),
                })
            }
        };
        let base = Self::default();
        Ok(ConsensusParams {
            k,
            alpha_preference,
            alpha_confidence,
            beta,
            concurrent_polls: base.concurrent_polls.min(beta),
            ..base
        })
    }

    /// Checks every rule of the spec; the error names the field, its value and the rule.
    pub fn validate(&self) -> Result<(), ParamsError> {
        if self.k < 1 {
            return Err(ParamsError::KTooSmall(self.k));
        }
        let half = self.k / 2;
        if self.alpha_preference <= half {
            return Err(ParamsError::AlphaPreferenceTooSmall {
                alpha_preference: self.alpha_preference,
                half,
            });
        }
        if self.alpha_confidence < self.alpha_preference {
            return Err(ParamsError::AlphaConfidenceBelowPreference {
                alpha_confidence: self.alpha_confidence,
                alpha_preference: self.alpha_preference,
            });
        }
        if self.alpha_confidence > self.k {
            return Err(ParamsError::AlphaConfidenceAboveK {
                alpha_confidence: self.alpha_confidence,
                k: self.k,
            });
        }
        if self.beta < 1 {
            return Err(ParamsError::BetaTooSmall(self.beta));
        }
        if self.concurrent_polls < 1 || self.concurrent_polls > self.beta {
            return Err(ParamsError::ConcurrentPolls {
                concurrent_polls: self.concurrent_polls,
                beta: self.beta,
            });
        }
        if self.optimal_processing < 1 {
            return Err(ParamsError::OptimalProcessing(self.optimal_processing));
        }
        if self.max_outstanding_items < 1 {
            return Err(ParamsError::MaxOutstandingItems(self.max_outstanding_items));
        }
        if self.max_item_processing_time.is_zero() {
            return Err(ParamsError::MaxItemProcessingTime(
                self.max_item_processing_time,
            ));
        }
        Ok(())
    }
}

/// Parameters as written in a file: an optional preset plus per-field overrides
/// (a scenario's `[params]`, a node config's `[params]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamsSpec {
    /// `default`, `mainnet`, `testnet` or `local`; the defaults when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// Peers sampled per poll.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<usize>,
    /// Votes in one poll needed to change preference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha_preference: Option<usize>,
    /// Votes in one poll needed to raise confidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha_confidence: Option<usize>,
    /// Consecutive successful polls that finalize.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta: Option<usize>,
    /// Polls outstanding at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrent_polls: Option<usize>,
    /// Soft limit of items processing at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimal_processing: Option<usize>,
    /// Hard limit of items processing at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_outstanding_items: Option<usize>,
    /// An item processing for longer than this is reported unhealthy.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "humantime_serde"
    )]
    pub max_item_processing_time: Option<Duration>,
}

impl ParamsSpec {
    /// Every field of `p` written out, no preset.
    pub fn from_params(p: &ConsensusParams) -> Self {
        ParamsSpec {
            preset: None,
            k: Some(p.k),
            alpha_preference: Some(p.alpha_preference),
            alpha_confidence: Some(p.alpha_confidence),
            beta: Some(p.beta),
            concurrent_polls: Some(p.concurrent_polls),
            optimal_processing: Some(p.optimal_processing),
            max_outstanding_items: Some(p.max_outstanding_items),
            max_item_processing_time: Some(p.max_item_processing_time),
        }
    }

    /// The preset (or the defaults), then each field given; not validated.
    pub fn resolve(&self) -> Result<ConsensusParams, ParamsError> {
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

impl ParamsError {
    /// The parameter key the error is about (`preset` for an unknown preset).
    pub fn field(&self) -> &'static str {
        match self {
            ParamsError::KTooSmall(_) => "k",
            ParamsError::AlphaPreferenceTooSmall { .. } => "alpha_preference",
            ParamsError::AlphaConfidenceBelowPreference { .. }
            | ParamsError::AlphaConfidenceAboveK { .. } => "alpha_confidence",
            ParamsError::BetaTooSmall(_) => "beta",
            ParamsError::ConcurrentPolls { .. } => "concurrent_polls",
            ParamsError::OptimalProcessing(_) => "optimal_processing",
            ParamsError::MaxOutstandingItems(_) => "max_outstanding_items",
            ParamsError::MaxItemProcessingTime(_) => "max_item_processing_time",
            ParamsError::UnknownPreset { .. } => "preset",
        }
    }
}

/// Parameters for engine tests: k, the two alphas and beta, one poll at a time, the rest
/// default.
#[cfg(test)]
pub(crate) fn test_params(
    k: usize,
    alpha_preference: usize,
    alpha_confidence: usize,
    beta: usize,
) -> ConsensusParams {
    ConsensusParams {
        k,
        alpha_preference,
        alpha_confidence,
        beta,
        concurrent_polls: 1,
        ..ConsensusParams::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_spec_and_are_valid() {
        let p = ConsensusParams::default();
        assert_eq!(
            (p.k, p.alpha_preference, p.alpha_confidence, p.beta),
            (20, 15, 15, 20)
        );
        assert_eq!(p.concurrent_polls, 4);
        assert_eq!(p.optimal_processing, 10);
        assert_eq!(p.max_outstanding_items, 256);
        assert_eq!(p.max_item_processing_time, Duration::from_secs(30));
        assert_eq!(p.validate(), Ok(()));
    }

    #[test]
    fn every_preset_is_valid_and_matches_the_table() {
        let table = [
            ("default", 20, 15, 15, 20),
            ("mainnet", 21, 15, 15, 14),
            ("testnet", 11, 8, 8, 8),
            ("local", 3, 2, 2, 2),
        ];
        for (name, k, ap, ac, b) in table {
            let p = ConsensusParams::preset(name).unwrap();
            assert_eq!(
                (p.k, p.alpha_preference, p.alpha_confidence, p.beta),
                (k, ap, ac, b)
            );
            assert_eq!(p.validate(), Ok(()), "{name}");
        }
        assert_eq!(
            ConsensusParams::preset("local").unwrap().concurrent_polls,
            2
        );
    }

    #[test]
    fn unknown_preset_lists_the_known_ones() {
        let e = ConsensusParams::preset("moon").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("\"moon\""), "{msg}");
        for name in PRESETS {
            assert!(msg.contains(name), "{msg}");
        }
    }

    fn with(f: impl FnOnce(&mut ConsensusParams)) -> String {
        let mut p = ConsensusParams::default();
        f(&mut p);
        p.validate().unwrap_err().to_string()
    }

    #[test]
    fn validation_messages_name_field_value_and_rule() {
        assert_eq!(
            with(|p| p.alpha_preference = 10),
            "alpha_preference (10) must be greater than k/2 (10)"
        );
        assert_eq!(with(|p| p.k = 0), "k (0) must be at least 1");
        assert_eq!(
            with(|p| p.alpha_confidence = 14),
            "alpha_confidence (14) must be at least alpha_preference (15)"
        );
        assert_eq!(
            with(|p| {
                p.alpha_confidence = 21;
            }),
            "alpha_confidence (21) must be at most k (20)"
        );
        assert_eq!(with(|p| p.beta = 0), "beta (0) must be at least 1");
        assert_eq!(
            with(|p| p.concurrent_polls = 21),
            "concurrent_polls (21) must be between 1 and beta (20)"
        );
        assert_eq!(
            with(|p| p.concurrent_polls = 0),
            "concurrent_polls (0) must be between 1 and beta (20)"
        );
        assert_eq!(
            with(|p| p.optimal_processing = 0),
            "optimal_processing (0) must be at least 1"
        );
        assert_eq!(
            with(|p| p.max_outstanding_items = 0),
            "max_outstanding_items (0) must be at least 1"
        );
        assert_eq!(
            with(|p| p.max_item_processing_time = Duration::ZERO),
            "max_item_processing_time (0ns) must be greater than 0"
        );
    }

    #[test]
    fn serde_round_trip_with_duration_strings() {
        let p = ConsensusParams::preset("testnet").unwrap();
        let json = serde_json::to_string(&p).unwrap();
        assert!(
            json.contains("\"max_item_processing_time\":\"30s\""),
            "{json}"
        );
        let back: ConsensusParams = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p);
        let partial: ConsensusParams = serde_json::from_str(r#"{"k": 3}"#).unwrap();
        assert_eq!(partial.k, 3);
        assert_eq!(partial.beta, 20);
    }
}
