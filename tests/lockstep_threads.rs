//! A lockstep round split across threads polls exactly as one thread does: the same
//! digest, counters and per-node outcomes for rayon pools of 1 to 4 threads, with node
//! counts that do not fill the last block, under stake-unit and validator sampling, with
//! and without an adversary (which runs the blocks in order), and with a polls trace.

use luxsim::sim::{run, RunOptions, Scenario, Summary, TraceLevel};

/// 5,000 nodes (four full blocks of 1,024 and a part), Pareto stake, three choices.
const BASE: &str = r#"
name = "lockstep-threads"
seed = 3
mode = "lockstep"
max_rounds = 300

[params]
preset = "default"

[network]
nodes = 5000
stake = "pareto:1.16"

[workload]
choices = 3
initial = [0.5, 0.3, 0.2]
"#;

/// The run's result without its wall time.
fn result(text: &str, sets: &[&str], threads: usize, trace: TraceLevel) -> (String, String) {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let s = Scenario::parse(text, "lockstep-threads.toml", &sets).unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let dir = std::env::temp_dir().join(format!(
        "luxsim-lockstep-threads-{}-{threads}-{}",
        std::process::id(),
        sets.join(",").len()
    ));
    let opts = RunOptions {
        out_dir: (trace != TraceLevel::None).then(|| dir.clone()),
        trace,
        ..RunOptions::default()
    };
    let report = pool
        .install(|| run(&s, &opts))
        .unwrap_or_else(|e| panic!("{e}"));
    let trace_text = std::fs::read_to_string(dir.join("trace.csv")).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    (fingerprint(&report.summary), trace_text)
}

/// Everything of a summary that a run decides (not its wall time).
fn fingerprint(s: &Summary) -> String {
    let mut v = serde_json::to_value(s).unwrap();
    v.as_object_mut().unwrap().remove("wall_ms");
    v.to_string()
}

fn same_for_every_pool(sets: &[&str], trace: TraceLevel) {
    let one = result(BASE, sets, 1, trace);
    assert!(one.0.contains("\"digest\""), "{}", one.0);
    assert_eq!(
        one.1.is_empty(),
        trace == TraceLevel::None,
        "a trace when asked for"
    );
    for threads in 2..=4 {
        let many = result(BASE, sets, threads, trace);
        assert_eq!(one.0, many.0, "{threads} threads, {sets:?}");
        assert!(
            one.1 == many.1,
            "{threads} threads: the trace differs, {sets:?}"
        );
    }
}

#[test]
fn stake_units_give_the_same_run_on_any_number_of_threads() {
    same_for_every_pool(&[], TraceLevel::None);
}

#[test]
fn a_polls_trace_is_the_same_on_any_number_of_threads() {
    same_for_every_pool(&["network.nodes=2100"], TraceLevel::Polls);
}

#[test]
fn validator_sampling_gives_the_same_run_on_any_number_of_threads() {
    same_for_every_pool(&["network.sampling=\"validators\""], TraceLevel::None);
}

#[test]
fn an_adversary_gives_the_same_run_on_any_number_of_threads() {
    let sets = [
        "byzantine.fraction=0.1",
        "byzantine.strategy=\"balance-simple\"",
        "max_rounds=60",
    ];
    same_for_every_pool(&sets, TraceLevel::None);
}

#[test]
fn different_seeds_give_different_runs() {
    // The fingerprint is not blind: another seed changes it.
    let a = result(BASE, &[], 2, TraceLevel::None).0;
    let b = result(BASE, &["seed=4"], 2, TraceLevel::None).0;
    assert_ne!(a, b);
}
