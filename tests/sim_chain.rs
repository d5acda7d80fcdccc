//! Chains (Snowman) in the simulator: honest runs, equivocating proposers, partitions,
//! crashes, the safety checker, determinism and the scenario rules of ledgers.
//!
//! Networks are small (100 nodes, testnet parameters: k 11, alpha 8/8, beta 8) so that the
//! whole file runs in seconds in the debug profile.

use luxsim::node::NodeId;
use luxsim::sim::{run, RunOptions, Scenario, ScenarioError, Summary, TraceFormat, TraceLevel};
use luxsim::sim::{simulate_ledger as simulate, LedgerWorld};
use luxsim::Status;

/// 100 honest nodes, testnet parameters, a block every 100 ms, 20 heights.
const BASE: &str = r#"
name = "chain-test"
seed = 3
engine = "chain"
max_time = "30s"

[params]
preset = "testnet"

[network]
nodes = 100
latency = { model = "lognormal", median = "20ms", sigma = 0.5 }
poll_timeout = "400ms"

[workload]
heights = 20
block_interval = "100ms"
"#;

/// BASE plus `extra` TOML, with `--set` overrides.
fn scenario(extra: &str, sets: &[&str]) -> Scenario {
    let text = format!("{BASE}\n{extra}");
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    Scenario::parse(&text, "chain-test.toml", &sets).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs without outputs.
fn summary(s: &Scenario) -> Summary {
    run(s, &RunOptions::default())
        .unwrap_or_else(|e| panic!("{e}"))
        .summary
}

/// Asserts that every honest node accepted the same `heights` blocks, heights 1, 2, ... in
/// order; returns that ledger.
fn identical_ledgers(w: &LedgerWorld, heights: usize) -> Vec<u64> {
    let honest: Vec<NodeId> = w.honest_ids().collect();
    let first = w.node(honest[0]).accepted_chain();
    assert_eq!(
        first.len(),
        heights,
        "node {} accepted {first:?}",
        honest[0]
    );
    for (h, &b) in first.iter().enumerate() {
        assert_eq!(
            w.registry().height(b),
            h as u64 + 1,
            "block {b} at height {h}"
        );
        assert_eq!(w.safety().accepted_at(h as u64 + 1), Some(b));
    }
    for &n in &honest {
        assert_eq!(w.node(n).accepted_chain(), first, "node {n}");
        assert_eq!(w.node(n).accepted_height(), heights as u64);
    }
    first
}

#[test]
fn an_honest_network_accepts_every_height_in_order_on_every_node() {
    let s = scenario("[expect]\nsafety = true\nfinalized = 1.0\n", &[]);
    let (w, r) = simulate(&s).unwrap();
    let l = &r.summary;
    identical_ledgers(&w, 20);
    assert_eq!((l.reached, l.target, l.violation.as_ref()), (100, 20, None));
    assert_eq!((l.proposed, l.rejected, l.conflicting_pairs), (20, 0, 0));
    assert_eq!(l.accepted.get("20"), Some(&100));
    let f = l.finality_ms.expect("blocks were accepted");
    assert_eq!(f.n, 20 * 100, "one sample per block and node");
    assert!(f.p50 > 0.0 && f.p50 <= f.p90 && f.p90 <= f.p99, "{f:?}");
    assert!(
        l.throughput_per_s > 5.0 && l.throughput_per_s < 11.0,
        "{l:?}"
    );
    assert!(l.longest_stall_ms < 1000.0, "{l:?}");
    // Through `run`: the summary carries the ledger section and passes its checks.
    let sum = summary(&s);
    assert!(sum.passed() && !sum.safety_violation, "{sum}");
    assert_eq!((sum.engine.as_str(), sum.honest_finalized), ("chain", 1.0));
    assert_eq!(sum.ledger.as_ref(), Some(l));
    let json = serde_json::to_string(&sum).unwrap();
    assert!(json.contains("\"ledger\":{\"kind\":\"chain\""), "{json}");
}

#[test]
fn stake_weighted_leaders_also_fill_every_height() {
    let s = scenario(
        "",
        &["workload.leader=stake", "network.stake=\"pareto:1.5\""],
    );
    let (w, r) = simulate(&s).unwrap();
    identical_ledgers(&w, 20);
    let proposers: std::collections::BTreeSet<NodeId> = (1..=w.registry().len() as u64)
        .map(|id| w.registry().get(id).unwrap().proposer)
        .collect();
    assert!(proposers.len() > 3, "{proposers:?}");
    assert_eq!(r.summary.reached, 100);
}

#[test]
fn an_equivocating_proposers_fork_is_resolved_the_same_way_on_all_honest_nodes() {
    let extra = "[byzantine]\ncount = 10\nstrategy = \"equivocate\"\nproposer = \"equivocate\"\n";
    let s = scenario(extra, &["workload.heights=30"]);
    let (w, r) = simulate(&s).unwrap();
    let l = &r.summary;
    assert!(l.violation.is_none(), "{l:?}");
    assert!(
        l.conflicting_pairs >= 1,
        "no Byzantine leader had a slot: {l:?}"
    );
    let ledger = identical_ledgers(&w, 30);
    let honest: Vec<NodeId> = w.honest_ids().collect();
    for &(a, b) in &w.registry().pairs {
        let (ha, hb) = (w.registry().height(a), w.registry().height(b));
        assert_eq!(ha, hb, "a fork is two blocks at one height");
        // Every honest node accepts the same side, or neither; a node may never have heard
        // of a side that lost (status unknown), which is neither.
        let accepted = |n: NodeId, id: u64| w.node(n).status(id) == Some(Status::Accepted);
        let first = (w.node(honest[0]).status(a), w.node(honest[0]).status(b));
        for &n in &honest {
            assert_eq!(
                (accepted(n, a), accepted(n, b)),
                (accepted(honest[0], a), accepted(honest[0], b)),
                "node {n} on ({a}, {b})"
            );
            for id in [a, b] {
                let s = w.node(n).status(id);
                assert!(
                    s.is_some() || !accepted(honest[0], id),
                    "node {n} lacks accepted {id}"
                );
            }
        }
        let both = [first.0, first.1];
        let accepted = both
            .iter()
            .filter(|s| **s == Some(Status::Accepted))
            .count();
        assert!(accepted <= 1, "({a}, {b}): {first:?}");
        if accepted == 1 {
            assert!(ledger.contains(&a) != ledger.contains(&b));
        }
    }
    assert!(
        l.rejected >= 1,
        "the losing side of a fork is rejected: {l:?}"
    );
}

#[test]
fn a_partition_stalls_finality_and_it_resumes_after_healing() {
    let extra = r#"
[[network.partitions]]
start = "1s"
end = "3s"
groups = [[0, 49], [50, 99]]
"#;
    let s = scenario(extra, &["workload.heights=30"]);
    let (w, r) = simulate(&s).unwrap();
    let l = &r.summary;
    assert!(l.violation.is_none(), "{l:?}");
    identical_ledgers(&w, 30);
    // A node one success short of beta may still finish a block soon after the cut (a
    // sample of 11 holds 8 of its own side 3 % of the time); then nothing until the heal.
    let (stall, start) = (l.longest_stall_ms, l.stall_start_ms);
    assert!(stall >= 1200.0, "the partition holds finality: {l:?}");
    assert!(
        start >= 900.0 && start + stall <= 3600.0,
        "within the cut: {l:?}"
    );
    assert_eq!(l.reached, 100, "finality resumes after healing: {l:?}");
}

#[test]
fn crashed_nodes_fetch_what_they_missed_and_catch_up() {
    let extra = r#"
[[network.crashes]]
nodes = [0, 9]
at = "500ms"
recover = "2500ms"
"#;
    let s = scenario(extra, &[]);
    let (w, r) = simulate(&s).unwrap();
    identical_ledgers(&w, 20);
    assert!(r.summary.fetches > 0, "{:?}", r.summary);
}

#[test]
fn the_safety_checker_catches_an_injected_violation() {
    // beta = 1 and a majority of Byzantine nodes that equivocate as proposers and voters:
    // even honest nodes see fork A win at once, odd ones fork B.
    let extra = r#"
[byzantine]
fraction = 0.6
strategy = "equivocate"
proposer = "equivocate"

[expect]
safety = true
"#;
    let sets = [
        "params.k=10",
        "params.alpha_preference=6",
        "params.alpha_confidence=6",
        "params.beta=1",
        "params.concurrent_polls=1",
    ];
    let s = scenario(extra, &sets);
    let sum = summary(&s);
    assert!(sum.safety_violation && !sum.agreement, "{sum}");
    assert!(!sum.passed(), "[expect] safety fails: exit code 1");
    let check = sum.expect.iter().find(|c| c.name == "safety").unwrap();
    assert!(!check.passed);
    let v = sum.ledger.as_ref().unwrap().violation.as_ref().unwrap();
    assert_eq!(v.kind, "height");
    assert!(v.height.is_some() && v.items[0] != v.items[1] && v.nodes[0] != v.nodes[1]);
    assert!(v.time_ms > 0.0 && v.time_ms * 1e6 <= sum.virtual_time_ms * 1e6 + 1.0);
    assert_eq!(
        sum.virtual_time_ms, v.time_ms,
        "the run stops at the violation"
    );
    assert!(sum.to_string().contains("first violation"), "{sum}");
}

#[test]
fn same_seed_same_digest_and_traces_with_ledger_rows() {
    let s = scenario("[byzantine]\ncount = 5\nstrategy = \"random\"\n", &[]);
    let dir = std::env::temp_dir().join(format!("luxsim-sim_chain-{}", std::process::id()));
    let opts = RunOptions {
        out_dir: Some(dir.clone()),
        trace: TraceLevel::Messages,
        format: TraceFormat::Csv,
        progress: false,
        stop_on_signal: false,
    };
    let traced = run(&s, &opts).unwrap().summary;
    let plain = summary(&s);
    assert_eq!(
        traced.digest, plain.digest,
        "the trace level does not change the digest"
    );
    let mut other = s.clone();
    other.seed += 1;
    assert_ne!(summary(&other).digest, plain.digest);
    let text = std::fs::read_to_string(dir.join("trace.csv")).unwrap();
    assert!(text.starts_with("time_ns,node,kind,peer,request,choice,count,answers,latency_ns\n"));
    for kind in [
        ",propose,",
        ",accept,",
        ",poll,",
        ",query,",
        ",answer,",
        ",push,",
    ] {
        assert!(text.contains(kind), "no {kind} row");
    }
    let accepts = text.lines().filter(|l| l.contains(",accept,")).count();
    assert_eq!(accepts, 20 * 95, "one accept row per block and honest node");
    // Every answer names what it answered (0: the genesis, before any block is accepted),
    // and every delivered message its latency.
    for line in text
        .lines()
        .filter(|l| l.contains(",answer,") || l.contains(",query,"))
    {
        let f: Vec<&str> = line.split(',').collect();
        assert!(!f[5].is_empty() && !f[8].is_empty(), "{line}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// The (line, column, message) of an invalid scenario.
fn invalid(text: &str, sets: &[&str]) -> (usize, usize, String) {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    match Scenario::parse(text, "bad.toml", &sets) {
        Err(ScenarioError::Invalid {
            line,
            column,
            message,
            ..
        }) => (line, column, message),
        other => panic!("{other:?}"),
    }
}

#[test]
fn ledger_keys_are_checked_and_located() {
    let lockstep = BASE.replace("max_time", "mode = \"lockstep\"\nmax_time");
    let (line, column, message) = invalid(&lockstep, &[]);
    assert_eq!((line, column), (5, 8), "{message}");
    assert!(
        message.contains("mode (lockstep) cannot run engine = chain"),
        "{message}"
    );
    let snowball = BASE.replace("engine = \"chain\"", "engine = \"snowball\"");
    let (line, column, message) = invalid(&snowball, &[]);
    assert_eq!((line, column), (16, 11), "{message}");
    assert!(
        message.starts_with("workload.heights is only used by engine = chain"),
        "{message}"
    );
    let (line, _, message) = invalid(BASE, &["workload.tx_rate=5.0"]);
    assert_eq!(line, 0);
    assert!(message.contains("only used by engine = dag"), "{message}");
    let zero = BASE.replace("\"100ms\"", "\"0s\"");
    let (line, column, message) = invalid(&zero, &[]);
    assert_eq!((line, column), (17, 18), "{message}");
    assert_eq!(message, "workload.block_interval must be greater than 0");
    let dag = BASE
        .replace("engine = \"chain\"", "engine = \"dag\"")
        .replace("heights = 20", "parents = 9");
    let (_, _, message) = invalid(&dag, &[]);
    assert!(
        message.starts_with("workload.parents (9) must be between 1 and"),
        "{message}"
    );
    let workload = snowball.find("[workload]").unwrap();
    let byz = format!(
        "{}[byzantine]\ncount = 1\nstrategy = \"silent\"\nproposer = \"silent\"\n",
        &snowball[..workload]
    );
    let (_, _, message) = invalid(&byz, &[]);
    assert!(
        message.starts_with("byzantine.proposer is only used"),
        "{message}"
    );
    let s = scenario("", &[]);
    assert_eq!(s.engine.name(), "chain");
    let text = toml::to_string(&s).unwrap();
    assert!(
        text.contains("engine = \"chain\"") && text.contains("heights = 20"),
        "{text}"
    );
    assert_eq!(Scenario::parse(&text, "again.toml", &[]).unwrap(), s);
}
