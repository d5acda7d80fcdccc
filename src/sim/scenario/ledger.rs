//! The ledger side of a scenario: the `engine` key (one decision, or a chain or DAG), the
//! `[workload]` keys of block and vertex production, and their rules.

use super::locate::Ctx;
use super::validate::key_name;
use super::{Scenario, ScenarioError};
use crate::Protocol;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The engine honest nodes run: one decision among n choices, or a growing ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScenarioEngine {
    /// Slush over one decision.
    Slush,
    /// Snowflake over one decision.
    Snowflake,
    /// Snowball over one decision.
    #[default]
    Snowball,
    /// Snowman: a chain of blocks.
    Chain,
    /// Avalanche: a DAG of vertices carrying transactions.
    Dag,
}

impl ScenarioEngine {
    /// The single-decision protocol, `None` for the ledger engines.
    pub fn protocol(self) -> Option<Protocol> {
        match self {
            ScenarioEngine::Slush => Some(Protocol::Slush),
            ScenarioEngine::Snowflake => Some(Protocol::Snowflake),
            ScenarioEngine::Snowball => Some(Protocol::Snowball),
            ScenarioEngine::Chain | ScenarioEngine::Dag => None,
        }
    }

    /// Whether this is a ledger engine (chain or dag).
    pub fn is_ledger(self) -> bool {
        self.protocol().is_none()
    }

    /// The name used in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            ScenarioEngine::Slush => "slush",
            ScenarioEngine::Snowflake => "snowflake",
            ScenarioEngine::Snowball => "snowball",
            ScenarioEngine::Chain => "chain",
            ScenarioEngine::Dag => "dag",
        }
    }
}

/// Who proposes the block (or vertex) of each slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Leader {
    /// Each node in turn, in an order shuffled from the seed.
    #[default]
    RoundRobin,
    /// A node drawn by stake weight for each slot, from the seed.
    Stake,
}

/// What a Byzantine node does when it is the slot's leader (ledger engines).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proposer {
    /// One block on the latest honest block, sent to every node.
    #[default]
    Honest,
    /// No block: the slot stays empty.
    Silent,
    /// Two blocks on the same parent at the same height: one to even node ids, one to odd.
    Equivocate,
}

impl Proposer {
    /// The name used in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            Proposer::Honest => "honest",
            Proposer::Silent => "silent",
            Proposer::Equivocate => "equivocate",
        }
    }
}

/// The resolved production settings of a ledger run (defaults filled in).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LedgerSpec {
    /// Heights every honest node must accept (chain); 0: blocks come until `max_time`.
    pub heights: u64,
    /// Time between two proposal slots.
    pub block_interval: Duration,
    /// Who proposes each slot.
    pub leader: Leader,
    /// Transaction arrivals in all (dag); 0: they come until `max_time`.
    pub transactions: u64,
    /// Arrivals per virtual second (dag).
    pub tx_rate: f64,
    /// Most transactions in one vertex (dag).
    pub batch: usize,
    /// Most parents a vertex names (dag).
    pub parents: usize,
    /// Share of arrivals that are double spends: a pair of conflicting transactions (dag).
    pub conflicts: f64,
}

/// Most parents a vertex may name.
pub const MAX_PARENTS: usize = 8;

impl Scenario {
    /// The production settings of a ledger run, defaults filled in.
    pub fn ledger(&self) -> LedgerSpec {
        let w = &self.workload;
        LedgerSpec {
            heights: w.heights.unwrap_or(100),
            block_interval: w.block_interval.unwrap_or(Duration::from_millis(500)),
            leader: w.leader.unwrap_or_default(),
            transactions: w.transactions.unwrap_or(1000),
            tx_rate: w.tx_rate.unwrap_or(200.0),
            batch: w.batch.unwrap_or(10),
            parents: w.parents.unwrap_or(3),
            conflicts: w.conflicts.unwrap_or(0.1),
        }
    }
}

/// The ledger rules: keys used only by chains or DAGs, lockstep mode, value ranges.
pub(super) fn validate_ledger(s: &Scenario, cx: &Ctx) -> Result<(), ScenarioError> {
    let fail = |paths: &[&str], rule: String| {
        let message = format!("{} {rule}", key_name(paths[0]));
        Err(cx.invalid(paths, message))
    };
    let engine = s.engine;
    let w = &s.workload;
    let chain_keys = [("heights", w.heights.is_some())];
    let dag_keys = [
        ("transactions", w.transactions.is_some()),
        ("tx_rate", w.tx_rate.is_some()),
        ("batch", w.batch.is_some()),
        ("parents", w.parents.is_some()),
        ("conflicts", w.conflicts.is_some()),
    ];
    let shared_keys = [
        ("block_interval", w.block_interval.is_some()),
        ("leader", w.leader.is_some()),
    ];
    let name = engine.name();
    let mut keys: Vec<(&str, bool, &str)> = Vec::new();
    keys.extend(chain_keys.iter().map(|&(k, g)| (k, g, "chain")));
    keys.extend(dag_keys.iter().map(|&(k, g)| (k, g, "dag")));
    keys.extend(shared_keys.iter().map(|&(k, g)| (k, g, "chain or dag")));
    for (key, given, used_by) in keys {
        let allowed = match used_by {
            "chain" => engine == ScenarioEngine::Chain,
            "dag" => engine == ScenarioEngine::Dag,
            _ => engine.is_ledger(),
        };
        if given && !allowed {
            let path = format!("workload.{key}");
            let rule = format!("is only used by engine = {used_by} (engine is {name})");
            return fail(&[&path, "workload"], rule);
        }
    }
    if s.block_protocol.is_some() && engine != ScenarioEngine::Chain {
        let rule = format!("is only used by engine = chain (engine is {name})");
        return fail(&["block_protocol"], rule);
    }
    if s.decision.is_some() && engine.is_ledger() {
        let rule = format!("is only used by the single-decision engines (engine is {name})");
        return fail(&["decision"], rule);
    }
    if let Some(b) = &s.byzantine {
        if b.proposer.is_some() && !engine.is_ledger() {
            let rule = format!("is only used by engine = chain or dag (engine is {name})");
            return fail(&["byzantine.proposer", "byzantine"], rule);
        }
    }
    if !engine.is_ledger() {
        return Ok(());
    }
    if s.mode.rounds() {
        let mode = s.mode.name();
        let rule = format!("({mode}) cannot run engine = {name}: ledgers need mode = \"event\"");
        return fail(&["mode", "engine"], rule);
    }
    let l = s.ledger();
    if l.block_interval.is_zero() {
        return fail(
            &["workload.block_interval"],
            "must be greater than 0".into(),
        );
    }
    if !(l.tx_rate.is_finite() && l.tx_rate > 0.0) {
        let rule = format!("({}) must be finite and greater than 0", l.tx_rate);
        return fail(&["workload.tx_rate"], rule);
    }
    if l.batch == 0 {
        return fail(&["workload.batch"], "(0) must be at least 1".into());
    }
    if !(1..=MAX_PARENTS).contains(&l.parents) {
        let rule = format!("({}) must be between 1 and {MAX_PARENTS}", l.parents);
        return fail(&["workload.parents"], rule);
    }
    if !(0.0..=1.0).contains(&l.conflicts) {
        let rule = format!("({}) must be in [0, 1]", l.conflicts);
        return fail(&["workload.conflicts"], rule);
    }
    Ok(())
}
