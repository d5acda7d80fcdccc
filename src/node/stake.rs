//! Stake distributions and stake-weighted sampling of validators.

use rand::Rng;
use rand_distr::{Distribution, Pareto};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How stake is spread over the nodes: `"uniform"`, `"pareto:SHAPE"` or explicit weights.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Stake {
    /// Every node has weight 1.
    #[default]
    Uniform,
    /// Weights drawn from a Pareto distribution with this shape (from the scenario seed).
    Pareto(f64),
    /// One weight per node, in node-id order.
    Weights(Vec<f64>),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum StakeRepr {
    Name(String),
    Weights(Vec<f64>),
}

impl<'de> Deserialize<'de> for Stake {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match StakeRepr::deserialize(d)? {
            StakeRepr::Weights(w) => Ok(Stake::Weights(w)),
            StakeRepr::Name(s) if s == "uniform" => Ok(Stake::Uniform),
            StakeRepr::Name(s) => match s.strip_prefix("pareto:").map(str::parse::<f64>) {
                Some(Ok(shape)) if shape > 0.0 && shape.is_finite() => Ok(Stake::Pareto(shape)),
                _ => Err(D::Error::custom(format!(
                    "stake {s:?} is not \"uniform\", \"pareto:SHAPE\" (SHAPE > 0) or a list of weights"
                ))),
            },
        }
    }
}

impl Serialize for Stake {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Stake::Uniform => s.serialize_str("uniform"),
            Stake::Pareto(shape) => s.serialize_str(&format!("pareto:{shape}")),
            Stake::Weights(w) => w.serialize(s),
        }
    }
}

/// Why stake weights or a [`StakeSampler`] could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StakeError {
    /// There are no nodes to give stake to.
    #[error("stake: there are no nodes")]
    NoNodes,
    /// More nodes than a `u32` node id can name.
    #[error("stake: {0} nodes is more than u32 node ids can name (at most 4294967295)")]
    TooManyNodes(usize),
    /// An explicit weight list whose length is not the node count.
    #[error("stake: {got} explicit weights given for {expected} nodes")]
    LengthMismatch {
        /// The number of nodes.
        expected: usize,
        /// The number of weights given.
        got: usize,
    },
    /// A weight that is infinite or NaN.
    #[error("stake: weight of node {node} is {value}, not a finite number")]
    NonFinite {
        /// The node id.
        node: usize,
        /// The weight.
        value: f64,
    },
    /// A negative weight.
    #[error("stake: weight of node {node} is {value}, below zero")]
    Negative {
        /// The node id.
        node: usize,
        /// The weight.
        value: f64,
    },
    /// Every weight is zero.
    #[error("stake: all weights are zero; at least one node needs positive stake")]
    ZeroTotal,
    /// The weights are finite but their sum is not.
    #[error("stake: the weights sum to more than f64::MAX")]
    TotalOverflow,
    /// A Pareto shape that is not positive and finite.
    #[error("stake: pareto shape {0} is not a positive finite number")]
    InvalidParetoShape(f64),
    /// A Pareto draw too large for an f64 (the shape is too small).
    #[error("stake: pareto:{shape} drew an infinite weight for node {node}; use a larger shape")]
    ParetoOverflow {
        /// The shape.
        shape: f64,
        /// The node id.
        node: usize,
    },
}

/// Checks a node count: at least one node, and ids fit in a `u32` (`u32::MAX` itself stays free).
fn check_nodes(nodes: usize) -> Result<(), StakeError> {
    if nodes == 0 {
        Err(StakeError::NoNodes)
    } else if nodes > u32::MAX as usize {
        Err(StakeError::TooManyNodes(nodes))
    } else {
        Ok(())
    }
}

/// Checks every weight is finite and `>= 0`, and returns their sum, which must be positive and finite.
fn check_weights(weights: &[f64]) -> Result<f64, StakeError> {
    check_nodes(weights.len())?;
    // Neumaier-compensated sum, in node-id order: deterministic and accurate at 1M nodes.
    let (mut sum, mut comp) = (0.0f64, 0.0f64);
    for (node, &w) in weights.iter().enumerate() {
        if !w.is_finite() {
            return Err(StakeError::NonFinite { node, value: w });
        }
        if w < 0.0 {
            return Err(StakeError::Negative { node, value: w });
        }
        let t = sum + w;
        comp += if sum >= w {
            (sum - t) + w
        } else {
            (w - t) + sum
        };
        sum = t;
    }
    let total = sum + comp;
    if !total.is_finite() {
        Err(StakeError::TotalOverflow)
    } else if total > 0.0 {
        Ok(total)
    } else {
        Err(StakeError::ZeroTotal)
    }
}

impl Stake {
    /// One weight per node in node-id order: uniform is all 1.0 (no randomness used), `pareto:SHAPE`
    /// takes one Pareto(scale 1, SHAPE) draw per node, in order, and explicit weights are checked.
    pub fn weights(&self, nodes: usize, rng: &mut impl Rng) -> Result<Vec<f64>, StakeError> {
        check_nodes(nodes)?;
        let weights = match self {
            Stake::Uniform => vec![1.0; nodes],
            &Stake::Pareto(shape) => {
                if !(shape.is_finite() && shape > 0.0) {
                    return Err(StakeError::InvalidParetoShape(shape));
                }
                let dist =
                    Pareto::new(1.0, shape).map_err(|_| StakeError::InvalidParetoShape(shape))?;
                let mut w = Vec::with_capacity(nodes);
                for node in 0..nodes {
                    let x: f64 = dist.sample(rng);
                    if !x.is_finite() {
                        return Err(StakeError::ParetoOverflow { shape, node });
                    }
                    w.push(x);
                }
                w
            }
            Stake::Weights(w) => {
                if w.len() != nodes {
                    return Err(StakeError::LengthMismatch {
                        expected: nodes,
                        got: w.len(),
                    });
                }
                w.clone()
            }
        };
        check_weights(&weights)?;
        Ok(weights)
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

/// Draws per batch in `sample_distinct` (a stack buffer).
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
}

impl StakeSampler {
    /// Builds the alias table from one weight per node (finite, `>= 0`, positive sum).
    pub fn new(weights: &[f64]) -> Result<StakeSampler, StakeError> {
        let total = check_weights(weights)?;
        let n = weights.len();
        let normalized: Vec<f64> = weights.iter().map(|&w| w / total).collect();
        let positive = normalized.iter().filter(|&&p| p > 0.0).count();

        // Vose: bucket probabilities scaled so the average is 1; pair each under-full bucket
        // with an over-full one that donates the rest. Worklists are stacks: deterministic.
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
        Ok(StakeSampler {
            table,
            normalized,
            total,
            positive,
        })
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

    /// Clears `out` and fills it with `k` distinct node ids drawn by stake weight without
    /// replacement, never `exclude`; if fewer than `k` positive-weight nodes are eligible,
    /// yields all of them.
    ///
    /// Successive draws reject ids already taken (a linear scan of `out`: meant for small `k`).
    /// If `16 * k + 64` draws do not suffice (a few nodes hold nearly all stake), the rest is
    /// filled deterministically with the lowest eligible node ids. Allocates only if `out` has
    /// less capacity than the result needs.
    #[inline]
    pub fn sample_distinct(
        &self,
        rng: &mut impl Rng,
        k: usize,
        exclude: Option<u32>,
        out: &mut Vec<u32>,
    ) {
        out.clear();
        // u32::MAX is never a node id (check_nodes), so it is a safe "nothing excluded".
        let exclude = match exclude {
            Some(id) if (id as usize) < self.len() => id,
            _ => u32::MAX,
        };
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
        while out.len() < want && attempts > 0 {
            let n = (want - out.len()).min(BATCH).min(attempts);
            attempts -= n;
            for slot in &mut batch[..n] {
                *slot = self.pick(rng.next_u64());
            }
            for &id in &batch[..n] {
                // Branch-free scan: vectorizes, and `out` is short.
                let taken = out.iter().fold(id == exclude, |t, &o| t | (o == id));
                if !taken {
                    out.push(id);
                }
            }
        }
        if out.len() < want {
            self.fill_in_order(want, exclude, out);
        }
    }

    /// The fallback of `sample_distinct`: eligible ids in increasing order until `out` has `want`.
    #[cold]
    fn fill_in_order(&self, want: usize, exclude: u32, out: &mut Vec<u32>) {
        for (id, &p) in self.normalized.iter().enumerate() {
            if out.len() >= want {
                break;
            }
            let id = id as u32;
            if p > 0.0 && id != exclude && !out.contains(&id) {
                out.push(id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngCore, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn rng(seed: u64) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(seed)
    }

    #[test]
    fn uniform_weights_are_ones_and_use_no_randomness() {
        let mut r = rng(1);
        let before = r.clone();
        assert_eq!(Stake::Uniform.weights(4, &mut r).unwrap(), vec![1.0; 4]);
        assert_eq!(r, before);
    }

    #[test]
    fn pareto_weights_are_deterministic_and_at_least_one() {
        let a = Stake::Pareto(1.16).weights(10_000, &mut rng(9)).unwrap();
        let b = Stake::Pareto(1.16).weights(10_000, &mut rng(9)).unwrap();
        let c = Stake::Pareto(1.16).weights(10_000, &mut rng(10)).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.iter().all(|&w| w >= 1.0 && w.is_finite()));
        // Heavy tail: the largest weight is far above the median.
        let max = a.iter().cloned().fold(0.0, f64::max);
        assert!(max > 100.0, "{max}");
        // Node-id order: a prefix of the nodes gets the same weights.
        let prefix = Stake::Pareto(1.16).weights(100, &mut rng(9)).unwrap();
        assert_eq!(prefix[..], a[..100]);
    }

    #[test]
    fn explicit_weights_are_checked() {
        let mut r = rng(0);
        let w = Stake::Weights(vec![1.0, 0.0, 2.5]);
        assert_eq!(w.weights(3, &mut r).unwrap(), vec![1.0, 0.0, 2.5]);
        assert_eq!(
            w.weights(4, &mut r),
            Err(StakeError::LengthMismatch {
                expected: 4,
                got: 3
            })
        );
        let bad = |v: Vec<f64>| Stake::Weights(v).weights(2, &mut rng(0)).unwrap_err();
        assert!(matches!(
            bad(vec![1.0, f64::NAN]),
            StakeError::NonFinite { node: 1, .. }
        ));
        assert!(matches!(
            bad(vec![f64::INFINITY, 1.0]),
            StakeError::NonFinite { node: 0, .. }
        ));
        assert!(matches!(
            bad(vec![1.0, -1.0]),
            StakeError::Negative { node: 1, .. }
        ));
        assert_eq!(bad(vec![0.0, 0.0]), StakeError::ZeroTotal);
        assert_eq!(bad(vec![f64::MAX, f64::MAX]), StakeError::TotalOverflow);
        assert_eq!(Stake::Uniform.weights(0, &mut r), Err(StakeError::NoNodes));
        for shape in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                Stake::Pareto(shape).weights(3, &mut r),
                Err(StakeError::InvalidParetoShape(_))
            ));
        }
        assert!(matches!(
            Stake::Pareto(0.001).weights(10_000, &mut r),
            Err(StakeError::ParetoOverflow { .. })
        ));
        let msg = bad(vec![1.0, -1.0]).to_string();
        assert!(msg.contains("node 1") && msg.contains("-1"), "{msg}");
        assert!(StakeSampler::new(&[]).is_err());
        assert!(StakeSampler::new(&[0.0, -0.5]).is_err());
    }

    #[test]
    fn sampler_accessors() {
        let s = StakeSampler::new(&[1.0, 3.0, 0.0]).unwrap();
        assert_eq!(s.len(), 3);
        assert!(!s.is_empty());
        assert_eq!(s.total_weight(), 4.0);
        assert_eq!((s.weight(0), s.weight(1), s.weight(2)), (0.25, 0.75, 0.0));
        assert_eq!(s.positive_count(), 2);
    }

    #[test]
    fn alias_frequencies_match_weights() {
        let weights = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 0.0, 9.0, 0.5];
        let s = StakeSampler::new(&weights).unwrap();
        let mut r = rng(2024);
        let draws = 1_000_000;
        let mut counts = [0u64; 11];
        for _ in 0..draws {
            counts[s.draw(&mut r) as usize] += 1;
        }
        assert_eq!(counts[8], 0, "zero weight drawn");
        let total: f64 = weights.iter().sum();
        let chi2: f64 = weights
            .iter()
            .zip(&counts)
            .filter(|(&w, _)| w > 0.0)
            .map(|(&w, &c)| {
                let e = w / total * draws as f64;
                (c as f64 - e).powi(2) / e
            })
            .sum();
        // 9 degrees of freedom: the 99.9th percentile is 27.9.
        assert!(chi2 < 27.9, "chi2 = {chi2}, counts {counts:?}");
    }

    #[test]
    fn pareto_alias_table_frequencies_match_on_many_nodes() {
        // 1000 heavy-tailed weights: the heaviest few nodes' frequencies match their shares.
        let w = Stake::Pareto(1.16).weights(1000, &mut rng(5)).unwrap();
        let s = StakeSampler::new(&w).unwrap();
        let mut counts = vec![0u64; 1000];
        let mut r = rng(6);
        let draws = 2_000_000;
        for _ in 0..draws {
            counts[s.draw(&mut r) as usize] += 1;
        }
        let mut order: Vec<usize> = (0..1000).collect();
        order.sort_by(|&a, &b| w[b].total_cmp(&w[a]));
        for &i in &order[..10] {
            let e = s.weight(i as u32) * draws as f64;
            let sd = e.sqrt();
            assert!(
                (counts[i] as f64 - e).abs() < 5.0 * sd,
                "node {i}: {} vs {e}",
                counts[i]
            );
        }
    }

    #[test]
    fn uniform_weights_give_full_buckets() {
        let s = StakeSampler::new(&[2.0; 1000]).unwrap();
        for (i, b) in s.table.iter().enumerate() {
            assert_eq!(b.alias, i as u32);
        }
    }

    #[test]
    fn sample_distinct_returns_k_distinct_never_excluded() {
        let w = Stake::Pareto(1.5).weights(500, &mut rng(3)).unwrap();
        let s = StakeSampler::new(&w).unwrap();
        let mut r = rng(4);
        let mut out = Vec::with_capacity(20);
        let ptr = out.as_ptr();
        for round in 0..2000u32 {
            let me = round % 500;
            s.sample_distinct(&mut r, 20, Some(me), &mut out);
            assert_eq!(out.len(), 20);
            assert!(!out.contains(&me));
            let mut sorted = out.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), 20);
            assert!(out.iter().all(|&id| id < 500));
        }
        assert_eq!(out.as_ptr(), ptr, "out was reallocated");
        s.sample_distinct(&mut r, 0, None, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn sample_distinct_handles_few_positive_nodes() {
        let s = StakeSampler::new(&[0.0, 0.0, 3.0, 0.0, 1.0, 0.0]).unwrap();
        let mut r = rng(8);
        let mut out = Vec::new();
        for _ in 0..100 {
            s.sample_distinct(&mut r, 5, None, &mut out);
            let mut got = out.clone();
            got.sort_unstable();
            assert_eq!(got, vec![2, 4]);
            s.sample_distinct(&mut r, 5, Some(2), &mut out);
            assert_eq!(out, vec![4]);
            s.sample_distinct(&mut r, 1, Some(4), &mut out);
            assert_eq!(out, vec![2]);
            // Excluding a zero-weight or out-of-range id changes nothing.
            s.sample_distinct(&mut r, 2, Some(0), &mut out);
            assert_eq!(out.len(), 2);
            s.sample_distinct(&mut r, 2, Some(99), &mut out);
            assert_eq!(out.len(), 2);
        }
        let single = StakeSampler::new(&[5.0]).unwrap();
        single.sample_distinct(&mut r, 3, Some(0), &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn sample_distinct_terminates_when_stake_is_concentrated() {
        // Drawing the light nodes by rejection would take ~1e12 tries: the fallback fills them.
        let s = StakeSampler::new(&[1.0, 1e12, 1.0, 0.0, 1.0]).unwrap();
        let mut r = rng(1);
        let mut out = Vec::new();
        s.sample_distinct(&mut r, 10, None, &mut out);
        assert_eq!(out, vec![1, 0, 2, 4]);
        s.sample_distinct(&mut r, 2, Some(1), &mut out);
        assert_eq!(out, vec![0, 2]);
    }

    #[test]
    fn zero_weight_nodes_are_never_drawn() {
        let w: Vec<f64> = (0..1000)
            .map(|i| if i % 3 == 0 { 0.0 } else { (i % 7 + 1) as f64 })
            .collect();
        let s = StakeSampler::new(&w).unwrap();
        let mut r = rng(12);
        for _ in 0..200_000 {
            assert_ne!(s.draw(&mut r) % 3, 0);
        }
        let mut out = Vec::new();
        for _ in 0..5_000 {
            s.sample_distinct(&mut r, 20, Some(1), &mut out);
            assert!(out.iter().all(|&id| id % 3 != 0 && id != 1));
        }
    }

    #[test]
    fn same_seed_same_output() {
        let w = Stake::Pareto(1.16).weights(10_000, &mut rng(1)).unwrap();
        let s = StakeSampler::new(&w).unwrap();
        let run = |seed| {
            let mut r = rng(seed);
            let mut out = Vec::new();
            let mut all = Vec::new();
            for me in 0..100 {
                s.sample_distinct(&mut r, 20, Some(me), &mut out);
                all.extend_from_slice(&out);
            }
            all
        };
        assert_eq!(run(77), run(77));
        assert_ne!(run(77), run(78));
    }

    #[test]
    fn uniform_draws_are_pinned() {
        // Integer-only path: this sequence must be the same on every platform and build.
        let s = StakeSampler::new(&[1.0; 1_000_000]).unwrap();
        let mut r = rng(0);
        let mut out = Vec::new();
        s.sample_distinct(&mut r, 8, Some(0), &mut out);
        assert_eq!(
            out,
            [709075, 465921, 699143, 60171, 879110, 549531, 828984, 935426]
        );
        // The documented mapping: bucket = high 64 bits of x * n.
        let x = rng(0).next_u64();
        assert_eq!(((u128::from(x) * 1_000_000) >> 64) as u32, out[0]);
    }
}
