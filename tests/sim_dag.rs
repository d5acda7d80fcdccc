//! DAGs (Avalanche) in the simulator: payments and double spends, the safety checker,
//! losses, determinism.
//!
//! Networks are small (100 nodes, testnet parameters: k 11, alpha 8/8, beta 8) so that the
//! whole file runs in seconds in the debug profile.

use luxsim::node::NodeId;
use luxsim::sim::{run, RunOptions, Scenario, Summary};
use luxsim::sim::{simulate_ledger as simulate, LedgerWorld};
use luxsim::Status;

/// 100 honest nodes; 300 arrivals at 300 a second, a fifth of them double spends.
const BASE: &str = r#"
name = "dag-test"
seed = 5
engine = "dag"
max_time = "30s"

[params]
preset = "testnet"

[network]
nodes = 100
latency = { model = "lognormal", median = "20ms", sigma = 0.5 }
poll_timeout = "400ms"

[workload]
transactions = 300
tx_rate = 300.0
conflicts = 0.2
block_interval = "100ms"
batch = 40
parents = 4
"#;

/// BASE plus `extra` TOML, with `--set` overrides.
fn scenario(extra: &str, sets: &[&str]) -> Scenario {
    let text = format!("{BASE}\n{extra}");
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    Scenario::parse(&text, "dag-test.toml", &sets).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs without outputs.
fn summary(s: &Scenario) -> Summary {
    run(s, &RunOptions::default())
        .unwrap_or_else(|e| panic!("{e}"))
        .summary
}

/// Asserts that on every honest node each innocent payment has exactly one accepted
/// incarnation and each double spend exactly one accepted half, the same everywhere (a
/// node may never have seen a losing half); returns (innocent payments, double spends).
fn payments_settled(w: &LedgerWorld) -> (usize, usize) {
    let honest: Vec<NodeId> = w.honest_ids().collect();
    let payments = &w.registry().payments;
    let (mut innocent, mut doubles) = (0, 0);
    for (i, p) in payments.iter().enumerate() {
        let txs: Vec<u64> = match p.twin {
            None => p.txs.clone(),
            Some(t) if (t as usize) > i => {
                let twin = &payments[t as usize];
                assert_eq!((p.txs.len(), twin.txs.len()), (1, 1), "never issued again");
                let key = |tx| w.registry().tx(tx).unwrap().key;
                assert_eq!(key(p.txs[0]), key(twin.txs[0]), "the halves conflict");
                vec![p.txs[0], twin.txs[0]]
            }
            Some(_) => continue,
        };
        match p.twin {
            None => innocent += 1,
            Some(_) => doubles += 1,
        }
        let accepted = |n: NodeId| -> Vec<u64> {
            let node = w.node(n);
            let ok = |tx: &&u64| node.tx_status(**tx) == Some(Status::Accepted);
            txs.iter().filter(ok).copied().collect()
        };
        let want = accepted(honest[0]);
        assert_eq!(want.len(), 1, "payment {i} {txs:?} on node {}", honest[0]);
        for &n in &honest {
            assert_eq!(accepted(n), want, "payment {i} {txs:?} on node {n}");
        }
    }
    (innocent, doubles)
}

#[test]
fn every_innocent_payment_and_exactly_one_half_of_each_double_spend_is_accepted() {
    let s = scenario("[expect]\nsafety = true\nfinalized = 1.0\n", &[]);
    let (w, r) = simulate(&s).unwrap();
    let l = &r.summary;
    assert!(l.violation.is_none(), "{l:?}");
    assert_eq!((l.reached, l.target), (100, 300), "{l:?}");
    let (innocent, doubles) = payments_settled(&w);
    assert_eq!(innocent + doubles, 300);
    assert!(doubles >= 30, "about a fifth are double spends: {doubles}");
    assert!(
        l.conflicting_pairs >= 1 && l.rejected >= l.conflicting_pairs,
        "{l:?}"
    );
    assert!(l.rejected_txs.unwrap() >= doubles, "{l:?}");
    let txs = innocent + doubles;
    assert_eq!(
        l.accepted_txs.as_ref().unwrap().get(&txs.to_string()),
        Some(&100)
    );
    assert!(
        l.finality_ms.unwrap().n > 0 && l.throughput_per_s > 0.0,
        "{l:?}"
    );
    let sum = summary(&s);
    assert!(sum.passed(), "{sum}");
    assert_eq!((sum.engine.as_str(), sum.ledger.as_ref()), ("dag", Some(l)));
}

#[test]
fn losses_and_byzantine_voters_still_settle_every_payment() {
    // The balancing voters can hold a conflict split for a while (43.6 s at seed 5 under
    // stake-unit sampling): the run gets 90 s to settle.
    let extra = "[byzantine]\ncount = 10\nstrategy = \"balance\"\n";
    let sets = [
        "network.loss=0.02",
        "workload.transactions=150",
        "max_time=90s",
    ];
    let s = scenario(extra, &sets);
    let (w, r) = simulate(&s).unwrap();
    assert!(r.summary.violation.is_none(), "{:?}", r.summary);
    assert_eq!(r.summary.reached, 90, "{:?}", r.summary);
    assert!(r.summary.fetches > 0);
    payments_settled(&w);
}

#[test]
fn the_safety_checker_catches_conflicting_transactions() {
    // beta = 1, every arrival a double spend, and a majority of Byzantine voters naming
    // the A vertex to even queriers and the B vertex to odd ones.
    let extra = r#"
[byzantine]
fraction = 0.6
strategy = "equivocate"

[expect]
safety = true
"#;
    let sets = [
        "params.k=10",
        "params.alpha_preference=6",
        "params.alpha_confidence=6",
        "params.beta=1",
        "params.concurrent_polls=1",
        "workload.conflicts=1.0",
    ];
    let sum = summary(&scenario(extra, &sets));
    assert!(sum.safety_violation && !sum.passed(), "{sum}");
    let v = sum.ledger.as_ref().unwrap().violation.as_ref().unwrap();
    assert_eq!(v.kind, "conflict");
    assert!(
        v.conflict_key.is_some() && v.items[0] != v.items[1],
        "{v:?}"
    );
}

#[test]
fn same_seed_same_digest() {
    let s = scenario("", &["workload.transactions=100"]);
    let a = summary(&s);
    assert_eq!(a.digest, summary(&s).digest);
    let mut other = s.clone();
    other.seed = 99;
    assert_ne!(a.digest, summary(&other).digest);
}
