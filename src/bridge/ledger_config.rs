//! `[ledger]` in `node.toml`: a chain or DAG validator's kind, its slot schedule and its
//! workload (`docs/bridge.md`, "Ledger nodes"), and the rules it is checked by.

use super::config::{ConfigError, Ctx, NodeFile};
use super::ledger_frame::{MAX_VERTEX_PARENTS, MAX_VERTEX_TXS};
use crate::node::ledger::LedgerKind;
use crate::node::Strategy;
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
    if f.choices.is_some() || f.blocks.is_some() {
        let at = if f.choices.is_some() {
            "choices"
        } else {
            "blocks"
        };
        return Err(cx.invalid(
            &[at],
            format!("{at}: a [ledger] node decides blocks or vertices, not choices; remove {at}"),
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
                "byzantine.strategy: a [ledger] node on sockets plays only silent, not {}",
                b.strategy.name()
            ),
        ));
    }
    if l.block_interval.is_zero() {
        return Err(cx.invalid(
            &["ledger.block_interval"],
            "ledger.block_interval must be greater than 0",
        ));
    }
    if !(1..=MAX_VERTEX_TXS).contains(&l.batch) {
        return Err(cx.invalid(
            &["ledger.batch"],
            format!(
                "ledger.batch ({}) must be between 1 and {MAX_VERTEX_TXS}",
                l.batch
            ),
        ));
    }
    if !(1..=MAX_VERTEX_PARENTS).contains(&l.parents) {
        return Err(cx.invalid(
            &["ledger.parents"],
            format!(
                "ledger.parents ({}) must be between 1 and {MAX_VERTEX_PARENTS}",
                l.parents
            ),
        ));
    }
    if !(0.0..=1.0).contains(&l.conflicts) {
        return Err(cx.invalid(
            &["ledger.conflicts"],
            format!("ledger.conflicts ({}) must be between 0 and 1", l.conflicts),
        ));
    }
    let (chain_only, dag_only) = (l.heights != 0, l.transactions != 0 || l.conflicts != 0.0);
    match l.kind {
        LedgerKind::Chain if dag_only => Err(cx.invalid(
            &["ledger.transactions", "ledger.conflicts"],
            "ledger.transactions and ledger.conflicts are for kind = \"dag\"",
        )),
        LedgerKind::Dag if chain_only => Err(cx.invalid(
            &["ledger.heights"],
            "ledger.heights is for kind = \"chain\"",
        )),
        _ => Ok(()),
    }
}
