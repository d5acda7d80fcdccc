//! Byzantine strategies in event mode, with the default parameters (k = 20, alpha 15/15,
//! beta 20) on a few hundred nodes. The Byzantine fraction is of all nodes; the nodes are
//! chosen stake-weighted from the seed. Safety must hold in every run.

use luxsim::node::Stake;
use luxsim::sim::{run, RunOptions, Scenario, Summary, TraceFormat, TraceLevel};
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::OnceLock;

/// 300 nodes, default parameters, uniform 5..50 ms latency, 200 ms poll timeout.
const BASE: &str = r#"
name = "sim-byzantine"
seed = 1
max_time = "60s"

[params]
preset = "default"

[network]
nodes = 300
latency = { model = "uniform", min = "5ms", max = "50ms" }
poll_timeout = "200ms"

[workload]
choices = 2
initial = [0.5, 0.5]
"#;

fn scenario(sets: &[&str]) -> Scenario {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    Scenario::parse(BASE, "sim_byzantine.toml", &sets).unwrap_or_else(|e| panic!("{e}"))
}

fn summary(s: &Scenario) -> Summary {
    run(s, &RunOptions::default())
        .unwrap_or_else(|e| panic!("{e}"))
        .summary
}

/// BASE with `strategy` at `fraction`, plus `sets`.
fn attacked(strategy: &str, fraction: f64, sets: &[&str]) -> Summary {
    let (st, fr) = (
        format!("byzantine.strategy={strategy}"),
        format!("byzantine.fraction={fraction}"),
    );
    let mut all = vec![st.as_str(), fr.as_str()];
    all.extend_from_slice(sets);
    let scenario = scenario(&all);
    let s = summary(&scenario);
    let expected = (fraction * s.nodes as f64).round() as usize;
    assert_eq!(s.byzantine.count, expected, "{s}");
    assert_eq!(s.byzantine.strategy.as_deref(), Some(strategy));
    assert_eq!(s.honest, s.nodes - expected);
    if scenario.network.stake == Stake::Uniform {
        // The Byzantine stake share is their share of the nodes.
        assert!((s.byzantine.stake_share - expected as f64 / s.nodes as f64).abs() < 1e-9);
    }
    assert!(
        !s.safety_violation,
        "{strategy} {fraction}: safety violated: {s}"
    );
    assert!(s.agreement, "{s}");
    s
}

fn assert_all_finalized(s: &Summary) {
    assert_eq!(s.honest_finalized, 1.0, "{s}");
    assert_eq!(s.finality_ms.unwrap().n, s.honest, "{s}");
    assert_eq!(s.decided.values().sum::<usize>(), s.honest, "{s}");
}

fn honest(sets: &[&str]) -> Summary {
    let s = summary(&scenario(sets));
    assert_eq!(s.byzantine.count, 0);
    assert!(!s.safety_violation, "{s}");
    assert_all_finalized(&s);
    s
}

/// BASE without an adversary, run once for all the tests that compare with it.
fn honest_base() -> &'static Summary {
    static HONEST: OnceLock<Summary> = OnceLock::new();
    HONEST.get_or_init(|| honest(&[]))
}

#[test]
fn ten_percent_silent_nodes_still_let_every_honest_node_finalize() {
    let s = attacked("silent", 0.1, &[]);
    assert_eq!(s.byzantine.count, 30);
    assert_all_finalized(&s);
    // Polls that sampled a silent node end at their timeout: finality comes later.
    let h = honest_base();
    assert!(
        s.finality_ms.unwrap().p50 > h.finality_ms.unwrap().p50,
        "{h}\n{s}"
    );
}

#[test]
fn thirty_percent_silent_nodes_stop_finality() {
    // 30 % silent is more than 1 - alpha_confidence / k = 25 % of the stake: a sample of 20
    // holds on average 6 silent nodes, leaving 14 answers for a threshold of 15.
    let s = attacked(
        "silent",
        0.3,
        &[
            "network.nodes=100",
            "max_time=\"20s\"",
            "network.poll_timeout=\"200ms\"",
        ],
    );
    assert_eq!(s.byzantine.count, 30);
    assert!(s.byzantine.stake_share > 0.25);
    assert_eq!(s.honest_finalized, 0.0, "{s}");
    assert!(s.decided.is_empty(), "{s}");
    assert_eq!(s.finality_ms, None, "nothing measured: null, not zeros");
    // The run used its whole budget, polling all along.
    assert_eq!(s.virtual_time_ms, 20_000.0, "{s}");
    assert_eq!(s.ended, luxsim::sim::End::MaxTime);
    assert!(s.events > 100_000, "{s}");
    assert!(s.expect.is_empty());
}

#[test]
fn a_stubborn_minority_cannot_overturn_an_honest_majority() {
    let s = attacked(
        "stubborn",
        0.1,
        &["byzantine.target=1", "workload.initial=[0.7, 0.3]"],
    );
    assert_all_finalized(&s);
    assert_eq!(s.decided.len(), 1, "{s}");
    assert_eq!(s.decided.get("0"), Some(&s.honest), "{s}");
}

#[test]
fn balance_slows_finality() {
    // 100 nodes, 20 % playing balance: each answer goes to the honest minority.
    let h = honest(&["network.nodes=100"]);
    let b = attacked("balance", 0.2, &["network.nodes=100"]);
    assert_all_finalized(&b);
    assert!(
        b.finality_ms.unwrap().p99 > 1.2 * h.finality_ms.unwrap().p99,
        "balance p99 {} vs honest {}",
        b.finality_ms.unwrap().p99,
        h.finality_ms.unwrap().p99
    );
    assert!(
        b.finality_ms.unwrap().max > 1.2 * h.finality_ms.unwrap().max,
        "{h}\n{b}"
    );
    assert!(
        b.polls.unwrap().p99 > 1.2 * h.polls.unwrap().p99,
        "{h}\n{b}"
    );
}

#[test]
fn random_equivocate_and_delay_are_safe_and_finish() {
    let h = honest_base();
    let mut delay = None;
    for strategy in ["random", "equivocate", "delay"] {
        let s = attacked(strategy, 0.1, &[]);
        assert_all_finalized(&s);
        assert_eq!(s.decided.len(), 1, "{strategy}: {s}");
        delay = Some(s);
    }
    // delay answers correctly, but just before the poll timeout: most polls sample one of
    // them and wait the full 200 ms instead of a ~55 ms round trip.
    let d = delay.unwrap();
    assert!(
        d.finality_ms.unwrap().p50 > 1.2 * h.finality_ms.unwrap().p50,
        "delay p50 {} vs honest {}",
        d.finality_ms.unwrap().p50,
        h.finality_ms.unwrap().p50
    );
    assert!(
        d.finality_ms.unwrap().p99 > h.finality_ms.unwrap().p99,
        "{h}\n{d}"
    );
}

#[test]
fn byzantine_nodes_are_chosen_by_stake() {
    // Half the nodes hold no stake: they are never sampled, so never chosen as Byzantine.
    // Only the choice of the Byzantine nodes matters here: a short budget will do.
    let weights: Vec<String> = (0..200)
        .map(|i| if i < 100 { "1" } else { "0" }.to_string())
        .collect();
    let stake = format!("network.stake=[{}]", weights.join(", "));
    let s = attacked(
        "stubborn",
        0.1,
        &["network.nodes=200", &stake, "max_time=\"300ms\""],
    );
    assert_eq!(s.byzantine.count, 20);
    assert!(
        (s.byzantine.stake_share - 0.2).abs() < 1e-9,
        "20 Byzantine nodes among the 100 staked ones hold 20 % of the stake, not {}",
        s.byzantine.stake_share
    );
    // Another seed draws again, again among the staked nodes only.
    let other = attacked(
        "stubborn",
        0.1,
        &["network.nodes=200", &stake, "max_time=\"300ms\"", "seed=2"],
    );
    assert_eq!(other.byzantine.stake_share, s.byzantine.stake_share);
}

#[derive(Deserialize)]
struct Row {
    kind: String,
}

/// Rows of the kinds that stand for one message sent, in a messages-level trace of `s`.
fn traced_messages(s: &Scenario, tag: &str) -> (Summary, u64) {
    let dir: PathBuf =
        std::env::temp_dir().join(format!("luxsim-sim_byzantine-{tag}-{}", std::process::id()));
    let opts = RunOptions {
        out_dir: Some(dir.clone()),
        trace: TraceLevel::Messages,
        format: TraceFormat::Csv,
        progress: false,
        stop_on_signal: false,
    };
    let result = run(s, &opts);
    let rows = csv::Reader::from_path(dir.join("trace.csv")).map(|mut r| {
        r.deserialize::<Row>()
            .map(|row| row.unwrap())
            .filter(|r| matches!(r.kind.as_str(), "query" | "answer" | "lost" | "cut"))
            .count() as u64
    });
    let _ = std::fs::remove_dir_all(&dir);
    (result.unwrap().summary, rows.unwrap())
}

#[test]
fn a_messages_trace_holds_every_message_of_an_honest_run() {
    let s = scenario(&["network.nodes=100"]);
    let (sum, rows) = traced_messages(&s, "honest");
    assert_eq!(rows, sum.messages);
}

#[test]
fn a_messages_trace_holds_every_answer_of_delay_nodes() {
    let s = scenario(&[
        "network.nodes=100",
        "byzantine.strategy=delay",
        "byzantine.fraction=0.1",
    ]);
    let (sum, rows) = traced_messages(&s, "delay");
    assert!(!sum.safety_violation);
    assert_eq!(
        rows, sum.messages,
        "query/answer/lost/cut rows vs messages sent"
    );
}
