//! `[ledger]` in `node.toml` (`consensus.engine: chain` or `dag` and `consensus.ledger` in
//! YAML): a chain or DAG validator's kind, its slot schedule and its workload
//! (`docs/bridge.md`, "Ledger nodes"), and the rules it is checked by.

use super::config::{ConfigError, NodeFile};
use super::config_check::Ctx;
use crate::node::ledger::LedgerKind;
use crate::node::Strategy;
use crate::wire::{MAX_VERTEX_PARENTS, MAX_VERTEX_TXS};
use crate::Protocol;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// `[ledger]`: this node keeps a chain or a DAG (instead of deciding among `choices`), and
/// proposes on a slot schedule shared by every node of the network (`docs/bridge.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerFile {
    /// `chain` (Snowman) or `dag` (Avalanche).
    pub kind: LedgerKind,
    /// Chain: what each block's tree over its children runs, `snowflake` (the default,
    /// what avalanchego runs) or `snowball`.
    #[serde(default = "snowflake")]
    pub block_protocol: Protocol,
    /// Time between two proposal slots, counted from when the node starts polling.
    #[serde(default = "tenth_second", with = "humantime_serde")]
    pub block_interval: Duration,
    /// Slot `s` (from 1) is led by `proposers[(s - 1) % len]`; empty: no scheduled proposals
    /// (items then come only from `POST /propose`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proposers: Vec<u32>,
    /// Chain: a leader proposes only while its preferred height is below this (0: always).
    #[serde(default)]
    pub heights: u64,
    /// Dag: payments in all, `batch` per slot (0: none on schedule).
    #[serde(default)]
    pub transactions: u64,
    /// Dag: payments per slot.
    #[serde(default = "ten")]
    pub batch: usize,
    /// Dag: most parents a vertex names.
    #[serde(default = "three")]
    pub parents: usize,
    /// Dag: the share of payments that are double spends (two conflicting transactions).
    #[serde(default)]
    pub conflicts: f64,
    /// Dag: seed of which payments are double spends (the same on every node).
    #[serde(default)]
    pub workload_seed: u64,
}

impl LedgerFile {
    /// A ledger of `kind` with every other key at its default.
    pub fn of_kind(kind: LedgerKind) -> LedgerFile {
        LedgerFile {
            kind,
            block_protocol: snowflake(),
            block_interval: tenth_second(),
            proposers: Vec::new(),
            heights: 0,
            transactions: 0,
            batch: ten(),
            parents: three(),
            conflicts: 0.0,
            workload_seed: 0,
        }
    }
}

fn snowflake() -> Protocol {
    Protocol::Snowflake
}
fn tenth_second() -> Duration {
    Duration::from_millis(100)
}
fn ten() -> usize {
    10
}
fn three() -> usize {
    3
}

/// The rules of `[ledger]` that need no validator set.
pub(super) fn check_ledger(f: &NodeFile, l: &LedgerFile, cx: &Ctx) -> Result<(), ConfigError> {
    // What TOML calls a [ledger] node, YAML calls an engine.
    let ledger_node = if cx.is_yaml() {
        "a chain or dag node"
    } else {
        "a [ledger] node"
    };
    if f.choices.is_some() || f.blocks.is_some() {
        let at = if f.choices.is_some() {
            "choices"
        } else {
            "blocks"
        };
        let name = cx.name(at);
        return Err(cx.invalid(
            &[at],
            format!("{name}: {ledger_node} decides blocks or vertices, not choices; remove {name}"),
        ));
    }
    if let Some(b) = f
        .byzantine
        .as_ref()
        .filter(|b| b.strategy != Strategy::Silent)
    {
        return Err(cx.invalid(
            &["byzantine.strategy"],
            format!(
                "byzantine.strategy: {ledger_node} on sockets plays only silent, not {}",
                b.strategy.name()
            ),
        ));
    }
    if l.block_interval.is_zero() {
        return Err(cx.invalid(
            &["ledger.block_interval"],
            format!(
                "{} must be greater than 0",
                cx.name("ledger.block_interval")
            ),
        ));
    }
    if !(1..=MAX_VERTEX_TXS).contains(&l.batch) {
        return Err(cx.invalid(
            &["ledger.batch"],
            format!(
                "{} ({}) must be between 1 and {MAX_VERTEX_TXS}",
                cx.name("ledger.batch"),
                l.batch
            ),
        ));
    }
    if !(1..=MAX_VERTEX_PARENTS).contains(&l.parents) {
        return Err(cx.invalid(
            &["ledger.parents"],
            format!(
                "{} ({}) must be between 1 and {MAX_VERTEX_PARENTS}",
                cx.name("ledger.parents"),
                l.parents
            ),
        ));
    }
    if !(0.0..=1.0).contains(&l.conflicts) {
        return Err(cx.invalid(
            &["ledger.conflicts"],
            format!(
                "{} ({}) must be between 0 and 1",
                cx.name("ledger.conflicts"),
                l.conflicts
            ),
        ));
    }
    let (chain_only, dag_only) = (l.heights != 0, l.transactions != 0 || l.conflicts != 0.0);
    let kind_is = |kind: &str| match cx.is_yaml() {
        true => format!("engine: {kind}"),
        false => format!("kind = \"{kind}\""),
    };
    match l.kind {
        LedgerKind::Chain if dag_only => Err(cx.invalid(
            &["ledger.transactions", "ledger.conflicts"],
            format!(
                "{} and {} are for {}",
                cx.name("ledger.transactions"),
                cx.name("ledger.conflicts"),
                kind_is("dag")
            ),
        )),
        LedgerKind::Dag if chain_only => Err(cx.invalid(
            &["ledger.heights"],
            format!("{} is for {}", cx.name("ledger.heights"), kind_is("chain")),
        )),
        _ => Ok(()),
    }
}
