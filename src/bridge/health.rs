//! What `/health` judges: whether the configured validators can fill a successful poll at
//! all, and whether the node can reach enough stake for one now.

use super::config::NodeSettings;
use crate::node::Sampling;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// What `/health` judges: can this node reach enough stake for a successful poll?
#[derive(Debug, Clone)]
pub struct Health {
    /// Connection flag of each validator, by index (self's stays false).
    pub connected: Arc<[AtomicBool]>,
    /// Stake of each validator, by index.
    pub stakes: Vec<f64>,
    /// This node's validator index.
    pub me: usize,
    /// Whether the node samples itself.
    pub self_sample: bool,
    /// How polls fill their slots: under stake units one validator may fill several.
    pub sampling: Sampling,
    /// The stake one unit stands for under stake sampling.
    pub stake_unit: f64,
    /// Peers sampled per poll.
    pub k: usize,
    /// Votes needed to raise confidence.
    pub alpha_confidence: usize,
}

impl Health {
    /// The judgment of node `s`, none of its peers connected yet.
    pub fn of(s: &NodeSettings) -> Health {
        let f = &s.file;
        Health {
            connected: (0..s.validators.len())
                .map(|_| AtomicBool::new(false))
                .collect(),
            stakes: s.stakes.clone(),
            me: s.index_of(f.id).unwrap_or(0) as usize,
            self_sample: f.self_sample,
            sampling: f.sampling,
            stake_unit: f.stake_unit,
            k: s.params.k,
            alpha_confidence: s.params.alpha_confidence,
        }
    }

    /// Validators reachable now (connected peers, plus self when self-sampling) and their
    /// share of the sampleable stake.
    pub fn reachable(&self) -> (usize, f64) {
        let (mut count, mut stake, mut total) = (0usize, 0.0f64, 0.0f64);
        for (i, &s) in self.stakes.iter().enumerate() {
            if i == self.me && !self.self_sample {
                continue;
            }
            total += s;
            let up = i == self.me
                || self
                    .connected
                    .get(i)
                    .is_some_and(|c| c.load(Ordering::Relaxed));
            if up && s > 0.0 {
                count += 1;
                stake += s;
            }
        }
        (count, if total > 0.0 { stake / total } else { 0.0 })
    }

    /// Whether every sampleable validator with stake is reachable now.
    pub fn all_reachable(&self) -> bool {
        let sampleable = (0..self.stakes.len())
            .filter(|&i| (i != self.me || self.self_sample) && self.stakes[i] > 0.0)
            .count();
        self.reachable().0 == sampleable
    }

    /// Why no poll can ever succeed with the configured validators, all of them up: under
    /// validator sampling, fewer sampleable validators (peers with stake, and this node
    /// when it samples itself) than k or than alpha_confidence; under stake sampling, fewer
    /// sampleable stake units (each validator's stake / stake_unit, rounded, summed) than
    /// k or than alpha_confidence. `None` when polls can succeed.
    pub fn never_succeeds(&self) -> Option<String> {
        let sampleable = (0..self.stakes.len())
            .filter(|&i| (i != self.me || self.self_sample) && self.stakes[i] > 0.0);
        let (have, what) = match self.sampling {
            Sampling::Validators => (sampleable.count() as f64, "sampleable validators"),
            Sampling::Stake => (
                sampleable
                    .map(|i| (self.stakes[i] / self.stake_unit).round())
                    .sum::<f64>(),
                "sampleable stake units",
            ),
        };
        let (k, alpha) = (self.k as f64, self.alpha_confidence as f64);
        if have >= k && have >= alpha {
            return None;
        }
        let who = if self.self_sample {
            "the peers and this node"
        } else {
            "the peers; self_sample is off"
        };
        let sampling = match self.sampling {
            Sampling::Validators => "validators",
            Sampling::Stake => "stake",
        };
        let short = if have < alpha {
            format!(
                "fewer than k = {} and than alpha_confidence = {}",
                self.k, self.alpha_confidence
            )
        } else {
            format!("fewer than k = {}", self.k)
        };
        Some(format!(
            "no poll can succeed: sampling by {sampling} finds {have} {what} ({who}), {short}; \
             the node will never finalize (docs/bridge.md, \"Polls that can never succeed\")"
        ))
    }

    /// Healthy when polls can succeed at all ([`Health::never_succeeds`]), and the
    /// reachable validators hold at least alpha_confidence / k of the sampleable stake and,
    /// when polls sample distinct validators, are at least alpha_confidence in number
    /// (under stake units one validator may fill several slots); with a one-line reason.
    pub fn check(&self) -> (bool, String) {
        if let Some(why) = self.never_succeeds() {
            return (false, format!("unhealthy: {why}\n"));
        }
        let (count, share) = self.reachable();
        let need = self.alpha_confidence as f64 / self.k.max(1) as f64;
        let enough = self.sampling == Sampling::Stake || count >= self.alpha_confidence;
        let ok = enough && share + 1e-12 >= need;
        let text = format!(
            "{}: {count} validators reachable with {:.1}% of sampleable stake; alpha_confidence {} of k {} needs {:.1}%\n",
            if ok { "ok" } else { "unhealthy" },
            share * 100.0,
            self.alpha_confidence,
            self.k,
            need * 100.0
        );
        (ok, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health(flags: &[bool], self_sample: bool) -> Health {
        Health {
            connected: flags.iter().map(|&f| AtomicBool::new(f)).collect(),
            stakes: vec![1.0; flags.len()],
            me: 0,
            self_sample,
            sampling: Sampling::Validators,
            stake_unit: crate::node::STAKE_UNIT,
            k: 3,
            alpha_confidence: 2,
        }
    }

    #[test]
    fn health_needs_alpha_confidence_of_stake() {
        assert!(!health(&[false, true, false, false, false], false).check().0);
        assert!(health(&[false, true, true, true, false], false).check().0);
        assert!(
            !health(&[false, true, true, false, false], false).check().0,
            "50% < 66.7%"
        );
        let (count, share) = health(&[false, true, false], true).reachable();
        assert_eq!((count, share), (2, 2.0 / 3.0));
    }

    #[test]
    fn under_stake_units_one_heavy_validator_can_be_enough() {
        // One reachable peer of three with 80 % of the stake: it fills most of a poll's
        // slots under stake units, but it is one validator of the two distinct ones needed.
        let mut h = health(&[false, true, false, false], false);
        h.stakes = vec![1.0, 8.0, 1.0, 1.0];
        assert!(!h.check().0);
        h.sampling = Sampling::Stake;
        assert!(h.check().0, "{}", h.check().1);
    }

    #[test]
    fn too_few_validators_or_units_can_never_fill_a_poll() {
        // Two peers, k = 20, alpha 15: under validator sampling no poll can succeed...
        let mut h = health(&[false, true, true], false);
        (h.k, h.alpha_confidence) = (20, 15);
        let why = h.never_succeeds().expect("2 validators < k");
        assert!(
            why.contains("sampling by validators finds 2 sampleable validators (the peers; self_sample is off), fewer than k = 20 and than alpha_confidence = 15"),
            "{why}"
        );
        let (ok, body) = h.check();
        assert!(
            !ok && body.starts_with("unhealthy: no poll can succeed"),
            "{body}"
        );
        // ... self-sampling makes 3, still too few ...
        h.self_sample = true;
        assert!(h
            .never_succeeds()
            .unwrap()
            .contains("finds 3 sampleable validators (the peers and this node)"));
        // ... but under stake sampling each peer holds 10^9 units of 10^-9: enough.
        h.sampling = Sampling::Stake;
        assert_eq!(h.never_succeeds(), None);
        assert!(h.check().0, "{}", h.check().1);
        // A unit as large as a stake: three units, too few for k = 20.
        h.stake_unit = 1.0;
        let why = h.never_succeeds().unwrap();
        assert!(why.contains("finds 3 sampleable stake units"), "{why}");
        // Between alpha_confidence and k: polls cannot fill their k slots.
        let mut h = health(&[false, true, true, true, true], false);
        (h.k, h.alpha_confidence) = (5, 3);
        assert!(h.never_succeeds().unwrap().ends_with(
            "fewer than k = 5; the node will never finalize (docs/bridge.md, \"Polls that can never succeed\")"
        ));
        assert_eq!(
            health(&[false, true, true, true], false).never_succeeds(),
            None
        );
    }
}
