//! Chain and DAG scenarios as a cluster: the `[ledger]` table each node gets, and the tally
//! of the nodes' `proposed`, `accepted` and `rejected` lines into the simulator's ledger
//! summary, wall-clock milliseconds (as the cluster saw each line) in place of virtual ones.

use super::ledger_config::LedgerFile;
use crate::node::ledger::LedgerKind;
use crate::node::Strategy;
use crate::sim::ledger::production::Production;
use crate::sim::population::Population;
use crate::sim::scenario::{Leader, Proposer, Scenario, ScenarioEngine};
use crate::sim::{LedgerSummary, Percentiles, Violation};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Slots of a stake-drawn leader list; the schedule repeats after them.
const STAKE_SLOTS: u64 = 1024;

/// Why a ledger scenario cannot run as a cluster.
pub fn unsupported(s: &Scenario) -> Option<String> {
    if !s.engine.is_ledger() {
        return None;
    }
    let n = s.network.nodes;
    let b = s.byzantine.as_ref().filter(|b| b.resolved_count(n) > 0)?;
    if b.strategy != Strategy::Silent {
        return Some(format!(
            "a {} cluster runs only silent Byzantine nodes, not {} (set byzantine.strategy = \"silent\")",
            s.engine.name(),
            b.strategy.name()
        ));
    }
    (s.engine == ScenarioEngine::Chain && b.proposer != Some(Proposer::Silent)).then(|| {
        "Byzantine nodes on sockets propose nothing: set byzantine.proposer = \"silent\" so that the simulator agrees".to_string()
    })
}

/// The `[ledger]` table of every node of a chain or dag scenario (`None` for a single
/// decision): the simulator's leaders for the scenario's seed, its interval and workload.
/// A Byzantine chain leader's slot stays empty, as in the simulator with `proposer =
/// "silent"`; dag slots skip Byzantine leaders, as the simulator keeps their batch for the
/// next honest one.
pub fn ledger_file(s: &Scenario, pop: &Population) -> Option<LedgerFile> {
    let kind = match s.engine {
        ScenarioEngine::Chain => LedgerKind::Chain,
        ScenarioEngine::Dag => LedgerKind::Dag,
        _ => return None,
    };
    let spec = s.ledger();
    let n = s.network.nodes;
    let mut production = Production::new(spec, n, s.seed);
    let slots = match spec.leader {
        Leader::RoundRobin => n as u64,
        Leader::Stake => STAKE_SLOTS,
    };
    let dag = kind == LedgerKind::Dag;
    let proposers = (1..=slots)
        .map(|slot| production.leader(slot, &pop.sampler))
        .filter(|&p| !(dag && pop.byzantine[p as usize]))
        .collect();
    Some(LedgerFile {
        kind,
        block_protocol: s.block_protocol(),
        block_interval: spec.block_interval,
        proposers,
        heights: if dag { 0 } else { spec.heights },
        transactions: if dag { spec.transactions } else { 0 },
        batch: spec.batch,
        parents: spec.parents,
        conflicts: if dag { spec.conflicts } else { 0.0 },
        workload_seed: s.seed >> 1,
    })
}

/// What one honest node reported of its ledger.
#[derive(Debug, Clone, Default)]
struct NodeLedger {
    /// Chain: height -> accepted block; dag: accepted vertices (height 0 key unused).
    accepted: BTreeMap<u64, u64>,
    vertices: BTreeSet<u64>,
    rejected: BTreeSet<u64>,
    txs: u64,
    height: u64,
    reached_at: Option<f64>,
}

/// The nodes' ledger lines, tallied as they come.
#[derive(Debug, Clone)]
pub struct LedgerTally {
    l: LedgerFile,
    /// Index of each honest node in `nodes`, by node id.
    honest: HashMap<usize, usize>,
    /// The honest node ids, in `nodes` order.
    ids: Vec<usize>,
    nodes: Vec<NodeLedger>,
    /// When each item was proposed, as the cluster saw it.
    proposed: BTreeMap<u64, f64>,
    finality: Vec<f64>,
    /// Every honest acceptance time, for the longest stall.
    accept_times: Vec<f64>,
    violation: Option<Violation>,
}

impl LedgerTally {
    /// A tally for `honest` nodes running `l`.
    pub fn new(l: LedgerFile, honest: &[usize]) -> LedgerTally {
        LedgerTally {
            honest: honest.iter().enumerate().map(|(j, &i)| (i, j)).collect(),
            nodes: vec![NodeLedger::default(); honest.len()],
            ids: honest.to_vec(),
            l,
            proposed: BTreeMap::new(),
            finality: Vec::new(),
            accept_times: Vec::new(),
            violation: None,
        }
    }

    /// The target: heights (chain) or payments (dag).
    pub fn target(&self) -> u64 {
        match self.l.kind {
            LedgerKind::Chain => self.l.heights,
            LedgerKind::Dag => self.l.transactions,
        }
    }

    /// Records an item proposed by node `node` at `at_ms`.
    pub fn proposed(&mut self, id: u64, at_ms: f64) {
        self.proposed.entry(id).or_insert(at_ms);
    }

    /// Records that node `node` accepted `id` at `height` (`txs`: its accepted transactions
    /// so far, dag) at `at_ms`.
    pub fn accepted(&mut self, node: usize, id: u64, height: u64, txs: Option<u64>, at_ms: f64) {
        let Some(&j) = self.honest.get(&node) else {
            return;
        };
        if let Some(&p) = self.proposed.get(&id) {
            self.finality
                .push(((at_ms - p).max(0.0) * 1e3).round() / 1e3);
        }
        self.accept_times.push(at_ms);
        let target = self.target();
        let kind = self.l.kind;
        let n = &mut self.nodes[j];
        n.height = n.height.max(height);
        n.txs = n.txs.max(txs.unwrap_or(0));
        match kind {
            LedgerKind::Chain => {
                n.accepted.insert(height, id);
            }
            LedgerKind::Dag => {
                n.vertices.insert(id);
            }
        }
        let reached = match kind {
            LedgerKind::Chain => target > 0 && n.height >= target,
            LedgerKind::Dag => target > 0 && n.txs >= target,
        };
        if reached && n.reached_at.is_none() {
            n.reached_at = Some(at_ms);
        }
        if self.violation.is_none() {
            self.violation = self.check(node, id, height, at_ms);
        }
    }

    /// Records that node `node` rejected `id`.
    pub fn rejected(&mut self, node: usize, id: u64) {
        if let Some(&j) = self.honest.get(&node) {
            self.nodes[j].rejected.insert(id);
        }
    }

    /// A conflict the acceptance of `id` by honest node `node` makes: another block at its
    /// height (chain), or the other half of its double spend (dag: vertices `3s - 1`, `3s`).
    fn check(&self, node: usize, id: u64, height: u64, at_ms: f64) -> Option<Violation> {
        let twin = match self.l.kind {
            LedgerKind::Chain => None,
            LedgerKind::Dag if id % 3 == 2 => Some(id + 1),
            LedgerKind::Dag if id.is_multiple_of(3) => Some(id - 1),
            LedgerKind::Dag => return None,
        };
        for (k, other) in self.nodes.iter().enumerate() {
            let clash = match twin {
                None => other.accepted.get(&height).filter(|&&b| b != id).copied(),
                Some(t) => other.vertices.contains(&t).then_some(t),
            };
            if let Some(b) = clash {
                return Some(Violation {
                    kind: if twin.is_some() { "conflict" } else { "height" }.into(),
                    height: twin.is_none().then_some(height),
                    conflict_key: None,
                    nodes: [self.ids[k] as u32, node as u32],
                    items: [b, id],
                    time_ms: at_ms,
                });
            }
        }
        None
    }

    /// Whether every honest node reached the target.
    pub fn all_reached(&self) -> bool {
        self.target() > 0 && self.nodes.iter().all(|n| n.reached_at.is_some())
    }

    /// The summary of the run after `run_ms`, with the nodes' fetch counts, and the digest of
    /// every honest node's accepted ledger.
    pub fn summary(&self, run_ms: f64, fetches: u64) -> (LedgerSummary, String) {
        let target = self.target();
        let mut accepted = BTreeMap::new();
        let mut accepted_txs = BTreeMap::new();
        let mut digest = Sha256::new();
        let mut rejected = BTreeSet::new();
        let mut done = 0.0;
        for (j, n) in self.nodes.iter().enumerate() {
            let key = match self.l.kind {
                LedgerKind::Chain => n.height,
                LedgerKind::Dag => n.vertices.len() as u64,
            };
            *accepted.entry(key.to_string()).or_insert(0) += 1;
            *accepted_txs.entry(n.txs.to_string()).or_insert(0) += 1;
            rejected.extend(n.rejected.iter().copied());
            done += match self.l.kind {
                LedgerKind::Chain => n.height as f64,
                LedgerKind::Dag => n.txs as f64,
            };
            digest.update(format!("{j}:"));
            let items: Vec<u64> = match self.l.kind {
                LedgerKind::Chain => n
                    .accepted
                    .range(1..=target.max(1))
                    .map(|(_, &b)| b)
                    .collect(),
                LedgerKind::Dag => n.vertices.iter().copied().collect(),
            };
            for id in items {
                digest.update(format!("{id},"));
            }
            digest.update("\n");
        }
        let mut times = self.accept_times.clone();
        times.sort_by(f64::total_cmp);
        let first = self
            .proposed
            .values()
            .copied()
            .fold(f64::INFINITY, f64::min);
        let (mut stall, mut stall_start) = (0.0, 0.0);
        if first.is_finite() {
            let mut last = first;
            let reached = self.all_reached();
            let end = if reached { None } else { Some(run_ms) };
            for t in times.iter().copied().chain(end) {
                if t - last > stall {
                    (stall, stall_start) = (t - last, last);
                }
                last = last.max(t);
            }
        }
        let dag = self.l.kind == LedgerKind::Dag;
        let pairs = if dag {
            self.proposed.keys().filter(|&&id| id % 3 == 2).count()
        } else {
            0
        };
        let secs = (run_ms / 1e3).max(1e-9);
        let honest = self.nodes.len().max(1) as f64;
        let mut finality = self.finality.clone();
        let summary = LedgerSummary {
            kind: if dag { "dag" } else { "chain" }.into(),
            target,
            reached: self.nodes.iter().filter(|n| n.reached_at.is_some()).count(),
            proposed: self.proposed.len(),
            conflicting_pairs: pairs,
            accepted,
            accepted_txs: dag.then_some(accepted_txs),
            finality_ms: Percentiles::of(&mut finality),
            throughput_per_s: done / honest / secs,
            rejected: rejected.len(),
            rejected_txs: None,
            reissued_txs: None,
            longest_stall_ms: (stall * 1e3).round() / 1e3,
            stall_start_ms: (stall_start * 1e3).round() / 1e3,
            fetches,
            violation: self.violation.clone(),
        };
        (summary, format!("{:x}", digest.finalize()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn chain(heights: u64) -> LedgerFile {
        LedgerFile {
            kind: LedgerKind::Chain,
            block_protocol: crate::Protocol::Snowflake,
            block_interval: Duration::from_millis(100),
            proposers: vec![0, 1],
            heights,
            transactions: 0,
            batch: 10,
            parents: 3,
            conflicts: 0.0,
            workload_seed: 0,
        }
    }

    #[test]
    fn a_chain_tally_reaches_the_target_and_catches_two_blocks_at_one_height() {
        let mut t = LedgerTally::new(chain(2), &[0, 2]);
        t.proposed(1, 10.0);
        t.proposed(2, 110.0);
        for node in [0, 2] {
            t.accepted(node, 1, 1, None, 20.0);
        }
        assert!(!t.all_reached());
        t.accepted(0, 2, 2, None, 130.0);
        t.accepted(1, 9, 2, None, 130.0); // a Byzantine node's line does not count
        t.accepted(2, 2, 2, None, 140.0);
        assert!(t.all_reached());
        let (s, digest) = t.summary(200.0, 3);
        assert_eq!((s.reached, s.proposed, s.fetches), (2, 2, 3));
        assert!(s.violation.is_none());
        assert_eq!(s.finality_ms.unwrap().max, 30.0);
        assert_eq!(
            s.longest_stall_ms, 110.0,
            "from the first acceptance at 20 ms to 130 ms"
        );
        let mut forked = t.clone();
        forked.accepted(2, 7, 1, None, 150.0);
        let v = forked.violation.clone().unwrap();
        assert_eq!(
            (v.kind.as_str(), v.height, v.items),
            ("height", Some(1), [1, 7])
        );
        assert_ne!(forked.summary(200.0, 3).1, digest);
    }

    #[test]
    fn a_dag_tally_counts_transactions_and_catches_both_halves_of_a_double_spend() {
        let mut l = chain(0);
        l.kind = LedgerKind::Dag;
        l.transactions = 4;
        let mut t = LedgerTally::new(l, &[0, 1]);
        t.accepted(0, 1, 1, Some(3), 5.0);
        t.accepted(0, 2, 1, Some(4), 6.0);
        assert!(!t.all_reached());
        t.accepted(1, 1, 1, Some(3), 5.0);
        t.accepted(1, 2, 1, Some(4), 7.0);
        assert!(t.all_reached() && t.violation.is_none());
        t.accepted(1, 3, 1, Some(5), 8.0);
        assert_eq!(t.violation.as_ref().unwrap().items, [2, 3]);
    }
}
