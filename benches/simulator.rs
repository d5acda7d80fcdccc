//! Simulator speed: event mode (events per second) and lockstep mode (node-rounds per second).
//!
//! Run: `cargo bench --bench simulator` (one run per sample: these are whole simulations).

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

/// Runs `baseline.toml` at `nodes` nodes, exact or not, counting the messages simulated.
fn bench_baseline(bencher: Bencher, nodes: usize, exact: bool) {
    let mut s = scenario(
        "scenarios/baseline.toml",
        &[format!("network.nodes={nodes}")],
    );
    s.exact = exact;
    let messages = |s: &Scenario| {
        sim::run(s, &RunOptions::default())
            .unwrap()
            .summary
            .messages
    };
    let counted = messages(&s);
    bencher
        .counter(ItemsCount::new(counted))
        .bench(|| messages(&s));
}

/// `scenarios/baseline.toml` (honest, default params, lognormal 40 ms) at 2,000 and 10,000
/// nodes, without trace; the counter is the number of messages simulated (the simulator
/// batches a poll's answers into one event, so events undercount the work).
#[divan::bench(args = [2_000, 10_000], sample_count = 3, sample_size = 1)]
fn event_mode_baseline(bencher: Bencher, nodes: usize) {
    bench_baseline(bencher, nodes, false);
}

/// The same run in exact mode (every query and answer an event handled by the node; same
/// digest): what the short cut saves. The counter is again the number of messages.
#[divan::bench(args = [2_000], sample_count = 3, sample_size = 1)]
fn exact_mode_baseline(bencher: Bencher, nodes: usize) {
    bench_baseline(bencher, nodes, true);
}

/// `scenarios/lockstep-1m.toml` (k = 20, pareto stake) at 10,000 to 1,000,000 nodes, on
/// one thread; the counter is the number of polls (node-rounds), so the cost per poll can
/// be read across sizes.
#[divan::bench(args = [10_000, 100_000, 1_000_000], sample_count = 3, sample_size = 1)]
fn lockstep_to_finality(bencher: Bencher, nodes: usize) {
    bench_lockstep(bencher, nodes, 1);
}

/// `scenarios/lockstep-1m.toml` at 1,000,000 nodes with a round split across 1 and 2
/// threads (the same run, the same digest: `tests/lockstep_threads.rs`).
#[divan::bench(args = [1, 2], sample_count = 3, sample_size = 1)]
fn lockstep_1m_threads(bencher: Bencher, threads: usize) {
    bench_lockstep(bencher, 1_000_000, threads);
}

fn bench_lockstep(bencher: Bencher, nodes: usize, threads: usize) {
    let s = scenario(
        "scenarios/lockstep-1m.toml",
        &[format!("network.nodes={nodes}")],
    );
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let polls = || pool.install(|| sim::run(&s, &RunOptions::default()).unwrap().summary.events);
    bencher.counter(ItemsCount::new(polls())).bench(polls);
}

/// A CPU-bound sweep (`baseline.toml` at 2,000 nodes, 8 seeds, into a temporary
/// directory) with `--jobs 1` and `--jobs 2`; the counter is the number of runs.
#[divan::bench(args = [1, 2], sample_count = 3, sample_size = 1)]
fn sweep_jobs(bencher: Bencher, jobs: usize) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out =
        std::env::temp_dir().join(format!("luxsim-bench-sweep-{}-{jobs}", std::process::id()));
    let args = luxsim::experiment::SweepArgs {
        scenario: root.join("scenarios/baseline.toml"),
        set: vec!["network.nodes=2000".into()],
        seeds: 8,
        jobs: Some(jobs),
        out: Some(out.clone()),
        quiet: true,
        ..Default::default()
    };
    bencher.counter(ItemsCount::new(8u32)).bench(|| {
        let code = luxsim::experiment::run_sweep(&args).unwrap();
        assert_eq!(code, 0);
    });
    let _ = std::fs::remove_dir_all(&out);
}
