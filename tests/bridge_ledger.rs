//! Chain and DAG validators as `luxsim node` processes on loopback: hostile ledger frames
//! are dropped and counted by reason; blocks and vertices
//! submitted with `POST /propose` reach every node, are accepted everywhere, and a double
//! spend is decided the same way on every node; the shipped `scenarios/chain.toml` and
//! `scenarios/dag.toml`, scaled down, run as clusters. Waits are on conditions, with
//! generous limits.

mod bridge_support;

use bridge_support::*;
use luxsim::bridge::{free_ports, LedgerFile, LedgerFrame, ParamsFile};
use luxsim::node::ledger::{Ids, LedgerKind, Message};
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

/// The limit of every wait: far beyond what a busy machine needs.
const WAIT: Duration = Duration::from_secs(120);

fn ledger(kind: LedgerKind) -> LedgerFile {
    LedgerFile {
        kind,
        block_protocol: luxsim::Protocol::Snowflake,
        block_interval: Duration::from_millis(100),
        proposers: Vec::new(),
        heights: 0,
        transactions: 0,
        batch: 10,
        parents: 3,
        conflicts: 0.0,
        workload_seed: 0,
    }
}

/// Three ledger nodes of `kind` with an HTTP endpoint each, proposing nothing by themselves;
/// their `listen` endpoints too.
fn three(name: &str, kind: LedgerKind) -> (Vec<NodeProc>, Vec<String>, Vec<String>) {
    let dir = temp_dir(name);
    let ports = free_ports(6).unwrap();
    let params = ParamsFile {
        k: Some(2),
        alpha_preference: Some(2),
        alpha_confidence: Some(2),
        beta: Some(3),
        concurrent_polls: Some(1),
        ..ParamsFile::default()
    };
    let mut nodes = Vec::new();
    let mut http = Vec::new();
    let mut listen = Vec::new();
    for i in 0..3 {
        let mut f = node_file(i, 3, &ports, params.clone());
        f.choices = None;
        f.initial = 0;
        f.metrics_port = Some(ports[3 + i]);
        f.feed = Some("tcp://127.0.0.1:*".into());
        f.ledger = Some(ledger(kind));
        let mut p = NodeProc::start(&write_node(&dir, &f));
        let (l, _, h) = p.ready(WAIT);
        http.push(h.expect("an HTTP endpoint"));
        listen.push(l);
        nodes.push(p);
    }
    (nodes, http, listen)
}

/// Waits for node `p` to report `event` about item `id`; the event.
fn wait_item(p: &mut NodeProc, event: &str, id: u64) -> Value {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        if let Some(v) = p.seen.iter().find(|v| v["event"] == event && v["id"] == id) {
            return v.clone();
        }
        let left = deadline
            .checked_duration_since(std::time::Instant::now())
            .unwrap_or_else(|| panic!("no {event} of {id}: {:?}", p.seen));
        if let Ok(v) = p.events.recv_timeout(left) {
            p.seen.push(v);
        }
    }
}

#[test]
fn a_block_posted_to_one_chain_node_is_accepted_by_all_three() {
    let (mut nodes, http, listen) = three("ledger-chain", LedgerKind::Chain);
    // Hostile input first: each frame is dropped and counted, and the node goes on.
    let ctx = zmq::Context::new();
    let dealer = ctx.socket(zmq::DEALER).unwrap();
    dealer.set_linger(-1).unwrap();
    dealer.connect(&listen[1]).unwrap();
    let answer = LedgerFrame {
        from: 0,
        msg: Message::Answer {
            request: 1,
            tips: Ids::one(3),
        },
    };
    let mut reply = Vec::new();
    answer.encode_into(0, &mut reply);
    let mut cut = reply.clone();
    cut.pop();
    let mut stranger = Vec::new();
    LedgerFrame {
        from: 999,
        msg: Message::Get { id: 1, above: 0 },
    }
    .encode_into(0, &mut stranger);
    let decision_query = luxsim::bridge::Frame::Query {
        from: 0,
        request: 1,
        budget_ns: 1,
    }
    .encode();
    for frame in [&reply, &cut, &stranger, &decision_query] {
        dealer.send(&frame[..], 0).unwrap();
    }
    let until = std::time::Instant::now() + WAIT;
    let dropped = |text: &str, reason: &str| {
        sample(
            text,
            &format!("luxsim_frames_dropped_total{{reason=\"{reason}\"}}"),
        )
        .unwrap_or(0.0)
    };
    loop {
        let (_, m) = http_get(&http[1], "/metrics");
        let counts = ["wrong_socket", "malformed", "unknown_peer"].map(|r| dropped(&m, r));
        if counts == [1.0, 2.0, 1.0] {
            break;
        }
        assert!(std::time::Instant::now() < until, "{counts:?}\n{m}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (status, body) = http_request("POST", &http[1], "/propose?id=77");
    assert_eq!(status, 202, "{body}");
    assert_eq!(body.trim(), "queued 77");
    for p in &mut nodes {
        let v = wait_item(p, "accepted", 77);
        assert_eq!(v["height"], 1);
    }
    // The next block, with an id the node picks, builds on it everywhere.
    let (status, body) = http_request("POST", &http[0], "/propose");
    assert_eq!(status, 202, "{body}");
    let id: u64 = body.trim().trim_start_matches("queued ").parse().unwrap();
    for p in &mut nodes {
        assert_eq!(wait_item(p, "accepted", id)["height"], 2);
    }
    // Bad requests say what is wrong.
    let (status, body) = http_request("POST", &http[0], "/propose?txs=1:1");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("chain block carries no txs"), "{body}");
    let (status, _) = http_request("GET", &http[0], "/propose?id=5");
    assert_eq!(status, 405);
    let (status, body) = http_request("POST", &http[0], "/propose?id=0");
    assert_eq!(status, 400, "{body}");
    let (_, metrics) = http_get(&http[2], "/metrics");
    assert_eq!(sample(&metrics, "luxsim_items_accepted_total"), Some(2.0));
    // Block 77's accept vote went out on the feed; the node-picked id does not fit a
    // compact vote's u16, so that one is counted instead of published.
    assert_eq!(dropped(&metrics, "vote_id_too_large"), 1.0, "{metrics}");
    assert_eq!(
        sample(&metrics, "luxsim_votes_sent_total"),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(sample(&metrics, "luxsim_accepted_height"), Some(2.0));
    for p in &mut nodes {
        p.terminate();
        let summary = p.wait_event("summary", WAIT).expect("a summary line");
        assert_eq!(summary["accepted_height"], 2, "{summary}");
    }
}

#[test]
fn a_double_spend_posted_to_two_dag_nodes_is_decided_the_same_way_everywhere() {
    let (mut nodes, http, _) = three("ledger-dag", LedgerKind::Dag);
    let (status, body) = http_request("POST", &http[0], "/propose?id=10&txs=1:1,2:2");
    assert_eq!(status, 202, "{body}");
    for p in &mut nodes {
        wait_item(p, "accepted", 10);
    }
    // Transactions 3 and 4 spend the same key 9.
    for (node, query) in [
        (1, "id=11&txs=3:9&anchored=true"),
        (2, "id=12&txs=4:9&anchored"),
    ] {
        let (status, body) = http_request("POST", &http[node], &format!("/propose?{query}"));
        assert_eq!(status, 202, "{body}");
    }
    let mut winners = Vec::new();
    for p in &mut nodes {
        let deadline = std::time::Instant::now() + WAIT;
        let decided = |p: &NodeProc, id: u64| {
            p.seen
                .iter()
                .find(|v| v["id"] == id && (v["event"] == "accepted" || v["event"] == "rejected"))
                .map(|v| v["event"] == "accepted")
        };
        while decided(p, 11).is_none() || decided(p, 12).is_none() {
            assert!(std::time::Instant::now() < deadline, "{:?}", p.seen);
            if let Ok(v) = p.events.recv_timeout(Duration::from_millis(200)) {
                p.seen.push(v);
            }
        }
        let (a, b) = (decided(p, 11).unwrap(), decided(p, 12).unwrap());
        assert!(a != b, "exactly one of the two: {:?}", p.seen);
        winners.push(a);
    }
    assert!(winners.iter().all(|&w| w == winners[0]), "{winners:?}");
}

fn cluster(scenario: &str, sets: &[&str]) -> Value {
    let dir = temp_dir(&format!("ledger-cluster-{}", sets.len()));
    let out = dir.join("out");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cmd = Command::new(luxsim());
    cmd.args(["cluster", "--quiet", "--max-time", "90s", "--out"])
        .arg(&out);
    for s in sets {
        cmd.args(["--set", s]);
    }
    let status = cmd.arg(root.join(scenario)).status().unwrap();
    let text = std::fs::read_to_string(out.join("summary.json")).unwrap();
    let summary: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(status.code(), Some(0), "{summary:#}");
    let _ = std::fs::remove_dir_all(&dir);
    summary
}

#[test]
fn the_shipped_chain_and_dag_scenarios_run_as_clusters_of_sixteen() {
    let s = cluster(
        "scenarios/chain.toml",
        &["network.nodes=16", "workload.heights=20"],
    );
    assert_eq!(
        (s["mode"].as_str(), s["engine"].as_str()),
        (Some("cluster"), Some("chain"))
    );
    assert_eq!(s["honest_finalized"], 1.0, "{s:#}");
    assert_eq!(s["ledger"]["accepted"]["20"], 16, "{s:#}");
    let s = cluster(
        "scenarios/dag.toml",
        &["network.nodes=16", "workload.transactions=300"],
    );
    assert_eq!(s["honest_finalized"], 1.0, "{s:#}");
    assert_eq!(s["ledger"]["accepted_txs"]["300"], 16, "{s:#}");
    assert!(
        s["ledger"]["conflicting_pairs"].as_u64().unwrap() > 0,
        "{s:#}"
    );
    assert_eq!(s["safety_violation"], false);
}
