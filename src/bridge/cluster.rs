//! `luxsim cluster SCENARIO`: the scenario's honest and Byzantine nodes as separate
//! `luxsim node` processes on 127.0.0.1, run until every honest node finalizes or the
//! time budget ends, then stopped; the same `summary.json` as `luxsim run`, with wall-clock
//! times in place of virtual ones.
//!
//! Each child gets its own `node.toml` (in `OUT/nodes/`), free ports found by binding port 0,
//! and `--exit-on-stdin-close`: closing its stdin is a clean stop, and a cluster process that
//! dies (however) closes every child's stdin, so no node outlives it. Children still running
//! when [`Children`] drops are killed.

use super::cluster_ledger::LedgerTally;
use super::config::{ByzantineFile, NodeFile, ParamsFile, PeerFile};
use super::security::Keys;
use crate::sim::population::Population;
use crate::sim::rng::{seed_for, Purpose};
use crate::sim::summary::{ByzantineSummary, Outcomes, Summary};
use crate::sim::SimError;
use crate::util::atomic::{write_atomic, Staging};
use crate::util::console::{EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_OK};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The most nodes a cluster starts (each is a process with three sockets bound).
pub const MAX_CLUSTER_NODES: usize = 256;
/// How long stopped nodes get to write their summary line before they are killed.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// The arguments of `luxsim cluster`.
#[derive(Debug, Clone, Default)]
pub struct ClusterArgs {
    /// The scenario file.
    pub scenario: PathBuf,
    /// Replaces the scenario's seed.
    pub seed: Option<u64>,
    /// `key.path=value` overrides.
    pub set: Vec<String>,
    /// Output directory (default `results/<name>-cluster/`).
    pub out: Option<PathBuf>,
    /// Wall-clock budget (default: the scenario's `max_time`).
    pub max_time: Option<Duration>,
    /// The `luxsim` executable to start (default: this one).
    pub binary: Option<PathBuf>,
    /// No summary on stdout.
    pub quiet: bool,
}

/// Why a cluster could not run.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The scenario is wrong.
    #[error(transparent)]
    Sim(#[from] SimError),
    /// A ledger scenario asks for what ledger nodes on sockets do not play.
    #[error("{0}")]
    Unsupported(String),
    /// Too few or too many nodes for processes on one machine.
    #[error("a cluster runs 2 to {MAX_CLUSTER_NODES} nodes, the scenario has {0} (try --set network.nodes=20)")]
    Nodes(usize),
    /// A file could not be written, a port found or a process started.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ClusterError {
    let what = what.into();
    move |source| ClusterError::Io { what, source }
}

/// The child processes; whatever is still running when this drops is killed.
#[derive(Debug, Default)]
pub struct Children {
    procs: Vec<(Child, Option<ChildStdin>)>,
}

impl Children {
    /// Asks every node to stop (closes its stdin) and waits up to `grace`; kills the rest.
    pub fn stop(&mut self, grace: Duration) {
        for (_, stdin) in &mut self.procs {
            stdin.take();
        }
        let until = Instant::now() + grace;
        for (child, _) in &mut self.procs {
            while Instant::now() < until && matches!(child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        self.kill();
    }

    fn kill(&mut self) {
        for (child, stdin) in &mut self.procs {
            stdin.take();
            if matches!(child.try_wait(), Ok(None)) {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `n` distinct free TCP ports on 127.0.0.1, all held until every one is found.
///
/// They are taken below the kernel's ephemeral range (`ip_local_port_range`): a port from
/// that range, found free by binding port 0 and released for a child to bind, can meanwhile
/// become the local port of some outgoing connection (a node's DEALER connecting to its
/// peers), and the child then fails with "address already in use". Candidates advance
/// through a process-wide counter, so clusters started at once in one process never pick the
/// same ports; the start depends on the process id, so that concurrent processes rarely do.
pub fn free_ports(n: usize) -> std::io::Result<Vec<u16>> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u32>().ok())
        .unwrap_or(32768)
        .clamp(12000, 65535);
    let (low, span) = (10000u32, ephemeral_low - 10000);
    let start = std::process::id() * 97 % span;
    let _ = NEXT.compare_exchange(0, start + 1, Ordering::SeqCst, Ordering::SeqCst);
    let mut held = Vec::with_capacity(n);
    let mut tries = 0;
    while held.len() < n {
        tries += 1;
        if tries > span {
            return Err(std::io::Error::other(
                "no free TCP port below the ephemeral range",
            ));
        }
        let port = low + NEXT.fetch_add(1, Ordering::SeqCst) % span;
        if let Ok(l) = std::net::TcpListener::bind(("127.0.0.1", port as u16)) {
            held.push(l);
        }
    }
    held.iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect()
}

/// The node files of a cluster for `scenario`: node i listens on `ports[3i]`, publishes its
/// feed on `ports[3i+1]` and serves metrics on `ports[3i+2]`; with `keys` (one pair per
/// node), every node authenticates its peers by them.
pub fn node_files(
    scenario: &crate::sim::Scenario,
    pop: &Population,
    ports: &[u16],
    max_time: Duration,
    keys: Option<&[Keys]>,
) -> Vec<NodeFile> {
    let n = scenario.network.nodes;
    let endpoint = |port: u16| format!("tcp://127.0.0.1:{port}");
    let p = scenario.params;
    let params = ParamsFile::from_params(&p);
    let ledger = super::cluster_ledger::ledger_file(scenario, pop);
    let honest_feeds: Vec<String> = (0..n)
        .filter(|&i| !pop.byzantine[i])
        .map(|i| endpoint(ports[3 * i + 1]))
        .collect();
    (0..n)
        .map(|i| {
            let byzantine = scenario
                .byzantine
                .as_ref()
                .filter(|_| pop.byzantine[i])
                .map(|b| ByzantineFile {
                    strategy: b.strategy,
                    target: b.target,
                });
            NodeFile {
                id: i as u32,
                secret_key: keys.map(|k| k[i].secret().to_z85()),
                listen: endpoint(ports[3 * i]),
                feed: Some(endpoint(ports[3 * i + 1])),
                // Byzantine nodes watch the honest feeds: their view of the honest split.
                feed_connect: if byzantine.is_some() {
                    honest_feeds.clone()
                } else {
                    Vec::new()
                },
                metrics_port: Some(ports[3 * i + 2]),
                metrics_host: "127.0.0.1".into(),
                health_port: None,
                log_level: None,
                log_format: None,
                engine: scenario.protocol(),
                decision: scenario.shape(),
                choices: ledger.is_none().then_some(scenario.workload.choices),
                blocks: None,
                initial: if ledger.is_some() {
                    0
                } else {
                    pop.initial[i] as usize
                },
                poll_timeout: scenario.network.poll_timeout,
                self_sample: scenario.network.self_sample,
                sampling: scenario.sampling(),
                stake_unit: scenario.network.stake_unit,
                // TOML integers are i64: keep the seed below 2^63.
                seed: seed_for(scenario.seed, Purpose::Node(i as u32)) >> 1,
                stake: pop.sampler.weight(i as u32),
                // A node left behind by a dead cluster still stops by itself.
                max_time: Some(max_time + Duration::from_secs(30)),
                params: params.clone(),
                peers: (0..n)
                    .filter(|&j| j != i)
                    .map(|j| PeerFile {
                        id: j as u32,
                        address: endpoint(ports[3 * j]),
                        stake: pop.sampler.weight(j as u32),
                        public_key: keys.map(|k| k[j].public().to_z85()),
                    })
                    .collect(),
                byzantine,
                ledger: ledger.clone(),
            }
        })
        .collect()
}

/// What a cluster run produced.
#[derive(Debug, Clone)]
pub struct ClusterReport {
    /// The summary (also written as `summary.json`).
    pub summary: Summary,
    /// The files written.
    pub files: Vec<PathBuf>,
    /// Milliseconds from launch until the last node had bound its sockets.
    pub ready_ms: Option<f64>,
}

/// Per-node progress seen on the children's stdout.
#[derive(Debug, Clone, Default)]
struct Seen {
    ready: Option<f64>,
    decided: Option<(u32, f64, f64)>,
    report: Option<Value>,
}

/// Starts the cluster, waits for finality or the budget, stops it and writes the outputs.
pub fn run_cluster(args: &ClusterArgs) -> Result<ClusterReport, ClusterError> {
    let started = Instant::now();
    let scenario = crate::sim::load(&args.scenario, &args.set, args.seed)?;
    let n = scenario.network.nodes;
    if !(2..=MAX_CLUSTER_NODES).contains(&n) {
        return Err(ClusterError::Nodes(n));
    }
    if let Some(why) = super::cluster_ledger::unsupported(&scenario) {
        return Err(ClusterError::Unsupported(why));
    }
    let pop = Population::draw(&scenario).map_err(SimError::from)?;
    let budget = args.max_time.unwrap_or(scenario.max_time);
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("results").join(format!("{}-cluster", scenario.name)));
    // Everything is written into a staging directory published at the end, as one set.
    let staging = Staging::begin(&out).map_err(io(format!("cannot create {}", out.display())))?;
    let dir = staging.dir().join("nodes");
    std::fs::create_dir_all(&dir).map_err(io(format!("cannot create {}", dir.display())))?;
    let ports = free_ports(3 * n).map_err(io("cannot find free ports"))?;
    // Fresh keys for this cluster: every node authenticates every other one.
    let keys = (0..n)
        .map(|_| Keys::generate())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ClusterError::Io {
            what: "cannot generate CURVE keys".into(),
            source: std::io::Error::other(e),
        })?;
    let files = node_files(&scenario, &pop, &ports, budget, Some(&keys));
    let binary = match &args.binary {
        Some(b) => b.clone(),
        None => std::env::current_exe().map_err(io("cannot find the luxsim executable"))?,
    };
    crate::util::signals::install();

    let (tx, rx) = mpsc::channel::<(usize, Value)>();
    let mut children = Children::default();
    let t0 = Instant::now();
    for (i, f) in files.iter().enumerate() {
        let path = dir.join(format!("node-{i}.toml"));
        let text = f.to_toml().map_err(|e| ClusterError::Io {
            what: format!("cannot write {}", path.display()),
            source: std::io::Error::other(e),
        })?;
        write_atomic(&path, text.as_bytes())
            .map_err(io(format!("cannot write {}", path.display())))?;
        // The file holds the node's secret key: readable by its owner only.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .map_err(io(format!("cannot protect {}", path.display())))?;
        }
        let log = std::fs::File::create(dir.join(format!("node-{i}.log")))
            .map_err(io(format!("cannot create the log of node {i}")))?;
        let mut child = Command::new(&binary)
            .arg("node")
            .arg("--config")
            .arg(&path)
            .arg("--exit-on-stdin-close")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(io(format!("cannot start {}", binary.display())))?;
        let stdin = child.stdin.take();
        if let Some(stdout) = child.stdout.take() {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if let Ok(v) = serde_json::from_str::<Value>(&line) {
                        let _ = tx.send((i, v));
                    }
                }
            });
        }
        children.procs.push((child, stdin));
    }
    drop(tx);

    let honest: Vec<usize> = (0..n).filter(|&i| !pop.byzantine[i]).collect();
    let mut seen = vec![Seen::default(); n];
    let deadline = t0 + budget;
    let mut tally = files[0]
        .ledger
        .clone()
        .map(|l| LedgerTally::new(l, &honest));
    let record = |seen: &mut Vec<Seen>, tally: &mut Option<LedgerTally>, (i, v): (usize, Value)| {
        let at = t0.elapsed().as_secs_f64() * 1e3;
        let u = |key: &str| v.get(key).and_then(Value::as_u64);
        match (v.get("event").and_then(Value::as_str), tally.as_mut()) {
            (Some("proposed"), Some(t)) => t.proposed(u("id").unwrap_or(0), at),
            (Some("accepted"), Some(t)) => {
                let (id, height) = (u("id").unwrap_or(0), u("height").unwrap_or(0));
                t.accepted(i, id, height, u("accepted_txs"), at);
            }
            (Some("rejected"), Some(t)) => t.rejected(i, u("id").unwrap_or(0)),
            _ => {}
        }
        match v.get("event").and_then(Value::as_str) {
            Some("ready") => seen[i].ready = Some(at),
            Some("decided") => {
                let choice = v.get("choice").and_then(Value::as_u64).unwrap_or(0) as u32;
                let polls = v.get("polls").and_then(Value::as_f64).unwrap_or(0.0);
                seen[i].decided.get_or_insert((choice, at, polls));
            }
            Some("summary") => seen[i].report = Some(v),
            _ => {}
        }
    };
    while Instant::now() < deadline && crate::util::signals::received().is_none() {
        let done = match &tally {
            Some(t) => t.all_reached(),
            None => honest.iter().all(|&i| seen[i].decided.is_some()),
        };
        if done {
            break;
        }
        if let Ok(event) = rx.recv_timeout(Duration::from_millis(20)) {
            record(&mut seen, &mut tally, event);
        }
        if children
            .procs
            .iter_mut()
            .all(|(c, _)| !matches!(c.try_wait(), Ok(None)))
        {
            break; // every node has exited
        }
    }
    let run_ms = t0.elapsed().as_secs_f64() * 1e3;
    children.stop(STOP_GRACE);
    while let Ok(event) = rx.recv_timeout(Duration::from_millis(200)) {
        record(&mut seen, &mut tally, event);
    }

    let strategy = scenario
        .byzantine
        .as_ref()
        .map(|b| b.strategy.name().to_string());
    let byzantine = ByzantineSummary::of(&pop, strategy);
    let mut summary = Summary::start(&scenario, byzantine);
    summary.mode = "cluster".into();
    let reports: Vec<&Value> = seen.iter().filter_map(|s| s.report.as_ref()).collect();
    let sum = |key: &str| {
        reports
            .iter()
            .filter_map(|r| r.get(key)?.as_u64())
            .sum::<u64>()
    };
    summary.events = sum("polls");
    summary.messages = sum("queries_sent") + sum("answers_sent");
    summary.virtual_time_ms = run_ms.round();
    if let Some(t) = &tally {
        let (ledger, digest) = t.summary(run_ms, sum("fetches"));
        let polls = honest
            .iter()
            .filter_map(|&i| seen[i].report.as_ref()?.get("polls")?.as_f64())
            .collect();
        summary.settle_ledger(ledger, honest.len(), polls, &scenario.expect);
        summary.digest = digest;
    } else {
        let mut outcomes = Outcomes {
            honest: honest.len(),
            ..Outcomes::default()
        };
        let mut digest = Sha256::new();
        for &i in &honest {
            if let Some((choice, at, polls)) = seen[i].decided {
                outcomes.decided.push(choice);
                outcomes.nodes.push(i as u32);
                outcomes.finality.push((at * 1e3).round() / 1e3);
                outcomes.polls.push(polls);
                digest.update(format!("{i}:{choice}\n"));
            }
        }
        summary.settle(outcomes, false, &scenario.expect);
        summary.digest = format!("{:x}", digest.finalize());
    }
    summary.wall_ms = (started.elapsed().as_secs_f64() * 1e3).round();

    let mut lines = String::new();
    for r in &reports {
        lines.push_str(&r.to_string());
        lines.push('\n');
    }
    let mut json = serde_json::to_vec_pretty(&summary).unwrap_or_default();
    json.push(b'\n');
    crate::util::signals::while_writing(|| {
        for (name, bytes) in [("nodes.jsonl", lines.as_bytes()), ("summary.json", &json)] {
            let path = staging.dir().join(name);
            write_atomic(&path, bytes).map_err(io(format!("cannot write {}", path.display())))?;
        }
        staging
            .publish()
            .map_err(io(format!("cannot write {}", out.display())))
    })?;
    let written = vec![out.join("nodes.jsonl"), out.join("summary.json")];
    let ready_ms = seen
        .iter()
        .map(|s| s.ready)
        .collect::<Option<Vec<f64>>>()
        .map(|r| r.into_iter().fold(0.0, f64::max));
    Ok(ClusterReport {
        summary,
        files: written,
        ready_ms,
    })
}

/// `luxsim cluster`: runs, prints the summary, returns the exit code (0 ok, 1 an `[expect]`
/// check failed, 2 bad input).
pub fn cluster_command(args: &ClusterArgs) -> u8 {
    let report = match run_cluster(args) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    if !args.quiet {
        // A closed stdout (`| head`) is not an error of the run.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", report.summary);
        if let Some(ms) = report.ready_ms {
            let _ = writeln!(
                out,
                "  wall-clock times from launch; every node was up after {ms:.1}ms"
            );
        }
        for f in &report.files {
            let _ = writeln!(out, "  wrote {}", f.display());
        }
    }
    if report.summary.passed() {
        EXIT_OK
    } else {
        for c in report.summary.expect.iter().filter(|c| !c.passed) {
            eprintln!(
                "expect {} failed: wanted {}, got {}",
                c.name, c.expected, c.actual
            );
        }
        EXIT_CHECK_FAILED
    }
}
