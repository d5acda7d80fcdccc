//! The short cut is a checked contract: event mode's fast path (answers read from the
//! answerers' preference histories, one event per poll's answers) and exact mode (every
//! query and answer an event handled by `Node::handle`) give identical digests and
//! outcomes, and the same messages but for answers still in flight at the end, on every
//! event-mode run of the digest corpus (the shipped scenarios, and the fault-heavy ones of `tests/scenarios/`: loss, duplication, crashes, one-way
//! partitions, constant latency with its ties, each adversary), and a `messages` trace
//! comes out in time order.

use luxsim::sim::scenario::Mode;
use luxsim::sim::{self, RunOptions, Scenario, TraceLevel};
use std::path::Path;

fn corpus() -> Vec<Scenario> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let runs = std::fs::read_to_string(root.join("tests/digests/runs.txt")).unwrap();
    let mut out = Vec::new();
    for line in runs.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let sets: Vec<String> = match f[1] {
            "-" => Vec::new(),
            s => s.split(',').map(String::from).collect(),
        };
        for seed in &f[2..] {
            let mut s = Scenario::load(&root.join(f[0]), &sets).unwrap();
            s.seed = seed.parse().unwrap();
            if s.mode == Mode::Event && !s.engine.is_ledger() {
                out.push(s);
            }
        }
    }
    out
}

#[test]
fn exact_and_fast_modes_give_identical_runs() {
    let runs = corpus();
    assert!(runs.len() >= 25, "the corpus has its event-mode runs");
    let mut differ = Vec::new();
    for s in &runs {
        let fast = sim::run(s, &RunOptions::default()).unwrap().summary;
        let mut e = s.clone();
        e.exact = true;
        let exact = sim::run(&e, &RunOptions::default()).unwrap().summary;
        // Exact mode handles each query and answer as an event: more events, same run.
        assert!(exact.events > fast.events, "{} {}", s.name, s.seed);
        // Fast mode counts an answer when its query leaves, exact mode when it is sent: they
        // differ by the answers of queries still in flight when the run ended.
        let in_flight = fast.messages.saturating_sub(exact.messages);
        let same = fast.digest == exact.digest
            && exact.messages <= fast.messages
            && in_flight * 20 <= fast.messages
            && fast.honest_finalized == exact.honest_finalized
            && fast.virtual_time_ms == exact.virtual_time_ms;
        if !same {
            differ.push(format!(
                "{} seed {}: fast {} ({} messages, {} finalized) exact {} ({}, {})",
                s.name,
                s.seed,
                fast.digest,
                fast.messages,
                fast.honest_finalized,
                exact.digest,
                exact.messages,
                exact.honest_finalized
            ));
        }
    }
    assert!(differ.is_empty(), "modes differ:\n{}", differ.join("\n"));
}

#[test]
fn a_messages_trace_is_in_time_order_and_keeps_the_digest() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for name in ["faults-constant", "faults-lognormal", "adversary-delay"] {
        let path = root.join(format!("tests/scenarios/{name}.toml"));
        let s = Scenario::load(&path, &[]).unwrap();
        let dir = std::env::temp_dir().join(format!("luxsim-exact-{}-{name}", std::process::id()));
        let opts = RunOptions {
            out_dir: Some(dir.clone()),
            trace: TraceLevel::Messages,
            ..RunOptions::default()
        };
        let report = sim::run(&s, &opts).unwrap();
        let traced = report.summary;
        let plain = sim::run(&s, &RunOptions::default()).unwrap().summary;
        assert_eq!(traced.digest, plain.digest, "{name}");
        let text = std::fs::read_to_string(&report.files[0]).unwrap();
        let times: Vec<u64> = text
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap().parse().unwrap())
            .collect();
        assert!(
            times.len() as u64 > plain.messages / 2,
            "{name}: message rows"
        );
        let back = times.windows(2).position(|w| w[1] < w[0]);
        assert_eq!(back, None, "{name}: row {back:?} goes back in time");
        std::fs::remove_dir_all(&dir).ok();
    }
}

/// Fast mode keeps a batch's times as 32-bit offsets from its poll's start, so a poll
/// timeout past 2^32 ns runs exact by itself: the run is the exact one, event for event,
/// and the same as with the short cut at a timeout just below the limit.
#[test]
fn a_poll_timeout_past_four_seconds_runs_exact() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let load = |timeout: &str, exact: bool| {
        let sets = [
            "network.nodes=300".to_string(),
            format!("network.poll_timeout=\"{timeout}\""),
            format!("exact={exact}"),
        ];
        let s = Scenario::load(&root.join("scenarios/lossy.toml"), &sets).unwrap();
        sim::run(&s, &RunOptions::default()).unwrap().summary
    };
    let (long, long_exact) = (load("5s", false), load("5s", true));
    assert_eq!(long.events, long_exact.events, "a 5 s timeout runs exact");
    assert_eq!(long.digest, long_exact.digest);
    let (below, below_exact) = (load("4s", false), load("4s", true));
    assert!(
        below.events < below_exact.events,
        "a 4 s timeout keeps the short cut"
    );
    assert_eq!(below.digest, below_exact.digest);
}
