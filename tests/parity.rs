//! Parity: the scenarios of `tests/parity/` (a single decision, a chain and a DAG, each
//! honest and with one Byzantine strategy) give the same decisions in the simulator and as
//! a loopback cluster of `luxsim node` processes, and polls to finality within the bound of
//! `docs/bridge.md`:
//!
//! - single decision: every honest node decides, all the same choice as in the simulator;
//!   the cluster's median polls to finality is at most 5 × the simulator's + 10 (the
//!   cluster's nodes start up to a reconnect interval apart, and the first to start poll
//!   peers that have not begun yet);
//! - chain: every honest node accepts every height, with the same blocks as the simulator
//!   (block `s` at height `s`: as many proposed, none rejected);
//! - dag: every honest node accepts exactly one transaction per payment, as in the
//!   simulator (the socket schedule batches double spends its own way: `docs/bridge.md`);
//! - ledgers: the cluster's median polls per node is at most 3 × the simulator's + 30.

mod bridge_support;

use bridge_support::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn summary(mode: &str, scenario: &Path, out: &Path) -> Value {
    let mut cmd = Command::new(luxsim());
    cmd.args([mode, "--quiet", "--out"]).arg(out).arg(scenario);
    if mode == "cluster" {
        cmd.args(["--max-time", "60s"]);
    }
    let status = cmd.status().unwrap();
    let text = std::fs::read_to_string(out.join("summary.json")).unwrap();
    let s: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "{mode} {}: {s:#}",
        scenario.display()
    );
    s
}

fn p50(s: &Value, key: &str) -> f64 {
    s[key]["p50"].as_f64().unwrap_or(f64::NAN)
}

#[test]
fn every_parity_scenario_decides_the_same_in_the_simulator_and_on_sockets() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/parity");
    let dir = temp_dir("parity");
    let mut names: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 6, "{names:?}");
    for path in &names {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let sim = summary("run", path, &dir.join(format!("{name}-sim")));
        let real = summary("cluster", path, &dir.join(format!("{name}-cluster")));
        let ctx = format!("{name}: simulator {sim:#}\ncluster {real:#}");
        for s in [&sim, &real] {
            assert_eq!(s["honest_finalized"], 1.0, "{ctx}");
            assert_eq!(s["safety_violation"], false, "{ctx}");
        }
        assert_eq!(sim["honest"], real["honest"], "{ctx}");
        let (a, b) = (p50(&sim, "polls"), p50(&real, "polls"));
        match sim["ledger"]["kind"].as_str() {
            None => {
                assert_eq!(sim["decided"].as_object().unwrap().len(), 1, "{ctx}");
                assert_eq!(sim["decided"], real["decided"], "{ctx}");
                assert!(b <= 5.0 * a + 10.0, "polls p50 {b} vs {a}: {ctx}");
            }
            Some(kind) => {
                let (ls, lr) = (&sim["ledger"], &real["ledger"]);
                assert_eq!(ls["reached"], lr["reached"], "{ctx}");
                if kind == "chain" {
                    for key in ["accepted", "proposed", "rejected"] {
                        assert_eq!(ls[key], lr[key], "{key}: {ctx}");
                    }
                    assert_eq!(ls["rejected"], 0, "{ctx}");
                } else {
                    assert_eq!(ls["accepted_txs"], lr["accepted_txs"], "{ctx}");
                }
                assert!(b <= 3.0 * a + 30.0, "polls p50 {b} vs {a}: {ctx}");
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
