//! Harness mode (avalanchego's `Network.Round`) in the simulator: avalanchego's consistency
//! case (`tree_test.go`, TestSnowballConsistent: 50 colours, 100 nodes, default parameters,
//! which asserts agreement) agrees with the tree and stalls flat; a disagreement stops the
//! run as avalanchego's loop stops; runs are reproducible.

use luxsim::sim::{run, End, RunOptions, Scenario, Summary};
use std::path::Path;

fn colours(sets: &[&str], seed: u64) -> Summary {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/colours.toml");
    let mut all = vec![
        "mode=\"harness\"".to_string(),
        "max_rounds=40000".to_string(),
    ];
    all.extend(sets.iter().map(|s| s.to_string()));
    let mut s = Scenario::load(&path, &all).unwrap();
    s.seed = seed;
    run(&s, &RunOptions::default()).unwrap().summary
}

#[test]
fn fifty_colours_agree_in_harness_mode_with_the_tree() {
    for seed in 1..=4 {
        let s = colours(&[], seed);
        assert_eq!(s.mode, "harness");
        assert_eq!(s.ended, End::Finalized, "seed {seed}: {s}");
        assert!(s.agreement, "seed {seed}: {s}");
        assert_eq!(s.decided.len(), 1, "seed {seed}: {s}");
        let rounds = s.rounds.unwrap();
        // One poll a round: every node's polls add up to the rounds run.
        assert_eq!(s.events, rounds, "seed {seed}");
        assert!(rounds < 40_000, "seed {seed}: {rounds}");
    }
}

#[test]
fn fifty_colours_stall_flat_in_harness_mode() {
    let s = colours(&["decision=\"flat\"", "max_rounds=5000"], 1);
    assert_eq!(s.ended, End::MaxRounds, "{s}");
    assert!(s.decided.is_empty(), "{s}");
}

#[test]
fn a_disagreement_stops_the_run() {
    // k = 1, alpha 1, beta 1: each node finalizes the colour of the one node it samples.
    let sets = [
        "params.k=1",
        "params.alpha_preference=1",
        "params.alpha_confidence=1",
        "params.beta=1",
        "params.concurrent_polls=1",
        "workload.choices=2",
    ];
    let stopped = (1..=20)
        .map(|seed| colours(&sets, seed))
        .find(|s| s.ended == End::SafetyViolation);
    let s = stopped.expect("some seed of 20 disagrees");
    assert!(!s.agreement, "{s}");
    assert_eq!(s.decided.len(), 2, "{s}");
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let (a, b) = (colours(&[], 7), colours(&[], 7));
    assert_eq!(a.digest, b.digest);
    assert_eq!(a.rounds, b.rounds);
    assert_ne!(a.digest, colours(&[], 8).digest);
}

#[test]
fn byzantine_nodes_chosen_by_stake_share_are_named_in_the_summary() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/adversary-stake.toml");
    let s = Scenario::load(&path, &[]).unwrap();
    let sum = run(&s, &RunOptions::default()).unwrap().summary;
    let b = &sum.byzantine;
    assert!(b.stake_share >= 0.15, "{b:?}");
    assert_eq!(b.ids.len(), b.count);
    assert!(b.ids.windows(2).all(|w| w[0] < w[1]), "ascending");
    assert!((b.share - b.count as f64 / 200.0).abs() < 1e-12);
    // Pareto stake: the node share differs from the stake share.
    assert!((b.share - b.stake_share).abs() > 1e-3, "{b:?}");
}
