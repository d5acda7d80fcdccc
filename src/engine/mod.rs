//! The engines: the Snow family as pure state machines, with no I/O, clock or threads
//! (`../shared/spec/engines.md`).
//!
//! - one decision among n choices: [`Slush`], [`Snowflake`], [`Snowball`], behind
//!   [`Decision`] (chosen by [`Protocol`]), each either [`Tree`]-shaped (avalanchego's
//!   `snowball.Tree`, deciding bit by bit) or flat (one n-ary instance); [`Flat`] keeps several such decisions side by
//!   side for the `Consensus` API;
//! - a growing ledger: [`Chain`] (Snowman: a tree of blocks, votes transitive to ancestors)
//!   and [`Dag`] (Avalanche: vertices of transactions in conflict sets);
//! - [`ConsensusParams`]: k, the alphas, beta and the rest, with presets and their rules.
//!
//! This layer imports nothing but itself.

mod chain;
mod dag;
mod decision;
mod flat;
mod params;
mod slush;
mod snowball;
mod snowflake;
mod status;
mod tree;

pub use chain::{Chain, ChainError};
pub use dag::{Dag, DagError};
pub use decision::{tree_id, Decision, Protocol, Shape};
pub use flat::Flat;
pub use params::{ConsensusParams, ParamsError, ParamsSpec, PRESETS};
pub use slush::Slush;
pub use snowball::Snowball;
pub use snowflake::Snowflake;
pub use status::Status;
pub use tree::Tree;

/// The id of the genesis of chains and DAGs: accepted from the start, never voted on.
pub const GENESIS: u64 = 0;
