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

// The layers (docs/architecture.md): engine, api, node, util at the bottom; sim and
// bridge drive nodes; experiment and plot use sim; cli uses all. tests/layers.rs keeps
// every import pointing down. The engines and the Lux API are re-exported here; each
// upper layer is a namespace whose files are private and whose public surface is what its
// `mod.rs` re-exports (plus two documented schemas, `sim::scenario` and `sim::trace`, the
// two validator kinds, `node::decision` and `node::ledger`, and `plot::draw`).
pub mod analysis; // features, the Byzantine detector and its scores against nodes.csv
mod api; // Consensus, Block, Vote: the Lux docs' API and its byte formats
#[cfg(feature = "bridge")]
pub mod bridge; // the same validators on ZeroMQ sockets (`luxsim node`, `luxsim cluster`)
pub mod cli; // every subcommand of the `luxsim` binary
mod engine; // Slush, Snowflake, Snowball, Chain, Dag, ConsensusParams
pub mod experiment; // sweeps, merges, the convergence check
pub mod node; // the validators: sans-I/O state machines, stake sampling, Byzantine roles
pub mod plot; // plots, network graphs, reports
pub mod sim; // the simulator: scenarios, event and lockstep modes, traces, summaries
mod util; // atomic outputs, signals, stdout, TOML locations
pub mod wire; // the frames validators exchange on sockets: pure codecs

pub use api::{
    Block, BlockError, Consensus, ConsensusError, EngineOptions, EngineType, Stats, Vote,
    VoteError, VoteHandler, VoteOutcome, VoteType, ENGINE_TYPES, GENESIS_ID, MAX_DATA_LEN,
    VOTE_LEN,
};
pub use engine::{
    tree_id, Chain, ChainError, ConsensusParams, Dag, DagError, Decision, Flat, ParamsError,
    ParamsSpec, Protocol, Shape, Slush, Snowball, Snowflake, Status, Tree, GENESIS, PRESETS,
};
pub use util::console::{EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_OK};
pub use util::toml_span::TomlError;
