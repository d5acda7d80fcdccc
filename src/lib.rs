//! luxsim: the Snow family of consensus protocols as pure state machines, with the
//! library API of Lux consensus.
//!
//! ```
//! use luxsim::{Block, Consensus, ConsensusParams, EngineType, Vote, VoteType};
//!
//! let mut c = Consensus::new(EngineType::Snowball, ConsensusParams::default()).unwrap();
//! c.add_block(Block::new(1, 0, 1, 0, b"hello".to_vec())).unwrap();
//! for node in 0..400 {
//!     c.process_vote(Vote::new(EngineType::Snowball, node % 20, 1, VoteType::Prefer)).unwrap();
//! }
//! assert!(c.is_accepted(1));
//! ```
#![warn(missing_docs)]

// The Rust examples of the README and the docs compile and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
#[cfg(doctest)]
#[doc = include_str!("../docs/plots.md")]
struct PlotsDoctests;
#[cfg(all(doctest, feature = "bridge"))]
#[doc = include_str!("../docs/bridge.md")]
struct BridgeDoctests;

// Parameters and the wire types.
pub mod block;
pub mod engine_type;
pub mod params;
pub mod status;
pub mod vote;

// Engines: one decision among n choices.
pub mod decision;
pub mod slush;
pub mod snowball;
pub mod snowflake;

// Engines over many items.
pub mod chain;
pub mod dag;
pub mod flat;

// The validator state machines shared by the simulator and the bridge.
pub mod ledger_node;
pub mod node;

// The simulator.
pub mod experiment;
pub mod signals;
pub mod sim;
mod toml_span;

// Real processes over ZeroMQ (`luxsim node`, `luxsim cluster`).
#[cfg(feature = "bridge")]
pub mod bridge;

// Plots, network graphs and reports of runs and sweeps.
pub mod plot;

// The user-facing API and the command line.
pub mod commands;
pub mod consensus;
pub mod console;

pub use block::{Block, BlockError, GENESIS_ID};
pub use chain::{Chain, ChainError};
pub use consensus::{Consensus, ConsensusError, Stats, VoteHandler, VoteOutcome};
pub use dag::{Dag, DagError};
pub use decision::{Decision, Protocol};
pub use engine_type::EngineType;
pub use flat::Flat;
pub use params::{ConsensusParams, ParamsError, ParamsSpec};
pub use slush::Slush;
pub use snowball::Snowball;
pub use snowflake::Snowflake;
pub use status::Status;
pub use vote::{Vote, VoteError, VoteType};
