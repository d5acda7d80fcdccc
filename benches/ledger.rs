//! Ledger simulations: a 2,000-node chain (Snowman) and the shipped chain and dag scenarios.
//!
//! Run: `cargo bench --bench ledger` (one run per sample: these are whole simulations; the
//! counter is the number of events processed, so divan also reports events per second).

use divan::counter::ItemsCount;
use divan::Bencher;
use luxsim::sim::{self, RunOptions, Scenario};
use std::path::Path;

fn main() {
    divan::main();
}

fn scenario(path: &str, set: &[String]) -> Scenario {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    Scenario::load(&root.join(path), set).expect("shipped scenario loads")
}

/// Runs `s` once without outputs and returns its events (checking that it passed).
fn events(s: &Scenario) -> u64 {
    let summary = sim::run(s, &RunOptions::default()).unwrap().summary;
    assert!(summary.passed(), "{summary}");
    summary.events
}

fn bench_run(bencher: Bencher, s: &Scenario) {
    let n = events(s);
    bencher.counter(ItemsCount::new(n)).bench(|| events(s));
}

/// `scenarios/chain.toml` (testnet parameters, lognormal 20 ms, a block every 100 ms) at
/// 2,000 nodes and 50 heights, and at 2,000 nodes with the default parameters (k 20, beta 20).
#[divan::bench(args = ["testnet", "default"], sample_count = 3, sample_size = 1)]
fn chain_2000_nodes_50_heights(bencher: Bencher, preset: &str) {
    let set = [
        "network.nodes=2000".to_string(),
        "workload.heights=50".to_string(),
        format!("params.preset=\"{preset}\""),
    ];
    bench_run(bencher, &scenario("scenarios/chain.toml", &set));
}

/// The shipped `scenarios/chain.toml`: 500 nodes, 200 heights.
#[divan::bench(sample_count = 3, sample_size = 1)]
fn chain_scenario(bencher: Bencher) {
    bench_run(bencher, &scenario("scenarios/chain.toml", &[]));
}

/// The shipped `scenarios/dag.toml`: 500 nodes, 2,000 payments, 10 % double spends.
#[divan::bench(sample_count = 3, sample_size = 1)]
fn dag_scenario(bencher: Bencher) {
    bench_run(bencher, &scenario("scenarios/dag.toml", &[]));
}
