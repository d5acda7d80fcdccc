//! Lockstep mode draws a stake-unit poll by class (how many units of each honest
//! preference and how many Byzantine, `node/classes.rs`) since 2026-12-07; before, it drew
//! every unit by name from the alias table. The two are the same law, so finality must be
//! distributed as before: runs of two scenarios over 300 seeds are compared with the runs
//! the earlier version gave for the same seeds (`tests/data/lockstep-law/*.csv`, made with
//! `luxsim sweep SCENARIO --seeds 300` at commit 475315b) by a two-sample Kolmogorov-Smirnov
//! test and Welch's t on the mean, each at level 0.001.

use luxsim::sim::{run, RunOptions, Scenario, Summary};
use rayon::prelude::*;
use std::path::Path;

const DIR: &str = "tests/data/lockstep-law";

/// Per-run figures: (honest finalized share, p50 rounds, max rounds, polls).
type Run = (f64, Option<f64>, Option<f64>, f64);

fn recorded(name: &str) -> Vec<Run> {
    let path = Path::new(DIR).join(format!("{name}.csv"));
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let opt = |s: &str| (!s.is_empty()).then(|| s.parse::<f64>().unwrap());
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                r[1].parse().unwrap(),
                opt(&r[2]),
                opt(&r[3]),
                r[4].parse().unwrap(),
            )
        })
        .collect()
}

fn current(name: &str, seeds: usize) -> Vec<Run> {
    let path = Path::new(DIR).join(format!("{name}.toml"));
    let text = std::fs::read_to_string(&path).unwrap();
    let base = Scenario::parse(&text, &path.display().to_string(), &[]).unwrap();
    (0..seeds as u64)
        .into_par_iter()
        .map(|i| {
            let mut s = base.clone();
            s.seed = base.seed + i;
            let sum: Summary = run(&s, &RunOptions::default()).unwrap().summary;
            let r = sum.finality_rounds;
            (
                sum.honest_finalized,
                r.as_ref().map(|r| r.p50),
                r.as_ref().map(|r| r.max),
                sum.events as f64,
            )
        })
        .collect()
}

/// The two-sample Kolmogorov-Smirnov statistic D.
fn ks(a: &[f64], b: &[f64]) -> f64 {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (mut i, mut j, mut d) = (0, 0, 0.0f64);
    while i < a.len() && j < b.len() {
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / a.len() as f64 - j as f64 / b.len() as f64).abs());
    }
    d
}

/// D above which the KS test rejects at level 0.001: c(0.001) sqrt((n + m) / (n m)).
fn ks_critical(n: usize, m: usize) -> f64 {
    let c = (-(0.0005f64).ln() / 2.0).sqrt();
    c * ((n + m) as f64 / (n * m) as f64).sqrt()
}

/// Welch's t of the difference of the means.
fn welch(a: &[f64], b: &[f64]) -> f64 {
    let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len() as f64;
    let var =
        |x: &[f64], m: f64| x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (x.len() - 1) as f64;
    let (ma, mb) = (mean(a), mean(b));
    let se = (var(a, ma) / a.len() as f64 + var(b, mb) / b.len() as f64).sqrt();
    if se == 0.0 {
        return 0.0;
    }
    (mb - ma) / se
}

/// Whether `figure` of the runs has the same law before and after, by both tests.
fn same_law(what: &str, before: &[f64], after: &[f64]) -> Result<(), String> {
    let (d, crit) = (ks(before, after), ks_critical(before.len(), after.len()));
    let t = welch(before, after);
    // |t| < 3.29 is the two-sided 0.001 level.
    if d < crit && t.abs() < 3.29 {
        Ok(())
    } else {
        Err(format!(
            "{what}: KS D = {d:.3} (critical {crit:.3}), Welch t = {t:.2}"
        ))
    }
}

fn columns(runs: &[Run]) -> [Vec<f64>; 4] {
    [
        runs.iter().map(|r| r.0).collect(),
        runs.iter().filter_map(|r| r.1).collect(),
        runs.iter().filter_map(|r| r.2).collect(),
        runs.iter().map(|r| r.3).collect(),
    ]
}

fn compare(name: &str) {
    let before = recorded(name);
    let after = current(name, before.len());
    let names = ["honest finalized", "p50 rounds", "max rounds", "polls"];
    let failures: Vec<String> = (columns(&before).iter().zip(&columns(&after)))
        .zip(names)
        .filter_map(|((b, a), what)| same_law(what, b, a).err())
        .collect();
    assert!(failures.is_empty(), "{name}: {failures:#?}");
}

#[test]
fn honest_finality_has_the_law_it_had_when_units_were_drawn_by_name() {
    compare("honest");
}

#[test]
fn finality_against_an_adversary_has_the_law_it_had_when_units_were_drawn_by_name() {
    compare("byzantine");
}

#[test]
fn the_tests_reject_a_change_of_one_round() {
    // A distribution moved by one round is told apart: these tests can fail.
    let before = columns(&recorded("honest"));
    let moved: Vec<f64> = before[1].iter().map(|r| r + 1.0).collect();
    assert!(same_law("p50 rounds", &before[1], &moved).is_err());
    let polls: Vec<f64> = before[3].iter().map(|p| p * 1.1).collect();
    assert!(same_law("polls", &before[3], &polls).is_err());
}
