//! Runs keep their digests: every run of `tests/digests/runs.txt` (the shipped scenarios and
//! the fault-heavy ones of `tests/scenarios/`, a few seeds each) must give the digest
//! recorded in `tests/digests/corpus.txt`. A change that moves a digest on purpose (a new
//! random stream, a fixed tie-break) records the corpus anew with `tests/digests/record.sh`
//! and says why in its commit; any other change must leave every digest as it was.

use luxsim::sim::{self, RunOptions, Scenario};
use std::path::Path;

#[test]
fn every_run_of_the_corpus_keeps_its_digest() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = std::fs::read_to_string(root.join("tests/digests/corpus.txt")).unwrap();
    let mut changed = Vec::new();
    let mut runs = 0;
    for line in corpus.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [path, sets, seed, digest] = f[..] else {
            panic!("bad corpus line {line:?}");
        };
        let sets: Vec<String> = match sets {
            "-" => Vec::new(),
            s => s.split(',').map(String::from).collect(),
        };
        let mut s = Scenario::load(&root.join(path), &sets).unwrap();
        s.seed = seed.parse().unwrap();
        let got = sim::run(&s, &RunOptions::default()).unwrap().summary.digest;
        runs += 1;
        if got != digest {
            changed.push(format!("{path} {seed}: {digest} -> {got}"));
        }
    }
    assert!(runs >= 38, "the corpus has its runs");
    assert!(
        changed.is_empty(),
        "digests changed:\n{}",
        changed.join("\n")
    );
}
