//! The library API of the Lux consensus docs over the engines: [`Consensus`] (blocks and
//! votes in, acceptance out, with handlers and [`Stats`]), and its byte formats: [`Block`]
//! (serialize, hash) and the 8-byte compact [`Vote`] (`../shared/spec/wire.md`), with
//! [`EngineType`] and [`VoteType`].

mod block;
mod consensus;
mod engine_type;
mod vote;

pub use block::{Block, BlockError, GENESIS_ID, MAX_DATA_LEN};
pub use consensus::{Consensus, ConsensusError, EngineOptions, Stats, VoteHandler, VoteOutcome};
pub use engine_type::{EngineType, ENGINE_TYPES};
pub use vote::{Vote, VoteError, VoteType, VOTE_LEN};
