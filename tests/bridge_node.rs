//! `luxsim node` processes on loopback: a killed node rejoins, hostile input is counted and
//! survived, `/metrics` and `/health` answer, SIGTERM stops cleanly, config errors are located.

mod bridge_support;

use bridge_support::*;
use luxsim::bridge::cluster::free_ports;
use luxsim::bridge::config::ParamsFile;
use luxsim::bridge::frame::Frame;
use std::process::Command;
use std::time::{Duration, Instant};
use zeromq::prelude::*;
use zeromq::{DealerSocket, ZmqMessage};

const WAIT: Duration = Duration::from_secs(15);

/// Six validators, every poll asks all five peers and needs all five answers for confidence:
/// nothing can finalize until all six run.
fn all_peers_params() -> ParamsFile {
    ParamsFile {
        k: Some(5),
        alpha_preference: Some(3),
        alpha_confidence: Some(5),
        beta: Some(3),
        concurrent_polls: Some(1),
        ..ParamsFile::default()
    }
}

#[test]
fn a_node_killed_mid_run_restarts_rejoins_and_finalizes() {
    let dir = temp_dir("restart");
    let ports = free_ports(12).unwrap();
    let files: Vec<_> = (0..6)
        .map(|i| {
            let mut f = node_file(i, 6, &ports, all_peers_params());
            f.metrics_port = Some(ports[6 + i]);
            write_node(&dir, &f)
        })
        .collect();
    let mut nodes: Vec<Option<NodeProc>> =
        (0..5).map(|i| Some(NodeProc::start(&files[i]))).collect();
    for n in nodes.iter_mut().flatten() {
        assert!(
            n.wait_event("ready", WAIT).is_some(),
            "a node did not start"
        );
    }
    // Running, polling, answering, but short of node 5: no decision can happen yet.
    std::thread::sleep(Duration::from_millis(700));
    let metrics = format!("127.0.0.1:{}", ports[6 + 4]);
    let (status, text) = http_get(&metrics, "/metrics");
    assert_eq!(status, 200);
    assert!(
        sample(&text, "luxsim_polls_total").unwrap() > 0.0,
        "node 4 polled"
    );
    assert!(
        sample(&text, "luxsim_answers_sent_total").unwrap() > 0.0,
        "node 4 answered"
    );
    for n in nodes.iter_mut().flatten() {
        assert!(n.wait_event("decided", Duration::ZERO).is_none());
    }
    // Kill node 4 mid-run (SIGKILL: no goodbye), then bring it back with node 5.
    drop(nodes[4].take());
    std::thread::sleep(Duration::from_millis(300));
    nodes[4] = Some(NodeProc::start(&files[4]));
    nodes.push(Some(NodeProc::start(&files[5])));
    let mut decided = Vec::new();
    for (i, n) in nodes.iter_mut().enumerate() {
        let n = n.as_mut().unwrap();
        let e = n
            .wait_event("decided", WAIT)
            .unwrap_or_else(|| panic!("node {i} did not finalize"));
        decided.push(e["choice"].as_u64().unwrap());
    }
    assert!(decided.windows(2).all(|w| w[0] == w[1]), "{decided:?}");
    // Everyone is connected now: /health says so.
    let (status, body) = http_get(&format!("127.0.0.1:{}", ports[6]), "/health");
    assert_eq!(status, 200, "{body}");
    // SIGTERM: clean exit with a final summary line.
    for n in nodes.iter().flatten() {
        n.terminate();
    }
    for n in nodes.iter_mut().flatten() {
        assert_eq!(n.wait_exit(WAIT), Some(true), "clean exit after SIGTERM");
        let summary = n
            .wait_event("summary", Duration::from_secs(2))
            .expect("summary line");
        assert_eq!(summary["decided"].as_u64(), Some(decided[0]));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

async fn send(d: &mut DealerSocket, bytes: Vec<u8>) {
    d.send(ZmqMessage::from(bytes)).await.unwrap();
}

#[test]
fn hostile_input_is_dropped_counted_and_survived() {
    let dir = temp_dir("hostile");
    // Peers 1 and 2 exist in the config only: nobody listens on their ports.
    let ports = free_ports(3).unwrap();
    let mut f = node_file(
        0,
        3,
        &ports,
        ParamsFile {
            preset: Some("local".into()),
            max_outstanding_items: Some(8),
            ..ParamsFile::default()
        },
    );
    f.listen = "tcp://127.0.0.1:0".into();
    f.feed = Some("tcp://127.0.0.1:0".into());
    f.metrics_port = Some(0);
    let mut node = NodeProc::start(&write_node(&dir, &f));
    let ready = node.wait_event("ready", WAIT).expect("ready");
    let listen = ready["listen"].as_str().unwrap().to_string();
    let metrics = ready["metrics"].as_str().unwrap().to_string();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut dealer = DealerSocket::new();
        dealer.connect(&listen).await.unwrap();
        // Malformed: garbage, a truncated query, and a two-part message.
        send(&mut dealer, b"garbage".to_vec()).await;
        let q = Frame::Query {
            from: 1,
            request: 1,
            budget_ns: 1_000_000,
        }
        .encode();
        send(&mut dealer, q[..15].to_vec()).await;
        let mut two = ZmqMessage::from(q.clone());
        two.push_back(q.clone().into());
        dealer.send(two).await.unwrap();
        // A version from the future.
        let mut v9 = q.clone();
        v9[2] = 9;
        send(&mut dealer, v9).await;
        // A node id that is not a configured peer.
        send(
            &mut dealer,
            Frame::Query {
                from: 999,
                request: 1,
                budget_ns: 1,
            }
            .encode(),
        )
        .await;
        // An answer to a query never sent.
        send(
            &mut dealer,
            Frame::Answer {
                from: 1,
                request: 0xdead_beef,
                choice: 0,
            }
            .encode(),
        )
        .await;
        // An answer naming a choice that does not exist.
        send(
            &mut dealer,
            Frame::Answer {
                from: 1,
                request: 0,
                choice: 7,
            }
            .encode(),
        )
        .await;
        // A flood of queries, far beyond max_outstanding_items (8).
        for r in 0..50_000u32 {
            send(
                &mut dealer,
                Frame::Query {
                    from: 2,
                    request: r,
                    budget_ns: 1_000_000,
                }
                .encode(),
            )
            .await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    });

    let until = Instant::now() + WAIT;
    let text = loop {
        let (status, text) = http_get(&metrics, "/metrics");
        assert_eq!(status, 200);
        let handled = sample(&text, "luxsim_queries_received_total").unwrap_or(0.0)
            + sample(&text, "luxsim_frames_dropped_total{reason=\"overload\"}").unwrap_or(0.0);
        if handled >= 50_000.0 || Instant::now() > until {
            break text;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let dropped = |reason: &str| {
        sample(
            &text,
            &format!("luxsim_frames_dropped_total{{reason=\"{reason}\"}}"),
        )
        .unwrap_or(0.0)
    };
    assert_eq!(dropped("malformed"), 3.0, "{text}");
    assert_eq!(dropped("version"), 1.0);
    assert_eq!(dropped("unknown_peer"), 1.0);
    assert_eq!(dropped("unsolicited_answer"), 1.0);
    assert_eq!(dropped("invalid_choice"), 1.0);
    assert!(
        dropped("overload") > 0.0,
        "the flood overflowed the inbound queue"
    );
    let received = sample(&text, "luxsim_queries_received_total").unwrap();
    assert_eq!(
        received + dropped("overload"),
        50_000.0,
        "every query answered or counted"
    );
    // Answers to the flood were votes cast (published), but their peer is not there.
    assert!(sample(&text, "luxsim_votes_sent_total").unwrap() > 0.0);
    assert!(dropped("not_connected") > 0.0);
    // Still alive, memory bounded, and unhealthy: no peer is reachable.
    assert!(node.child.try_wait().unwrap().is_none(), "the node died");
    if let Some(kib) = node.rss_kib() {
        assert!(kib < 200 * 1024, "resident memory {kib} KiB");
    }
    let (status, body) = http_get(&metrics, "/health");
    assert_eq!(status, 503, "{body}");
    assert_eq!(http_get(&metrics, "/nothing").0, 404);
    node.terminate();
    assert_eq!(node.wait_exit(WAIT), Some(true));
    let summary = node
        .wait_event("summary", Duration::from_secs(2))
        .expect("summary line");
    assert_eq!(summary["dropped"]["unknown_peer"].as_u64(), Some(1));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn config_errors_name_file_line_and_column() {
    let dir = temp_dir("config-error");
    let path = dir.join("bad.toml");
    std::fs::write(
        &path,
        "id = 70000\nlisten = \"tcp://127.0.0.1:7000\"\n[[peers]]\nid = 1\naddress = \"tcp://127.0.0.1:7001\"\n",
    )
    .unwrap();
    let out = Command::new(luxsim())
        .args(["node", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let want = format!("{}:1:6: id 70000 does not fit in 16 bits", path.display());
    assert!(err.contains(&want), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
