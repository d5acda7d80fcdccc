//! `luxsim node --config FILE.yaml` processes: the three shipped YAML examples (the Lux
//! docs' config, k = 20 with two peers under stake sampling) form a network and decide;
//! a node whose validators can never fill a poll warns and answers 503 on its own health
//! port; the log's levels, precedence and JSON lines; located YAML errors on the command
//! line. Waits are on conditions, with generous limits.

mod bridge_support;

use bridge_support::*;
use luxsim::bridge::free_ports;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The limit of every wait: far beyond what a busy machine needs.
const WAIT: Duration = Duration::from_secs(120);

fn example(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(name),
    )
    .unwrap()
}

/// The `host:port` of an event's address field.
fn address(e: &Value, field: &str) -> String {
    e[field]
        .as_str()
        .unwrap_or_else(|| panic!("no {field} in {e}"))
        .to_string()
}

/// Polls `path` at `addr` until it answers `status` (or `WAIT` passes); the last answer.
fn http_until(addr: &str, path: &str, status: u16) -> (u16, String) {
    let until = std::time::Instant::now() + WAIT;
    loop {
        let got = http_get(addr, path);
        if got.0 == status || std::time::Instant::now() > until {
            return got;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_three_yaml_examples_form_a_network_and_decide() {
    let dir = temp_dir("yaml-examples");
    // The shipped files, on free ports instead of 5555-5557, 8000-8002 and 8080-8082.
    let ports = free_ports(9).unwrap();
    let names = ["config.yaml", "config-1.yaml", "config-2.yaml"];
    let paths: Vec<PathBuf> = names
        .iter()
        .map(|name| {
            let mut text = example(name);
            for i in 0..3 {
                text = text
                    .replace(&format!(":{}\"", 5555 + i), &format!(":{}\"", ports[i]))
                    .replace(
                        &format!("port: {}", 8000 + i),
                        &format!("port: {}", ports[3 + i]),
                    )
                    .replace(
                        &format!("port: {}", 8080 + i),
                        &format!("port: {}", ports[6 + i]),
                    );
            }
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path
        })
        .collect();
    let mut nodes: Vec<NodeProc> = paths
        .iter()
        .map(|p| NodeProc::start_with(p, &[], None))
        .collect();
    for (i, n) in nodes.iter_mut().enumerate() {
        let ready = n.wait_event("ready", WAIT).expect("the node starts");
        assert_eq!(
            address(&ready, "metrics"),
            format!("127.0.0.1:{}", ports[3 + i])
        );
        assert_eq!(
            address(&ready, "health"),
            format!("127.0.0.1:{}", ports[6 + i])
        );
    }
    // k = 20, alpha 15/15, beta 20 with two peers: under stake sampling each poll draws 20
    // stake units of the two peers, and each answer counts once per unit.
    let mut choices = Vec::new();
    for (i, n) in nodes.iter_mut().enumerate() {
        let e = n
            .wait_event("decided", WAIT)
            .unwrap_or_else(|| panic!("node {i} did not decide"));
        choices.push(e["choice"].as_u64().unwrap());
    }
    assert_eq!(
        choices,
        [0, 0, 0],
        "every node keeps the initial preference"
    );
    // /health on its own port, /metrics on metrics_port, each only there.
    let (metrics, health) = (
        format!("127.0.0.1:{}", ports[3]),
        format!("127.0.0.1:{}", ports[6]),
    );
    let (status, body) = http_until(&health, "/health", 200);
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("ok: 2 validators reachable"), "{body}");
    let (status, text) = http_get(&metrics, "/metrics");
    assert_eq!(status, 200);
    assert_eq!(sample(&text, "luxsim_finalized"), Some(1.0), "{text}");
    assert_eq!(http_get(&metrics, "/health").0, 404);
    assert_eq!(http_get(&health, "/metrics").0, 404);
    for n in &nodes {
        n.terminate();
    }
    for n in nodes.iter_mut() {
        assert_eq!(n.wait_exit(WAIT), Some(true), "clean exit after SIGTERM");
        assert!(n.wait_event("summary", WAIT).is_some());
    }
    // The log: info lines in text (log_level: INFO), and nothing below.
    let log = nodes[0].whole_log(WAIT);
    let has = |what: &str| log.iter().any(|l| l.contains(" INFO ") && l.contains(what));
    assert!(has("node 0 starting: engine snowball"), "{log:#?}");
    assert!(has("2 peers"), "{log:#?}");
    assert!(has("node 0 decided choice 0"), "{log:#?}");
    assert!(has("shutting down: asked to stop"), "{log:#?}");
    assert!(log
        .iter()
        .any(|l| l.contains(" WARN ") && l.contains("has no node.secret_key")));
    assert!(!log.iter().any(|l| l.contains("DEBUG")), "{log:#?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A YAML node of `k = 20` and 2 peers (that never start) under validator sampling.
fn two_peers_validator_sampling(dir: &Path) -> PathBuf {
    let ports = free_ports(4).unwrap();
    let text = format!(
        "consensus:
  sampling: validators
  params: {{k: 20, alpha_preference: 15, alpha_confidence: 15, beta: 20}}
  poll_timeout: 100ms
network:
  bind_address: \"tcp://127.0.0.1:{}\"
  peers: [\"tcp://127.0.0.1:{}\", \"tcp://127.0.0.1:{}\"]
monitoring:
  health_port: {}
",
        ports[0], ports[1], ports[2], ports[3]
    );
    let path = dir.join("validators.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn validators_that_can_never_fill_a_poll_warn_and_fail_health() {
    let dir = temp_dir("yaml-unfillable");
    let path = two_peers_validator_sampling(&dir);
    // The flags replace the file's ports (and add a metrics port); the log is JSON lines.
    let args = [
        "--metrics-port",
        "0",
        "--health-port",
        "0",
        "--log-format",
        "json",
        "--log-level",
        "debug",
    ];
    let mut node = NodeProc::start_with(&path, &args, Some("error"));
    let ready = node.wait_event("ready", WAIT).expect("the node starts");
    let (metrics, health) = (address(&ready, "metrics"), address(&ready, "health"));
    assert_ne!(metrics, health);
    let (status, body) = http_get(&health, "/health");
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        body,
        "unhealthy: no poll can succeed: sampling by validators finds 2 sampleable validators \
         (the peers; self_sample is off), fewer than k = 20 and than alpha_confidence = 15; the \
         node will never finalize (docs/bridge.md, \"Polls that can never succeed\")\n"
    );
    assert_eq!(http_get(&metrics, "/metrics").0, 200);
    assert_eq!(http_get(&metrics, "/health").0, 404);
    // The warning, as a JSON line; and debug lines, since --log-level beats RUST_LOG.
    let warning = node
        .wait_log(WAIT, |l| l.contains("no poll can succeed"))
        .expect("the warning");
    assert!(warning.starts_with("{\"ts\":\""), "{warning}");
    let w: Value = serde_json::from_str(&warning).unwrap();
    assert_eq!(w["level"], "WARN");
    assert!(w["target"].as_str().unwrap().starts_with("luxsim::bridge"));
    assert!(w["ts"].as_str().unwrap().ends_with('Z'), "{w}");
    assert!(
        w["msg"].as_str().unwrap().starts_with(
            "node 0: no poll can succeed: sampling by validators finds 2 sampleable validators"
        ),
        "{w}"
    );
    // Polls time out unanswered (nobody listens at the peers' addresses): recorded, at debug.
    assert!(node
        .wait_log(WAIT, |l| l.contains("\"DEBUG\"") && l.contains("recorded"))
        .is_some());
    node.terminate();
    assert_eq!(node.wait_exit(WAIT), Some(true));
    for line in node.whole_log(WAIT) {
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("{line}"));
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["level", "msg", "target", "ts"], "{line}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_log_level_is_the_flag_then_rust_log_then_the_file() {
    let dir = temp_dir("yaml-levels");
    let path = two_peers_validator_sampling(&dir);
    let text = std::fs::read_to_string(&path).unwrap() + "  log_level: Error\n";
    std::fs::write(&path, text).unwrap();
    let run = |args: &[&str], rust_log: Option<&str>| {
        let mut node = NodeProc::start_with(&path, args, rust_log);
        node.wait_event("ready", WAIT).expect("the node starts");
        node.terminate();
        assert_eq!(node.wait_exit(WAIT), Some(true));
        node.whole_log(WAIT)
    };
    let levels = |log: &[String]| -> Vec<&str> {
        let mut l: Vec<&str> = ["ERROR", "WARN", "INFO", "DEBUG"]
            .into_iter()
            .filter(|lvl| log.iter().any(|line| line.contains(&format!(" {lvl} "))))
            .collect();
        l.dedup();
        l
    };
    // The file's level (error: the warnings are silenced).
    assert_eq!(levels(&run(&[], None)), Vec::<&str>::new());
    // RUST_LOG beats the file.
    let log = run(&[], Some("info"));
    assert_eq!(levels(&log), ["WARN", "INFO"], "{log:#?}");
    // The flag beats RUST_LOG.
    let log = run(&["--log-level", "WARN"], Some("info"));
    assert_eq!(levels(&log), ["WARN"], "{log:#?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn yaml_errors_on_the_command_line_are_located_and_not_toml() {
    let dir = temp_dir("yaml-errors");
    let run = |name: &str, text: &str, args: &[&str]| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let out = Command::new(luxsim())
            .args(["node", "--config"])
            .arg(&path)
            .args(args)
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        (path, String::from_utf8_lossy(&out.stderr).into_owned())
    };
    // The docs' example, read as TOML before: now YAML by its name, its mistakes YAML's.
    let docs = "consensus:\n  engine: snowball\n  params:\n    k: 20\n    alpha_preference: 15\n    alpha_confidence: 15\n    beta: 20\nnetwork:\n  bind_address: \"tcp://0.0.0.0:5555\"\n  peers:\n    - \"tcp://peer1:5555\"\n    - \"tcp://peer2:5555\"\nmonitoring:\n  metrics_port: 8000\n  log_level: INFO\n";
    let cases = [
        (
            "k: 20",
            "k: 20: 3",
            "4:10: mapping values are not allowed in this context",
        ),
        (
            "beta: 20",
            "beta: 0",
            "7:11: consensus.params: beta (0) must be at least 1",
        ),
        (
            "5555\"\n  peers",
            "x\"\n  peers",
            "9:17: network.bind_address: \"tcp://0.0.0.0:x\" is not a ZeroMQ endpoint",
        ),
        (
            "    - \"tcp://peer2:5555\"",
            "    - \"peer2\"",
            "12:7: network.peers.address: \"peer2\"",
        ),
        (
            "log_level: INFO",
            "log_level: INFO\n  colour: blue",
            "16:3: unknown field `colour`",
        ),
        (
            "metrics_port: 8000",
            "metrics_port: eight",
            "14:17: invalid u16",
        ),
    ];
    for (from, to, want) in cases {
        let (path, err) = run("config.yaml", &docs.replace(from, to), &[]);
        let want = format!("{}:{want}", path.display());
        assert!(err.contains(&want), "{want}\n{err}");
        assert!(err.contains(" ERROR "), "{err}");
        for toml in ["TOML", "toml", "expected `.`"] {
            assert!(!err.contains(toml), "{err}");
        }
    }
    // In JSON, the error is a JSON line too.
    let (path, err) = run(
        "bad.yml",
        "network: {bind_address: nowhere}\n",
        &["--log-format", "json"],
    );
    let v: Value = serde_json::from_str(err.trim()).unwrap_or_else(|_| panic!("{err}"));
    assert_eq!(v["level"], "ERROR");
    let want = format!("{}:1:25: network.bind_address: \"nowhere\"", path.display());
    assert!(v["msg"].as_str().unwrap().starts_with(&want), "{v}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn check_loads_the_file_says_what_the_node_would_warn_about_and_starts_nothing() {
    let dir = temp_dir("yaml-check");
    let check = |path: &Path| {
        Command::new(luxsim())
            .args(["node", "--check", "--config"])
            .arg(path)
            .env_remove("RUST_LOG")
            .output()
            .unwrap()
    };
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for name in ["config.yaml", "config-1.yaml", "config-2.yaml", "node.toml"] {
        let out = check(&examples.join(name));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{err}");
        assert!(err.contains(&format!("{name}: ok (node ")), "{err}");
        assert!(out.stdout.is_empty(), "no node ran");
        assert!(!err.contains("no poll can succeed"), "{err}");
    }
    let out = check(&two_peers_validator_sampling(&dir));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains(" WARN ") && err.contains("no poll can succeed"),
        "{err}"
    );
    let bad = dir.join("bad.yaml");
    std::fs::write(
        &bad,
        "network:\n  bind_address: tcp://127.0.0.1:5555\n  peers: 3\n",
    )
    .unwrap();
    let out = check(&bad);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("{}:3:10: ", bad.display())), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
