//! Unit tests of scenario loading: the example, defaults, presets, `--set` and round trips.

use super::*;

/// The example of `docs/scenarios.md`.
const EXAMPLE: &str = r#"
name = "byzantine"
seed = 42
engine = "snowball"
mode = "event"
max_time = "60s"
max_rounds = 10000
[params]
k = 20
alpha_preference = 15
alpha_confidence = 15
beta = 20
concurrent_polls = 4
[network]
nodes = 2000
stake = "uniform"
latency = { model = "lognormal", median = "40ms", sigma = 0.5 }
loss = 0.0
duplicate = 0.0
poll_timeout = "1s"
self_sample = false
[network.regions]
names = ["us", "eu", "asia"]
base = [["5ms", "80ms", "150ms"], ["80ms", "5ms", "120ms"], ["150ms", "120ms", "5ms"]]
[[network.partitions]]
start = "2s"
end = "5s"
groups = [[0, 999], [1000, 1999]]
direction = "both"
[[network.crashes]]
nodes = [10, 19]
at = "1s"
recover = "3s"
[workload]
choices = 2
initial = [0.5, 0.5]
[byzantine]
fraction = 0.1
strategy = "balance"
target = 1
[expect]
safety = true
finalized = 1.0
max_p99_finality = "5s"
max_rounds = 100
"#;

const MINIMAL: &str = "name = \"min\"\n[network]\nnodes = 100\n";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn parse(text: &str, sets: &[&str]) -> Result<Scenario, ScenarioError> {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    Scenario::parse(text, "test.toml", &sets)
}

#[test]
fn the_example_parses_to_the_expected_values() {
    let s = parse(EXAMPLE, &[]).unwrap();
    assert_eq!(
        (s.name.as_str(), s.seed, s.protocol(), s.mode),
        ("byzantine", 42, Protocol::Snowball, Mode::Event)
    );
    assert_eq!(
        (s.max_time, s.max_rounds),
        (Duration::from_secs(60), 10_000)
    );
    assert_eq!(s.params, ConsensusParams::default());
    let n = &s.network;
    assert_eq!(
        (n.nodes, &n.stake, n.loss, n.duplicate),
        (2000, &Stake::Uniform, 0.0, 0.0)
    );
    assert_eq!(
        n.latency,
        Latency::Lognormal {
            median: ms(40),
            sigma: 0.5
        }
    );
    assert_eq!((n.poll_timeout, n.self_sample), (ms(1000), false));
    let r = n.regions.as_ref().unwrap();
    assert_eq!(r.names, ["us", "eu", "asia"]);
    assert_eq!(r.base[0], [ms(5), ms(80), ms(150)]);
    assert_eq!(r.base[2][1], ms(120));
    assert_eq!(
        n.partitions,
        [Partition {
            start: ms(2000),
            end: Some(ms(5000)),
            groups: vec![[0, 999], [1000, 1999]],
            direction: Direction::Both
        }]
    );
    assert_eq!(
        n.crashes,
        [Crash {
            nodes: [10, 19],
            at: ms(1000),
            recover: Some(ms(3000))
        }]
    );
    assert_eq!(
        s.workload,
        Workload {
            choices: 2,
            initial: vec![0.5, 0.5],
            ..Workload::default()
        }
    );
    let b = s.byzantine.as_ref().unwrap();
    assert_eq!(
        (b.fraction, b.count, b.strategy, b.target),
        (Some(0.1), None, Strategy::Balance, 1)
    );
    assert_eq!(b.resolved_count(2000), 200);
    assert_eq!(
        s.expect,
        Expect {
            safety: Some(true),
            finalized: Some(1.0),
            max_p99_finality: Some(ms(5000)),
            max_rounds: Some(100)
        }
    );
    assert_eq!((s.mode.name(), b.strategy.name()), ("event", "balance"));
}

#[test]
fn defaults_fill_everything_but_name_and_nodes() {
    let s = parse(MINIMAL, &[]).unwrap();
    assert_eq!(
        (s.seed, s.protocol(), s.mode),
        (0, Protocol::Snowball, Mode::Event)
    );
    assert_eq!(
        (s.max_time, s.max_rounds),
        (Duration::from_secs(60), 10_000)
    );
    assert_eq!(s.params, ConsensusParams::default());
    let n = &s.network;
    assert_eq!(
        (&n.stake, &n.latency),
        (&Stake::Uniform, &Latency::default())
    );
    assert_eq!(
        (n.loss, n.duplicate, n.poll_timeout, n.self_sample),
        (0.0, 0.0, ms(1000), false)
    );
    assert!(n.regions.is_none() && n.partitions.is_empty() && n.crashes.is_empty());
    assert_eq!(
        s.workload,
        Workload {
            choices: 2,
            initial: vec![0.5, 0.5],
            ..Workload::default()
        }
    );
    assert_eq!((s.byzantine, s.expect), (None, Expect::default()));
    let three = parse(&format!("{MINIMAL}[workload]\nchoices = 4\n"), &[]).unwrap();
    assert_eq!(three.workload.initial, [0.25; 4]);
    let byz = parse(
        &format!("{MINIMAL}[byzantine]\ncount = 7\nstrategy = \"silent\"\n"),
        &[],
    )
    .unwrap();
    assert_eq!(
        byz.byzantine.map(|b| (b.target, b.resolved_count(100))),
        Some((1, 7))
    );
}

#[test]
fn a_preset_then_overrides() {
    let text = format!(
        "{MINIMAL}[params]\npreset = \"mainnet\"\nbeta = 10\nmax_item_processing_time = \"5s\"\n"
    );
    let p = parse(&text, &[]).unwrap().params;
    let want = ConsensusParams {
        beta: 10,
        max_item_processing_time: ms(5000),
        ..ConsensusParams::preset("mainnet").unwrap()
    };
    assert_eq!(p, want);
    assert_eq!((p.k, p.alpha_preference, p.concurrent_polls), (21, 15, 4));
    let local = parse(
        &format!("params = {{ preset = \"local\" }}\n{MINIMAL}"),
        &[],
    )
    .unwrap();
    assert_eq!(local.params, ConsensusParams::preset("local").unwrap());
}

#[test]
fn set_overrides_values_creates_tables_and_falls_back_to_strings() {
    let s = parse(
        EXAMPLE,
        &[
            "params.k=30",
            "params.alpha_preference = 16",
            "params.alpha_confidence=16",
            "network.latency.median=\"20ms\"",
            "network.partitions.0.end=\"9s\"",
            "byzantine.strategy=silent",
            "seed=7",
        ],
    )
    .unwrap();
    assert_eq!((s.params.k, s.params.alpha_preference, s.seed), (30, 16, 7));
    assert_eq!(
        s.network.latency,
        Latency::Lognormal {
            median: ms(20),
            sigma: 0.5
        }
    );
    assert_eq!(s.network.partitions[0].end, Some(ms(9000)));
    assert_eq!(s.byzantine.unwrap().strategy, Strategy::Silent);
    let s = parse(
        MINIMAL,
        &[
            "byzantine.count=3",
            "byzantine.strategy=stubborn",
            "expect.safety=true",
            "name=renamed",
        ],
    )
    .unwrap();
    let b = s.byzantine.unwrap();
    assert_eq!(
        (b.count, b.strategy, s.expect.safety, s.name.as_str()),
        (Some(3), Strategy::Stubborn, Some(true), "renamed")
    );
    let s = parse(
        MINIMAL,
        &["network.latency={ model = \"constant\", value = \"7ms\" }"],
    )
    .unwrap();
    assert_eq!(s.network.latency, Latency::Constant { value: ms(7) });
}

#[test]
fn round_trips_through_json_and_toml() {
    let s = parse(EXAMPLE, &[]).unwrap();
    let json = serde_json::to_string(&s).unwrap();
    assert!(
        json.contains("\"base\":[[\"5ms\",\"80ms\",\"150ms\"]"),
        "{json}"
    );
    assert_eq!(serde_json::from_str::<Scenario>(&json).unwrap(), s);
    let text = toml::to_string(&s).unwrap();
    assert_eq!(parse(&text, &[]).unwrap(), s);
    let preset = parse(&format!("{MINIMAL}[params]\npreset = \"testnet\"\n"), &[]).unwrap();
    let json = serde_json::to_string(&preset).unwrap();
    assert!(
        json.contains("\"k\":11") && !json.contains("preset"),
        "{json}"
    );
}

#[test]
fn ledger_engines_parse_with_their_defaults() {
    let chain = parse(&format!("engine = \"chain\"\n{MINIMAL}"), &[]).unwrap();
    assert_eq!(
        (chain.engine, chain.protocol()),
        (ScenarioEngine::Chain, Protocol::Snowball)
    );
    assert!(chain.engine.is_ledger() && chain.engine.protocol().is_none());
    let l = chain.ledger();
    assert_eq!(
        (l.heights, l.block_interval, l.leader),
        (100, ms(500), Leader::RoundRobin)
    );
    assert_eq!(
        (l.transactions, l.batch, l.parents, l.conflicts),
        (1000, 10, 3, 0.1)
    );
    let slush = parse(&format!("engine = \"slush\"\n{MINIMAL}"), &[]).unwrap();
    assert_eq!(
        (slush.engine.name(), slush.protocol()),
        ("slush", Protocol::Slush)
    );
    let dag = parse(
        &format!("engine = \"dag\"\n{MINIMAL}[workload]\ntx_rate = 50.0\nleader = \"stake\"\n"),
        &[
            "byzantine.count=3",
            "byzantine.strategy=random",
            "byzantine.proposer=silent",
        ],
    )
    .unwrap();
    let l = dag.ledger();
    assert_eq!((l.tx_rate, l.leader), (50.0, Leader::Stake));
    assert_eq!(dag.byzantine.unwrap().proposer, Some(Proposer::Silent));
}
