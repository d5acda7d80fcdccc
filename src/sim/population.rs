//! Who the nodes are: their stake, which of them are Byzantine, what each honest one prefers.

use super::rng::{rng_for, Purpose};
use super::scenario::Scenario;
use crate::node::{StakeError, StakeSampler};
use rand::seq::SliceRandom;

/// The nodes of a run, drawn from the scenario seed.
#[derive(Debug, Clone)]
pub struct Population {
    /// Stake-weighted sampler over all nodes.
    pub sampler: StakeSampler,
    /// Whether each node is Byzantine.
    pub byzantine: Vec<bool>,
    /// Each node's initial preference (meaningful for honest nodes).
    pub initial: Vec<u32>,
    /// The Byzantine nodes' share of the stake.
    pub byzantine_stake: f64,
}

impl Population {
    /// Draws stake, the Byzantine set (stake-weighted) and the initial preferences.
    pub fn draw(s: &Scenario) -> Result<Self, StakeError> {
        let n = s.network.nodes;
        let weights = s
            .network
            .stake
            .weights(n, &mut rng_for(s.seed, Purpose::Stake))?;
        let sampler = StakeSampler::new(&weights, s.sampling(), s.network.stake_unit)?;
        let mut byzantine = vec![false; n];
        let count = s.byzantine.as_ref().map_or(0, |b| b.resolved_count(n));
        let stake_target = s.byzantine.as_ref().and_then(|b| b.stake_fraction);
        if let Some(target) = stake_target.filter(|&t| t > 0.0) {
            // Nodes in a uniformly random order until their stake reaches the share; the
            // last node in that order stays honest whatever the weights.
            let total: f64 = weights.iter().sum();
            let mut order: Vec<u32> = (0..n as u32).collect();
            order.shuffle(&mut rng_for(s.seed, Purpose::ByzantineSelection));
            let mut held = 0.0;
            for &id in &order[..n - 1] {
                if held >= target * total {
                    break;
                }
                byzantine[id as usize] = true;
                held += weights[id as usize];
            }
        } else if count > 0 {
            let mut chosen = Vec::with_capacity(count);
            let mut rng = rng_for(s.seed, Purpose::ByzantineSelection);
            sampler.sample_distinct(&mut rng, count, None, &mut chosen);
            for id in chosen {
                byzantine[id as usize] = true;
            }
        }
        let total: f64 = weights.iter().sum();
        let byzantine_stake = weights
            .iter()
            .zip(&byzantine)
            .filter(|(_, &b)| b)
            .map(|(w, _)| w)
            .sum::<f64>()
            / total;
        let honest: Vec<usize> = (0..n).filter(|&i| !byzantine[i]).collect();
        let mut prefs = shares(&s.workload.initial, honest.len());
        prefs.shuffle(&mut rng_for(s.seed, Purpose::Initial));
        let mut initial = vec![0u32; n];
        for (&node, p) in honest.iter().zip(prefs) {
            initial[node] = p;
        }
        Ok(Population {
            sampler,
            byzantine,
            initial,
            byzantine_stake,
        })
    }

    /// Honest nodes in all.
    pub fn honest(&self) -> usize {
        self.byzantine.iter().filter(|&&b| !b).count()
    }

    /// Byzantine nodes in all.
    pub fn byzantine_count(&self) -> usize {
        self.byzantine.len() - self.honest()
    }
}

/// `n` choices split by `shares` with the largest-remainder method, in choice order.
fn shares(shares: &[f64], n: usize) -> Vec<u32> {
    let exact: Vec<f64> = shares.iter().map(|s| s * n as f64).collect();
    let mut counts: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|&a, &b| {
        let (ra, rb) = (exact[a] - counts[a] as f64, exact[b] - counts[b] as f64);
        rb.total_cmp(&ra).then(a.cmp(&b))
    });
    let mut left = n.saturating_sub(counts.iter().sum());
    for &i in order.iter().cycle().take(left.min(shares.len() * 2)) {
        if left == 0 {
            break;
        }
        counts[i] += 1;
        left -= 1;
    }
    counts
        .iter()
        .enumerate()
        .flat_map(|(c, &k)| std::iter::repeat_n(c as u32, k))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_split_exactly() {
        assert_eq!(shares(&[0.5, 0.5], 5), vec![0, 0, 0, 1, 1]);
        assert_eq!(shares(&[1.0], 3), vec![0, 0, 0]);
        assert_eq!(shares(&[0.2, 0.3, 0.5], 10).len(), 10);
        let s = shares(&[1.0 / 3.0; 3], 100);
        assert_eq!(s.iter().filter(|&&c| c == 0).count(), 34);
    }
}
