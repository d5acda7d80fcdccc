//! A stake-unit poll drawn by class, without the validators' names.
//!
//! Under [`Sampling::Stake`](super::Sampling::Stake) a poll is k stake units drawn
//! without replacement, and an honest validator answers once per unit it holds. When every
//! honest validator with the same preference answers the same (lockstep mode reads the
//! previous round's preferences), the bag of honest answers depends only on how many drawn
//! units fall in each class: the honest units of each preference, and the Byzantine units.
//! Those counts follow the multivariate hypergeometric law, which [`draw_by_class`] draws
//! exactly, one uniform unit at a time, in O(classes) per unit and without touching any
//! per-validator table. Which Byzantine validators hold the drawn Byzantine units is then a
//! stake-unit sample among the Byzantine validators alone
//! ([`StakeSampler::of_units`](super::StakeSampler::of_units)), which is the same law as
//! drawing every unit by name.

use rand::Rng;

/// Draws `want` units without replacement from classes of `pool[c]` units each (together at
/// least `want`) and adds one to `drawn[c]` for each unit drawn from class `c`; `pool` is
/// left with the units not drawn.
///
/// Each unit is uniform among the units left, so `drawn` (if zero before) follows the
/// multivariate hypergeometric law of `want` draws from `pool`. Uses one bounded draw
/// (`random_range`) per unit; integer-only, so identical on every platform.
#[inline]
pub fn draw_by_class(rng: &mut impl Rng, want: u32, pool: &mut [u64], drawn: &mut [u32]) {
    debug_assert_eq!(pool.len(), drawn.len());
    let mut left: u64 = pool.iter().sum();
    debug_assert!(left >= u64::from(want), "{want} units wanted of {left}");
    match pool.len() {
        // Two choices and the Byzantine class, the common case: a loop the compiler unrolls.
        3 => return draw_fixed::<3>(rng, want, left, pool, drawn),
        2 => return draw_fixed::<2>(rng, want, left, pool, drawn),
        n if n <= FEW => return draw_few(rng, want, left, pool, drawn),
        _ => {}
    }
    for _ in 0..want {
        let mut r = below(rng, left);
        let mut c = 0;
        while r >= pool[c] {
            r -= pool[c];
            c += 1;
        }
        pool[c] -= 1;
        drawn[c] += 1;
        left -= 1;
    }
}

/// Classes up to which [`draw_by_class`] finds a unit's class without branching.
const FEW: usize = 8;

/// [`draw_by_class`] for at most [`FEW`] classes, without a branch per class (a branch
/// would be mispredicted about half the time with two even classes).
///
/// The classes are kept as prefix sums `ends` (class `c` holds the units in
/// `ends[c-1]..ends[c]`). Unit `r` lies in the first class whose end is above it, and taking
/// it out lowers by one every end above `r`, which is all the update there is; the counts
/// drawn are read off the ends at the end.
#[inline(always)]
fn draw_few(rng: &mut impl Rng, want: u32, left: u64, pool: &mut [u64], drawn: &mut [u32]) {
    let classes = pool.len();
    let mut ends = [u64::MAX; FEW];
    prefix_sums(pool, &mut ends[..classes]);
    let start = ends;
    debug_assert_eq!(ends[classes - 1], left);
    for _ in 0..want {
        let r = below(rng, ends[classes - 1]);
        for e in &mut ends[..classes] {
            *e -= u64::from(r < *e);
        }
    }
    take_counts(&start[..classes], &ends[..classes], pool, drawn);
}

/// [`draw_few`] for exactly `N` classes, with the prefix sums in registers.
#[inline(always)]
fn draw_fixed<const N: usize>(
    rng: &mut impl Rng,
    want: u32,
    left: u64,
    pool: &mut [u64],
    drawn: &mut [u32],
) {
    let mut ends = [0u64; N];
    prefix_sums(pool, &mut ends);
    let start = ends;
    debug_assert_eq!(ends[N - 1], left);
    for _ in 0..want {
        let r = below(rng, ends[N - 1]);
        for e in &mut ends {
            *e -= u64::from(r < *e);
        }
    }
    take_counts(&start, &ends, pool, drawn);
}

/// `ends[c]`: the units of classes `0..=c` of `pool`.
#[inline(always)]
fn prefix_sums(pool: &[u64], ends: &mut [u64]) {
    let mut end = 0;
    for (e, &p) in ends.iter_mut().zip(pool) {
        end += p;
        *e = end;
    }
}

/// Adds to `drawn` the units each class lost between prefix sums `start` and `ends`, and
/// takes them out of `pool`.
#[inline(always)]
fn take_counts(start: &[u64], ends: &[u64], pool: &mut [u64], drawn: &mut [u32]) {
    let mut below = 0;
    for c in 0..pool.len() {
        let upto = start[c] - ends[c];
        let got = upto - below;
        below = upto;
        pool[c] -= got;
        drawn[c] += got as u32;
    }
}

/// A uniform integer in `0..n` (`n > 0`) by Lemire's multiply-and-reject method: the high
/// half of `x * n` for a uniform `x`, rejecting the `2^64 mod n` low values that would bias
/// it. `random_range` does the same but is not inlined into this loop.
#[inline(always)]
fn below(rng: &mut impl Rng, n: u64) -> u64 {
    debug_assert!(n > 0);
    let mut m = u128::from(rng.next_u64()) * u128::from(n);
    if (m as u64) < n {
        let reject = n.wrapping_neg() % n;
        while (m as u64) < reject {
            m = u128::from(rng.next_u64()) * u128::from(n);
        }
    }
    (m >> 64) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::{Sample, StakeSampler};
    use rand::{RngCore, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use std::collections::BTreeMap;

    /// C(n, r) exactly, for the small numbers of these tests.
    fn choose(n: u64, r: u64) -> f64 {
        if r > n {
            return 0.0;
        }
        (0..r).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
    }

    /// Pearson's chi-square of observed counts against expected probabilities.
    fn chi_square(observed: &BTreeMap<Vec<u32>, u64>, expected: &BTreeMap<Vec<u32>, f64>) -> f64 {
        let n: u64 = observed.values().sum();
        expected
            .iter()
            .map(|(cell, &p)| {
                let e = p * n as f64;
                let o = *observed.get(cell).unwrap_or(&0) as f64;
                (o - e).powi(2) / e
            })
            .sum()
    }

    /// Every outcome (a, b, c) of `k` draws from classes of `sizes`, with its closed-form
    /// multivariate hypergeometric probability C(A,a) C(B,b) C(C,c) / C(A+B+C, k).
    fn hypergeometric(sizes: [u64; 3], k: u32) -> BTreeMap<Vec<u32>, f64> {
        let total: u64 = sizes.iter().sum();
        let mut law = BTreeMap::new();
        for a in 0..=k {
            for b in 0..=(k - a) {
                let c = k - a - b;
                let p = choose(sizes[0], a.into())
                    * choose(sizes[1], b.into())
                    * choose(sizes[2], c.into())
                    / choose(total, k.into());
                if p > 0.0 {
                    law.insert(vec![a, b, c], p);
                }
            }
        }
        law
    }

    // 99.9th percentile of chi-square; the tests' seeds are fixed, so a pass is not luck
    // drawn anew each run, and a sampler off by a few per cent in any cell fails.
    fn chi2_999(dof: usize) -> f64 {
        // Wilson-Hilferty approximation, z = 3.09.
        let d = dof as f64;
        d * (1.0 - 2.0 / (9.0 * d) + 3.09 * (2.0 / (9.0 * d)).sqrt()).powi(3)
    }

    /// The class counts of 200,000 draws of `k` units from `pool`, by a fixed seed.
    fn observed(pool: [u64; 3], k: u32) -> BTreeMap<Vec<u32>, u64> {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut seen = BTreeMap::new();
        for _ in 0..200_000 {
            let mut left = pool;
            let mut drawn = [0u32; 3];
            draw_by_class(&mut rng, k, &mut left, &mut drawn);
            assert_eq!(drawn.iter().sum::<u32>(), k);
            assert!((0..3).all(|c| left[c] + u64::from(drawn[c]) == pool[c]));
            *seen.entry(drawn.to_vec()).or_insert(0u64) += 1;
        }
        seen
    }

    #[test]
    fn class_counts_follow_the_closed_form_hypergeometric_law() {
        let sizes = [7u64, 5, 4];
        let law = hypergeometric(sizes, 6);
        let seen = observed(sizes, 6);
        assert!(seen.keys().all(|cell| law.contains_key(cell)));
        let x2 = chi_square(&seen, &law);
        assert!(
            x2 < chi2_999(law.len() - 1),
            "chi-square {x2} over {} cells",
            law.len()
        );
    }

    #[test]
    fn a_chi_square_this_strict_catches_a_biased_draw() {
        // The same test against a draw that favours class 0 slightly must fail: the test
        // above can fail.
        let law = hypergeometric([7, 5, 4], 6);
        let x2 = chi_square(&observed([8, 5, 4], 6), &law);
        assert!(x2 > chi2_999(law.len() - 1), "chi-square {x2}");
    }

    #[test]
    fn every_path_puts_a_single_draw_in_a_class_by_its_size() {
        // 2 and 3 classes (unrolled), 5 (the branch-free loop) and 10 (the general scan):
        // each single draw lands in class c with probability pool[c] / total.
        for classes in [2usize, 3, 5, 10] {
            let sizes: Vec<u64> = (1..=classes as u64).collect();
            let total: u64 = sizes.iter().sum();
            let mut rng = ChaCha8Rng::seed_from_u64(4);
            let mut hits = vec![0u64; classes];
            let draws = 27_500 * classes as u64;
            for _ in 0..draws {
                let mut pool = sizes.clone();
                let mut drawn = vec![0u32; classes];
                draw_by_class(&mut rng, 1, &mut pool, &mut drawn);
                let c = drawn.iter().position(|&d| d == 1).unwrap();
                assert_eq!(pool[c] + 1, sizes[c]);
                hits[c] += 1;
            }
            let x2: f64 = (0..classes)
                .map(|c| {
                    let e = draws as f64 * sizes[c] as f64 / total as f64;
                    (hits[c] as f64 - e).powi(2) / e
                })
                .sum();
            assert!(
                x2 < chi2_999(classes - 1),
                "{classes} classes: chi-square {x2}: {hits:?}"
            );
        }
    }

    #[test]
    fn every_path_draws_the_same_units_from_the_same_stream() {
        // The unrolled, branch-free and general paths are one algorithm: on 3 to 9 classes
        // padded with empty ones, the same stream draws the same classes.
        let sizes = [9u64, 4, 7];
        let mut reference = None;
        for classes in [3usize, 6, 9, 12] {
            let mut pool = vec![0u64; classes];
            pool[..3].copy_from_slice(&sizes);
            let mut drawn = vec![0u32; classes];
            let mut rng = ChaCha8Rng::seed_from_u64(5);
            draw_by_class(&mut rng, 12, &mut pool, &mut drawn);
            assert!(drawn[3..].iter().all(|&d| d == 0));
            let got = (drawn[..3].to_vec(), rng.next_u64());
            assert_eq!(
                reference.get_or_insert(got.clone()),
                &got,
                "{classes} classes"
            );
        }
    }

    #[test]
    fn class_counts_match_drawing_every_unit_by_name() {
        // Nine validators holding 1 to 4 units in three classes; a unit sample by name
        // (the alias sampler) and the class draw must give the same law of class counts.
        let units = [3u64, 1, 4, 1, 2, 2, 4, 3, 1];
        let class = [0usize, 1, 2, 0, 1, 2, 0, 1, 2];
        let mut sizes = [0u64; 3];
        for (u, &c) in units.iter().zip(&class) {
            sizes[c] += u;
        }
        let k = 5;
        let law = hypergeometric(sizes, k);
        let sampler = StakeSampler::of_units(&units).unwrap();
        let mut sample = Sample::with_capacity(k as usize);
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut by_name = BTreeMap::new();
        for _ in 0..200_000 {
            sampler.sample(&mut rng, k as usize, None, &mut sample);
            let mut cell = vec![0u32; 3];
            for (id, slots) in sample.iter() {
                cell[class[id as usize]] += slots;
            }
            *by_name.entry(cell).or_insert(0u64) += 1;
        }
        let x2 = chi_square(&by_name, &law);
        assert!(x2 < chi2_999(law.len() - 1), "chi-square {x2} by name");
    }

    #[test]
    fn below_is_uniform_even_where_rejection_matters() {
        // n = 3 * 2^62: a quarter of the u64 values are rejected; without the rejection
        // the top third would be drawn with probability 1/4 instead of 1/3.
        let n = 3u64 << 62;
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut thirds = [0u32; 3];
        for _ in 0..30_000 {
            let x = below(&mut rng, n);
            assert!(x < n);
            thirds[(x / (1u64 << 62)) as usize] += 1;
        }
        assert!(
            thirds.iter().all(|&t| (9_500..10_500).contains(&t)),
            "{thirds:?}"
        );
        assert_eq!(below(&mut rng, 1), 0);
    }

    #[test]
    fn of_units_refuses_no_stake() {
        assert!(StakeSampler::of_units(&[0, 0]).is_err());
        assert!(StakeSampler::of_units(&[u64::MAX, 1]).is_err());
        let s = StakeSampler::of_units(&[2, 0, 6]).unwrap();
        assert_eq!((s.total_units(), s.units(2), s.positive_count()), (8, 6, 2));
    }
}
