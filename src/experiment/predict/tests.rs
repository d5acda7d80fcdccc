//! Features against hand-computed values, model files that must be refused, and a
//! hand-written model's prediction.

use super::*;

const SCENARIO: &str = r#"
name = "predict-test"
seed = 7
[params]
k = 10
alpha_preference = 7
alpha_confidence = 8
beta = 12
concurrent_polls = 3
[network]
nodes = 200
latency = { model = "exponential", mean = "30ms" }
loss = 0.01
poll_timeout = "500ms"
[network.regions]
names = ["a", "b"]
base = [["0ms", "10ms"], ["20ms", "0ms"]]
[workload]
choices = 3
initial = [0.5, 0.3, 0.2]
[byzantine]
count = 20
strategy = "delay"
"#;

fn scenario(set: &[&str]) -> Scenario {
    let set: Vec<String> = set.iter().map(|s| s.to_string()).collect();
    Scenario::parse(SCENARIO, "test.toml", &set).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1.0)
}

#[test]
fn features_of_a_known_scenario_are_the_hand_computed_ones() {
    let f = features(&scenario(&[])).unwrap();
    assert_eq!(f.values().len(), FEATURE_NAMES.len());
    let want = [
        ("nodes", 200.0),
        ("k", 10.0),
        ("alpha_preference", 7.0),
        ("alpha_confidence", 8.0),
        ("beta", 12.0),
        ("concurrent_polls", 3.0),
        ("latency_median_ms", 30.0 * 2f64.ln()),
        ("latency_p95_ms", 30.0 * 20f64.ln()),
        // 100 nodes a region: 100*100 pairs at 10 ms, 100*100 at 20 ms, of 200*199.
        ("region_base_ms", 300_000.0 / 39_800.0),
        ("poll_timeout_ms", 500.0),
        ("loss", 0.01),
        ("lossy_poll_share", 1.0 - 0.99f64.powi(20)),
        ("byzantine_share", 0.1),
        ("byzantine_stake_share", 0.1),
        ("strategy_delay", 1.0),
        ("strategy_silent", 0.0),
        ("stake_gini", 0.0),
        ("choices", 3.0),
        ("initial_max_share", 0.5),
    ];
    for (name, value) in want {
        let got = f.get(name).unwrap();
        assert!(close(got, value), "{name}: {got} != {value}");
    }
    let hot: f64 = FEATURE_NAMES
        .iter()
        .filter(|n| n.starts_with("strategy_"))
        .map(|n| f.get(n).unwrap())
        .sum();
    assert_eq!(hot, 1.0);
    let b = baseline(&scenario(&[]));
    assert!(
        close(
            b,
            12.0 / 3.0 * 2.0 * (30.0 * 2f64.ln() + 300_000.0 / 39_800.0)
        ),
        "{b}"
    );
}

#[test]
fn strategy_names_match_their_features() {
    use Strategy::*;
    for s in [
        Silent,
        Stubborn,
        Random,
        Equivocate,
        Balance,
        Delay,
        BalanceSimple,
        BalanceInformed,
        Split,
    ] {
        let name = format!("strategy_{}", s.name().replace('-', "_"));
        assert_eq!(FEATURE_NAMES[STRATEGY_BASE + strategy_slot(s)], name);
    }
}

#[test]
fn latency_medians_and_stake_skew_are_closed_form() {
    let q = |l: &str| {
        let s = scenario(&[
            "network.regions.names=[\"a\"]",
            "network.regions.base=[[\"0ms\"]]",
            l,
        ]);
        (latency_quantiles_ms(&s.network.latency), region_base_ms(&s))
    };
    assert_eq!(
        q("network.latency={ model = \"constant\", value = \"40ms\" }"),
        ((40.0, 40.0), 0.0)
    );
    let ((m, p), _) = q("network.latency={ model = \"uniform\", min = \"10ms\", max = \"30ms\" }");
    assert!(close(m, 20.0) && close(p, 29.0), "{m} {p}");
    let ((m, p), _) = q("network.latency={ model = \"normal\", mean = \"50ms\", std = \"10ms\" }");
    assert!(
        close(m, 50.0) && close(p, 50.0 + 16.448_536_269_514_722),
        "{m} {p}"
    );
    let ((m, p), _) =
        q("network.latency={ model = \"lognormal\", median = \"40ms\", sigma = 0.5 }");
    assert!(
        close(m, 40.0) && close(p, 40.0 * (0.5 * Z95).exp()),
        "{m} {p}"
    );
    assert!(close(gini(&[1.0, 1.0, 1.0, 1.0]), 0.0));
    assert!(close(gini(&[0.0, 0.0, 0.0, 1.0]), 0.75));
    assert!(close(gini(&[3.0, 1.0, 2.0]), 4.0 / 18.0));
    let pareto = scenario(&["network.stake=\"pareto:1.16\""]);
    let (a, b) = (features(&pareto).unwrap(), features(&pareto).unwrap());
    assert_eq!(a, b, "deterministic");
    let g = a.get("stake_gini").unwrap();
    assert!(g > 0.3 && g < 1.0, "{g}");
}

#[test]
fn other_kinds_of_scenario_are_typed_errors() {
    for (set, what) in [
        ("mode=\"lockstep\"", "mode = lockstep"),
        (
            "network.crashes=[{ nodes = [0, 1], at = \"1s\" }]",
            "network.crashes",
        ),
        (
            "network.partitions=[{ start = \"1s\", groups = [[0, 9]] }]",
            "network.partitions",
        ),
    ] {
        match features(&scenario(&[set])) {
            Err(PredictError::Unsupported { what: w }) => assert_eq!(w, what),
            other => panic!("{set}: {other:?}"),
        }
    }
    let chain = Scenario::parse(
        "name = \"c\"\nengine = \"chain\"\n[network]\nnodes = 10\n",
        "c.toml",
        &[],
    )
    .unwrap();
    let e = features(&chain).unwrap_err().to_string();
    assert!(e.starts_with("engine = chain: "), "{e}");
}

fn model_json(features: &str, terms: &str, weights: &str) -> String {
    format!(
        r#"{{"format": "luxsim-predict/1", "features": {features}, "terms": {terms},
  "targets": {{"p50_ms": {{"intercept": 0.5, "weights": {weights}}},
              "p99_ms": {{"intercept": -0.25, "weights": [0, 0, 1]}}}}}}"#
    )
}

fn names() -> String {
    serde_json::to_string(FEATURE_NAMES).unwrap()
}

const TERMS: &str = r#"[{"transform": "log", "of": ["nodes"]}, {"transform": "identity", "of": ["loss"]},
  {"transform": "log1p", "of": ["k", "byzantine_share"], "per": ["concurrent_polls"]}]"#;

#[test]
fn a_hand_written_model_predicts_the_hand_computed_numbers() {
    let m = Model::parse(&model_json(&names(), TERMS, "[0.1, 2.0, 0]"), "m.json").unwrap();
    let p = m.predict(&features(&scenario(&[])).unwrap(), 100.0);
    // p50: 100 exp(0.5 + 0.1 ln 200 + 2 * 0.01); p99: 100 exp(-0.25 + ln(1 + 10 * 0.1 / 3)).
    assert!(close(p.p50_ms, 285.717_032_057_806_5), "{}", p.p50_ms);
    assert!(close(p.p99_ms, 103.840_104_409_520_66), "{}", p.p99_ms);
    let back = Model::parse(&serde_json::to_string(&m).unwrap(), "again").unwrap();
    assert_eq!(back, m, "serde round trip");
}

#[test]
fn bad_model_files_are_errors_naming_the_file() {
    let err = |text: &str| Model::parse(text, "bad.json").unwrap_err();
    match err("{\n  \"format\": \"luxsim-predict/1\",\n  \"features\": [,]\n}") {
        e @ PredictError::Parse { .. } => {
            assert_eq!(e.to_string(), "bad.json:3:16: expected value");
        }
        other => panic!("{other:?}"),
    }
    let e = err(r#"{"format": "luxsim-predict/2"}"#).to_string();
    assert!(
        e.starts_with("bad.json: format \"luxsim-predict/2\""),
        "{e}"
    );
    assert!(matches!(err("{}"), PredictError::Format { .. }));
    let wrong = names().replacen("\"k\"", "\"kk\"", 1);
    let e = err(&model_json(&wrong, TERMS, "[0.1, 2.0, 0]")).to_string();
    assert!(e.contains("feature 1 is \"kk\", not \"k\""), "{e}");
    let e = err(&model_json(
        &names(),
        r#"[{"transform": "log", "of": ["nope"]}]"#,
        "[1]",
    ));
    assert!(e.to_string().contains("unknown feature \"nope\""), "{e}");
    let e = err(&model_json(&names(), TERMS, "[0.1]")).to_string();
    assert!(
        e.contains("targets.p50_ms has 1 weights for 3 terms"),
        "{e}"
    );
    let e = err(&model_json(
        &names(),
        r#"[{"transform": "sqrt", "of": ["k"]}]"#,
        "[1]",
    ));
    assert!(matches!(e, PredictError::Parse { .. }), "{e}");
    let missing = Model::load(Path::new("/nonexistent/model.json"))
        .unwrap_err()
        .to_string();
    assert!(
        missing.starts_with("cannot read /nonexistent/model.json"),
        "{missing}"
    );
}
