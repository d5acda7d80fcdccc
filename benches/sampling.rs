//! Cost of stake-weighted peer sampling (`StakeSampler`) and of one latency draw.
//!
//! Run: `cargo bench --bench sampling`

use divan::counter::ItemsCount;
use divan::{black_box, Bencher};
use luxsim::node::{Sample, Sampling, Stake, StakeSampler, STAKE_UNIT};
use luxsim::sim::Latency;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::time::Duration;

fn main() {
    divan::main();
}

/// Nodes in the network.
const NODES: usize = 1_000_000;
/// Peers polled per node per round.
const K: usize = 20;

fn sampler(stake: &str) -> StakeSampler {
    sampler_of(stake, Sampling::Validators)
}

fn sampler_of(stake: &str, sampling: Sampling) -> StakeSampler {
    let stake = match stake {
        "uniform" => Stake::Uniform,
        "pareto:1.16" => Stake::Pareto(1.16),
        other => panic!("unknown stake {other}"),
    };
    let weights = stake
        .weights(NODES, &mut ChaCha8Rng::seed_from_u64(1))
        .unwrap();
    StakeSampler::new(&weights, sampling, STAKE_UNIT).unwrap()
}

/// One node's poll: `K` distinct peers by stake, excluding itself (counter: peers drawn).
#[divan::bench(args = ["uniform", "pareto:1.16"], sample_size = 1000)]
fn sample_distinct_1m(bencher: Bencher, stake: &str) {
    let s = sampler(stake);
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut out = Vec::with_capacity(K);
    let mut me = 0u32;
    bencher.counter(ItemsCount::new(K)).bench_local(|| {
        me = (me + 1) % NODES as u32;
        s.sample_distinct(&mut rng, K, Some(me), &mut out);
        black_box(&out);
    });
}

/// One node's poll under stake units (avalanchego's sampling, the default): `K` units
/// without replacement, excluding itself (counter: slots filled).
#[divan::bench(args = ["uniform", "pareto:1.16"], sample_size = 1000)]
fn sample_units_1m(bencher: Bencher, stake: &str) {
    let s = sampler_of(stake, Sampling::Stake);
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut out = Sample::with_capacity(K);
    let mut me = 0u32;
    bencher.counter(ItemsCount::new(K)).bench_local(|| {
        me = (me + 1) % NODES as u32;
        s.sample(&mut rng, K, Some(me), &mut out);
        black_box(&out);
    });
}

/// `K` stake-weighted draws with replacement: the floor under `sample_distinct` (counter: draws).
#[divan::bench(args = ["uniform", "pareto:1.16"], sample_size = 1000)]
fn draw_1m(bencher: Bencher, stake: &str) {
    let s = sampler(stake);
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    bencher
        .counter(ItemsCount::new(K))
        .bench_local(|| (0..K).fold(0u32, |acc, _| acc ^ s.draw(&mut rng)));
}

/// One lognormal latency (median 50 ms, sigma 0.5).
#[divan::bench]
fn latency_lognormal(bencher: Bencher) {
    let s = Latency::Lognormal {
        median: Duration::from_millis(50),
        sigma: 0.5,
    }
    .sampler()
    .unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    bencher.bench_local(|| s.sample_ns(&mut rng));
}
