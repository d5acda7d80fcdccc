//! `luxsim cluster`: a scenario's nodes as processes on loopback, with the same summary.json.

mod bridge_support;

use bridge_support::*;
use serde_json::Value;
use std::process::Command;

fn run_cluster(name: &str, scenario: &str) -> (Value, std::path::PathBuf) {
    let dir = temp_dir(name);
    let path = dir.join("scenario.toml");
    std::fs::write(&path, scenario).unwrap();
    let out = dir.join("out");
    let status = Command::new(luxsim())
        .args(["cluster", "--quiet", "--max-time", "30s", "--out"])
        .arg(&out)
        .arg(&path)
        .status()
        .unwrap();
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(status.code(), Some(0), "{summary:#}");
    (summary, out)
}

#[test]
fn five_processes_with_the_compose_parameters_finalize_the_same_choice() {
    // The parameters of deploy/compose.toml: 0 splits in 50 seeds (bench/cluster-safety.sh).
    let (s, out) = run_cluster(
        "cluster5",
        r#"
name = "cluster5"
seed = 3
engine = "snowball"
[params]
k = 4
alpha_preference = 3
alpha_confidence = 4
beta = 4
concurrent_polls = 1
[network]
nodes = 5
poll_timeout = "200ms"
[workload]
choices = 2
initial = [0.8, 0.2]
[expect]
safety = true
finalized = 1.0
"#,
    );
    assert_eq!(s["mode"], "cluster");
    assert_eq!(s["nodes"], 5);
    assert_eq!(s["honest"], 5);
    assert_eq!(s["honest_finalized"], 1.0);
    assert_eq!(
        s["decided"].as_object().unwrap().len(),
        1,
        "one choice: {s:#}"
    );
    assert_eq!(s["safety_violation"], false);
    assert!(s["finality_ms"]["max"].as_f64().unwrap() > 0.0);
    // Every node stopped cleanly and wrote its final line.
    let lines = std::fs::read_to_string(out.join("nodes.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 5, "{lines}");
    let _ = std::fs::remove_dir_all(out.parent().unwrap());
}

#[test]
fn twenty_processes_with_byzantine_nodes_stay_safe_and_finalize() {
    let (s, out) = run_cluster(
        "cluster20",
        r#"
name = "cluster20"
seed = 9
engine = "snowball"
[params]
preset = "testnet"
[network]
nodes = 20
poll_timeout = "500ms"
[workload]
choices = 2
initial = [0.5, 0.5]
[byzantine]
count = 2
strategy = "balance"
[expect]
safety = true
finalized = 1.0
"#,
    );
    assert_eq!(s["nodes"], 20);
    assert_eq!(s["byzantine"]["count"], 2);
    assert_eq!(s["honest"], 18);
    assert_eq!(s["honest_finalized"], 1.0);
    assert_eq!(s["decided"].as_object().unwrap().len(), 1);
    let _ = std::fs::remove_dir_all(out.parent().unwrap());
}

#[test]
fn the_shipped_compose_node_files_run_as_a_cluster_on_loopback() {
    // deploy/compose/node-*.yaml as written, with the service names and container ports
    // mapped onto 127.0.0.1 (Docker itself does not run here).
    let dir = temp_dir("compose");
    let ports = luxsim::bridge::free_ports(20).unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut nodes = Vec::new();
    for i in 0..5 {
        let mut text =
            std::fs::read_to_string(root.join(format!("deploy/compose/node-{i}.yaml"))).unwrap();
        for j in 0..5 {
            text = text
                .replace(
                    &format!("tcp://node{j}:7000"),
                    &format!("tcp://127.0.0.1:{}", ports[j]),
                )
                .replace(
                    &format!("tcp://node{j}:7100"),
                    &format!("tcp://127.0.0.1:{}", ports[5 + j]),
                );
        }
        text = text
            .replace(
                "tcp://0.0.0.0:7000",
                &format!("tcp://127.0.0.1:{}", ports[i]),
            )
            .replace(
                "tcp://0.0.0.0:7100",
                &format!("tcp://127.0.0.1:{}", ports[5 + i]),
            )
            .replace("metrics_host: \"0.0.0.0\"", "metrics_host: \"127.0.0.1\"")
            .replace(
                "metrics_port: 9100",
                &format!("metrics_port: {}", ports[10 + i]),
            )
            .replace(
                "health_port: 9200",
                &format!("health_port: {}", ports[15 + i]),
            );
        let path = dir.join(format!("node-{i}.yaml"));
        std::fs::write(&path, text).unwrap();
        nodes.push(NodeProc::start(&path));
    }
    let mut choices = Vec::new();
    for n in &mut nodes {
        let ready = n
            .wait_event("ready", std::time::Duration::from_secs(120))
            .unwrap();
        assert_eq!(
            ready["authenticated"], true,
            "the compose nodes use CURVE keys"
        );
        let d = n
            .wait_event("decided", std::time::Duration::from_secs(120))
            .expect("every node finalizes");
        choices.push(d["choice"].as_u64().unwrap());
    }
    assert!(choices.windows(2).all(|w| w[0] == w[1]), "{choices:?}");
    let (status, _) = http_get(&format!("127.0.0.1:{}", ports[15]), "/health");
    assert_eq!(status, 200);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_adversaries_of_the_literature_run_on_sockets_with_the_feed_as_their_view() {
    // balance-simple, balance-informed and split (docs/adversaries.md) as processes: each
    // Byzantine node answers every query it gets and builds its view from the vote feed.
    for strategy in ["balance-simple", "balance-informed", "split"] {
        let (s, out) = run_cluster(
            &format!("cluster-{strategy}"),
            &format!(
                r#"
name = "cluster-{strategy}"
seed = 5
engine = "snowball"
[params]
preset = "testnet"
[network]
nodes = 10
poll_timeout = "300ms"
[workload]
choices = 2
initial = [0.5, 0.5]
[byzantine]
count = 2
strategy = "{strategy}"
"#
            ),
        );
        assert_eq!(s["byzantine"]["strategy"], strategy, "{s:#}");
        assert_eq!(s["honest"], 8);
        let ids: Vec<u64> = s["byzantine"]["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(ids.len(), 2);
        let lines = std::fs::read_to_string(out.join("nodes.jsonl")).unwrap();
        let nodes: Vec<Value> = lines
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(nodes.len(), 10, "{lines}");
        for n in nodes
            .iter()
            .filter(|n| ids.contains(&n["node"].as_u64().unwrap()))
        {
            assert_eq!(n["byzantine"], strategy, "{n}");
            // Every query answered, but for one caught by the shutdown.
            let received = n["queries_received"].as_u64().unwrap();
            let sent = n["answers_sent"].as_u64().unwrap();
            assert!(sent > 0 && sent <= received && sent + 2 >= received, "{n}");
            assert!(
                n["votes_received"].as_u64().unwrap() > 0,
                "no feed, no view: {n}"
            );
        }
        let _ = std::fs::remove_dir_all(out.parent().unwrap());
    }
}
