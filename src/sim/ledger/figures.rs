//! The ledger figures of a run: what honest nodes accepted, how fast, and the longest stall.

use super::super::scheduler::Nanos;
use super::super::summary::Percentiles;
use super::safety::Violation;
use super::world::LedgerWorld;
use crate::node::ledger::LedgerKind;
use crate::node::{NodeId, Validator};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The `ledger` section of `summary.json` (chain and dag runs only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerSummary {
    /// `chain` or `dag`.
    pub kind: String,
    /// Heights to reach (chain) or transaction arrivals (dag); 0: the run had a time budget.
    pub target: u64,
    /// Honest nodes that reached the target (dag: accepted one transaction for each arrival;
    /// with a time budget: accepted as much as the honest node that accepted most).
    pub reached: usize,
    /// Blocks (or vertices) proposed, Byzantine ones included.
    pub proposed: usize,
    /// Conflicting pairs proposed: chain equivocations, dag double spends.
    pub conflicting_pairs: usize,
    /// Chain: last accepted height -> honest nodes there. Dag: accepted vertices -> nodes.
    pub accepted: BTreeMap<String, usize>,
    /// Dag: accepted transactions -> honest nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_txs: Option<BTreeMap<String, usize>>,
    /// Proposal to acceptance, over every (item, honest node) acceptance, in milliseconds.
    pub finality_ms: Option<Percentiles>,
    /// Blocks (chain) or transactions (dag) accepted per honest node per virtual second.
    pub throughput_per_s: f64,
    /// Blocks (or vertices) rejected by at least one honest node.
    pub rejected: usize,
    /// Dag: transactions rejected by at least one honest node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected_txs: Option<usize>,
    /// Dag: innocent transactions issued again after their vertex was rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reissued_txs: Option<usize>,
    /// The longest time without any honest acceptance, from the first proposal on (and to
    /// the end of the run when the target was not reached), in milliseconds.
    pub longest_stall_ms: f64,
    /// When that stall began, in virtual milliseconds.
    pub stall_start_ms: f64,
    /// `Get` requests sent by honest nodes (items they lacked).
    pub fetches: u64,
    /// The first safety violation, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub violation: Option<Violation>,
}

/// Figures gathered while a ledger run goes.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    finality_ms: Vec<f64>,
    rejected_items: Vec<bool>,
    rejected: usize,
    rejected_tx_ids: Vec<bool>,
    rejected_txs: usize,
    /// Innocent transactions issued again.
    pub reissued: usize,
    started: bool,
    last_accept: Nanos,
    stall: (Nanos, Nanos),
    /// `Get` requests sent by honest nodes.
    pub fetches: u64,
    /// Items (chain: blocks; dag: transactions) accepted by honest nodes, all added up.
    pub accepted_units: u64,
}

/// Marks `id` in a dense flag vector; returns whether it was new.
fn mark(flags: &mut Vec<bool>, id: u64) -> bool {
    let i = id as usize;
    if flags.len() <= i {
        flags.resize(i + 1, false);
    }
    !std::mem::replace(&mut flags[i], true)
}

impl Tally {
    /// An item was proposed at `now`: the stall clock starts with the first.
    pub fn proposed(&mut self, now: Nanos) {
        if !self.started {
            self.started = true;
            self.last_accept = now;
        }
    }

    /// An honest node accepted an item proposed at `proposed_at`.
    pub fn accepted(&mut self, now: Nanos, proposed_at: Nanos) {
        self.finality_ms
            .push(now.saturating_sub(proposed_at) as f64 / 1e6);
        self.gap(now);
    }

    fn gap(&mut self, now: Nanos) {
        let gap = now.saturating_sub(self.last_accept);
        if gap > self.stall.0 {
            self.stall = (gap, self.last_accept);
        }
        self.last_accept = self.last_accept.max(now);
    }

    /// An honest node rejected item `id`.
    pub fn rejected(&mut self, id: u64) {
        if mark(&mut self.rejected_items, id) {
            self.rejected += 1;
        }
    }

    /// An honest node rejected transaction `tx`.
    pub fn rejected_tx(&mut self, tx: u64) {
        if mark(&mut self.rejected_tx_ids, tx) {
            self.rejected_txs += 1;
        }
    }

    /// Closes the stall clock at `end` when the target was not reached.
    pub fn finish(&mut self, end: Nanos, reached: bool) {
        if self.started && !reached {
            self.gap(end);
        }
    }

    /// Distinct items rejected by honest nodes.
    pub fn rejected_count(&self) -> usize {
        self.rejected
    }

    /// Distinct transactions rejected by honest nodes.
    pub fn rejected_tx_count(&self) -> usize {
        self.rejected_txs
    }

    /// The finality percentiles (sorts the samples).
    pub fn finality(&mut self) -> Option<Percentiles> {
        Percentiles::of(&mut self.finality_ms)
    }

    /// The longest stall and when it began, in milliseconds.
    pub fn stall_ms(&self) -> (f64, f64) {
        (self.stall.0 as f64 / 1e6, self.stall.1 as f64 / 1e6)
    }
}

/// Value -> how many times it occurs, with string keys for JSON.
pub fn histogram(values: impl IntoIterator<Item = u64>) -> BTreeMap<String, usize> {
    let mut counts: BTreeMap<u64, usize> = BTreeMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(v, n)| (v.to_string(), n))
        .collect()
}

impl LedgerWorld<'_> {
    /// Honest nodes and the ledger figures, at the end of a run that ended at `end`.
    pub fn summary(&mut self, end: Nanos) -> (LedgerSummary, Vec<f64>) {
        let honest: Vec<NodeId> = self.honest_ids().collect();
        let nodes = &self.nodes;
        let dag = self.kind == LedgerKind::Dag;
        let heights: Vec<u64> = honest
            .iter()
            .map(|&i| nodes[i as usize].accepted_items() as u64)
            .collect();
        let txs: Vec<u64> = honest
            .iter()
            .map(|&i| nodes[i as usize].accepted_txs() as u64)
            .collect();
        let (target, reached) = match self.kind {
            LedgerKind::Chain if self.spec.heights > 0 => (self.spec.heights, self.reached_count),
            LedgerKind::Dag if self.spec.transactions > 0 => {
                let done = self.production.drained();
                (self.spec.transactions, if done { self.complete } else { 0 })
            }
            _ => {
                let per_node = if dag { &txs } else { &heights };
                let most = per_node.iter().copied().max().unwrap_or(0);
                (0, per_node.iter().filter(|&&h| h == most).count())
            }
        };
        self.tally.finish(end, reached == honest.len());
        let secs = end as f64 / 1e9;
        let throughput = if secs > 0.0 && !honest.is_empty() {
            self.tally.accepted_units as f64 / honest.len() as f64 / secs
        } else {
            0.0
        };
        let (stall, stall_start) = self.tally.stall_ms();
        let polls = honest
            .iter()
            .map(|&i| f64::from(nodes[i as usize].polls_recorded()))
            .collect();
        let summary = LedgerSummary {
            kind: if dag { "dag" } else { "chain" }.to_string(),
            target,
            reached,
            proposed: self.production.registry.len(),
            conflicting_pairs: self.production.registry.pairs.len(),
            accepted: histogram(heights),
            accepted_txs: dag.then(|| histogram(txs)),
            finality_ms: self.tally.finality(),
            throughput_per_s: throughput,
            rejected: self.tally.rejected_count(),
            rejected_txs: dag.then(|| self.tally.rejected_tx_count()),
            reissued_txs: dag.then_some(self.tally.reissued),
            longest_stall_ms: stall,
            stall_start_ms: stall_start,
            fetches: self.tally.fetches,
            violation: self.safety.violation().cloned(),
        };
        (summary, polls)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_gap_between_acceptances_is_the_stall() {
        let mut t = Tally::default();
        t.proposed(1_000_000);
        t.accepted(3_000_000, 1_000_000);
        t.accepted(3_000_000, 2_000_000);
        t.accepted(10_000_000, 9_000_000);
        t.accepted(11_000_000, 9_000_000);
        assert_eq!(t.stall_ms(), (7.0, 3.0));
        t.finish(30_000_000, true);
        assert_eq!(t.stall_ms(), (7.0, 3.0));
        t.finish(30_000_000, false);
        assert_eq!(t.stall_ms(), (19.0, 11.0));
        assert_eq!(t.finality().unwrap().p50, 1.0);
        t.rejected(4);
        t.rejected(4);
        assert_eq!(t.rejected_count(), 1);
        assert_eq!(
            histogram([3, 3, 10]).into_iter().collect::<Vec<_>>().len(),
            2
        );
    }
}
