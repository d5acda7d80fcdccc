//! Who a poll asks: stake-weighted sampling of validators, as avalanchego samples them.
//!
//! avalanchego's `validators.Set.Sample(k)` draws k distinct *stake units* out of the total
//! stake (`sampler.WeightedWithoutReplacement`) and maps each to the validator holding it;
//! the engine queries each sampled validator once and counts its answer once per unit (a
//! `bag`). That is [`Sampling::Stake`], the default. [`Sampling::Validators`] draws k
//! distinct validators by stake instead (luxsim's earlier sampler; avalanchego's network
//! test harness draws k distinct nodes, uniformly).
//!
//! Both are exact: every draw is a rejection draw from the alias table (whose bucket
//! thresholds have 2^-32 resolution), and when rejections pile up (a few validators hold
//! nearly all stake) the remaining slots are drawn from the exact conditional law by a
//! walk over the validators, which leaves the law of the whole sample unchanged.

use super::stake::{check_weights, StakeError};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// How a poll fills its k slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sampling {
    /// k stake units without replacement (avalanchego's `validators.Set.Sample`): a
    /// validator holding several of them is asked once and its answer counts once per unit.
    #[default]
    Stake,
    /// k distinct validators, each drawn by stake among those not yet drawn.
    Validators,
}

/// The stake one unit stands for by default: 10^-9 of a weight of 1, as one nAVAX of an AVAX.
pub const STAKE_UNIT: f64 = 1e-9;

/// The peers of one poll: distinct validator ids in the order first drawn, each with the
/// number of the poll's slots it fills (always 1 under [`Sampling::Validators`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sample {
    ids: Vec<u32>,
    counts: Vec<u32>,
    slots: u32,
}

impl Sample {
    /// An empty sample with room for `k` peers, so that sampling into it never allocates.
    pub fn with_capacity(k: usize) -> Self {
        Sample {
            ids: Vec::with_capacity(k),
            counts: Vec::with_capacity(k),
            slots: 0,
        }
    }

    /// The distinct peers, in the order first drawn.
    #[inline]
    pub fn ids(&self) -> &[u32] {
        &self.ids
    }

    /// The slots each peer of [`Sample::ids`] fills, in the same order.
    #[inline]
    pub fn counts(&self) -> &[u32] {
        &self.counts
    }

    /// `(peer, slots)` pairs in the order first drawn.
    #[inline]
    pub fn iter(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.ids.iter().copied().zip(self.counts.iter().copied())
    }

    /// The number of distinct peers.
    #[inline]
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether no peer was drawn.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The slots filled in all (the sum of [`Sample::counts`]; k unless too little stake).
    #[inline]
    pub fn slots(&self) -> u32 {
        self.slots
    }

    fn clear(&mut self) {
        self.ids.clear();
        self.counts.clear();
        self.slots = 0;
    }

    fn push(&mut self, id: u32) {
        self.ids.push(id);
        self.counts.push(1);
        self.slots += 1;
    }
}

/// A 64-bit mask of the ids a sample holds (bit `id % 64`): a clear bit proves an id is
/// not there, so most draws of a short sample skip the scan of the ids drawn so far.
#[derive(Debug, Clone, Copy, Default)]
struct Seen(u64);

impl Seen {
    #[inline(always)]
    fn may_hold(self, id: u32) -> bool {
        self.0 & (1 << (id % 64)) != 0
    }

    #[inline(always)]
    fn insert(&mut self, id: u32) {
        self.0 |= 1 << (id % 64);
    }
}

/// One bucket of the alias table: stay on the bucket's node if the coin is below `threshold`
/// (a probability scaled by 2^32), else go to `alias`. Full buckets alias to themselves.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(8))]
struct Bucket {
    threshold: u32,
    alias: u32,
}

/// Draws per batch (a stack buffer).
const BATCH: usize = 64;

/// Stake-weighted sampling of node ids in O(1) per draw (Vose's alias method).
///
/// A draw takes one `next_u64`: the high half of `x * n` (128-bit) picks the bucket and its low
/// half, whose top 32 bits are uniform within the bucket, is the coin. Integer-only, so the
/// output is identical on every platform for a given RNG stream. Biases are below `n / 2^64`
/// (bucket choice) and `2^-33` per bucket (threshold rounding).
#[derive(Debug, Clone)]
pub struct StakeSampler {
    table: Vec<Bucket>,
    /// Weights divided by their total (they sum to 1).
    normalized: Vec<f64>,
    total: f64,
    /// Nodes with positive normalized weight.
    positive: usize,
    sampling: Sampling,
    /// Stake units per node (empty under [`Sampling::Validators`]).
    units: Vec<u64>,
    total_units: u64,
}

impl StakeSampler {
    /// A sampler of k distinct validators by stake, from one weight per node (finite,
    /// `>= 0`, positive sum).
    pub fn validators(weights: &[f64]) -> Result<StakeSampler, StakeError> {
        let total = check_weights(weights)?;
        let normalized: Vec<f64> = weights.iter().map(|&w| w / total).collect();
        let table = alias_table(&normalized);
        Ok(StakeSampler {
            positive: normalized.iter().filter(|&&p| p > 0.0).count(),
            table,
            normalized,
            total,
            sampling: Sampling::Validators,
            units: Vec::new(),
            total_units: 0,
        })
    }

    /// A sampler of k stake units without replacement: a node of weight `w` holds
    /// `round(w / unit)` units, which must be at least 1 when `w > 0`, and all of them
    /// together must fit in a `u64`.
    pub fn stake_units(weights: &[f64], unit: f64) -> Result<StakeSampler, StakeError> {
        let total = check_weights(weights)?;
        if !(unit.is_finite() && unit > 0.0) {
            return Err(StakeError::InvalidUnit(unit));
        }
        let mut units = Vec::with_capacity(weights.len());
        let mut total_units = 0u64;
        for (node, &w) in weights.iter().enumerate() {
            let u = (w / unit).round();
            // 2^64 as an f64: anything at or above it does not fit.
            if u >= 18_446_744_073_709_551_616.0 {
                return Err(StakeError::UnitsOverflow { unit });
            }
            let u = u as u64;
            if w > 0.0 && u == 0 {
                return Err(StakeError::BelowUnit {
                    node,
                    value: w,
                    unit,
                });
            }
            total_units = total_units
                .checked_add(u)
                .ok_or(StakeError::UnitsOverflow { unit })?;
            units.push(u);
        }
        let normalized = weights.iter().map(|&w| w / total).collect();
        Ok(Self::units_table(units, total_units, normalized, total))
    }

    /// A sampler of stake units without replacement over nodes holding `units` each
    /// (whose sum, positive, must fit in a `u64`): the weights are the units themselves.
    pub fn of_units(units: &[u64]) -> Result<StakeSampler, StakeError> {
        let mut total_units = 0u64;
        for &u in units {
            total_units = total_units
                .checked_add(u)
                .ok_or(StakeError::UnitsOverflow { unit: 1.0 })?;
        }
        if total_units == 0 {
            return Err(StakeError::ZeroTotal);
        }
        let normalized = units
            .iter()
            .map(|&u| u as f64 / total_units as f64)
            .collect();
        Ok(Self::units_table(
            units.to_vec(),
            total_units,
            normalized,
            total_units as f64,
        ))
    }

    /// The stake-unit sampler over `units`, with `normalized` weights summing to 1.
    fn units_table(
        units: Vec<u64>,
        total_units: u64,
        normalized: Vec<f64>,
        total: f64,
    ) -> StakeSampler {
        // Draws follow the units, not the weights they were rounded from.
        let normalized_units: Vec<f64> = units
            .iter()
            .map(|&u| u as f64 / total_units as f64)
            .collect();
        let table = alias_table(&normalized_units);
        StakeSampler {
            positive: units.iter().filter(|&&u| u > 0).count(),
            table,
            normalized,
            total,
            sampling: Sampling::Stake,
            units,
            total_units,
        }
    }

    /// A sampler of either kind; `unit` matters only to [`Sampling::Stake`].
    pub fn new(weights: &[f64], sampling: Sampling, unit: f64) -> Result<StakeSampler, StakeError> {
        match sampling {
            Sampling::Stake => Self::stake_units(weights, unit),
            Sampling::Validators => Self::validators(weights),
        }
    }

    /// How this sampler fills a poll.
    pub fn sampling(&self) -> Sampling {
        self.sampling
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether there are no nodes (never true: a sampler needs at least one).
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The sum of the weights the sampler was built from.
    pub fn total_weight(&self) -> f64 {
        self.total
    }

    /// The node's share of the total stake (weights are normalized to sum to 1); panics if out of range.
    pub fn weight(&self, id: u32) -> f64 {
        self.normalized[id as usize]
    }

    /// The stake units node `id` holds (0 under [`Sampling::Validators`]).
    pub fn units(&self, id: u32) -> u64 {
        self.units.get(id as usize).copied().unwrap_or(0)
    }

    /// All stake units together (0 under [`Sampling::Validators`]).
    pub fn total_units(&self) -> u64 {
        self.total_units
    }

    /// The number of nodes with positive weight (the only ones that can be drawn).
    pub fn positive_count(&self) -> usize {
        self.positive
    }

    /// Maps one uniform `u64` to a node id by stake weight.
    #[inline(always)]
    fn pick(&self, x: u64) -> u32 {
        let m = u128::from(x) * self.table.len() as u128;
        let bucket = (m >> 64) as u32;
        let coin = ((m as u64) >> 32) as u32;
        let b = self.table[bucket as usize];
        // A cmov, not a branch: with skewed stake the coin is unpredictable, and each
        // misprediction would wait on the table load, serializing the batch's cache misses.
        std::hint::select_unpredictable(coin < b.threshold, bucket, b.alias)
    }

    /// One node id drawn by stake weight (with replacement); uses exactly one `next_u64`.
    #[inline]
    pub fn draw(&self, rng: &mut impl Rng) -> u32 {
        self.pick(rng.next_u64())
    }

    /// The peers of one poll of `k` slots, never `exclude`, by this sampler's [`Sampling`],
    /// into `out`. If fewer than `k` units (validators) are eligible, yields all of them.
    /// Allocates only if `out` has less room than the result needs.
    #[inline]
    pub fn sample(&self, rng: &mut impl Rng, k: usize, exclude: Option<u32>, out: &mut Sample) {
        match self.sampling {
            Sampling::Validators => {
                out.clear();
                self.sample_distinct(rng, k, exclude, &mut out.ids);
                out.counts.resize(out.ids.len(), 1);
                out.slots = out.ids.len() as u32;
            }
            Sampling::Stake => self.sample_units(rng, k, exclude, out),
        }
    }

    /// Clears `out` and fills it with `k` distinct node ids drawn by stake weight without
    /// replacement (each next id by weight among those not yet drawn), never `exclude`; if
    /// fewer than `k` positive-weight nodes are eligible, yields all of them.
    ///
    /// Successive draws reject ids already taken (a linear scan of `out`: meant for small
    /// `k`); after `16 * k + 64` draws the rest is drawn from the same conditional law by
    /// a walk over all nodes. Allocates only if `out` has less capacity than it needs.
    #[inline]
    pub fn sample_distinct(
        &self,
        rng: &mut impl Rng,
        k: usize,
        exclude: Option<u32>,
        out: &mut Vec<u32>,
    ) {
        out.clear();
        let exclude = self.excluded(exclude);
        let excluded_positive = exclude != u32::MAX && self.normalized[exclude as usize] > 0.0;
        let want = k.min(self.positive - usize::from(excluded_positive));
        if want == 0 {
            return;
        }
        out.reserve(want);
        let mut attempts = want.saturating_mul(16).saturating_add(64);
        // Draws go in batches of exactly the number still missing, so the outcome and the RNG
        // use are those of one-at-a-time rejection; but a batch's table loads are independent
        // and overlap in memory instead of waiting on each other.
        let mut batch = [0u32; BATCH];
        let mut seen = Seen::default();
        while out.len() < want && attempts > 0 {
            let n = (want - out.len()).min(BATCH).min(attempts);
            attempts -= n;
            for slot in &mut batch[..n] {
                *slot = self.pick(rng.next_u64());
            }
            for &id in &batch[..n] {
                // Branch-free scan (it vectorizes, and `out` is short), only when the
                // mask says the id may be there.
                let taken = id == exclude
                    || (seen.may_hold(id) && out.iter().fold(false, |t, &o| t | (o == id)));
                if !taken {
                    out.push(id);
                    seen.insert(id);
                }
            }
        }
        while out.len() < want {
            self.walk_distinct(rng, exclude, out);
        }
    }

    /// `u32::MAX` (never a node id, see `check_nodes`) when nothing in range is excluded.
    #[inline]
    fn excluded(&self, exclude: Option<u32>) -> u32 {
        match exclude {
            Some(id) if (id as usize) < self.len() => id,
            _ => u32::MAX,
        }
    }

    /// One more distinct id by weight among the eligible ones not in `out`, by a walk over
    /// all nodes (the cold path of concentrated stake).
    #[cold]
    fn walk_distinct(&self, rng: &mut impl Rng, exclude: u32, out: &mut Vec<u32>) {
        let eligible = |id: u32| id != exclude && !out.contains(&id);
        let ids = (0..self.len() as u32).filter(|&id| self.normalized[id as usize] > 0.0);
        let mass: f64 = ids
            .clone()
            .filter(|&id| eligible(id))
            .map(|id| self.normalized[id as usize])
            .sum();
        let mut r = rng.random::<f64>() * mass;
        let mut chosen = u32::MAX;
        for id in ids.filter(|&id| eligible(id)) {
            chosen = id;
            let p = self.normalized[id as usize];
            if r < p {
                break;
            }
            r -= p;
        }
        debug_assert!(
            chosen != u32::MAX,
            "walk_distinct called with nothing eligible"
        );
        out.push(chosen);
    }

    /// [`Sampling::Stake`]: `k` distinct units out of the eligible ones. A draw names a node
    /// by its units; if the node already fills `c` of its `u` units, the drawn unit is a
    /// taken one with probability `c / u` and is drawn again, so each next unit is uniform
    /// among those left. Units of 1 reduce this to [`StakeSampler::sample_distinct`], draw
    /// for draw.
    fn sample_units(&self, rng: &mut impl Rng, k: usize, exclude: Option<u32>, out: &mut Sample) {
        out.clear();
        let exclude = self.excluded(exclude);
        let eligible = self.total_units - self.units(exclude);
        let want = (k as u64).min(eligible) as u32;
        if want == 0 {
            return;
        }
        let mut attempts = (want as usize).saturating_mul(16).saturating_add(64);
        let mut batch = [0u32; BATCH];
        let mut seen = Seen::default();
        while out.slots < want && attempts > 0 {
            let n = ((want - out.slots) as usize).min(BATCH).min(attempts);
            attempts -= n;
            for slot in &mut batch[..n] {
                *slot = self.pick(rng.next_u64());
            }
            for &id in &batch[..n] {
                if id == exclude {
                    continue;
                }
                let found = seen
                    .may_hold(id)
                    .then(|| out.ids.iter().position(|&o| o == id))
                    .flatten();
                match found {
                    None => {
                        out.push(id);
                        seen.insert(id);
                    }
                    Some(p) => {
                        let (c, u) = (u64::from(out.counts[p]), self.units[id as usize]);
                        if c < u && rng.random_range(0..u) >= c {
                            out.counts[p] += 1;
                            out.slots += 1;
                        }
                    }
                }
            }
        }
        while out.slots < want {
            self.walk_units(rng, eligible, exclude, out);
        }
        debug_assert_eq!(out.counts.iter().sum::<u32>(), out.slots);
    }

    /// One more unit, uniform among the eligible units not yet in `out`, by a walk over all
    /// nodes (the cold path of concentrated stake or few units).
    #[cold]
    fn walk_units(&self, rng: &mut impl Rng, eligible: u64, exclude: u32, out: &mut Sample) {
        let taken = |id: u32| {
            out.ids
                .iter()
                .position(|&o| o == id)
                .map_or(0, |p| u64::from(out.counts[p]))
        };
        let mut r = rng.random_range(0..eligible - u64::from(out.slots));
        for id in 0..self.len() as u32 {
            if id == exclude {
                continue;
            }
            let left = self.units[id as usize] - taken(id);
            if r < left {
                match out.ids.iter().position(|&o| o == id) {
                    None => out.push(id),
                    Some(p) => {
                        out.counts[p] += 1;
                        out.slots += 1;
                    }
                }
                return;
            }
            r -= left;
        }
        unreachable!("fewer units left than counted");
    }
}

/// Vose's alias table over probabilities that sum to 1. Worklists are stacks: deterministic.
fn alias_table(normalized: &[f64]) -> Vec<Bucket> {
    let n = normalized.len();
    // Bucket probabilities scaled so the average is 1; pair each under-full bucket with an
    // over-full one that donates the rest.
    let mut scaled: Vec<f64> = normalized.iter().map(|&p| p * n as f64).collect();
    let mut small: Vec<u32> = Vec::new();
    let mut large: Vec<u32> = Vec::new();
    for (i, &s) in scaled.iter().enumerate() {
        if s < 1.0 {
            small.push(i as u32);
        } else {
            large.push(i as u32);
        }
    }
    let mut table: Vec<Bucket> = (0..n as u32)
        .map(|i| Bucket {
            threshold: u32::MAX,
            alias: i,
        })
        .collect();
    while let (Some(&l), Some(&g)) = (small.last(), large.last()) {
        small.pop();
        large.pop();
        let p = scaled[l as usize];
        // Nearest u32 threshold; one that rounds up to 2^32 means "always stay".
        let t = (p * 4_294_967_296.0).round();
        table[l as usize] = if t >= 4_294_967_296.0 {
            Bucket {
                threshold: u32::MAX,
                alias: l,
            }
        } else {
            Bucket {
                threshold: t as u32,
                alias: g,
            }
        };
        // (s_g + p) >= 1 after rounding, so the remainder is never negative.
        let rest = (scaled[g as usize] + p) - 1.0;
        scaled[g as usize] = rest;
        if rest < 1.0 {
            small.push(g);
        } else {
            large.push(g);
        }
    }
    // Leftovers are full buckets (exactly 1 up to rounding), already set to alias themselves.
    // A zero-weight leftover could only come from rounding drift; never let it be drawn.
    if small.iter().any(|&i| normalized[i as usize] == 0.0) {
        let heaviest = (0..n)
            .max_by(|&a, &b| normalized[a].total_cmp(&normalized[b]).then(b.cmp(&a)))
            .expect("n >= 1") as u32;
        for &i in &small {
            if normalized[i as usize] == 0.0 {
                table[i as usize] = Bucket {
                    threshold: 0,
                    alias: heaviest,
                };
            }
        }
    }
    table
}

#[cfg(test)]
mod tests;
