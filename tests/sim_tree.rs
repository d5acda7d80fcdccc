//! The snowball tree in the simulator: avalanchego's consistency case (50 colours, 100
//! nodes, default parameters; `tree_test.go`, TestSnowballConsistent, which asserts only
//! agreement) as `tests/scenarios/colours.toml`. The tree agrees in event and lockstep
//! mode for several seeds; the flat decision never moves, since no colour gets 15 of 20
//! votes.

use luxsim::sim::{run, RunOptions, Scenario, Summary};
use std::path::Path;

fn colours(sets: &[&str], seed: u64) -> Summary {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/colours.toml");
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let mut s = Scenario::load(&path, &sets).unwrap();
    s.seed = seed;
    run(&s, &RunOptions::default()).unwrap().summary
}

#[test]
fn fifty_colours_agree_with_the_tree_in_both_modes() {
    for mode in ["event", "lockstep"] {
        for seed in 1..=4 {
            let s = colours(&[&format!("mode=\"{mode}\"")], seed);
            assert_eq!(s.decision.as_deref(), Some("tree"));
            assert_eq!(s.honest_finalized, 1.0, "{mode} seed {seed}: {s}");
            assert!(s.agreement, "{mode} seed {seed}: {s}");
            assert_eq!(s.decided.len(), 1, "{mode} seed {seed}: {s}");
        }
    }
}

#[test]
fn fifty_colours_never_move_flat() {
    for mode in ["event", "lockstep"] {
        let s = colours(&[&format!("mode=\"{mode}\""), "decision=\"flat\""], 1);
        assert_eq!(s.decision.as_deref(), Some("flat"));
        assert_eq!(s.honest_finalized, 0.0, "{mode}: {s}");
        assert!(s.decided.is_empty(), "{mode}: {s}");
    }
}
