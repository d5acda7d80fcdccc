//! Bridge benchmarks (`cargo bench --bench bridge`), plain `main` (harness = false):
//!
//! 1. Compact votes per second between two processes: this binary re-runs itself as a
//!    publisher (a `Network` with a PUB socket, votes broadcast as fast as its queue takes
//!    them); the parent subscribes with a `Network` and counts votes in an `on_vote` handler.
//! 2. A 5-node `luxsim cluster` (local preset, 127.0.0.1): time to finality, five runs.

use luxsim::bridge::cluster::{run_cluster, ClusterArgs};
use luxsim::bridge::{Metrics, Network};
use luxsim::{EngineType, Vote, VoteType};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ROLE: &str = "LUXSIM_BENCH_PUBLISHER";
const VOTES: u64 = 2_000_000;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The child: publish VOTES compact votes on `endpoint`, retrying whenever the queue is full.
fn publisher(endpoint: &str) {
    runtime().block_on(async {
        let net = Network::start(Some(endpoint), &[], 4096, Metrics::new())
            .await
            .expect("bind");
        tokio::time::sleep(Duration::from_millis(500)).await; // let the subscriber join
        let mut i = 0u64;
        while i < VOTES {
            let vote = Vote::new(
                EngineType::Snowball,
                (i % 1000) as u32,
                i % 2,
                VoteType::Prefer,
            );
            match net.broadcast(&vote) {
                Ok(()) => i += 1,
                Err(_) => tokio::task::yield_now().await,
            }
        }
        net.close().await;
    });
}

fn votes_between_processes() {
    let port = luxsim::bridge::cluster::free_ports(1).unwrap()[0];
    let endpoint = format!("tcp://127.0.0.1:{port}");
    let count = Arc::new(AtomicU64::new(0));
    let times = Arc::new(Mutex::new((None::<Instant>, None::<Instant>)));
    let rt = runtime();
    let net = rt.block_on(async {
        let net = Network::start(None, std::slice::from_ref(&endpoint), 1, Metrics::new())
            .await
            .unwrap();
        let (c, t) = (count.clone(), times.clone());
        net.on_vote(move |_vote| {
            let n = c.fetch_add(1, Ordering::Relaxed) + 1;
            if n == 1 || n % 4096 == 0 || n == VOTES {
                let mut t = t.lock().unwrap();
                let now = Instant::now();
                t.0.get_or_insert(now);
                t.1 = Some(now);
            }
        });
        net
    });
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .env(ROLE, &endpoint)
        .spawn()
        .unwrap();
    rt.block_on(async {
        let mut last = (0, Instant::now());
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let n = count.load(Ordering::Relaxed);
            if n >= VOTES || (n > 0 && n == last.0 && last.1.elapsed() > Duration::from_secs(2)) {
                break;
            }
            if n != last.0 {
                last = (n, Instant::now());
            }
            if last.1.elapsed() > Duration::from_secs(20) {
                break;
            }
        }
    });
    let _ = child.wait();
    drop(net);
    let n = count.load(Ordering::Relaxed);
    let (first, last) = *times.lock().unwrap();
    let secs = match (first, last) {
        (Some(a), Some(b)) => (b - a).as_secs_f64(),
        _ => f64::NAN,
    };
    println!(
        "compact votes between two processes (PUB -> SUB over tcp 127.0.0.1): {n} of {VOTES} received in {secs:.3} s = {:.0} votes/s",
        n as f64 / secs
    );
}

fn cluster_finality() {
    let dir = std::env::temp_dir().join(format!("luxsim-bench-cluster-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let scenario = dir.join("cluster5.toml");
    std::fs::write(
        &scenario,
        "name = \"bench-cluster5\"\nseed = 1\n[params]\npreset = \"local\"\n[network]\nnodes = 5\npoll_timeout = \"200ms\"\n[workload]\nchoices = 2\ninitial = [0.8, 0.2]\n",
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
