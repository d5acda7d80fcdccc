//! Helpers of the bridge integration tests: node processes that die with the test, free
//! ports, node files and a bare HTTP GET.
#![allow(dead_code)]

use luxsim::bridge::Keys;
use luxsim::bridge::{NodeFile, ParamsFile, PeerFile};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The luxsim binary under test.
pub fn luxsim() -> &'static str {
    env!("CARGO_BIN_EXE_luxsim")
}

/// A fresh temporary directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("luxsim-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A running `luxsim node`; killed when dropped.
pub struct NodeProc {
    pub child: Child,
    pub events: Receiver<Value>,
    pub seen: Vec<Value>,
    /// Its stderr, line by line, when started by [`NodeProc::start_with`].
    pub log: Arc<Mutex<Vec<String>>>,
    /// Set when its stderr reached end of file.
    pub log_closed: Arc<AtomicBool>,
}

impl NodeProc {
    /// Starts `luxsim node --config path`, stdout read line by line as JSON events.
    pub fn start(config: &Path) -> NodeProc {
        let mut cmd = Command::new(luxsim());
        cmd.arg("node").arg("--config").arg(config);
        NodeProc::spawn(cmd, false)
    }

    /// Starts `luxsim node --config path ARGS` with `RUST_LOG` as given (else unset), its
    /// stderr kept line by line in `log`.
    pub fn start_with(config: &Path, args: &[&str], rust_log: Option<&str>) -> NodeProc {
        let mut cmd = Command::new(luxsim());
        cmd.arg("node").arg("--config").arg(config).args(args);
        match rust_log {
            Some(v) => cmd.env("RUST_LOG", v),
            None => cmd.env_remove("RUST_LOG"),
        };
        NodeProc::spawn(cmd, true)
    }

    fn spawn(mut cmd: Command, keep_log: bool) -> NodeProc {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(if keep_log {
                Stdio::piped()
            } else {
                Stdio::inherit()
            })
            .spawn()
            .expect("luxsim node starts");
        let log = Arc::new(Mutex::new(Vec::new()));
        let log_closed = Arc::new(AtomicBool::new(!keep_log));
        if let Some(stderr) = child.stderr.take() {
            let (log, closed) = (log.clone(), log_closed.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    log.lock().unwrap().push(line);
                }
                closed.store(true, Ordering::SeqCst);
            });
        }
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    let _ = tx.send(v);
                }
            }
        });
        NodeProc {
            child,
            events: rx,
            seen: Vec::new(),
            log,
            log_closed,
        }
    }

    /// The first stderr line satisfying `cond` (seen before or within `timeout`).
    pub fn wait_log(&self, timeout: Duration, cond: impl Fn(&str) -> bool) -> Option<String> {
        let until = Instant::now() + timeout;
        loop {
            if let Some(l) = self.log.lock().unwrap().iter().find(|l| cond(l)) {
                return Some(l.clone());
            }
            if Instant::now() > until {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every stderr line so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Every stderr line, once stderr has closed (the process exited) or `timeout` passed.
    pub fn whole_log(&self, timeout: Duration) -> Vec<String> {
        let until = Instant::now() + timeout;
        while !self.log_closed.load(Ordering::SeqCst) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.log_lines()
    }

    /// The first event named `name` (seen before or arriving within `timeout`).
    pub fn wait_event(&mut self, name: &str, timeout: Duration) -> Option<Value> {
        let is = |v: &Value| v.get("event").and_then(Value::as_str) == Some(name);
        if let Some(v) = self.seen.iter().find(|v| is(v)) {
            return Some(v.clone());
        }
        let until = Instant::now() + timeout;
        while let Some(left) = until.checked_duration_since(Instant::now()) {
            match self.events.recv_timeout(left) {
                Ok(v) => {
                    self.seen.push(v.clone());
                    if is(&v) {
                        return Some(v);
                    }
                }
                Err(_) => return None,
            }
        }
        None
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// Waits for the process to exit, up to `timeout`; its exit success.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<bool> {
        let until = Instant::now() + timeout;
        while Instant::now() < until {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status.success());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// The first `ready` event's fields: (listen, feed, metrics) endpoints.
    pub fn ready(&mut self, timeout: Duration) -> (String, Option<String>, Option<String>) {
        let e = self.wait_event("ready", timeout).expect("the node starts");
        let field = |k: &str| e[k].as_str().map(String::from);
        (field("listen").unwrap(), field("feed"), field("metrics"))
    }

    /// Resident memory of the process in KiB (Linux), if known.
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A node file: node `id` of the validators `ids`, node i listening on `ports[i]`.
pub fn node_file(id: usize, ids: usize, ports: &[u16], params: ParamsFile) -> NodeFile {
    let endpoint = |p: u16| format!("tcp://127.0.0.1:{p}");
    NodeFile {
        id: id as u32,
        secret_key: None,
        listen: endpoint(ports[id]),
        feed: None,
        feed_connect: Vec::new(),
        metrics_port: None,
        metrics_host: "127.0.0.1".into(),
        health_port: None,
        log_level: None,
        log_format: None,
        engine: luxsim::Protocol::Snowball,
        decision: luxsim::Shape::Tree,
        choices: Some(2),
        blocks: None,
        initial: id % 2,
        poll_timeout: Duration::from_millis(200),
        self_sample: false,
        sampling: luxsim::node::Sampling::Stake,
        stake_unit: luxsim::node::STAKE_UNIT,
        seed: id as u64 + 1,
        stake: 1.0,
        max_time: Some(Duration::from_secs(600)),
        params,
        peers: (0..ids)
            .filter(|&j| j != id)
            .map(|j| PeerFile {
                id: j as u32,
                address: endpoint(ports[j]),
                stake: 1.0,
                public_key: None,
            })
            .collect(),
        byzantine: None,
        ledger: None,
    }
}

/// Gives every node file its key pair from `keys` (by node id) and its peers' public keys.
pub fn authenticate(files: &mut [NodeFile], keys: &[Keys]) {
    for f in files.iter_mut() {
        f.secret_key = Some(keys[f.id as usize].secret().to_z85());
        for p in &mut f.peers {
            p.public_key = Some(keys[p.id as usize].public().to_z85());
        }
    }
}

/// `n` fresh key pairs.
pub fn keys(n: usize) -> Vec<Keys> {
    (0..n).map(|_| Keys::generate().unwrap()).collect()
}

/// Writes `file` as `dir/node-ID.toml`.
pub fn write_node(dir: &Path, file: &NodeFile) -> PathBuf {
    let path = dir.join(format!("node-{}.toml", file.id));
    std::fs::write(&path, file.to_toml().unwrap()).unwrap();
    path
}

/// A bare HTTP/1.1 GET: (status code, body).
pub fn http_get(addr: &str, path: &str) -> (u16, String) {
    http_request("GET", addr, path)
}

/// A bare HTTP/1.1 request without a body: (status code, body).
pub fn http_request(method: &str, addr: &str, path: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).expect("metrics endpoint accepts");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|x| x.1)
        .unwrap_or("")
        .to_string();
    (status, body)
}

/// The value of one sample line (`name{labels} value`) of Prometheus text.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}
