//! Stake distributions: how much stake each validator holds (sampling: [`super::sampler`]).

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

/// Why stake weights or a [`super::StakeSampler`] could not be built.
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
    /// A stake unit that is not positive and finite.
    #[error("stake_unit {0} is not a positive finite number")]
    InvalidUnit(f64),
    /// A node with positive weight that rounds to no stake unit at all.
    #[error("stake: weight {value} of node {node} is less than half a stake unit ({unit}); lower stake_unit")]
    BelowUnit {
        /// The node id.
        node: usize,
        /// The weight.
        value: f64,
        /// The stake unit.
        unit: f64,
    },
    /// More stake units in all than a `u64` holds.
    #[error("stake: the weights make more than 2^64 stake units of {unit}; raise stake_unit")]
    UnitsOverflow {
        /// The stake unit.
        unit: f64,
    },
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
pub(super) fn check_weights(weights: &[f64]) -> Result<f64, StakeError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
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
    }
}
