//! The semantic rules: what serde cannot check, each failure located at the key it is about.

use super::locate::Ctx;
use super::{Mode, Scenario, ScenarioError, Strategy};
use crate::node::{Sampling, Stake};

/// `network.partitions.0.end` -> `network.partitions[0].end`, as messages name keys.
pub(super) fn key_name(path: &str) -> String {
    let mut name = String::new();
    for seg in path.split('.') {
        match seg.parse::<usize>() {
            Ok(i) => name += &format!("[{i}]"),
            Err(_) if name.is_empty() => name += seg,
            Err(_) => name += &format!(".{seg}"),
        }
    }
    name
}

/// A duration as scenario files write it (`1s 500ms`, `585years`).
fn human(d: std::time::Duration) -> String {
    humantime_serde::re::humantime::format_duration(d).to_string()
}

/// Whether `d` is a whole number of nanoseconds that fits in a u64 (virtual time).
pub(super) fn fits(d: std::time::Duration) -> bool {
    u64::try_from(d.as_nanos()).is_ok()
}

/// Every duration of the scenario, with the key path it was read from.
fn durations(s: &Scenario) -> Vec<(String, std::time::Duration)> {
    let n = &s.network;
    let mut all = vec![
        ("max_time".to_string(), s.max_time),
        ("network.poll_timeout".into(), n.poll_timeout),
    ];
    for (field, d) in n.latency.scales() {
        all.push((format!("network.latency.{field}"), d));
    }
    if let Some(r) = &n.regions {
        for (i, row) in r.base.iter().enumerate() {
            for (j, d) in row.iter().enumerate() {
                all.push((format!("network.regions.base.{i}.{j}"), *d));
            }
        }
    }
    for (i, p) in n.partitions.iter().enumerate() {
        all.push((format!("network.partitions.{i}.start"), p.start));
        all.extend(p.end.map(|e| (format!("network.partitions.{i}.end"), e)));
    }
    for (i, c) in n.crashes.iter().enumerate() {
        all.push((format!("network.crashes.{i}.at"), c.at));
        all.extend(
            c.recover
                .map(|r| (format!("network.crashes.{i}.recover"), r)),
        );
    }
    all.extend(
        s.workload
            .block_interval
            .map(|d| ("workload.block_interval".to_string(), d)),
    );
    all.extend(
        s.expect
            .max_p99_finality
            .map(|d| ("expect.max_p99_finality".to_string(), d)),
    );
    all
}

/// The rules serde cannot check; each failure names the key and points at its value.
pub(super) fn validate(s: &Scenario, cx: &Ctx) -> Result<(), ScenarioError> {
    // check!(ok, [paths], rule...): the message is "KEY RULE", KEY named by the first path.
    macro_rules! check {
        ($ok:expr, $paths:expr, $($rule:tt)+) => {
            if !$ok {
                let given = $paths;
                let paths: Vec<&str> = given.iter().map(AsRef::as_ref).collect();
                let message = format!("{} {}", key_name(paths[0]), format!($($rule)+));
                return Err(cx.invalid(&paths, message));
            }
        };
    }
    let unit = |x: f64| (0.0..1.0).contains(&x);
    // The name becomes a directory under results/: it may not be `.`, `..` or hidden.
    let name_ok = (s.name.chars()).all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    let starts_ok = s.name.starts_with(|c: char| c.is_ascii_alphanumeric());
    let why = "must start with a letter or digit and use only A-Z a-z 0-9 _ . -";
    check!(name_ok && starts_ok, ["name"], "{:?} {why}", s.name);
    for (path, d) in durations(s) {
        check!(
            fits(d),
            [path.as_str()],
            "({}) is too long: durations must be below 2^64 ns (about 584 years)",
            human(d)
        );
    }
    check!(
        !s.max_time.is_zero(),
        ["max_time"],
        "must be greater than 0"
    );
    check!(
        !(s.exact && s.mode.rounds()),
        ["exact", "mode"],
        "applies to mode = \"event\" only (rounds have no short cut to turn off)"
    );
    check!(s.max_rounds >= 1, ["max_rounds"], "must be at least 1");
    check!(s.max_events >= 1, ["max_events"], "must be at least 1");
    if let Err(e) = s.params.validate() {
        let paths = [&format!("params.{}", e.field()), "params.preset", "params"];
        return Err(cx.invalid(&paths, format!("params: {e}")));
    }
    let (n, nodes) = (&s.network, s.network.nodes);
    check!(
        nodes >= 1,
        ["network.nodes"],
        "({nodes}) must be at least 1"
    );
    check!(
        unit(n.loss),
        ["network.loss"],
        "({}) must be in [0, 1)",
        n.loss
    );
    check!(
        unit(n.duplicate),
        ["network.duplicate"],
        "({}) must be in [0, 1)",
        n.duplicate
    );
    check!(
        !n.poll_timeout.is_zero(),
        ["network.poll_timeout"],
        "must be greater than 0"
    );
    if let Err(e) = n.latency.sampler() {
        check!(false, ["network.latency"], "is invalid: {e}");
    }
    // A message slower than the whole run never arrives: such a model is a mistake.
    for (field, d) in n.latency.scales() {
        check!(
            d <= s.max_time,
            [format!("network.latency.{field}"), "network.latency".into()],
            "({}) exceeds max_time ({}): no message would arrive within the run",
            human(d),
            human(s.max_time)
        );
    }
    // A poll needs a query and its answer within poll_timeout; when almost no message is
    // that fast, every poll times out empty and the run only spins (events without end).
    let fast = n
        .latency
        .cdf(crate::sim::scheduler::nanos(n.poll_timeout) as f64);
    let answerable = s.mode.rounds() || fast * fast >= 1e-9;
    check!(
        answerable,
        ["network.poll_timeout"],
        "({}) is shorter than almost every round trip of the latency model \
         (P(one message within it) = {fast:.1e}): every poll would time out unanswered",
        human(n.poll_timeout)
    );
    let stake_unit = n.stake_unit;
    check!(
        stake_unit.is_finite() && stake_unit > 0.0,
        ["network.stake_unit"],
        "({stake_unit}) must be a positive finite number"
    );
    // Under stake sampling k counts units, which one validator may fill several of.
    if s.mode == Mode::Event && s.sampling() == Sampling::Validators {
        let (k, max_k) = (s.params.k, if n.self_sample { nodes } else { nodes - 1 });
        let paths = ["params.k", "params.preset", "network.nodes"];
        let why = format!("(network.nodes = {nodes}, self_sample = {})", n.self_sample);
        check!(
            k <= max_k,
            paths,
            "({k}) exceeds the {max_k} distinct validators a node can sample {why}"
        );
    }
    if let Stake::Weights(w) = &n.stake {
        check!(
            w.len() == nodes,
            ["network.stake"],
            "lists {} weights for {nodes} nodes",
            w.len()
        );
        for (i, x) in w.iter().enumerate() {
            let ok = x.is_finite() && *x >= 0.0;
            check!(
                ok,
                [format!("network.stake.{i}")],
                "({x}) must be finite and >= 0"
            );
        }
        let positive = w.iter().sum::<f64>() > 0.0;
        check!(
            positive,
            ["network.stake"],
            "weights must sum to more than 0"
        );
    }
    if let Some(r) = &n.regions {
        let k = r.names.len();
        for (i, row) in r.base.iter().enumerate() {
            for (j, d) in row.iter().enumerate() {
                check!(
                    *d <= s.max_time,
                    [
                        format!("network.regions.base.{i}.{j}"),
                        "network.regions.base".into()
                    ],
                    "({d:?}) exceeds max_time ({:?}): no message would arrive within the run",
                    s.max_time
                );
            }
        }
        check!(
            k >= 1,
            ["network.regions.names"],
            "must name at least one region"
        );
        check!(
            r.base.len() == k,
            ["network.regions.base"],
            "has {} rows for {k} regions",
            r.base.len()
        );
        for (i, row) in r.base.iter().enumerate() {
            let path = format!("network.regions.base.{i}");
            check!(
                row.len() == k,
                [path],
                "has {} entries for {k} regions",
                row.len()
            );
        }
    }
    let in_range = |[a, b]: [usize; 2]| a <= b && b < nodes;
    let range_rule = format!("must have first <= last < network.nodes ({nodes})");
    for (i, p) in n.partitions.iter().enumerate() {
        let at = format!("network.partitions.{i}");
        if let Some(end) = p.end {
            let start = p.start;
            check!(
                start < end,
                [format!("{at}.end")],
                "({end:?}) must be after start ({start:?})"
            );
        }
        check!(
            !p.groups.is_empty(),
            [format!("{at}.groups"), at],
            "must list a node range"
        );
        for (j, g) in p.groups.iter().enumerate() {
            let path = format!("{at}.groups.{j}");
            check!(in_range(*g), [path], "({g:?}) {range_rule}");
            let overlap = p.groups[..j]
                .iter()
                .position(|h| h[0] <= g[1] && g[0] <= h[1]);
            if let Some(h) = overlap {
                check!(
                    false,
                    [path],
                    "({g:?}) overlaps groups[{h}] ({:?})",
                    p.groups[h]
                );
            }
        }
    }
    for (i, c) in n.crashes.iter().enumerate() {
        let at = format!("network.crashes.{i}");
        check!(
            in_range(c.nodes),
            [format!("{at}.nodes")],
            "({:?}) {range_rule}",
            c.nodes
        );
        if let Some(r) = c.recover {
            let path = format!("{at}.recover");
            check!(r > c.at, [path], "({r:?}) must be after at ({:?})", c.at);
        }
    }
    let (w, choices) = (&s.workload, s.workload.choices);
    check!(
        (1..=255).contains(&choices),
        ["workload.choices"],
        "({choices}) must be between 1 and 255"
    );
    let entries = w.initial.len();
    check!(
        entries == choices,
        ["workload.initial"],
        "has {entries} entries for {choices} choices"
    );
    for (i, x) in w.initial.iter().enumerate() {
        let ok = x.is_finite() && *x >= 0.0;
        check!(
            ok,
            [format!("workload.initial.{i}")],
            "({x}) must be finite and >= 0"
        );
    }
    let sum: f64 = w.initial.iter().sum();
    let sums_to_one = (sum - 1.0).abs() <= 1e-6;
    check!(sums_to_one, ["workload.initial"], "sums to {sum}, not 1");
    if let Some(b) = &s.byzantine {
        let paths = [
            "byzantine",
            "byzantine.count",
            "byzantine.fraction",
            "byzantine.stake_fraction",
        ];
        let given = [
            b.fraction.is_some(),
            b.count.is_some(),
            b.stake_fraction.is_some(),
        ];
        let one = given.iter().filter(|&&g| g).count() == 1;
        check!(
            one,
            paths,
            "needs exactly one of fraction, count or stake_fraction"
        );
        if let Some(f) = b.fraction {
            check!(unit(f), ["byzantine.fraction"], "({f}) must be in [0, 1)");
        }
        if let Some(f) = b.stake_fraction {
            check!(
                unit(f),
                ["byzantine.stake_fraction"],
                "({f}) must be in [0, 1)"
            );
        }
        let count = b.resolved_count(nodes);
        let paths = [if b.count.is_some() {
            "byzantine.count"
        } else {
            "byzantine.fraction"
        }];
        check!(
            count < nodes,
            paths,
            "gives {count} byzantine nodes of {nodes}: none honest"
        );
        let ledger = s.engine.is_ledger();
        check!(
            !(ledger && b.strategy.single_decision_only()),
            ["byzantine.strategy"],
            "({}) attacks one decision; chain and dag ledgers take silent, stubborn, random, \
             equivocate, balance or delay",
            b.strategy.name()
        );
        let ok = ledger || b.strategy != Strategy::Stubborn || b.target < choices;
        let paths = ["byzantine.target", "byzantine.strategy"];
        check!(
            ok,
            paths,
            "({}) must be less than workload.choices ({choices})",
            b.target
        );
    }
    if let Some(f) = s.expect.finalized {
        let ok = (0.0..=1.0).contains(&f);
        check!(ok, ["expect.finalized"], "({f}) must be in [0, 1]");
    }
    super::ledger::validate_ledger(s, cx)
}
