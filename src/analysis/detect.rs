//! The rule-based Byzantine detector and how a detector is scored against the truth.
//!
//! **Rules.** Each rule is one answerer-side feature read in the direction that is
//! suspicious (silence = 1 - response rate, dissent from the querier's decision, dissent
//! from the poll's sampled majority, flips between consecutive answers, contradictions
//! between close answers to different queriers, the wait before answering). A node's
//! robust z-score on a rule is (x - median) / max(1.4826 MAD, floor), over every node that
//! has the feature: the median and MAD do not move when a minority misbehaves, and the
//! floor keeps a feature on which the honest nodes all agree (MAD 0) from turning noise
//! into infinities. The node's score is 1 - 2^(-z/3) of its largest positive z, so a
//! score of 0.5 is a robust z of 3 on some rule, and the rule is named as the reason.
//!
//! **Why answerer-side only.** The simulator's adversary never polls (docs/adversaries.md),
//! so "sent no queries" would find every Byzantine node and say nothing about the
//! strategies; the detector judges a node only by what its queriers received from it.
//!
//! **Scores.** ROC AUC is the Mann-Whitney statistic: the probability that a random
//! Byzantine node scores above a random honest one, ties counting one half.

use super::features::NodeFeatures;

/// A rule: its name, the suspicious reading of a node's features, and its floor.
pub struct Rule {
    /// The name (features.csv's `z_<name>` column, and the `reason`).
    pub name: &'static str,
    /// The suspicious value, None when the node lacks the feature.
    pub value: fn(&NodeFeatures) -> Option<f64>,
    /// The smallest scale of a z-score (same unit as the value).
    pub floor: f64,
}

/// The rules, in the order of features.csv's z columns.
pub const RULES: [Rule; 5] = [
    Rule {
        name: "silence",
        value: |f| f.response_rate().map(|r| 1.0 - r),
        floor: 0.05,
    },
    Rule {
        name: "dissent_late",
        value: |f| f.agree_late_rate().map(|r| 1.0 - r),
        floor: 0.05,
    },
    Rule {
        name: "flips",
        value: NodeFeatures::flip_rate,
        floor: 0.05,
    },
    Rule {
        name: "contradictions",
        value: NodeFeatures::contradiction_rate,
        floor: 0.05,
    },
    Rule {
        name: "response",
        value: NodeFeatures::response_ms,
        floor: 1.0,
    },
];

/// A node's verdict: robust z per rule (None without the feature), score and reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// One z-score per rule of [`RULES`].
    pub z: [Option<f64>; RULES.len()],
    /// 1 - 2^(-z/3) of the largest positive z, in [0, 1).
    pub score: f64,
    /// The rule of the largest z ("" if no z is positive).
    pub reason: &'static str,
}

/// The median of `v` (sorted in place); NaN-free input.
pub fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    })
}

/// Robust z-scores of `values` (None stays None): (x - median) / max(1.4826 MAD, floor).
pub fn robust_z(values: &[Option<f64>], floor: f64) -> Vec<Option<f64>> {
    debug_assert!(floor > 0.0);
    let mut present: Vec<f64> = values.iter().flatten().copied().collect();
    let Some(med) = median(&mut present) else {
        return vec![None; values.len()];
    };
    let mut dev: Vec<f64> = present.iter().map(|x| (x - med).abs()).collect();
    let mad = median(&mut dev).unwrap_or(0.0);
    let scale = (1.4826 * mad).max(floor);
    values
        .iter()
        .map(|v| v.map(|x| (x - med) / scale))
        .collect()
}

/// The score of a largest z: 1 - 2^(-z/3) for z > 0, else 0.
pub fn score_of(z: f64) -> f64 {
    if z > 0.0 {
        1.0 - (-z / 3.0).exp2()
    } else {
        0.0
    }
}

/// Every node's verdict under [`RULES`].
pub fn rule_verdicts(nodes: &[NodeFeatures]) -> Vec<Verdict> {
    let columns: Vec<Vec<Option<f64>>> = RULES
        .iter()
        .map(|r| robust_z(&nodes.iter().map(r.value).collect::<Vec<_>>(), r.floor))
        .collect();
    (0..nodes.len())
        .map(|i| {
            let z: [Option<f64>; RULES.len()] = std::array::from_fn(|j| columns[j][i]);
            let (mut best, mut reason) = (0.0, "");
            for (j, zj) in z.iter().enumerate() {
                if let Some(v) = *zj {
                    if v > best {
                        best = v;
                        reason = RULES[j].name;
                    }
                }
            }
            Verdict {
                z,
                score: score_of(best),
                reason,
            }
        })
        .collect()
}

/// ROC AUC of `positives` against `negatives` (Mann-Whitney, ties one half); None if
/// either is empty.
pub fn auc(positives: &[f64], negatives: &[f64]) -> Option<f64> {
    if positives.is_empty() || negatives.is_empty() {
        return None;
    }
    let mut neg = negatives.to_vec();
    neg.sort_by(f64::total_cmp);
    let mut wins = 0.0;
    for &p in positives {
        let below = neg.partition_point(|&x| x < p);
        let not_above = neg.partition_point(|&x| x <= p);
        wins += below as f64 + 0.5 * (not_above - below) as f64;
    }
    Some(wins / (positives.len() as f64 * neg.len() as f64))
}

/// The ROC curve: (false positive rate, true positive rate) at every distinct threshold,
/// from (0, 0) to (1, 1).
pub fn roc(positives: &[f64], negatives: &[f64]) -> Vec<(f64, f64)> {
    let mut all: Vec<(f64, bool)> = positives
        .iter()
        .map(|&s| (s, true))
        .chain(negatives.iter().map(|&s| (s, false)))
        .collect();
    all.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (np, nn) = (positives.len().max(1) as f64, negatives.len().max(1) as f64);
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut curve = vec![(0.0, 0.0)];
    let mut i = 0;
    while i < all.len() {
        let s = all[i].0;
        while i < all.len() && all[i].0 == s {
            if all[i].1 {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
        }
        curve.push((fp as f64 / nn, tp as f64 / np));
    }
    if curve.last() != Some(&(1.0, 1.0)) {
        curve.push((1.0, 1.0));
    }
    curve
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_is_the_mann_whitney_statistic() {
        assert_eq!(auc(&[3.0, 4.0], &[1.0, 2.0]), Some(1.0));
        assert_eq!(auc(&[1.0], &[2.0]), Some(0.0));
        // One tie and one win out of two pairs.
        assert_eq!(auc(&[2.0], &[2.0, 1.0]), Some(0.75));
        assert_eq!(auc(&[], &[1.0]), None);
    }

    #[test]
    fn roc_runs_from_origin_to_one_and_its_area_is_the_auc() {
        let (p, n) = ([0.9, 0.8, 0.3], [0.7, 0.2, 0.1, 0.3]);
        let c = roc(&p, &n);
        assert_eq!(c.first(), Some(&(0.0, 0.0)));
        assert_eq!(c.last(), Some(&(1.0, 1.0)));
        let area: f64 = c
            .windows(2)
            .map(|w| (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0)
            .sum();
        assert!((area - auc(&p, &n).unwrap()).abs() < 1e-12);
    }

    #[test]
    fn robust_z_ignores_a_minority_and_floors_the_scale() {
        // Nine agree exactly (MAD 0): the floor sets the scale.
        let mut v = vec![Some(1.0); 9];
        v.push(Some(0.0));
        v.push(None);
        let z = robust_z(&v, 0.05);
        assert_eq!(z[0], Some(0.0));
        assert_eq!(z[9], Some(-20.0));
        assert_eq!(z[10], None);
        // 1.4826 MAD when it is larger: values 0..=8, median 4, MAD 2.
        let w: Vec<Option<f64>> = (0..9).map(|i| Some(i as f64)).collect();
        let z = robust_z(&w, 0.05);
        assert!((z[8].unwrap() - 4.0 / (1.4826 * 2.0)).abs() < 1e-12);
    }

    #[test]
    fn a_score_of_one_half_is_a_z_of_three() {
        assert_eq!(score_of(3.0), 0.5);
        assert_eq!(score_of(-1.0), 0.0);
        assert!(score_of(60.0) < 1.0);
    }
}
