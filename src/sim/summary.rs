//! The summary of a run: what was decided, how fast, and whether the `[expect]` checks held.

use super::ledger::LedgerSummary;
use super::progress::End;
use super::scenario::{Expect, Sampling, Scenario};
use crate::ConsensusParams;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// p50, p90, p99 and max of a set of values (nearest rank); see [`Percentiles::of`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Values summarized.
    pub n: usize,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest value.
    pub max: f64,
}

impl Percentiles {
    /// The percentiles of `values` (sorted in place); `None` when there are none: nothing
    /// was measured, which `summary.json` writes as `null` rather than as zeros.
    pub fn of(values: &mut [f64]) -> Option<Self> {
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        let rank = |q: f64| {
            let i = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
            values[i - 1]
        };
        Some(Percentiles {
            n: values.len(),
            p50: rank(0.50),
            p90: rank(0.90),
            p99: rank(0.99),
            max: values[values.len() - 1],
        })
    }
}

/// Who the Byzantine nodes were.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ByzantineSummary {
    /// How many.
    pub count: usize,
    /// Their strategy, if any.
    pub strategy: Option<String>,
    /// Their share of the nodes.
    pub share: f64,
    /// Their share of the stake.
    pub stake_share: f64,
    /// Their ids, ascending: the ground truth an analysis of the run joins to.
    pub ids: Vec<u32>,
}

impl ByzantineSummary {
    /// The Byzantine nodes of `pop`, playing `strategy`.
    pub fn of(pop: &super::population::Population, strategy: Option<String>) -> Self {
        let ids: Vec<u32> = (0..pop.byzantine.len() as u32)
            .filter(|&i| pop.byzantine[i as usize])
            .collect();
        ByzantineSummary {
            count: ids.len(),
            strategy,
            share: ids.len() as f64 / pop.byzantine.len().max(1) as f64,
            stake_share: pop.byzantine_stake + 0.0,
            ids,
        }
    }
}

/// One `[expect]` check and its result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// The key in `[expect]`.
    pub name: String,
    /// The bound asked for.
    pub expected: String,
    /// What the run reached.
    pub actual: String,
    /// Whether it held.
    pub passed: bool,
}

/// Everything `summary.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The scenario's name.
    pub scenario: String,
    /// The seed the run used.
    pub seed: u64,
    /// The engine.
    pub engine: String,
    /// Single-decision engines: `tree` (avalanchego's) or `flat`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    /// How polls sampled their peers: `stake` (k stake units) or `validators`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling: Option<Sampling>,
    /// `event`, `lockstep` or `harness`.
    pub mode: String,
    /// Nodes in all.
    pub nodes: usize,
    /// Byzantine nodes.
    pub byzantine: ByzantineSummary,
    /// The resolved parameters.
    pub params: ConsensusParams,
    /// Events processed (lockstep: polls).
    pub events: u64,
    /// Messages sent (lockstep: queries answered).
    pub messages: u64,
    /// Virtual time at the end of the run, in milliseconds (lockstep: 0).
    pub virtual_time_ms: f64,
    /// Rounds run (lockstep only).
    pub rounds: Option<u64>,
    /// Why the run ended.
    pub ended: End,
    /// Whether SIGINT or SIGTERM stopped the run (the figures are those reached by then).
    pub interrupted: bool,
    /// Wall-clock time of the run; the one field that differs between equal runs.
    pub wall_ms: f64,
    /// Honest nodes.
    pub honest: usize,
    /// Share of honest nodes that finalized.
    pub honest_finalized: f64,
    /// Whether every finalized honest node finalized the same choice.
    pub agreement: bool,
    /// Whether two honest nodes finalized different choices.
    pub safety_violation: bool,
    /// The first two honest decisions that conflict, in decision order (`null` when safe).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_conflict: Option<[Finalized; 2]>,
    /// Choice -> honest nodes that finalized it.
    pub decided: BTreeMap<String, usize>,
    /// Time to finality over finalized honest nodes, in milliseconds (event mode; `null`
    /// when none finalized).
    pub finality_ms: Option<Percentiles>,
    /// Rounds to finality over finalized honest nodes (lockstep mode; `null` when none
    /// finalized).
    pub finality_rounds: Option<Percentiles>,
    /// Polls to finality over finalized honest nodes (`null` when none finalized).
    pub polls: Option<Percentiles>,
    /// The `[expect]` checks.
    pub expect: Vec<Check>,
    /// SHA-256 over the run's poll and decision events.
    pub digest: String,
    /// Ledger figures (chain and dag runs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<LedgerSummary>,
}

/// One honest node's final decision.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Finalized {
    /// The node.
    pub node: u32,
    /// What it finalized.
    pub choice: u32,
    /// When: milliseconds of virtual time (event mode) or the round (lockstep, harness).
    pub at: f64,
}

/// The first decision that conflicts with an earlier one, and the earliest decision
/// (which it conflicts with): decisions in order of time, then node id.
fn first_conflict(o: &Outcomes) -> Option<[Finalized; 2]> {
    let mut all: Vec<Finalized> = (0..o.decided.len())
        .map(|i| Finalized {
            node: o.nodes.get(i).copied().unwrap_or(u32::MAX),
            choice: o.decided[i],
            at: o.finality[i],
        })
        .collect();
    all.sort_by(|a, b| a.at.total_cmp(&b.at).then(a.node.cmp(&b.node)));
    let first = *all.first()?;
    let other = all.iter().find(|d| d.choice != first.choice)?;
    Some([first, *other])
}

/// Per-honest-node results a mode hands over to build the summary.
#[derive(Debug, Clone, Default)]
pub struct Outcomes {
    /// Final choice of each finalized honest node.
    pub decided: Vec<u32>,
    /// The id of each of those nodes, in the same order.
    pub nodes: Vec<u32>,
    /// Time (ms, or rounds in lockstep) to finality of each finalized honest node.
    pub finality: Vec<f64>,
    /// Polls to finality of each finalized honest node.
    pub polls: Vec<f64>,
    /// Honest nodes in all.
    pub honest: usize,
}

impl Summary {
    /// Whether every `[expect]` check held.
    pub fn passed(&self) -> bool {
        self.expect.iter().all(|c| c.passed)
    }

    /// Fills in the decision figures and the `[expect]` checks from the outcomes.
    pub fn settle(&mut self, mut o: Outcomes, lockstep: bool, expect: &Expect) {
        self.honest = o.honest;
        self.honest_finalized = if o.honest == 0 {
            1.0
        } else {
            o.decided.len() as f64 / o.honest as f64
        };
        self.decided.clear();
        for &c in &o.decided {
            *self.decided.entry(c.to_string()).or_default() += 1;
        }
        self.safety_violation = self.decided.len() > 1;
        self.agreement = !self.safety_violation;
        self.first_conflict = first_conflict(&o);
        debug_assert_eq!(self.first_conflict.is_some(), self.safety_violation);
        let finality = Percentiles::of(&mut o.finality);
        if lockstep {
            self.finality_rounds = finality;
        } else {
            self.finality_ms = finality;
        }
        self.polls = Percentiles::of(&mut o.polls);
        self.expect = self.checks(expect, lockstep);
    }

    /// Fills in the figures of a chain or dag run: "finalized" is the share of honest nodes
    /// that reached the target, finality is per accepted item, safety is the checker's.
    pub fn settle_ledger(
        &mut self,
        ledger: LedgerSummary,
        honest: usize,
        mut polls: Vec<f64>,
        expect: &Expect,
    ) {
        self.honest = honest;
        self.honest_finalized = if honest == 0 {
            1.0
        } else {
            ledger.reached as f64 / honest as f64
        };
        self.decided.clear();
        self.safety_violation = ledger.violation.is_some();
        self.agreement = !self.safety_violation;
        self.finality_ms = ledger.finality_ms;
        self.polls = Percentiles::of(&mut polls);
        self.ledger = Some(ledger);
        self.expect = self.checks(expect, false);
    }

    fn checks(&self, e: &Expect, lockstep: bool) -> Vec<Check> {
        let mut checks = Vec::new();
        if let Some(safety) = e.safety {
            checks.push(Check {
                name: "safety".into(),
                expected: safety.to_string(),
                actual: (!self.safety_violation).to_string(),
                passed: !safety || !self.safety_violation,
            });
        }
        if let Some(share) = e.finalized {
            checks.push(Check {
                name: "finalized".into(),
                expected: format!(">= {share}"),
                actual: format!("{:.4}", self.honest_finalized),
                passed: self.honest_finalized + 1e-12 >= share,
            });
        }
        if let Some(max) = e.max_p99_finality {
            let max_ms = max.as_secs_f64() * 1e3;
            let (actual, passed) = match (lockstep, self.finality_ms) {
                (true, _) => ("n/a in lockstep mode".to_string(), true),
                (false, Some(p)) => (format!("{:.1}ms", p.p99), p.p99 <= max_ms),
                (false, None) => ("none (no honest node finalized)".to_string(), false),
            };
            checks.push(Check {
                name: "max_p99_finality".into(),
                expected: format!("<= {max_ms}ms"),
                actual,
                passed,
            });
        }
        if let Some(max) = e.max_rounds {
            let (actual, passed) = match (lockstep, self.finality_rounds) {
                (false, _) => ("n/a in event mode".to_string(), true),
                (true, Some(p)) => (format!("{}", p.p99), p.p99 <= max as f64),
                (true, None) => ("none (no honest node finalized)".to_string(), false),
            };
            checks.push(Check {
                name: "max_rounds".into(),
                expected: format!("<= {max} (p99 rounds to finality)"),
                actual,
                passed,
            });
        }
        checks
    }

    /// An empty summary for `scenario` run with `seed`.
    pub fn start(scenario: &Scenario, byzantine: ByzantineSummary) -> Self {
        Summary {
            scenario: scenario.name.clone(),
            seed: scenario.seed,
            engine: scenario.engine.name().to_string(),
            decision: scenario
                .engine
                .protocol()
                .map(|_| scenario.shape().name().to_string()),
            sampling: Some(scenario.sampling()),
            mode: scenario.mode.name().to_string(),
            nodes: scenario.network.nodes,
            byzantine,
            params: scenario.params,
            events: 0,
            messages: 0,
            virtual_time_ms: 0.0,
            rounds: None,
            ended: End::default(),
            interrupted: false,
            wall_ms: 0.0,
            honest: 0,
            honest_finalized: 0.0,
            agreement: true,
            safety_violation: false,
            first_conflict: None,
            decided: BTreeMap::new(),
            finality_ms: None,
            finality_rounds: None,
            polls: None,
            expect: Vec::new(),
            digest: String::new(),
            ledger: None,
        }
    }
}

impl fmt::Display for Summary {
    /// The short human summary printed after a run.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} (seed {}): {}{} {} mode, {} nodes, {} byzantine{}",
            self.scenario,
            self.seed,
            self.engine,
            self.decision
                .as_ref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default(),
            self.mode,
            self.nodes,
            self.byzantine.count,
            self.byzantine
                .strategy
                .as_ref()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default()
        )?;
        if let Some(l) = &self.ledger {
            return self.fmt_ledger(f, l);
        }
        let decided: Vec<String> = self
            .decided
            .iter()
            .map(|(c, n)| format!("{c}: {n}"))
            .collect();
        writeln!(
            f,
            "  finalized {:.1}% of {} honest nodes; decided {{{}}}; safety {}",
            self.honest_finalized * 100.0,
            self.honest,
            decided.join(", "),
            if self.safety_violation {
                "VIOLATED"
            } else {
                "ok"
            }
        )?;
        if let Some([a, b]) = &self.first_conflict {
            let rounds = self.rounds.is_some();
            let at = |x: f64| match rounds {
                true => format!("round {x}"),
                false => format!("{x:.1}ms"),
            };
            writeln!(
                f,
                "  first conflict: node {} finalized {} at {}, node {} finalized {} at {}",
                a.node,
                a.choice,
                at(a.at),
                b.node,
                b.choice,
                at(b.at)
            )?;
        }
        match (self.rounds, self.finality_rounds, self.finality_ms) {
            (Some(rounds), Some(r), _) => writeln!(
                f,
                "  rounds to finality p50 {} p90 {} p99 {} max {} ({rounds} rounds run)",
                r.p50, r.p90, r.p99, r.max,
            )?,
            (None, _, Some(p)) => writeln!(
                f,
                "  finality p50 {:.1}ms p90 {:.1}ms p99 {:.1}ms max {:.1}ms",
                p.p50, p.p90, p.p99, p.max
            )?,
            _ => writeln!(f, "  finality: none measured (no honest node finalized)")?,
        }
        let polls = self.polls.map_or("none".to_string(), |p| {
            format!("p50 {} p99 {}", p.p50, p.p99)
        });
        writeln!(
            f,
            "  polls to finality {polls}; {} events, {} messages, {:.1}ms virtual, {:.0}ms wall",
            self.events, self.messages, self.virtual_time_ms, self.wall_ms
        )?;
        if self.ended != End::Finalized {
            writeln!(f, "  ended: {}", self.ended.describe())?;
        }
        for c in &self.expect {
            writeln!(
                f,
                "  expect {}: {} (wanted {}, got {})",
                c.name,
                if c.passed { "ok" } else { "FAILED" },
                c.expected,
                c.actual
            )?;
        }
        write!(f, "  digest {}", self.digest)
    }
}

impl Summary {
    fn fmt_ledger(&self, f: &mut fmt::Formatter<'_>, l: &LedgerSummary) -> fmt::Result {
        let target = match (l.target, l.kind.as_str()) {
            (0, _) => "the most accepted by any".to_string(),
            (t, "dag") => format!("all {t} payments accepted"),
            (t, _) => format!("height {t}"),
        };
        writeln!(
            f,
            "  {} of {} honest nodes reached {target}; {} proposed, {} rejected, {} conflicting pairs; safety {}",
            l.reached,
            self.honest,
            l.proposed,
            l.rejected,
            l.conflicting_pairs,
            if self.safety_violation { "VIOLATED" } else { "ok" }
        )?;
        if let Some(v) = &l.violation {
            writeln!(
                f,
                "  first violation at {:.1}ms: nodes {} and {} accepted {} and {} ({})",
                v.time_ms,
                v.nodes[0],
                v.nodes[1],
                v.items[0],
                v.items[1],
                match (v.height, v.conflict_key) {
                    (Some(h), _) => format!("height {h}"),
                    (_, Some(k)) => format!("conflict key {k}"),
                    _ => String::new(),
                }
            )?;
        }
        let unit = if l.kind == "dag" { "txs" } else { "blocks" };
        let finality = l.finality_ms.map_or("none measured".to_string(), |p| {
            format!("p50 {:.1}ms p90 {:.1}ms p99 {:.1}ms", p.p50, p.p90, p.p99)
        });
        writeln!(
            f,
            "  finality {finality}; {:.1} {unit}/s per node; longest stall {:.1}ms from {:.1}ms",
            l.throughput_per_s, l.longest_stall_ms, l.stall_start_ms
        )?;
        let polls = self.polls.map_or("none".to_string(), |p| {
            format!("p50 {} p99 {}", p.p50, p.p99)
        });
        writeln!(
            f,
            "  polls per node {polls}; {} fetches; {} events, {} messages, {:.1}ms virtual, {:.0}ms wall",
            l.fetches, self.events, self.messages, self.virtual_time_ms, self.wall_ms
        )?;
        if self.ended != End::Finalized {
            writeln!(f, "  ended: {}", self.ended.describe())?;
        }
        for c in &self.expect {
            writeln!(
                f,
                "  expect {}: {} (wanted {}, got {})",
                c.name,
                if c.passed { "ok" } else { "FAILED" },
                c.expected,
                c.actual
            )?;
        }
        write!(f, "  digest {}", self.digest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut v: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        let p = Percentiles::of(&mut v).unwrap();
        assert_eq!(
            (p.n, p.p50, p.p90, p.p99, p.max),
            (100, 50.0, 90.0, 99.0, 100.0)
        );
        assert_eq!(Percentiles::of(&mut []), None, "nothing measured");
        let p = Percentiles::of(&mut [7.0]).unwrap();
        assert_eq!((p.p50, p.p99, p.max), (7.0, 7.0, 7.0));
    }
}
