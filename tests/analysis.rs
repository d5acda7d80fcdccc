//! `luxsim analyze`: features of a hand-built trace equal the hand-computed ones, and the
//! rule-based detector on simulated runs, scored against `nodes.csv`.

use luxsim::analysis::{analyze, extract, AnalysisError, Options};
use luxsim::sim::{run, RunOptions, Scenario, TraceFormat, TraceLevel};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("luxsim-analysis-{tag}-{}-{n}", std::process::id()));
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

const NODES: &str = include_str!("data/analysis-hand/nodes.csv");

/// The hand-built run (shared with python/tests/test_analysis.py): node 0 polls 1, 2, 3;
/// node 1 polls 2 and 0. Node 2 answers 1 to node 0 and 0 to node 1
/// at the same instant; node 3 never answers. Both honest nodes decide 0.
const TRACE: &str = include_str!("data/analysis-hand/trace.csv");

fn hand_built(trace: &str) -> TempDir {
    let d = TempDir::new("hand");
    std::fs::write(d.0.join("nodes.csv"), NODES).unwrap();
    std::fs::write(d.0.join("trace.csv"), trace).unwrap();
    d
}

#[test]
fn features_of_a_hand_built_run_are_the_hand_computed_ones() {
    let d = hand_built(TRACE);
    let opts = Options {
        window_ns: 50_000_000,
        buckets: 2,
    };
    let honest = [true, true, false, false];
    let e = extract(&d.0.join("trace.csv"), &honest, opts).unwrap();
    assert_eq!(e.rows, 13);
    assert_eq!(e.decision, Some(0));
    assert_eq!(e.half_decided_ns, Some(40_000_000));
    assert_eq!(e.unmatched_answers, 0);
    let [n0, n1, n2, n3] = [&e.nodes[0], &e.nodes[1], &e.nodes[2], &e.nodes[3]];
    // Node 0: one query from node 1 landed at 5 ms, its answer landed back at 9 ms.
    assert_eq!((n0.queries_received, n0.answers), (1, 1));
    assert_eq!(n0.response_ms(), Some(4.0));
    assert_eq!(n0.agree_decision_rate(), Some(1.0));
    assert_eq!(n0.agree_poll_rate(), Some(1.0));
    assert_eq!(
        n0.late_answers, 0,
        "5 ms is before the median decision, 40 ms"
    );
    assert_eq!((n0.queries_sent, n0.polls, n0.poll_answers), (3, 1, 2));
    assert_eq!(n0.decided, Some((0, 40_000_000)));
    assert_eq!(n0.flip_rate(), None, "one answer has no consecutive pair");
    // Node 1: node 0's query landed at 10 ms, the answer at 20 ms.
    assert_eq!(n1.response_ms(), Some(10.0));
    assert_eq!((n1.queries_sent, n1.polls), (2, 1));
    assert_eq!(n1.decided, Some((0, 50_000_000)));
    // Node 2: answered 1 to node 0 (decided 0; its poll's top 0) and 0 to node 1, at once.
    assert_eq!((n2.queries_received, n2.answers), (2, 2));
    assert_eq!(n2.response_ms(), Some(7.5));
    assert_eq!(n2.response_ns_max, 10_000_000);
    assert_eq!(n2.answer_latency_ms(), Some(7.5));
    assert_eq!(n2.agree_decision_rate(), Some(0.5));
    assert_eq!(n2.agree_poll_rate(), Some(0.5));
    assert_eq!((n2.flips, n2.close_pairs, n2.contradictions), (1, 1, 1));
    assert_eq!(n2.flip_rate(), Some(1.0));
    assert_eq!(n2.contradiction_rate(), Some(1.0));
    assert_eq!((n2.queries_sent, n2.decided), (0, None));
    // Node 3: asked once, never answered.
    assert_eq!((n3.queries_received, n3.answers), (1, 0));
    assert_eq!(n3.response_rate(), Some(0.0));
    assert_eq!(n3.response_ms(), None);
    // The matrix: +1 an answer equal to the decision (0), -1 another; buckets of 25 ms.
    assert_eq!(e.matrix.buckets, 2);
    assert_eq!(e.matrix.cells, vec![1, 0, 1, 0, 0, 0, 0, 0]);
    // Outside the window the pair is no longer "at nearly the same time".
    let narrow = Options {
        window_ns: 0,
        buckets: 2,
    };
    let later = TRACE.replace(
        "20000000,2,answer,1,0,0,,,10000000",
        "20000001,2,answer,1,0,0,,,10000000",
    );
    let d2 = hand_built(&later);
    let e2 = extract(&d2.0.join("trace.csv"), &honest, narrow).unwrap();
    assert_eq!((e2.nodes[2].flips, e2.nodes[2].close_pairs), (1, 0));
}

#[test]
fn the_silent_node_of_the_hand_built_run_scores_highest_for_silence() {
    let d = hand_built(TRACE);
    let a = analyze(&d.0, Options::default(), 0.5).unwrap();
    assert_eq!(a.verdicts[3].reason, "silence");
    assert!(a.verdicts[3].score > 0.99);
    let silent = a.scores.iter().find(|s| s.strategy == "silent").unwrap();
    assert_eq!(silent.auc, Some(1.0));
    assert_eq!((silent.flagged, silent.recall), (1, 1.0));
    assert!(a.scores.iter().any(|s| s.strategy == "all"));
    let files = luxsim::analysis::write(&a, &d.0).unwrap();
    assert_eq!(files.len(), 3);
    let csv = std::fs::read_to_string(d.0.join("features.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5);
    assert!(csv.lines().nth(4).unwrap().ends_with(",silence"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.0.join("analysis.json")).unwrap()).unwrap();
    assert_eq!(json["format"], "luxsim-analysis/1");
    assert_eq!(json["top"][0]["id"], 3);
}

#[test]
fn bad_inputs_are_located_errors() {
    let bad = TRACE.replace("1000000,1,query,0,0", "1000000,x,query,0,0");
    let d = hand_built(&bad);
    let e = analyze(&d.0, Options::default(), 0.5).unwrap_err();
    assert!(matches!(e, AnalysisError::Trace { line: 6, .. }), "{e}");
    assert!(e.to_string().contains("column `node`"), "{e}");

    let unknown = TRACE.replace("0,0,query,3,0", "0,0,query,9,0");
    let d = hand_built(&unknown);
    let e = analyze(&d.0, Options::default(), 0.5).unwrap_err();
    assert!(
        e.to_string().contains(":4: node 9 is not in nodes.csv"),
        "{e}"
    );

    let polls_only: String = TRACE
        .lines()
        .filter(|l| !l.contains(",query,") && !l.contains(",answer,"))
        .map(|l| format!("{l}\n"))
        .collect();
    let d = hand_built(&polls_only);
    let e = analyze(&d.0, Options::default(), 0.5).unwrap_err();
    assert!(matches!(e, AnalysisError::NoMessages { .. }), "{e}");
    assert!(e.to_string().contains("--trace messages"), "{e}");

    let ledger = format!("{TRACE}60000000,0,accept,,,5,1,,\n");
    let d = hand_built(&ledger);
    let e = analyze(&d.0, Options::default(), 0.5).unwrap_err();
    assert!(matches!(e, AnalysisError::Ledger { line: 15, .. }), "{e}");

    let d = hand_built(TRACE);
    std::fs::remove_file(d.0.join("nodes.csv")).unwrap();
    let e = analyze(&d.0, Options::default(), 0.5).unwrap_err();
    assert!(e.to_string().contains("nodes.csv"), "{e}");
    std::fs::write(d.0.join("nodes.csv"), NODES.replace("\n2,", "\n7,")).unwrap();
    let e = analyze(&d.0, Options::default(), 0.5).unwrap_err();
    assert!(
        e.to_string().contains("nodes.csv:4: id `7`: expected 2"),
        "{e}"
    );
}

/// 300 nodes, k 10, honest nodes 80/20 on choice 0, 10 % stubborn on choice 1.
fn simulated(dir: &Path, strategy: &str, initial: &str) {
    let text = format!(
        r#"
name = "analysis"
seed = 3
max_time = "60s"

[params]
k = 10
alpha_preference = 7
alpha_confidence = 7
beta = 10

[network]
nodes = 300
latency = {{ model = "uniform", min = "5ms", max = "50ms" }}
poll_timeout = "500ms"

[workload]
choices = 2
initial = {initial}

[byzantine]
fraction = 0.1
strategy = "{strategy}"
target = 1
"#
    );
    let s = Scenario::parse(&text, "analysis.toml", &[]).unwrap_or_else(|e| panic!("{e}"));
    let opts = RunOptions {
        out_dir: Some(dir.to_path_buf()),
        trace: TraceLevel::Messages,
        format: TraceFormat::Csv,
        progress: false,
        stop_on_signal: false,
    };
    run(&s, &opts).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn stubborn_nodes_are_ranked_first() {
    let d = TempDir::new("stubborn");
    simulated(&d.0, "stubborn", "[0.8, 0.2]");
    let a = analyze(&d.0, Options::default(), 0.5).unwrap();
    assert_eq!(a.extracted.decision, Some(0), "the honest majority wins");
    let s = &a.scores[0];
    assert_eq!((s.strategy.as_str(), s.byzantine), ("stubborn", 30));
    assert_eq!(s.auc, Some(1.0));
    assert_eq!(s.recall, 1.0);
    let mut order: Vec<usize> = (0..300).collect();
    order.sort_by(|&x, &y| a.verdicts[y].score.total_cmp(&a.verdicts[x].score));
    assert!(order[..30].iter().all(|&i| a.truth.byzantine[i]));
    assert!(order[..30]
        .iter()
        .all(|&i| a.verdicts[i].reason == "dissent_late"));
}

#[test]
fn delayed_answers_are_seen_as_late() {
    let d = TempDir::new("delay");
    simulated(&d.0, "delay", "[0.5, 0.5]");
    let a = analyze(&d.0, Options::default(), 0.5).unwrap();
    assert_eq!(a.scores[0].auc, Some(1.0));
    for (i, f) in a.extracted.nodes.iter().enumerate() {
        let wait = f.response_ms().unwrap();
        if a.truth.byzantine[i] {
            // Held back until just before the 500 ms deadline.
            assert!(wait > 400.0, "node {i}: {wait} ms");
        } else {
            assert!(wait <= 50.0, "node {i}: {wait} ms");
        }
    }
}
