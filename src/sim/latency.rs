//! Message latency models: how long one message takes on the wire.

use rand::Rng;
use rand_distr::{Distribution, Exp, LogNormal, Normal};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A latency distribution, as written in a scenario's `latency = { model = ..., ... }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "lowercase", deny_unknown_fields)]
pub enum Latency {
    /// Always `value`.
    Constant {
        /// The latency.
        #[serde(with = "humantime_serde")]
        value: Duration,
    },
    /// Uniform between `min` and `max`.
    Uniform {
        /// Smallest latency.
        #[serde(with = "humantime_serde")]
        min: Duration,
        /// Largest latency.
        #[serde(with = "humantime_serde")]
        max: Duration,
    },
    /// Normal with `mean` and `std`, truncated at zero.
    Normal {
        /// Mean latency.
        #[serde(with = "humantime_serde")]
        mean: Duration,
        /// Standard deviation.
        #[serde(with = "humantime_serde")]
        std: Duration,
    },
    /// Log-normal with the given `median` and shape `sigma`.
    Lognormal {
        /// Median latency.
        #[serde(with = "humantime_serde")]
        median: Duration,
        /// Standard deviation of the underlying normal.
        sigma: f64,
    },
    /// Exponential with the given `mean`.
    Exponential {
        /// Mean latency.
        #[serde(with = "humantime_serde")]
        mean: Duration,
    },
}

impl Default for Latency {
    fn default() -> Self {
        Latency::Constant {
            value: Duration::from_millis(50),
        }
    }
}

/// Why a [`Latency`] cannot be sampled: names the model and the offending field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LatencyError {
    /// `uniform`: `min` is greater than `max`.
    #[error("uniform latency: min ({min:?}) is greater than max ({max:?})")]
    UniformMinAboveMax {
        /// The given `min`.
        min: Duration,
        /// The given `max`.
        max: Duration,
    },
    /// `lognormal`: `median` is zero (its logarithm is undefined).
    #[error("lognormal latency: median must be greater than zero, got {0:?}")]
    LognormalMedianZero(Duration),
    /// `lognormal`: `sigma` is negative, above [`MAX_SIGMA`], or NaN.
    #[error("lognormal latency: sigma must be between 0 and {MAX_SIGMA}, got {0:?}")]
    LognormalSigma(f64),
    /// `exponential`: `mean` is zero.
    #[error("exponential latency: mean must be greater than zero, got {0:?}")]
    ExponentialMeanZero(Duration),
}

use super::scheduler::nanos;

/// The largest lognormal `sigma` accepted: the 99.9th percentile is then e^31 times the
/// median, far beyond any network; larger values only produce zeros and "never".
pub const MAX_SIGMA: f64 = 10.0;

/// Rounds a sampled latency to whole nanoseconds: negative (or NaN) becomes 0, huge saturates.
#[inline]
fn to_ns(x: f64) -> u64 {
    if x > 0.0 {
        // `as` saturates at u64::MAX; `round` is exact and platform-independent.
        x.round() as u64
    } else {
        0
    }
}

impl Latency {
    /// The model's time parameters by field name (`value`, `min`, `max`, `mean`, `std`,
    /// `median`): the scales that must fit within a run.
    pub fn scales(&self) -> Vec<(&'static str, Duration)> {
        match *self {
            Latency::Constant { value } => vec![("value", value)],
            Latency::Uniform { min, max } => vec![("min", min), ("max", max)],
            Latency::Normal { mean, std } => vec![("mean", mean), ("std", std)],
            Latency::Lognormal { median, .. } => vec![("median", median)],
            Latency::Exponential { mean } => vec![("mean", mean)],
        }
    }

    /// P(latency <= `t_ns`) under the model (before rounding to whole nanoseconds).
    pub fn cdf(&self, t_ns: f64) -> f64 {
        let phi = |z: f64| 0.5 * erfc(-z / std::f64::consts::SQRT_2);
        match *self {
            Latency::Constant { value } => f64::from(u8::from(nanos(value) as f64 <= t_ns)),
            Latency::Uniform { min, max } => {
                let (lo, hi) = (nanos(min) as f64, nanos(max) as f64);
                if t_ns >= hi {
                    1.0
                } else if t_ns < lo {
                    0.0
                } else {
                    (t_ns - lo + 1.0) / (hi - lo + 1.0)
                }
            }
            Latency::Normal { mean, std } => {
                let (mu, sd) = (nanos(mean) as f64, nanos(std) as f64);
                match (t_ns < 0.0, sd == 0.0) {
                    (true, _) => 0.0,
                    (false, true) => f64::from(u8::from(mu <= t_ns)),
                    // Negative draws are clamped to 0, which counts as <= t.
                    (false, false) => phi((t_ns - mu) / sd),
                }
            }
            Latency::Lognormal { median, sigma } => {
                let m = nanos(median) as f64;
                match (t_ns <= 0.0, sigma == 0.0) {
                    (true, _) => 0.0,
                    (false, true) => f64::from(u8::from(m <= t_ns)),
                    (false, false) => phi((t_ns / m).ln() / sigma),
                }
            }
            Latency::Exponential { mean } => {
                let m = nanos(mean) as f64;
                if t_ns <= 0.0 {
                    0.0
                } else {
                    1.0 - (-t_ns / m).exp()
                }
            }
        }
    }

    /// Checks the parameters and builds a sampler with its distribution precomputed.
    pub fn sampler(&self) -> Result<LatencySampler, LatencyError> {
        let (kind, mean_ns) = match *self {
            Latency::Constant { value } => {
                let v = nanos(value);
                (Kind::Constant(v), v as f64)
            }
            Latency::Uniform { min, max } => {
                if min > max {
                    return Err(LatencyError::UniformMinAboveMax { min, max });
                }
                let (lo, hi) = (nanos(min), nanos(max));
                // Mean of the integers lo..=hi, computed without overflow.
                (Kind::Uniform { lo, hi }, lo as f64 + (hi - lo) as f64 / 2.0)
            }
            Latency::Normal { mean, std } => {
                let (mu, sd) = (nanos(mean) as f64, nanos(std) as f64);
                let dist = Normal::new(mu, sd).expect("std of a Duration is finite");
                (Kind::Normal(dist), clamped_normal_mean(mu, sd))
            }
            Latency::Lognormal { median, sigma } => {
                if !(0.0..=MAX_SIGMA).contains(&sigma) {
                    return Err(LatencyError::LognormalSigma(sigma));
                }
                if median.is_zero() {
                    return Err(LatencyError::LognormalMedianZero(median));
                }
                let m = nanos(median) as f64;
                let dist = LogNormal::new(m.ln(), sigma).expect("sigma checked finite");
                (Kind::Lognormal(dist), m * (sigma * sigma / 2.0).exp())
            }
            Latency::Exponential { mean } => {
                if mean.is_zero() {
                    return Err(LatencyError::ExponentialMeanZero(mean));
                }
                let m = nanos(mean) as f64;
                (Kind::Exponential(Exp::new(1.0 / m).expect("rate > 0")), m)
            }
        };
        Ok(LatencySampler { kind, mean_ns })
    }
}

/// Draws message latencies from a validated [`Latency`] model; build one with [`Latency::sampler`].
#[derive(Debug, Clone)]
pub struct LatencySampler {
    kind: Kind,
    mean_ns: f64,
}

/// The precomputed distribution, in nanoseconds.
#[derive(Debug, Clone)]
enum Kind {
    Constant(u64),
    Uniform { lo: u64, hi: u64 },
    Normal(Normal<f64>),
    Lognormal(LogNormal<f64>),
    Exponential(Exp<f64>),
}

impl LatencySampler {
    /// One latency in whole nanoseconds (never negative, saturating); `constant` uses no randomness.
    #[inline]
    pub fn sample_ns(&self, rng: &mut impl Rng) -> u64 {
        match &self.kind {
            Kind::Constant(v) => *v,
            Kind::Uniform { lo, hi } => rng.random_range(*lo..=*hi),
            Kind::Normal(d) => to_ns(d.sample(rng)),
            Kind::Lognormal(d) => to_ns(d.sample(rng)),
            Kind::Exponential(d) => to_ns(d.sample(rng)),
        }
    }

    /// The analytic mean in nanoseconds (for `normal`, of the distribution clamped at zero).
    pub fn mean_ns(&self) -> f64 {
        self.mean_ns
    }
}

/// Mean of `max(X, 0)` for `X ~ Normal(mu, sd)`: `mu·Φ(mu/sd) + sd·φ(mu/sd)`.
fn clamped_normal_mean(mu: f64, sd: f64) -> f64 {
    if sd == 0.0 {
        return mu.max(0.0);
    }
    let z = mu / sd;
    let cdf = 0.5 * erfc(-z / std::f64::consts::SQRT_2);
    let pdf = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
    mu * cdf + sd * pdf
}

/// Complementary error function (Numerical Recipes `erfcc`, relative error below 1.2e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    const N: usize = 100_000;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    /// Sample mean over `N` draws, and the smallest draw.
    fn stats(l: &Latency, seed: u64) -> (f64, u64) {
        let s = l.sampler().unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (mut sum, mut min) = (0.0, u64::MAX);
        for _ in 0..N {
            let x = s.sample_ns(&mut rng);
            sum += x as f64;
            min = min.min(x);
        }
        (sum / N as f64, min)
    }

    fn assert_mean_close(l: Latency, tolerance: f64) {
        let analytic = l.sampler().unwrap().mean_ns();
        let (mean, _) = stats(&l, 7);
        let rel = (mean - analytic).abs() / analytic;
        assert!(
            rel < tolerance,
            "{l:?}: sample mean {mean} vs analytic {analytic} ({rel:.4})"
        );
    }

    #[test]
    fn cdfs_match_the_samples() {
        let models = [
            Latency::Constant { value: ms(50) },
            Latency::Uniform {
                min: ms(10),
                max: ms(30),
            },
            Latency::Normal {
                mean: ms(50),
                std: ms(10),
            },
            Latency::Lognormal {
                median: ms(40),
                sigma: 0.5,
            },
            Latency::Exponential { mean: ms(50) },
        ];
        for l in models {
            let s = l.sampler().unwrap();
            let mut rng = ChaCha8Rng::seed_from_u64(5);
            let draws: Vec<u64> = (0..N).map(|_| s.sample_ns(&mut rng)).collect();
            for t in [20e6, 40e6, 50e6, 70e6] {
                let share = draws.iter().filter(|&&x| x as f64 <= t).count() as f64 / N as f64;
                let cdf = l.cdf(t);
                assert!((share - cdf).abs() < 0.01, "{l:?} at {t}: {share} vs {cdf}");
            }
        }
    }

    #[test]
    fn constant_is_exact_and_uses_no_randomness() {
        let s = Latency::Constant { value: ms(50) }.sampler().unwrap();
        assert_eq!(s.mean_ns(), 50e6);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let before = rng.clone();
        for _ in 0..10 {
            assert_eq!(s.sample_ns(&mut rng), 50_000_000);
        }
        assert_eq!(rng, before);
    }

    #[test]
    fn sample_means_match_analytic_means() {
        assert_mean_close(
            Latency::Uniform {
                min: ms(10),
                max: ms(30),
            },
            0.02,
        );
        assert_mean_close(
            Latency::Normal {
                mean: ms(50),
                std: ms(10),
            },
            0.02,
        );
        assert_mean_close(
            Latency::Lognormal {
                median: ms(50),
                sigma: 0.5,
            },
            0.02,
        );
        assert_mean_close(
            Latency::Lognormal {
                median: ms(50),
                sigma: 1.0,
            },
            0.03,
        );
        assert_mean_close(Latency::Exponential { mean: ms(50) }, 0.02);
    }

    #[test]
    fn uniform_stays_in_range_and_degenerate_range_is_fine() {
        let s = Latency::Uniform {
            min: ms(10),
            max: ms(30),
        }
        .sampler()
        .unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..10_000 {
            let x = s.sample_ns(&mut rng);
            assert!((10_000_000..=30_000_000).contains(&x));
        }
        let s = Latency::Uniform {
            min: ms(5),
            max: ms(5),
        }
        .sampler()
        .unwrap();
        assert_eq!(s.sample_ns(&mut rng), 5_000_000);
    }

    #[test]
    fn normal_is_clamped_at_zero_and_mean_accounts_for_it() {
        let l = Latency::Normal {
            mean: ms(10),
            std: ms(100),
        };
        let (_, min) = stats(&l, 11);
        assert_eq!(min, 0, "std >> mean must hit the clamp");
        // E[max(X, 0)] = 10·Φ(0.1) + 100·φ(0.1) ≈ 45.10 ms.
        let analytic = l.sampler().unwrap().mean_ns();
        assert!((analytic - 45.10e6).abs() < 0.01e6, "{analytic}");
        assert_mean_close(l, 0.03);
        // Mean zero: half the mass sits at 0, the rest is a half-normal.
        assert_mean_close(
            Latency::Normal {
                mean: ms(0),
                std: ms(20),
            },
            0.03,
        );
    }

    #[test]
    fn exponential_and_lognormal_are_non_negative() {
        // u64 cannot be negative; check the draws are not all clamped to 0 either.
        let (_, min) = stats(&Latency::Exponential { mean: ms(1) }, 5);
        assert!(min < 10_000);
        let s = Latency::Lognormal {
            median: ms(1),
            sigma: 0.0,
        }
        .sampler()
        .unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        assert_eq!(s.sample_ns(&mut rng), 1_000_000);
    }

    #[test]
    fn same_seed_same_sequence() {
        for l in [
            Latency::Uniform {
                min: ms(1),
                max: ms(100),
            },
            Latency::Normal {
                mean: ms(50),
                std: ms(30),
            },
            Latency::Lognormal {
                median: ms(50),
                sigma: 0.8,
            },
            Latency::Exponential { mean: ms(50) },
        ] {
            let s = l.sampler().unwrap();
            let run = |seed| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                (0..1000).map(|_| s.sample_ns(&mut rng)).collect::<Vec<_>>()
            };
            assert_eq!(run(42), run(42), "{l:?}");
            assert_ne!(run(42), run(43), "{l:?}");
        }
    }

    #[test]
    fn invalid_parameters_are_errors() {
        let e = Latency::Uniform {
            min: ms(30),
            max: ms(10),
        }
        .sampler()
        .unwrap_err();
        assert!(matches!(e, LatencyError::UniformMinAboveMax { .. }));
        assert!(e.to_string().contains("uniform") && e.to_string().contains("min"));
        for sigma in [-0.1, f64::NAN, f64::INFINITY] {
            let e = Latency::Lognormal {
                median: ms(50),
                sigma,
            }
            .sampler()
            .unwrap_err();
            assert!(matches!(e, LatencyError::LognormalSigma(_)));
            assert!(e.to_string().contains("sigma"));
        }
        let e = Latency::Lognormal {
            median: ms(0),
            sigma: 1.0,
        }
        .sampler()
        .unwrap_err();
        assert!(e.to_string().contains("lognormal") && e.to_string().contains("median"));
        let e = Latency::Exponential { mean: ms(0) }.sampler().unwrap_err();
        assert!(e.to_string().contains("exponential") && e.to_string().contains("mean"));
    }

    #[test]
    fn huge_durations_saturate() {
        let s = Latency::Constant {
            value: Duration::MAX,
        }
        .sampler()
        .unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        assert_eq!(s.sample_ns(&mut rng), u64::MAX);
        let s = Latency::Lognormal {
            median: Duration::from_secs(1 << 40),
            sigma: 3.0,
        }
        .sampler()
        .unwrap();
        for _ in 0..1000 {
            s.sample_ns(&mut rng);
        }
    }

    #[test]
    fn erfc_matches_known_values() {
        for (x, want) in [
            (0.0, 1.0),
            (0.5, 0.479_500_122_186_953_5),
            (1.0, 0.157_299_207_050_285_1),
            (-1.0, 1.842_700_792_949_715),
            (3.0, 2.209_049_699_858_544e-5),
        ] {
            assert!(((erfc(x) - want) / want).abs() < 2e-7, "erfc({x})");
        }
    }
}
