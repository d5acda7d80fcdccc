//! Every decoder and loader, fed at least 100,000 arbitrary and mutated inputs each: none
//! panics, and the loaders of located formats (scenarios, node files) name a line that
//! exists. The inputs come from one seeded generator, so a failure is reproduced by
//! rerunning; the failing input is printed. `fuzz/` holds the same targets for cargo-fuzz,
//! which searches further with coverage guidance (see `docs/fuzzing.md`).

use luxsim::experiment::{runs_header, RunRecord};
use luxsim::experiment::{Axis, Manifest, Shard};
use luxsim::sim::scenario::Mode;
use luxsim::sim::Scenario;
use luxsim::{Block, Vote};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

/// Inputs per decoder.
const CASES: usize = 100_000;

/// Tokens that tend to break parsers: delimiters, extremes, odd numbers and units.
const TOKENS: &[&str] = &[
    "=",
    "[",
    "]",
    "[[",
    "]]",
    "{",
    "}",
    "\"",
    "'",
    ",",
    ".",
    "\n",
    "#",
    "\\",
    "\"\"\"",
    "0",
    "-1",
    "1e308",
    "-1e308",
    "nan",
    "inf",
    "18446744073709551615",
    "9223372036854775808",
    "4294967296",
    "65536",
    "0.0",
    "1.5",
    "true",
    "\"0s\"",
    "\"1ns\"",
    "\"585y\"",
    "\"999999999999999999d\"",
    "\"-1s\"",
    "\"pareto:0\"",
    "\"pareto:1e308\"",
    "\u{0}",
    "\u{feff}",
    "é",
    "nodes",
    "k",
    "beta",
    "name",
    "params",
    "network",
    "latency",
    "model",
    "lognormal",
    "sigma",
    "byzantine",
    "fraction",
    "count",
    "strategy",
    "expect",
    "workload",
    "choices",
    "initial",
    "partitions",
    "groups",
    "crashes",
    "regions",
    "base",
];

/// A mutation of `seed` (or of a splice of two seeds): byte flips, token insertions,
/// deletions, duplications and truncations, one to eight of them.
fn mutate(rng: &mut ChaCha8Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut b = seeds[rng.random_range(0..seeds.len())].clone();
    for _ in 0..rng.random_range(1..=8) {
        let at = rng.random_range(0..=b.len());
        match rng.random_range(0..7) {
            0 if !b.is_empty() => {
                let i = rng.random_range(0..b.len());
                b[i] ^= 1 << rng.random_range(0..8);
            }
            1 | 2 => {
                let t = TOKENS[rng.random_range(0..TOKENS.len())];
                b.splice(at..at, t.bytes());
            }
            3 => {
                let end = (at + rng.random_range(0..16)).min(b.len());
                b.drain(at..end);
            }
            4 => {
                let end = (at + rng.random_range(0..32)).min(b.len());
                let copy = b[at..end].to_vec();
                b.splice(at..at, copy);
            }
            5 => b.truncate(at),
            _ => {
                let other = &seeds[rng.random_range(0..seeds.len())];
                let from = rng.random_range(0..=other.len());
                b.splice(at.., other[from..].iter().copied());
            }
        }
    }
    b
}

/// `CASES` inputs: a quarter arbitrary bytes (0 to 64 long), the rest mutations of `seeds`.
fn feed(name: &str, seed: u64, seeds: &[Vec<u8>], mut check: impl FnMut(&[u8])) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for case in 0..CASES {
        let input = if case % 4 == 0 {
            let len = rng.random_range(0..=64);
            (0..len).map(|_| rng.random()).collect()
        } else {
            mutate(&mut rng, seeds)
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| check(&input)));
        if let Err(panic) = outcome {
            panic!(
                "{name}: case {case} panicked ({:?}) on input {:?}",
                panic.downcast_ref::<String>(),
                String::from_utf8_lossy(&input)
            );
        }
    }
}

/// For a located error `origin:LINE:COL: ...`: the line exists in `text` (0: from --set).
fn assert_located(message: &str, origin: &str, text: &str) {
    let rest = message
        .strip_prefix(origin)
        .and_then(|r| r.strip_prefix(':'))
        .unwrap_or_else(|| panic!("error not located in {origin}: {message}"));
    let line: usize = rest.split(':').next().unwrap().parse().unwrap();
    assert!(
        line <= text.lines().count() + 1,
        "line {line} beyond the text: {message}"
    );
}

fn shipped(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(name)).unwrap()
}

#[test]
fn compact_votes_and_blocks() {
    let votes: Vec<Vec<u8>> = (0u8..6)
        .map(|t| vec![t, 1, 0, 7, 0x12, 0x34, 0, 0])
        .collect();
    feed("Vote::unpack", 1, &votes, |b| {
        if let Ok(v) = Vote::unpack(b) {
            // Bytes 6-7 are reserved: ignored when unpacked, zero when packed.
            let packed = v.pack().expect("an unpacked vote packs");
            assert_eq!((&packed[..6], &packed[6..]), (&b[..6], &[0u8, 0][..]));
        }
    });
    let blocks: Vec<Vec<u8>> = [0usize, 1, 40]
        .iter()
        .map(|&n| Block::new(7, 6, 3, 1_700_000_000, vec![0xab; n]).serialize())
        .collect();
    feed("Block::deserialize", 2, &blocks, |b| {
        if let Ok(block) = Block::deserialize(b) {
            assert_eq!(
                block.serialize(),
                b,
                "decode then encode gives the bytes back"
            );
        }
    });
}

#[test]
fn scenario_files() {
    let seeds: Vec<Vec<u8>> = [
        "scenarios/byzantine.toml",
        "scenarios/baseline.toml",
        "scenarios/partition.toml",
        "scenarios/lossy.toml",
        "scenarios/chain.toml",
        "scenarios/dag.toml",
        "scenarios/lockstep-1m.toml",
        "deploy/cluster-20.toml",
    ]
    .iter()
    .map(|p| shipped(p))
    .collect();
    feed("Scenario::parse", 3, &seeds, |b| {
        let Ok(text) = std::str::from_utf8(b) else {
            return;
        };
        if let Err(e) = Scenario::parse(text, "f.toml", &[]) {
            assert_located(&e.to_string(), "f.toml", text);
        }
    });
}

#[test]
fn set_and_vary_and_shard_arguments() {
    let sets: Vec<Vec<u8>> = [
        "params.k=30",
        "network.latency={ model = \"constant\", value = \"5ms\" }",
        "network.partitions.0.end=\"9s\"",
        "byzantine.strategy=silent",
        "workload.initial=[0.7, 0.3]",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    let base = String::from_utf8(shipped("scenarios/partition.toml")).unwrap();
    feed("--set", 4, &sets, |b| {
        let Ok(arg) = std::str::from_utf8(b) else {
            return;
        };
        let _ = Scenario::parse(&base, "p.toml", &[arg.to_string()]);
    });
    let varies: Vec<Vec<u8>> = [
        "params.k=10,20,30",
        "byzantine.fraction=0..0.3:0.05",
        "params.k=5,10..30:10",
        "network.latency.median=20ms,40ms",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    feed("--vary", 5, &varies, |b| {
        let Ok(arg) = std::str::from_utf8(b) else {
            return;
        };
        if let Ok(axis) = Axis::parse(arg) {
            for i in 0..axis.values.len().min(64) {
                let _ = axis.override_for(i);
            }
        }
        let _ = Shard::parse(arg);
    });
}

#[test]
fn sweep_manifests_and_runs_csv() {
    let manifest = br#"{"format":"luxsim-sweep/1","scenario":"s.toml","scenario_sha256":"ab","set":[],"vary":[{"key":"params.k","values":["10","20"]}],"mode":"event","first_seed":1,"seeds":2,"points":2,"runs":4,"shard":null,"first_run":0,"end_run":4,"completed":4,"partial":false}"#;
    feed("Manifest", 6, &[manifest.to_vec()], |b| {
        if let Ok(m) = serde_json::from_slice::<Manifest>(b) {
            let _ = (m.grid(), m.keys());
            if m.seeds > 0 {
                let _ = m.seed_of(m.runs);
            }
        }
    });
    let keys = vec!["params.k".to_string()];
    let header = runs_header(&keys, Mode::Event);
    let runs = format!(
        "{}\n10,1,1,true,false,412.5,500,601,700,20,25,100,200,0.3,ab\n20,2,0.5,true,false,,,,,,,5,6,7,cd\n",
        header.join(",")
    );
    feed("runs.csv", 7, &[runs.into_bytes()], |b| {
        let mut rd = csv::ReaderBuilder::new().flexible(true).from_reader(b);
        for row in rd.records().take(64).flatten() {
            let _ = RunRecord::parse(&row, 1, &header);
        }
    });
}

#[test]
fn traces_and_points_for_the_plots() {
    let csv = b"time_ns,node,kind,peer,request,choice,count,answers\n1,2,poll,,3,1,15,20\n5,2,decide,,,1,,\n7,3,query,4,9,,,\n".to_vec();
    feed("trace.csv", 8, &[csv], |b| {
        let _ = luxsim::plot::read_run(b, false, None, Path::new("t.csv"));
    });
    let jsonl = br#"{"time_ns":1,"node":2,"kind":"poll","peer":null,"request":3,"choice":1,"count":15,"answers":20}
{"time_ns":5,"node":2,"kind":"decide","peer":null,"request":null,"choice":1,"count":null,"answers":null}
"#
    .to_vec();
    feed("trace.jsonl", 9, &[jsonl], |b| {
        let _ = luxsim::plot::read_run(b, true, None, Path::new("t.jsonl"));
    });
    let points = b"params.k,runs,finality_runs,finality_mean_ms,finality_p50_ms,finality_p90_ms,finality_p99_ms,safety_violation_share,finished_share\n10,2,2,200,100,300,300,0.5,0.5\n20,1,0,,,,,0,0\n".to_vec();
    feed("points.csv", 10, &[points], |b| {
        let _ = luxsim::plot::read_sweep(b, Path::new("points.csv"));
    });
}

#[test]
fn baselines() {
    let seeds = vec![shipped("results/baseline.json")];
    feed("Baseline::parse", 11, &seeds, |b| {
        let _ = luxsim::experiment::Baseline::parse(b, "baseline.json");
    });
}

#[cfg(feature = "bridge")]
#[test]
fn bridge_frames_and_node_files() {
    use luxsim::bridge::Frame;
    use luxsim::bridge::NodeFile;
    let frames: Vec<Vec<u8>> = vec![
        Frame::Query {
            from: 1,
            request: 7,
            budget_ns: 1_000_000,
        }
        .encode(),
        Frame::Answer {
            from: 3,
            request: 7,
            choice: 1,
        }
        .encode(),
    ];
    feed("Frame::decode", 12, &frames, |b| {
        if let Ok(f) = Frame::decode(b) {
            assert_eq!(f.encode(), b, "decode then encode gives the bytes back");
        }
    });
    let seeds: Vec<Vec<u8>> = ["examples/node.toml"].iter().map(|p| shipped(p)).collect();
    feed("NodeFile::parse", 13, &seeds, |b| {
        let Ok(text) = std::str::from_utf8(b) else {
            return;
        };
        if let Err(e) = NodeFile::parse(text, "n.toml") {
            let m = e.to_string();
            if !m.starts_with("cannot read") {
                assert_located(&m, "n.toml", text);
            }
        }
    });
    // The YAML layout: never a panic, every error located, never a TOML error.
    let seeds: Vec<Vec<u8>> = ["examples/config.yaml", "deploy/compose/node-0.yaml"]
        .iter()
        .map(|p| shipped(p))
        .collect();
    feed("NodeFile::parse_yaml", 14, &seeds, |b| {
        let Ok(text) = std::str::from_utf8(b) else {
            return;
        };
        if let Err(e) = NodeFile::parse_yaml(text, "n.yaml") {
            let m = e.to_string();
            assert_located(&m, "n.yaml", text);
            assert!(!m.contains("TOML"), "{m}");
        }
    });
}
