use super::*;
use crate::node::Stake;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

#[test]
fn sampler_accessors() {
    let s = StakeSampler::validators(&[1.0, 3.0, 0.0]).unwrap();
    assert_eq!(s.len(), 3);
    assert!(!s.is_empty());
    assert_eq!(s.total_weight(), 4.0);
    assert_eq!((s.weight(0), s.weight(1), s.weight(2)), (0.25, 0.75, 0.0));
    assert_eq!(s.positive_count(), 2);
}

#[test]
fn alias_frequencies_match_weights() {
    let weights = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 0.0, 9.0, 0.5];
    let s = StakeSampler::validators(&weights).unwrap();
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
    let s = StakeSampler::validators(&w).unwrap();
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
    let s = StakeSampler::validators(&[2.0; 1000]).unwrap();
    for (i, b) in s.table.iter().enumerate() {
        assert_eq!(b.alias, i as u32);
    }
}

#[test]
fn sample_distinct_returns_k_distinct_never_excluded() {
    let w = Stake::Pareto(1.5).weights(500, &mut rng(3)).unwrap();
    let s = StakeSampler::validators(&w).unwrap();
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
    let s = StakeSampler::validators(&[0.0, 0.0, 3.0, 0.0, 1.0, 0.0]).unwrap();
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
    let single = StakeSampler::validators(&[5.0]).unwrap();
    single.sample_distinct(&mut r, 3, Some(0), &mut out);
    assert!(out.is_empty());
}

#[test]
fn sample_distinct_terminates_when_stake_is_concentrated() {
    // Drawing the light nodes by rejection would take ~1e12 tries: the walk draws them, and
    // (see `validators_follow_the_exact_law`) from the same law.
    let s = StakeSampler::validators(&[1.0, 1e12, 1.0, 0.0, 1.0]).unwrap();
    let mut r = rng(1);
    let mut out = Vec::new();
    s.sample_distinct(&mut r, 10, None, &mut out);
    out.sort_unstable();
    assert_eq!(out, vec![0, 1, 2, 4]);
    s.sample_distinct(&mut r, 2, Some(1), &mut out);
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(|&id| [0, 2, 4].contains(&id)) && out[0] != out[1]);
}

#[test]
fn zero_weight_nodes_are_never_drawn() {
    let w: Vec<f64> = (0..1000)
        .map(|i| if i % 3 == 0 { 0.0 } else { (i % 7 + 1) as f64 })
        .collect();
    let s = StakeSampler::validators(&w).unwrap();
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
    let s = StakeSampler::validators(&w).unwrap();
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
    let s = StakeSampler::validators(&[1.0; 1_000_000]).unwrap();
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

/// The exact law of one poll's counts (one entry a node, in id order), by enumerating its
/// successive draws: the next slot goes to node i with probability `left_i / sum(left)`,
/// where `left_i` is the units node i has not yet filled (`units`) or its weight while it is
/// not yet drawn (validators). Zero-weight and excluded nodes are never drawn.
fn exact_law(
    weights: &[f64],
    k: usize,
    exclude: Option<usize>,
    units: bool,
) -> BTreeMap<Vec<u32>, f64> {
    fn go(
        w: &[f64],
        units: bool,
        left: usize,
        counts: &mut Vec<u32>,
        p: f64,
        law: &mut BTreeMap<Vec<u32>, f64>,
    ) {
        let avail: Vec<f64> = w
            .iter()
            .zip(counts.iter())
            .map(|(&w, &c)| match units {
                true => w - f64::from(c),
                false if c == 0 => w,
                false => 0.0,
            })
            .collect();
        let mass: f64 = avail.iter().sum();
        if left == 0 || mass <= 0.0 {
            *law.entry(counts.clone()).or_default() += p;
            return;
        }
        for (i, &a) in avail.iter().enumerate() {
            if a > 0.0 {
                counts[i] += 1;
                go(w, units, left - 1, counts, p * a / mass, law);
                counts[i] -= 1;
            }
        }
    }
    let mut w = weights.to_vec();
    if let Some(x) = exclude {
        w[x] = 0.0;
    }
    let mut law = BTreeMap::new();
    go(&w, units, k, &mut vec![0; w.len()], 1.0, &mut law);
    law
}

/// The 99.99th percentile of chi-square with `df` degrees of freedom (Wilson-Hilferty).
fn chi2_limit(df: usize) -> f64 {
    let d = df as f64;
    let z = 3.719; // the standard normal's 99.99th percentile
    d * (1.0 - 2.0 / (9.0 * d) + z * (2.0 / (9.0 * d)).sqrt()).powi(3)
}

/// Draws `polls` samples and checks their count vectors against `law` (chi-square), and
/// each node's inclusion frequency against its exact inclusion probability (5 sigma).
fn check_law(
    s: &StakeSampler,
    k: usize,
    exclude: Option<u32>,
    law: &BTreeMap<Vec<u32>, f64>,
    seed: u64,
) {
    let polls = 200_000;
    let n = s.len();
    let mut seen: BTreeMap<Vec<u32>, u64> = BTreeMap::new();
    let mut r = rng(seed);
    let mut out = Sample::with_capacity(k);
    for _ in 0..polls {
        s.sample(&mut r, k, exclude, &mut out);
        let mut counts = vec![0u32; n];
        for (id, c) in out.iter() {
            counts[id as usize] += c;
        }
        assert_eq!(out.slots(), counts.iter().sum::<u32>());
        *seen.entry(counts).or_default() += 1;
    }
    for v in seen.keys() {
        assert!(
            law.contains_key(v),
            "drew {v:?}, impossible under the exact law"
        );
    }
    let chi2: f64 = law
        .iter()
        .map(|(v, &p)| {
            let e = p * polls as f64;
            let o = seen.get(v).copied().unwrap_or(0) as f64;
            (o - e).powi(2) / e
        })
        .sum();
    let limit = chi2_limit(law.len().max(2) - 1);
    assert!(
        chi2 < limit,
        "chi2 {chi2} >= {limit}: seen {seen:?} law {law:?}"
    );
    for i in 0..n {
        let p: f64 = law.iter().filter(|(v, _)| v[i] > 0).map(|(_, &p)| p).sum();
        let f = seen
            .iter()
            .filter(|(v, _)| v[i] > 0)
            .map(|(_, &c)| c)
            .sum::<u64>() as f64;
        let sd = (polls as f64 * p * (1.0 - p)).sqrt().max(1.0);
        assert!(
            (f - p * polls as f64).abs() < 5.0 * sd,
            "node {i}: {f} vs {}",
            p * polls as f64
        );
    }
}

#[test]
fn stake_units_follow_the_exact_law() {
    // Units 1, 2, 3, 4 (a unit of 1): k = 3 units without replacement, as avalanchego's
    // weighted-without-replacement sampler draws them.
    let w = [1.0, 2.0, 3.0, 4.0];
    let s = StakeSampler::stake_units(&w, 1.0).unwrap();
    assert_eq!(
        (s.units(0), s.units(3), s.sampling()),
        (1, 4, Sampling::Stake)
    );
    check_law(&s, 3, None, &exact_law(&w, 3, None, true), 1);
    check_law(&s, 3, Some(3), &exact_law(&w, 3, Some(3), true), 2);
    // Fewer units than slots: every eligible unit is drawn.
    let mut out = Sample::with_capacity(8);
    s.sample(&mut rng(3), 8, Some(3), &mut out);
    let mut got: Vec<(u32, u32)> = out.iter().collect();
    got.sort_unstable();
    assert_eq!(got, vec![(0, 1), (1, 2), (2, 3)]);
}

#[test]
fn stake_units_stay_exact_when_rejections_pile_up() {
    // Excluding the node that holds nearly every unit: rejection alone would take ~10^6
    // draws a slot, so the walk fills the poll, from the same law.
    let w = [1.0, 1e6, 1.0, 0.0, 1.0];
    let s = StakeSampler::stake_units(&w, 1.0).unwrap();
    check_law(&s, 2, Some(1), &exact_law(&w, 2, Some(1), true), 4);
    // Without the exclusion the heavy node fills nearly every slot, counted once per unit.
    let mut out = Sample::with_capacity(20);
    s.sample(&mut rng(5), 20, None, &mut out);
    assert_eq!(out.slots(), 20);
    assert!(out.iter().any(|(id, c)| id == 1 && c >= 17), "{out:?}");
}

#[test]
fn validators_follow_the_exact_law() {
    let w = [1.0, 2.0, 3.0, 4.0, 10.0];
    let s = StakeSampler::validators(&w).unwrap();
    check_law(&s, 3, None, &exact_law(&w, 3, None, false), 6);
    check_law(&s, 2, Some(4), &exact_law(&w, 2, Some(4), false), 7);
    // Concentrated stake, where an earlier fallback favoured the lowest ids: every light
    // node now has the same chance (1/3 each of being left out).
    let w = [1.0, 1e12, 1.0, 0.0, 1.0];
    let s = StakeSampler::validators(&w).unwrap();
    check_law(&s, 3, None, &exact_law(&w, 3, None, false), 8);
    check_law(&s, 2, Some(1), &exact_law(&w, 2, Some(1), false), 9);
}

/// `C(n, r)` as an f64 (small arguments).
fn choose(n: u64, r: u64) -> f64 {
    (0..r).map(|i| (n - i) as f64 / (i + 1) as f64).product()
}

#[test]
fn uniform_stake_units_are_hypergeometric() {
    // 6 nodes of 3 units each, k = 5: a node's count is hypergeometric (N = 18 units, K = 3
    // of them its own, 5 drawn), P(c) = C(3, c) C(15, 5 - c) / C(18, 5); it is in the poll
    // with probability 1 - C(15, 5) / C(18, 5) = 0.6495.
    let (n, u, k) = (6usize, 3u64, 5u64);
    let s = StakeSampler::stake_units(&vec![3.0; n], 1.0).unwrap();
    let total = n as u64 * u;
    let pmf = |c: u64| choose(u, c) * choose(total - u, k - c) / choose(total, k);
    assert!((1.0 - pmf(0) - 0.6495).abs() < 1e-4);
    let polls = 200_000u64;
    let mut hist = vec![[0u64; 4]; n];
    let mut r = rng(10);
    let mut out = Sample::with_capacity(k as usize);
    for _ in 0..polls {
        s.sample(&mut r, k as usize, None, &mut out);
        let mut counts = vec![0usize; n];
        for (id, c) in out.iter() {
            counts[id as usize] = c as usize;
        }
        for (h, &c) in hist.iter_mut().zip(&counts) {
            h[c] += 1;
        }
    }
    for (node, h) in hist.iter().enumerate() {
        let chi2: f64 = (0..=3u64)
            .map(|c| {
                let e = pmf(c) * polls as f64;
                (h[c as usize] as f64 - e).powi(2) / e
            })
            .sum();
        assert!(
            chi2 < chi2_limit(3),
            "node {node}: chi2 {chi2}, counts {h:?}"
        );
    }
}

#[test]
fn one_unit_each_is_distinct_sampling_draw_for_draw() {
    let s = StakeSampler::stake_units(&[1.0; 1000], 1.0).unwrap();
    let d = StakeSampler::validators(&[1.0; 1000]).unwrap();
    let (mut r1, mut r2) = (rng(11), rng(11));
    let mut out = Sample::with_capacity(20);
    let mut ids = Vec::new();
    for me in 0..500 {
        s.sample(&mut r1, 20, Some(me), &mut out);
        d.sample_distinct(&mut r2, 20, Some(me), &mut ids);
        assert_eq!(out.ids(), &ids[..]);
        assert!(out.counts().iter().all(|&c| c == 1));
    }
}

#[test]
fn stake_units_give_votes_in_proportion_to_stake() {
    // The figure: under Pareto stake the top 10 % of 200 validators hold 41 % of the
    // stake but got 36 % of the votes with distinct sampling. With stake units a node's
    // expected slots are exactly k * units / total.
    let w = Stake::Pareto(1.16).weights(200, &mut rng(12)).unwrap();
    let mut order: Vec<usize> = (0..200).collect();
    order.sort_by(|&a, &b| w[b].total_cmp(&w[a]));
    let top = &order[..20];
    let share: f64 = top.iter().map(|&i| w[i]).sum::<f64>() / w.iter().sum::<f64>();
    let votes_of_top = |s: &StakeSampler| {
        let (mut r, mut out) = (rng(13), Sample::with_capacity(20));
        let (mut mine, mut all) = (0u64, 0u64);
        for _ in 0..50_000 {
            s.sample(&mut r, 20, None, &mut out);
            for (id, c) in out.iter() {
                all += u64::from(c);
                mine += if top.contains(&(id as usize)) {
                    u64::from(c)
                } else {
                    0
                };
            }
        }
        mine as f64 / all as f64
    };
    let units = votes_of_top(&StakeSampler::stake_units(&w, STAKE_UNIT).unwrap());
    let distinct = votes_of_top(&StakeSampler::validators(&w).unwrap());
    assert!(
        (units - share).abs() < 0.005,
        "units {units} vs stake {share}"
    );
    assert!(
        distinct < share - 0.02,
        "distinct {distinct} vs stake {share}"
    );
}

#[test]
fn stake_units_are_checked() {
    assert_eq!(
        StakeSampler::stake_units(&[1.0, 0.4], 1.0).unwrap_err(),
        StakeError::BelowUnit {
            node: 1,
            value: 0.4,
            unit: 1.0
        }
    );
    assert!(matches!(
        StakeSampler::stake_units(&[1e10, 1e10], 1e-9),
        Err(StakeError::UnitsOverflow { .. })
    ));
    for unit in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            StakeSampler::stake_units(&[1.0], unit),
            Err(StakeError::InvalidUnit(_))
        ));
    }
    let s = StakeSampler::stake_units(&[1.0, 0.0, 2.5], STAKE_UNIT).unwrap();
    assert_eq!(
        (s.units(0), s.units(1), s.units(2)),
        (1_000_000_000, 0, 2_500_000_000)
    );
    assert_eq!(s.positive_count(), 2);
    assert!(StakeSampler::validators(&[]).is_err());
    assert!(StakeSampler::validators(&[0.0, -0.5]).is_err());
}
