//! What `/health` judges: whether the node can reach enough stake for a successful poll.

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
    /// Peers sampled per poll.
    pub k: usize,
    /// Votes needed to raise confidence.
    pub alpha_confidence: usize,
}

impl Health {
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

    /// Healthy when the reachable validators hold at least alpha_confidence / k of the
    /// sampleable stake and, when polls sample distinct validators, are at least
    /// alpha_confidence in number (under stake units one validator may fill several slots);
    /// with a one-line reason.
    pub fn check(&self) -> (bool, String) {
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
}
