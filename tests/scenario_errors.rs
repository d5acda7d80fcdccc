//! Scenario files with mistakes: each error names the file, line and column of the culprit.

use luxsim::sim::scenario::{Scenario, ScenarioError};

/// Parses `text` as `bad.toml` with `--set` arguments `sets`; it must fail.
fn fail(text: &str, sets: &[&str]) -> ScenarioError {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    match Scenario::parse(text, "bad.toml", &sets) {
        Ok(s) => panic!("parsed: {s:?}"),
        Err(e) => e,
    }
}

/// The (kind, line, column, message) of a located error.
fn located(e: &ScenarioError) -> (&'static str, usize, usize, String) {
    match e {
        ScenarioError::Syntax {
            origin,
            line,
            column,
            message,
        } => {
            assert_eq!(origin, "bad.toml");
            ("syntax", *line, *column, message.clone())
        }
        ScenarioError::Invalid {
            origin,
            line,
            column,
            message,
        } => {
            assert_eq!(origin, "bad.toml");
            ("invalid", *line, *column, message.clone())
        }
        other => panic!("not a located error: {other:?}"),
    }
}

const GOOD: &str = r#"name = "small"
seed = 1
[params]
preset = "local"
[network]
nodes = 10
poll_timeout = "250ms"
"#;

#[test]
fn the_base_text_is_valid() {
    let s = Scenario::parse(GOOD, "bad.toml", &[]).unwrap();
    assert_eq!((s.params.k, s.network.nodes), (3, 10));
}

#[test]
fn an_unknown_key_points_at_the_key() {
    let text = "name = \"x\"\n[params]\npreset = \"local\"\n[network]\nnodes = 10\n\n    kk = 4\n";
    let e = fail(text, &[]);
    let (kind, line, column, message) = located(&e);
    assert_eq!((kind, line, column), ("syntax", 7, 5));
    assert!(
        message.starts_with("unknown field `kk`, expected one of `nodes`"),
        "{message}"
    );
    assert!(
        e.to_string()
            .starts_with("bad.toml:7:5: unknown field `kk`, expected one of "),
        "{e}"
    );

    let text = GOOD.replace("seed = 1", "seed = 1\nengnie = \"slush\"");
    let (kind, line, column, _) = located(&fail(&text, &[]));
    assert_eq!((kind, line, column), ("syntax", 3, 1));
}

#[test]
fn a_wrong_type_points_at_the_value() {
    let e = fail(&GOOD.replace("nodes = 10", "nodes = \"many\""), &[]);
    let (kind, line, column, message) = located(&e);
    assert_eq!((kind, line, column), ("syntax", 6, 9));
    assert_eq!(message, "invalid type: string \"many\", expected usize");
    assert_eq!(
        e.to_string(),
        "bad.toml:6:9: invalid type: string \"many\", expected usize"
    );
}

#[test]
fn a_bad_duration_points_at_the_value() {
    let e = fail(&GOOD.replace("\"250ms\"", "\"fast\""), &[]);
    let (kind, line, column, message) = located(&e);
    assert_eq!((kind, line, column), ("syntax", 7, 16));
    assert!(message.contains("\"fast\""), "{message}");
}

#[test]
fn a_toml_syntax_error_has_a_location() {
    let e = fail(&GOOD.replace("nodes = 10", "nodes = 10 10"), &[]);
    let (kind, line, column, message) = located(&e);
    assert_eq!((kind, line, column), ("syntax", 6, 12));
    assert!(message.contains("expected newline"), "{message}");
}

#[test]
fn invalid_params_give_the_rule_at_the_key() {
    let text = GOOD.replace("preset = \"local\"", "k = 20\nalpha_preference = 10");
    let text = text.replace("nodes = 10", "nodes = 100");
    let e = fail(&text, &[]);
    let (kind, line, column, message) = located(&e);
    assert_eq!((kind, line, column), ("invalid", 5, 20));
    assert_eq!(
        message,
        "params: alpha_preference (10) must be greater than k/2 (10)"
    );
    assert_eq!(
        e.to_string(),
        "bad.toml:5:20: params: alpha_preference (10) must be greater than k/2 (10)"
    );
}

#[test]
fn an_unknown_preset_points_at_the_preset() {
    let e = fail(&GOOD.replace("\"local\"", "\"moon\""), &[]);
    let (kind, line, column, message) = located(&e);
    assert_eq!((kind, line, column), ("invalid", 4, 10));
    assert!(
        message.starts_with("params: unknown preset \"moon\""),
        "{message}"
    );
}

#[test]
fn k_must_fit_the_network_when_polls_sample_distinct_validators() {
    let testnet = GOOD.replace("preset = \"local\"", "preset = \"testnet\"");
    // Under stake units (the default) one validator may fill several of the 11 slots.
    assert!(Scenario::parse(&testnet, "bad.toml", &[]).is_ok());
    let distinct = testnet.replace("nodes = 10", "nodes = 10\nsampling = \"validators\"");
    let e = fail(&distinct, &[]);
    let (kind, line, column, message) = located(&e);
    assert_eq!((kind, line, column), ("invalid", 4, 10));
    assert!(
        message.starts_with("params.k (11) exceeds the 9 distinct validators"),
        "{message}"
    );
}

#[test]
fn a_bad_stake_unit_points_at_it() {
    let e = fail(
        &GOOD.replace("nodes = 10", "nodes = 10\nstake_unit = 0.0"),
        &[],
    );
    let (kind, line, column, message) = located(&e);
    assert_eq!((kind, line, column), ("invalid", 7, 14));
    assert!(
        message.starts_with("network.stake_unit (0) must be a positive"),
        "{message}"
    );
    let e = fail(
        &GOOD.replace("nodes = 10", "nodes = 10\nsampling = \"units\""),
        &[],
    );
    let (kind, line, _, message) = located(&e);
    assert_eq!((kind, line), ("syntax", 7));
    assert!(
        message.contains("stake") && message.contains("validators"),
        "{message}"
    );
}

#[test]
fn a_bad_set_is_a_bad_override() {
    for (arg, needle) in [
        ("network.nodes", "expected key.path=value"),
        (" =5", "empty key"),
        ("network..nodes=5", "empty segment"),
        ("network.nodes.x=5", "`network.nodes` is not a table"),
        ("name.x=5", "`name` is not a table"),
    ] {
        match fail(GOOD, &[arg]) {
            ScenarioError::BadOverride { arg: a, message } => {
                assert_eq!(a, arg);
                assert!(message.contains(needle), "{arg}: {message}");
            }
            other => panic!("{arg}: {other:?}"),
        }
    }
    let text = format!("{GOOD}[[network.partitions]]\nstart = \"1s\"\ngroups = [[0, 4]]\n");
    match fail(&text, &["network.partitions.1.end=\"2s\""]) {
        ScenarioError::BadOverride { message, .. } => {
            assert_eq!(message, "`network.partitions` has no element 1")
        }
        other => panic!("{other:?}"),
    }
    let e = fail(GOOD, &["network.nodes"]);
    assert_eq!(
        e.to_string(),
        "bad --set \"network.nodes\": expected key.path=value"
    );
}

#[test]
fn a_value_from_set_is_reported_as_such() {
    let e = fail(GOOD, &["network.loss=1.5"]);
    assert_eq!(
        e.to_string(),
        "bad.toml:0:0: network.loss (1.5) must be in [0, 1) (set by --set network.loss=1.5)"
    );
    let (kind, line, _, message) = located(&fail(GOOD, &["params.preset=moon"]));
    assert_eq!((kind, line), ("invalid", 0));
    assert!(
        message.starts_with("params: unknown preset \"moon\""),
        "{message}"
    );
    let e = fail(GOOD, &["network.nodes=2", "network.sampling=validators"]);
    let (kind, line, column, message) = located(&e);
    assert_eq!((kind, line, column), ("invalid", 0, 0));
    assert!(
        message.ends_with("(set by --set network.nodes=2)"),
        "{message}"
    );
    let e = fail(GOOD, &["network.poll_timeout=soon"]);
    let (kind, line, _, message) = located(&e);
    assert_eq!((kind, line), ("syntax", 0));
    assert!(
        message.ends_with("(set by --set network.poll_timeout=soon)"),
        "{message}"
    );
}

#[test]
fn a_partition_group_out_of_range_points_at_the_group() {
    let text =
        format!("{GOOD}[[network.partitions]]\nstart = \"1s\"\ngroups = [[0, 4], [5, 10]]\n");
    let e = fail(&text, &[]);
    let (kind, line, column, message) = located(&e);
    assert_eq!((kind, line, column), ("invalid", 10, 19));
    assert_eq!(
        message,
        "network.partitions[0].groups[1] ([5, 10]) must have first <= last < network.nodes (10)"
    );
    let text = text.replace("[5, 10]", "[4, 9]");
    let (kind, line, column, message) = located(&fail(&text, &[]));
    assert_eq!((kind, line, column), ("invalid", 10, 19));
    assert!(message.contains("overlaps groups[0]"), "{message}");
    let text = text
        .replace("[4, 9]", "[5, 9]")
        .replace("start = \"1s\"", "start = \"1s\"\nend = \"1s\"");
    let (kind, line, column, message) = located(&fail(&text, &[]));
    assert_eq!((kind, line, column), ("invalid", 10, 7));
    assert!(
        message.contains("end (1s) must be after start (1s)"),
        "{message}"
    );
}

#[test]
fn other_rules_point_at_their_key() {
    let cases = [
        ("name = \"small\"", "name = \"a b\"", 1, 8, "name \"a b\""),
        (
            "seed = 1",
            "seed = 1\n[workload]\nchoices = 3\ninitial = [0.5, 0.6, 0.1]",
            5,
            11,
            "sums to",
        ),
        (
            "nodes = 10",
            "nodes = 10\nloss = 1.0",
            7,
            8,
            "network.loss (1)",
        ),
        (
            "nodes = 10",
            "nodes = 10\nstake = [1.0, 2.0]",
            7,
            9,
            "2 weights for 10 nodes",
        ),
        (
            "seed = 1",
            "seed = 1\n[byzantine]\nfraction = 0.1\ncount = 1\nstrategy = \"silent\"",
            3,
            1,
            "exactly one",
        ),
        (
            "seed = 1",
            "seed = 1\n[expect]\nfinalized = 1.5",
            4,
            13,
            "expect.finalized",
        ),
    ];
    for (from, to, line, column, needle) in cases {
        let e = fail(&GOOD.replace(from, to), &[]);
        let (kind, l, c, message) = located(&e);
        assert_eq!((kind, l, c), ("invalid", line, column), "{e}");
        assert!(message.contains(needle), "{message}");
    }
    let crash = format!("{GOOD}[[network.crashes]]\nnodes = [3, 12]\nat = \"1s\"\n");
    let (kind, line, column, _) = located(&fail(&crash, &[]));
    assert_eq!((kind, line, column), ("invalid", 9, 9));
}

#[test]
fn a_missing_file_is_an_io_error() {
    let e = Scenario::load(std::path::Path::new("/nonexistent/x.toml"), &[]).unwrap_err();
    assert!(matches!(e, ScenarioError::Io { .. }), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("cannot read /nonexistent/x.toml: "),
        "{e}"
    );
}
