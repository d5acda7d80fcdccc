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
fn five_processes_with_the_local_preset_finalize_the_same_choice() {
    let (s, out) = run_cluster(
        "cluster5",
        r#"
name = "cluster5"
seed = 3
engine = "snowball"
[params]
preset = "local"
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
