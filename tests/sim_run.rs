//! Simulator runs through the library: determinism, latency models, loss, duplication,
//! partitions, crashes, regions, lockstep mode and the trace file.
//!
//! Networks are small (100 to 200 nodes, k = 10 unless a test needs the default parameters)
//! so that the whole file runs in a few seconds in the debug profile.

use luxsim::sim::{run, RunOptions, Scenario, Summary, TraceFormat, TraceLevel};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// 200 honest nodes, k = 10, alpha 7/7, beta 10, uniform 5..50 ms latency, an even split.
const BASE: &str = r#"
name = "sim-run"
seed = 1
max_time = "60s"

[params]
k = 10
alpha_preference = 7
alpha_confidence = 7
beta = 10
concurrent_polls = 4

[network]
nodes = 200
latency = { model = "uniform", min = "5ms", max = "50ms" }
poll_timeout = "500ms"

[workload]
choices = 2
initial = [0.5, 0.5]
"#;

/// The `--set` overrides that turn BASE's parameters into the default ones (20/15/15/20).
const DEFAULT_PARAMS: [&str; 4] = [
    "params.k=20",
    "params.alpha_preference=15",
    "params.alpha_confidence=15",
    "params.beta=20",
];

/// BASE plus `extra` TOML (appended tables), with `--set` overrides.
fn scenario(extra: &str, sets: &[&str]) -> Scenario {
    let text = format!("{BASE}\n{extra}");
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    Scenario::parse(&text, "sim_run.toml", &sets).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs without writing anything.
fn summary(s: &Scenario) -> Summary {
    run(s, &RunOptions::default())
        .unwrap_or_else(|e| panic!("{e}"))
        .summary
}

/// A fresh directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("luxsim-sim_run-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs writing into `dir` at `level` and `format`.
fn traced(s: &Scenario, dir: &Path, level: TraceLevel, format: TraceFormat) -> Summary {
    let opts = RunOptions {
        out_dir: Some(dir.to_path_buf()),
        trace: level,
        format,
        progress: false,
        stop_on_signal: false,
    };
    let report = run(s, &opts).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.files.contains(&dir.join("summary.json")));
    if level != TraceLevel::None {
        assert!(report.files.contains(&dir.join(format.file_name())));
        assert!(report.files.contains(&dir.join("nodes.csv")));
    }
    report.summary
}

/// One trace row, as written in either format.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct Row {
    time_ns: u64,
    node: u32,
    kind: String,
    peer: Option<u32>,
    request: Option<u32>,
    choice: Option<u32>,
    count: Option<u32>,
    answers: Option<u32>,
    latency_ns: Option<u64>,
}

fn csv_rows(path: &Path) -> Vec<Row> {
    let mut r = csv::Reader::from_path(path).unwrap();
    r.deserialize().map(|row| row.unwrap()).collect()
}

fn jsonl_rows(path: &Path) -> Vec<Row> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Safety and full finality of every honest node.
fn assert_all_finalized(s: &Summary, what: &str) {
    assert!(!s.safety_violation, "{what}: safety violated: {s}");
    assert!(s.agreement, "{what}: {s}");
    assert_eq!(s.honest_finalized, 1.0, "{what}: {s}");
    assert_eq!(s.finality_ms.unwrap().n, s.honest, "{what}: {s}");
    assert_eq!(s.decided.values().sum::<usize>(), s.honest, "{what}: {s}");
}

/// Summaries of equal runs are equal in every field but `wall_ms`.
fn without_wall(s: &Summary) -> Summary {
    Summary {
        wall_ms: 0.0,
        ..s.clone()
    }
}

#[test]
fn same_seed_same_digest_and_byte_identical_traces() {
    let s = scenario("", &["network.nodes=100"]);
    let mut digests = Vec::new();
    let mut tables = Vec::new();
    for format in [TraceFormat::Csv, TraceFormat::Jsonl] {
        let (a, b) = (TempDir::new("det-a"), TempDir::new("det-b"));
        let first = traced(&s, &a.0, TraceLevel::Messages, format);
        let second = traced(&s, &b.0, TraceLevel::Messages, format);
        assert_eq!(first.digest, second.digest);
        assert_eq!(without_wall(&first), without_wall(&second));
        assert_all_finalized(&first, "determinism");
        let file = format.file_name();
        let (x, y) = (
            std::fs::read(a.0.join(file)).unwrap(),
            std::fs::read(b.0.join(file)).unwrap(),
        );
        assert!(x.len() > 1000, "{file} has {} bytes", x.len());
        assert!(x == y, "{file} differs between two runs of one seed");
        let rows = match format {
            TraceFormat::Csv => csv_rows(&a.0.join(file)),
            TraceFormat::Jsonl => jsonl_rows(&a.0.join(file)),
        };
        // Messages level: queries and answers are there, and as many as the messages sent.
        let sent = rows
            .iter()
            .filter(|r| matches!(r.kind.as_str(), "query" | "answer" | "lost" | "cut"))
            .count();
        assert_eq!(sent as u64, first.messages);
        assert!(rows.iter().any(|r| r.kind == "poll"));
        digests.push(first.digest.clone());
        tables.push(rows);
    }
    // The digest and the rows do not depend on the format, nor the digest on the level.
    assert_eq!(digests[0], digests[1]);
    assert!(
        tables[0] == tables[1],
        "CSV and JSONL traces hold different rows"
    );
    assert_eq!(summary(&s).digest, digests[0]);
    // Another seed: another run.
    let other = summary(&scenario("", &["network.nodes=100", "seed=2"]));
    assert_eq!(other.seed, 2);
    assert_all_finalized(&other, "seed 2");
    assert_ne!(other.digest, digests[0]);
}

#[test]
fn every_latency_model_reaches_full_finality() {
    let models = [
        r#"{ model = "constant", value = "20ms" }"#,
        r#"{ model = "uniform", min = "5ms", max = "35ms" }"#,
        r#"{ model = "normal", mean = "20ms", std = "8ms" }"#,
        r#"{ model = "lognormal", median = "20ms", sigma = 0.5 }"#,
        r#"{ model = "exponential", mean = "20ms" }"#,
    ];
    let mut digests = Vec::new();
    for m in models {
        let set = format!("network.latency={m}");
        let s = summary(&scenario("", &[&set]));
        assert_all_finalized(&s, m);
        // beta = 10 successful polls, at most 4 at a time, each a round trip.
        assert!(s.polls.unwrap().p50 >= 10.0, "{m}: {s}");
        assert!(s.finality_ms.unwrap().p50 > 0.0, "{m}: {s}");
        assert!(
            (s.virtual_time_ms - s.finality_ms.unwrap().max).abs() < 1e-6,
            "{m}: {s}"
        );
        digests.push(s.digest);
    }
    digests.sort();
    digests.dedup();
    assert_eq!(digests.len(), models.len(), "two models gave the same run");
}

#[test]
fn finality_time_grows_with_latency() {
    let constant = |v: &str| {
        let set = format!(r#"network.latency={{ model = "constant", value = "{v}" }}"#);
        summary(&scenario("", &[&set]))
    };
    let (fast, slow) = (constant("10ms"), constant("100ms"));
    assert_all_finalized(&fast, "10ms");
    assert_all_finalized(&slow, "100ms");
    assert!(slow.finality_ms.unwrap().p50 > 5.0 * fast.finality_ms.unwrap().p50);
    // A constant latency draws nothing at random and the 200 ms round trip stays under the
    // 500 ms poll timeout, so the slow run is the fast one with a clock ten times slower.
    assert_eq!(fast.polls, slow.polls);
    assert_eq!(fast.decided, slow.decided);
    for (f, s) in [
        (fast.finality_ms.unwrap().p50, slow.finality_ms.unwrap().p50),
        (fast.finality_ms.unwrap().p99, slow.finality_ms.unwrap().p99),
        (fast.finality_ms.unwrap().max, slow.finality_ms.unwrap().max),
    ] {
        assert!((s - 10.0 * f).abs() < 1e-6, "{f} ms then {s} ms");
    }
    // The same with a random model.
    let lognormal = |median: &str| {
        let set = format!(
            r#"network.latency={{ model = "lognormal", median = "{median}", sigma = 0.5 }}"#
        );
        summary(&scenario("", &[&set]))
    };
    let (fast, slow) = (lognormal("10ms"), lognormal("80ms"));
    assert_all_finalized(&fast, "lognormal 10ms");
    assert_all_finalized(&slow, "lognormal 80ms");
    assert!(
        slow.finality_ms.unwrap().p50 > 3.0 * fast.finality_ms.unwrap().p50,
        "{fast}\n{slow}"
    );
    assert!(
        slow.finality_ms.unwrap().p99 > 3.0 * fast.finality_ms.unwrap().p99,
        "{fast}\n{slow}"
    );
}

#[test]
fn loss_delays_finality_but_every_honest_node_finalizes() {
    let clean = summary(&scenario("", &["network.loss=0.0"]));
    let lossy = summary(&scenario("", &["network.loss=0.05"]));
    assert_all_finalized(&clean, "loss 0");
    assert_all_finalized(&lossy, "loss 0.05");
    // A lost query or answer leaves its poll short until the 500 ms timeout.
    assert!(
        lossy.finality_ms.unwrap().p50 > clean.finality_ms.unwrap().p50,
        "{clean}\n{lossy}"
    );
    assert!(
        lossy.finality_ms.unwrap().p99 > clean.finality_ms.unwrap().p99,
        "{clean}\n{lossy}"
    );
    assert!(
        lossy.polls.unwrap().p99 >= clean.polls.unwrap().p99,
        "{clean}\n{lossy}"
    );
}

#[test]
fn duplication_is_harmless() {
    let clean = summary(&scenario("", &[]));
    let dup = summary(&scenario("", &["network.duplicate=0.1"]));
    assert_all_finalized(&clean, "duplicate 0");
    assert_all_finalized(&dup, "duplicate 0.1");
    assert_ne!(clean.digest, dup.digest, "duplication changed nothing");
    // A second copy of an answer is not a second vote: finality is not hurt (nor helped much).
    assert!(
        dup.finality_ms.unwrap().p99 < 1.5 * clean.finality_ms.unwrap().p99,
        "{clean}\n{dup}"
    );
    assert!(
        dup.polls.unwrap().p50 <= clean.polls.unwrap().p50 + 5.0,
        "{clean}\n{dup}"
    );
}

/// The decisions of a decisions-level CSV trace: node -> (time_ns, choice).
fn decisions(dir: &Path) -> BTreeMap<u32, (u64, u32)> {
    let mut out = BTreeMap::new();
    for r in csv_rows(&dir.join("trace.csv")) {
        if r.kind == "decide" {
            let choice = r.choice.expect("a decide row has a choice");
            assert!(
                out.insert(r.node, (r.time_ns, choice)).is_none(),
                "node {} decided twice",
                r.node
            );
        }
    }
    out
}

/// A partition of `nodes` nodes in two equal halves from 0 s to 3 s.
fn halves(nodes: usize) -> String {
    let h = nodes / 2;
    format!(
        "[[network.partitions]]\nstart = \"0s\"\nend = \"3s\"\ngroups = [[0, {}], [{h}, {}]]\n",
        h - 1,
        nodes - 1
    )
}

#[test]
fn a_partition_in_halves_blocks_finality_until_it_heals() {
    // Default parameters: a sample of 20 has about 10 nodes of each half, far from the 15
    // answers a poll needs, so neither half can finalize alone.
    let s = scenario(&halves(200), &DEFAULT_PARAMS);
    let dir = TempDir::new("partition");
    let sum = traced(&s, &dir.0, TraceLevel::Decisions, TraceFormat::Csv);
    assert_all_finalized(&sum, "partition");
    let d = decisions(&dir.0);
    assert_eq!(d.len(), 200);
    let first = d.values().map(|&(t, _)| t).min().unwrap();
    assert!(first >= 3_000_000_000, "a node finalized at {first} ns");
    assert!(sum.finality_ms.unwrap().p50 > 3000.0, "{sum}");
    // Once healed, it takes well under the partition's length.
    assert!(sum.finality_ms.unwrap().max < 6000.0, "{sum}");
}

/// The cut rows of a messages-level trace, as (from, to) pairs.
fn cuts(dir: &Path) -> Vec<(u32, u32)> {
    csv_rows(&dir.join("trace.csv"))
        .into_iter()
        .filter(|r| r.kind == "cut")
        .map(|r| (r.node, r.peer.expect("a cut row has a peer")))
        .collect()
}

#[test]
fn a_forward_partition_cuts_one_direction_only() {
    let sets = ["network.nodes=100", "params.k=10"];
    let halves = halves(100);
    assert!(halves.contains("[[0, 49], [50, 99]]"), "{halves}");
    let forward = format!("{halves}direction = \"forward\"\n");
    let (both_dir, fwd_dir) = (TempDir::new("both"), TempDir::new("forward"));
    let both = traced(
        &scenario(&halves, &sets),
        &both_dir.0,
        TraceLevel::Messages,
        TraceFormat::Csv,
    );
    let fwd = traced(
        &scenario(&forward, &sets),
        &fwd_dir.0,
        TraceLevel::Messages,
        TraceFormat::Csv,
    );
    assert_all_finalized(&both, "both");
    assert_all_finalized(&fwd, "forward");
    assert_ne!(both.digest, fwd.digest);
    let side = |n: u32| n >= 50;
    let both_cuts = cuts(&both_dir.0);
    let fwd_cuts = cuts(&fwd_dir.0);
    // Both ways: cuts across the line in each direction, never within a half.
    assert!(both_cuts.iter().all(|&(a, b)| side(a) != side(b)));
    assert!(both_cuts.iter().any(|&(a, _)| !side(a)));
    assert!(both_cuts.iter().any(|&(a, _)| side(a)));
    // Forward: only from the first group to the second.
    assert!(!fwd_cuts.is_empty());
    assert!(
        fwd_cuts.iter().all(|&(a, b)| !side(a) && side(b)),
        "a forward partition cut a message from the second group to the first"
    );
    // The second group's queries reach the first, whose answers are then cut: more messages
    // travel than when both ways are cut.
    assert!(fwd.messages > both.messages, "{both}\n{fwd}");
}

const CRASH_20: &str = r#"
[[network.crashes]]
nodes = [0, 19]
at = "0s"
recover = "2s"
"#;

#[test]
fn crashed_nodes_finalize_after_they_recover() {
    let s = scenario(CRASH_20, &["network.poll_timeout=\"100ms\""]);
    let dir = TempDir::new("crash");
    let sum = traced(&s, &dir.0, TraceLevel::Decisions, TraceFormat::Csv);
    assert_all_finalized(&sum, "crash and recover");
    let rows = csv_rows(&dir.0.join("trace.csv"));
    let at = |kind: &str| -> Vec<(u32, u64)> {
        rows.iter()
            .filter(|r| r.kind == kind)
            .map(|r| (r.node, r.time_ns))
            .collect()
    };
    let expected = |t: u64| (0..20).map(|n| (n, t)).collect::<Vec<_>>();
    assert_eq!(at("crash"), expected(0));
    assert_eq!(at("recover"), expected(2_000_000_000));
    let d = decisions(&dir.0);
    assert_eq!(d.len(), 200);
    for (&node, &(t, _)) in &d {
        if node < 20 {
            assert!(
                t >= 2_000_000_000,
                "crashed node {node} finalized at {t} ns"
            );
        } else {
            assert!(t < 2_000_000_000, "node {node} finalized only at {t} ns");
        }
    }
}

#[test]
fn a_node_crashed_at_time_zero_sends_nothing_while_down() {
    let s = scenario(CRASH_20, &["network.poll_timeout=\"100ms\""]);
    let dir = TempDir::new("crash-quiet");
    traced(&s, &dir.0, TraceLevel::Messages, TraceFormat::Csv);
    let early: Vec<Row> = csv_rows(&dir.0.join("trace.csv"))
        .into_iter()
        .filter(|r| r.node < 20 && r.time_ns < 2_000_000_000)
        .filter(|r| matches!(r.kind.as_str(), "query" | "answer" | "poll" | "decide"))
        .collect();
    assert!(
        early.is_empty(),
        "{} rows of nodes crashed at 0 s before they recover, the first {:?}",
        early.len(),
        early.first()
    );
}

#[test]
fn nodes_crashed_for_good_never_finalize() {
    let extra = CRASH_20.replace("recover = \"2s\"", "");
    let s = scenario(&extra, &["network.poll_timeout=\"100ms\""]);
    let dir = TempDir::new("crash-for-good");
    let sum = traced(&s, &dir.0, TraceLevel::Decisions, TraceFormat::Csv);
    assert!(!sum.safety_violation, "{sum}");
    assert!(sum.honest_finalized < 1.0, "{sum}");
    assert_eq!(sum.honest, 200);
    assert_eq!(sum.finality_ms.unwrap().n, 180, "{sum}");
    assert!((sum.honest_finalized - 0.9).abs() < 1e-12, "{sum}");
    let d = decisions(&dir.0);
    assert_eq!(d.len(), 180);
    assert!(d.keys().all(|&n| n >= 20), "a crashed node finalized");
    // The run stops once the live nodes are done, long before the 60 s budget.
    assert!(sum.virtual_time_ms < 60_000.0, "{sum}");
}

fn regions(base: &str) -> String {
    format!(
        "[network.regions]\nnames = [\"us\", \"eu\", \"asia\"]\nbase = {base}\n",
        base = base
    )
}

#[test]
fn far_regions_are_slower_than_near_ones() {
    let jitter = r#"network.latency={ model = "uniform", min = "1ms", max = "5ms" }"#;
    let far = regions(
        r#"[["5ms", "80ms", "150ms"], ["80ms", "5ms", "120ms"], ["150ms", "120ms", "5ms"]]"#,
    );
    let near = regions(r#"[["5ms", "5ms", "5ms"], ["5ms", "5ms", "5ms"], ["5ms", "5ms", "5ms"]]"#);
    let far = summary(&scenario(&far, &[jitter]));
    let near = summary(&scenario(&near, &[jitter]));
    let flat = summary(&scenario("", &[jitter]));
    assert_all_finalized(&far, "far regions");
    assert_all_finalized(&near, "near regions");
    assert_all_finalized(&flat, "no regions");
    // Two thirds of the pairs are 80 ms or more apart instead of 5 ms.
    assert!(
        far.finality_ms.unwrap().p50 > 3.0 * near.finality_ms.unwrap().p50,
        "{near}\n{far}"
    );
    assert!(
        far.finality_ms.unwrap().p99 > 3.0 * near.finality_ms.unwrap().p99,
        "{near}\n{far}"
    );
    // The base latency adds to the jitter: 5 ms everywhere is slower than no base at all.
    assert!(
        near.finality_ms.unwrap().p50 > flat.finality_ms.unwrap().p50,
        "{flat}\n{near}"
    );
}

const LOCKSTEP: &str = r#"
name = "lockstep"
seed = 5
mode = "lockstep"
max_rounds = 200

[params]
preset = "testnet"

[network]
nodes = 20000

[workload]
choices = 2
initial = [0.5, 0.5]
"#;

#[test]
fn lockstep_twenty_thousand_nodes_finalize_deterministically() {
    let s = Scenario::parse(LOCKSTEP, "lockstep.toml", &[]).unwrap();
    let first = summary(&s);
    assert_eq!(first.mode, "lockstep");
    assert_eq!(first.honest, 20_000);
    assert_all_finalized_lockstep(&first);
    let rounds = first.rounds.expect("a lockstep run counts rounds");
    assert!(rounds <= 200, "{first}");
    let r = first
        .finality_rounds
        .expect("lockstep finality is in rounds");
    assert_eq!(r.n, 20_000);
    assert_eq!(r.max, rounds as f64, "the run stops with the last decision");
    // beta = 8 successful polls, one per round.
    assert!(r.p50 >= 8.0, "{first}");
    let second = summary(&s);
    assert_eq!(first.digest, second.digest);
    assert_eq!(without_wall(&first), without_wall(&second));
}

fn assert_all_finalized_lockstep(s: &Summary) {
    assert!(!s.safety_violation, "{s}");
    assert_eq!(s.honest_finalized, 1.0, "{s}");
    assert_eq!(s.decided.values().sum::<usize>(), s.honest, "{s}");
}

/// The decide rows of a trace, checked against the summary.
fn check_decide_rows(rows: &[Row], s: &Summary) {
    let mut by_choice: BTreeMap<String, usize> = BTreeMap::new();
    let mut nodes = std::collections::BTreeSet::new();
    let mut last = 0;
    for r in rows.iter().filter(|r| r.kind == "decide") {
        let choice = r.choice.expect("a decide row has a choice");
        *by_choice.entry(choice.to_string()).or_default() += 1;
        assert!(nodes.insert(r.node), "node {} decided twice", r.node);
        assert_eq!(
            (r.peer, r.request, r.count, r.answers),
            (None, None, None, None)
        );
        last = last.max(r.time_ns);
    }
    assert_eq!(by_choice, s.decided, "decide rows vs summary.decided");
    let finality = s.finality_rounds.or(s.finality_ms).expect("a node decided");
    assert_eq!(nodes.len(), finality.n);
    let max = match s.finality_rounds {
        Some(r) => r.max,
        None => s.finality_ms.unwrap().max * 1e6,
    };
    assert!(
        (last as f64 - max).abs() < 1.0,
        "last decide at {last}, max {max}"
    );
}

#[test]
fn nodes_csv_is_the_population_the_run_drew() {
    let extra = r#"
[byzantine]
fraction = 0.1
strategy = "stubborn"

[[network.crashes]]
nodes = [3, 5]
at = "1s"
recover = "2s"

[[network.crashes]]
nodes = [5, 6]
at = "3s"

[network.regions]
names = ["us", "eu"]
base = [["5ms", "80ms"], ["80ms", "5ms"]]
"#;
    let s = scenario(extra, &["network.nodes=40", "network.stake=\"pareto:1.5\""]);
    let dir = TempDir::new("nodes");
    let sum = traced(&s, &dir.0, TraceLevel::Decisions, TraceFormat::Csv);
    let mut r = csv::Reader::from_path(dir.0.join("nodes.csv")).unwrap();
    assert_eq!(
        r.headers().unwrap(),
        vec![
            "id",
            "stake",
            "byzantine",
            "strategy",
            "region",
            "initial",
            "crashes"
        ]
    );
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 40);
    let (mut byzantine, mut stake, mut initial) = (Vec::new(), 0.0, [0usize; 2]);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row[0].parse::<usize>().unwrap(), i);
        stake += row[1].parse::<f64>().unwrap();
        assert_eq!(&row[4], ["us", "eu"][i % 2]);
        if &row[2] == "true" {
            byzantine.push(i as u32);
            assert_eq!((&row[3], &row[5]), ("stubborn", ""));
        } else {
            assert_eq!((&row[2], &row[3]), ("false", ""));
            initial[row[5].parse::<usize>().unwrap()] += 1;
        }
        let crashes = match i {
            3 | 4 => "1000000000-2000000000",
            5 => "1000000000-2000000000;3000000000-",
            6 => "3000000000-",
            _ => "",
        };
        assert_eq!(&row[6], crashes, "node {i}");
    }
    assert!((stake - 1.0).abs() < 1e-9, "the shares sum to 1: {stake}");
    assert_eq!(
        byzantine, sum.byzantine.ids,
        "the Byzantine nodes of summary.json"
    );
    assert_eq!(initial, [18, 18], "36 honest nodes split evenly");
}

#[test]
fn every_delivered_message_row_has_its_latency_and_every_answer_its_choice() {
    // 5 % loss, so that lost rows (no latency) appear beside delivered ones; uniform
    // 5..50 ms latency (BASE): every delivered row's latency lies in it.
    let s = scenario("", &["network.nodes=60", "network.loss=0.05"]);
    let dir = TempDir::new("latency");
    traced(&s, &dir.0, TraceLevel::Messages, TraceFormat::Csv);
    let rows = csv_rows(&dir.0.join("trace.csv"));
    let (mut answers, mut lost) = (0, 0);
    for r in &rows {
        match r.kind.as_str() {
            "query" | "answer" => {
                let l = r.latency_ns.unwrap_or_else(|| panic!("no latency: {r:?}"));
                assert!((5_000_000..=50_000_000).contains(&l), "{r:?}");
                if r.kind == "answer" {
                    assert!(r.choice.is_some_and(|c| c < 2), "{r:?}");
                    answers += 1;
                }
            }
            "lost" | "cut" => {
                assert_eq!(r.latency_ns, None, "{r:?}");
                lost += 1;
            }
            _ => assert_eq!(r.latency_ns, None, "{r:?}"),
        }
    }
    assert!(
        answers > 1000 && lost > 10,
        "{answers} answers, {lost} lost"
    );
}

#[test]
fn trace_header_and_decide_rows_match_the_summary() {
    let header = "time_ns,node,kind,peer,request,choice,count,answers,latency_ns";
    // Event mode, three choices so that the decided map is not trivially {0: n}.
    let s = scenario(
        "",
        &["workload.choices=3", "workload.initial=[0.2, 0.5, 0.3]"],
    );
    let dir = TempDir::new("trace");
    let sum = traced(&s, &dir.0, TraceLevel::Polls, TraceFormat::Csv);
    assert_all_finalized(&sum, "three choices");
    let text = std::fs::read_to_string(dir.0.join("trace.csv")).unwrap();
    assert_eq!(text.lines().next(), Some(header));
    let rows = csv_rows(&dir.0.join("trace.csv"));
    check_decide_rows(&rows, &sum);
    // Each poll row names its request and its tally; a node's polls come in time order.
    let polls: Vec<&Row> = rows.iter().filter(|r| r.kind == "poll").collect();
    assert!(polls.len() >= sum.honest * 10);
    for p in &polls {
        let (count, answers) = (p.count.unwrap(), p.answers.unwrap());
        assert!(p.request.is_some() && p.choice.unwrap() < 3);
        assert!(count <= answers && answers <= 10, "{p:?}");
    }
    assert!(rows.windows(2).all(|w| w[0].time_ns <= w[1].time_ns));

    // Lockstep mode: the time column is the round.
    let text = LOCKSTEP.replace("nodes = 20000", "nodes = 1000");
    let s = Scenario::parse(&text, "lockstep.toml", &[]).unwrap();
    let dir = TempDir::new("trace-lockstep");
    let sum = traced(&s, &dir.0, TraceLevel::Decisions, TraceFormat::Jsonl);
    assert_all_finalized_lockstep(&sum);
    let rows = jsonl_rows(&dir.0.join("trace.jsonl"));
    assert!(rows.iter().all(|r| r.kind == "decide"));
    check_decide_rows(&rows, &sum);
}
