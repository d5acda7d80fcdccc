//! The validators: sans-I/O state machines, `(now, input)` in, outputs out, driven alike by
//! the simulator's virtual clock and by the bridge's sockets.
//!
//! - [`decision`]: a validator of one decision ([`Node`]), polling k peers by stake;
//! - [`ledger`]: a validator of a chain or a DAG ([`LedgerNode`]), with block and vertex
//!   propagation;
//! - [`StakeSampler`]: stake-weighted sampling of validators; [`Stake`]: stake
//!   distributions; [`draw_by_class`]: a stake-unit poll's class counts, drawn without
//!   naming the validators;
//! - [`Adversary`]: how Byzantine validators answer about one decision;
//!   [`ledger::LedgerAdversary`] how they answer about blocks and vertices.
//!
//! This layer imports the engines and nothing of the simulator or the bridge.

mod byzantine;
mod classes;
pub mod decision;
pub mod ledger;
mod sampler;
mod stake;
mod validator;

pub use byzantine::{Adversary, Reply, Strategy, View};
pub use classes::draw_by_class;
pub use decision::{Node, NodeConfig};
pub use ledger::{LedgerConfig, LedgerKind, LedgerNode};
pub use sampler::{Sample, Sampling, StakeSampler, STAKE_UNIT};
pub use stake::{Stake, StakeError};
pub use validator::{top, Input, InputOf, NoCommand, Output, OutputOf, Validator};

/// A validator's index in the validator set.
pub type NodeId = u32;
