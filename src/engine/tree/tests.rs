//! The tree against avalanchego's own tests (`snow/consensus/snowball/tree_test.go`, the
//! 2019-2026 version, run with `SnowballFactory`): the same calls, the same asserted
//! preferences, finalizations, poll results and printed trees. avalanchego's ids have 256
//! bits and ours 64, so `Bits = [a, 256)` reads `[a, 64)` here and bit 255 is bit 63; the
//! colours keep the bits avalanchego's hashed ids have where they differ (Red, Blue and
//! Green are `Empty.Prefix(0..3)`, whose first bytes are 0x2c, 0x3d and 0xe9).

use super::*;

const RED: u64 = 0x2c;
const BLUE: u64 = 0x3d;
const GREEN: u64 = 0xe9;

use crate::engine::params::test_params as params;

fn p1(beta: usize) -> ConsensusParams {
    params(1, 1, 1, beta)
}

fn snowball(p: &ConsensusParams, initial: u64, adds: &[u64]) -> Tree {
    let mut t = Tree::new(Protocol::Snowball, p, initial);
    for &a in adds {
        t.add(a);
    }
    t
}

/// A poll of one vote for each id listed (repeats count).
fn poll(t: &mut Tree, ids: &[u64]) -> bool {
    let mut bag: Vec<(u64, u32)> = Vec::new();
    for &id in ids {
        match bag.iter_mut().find(|(i, _)| *i == id) {
            Some(e) => e.1 += 1,
            None => bag.push((id, 1)),
        }
    }
    t.record_poll(&mut bag)
}

/// Expands the compact notation of a printed tree: tokens joined by " ; ", each `>` one
/// level of indentation, `U(strength,confidence,F|T)[a,b)` a unary Snowball line and
/// `B(preference,s0,s1,confidence,F|T,slush)@bit` a binary one.
fn expand(compact: &str) -> String {
    let fin = |s: &str| if s == "T" { "true" } else { "false" };
    compact
        .split(" ; ")
        .map(|tok| {
            let depth = tok.chars().take_while(|&c| c == '>').count();
            let tok = &tok[depth..];
            let indent = "    ".repeat(depth);
            let open = tok.find('(').unwrap();
            let close = tok.find(')').unwrap();
            let a: Vec<&str> = tok[open + 1..close].split(',').collect();
            let rest = &tok[close + 1..];
            match &tok[..open] {
                "U" => {
                    let range = rest.trim_start_matches('[').trim_end_matches(')');
                    let (lo, hi) = range.split_once(',').unwrap();
                    format!(
                        "{indent}SB(PreferenceStrength = {}, SF(Confidence = [{}], Finalized = {})) Bits = [{lo}, {hi})",
                        a[0], a[1], fin(a[2])
                    )
                }
                "B" => format!(
                    "{indent}SB(Preference = {}, PreferenceStrength[0] = {}, PreferenceStrength[1] = {}, SF(Confidence = [{}], Finalized = {}, SL(Preference = {}))) Bit = {}",
                    a[0], a[1], a[2], a[3], fin(a[4]), a[5], rest.trim_start_matches('@')
                ),
                other => panic!("bad token {other}"),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn shows(t: &Tree, compact: &str) {
    assert_eq!(t.to_string(), expand(compact));
}

#[test]
fn bit_helpers() {
    assert_eq!(mask(0, 64), u64::MAX);
    assert_eq!(mask(1, 3), 0b110);
    assert_eq!(mask(3, 3), 0);
    assert!(equal_subset(0, 1, 0b10, 0b00));
    assert!(!equal_subset(0, 2, 0b10, 0b00));
    assert_eq!(first_difference(0, 64, 4, 6), Some(1));
    assert_eq!(first_difference(2, 64, 1, 0), None);
    assert_eq!(first_difference(0, 64, RED, BLUE), Some(0));
    assert_eq!(first_difference(0, 64, RED, GREEN), Some(0));
    assert_eq!(first_difference(0, 64, BLUE, GREEN), Some(2));
}

#[test]
fn singleton() {
    let mut t = snowball(&p1(2), RED, &[]);
    assert!(!t.finalized());
    assert!(poll(&mut t, &[RED]));
    assert!(!t.finalized());
    assert!(!poll(&mut t, &[]));
    assert!(!t.finalized());
    assert!(poll(&mut t, &[RED]));
    assert!(!t.finalized());
    assert!(poll(&mut t, &[RED]));
    assert_eq!(t.preference(), RED);
    assert!(t.finalized());
    t.add(BLUE);
    assert!(t.finalized());
    poll(&mut t, &[BLUE]);
    assert_eq!(t.preference(), RED);
    assert!(t.finalized());
}

#[test]
fn record_unsuccessful_poll() {
    let mut t = snowball(&p1(3), RED, &[]);
    assert!(poll(&mut t, &[RED]));
    t.record_unsuccessful_poll();
    assert!(poll(&mut t, &[RED]));
    assert!(!t.finalized());
    assert!(poll(&mut t, &[RED]));
    assert!(!t.finalized());
    assert!(poll(&mut t, &[RED]));
    assert_eq!(t.preference(), RED);
    assert!(t.finalized());
}

#[test]
fn binary() {
    let mut t = snowball(&p1(2), RED, &[BLUE]);
    assert_eq!((t.preference(), t.finalized()), (RED, false));
    assert!(poll(&mut t, &[BLUE]));
    assert_eq!((t.preference(), t.finalized()), (BLUE, false));
    assert!(poll(&mut t, &[RED]));
    assert_eq!(
        (t.preference(), t.finalized()),
        (BLUE, false),
        "a 1:1 tie keeps Blue"
    );
    assert!(poll(&mut t, &[BLUE]));
    assert_eq!((t.preference(), t.finalized()), (BLUE, false));
    assert!(poll(&mut t, &[BLUE]));
    assert_eq!((t.preference(), t.finalized()), (BLUE, true));
}

#[test]
fn last_binary() {
    let (zero, one) = (0, 1u64 << 63);
    let mut t = snowball(&p1(2), zero, &[one, one]);
    shows(&t, "U(0,0,F)[0,63) ; >B(0,0,0,0,F,0)@63");
    assert_eq!((t.preference(), t.finalized()), (zero, false));
    assert!(poll(&mut t, &[one]));
    shows(&t, "U(1,1,F)[0,63) ; >B(1,0,1,1,F,1)@63");
    assert_eq!((t.preference(), t.finalized()), (one, false));
    assert!(poll(&mut t, &[one]));
    shows(&t, "B(1,0,2,2,T,1)@63");
    assert_eq!((t.preference(), t.finalized()), (one, true));
}

#[test]
fn first_binary() {
    let mut t = snowball(&p1(2), 0, &[1]);
    shows(&t, "B(0,0,0,0,F,0)@0 ; >U(0,0,F)[1,64) ; >U(0,0,F)[1,64)");
    assert!(poll(&mut t, &[1]));
    shows(&t, "B(1,0,1,1,F,1)@0 ; >U(0,0,F)[1,64) ; >U(1,1,F)[1,64)");
    assert_eq!((t.preference(), t.finalized()), (1, false));
    assert!(poll(&mut t, &[1]));
    shows(&t, "U(2,2,T)[1,64)");
    assert_eq!((t.preference(), t.finalized()), (1, true));
}

#[test]
fn add_decided_first_bit() {
    let (c1000, c1100, c0110) = (0x01, 0x03, 0x06);
    let mut t = snowball(&p1(2), 0, &[c1000, c1100]);
    shows(&t, "B(0,0,0,0,F,0)@0 ; >U(0,0,F)[1,64) ; >B(0,0,0,0,F,0)@1 ; >>U(0,0,F)[2,64) ; >>U(0,0,F)[2,64)");
    assert!(poll(&mut t, &[c1000]));
    shows(&t, "B(1,0,1,1,F,1)@0 ; >U(0,0,F)[1,64) ; >B(0,1,0,1,F,0)@1 ; >>U(1,1,F)[2,64) ; >>U(0,0,F)[2,64)");
    assert_eq!((t.preference(), t.finalized()), (c1000, false));
    assert!(poll(&mut t, &[c1100]));
    let e = "B(0,1,1,1,F,1)@1 ; >U(1,1,F)[2,64) ; >U(1,1,F)[2,64)";
    shows(&t, e);
    assert_eq!((t.preference(), t.finalized()), (c1000, false));
    t.add(c0110);
    shows(&t, e);
}

#[test]
fn add_previously_rejected() {
    let (zero, one, two) = (0, 1, 2);
    let mut t = snowball(&p1(2), zero, &[two]);
    shows(
        &t,
        "U(0,0,F)[0,1) ; >B(0,0,0,0,F,0)@1 ; >>U(0,0,F)[2,64) ; >>U(0,0,F)[2,64)",
    );
    assert!(poll(&mut t, &[zero]));
    shows(
        &t,
        "U(1,1,F)[0,1) ; >B(0,1,0,1,F,0)@1 ; >>U(1,1,F)[2,64) ; >>U(0,0,F)[2,64)",
    );
    assert!(poll(&mut t, &[two]));
    let e = "B(0,1,1,1,F,1)@1 ; >U(1,1,F)[2,64) ; >U(1,1,F)[2,64)";
    shows(&t, e);
    assert_eq!((t.preference(), t.finalized()), (zero, false));
    t.add(one);
    shows(&t, e);
    assert_eq!((t.preference(), t.finalized()), (zero, false));
}

#[test]
fn new_unary() {
    let mut t = snowball(&p1(3), 0, &[1]);
    shows(&t, "B(0,0,0,0,F,0)@0 ; >U(0,0,F)[1,64) ; >U(0,0,F)[1,64)");
    assert!(poll(&mut t, &[1]));
    shows(&t, "B(1,0,1,1,F,1)@0 ; >U(0,0,F)[1,64) ; >U(1,1,F)[1,64)");
    assert!(poll(&mut t, &[1]));
    shows(&t, "B(1,0,2,2,F,1)@0 ; >U(0,0,F)[1,64) ; >U(2,2,F)[1,64)");
    assert_eq!((t.preference(), t.finalized()), (1, false));
}

#[test]
fn transitive_reset() {
    let (zero, two, eight) = (0, 0x02, 0x08);
    let mut t = snowball(&p1(2), zero, &[two, eight]);
    shows(&t, "U(0,0,F)[0,1) ; >B(0,0,0,0,F,0)@1 ; >>U(0,0,F)[2,3) ; >>>B(0,0,0,0,F,0)@3 ; >>>>U(0,0,F)[4,64) ; >>>>U(0,0,F)[4,64) ; >>U(0,0,F)[2,64)");
    assert!(poll(&mut t, &[zero]));
    shows(&t, "U(1,1,F)[0,1) ; >B(0,1,0,1,F,0)@1 ; >>U(1,1,F)[2,3) ; >>>B(0,1,0,1,F,0)@3 ; >>>>U(1,1,F)[4,64) ; >>>>U(0,0,F)[4,64) ; >>U(0,0,F)[2,64)");
    assert!(!poll(&mut t, &[]));
    shows(&t, "U(1,0,F)[0,1) ; >B(0,1,0,1,F,0)@1 ; >>U(1,1,F)[2,3) ; >>>B(0,1,0,1,F,0)@3 ; >>>>U(1,1,F)[4,64) ; >>>>U(0,0,F)[4,64) ; >>U(0,0,F)[2,64)");
    assert!(poll(&mut t, &[zero]));
    shows(&t, "U(2,1,F)[0,1) ; >B(0,2,0,1,F,0)@1 ; >>U(2,1,F)[2,3) ; >>>B(0,2,0,1,F,0)@3 ; >>>>U(2,1,F)[4,64) ; >>>>U(0,0,F)[4,64) ; >>U(0,0,F)[2,64)");
    assert_eq!((t.preference(), t.finalized()), (zero, false));
    assert!(poll(&mut t, &[zero]));
    shows(&t, "U(3,2,T)[4,64)");
    assert_eq!((t.preference(), t.finalized()), (zero, true));
}

#[test]
fn trinary() {
    let mut t = snowball(&p1(2), GREEN, &[RED, BLUE]);
    assert_eq!((t.preference(), t.finalized()), (GREEN, false));
    assert!(poll(&mut t, &[RED]));
    assert_eq!((t.preference(), t.finalized()), (RED, false));
    assert!(poll(&mut t, &[BLUE]));
    assert_eq!((t.preference(), t.finalized()), (RED, false));
    assert!(poll(&mut t, &[GREEN]));
    assert_eq!(
        t.preference(),
        BLUE,
        "a vote for Green makes Blue preferred, as intended"
    );
    assert!(!poll(&mut t, &[RED]), "Red is already rejected");
    assert_eq!((t.preference(), t.finalized()), (BLUE, false));
    assert!(poll(&mut t, &[GREEN]));
    assert_eq!((t.preference(), t.finalized()), (GREEN, false));
}

#[test]
fn close_trinary() {
    let (yellow, cyan, magenta) = (0x01, 0x02, 0x03);
    let mut t = snowball(&p1(2), yellow, &[cyan, magenta]);
    assert!(poll(&mut t, &[yellow]));
    assert_eq!(t.preference(), yellow);
    assert!(poll(&mut t, &[magenta]));
    assert_eq!(t.preference(), yellow);
    assert!(!poll(&mut t, &[cyan]));
    assert_eq!(t.preference(), yellow);
    assert!(!poll(&mut t, &[cyan]));
    assert_eq!((t.preference(), t.finalized()), (yellow, false));
}

#[test]
fn reset_child() {
    let (c0000, c0100, c1000) = (0, 0x02, 0x01);
    let mut t = snowball(&p1(2), c0000, &[c0100, c1000]);
    assert!(poll(&mut t, &[c0000]));
    shows(&t, "B(0,1,0,1,F,0)@0 ; >B(0,1,0,1,F,0)@1 ; >>U(1,1,F)[2,64) ; >>U(0,0,F)[2,64) ; >U(0,0,F)[1,64)");
    assert!(!poll(&mut t, &[]));
    shows(&t, "B(0,1,0,0,F,0)@0 ; >B(0,1,0,1,F,0)@1 ; >>U(1,1,F)[2,64) ; >>U(0,0,F)[2,64) ; >U(0,0,F)[1,64)");
    assert!(poll(&mut t, &[c0000]));
    shows(&t, "B(0,2,0,1,F,0)@0 ; >B(0,2,0,1,F,0)@1 ; >>U(2,1,F)[2,64) ; >>U(0,0,F)[2,64) ; >U(0,0,F)[1,64)");
    assert_eq!((t.preference(), t.finalized()), (c0000, false));
}

#[test]
fn reset_sibling() {
    let (c0000, c0100, c1000) = (0, 0x02, 0x01);
    let mut t = snowball(&p1(2), c0000, &[c0100, c1000]);
    assert!(poll(&mut t, &[c0100]));
    shows(&t, "B(0,1,0,1,F,0)@0 ; >B(1,0,1,1,F,1)@1 ; >>U(0,0,F)[2,64) ; >>U(1,1,F)[2,64) ; >U(0,0,F)[1,64)");
    assert!(poll(&mut t, &[c1000]));
    shows(&t, "B(0,1,1,1,F,1)@0 ; >B(1,0,1,1,F,1)@1 ; >>U(0,0,F)[2,64) ; >>U(1,1,F)[2,64) ; >U(1,1,F)[1,64)");
    assert!(poll(&mut t, &[c0100]));
    shows(&t, "B(0,2,1,1,F,0)@0 ; >B(1,0,2,1,F,1)@1 ; >>U(0,0,F)[2,64) ; >>U(2,1,F)[2,64) ; >U(1,1,F)[1,64)");
    assert_eq!((t.preference(), t.finalized()), (c0100, false));
}

#[test]
fn five_colours_give_the_same_shape_in_any_order() {
    // avalanchego's colours are hashes; any five distinct ids make the point.
    let colours = [0x2c_u64, 0x3d, 0xe9, 0x51, 0x96];
    let t0 = snowball(&params(5, 5, 5, 20), colours[4], &colours[..4]);
    let t1 = snowball(
        &params(5, 5, 5, 20),
        colours[3],
        &[colours[0], colours[1], colours[2], colours[4]],
    );
    let depth = |t: &Tree| t.to_string().matches("    ").count();
    assert_eq!(depth(&t0), depth(&t1));
}

#[test]
fn fine_grained() {
    let (c0000, c1000, c1100, c0010) = (0, 1, 3, 4);
    let mut t = snowball(&p1(2), c0000, &[]);
    shows(&t, "U(0,0,F)[0,64)");
    t.add(c1100);
    shows(&t, "B(0,0,0,0,F,0)@0 ; >U(0,0,F)[1,64) ; >U(0,0,F)[1,64)");
    t.add(c1000);
    shows(&t, "B(0,0,0,0,F,0)@0 ; >U(0,0,F)[1,64) ; >B(1,0,0,0,F,1)@1 ; >>U(0,0,F)[2,64) ; >>U(0,0,F)[2,64)");
    t.add(c0010);
    shows(&t, "B(0,0,0,0,F,0)@0 ; >U(0,0,F)[1,2) ; >>B(0,0,0,0,F,0)@2 ; >>>U(0,0,F)[3,64) ; >>>U(0,0,F)[3,64) ; >B(1,0,0,0,F,1)@1 ; >>U(0,0,F)[2,64) ; >>U(0,0,F)[2,64)");
    assert!(poll(&mut t, &[c0000]));
    shows(&t, "B(0,1,0,1,F,0)@0 ; >U(1,1,F)[1,2) ; >>B(0,1,0,1,F,0)@2 ; >>>U(1,1,F)[3,64) ; >>>U(0,0,F)[3,64) ; >B(1,0,0,0,F,1)@1 ; >>U(0,0,F)[2,64) ; >>U(0,0,F)[2,64)");
    assert!(poll(&mut t, &[c0010]));
    shows(&t, "B(0,1,1,1,F,1)@2 ; >U(1,1,F)[3,64) ; >U(1,1,F)[3,64)");
    assert_eq!((t.preference(), t.finalized()), (c0000, false));
    assert!(poll(&mut t, &[c0010]));
    shows(&t, "U(2,2,T)[3,64)");
    assert_eq!((t.preference(), t.finalized()), (c0010, true));
}

#[test]
fn double_add() {
    let t = snowball(&p1(3), RED, &[RED]);
    shows(&t, "U(0,0,F)[0,64)");
    assert_eq!((t.preference(), t.finalized()), (RED, false));
}

#[test]
fn filter_binary_children() {
    let (c0000, c1000, c0100, c0010) = (0, 1, 2, 4);
    let mut t = snowball(&p1(2), c0000, &[]);
    t.add(c1000);
    shows(&t, "B(0,0,0,0,F,0)@0 ; >U(0,0,F)[1,64) ; >U(0,0,F)[1,64)");
    t.add(c0010);
    shows(&t, "B(0,0,0,0,F,0)@0 ; >U(0,0,F)[1,2) ; >>B(0,0,0,0,F,0)@2 ; >>>U(0,0,F)[3,64) ; >>>U(0,0,F)[3,64) ; >U(0,0,F)[1,64)");
    assert!(poll(&mut t, &[c0000]));
    shows(&t, "B(0,1,0,1,F,0)@0 ; >U(1,1,F)[1,2) ; >>B(0,1,0,1,F,0)@2 ; >>>U(1,1,F)[3,64) ; >>>U(0,0,F)[3,64) ; >U(0,0,F)[1,64)");
    t.add(c0100);
    shows(&t, "B(0,1,0,1,F,0)@0 ; >B(0,1,0,1,F,0)@1 ; >>B(0,1,0,1,F,0)@2 ; >>>U(1,1,F)[3,64) ; >>>U(0,0,F)[3,64) ; >>U(0,0,F)[2,64) ; >U(0,0,F)[1,64)");
    assert!(poll(&mut t, &[c0100]));
    shows(&t, "B(0,1,1,1,F,1)@1 ; >B(0,1,0,1,F,0)@2 ; >>U(1,1,F)[3,64) ; >>U(0,0,F)[3,64) ; >U(1,1,F)[2,64)");
    assert_eq!((t.preference(), t.finalized()), (c0000, false));
}

#[test]
fn record_preference_poll_binary() {
    let mut t = snowball(&params(3, 2, 3, 2), RED, &[BLUE]);
    assert!(poll(&mut t, &[BLUE, BLUE, BLUE]));
    assert_eq!((t.preference(), t.finalized()), (BLUE, false));
    assert!(poll(&mut t, &[RED, RED]));
    assert_eq!((t.preference(), t.finalized()), (BLUE, false));
    assert!(poll(&mut t, &[RED, RED, RED]));
    assert_eq!((t.preference(), t.finalized()), (RED, false));
    assert!(poll(&mut t, &[RED, RED, RED]));
    assert_eq!((t.preference(), t.finalized()), (RED, true));
}

#[test]
fn record_preference_poll_unary() {
    let mut t = snowball(&params(3, 2, 3, 2), RED, &[]);
    assert!(poll(&mut t, &[RED, RED]));
    assert_eq!((t.preference(), t.finalized()), (RED, false));
    t.add(BLUE);
    assert!(poll(&mut t, &[BLUE, BLUE, BLUE]));
    assert_eq!((t.preference(), t.finalized()), (RED, false));
    assert!(poll(&mut t, &[BLUE, BLUE, BLUE]));
    assert_eq!((t.preference(), t.finalized()), (BLUE, true));
}

/// With Snowflake nodes (avalanchego's production factory) the preference follows the last
/// successful poll (the 2019-2024 `tree_test.go`, which ran with `SnowflakeFactory`).
#[test]
fn snowflake_preferences_follow_the_last_successful_poll() {
    let flake = |initial, adds: &[u64]| {
        let mut t = Tree::new(Protocol::Snowflake, &p1(2), initial);
        adds.iter().for_each(|&a| t.add(a));
        t
    };
    let mut t = flake(RED, &[BLUE]);
    let mut seen = Vec::new();
    for c in [BLUE, RED, BLUE, BLUE] {
        poll(&mut t, &[c]);
        seen.push((t.preference(), t.finalized()));
    }
    assert_eq!(
        seen,
        [(BLUE, false), (RED, false), (BLUE, false), (BLUE, true)]
    );
    assert_eq!(
        t.to_string(),
        "SF(Confidence = [2], Finalized = true) Bits = [1, 64)"
    );

    let mut t = flake(GREEN, &[RED, BLUE]);
    let mut seen = Vec::new();
    for c in [RED, BLUE, GREEN, RED, GREEN] {
        poll(&mut t, &[c]);
        seen.push(t.preference());
    }
    assert_eq!(seen, [RED, BLUE, GREEN, GREEN, GREEN]);

    let mut t = params(3, 2, 3, 2);
    t.k = 3;
    let mut t = Tree::new(Protocol::Snowflake, &t, RED);
    t.add(BLUE);
    let mut seen = Vec::new();
    for votes in [[BLUE; 3].as_slice(), &[RED, RED], &[RED; 3], &[RED; 3]] {
        poll(&mut t, votes);
        seen.push((t.preference(), t.finalized()));
    }
    assert_eq!(
        seen,
        [(BLUE, false), (RED, false), (RED, false), (RED, true)]
    );
}

/// Counters after finalization, as avalanchego's: a finalized unary Snowball still counts
/// strength and confidence; a finalized binary Snowflake ignores polls but its Snowball
/// strengths still move.
#[test]
fn counters_keep_moving_after_finalization() {
    let mut t = snowball(&p1(2), 0, &[1]);
    poll(&mut t, &[1]);
    poll(&mut t, &[1]);
    shows(&t, "U(2,2,T)[1,64)");
    assert!(poll(&mut t, &[1]));
    shows(&t, "U(3,3,T)[1,64)");
    assert!(!poll(&mut t, &[]));
    shows(&t, "U(3,0,T)[1,64)");
    assert!((t.preference(), t.finalized()) == (1, true));

    let (zero, one) = (0, 1u64 << 63);
    let mut t = snowball(&p1(2), zero, &[one]);
    poll(&mut t, &[one]);
    poll(&mut t, &[one]);
    shows(&t, "B(1,0,2,2,T,1)@63");
    poll(&mut t, &[zero]);
    shows(&t, "B(1,1,2,2,T,1)@63");
    assert_eq!(t.preference(), one, "the finalized Snowflake side");
}

/// A tree node stays at 40 bytes: millions of trees are held at once (lockstep runs).
#[test]
fn nodes_stay_small() {
    assert!(
        std::mem::size_of::<Node>() <= 40,
        "{}",
        std::mem::size_of::<Node>()
    );
}
