//! Bridge benchmarks (`cargo bench --bench bridge --features bridge`), plain `main`
//! (harness = false):
//!
//! 1. Compact votes per second between two processes, steady state: this binary re-runs
//!    itself as a publisher (a `Network` with a PUB socket broadcasting for 6 s without
//!    pause); the parent subscribes with a `Network`, counts votes in an `on_vote` handler,
//!    and reports the rate over the window from 1 s to 4 s after its first vote, so that
//!    neither start-up nor the publisher's end is in it. A PUB drops what a subscriber
//!    cannot take (ZeroMQ's rule), so this is the rate a subscriber receives at.
//!    `bench/transport-choice/` measures pyzmq and the pure-Rust zeromq crate the same way.
//! 2. A 5-node `luxsim cluster` (127.0.0.1): time to finality, five runs.

use luxsim::bridge::{run_cluster, ClusterArgs};
use luxsim::bridge::{Metrics, Network};
use luxsim::{EngineType, Vote, VoteType};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ROLE: &str = "LUXSIM_BENCH_PUBLISHER";
/// How long the publisher sends.
const SEND_FOR: Duration = Duration::from_secs(6);
/// The measured window, after the subscriber's first vote.
const WINDOW: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(4));

/// The child: publish compact votes on `endpoint` for `SEND_FOR`.
fn publisher(endpoint: &str) {
    let net = Network::start(Some(endpoint), &[], 1000, Metrics::new()).expect("bind");
    std::thread::sleep(Duration::from_millis(500)); // let the subscriber join
    let vote = Vote::new(EngineType::Snowball, 0x0102, 0x1234, VoteType::Prefer);
    let bytes = vote.pack().unwrap();
    let start = Instant::now();
    let mut sent = 0u64;
    while start.elapsed() < SEND_FOR {
        for _ in 0..1024 {
            let _ = net.broadcast_packed(bytes);
        }
        sent += 1024;
    }
    eprintln!(
        "publisher: {sent} votes offered in {:.1} s",
        SEND_FOR.as_secs_f64()
    );
    net.close();
}

fn votes_between_processes() {
    let port = luxsim::bridge::free_ports(1).unwrap()[0];
    let endpoint = format!("tcp://127.0.0.1:{port}");
    // Nanoseconds since `base` of the first vote (0: none yet), and the counts.
    let base = Instant::now();
    let first = Arc::new(AtomicU64::new(0));
    let (in_window, total) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let net = Network::start(None, std::slice::from_ref(&endpoint), 1000, Metrics::new()).unwrap();
    let (f, w, t) = (first.clone(), in_window.clone(), total.clone());
    let (lo, hi) = (WINDOW.0.as_nanos() as u64, WINDOW.1.as_nanos() as u64);
    net.on_vote(move |_vote| {
        t.fetch_add(1, Ordering::Relaxed);
        let now = base.elapsed().as_nanos() as u64 + 1;
        let start = match f.compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => now,
            Err(start) => start,
        };
        if (lo..hi).contains(&(now - start)) {
            w.fetch_add(1, Ordering::Relaxed);
        }
    });
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .env(ROLE, &endpoint)
        .spawn()
        .unwrap();
    let _ = child.wait();
    std::thread::sleep(Duration::from_millis(200));
    net.close();
    let window = (WINDOW.1 - WINDOW.0).as_secs_f64();
    let n = in_window.load(Ordering::Relaxed);
    println!(
        "compact votes between two processes (PUB -> SUB over tcp 127.0.0.1, steady state): {:.0} votes/s over {window:.0} s ({} received in all)",
        n as f64 / window,
        total.load(Ordering::Relaxed)
    );
}

fn cluster_finality() {
    let dir = std::env::temp_dir().join(format!("luxsim-bench-cluster-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let scenario = dir.join("cluster5.toml");
    std::fs::write(
        &scenario,
        "name = \"bench-cluster5\"\nseed = 1\n[params]\nk = 4\nalpha_preference = 3\nalpha_confidence = 4\nbeta = 4\nconcurrent_polls = 1\n[network]\nnodes = 5\npoll_timeout = \"200ms\"\n[workload]\nchoices = 2\ninitial = [0.8, 0.2]\n",
    )
    .unwrap();
    let mut rows = Vec::new();
    for run in 0..5 {
        let report = run_cluster(&ClusterArgs {
            scenario: scenario.clone(),
            seed: Some(run),
            out: Some(dir.join(format!("run-{run}"))),
            max_time: Some(Duration::from_secs(30)),
            binary: Some(env!("CARGO_BIN_EXE_luxsim").into()),
            quiet: true,
            ..ClusterArgs::default()
        })
        .expect("cluster runs");
        let s = report.summary;
        let ready = report.ready_ms.unwrap_or(f64::NAN);
        println!(
            "5-node cluster, run {run}: finalized {:.0}%, all up after {ready:.1} ms; finality (from launch) p50 {:.1} ms, max {:.1} ms; polls p50 {}",
            s.honest_finalized * 100.0,
            s.finality_ms.unwrap().p50,
            s.finality_ms.unwrap().max,
            s.polls.unwrap().p50
        );
        rows.push(s.finality_ms.unwrap().max);
    }
    rows.sort_by(f64::total_cmp);
    println!(
        "5-node cluster: median of 5 runs, all nodes final after {:.1} ms from launch",
        rows[2]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    if let Ok(endpoint) = std::env::var(ROLE) {
        publisher(&endpoint);
        return;
    }
    // `cargo test --benches` runs this binary with --bench absent: keep that quick.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    votes_between_processes();
    cluster_finality();
}
