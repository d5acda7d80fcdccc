//! `luxsim node` processes on loopback: a killed node rejoins; hostile input is counted to
//! the frame and survived; the 73-byte announced-64-GiB attack and oversized frames on
//! every port leave the node alive and small; spoofed senders are refused and nothing is
//! reflected to a third party; `/metrics` and `/health` answer; SIGTERM stops cleanly;
//! config errors are located. Waits are on conditions, with generous limits.

mod bridge_support;

use bridge_support::*;
use luxsim::bridge::free_ports;
use luxsim::bridge::Frame;
use luxsim::bridge::ParamsFile;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

/// The limit of every wait: far beyond what a busy machine needs.
const WAIT: Duration = Duration::from_secs(120);

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

/// Polls `/metrics` at `addr` until `cond` holds on it (or `WAIT` passes); the last text.
fn metrics_until(addr: &str, mut cond: impl FnMut(&str) -> bool) -> String {
    let until = Instant::now() + WAIT;
    loop {
        let (status, text) = http_get(addr, "/metrics");
        assert_eq!(status, 200);
        if cond(&text) || Instant::now() > until {
            return text;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn dropped(text: &str, reason: &str) -> f64 {
    sample(
        text,
        &format!("luxsim_frames_dropped_total{{reason=\"{reason}\"}}"),
    )
    .unwrap_or(0.0)
}

#[test]
fn a_node_killed_mid_run_restarts_rejoins_and_finalizes() {
    let dir = temp_dir("restart");
    let ports = free_ports(12).unwrap();
    let mut files: Vec<_> = (0..6)
        .map(|i| {
            let mut f = node_file(i, 6, &ports, all_peers_params());
            f.metrics_port = Some(ports[6 + i]);
            f
        })
        .collect();
    authenticate(&mut files, &keys(6)); // every peer authenticated by CURVE
    let paths: Vec<_> = files.iter().map(|f| write_node(&dir, f)).collect();
    let mut nodes: Vec<Option<NodeProc>> =
        (0..5).map(|i| Some(NodeProc::start(&paths[i]))).collect();
    for n in nodes.iter_mut().flatten() {
        assert!(
            n.wait_event("ready", WAIT).is_some(),
            "a node did not start"
        );
    }
    // Running, polling, answering, but short of node 5: no decision can happen yet.
    let metrics = format!("127.0.0.1:{}", ports[6 + 4]);
    let text = metrics_until(&metrics, |t| {
        sample(t, "luxsim_polls_total").unwrap_or(0.0) > 0.0
            && sample(t, "luxsim_answers_sent_total").unwrap_or(0.0) > 0.0
    });
    assert!(
        sample(&text, "luxsim_polls_total").unwrap() > 0.0,
        "node 4 polled"
    );
    assert!(
        sample(&text, "luxsim_answers_sent_total").unwrap() > 0.0,
        "node 4 answered"
    );
    assert_eq!(dropped(&text, "spoofed"), 0.0);
    for n in nodes.iter_mut().flatten() {
        assert!(n.wait_event("decided", Duration::ZERO).is_none());
    }
    // Kill node 4 mid-run (SIGKILL: no goodbye), then bring it back with node 5.
    drop(nodes[4].take());
    nodes[4] = Some(NodeProc::start(&paths[4]));
    nodes.push(Some(NodeProc::start(&paths[5])));
    let mut decided = Vec::new();
    for (i, n) in nodes.iter_mut().enumerate() {
        let n = n.as_mut().unwrap();
        let e = n
            .wait_event("decided", WAIT)
            .unwrap_or_else(|| panic!("node {i} did not finalize"));
        decided.push(e["choice"].as_u64().unwrap());
    }
    assert!(decided.windows(2).all(|w| w[0] == w[1]), "{decided:?}");
    // Everyone is connected now: /health says so (as soon as the gauges catch up).
    let health = format!("127.0.0.1:{}", ports[6]);
    let until = Instant::now() + WAIT;
    while http_get(&health, "/health").0 != 200 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    let (status, body) = http_get(&health, "/health");
    assert_eq!(status, 200, "{body}");
    // SIGTERM: clean exit with a final summary line.
    for n in nodes.iter().flatten() {
        n.terminate();
    }
    for n in nodes.iter_mut().flatten() {
        assert_eq!(n.wait_exit(WAIT), Some(true), "clean exit after SIGTERM");
        let summary = n.wait_event("summary", WAIT).expect("summary line");
        assert_eq!(summary["decided"].as_u64(), Some(decided[0]));
        assert_eq!(summary["handshakes_refused"].as_u64(), Some(0));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A node alone (its two peers exist in the config only), without keys, with its feed and
/// metrics on ports of its own choosing.
fn lone_node(dir: &std::path::Path, keys: Option<&[luxsim::bridge::Keys]>) -> NodeProc {
    let ports = free_ports(3).unwrap();
    let mut files: Vec<_> = (0..3)
        .map(|i| {
            node_file(
                i,
                3,
                &ports,
                ParamsFile {
                    preset: Some("local".into()),
                    max_outstanding_items: Some(8),
                    ..ParamsFile::default()
                },
            )
        })
        .collect();
    if let Some(k) = keys {
        authenticate(&mut files, k);
    }
    let f = &mut files[0];
    f.listen = "tcp://127.0.0.1:0".into();
    f.feed = Some("tcp://127.0.0.1:0".into());
    f.metrics_port = Some(0);
    NodeProc::start(&write_node(dir, f))
}

#[test]
fn hostile_input_is_dropped_counted_to_the_frame_and_survived() {
    let dir = temp_dir("hostile");
    let mut node = lone_node(&dir, None);
    let (listen, _, metrics) = node.ready(WAIT);
    let metrics = metrics.unwrap();
    let ctx = zmq::Context::new();
    let dealer = ctx.socket(zmq::DEALER).unwrap();
    dealer.set_linger(-1).unwrap(); // nothing the test sends is lost on its side
    dealer.connect(&listen).unwrap();
    let q = Frame::Query {
        from: 1,
        request: 1,
        budget_ns: 1_000_000,
    }
    .encode();
    let mut v9 = q.clone();
    v9[2] = 9;
    let hostile: Vec<Vec<Vec<u8>>> = vec![
        vec![b"garbage".to_vec()],  // malformed
        vec![q[..15].to_vec()],     // malformed: truncated
        vec![q.clone(), q.clone()], // malformed: two parts
        vec![v9],                   // version
        vec![Frame::Query {
            from: 999,
            request: 1,
            budget_ns: 1,
        }
        .encode()], // unknown_peer
        vec![Frame::Answer {
            from: 1,
            request: 0xdead_beef,
            choice: 0,
        }
        .encode()], // wrong_socket: answers never come in on the inbox
        vec![Frame::Answer {
            from: 1,
            request: 0,
            choice: 7,
        }
        .encode()], // invalid_choice
    ];
    for parts in &hostile {
        dealer.send_multipart(parts, 0).unwrap();
    }
    // A flood of queries, far beyond max_outstanding_items (8): libzmq pushes back on the
    // sender instead of dropping, so each one is read and answered or counted.
    const FLOOD: u32 = 50_000;
    for r in 0..FLOOD {
        let f = Frame::Query {
            from: 2,
            request: r,
            budget_ns: 1_000_000,
        };
        dealer.send(f.encode(), 0).unwrap();
    }
    let text = metrics_until(&metrics, |t| {
        let received = sample(t, "luxsim_queries_received_total").unwrap_or(0.0);
        let counted = received
            + [
                "malformed",
                "version",
                "unknown_peer",
                "wrong_socket",
                "invalid_choice",
            ]
            .iter()
            .map(|r| dropped(t, r))
            .sum::<f64>();
        counted >= f64::from(FLOOD) + 7.0
    });
    assert_eq!(dropped(&text, "malformed"), 3.0, "{text}");
    assert_eq!(dropped(&text, "version"), 1.0);
    assert_eq!(dropped(&text, "unknown_peer"), 1.0);
    assert_eq!(dropped(&text, "wrong_socket"), 1.0);
    assert_eq!(dropped(&text, "invalid_choice"), 1.0);
    let received = sample(&text, "luxsim_queries_received_total").unwrap();
    assert_eq!(
        received,
        f64::from(FLOOD),
        "every query of the flood was read"
    );
    // Every query read was answered on our connection, or counted where its answer could
    // not be queued (this test reads no answers until the end).
    let answered = sample(&text, "luxsim_answers_sent_total").unwrap();
    assert_eq!(answered + dropped(&text, "outbox_full"), received, "{text}");
    // Each answer sent reaches the asker: count them as they arrive.
    let mut got = 0u64;
    let until = Instant::now() + WAIT;
    while (got as f64) < answered && Instant::now() < until {
        if dealer.poll(zmq::POLLIN, 100).unwrap() > 0 {
            let body = dealer.recv_bytes(0).unwrap();
            assert!(matches!(
                Frame::decode(&body),
                Ok(Frame::Answer { from: 0, .. })
            ));
            got += 1;
        }
    }
    assert_eq!(got as f64, answered, "the answers came back to the asker");
    dealer.set_linger(0).unwrap();
    // Answers are votes cast (published); the node's own queries find no peer.
    assert!(sample(&text, "luxsim_votes_sent_total").unwrap() > 0.0);
    // The node polls on its own schedule: wait for its first queries rather than assume them.
    let text = metrics_until(&metrics, |t| dropped(t, "not_connected") > 0.0);
    assert!(dropped(&text, "not_connected") > 0.0, "{text}");
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
    let summary = node.wait_event("summary", WAIT).expect("summary line");
    assert_eq!(summary["dropped"]["unknown_peer"].as_u64(), Some(1));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The ZMTP 3.0 greeting (NULL mechanism) and one frame header announcing `len` bytes: the
/// 73 bytes of `shared/repro/zmtp_huge_frame.py` for len = 2^36.
fn greeting_and_header(len: u64) -> Vec<u8> {
    let mut b = vec![0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3, 0];
    let mut mechanism = b"NULL".to_vec();
    mechanism.resize(20, 0);
    b.extend(mechanism);
    b.push(0); // as-server
    b.extend([0u8; 31]);
    b.push(0x06); // a long command frame
    b.extend(len.to_be_bytes());
    b
}

/// Opens a connection to `port`, sends `bytes` then `body` bytes of filler, and reports
/// whether the peer closed the connection (rather than reading on).
fn attack(port: u16, bytes: &[u8], body: usize) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return true;
    };
    s.set_write_timeout(Some(Duration::from_secs(30))).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    if s.write_all(bytes).is_err() {
        return true;
    }
    let filler = vec![0u8; 64 * 1024];
    let mut sent = 0;
    while sent < body {
        if s.write_all(&filler).is_err() {
            return true;
        }
        sent += filler.len();
    }
    let mut buf = [0u8; 256];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return true,
            Ok(_) => continue, // the peer's own greeting
        }
    }
}

fn port_of(endpoint: &str) -> u16 {
    endpoint.rsplit(':').next().unwrap().parse().unwrap()
}

#[test]
fn announced_huge_frames_and_oversized_frames_on_every_port_are_survived() {
    let dir = temp_dir("huge");
    for keys in [None, Some(keys(3))] {
        let mut node = lone_node(&dir, keys.as_deref());
        let (listen, feed, metrics) = node.ready(WAIT);
        let metrics = metrics.unwrap();
        let ports = [port_of(&listen), port_of(&feed.unwrap()), port_of(&metrics)];
        for port in ports {
            // The 73-byte attack, 11 times on each port: 64 GiB announced.
            for _ in 0..11 {
                let bytes = greeting_and_header(1 << 36);
                assert_eq!(bytes.len(), 73);
                assert!(attack(port, &bytes, 0), "port {port} kept the connection");
            }
            // Three frames of 256 MiB announced, with 4 MiB of their body actually sent.
            for _ in 0..3 {
                assert!(attack(port, &greeting_and_header(256 << 20), 4 << 20));
            }
            assert!(
                node.child.try_wait().unwrap().is_none(),
                "the node died on port {port}"
            );
        }
        if let Some(kib) = node.rss_kib() {
            assert!(kib < 100 * 1024, "resident memory {kib} KiB");
        }
        let (status, _) = http_get(&metrics, "/metrics");
        assert_eq!(status, 200, "still serving");
        node.terminate();
        assert_eq!(node.wait_exit(WAIT), Some(true));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn spoofed_senders_are_refused_and_nothing_is_reflected() {
    let dir = temp_dir("spoof");
    let k = keys(3);
    let mut node = lone_node(&dir, Some(&k));
    let (listen, _, metrics) = node.ready(WAIT);
    let metrics = metrics.unwrap();
    let ctx = zmq::Context::new();
    let node_key = k[0].public();
    let query = |from: u32, request: u32| {
        Frame::Query {
            from,
            request,
            budget_ns: 500_000_000,
        }
        .encode()
    };
    // 1. A stranger with a key of its own: its handshake is refused, nothing gets through.
    let stranger = luxsim::bridge::Keys::generate().unwrap();
    let s = ctx.socket(zmq::DEALER).unwrap();
    s.set_linger(0).unwrap(); // its query is never delivered: do not wait for it at the end
    luxsim::bridge::curve_client(&s, &stranger, &node_key).unwrap();
    s.connect(&listen).unwrap();
    s.send(query(1, 1), zmq::DONTWAIT).ok();
    // 2. Validator 2 (an insider) claims to be validator 1: dropped as spoofed.
    let insider = ctx.socket(zmq::DEALER).unwrap();
    insider.set_linger(0).unwrap();
    luxsim::bridge::curve_client(&insider, &k[2], &node_key).unwrap();
    insider.connect(&listen).unwrap();
    for r in 0..10 {
        insider.send(query(1, r), 0).unwrap();
    }
    // 3. Validator 2 as itself: answered, on its own connection.
    for r in 10..20 {
        insider.send(query(2, r), 0).unwrap();
    }
    // Each genuine query is answered, or counted when the burst overfills the insider's
    // queue at the node (max_outstanding_items = 8 answers).
    let answered = |t: &str| sample(t, "luxsim_answers_sent_total").unwrap_or(0.0);
    let text = metrics_until(&metrics, |t| {
        dropped(t, "spoofed") >= 10.0
            && answered(t) + dropped(t, "outbox_full") >= 10.0
            && sample(t, "luxsim_handshakes_refused_total").unwrap_or(0.0) >= 1.0
    });
    assert_eq!(dropped(&text, "spoofed"), 10.0, "{text}");
    assert_eq!(sample(&text, "luxsim_queries_received_total"), Some(10.0));
    assert_eq!(answered(&text) + dropped(&text, "outbox_full"), 10.0);
    assert!(sample(&text, "luxsim_handshakes_refused_total").unwrap() >= 1.0);
    insider.set_rcvtimeo(60_000).unwrap();
    for i in 0..answered(&text) as usize {
        let body = insider.recv_bytes(0).unwrap_or_else(|e| {
            let (_, now) = http_get(&metrics, "/metrics");
            panic!("answer {i} did not come: {e}\n{now}")
        });
        let Ok(Frame::Answer {
            from: 0, request, ..
        }) = Frame::decode(&body)
        else {
            panic!("not an answer of node 0: {body:?}");
        };
        assert!((10..20).contains(&request), "an answer to a genuine query");
    }
    node.terminate();
    assert_eq!(node.wait_exit(WAIT), Some(true));

    // Without keys, a query claiming validator 1 is answered to whoever sent it, never to
    // validator 1's address: the real validator 1 (a ROUTER listening there) sees only the
    // node's own queries, not a single answer.
    let ports = free_ports(3).unwrap();
    let params = ParamsFile {
        preset: Some("local".into()),
        ..ParamsFile::default()
    };
    let mut f = node_file(0, 3, &ports, params);
    f.metrics_port = Some(0);
    let mut node = NodeProc::start(&write_node(&dir, &f));
    let (listen, _, metrics) = node.ready(WAIT);
    let victim = ctx.socket(zmq::ROUTER).unwrap();
    victim.set_linger(0).unwrap();
    victim
        .bind(&format!("tcp://127.0.0.1:{}", ports[1]))
        .unwrap();
    let attacker = ctx.socket(zmq::DEALER).unwrap();
    attacker.set_linger(0).unwrap();
    attacker.connect(&listen).unwrap();
    const SPOOFED: u32 = 2_000;
    for r in 0..SPOOFED {
        attacker.send(query(1, r), 0).unwrap();
    }
    // Every query is read, and answered or counted where its answer could not be queued
    // (on a loaded machine the outbox may fill): count, do not time.
    let metrics = metrics.unwrap();
    let text = metrics_until(&metrics, |t| {
        sample(t, "luxsim_queries_received_total").unwrap_or(0.0) >= f64::from(SPOOFED)
    });
    let answered = sample(&text, "luxsim_answers_sent_total").unwrap_or(0.0);
    assert_eq!(
        answered + dropped(&text, "outbox_full"),
        f64::from(SPOOFED),
        "{text}"
    );
    assert!(answered > 0.0, "{text}");
    attacker.set_rcvtimeo(60_000).unwrap();
    for _ in 0..answered as u32 {
        let body = attacker.recv_bytes(0).unwrap();
        assert!(matches!(Frame::decode(&body), Ok(Frame::Answer { .. })));
    }
    // Every answer the node sent went to the attacker, so none went anywhere else...
    // ... and what validator 1's address received is the node's own queries only.
    let mut reflected = 0;
    while victim.poll(zmq::POLLIN, 200).unwrap() > 0 {
        let parts = victim.recv_multipart(0).unwrap();
        if let Some(Ok(Frame::Answer { .. })) = parts.last().map(|b| Frame::decode(b)) {
            reflected += 1;
        }
    }
    assert_eq!(reflected, 0, "answers reflected to validator 1");
    node.terminate();
    assert_eq!(node.wait_exit(WAIT), Some(true));
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
    // A peer without a public key next to a secret key, and a key that is not Z85.
    let k = luxsim::bridge::Keys::generate().unwrap();
    std::fs::write(
        &path,
        format!(
            "id = 0\nsecret_key = \"{}\"\nlisten = \"tcp://127.0.0.1:7000\"\n[[peers]]\nid = 1\naddress = \"tcp://127.0.0.1:7001\"\n",
            k.secret().to_z85()
        ),
    )
    .unwrap();
    let out = Command::new(luxsim())
        .args(["node", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(":5:6: peer 1 has no public_key"), "{err}");
    std::fs::write(&path, "id = 0\nsecret_key = \"nope\"\nlisten = \"tcp://127.0.0.1:7000\"\n[[peers]]\nid = 1\naddress = \"tcp://127.0.0.1:7001\"\n").unwrap();
    let out = Command::new(luxsim())
        .args(["node", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(":2:14: secret_key: \"nope\" is not a CURVE key"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
