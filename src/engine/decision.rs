//! One decision among n choices, run by whichever of Slush, Snowflake or Snowball was asked for.

use crate::{ConsensusParams, Slush, Snowball, Snowflake};

/// Which single-decision protocol a [`Decision`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// Memoryless; decides after beta polls.
    Slush,
    /// Consecutive successes only.
    Snowflake,
    /// Snowflake plus strength counters.
    Snowball,
}

/// A single-decision engine: an enum, so that a run picks its protocol at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// A Slush instance.
    Slush(Slush),
    /// A Snowflake instance.
    Snowflake(Snowflake),
    /// A Snowball instance.
    Snowball(Snowball),
}

impl Decision {
    /// A fresh instance of `protocol` over `choices` choices, preferring `initial`.
    pub fn new(
        protocol: Protocol,
        params: &ConsensusParams,
        choices: usize,
        initial: usize,
    ) -> Self {
        match protocol {
            Protocol::Slush => Decision::Slush(Slush::new(params, initial)),
            Protocol::Snowflake => Decision::Snowflake(Snowflake::new(params, initial)),
            Protocol::Snowball => Decision::Snowball(Snowball::new(params, choices, initial)),
        }
    }

    /// Records a poll whose top choice got `count` votes.
    #[inline]
    pub fn record_poll(&mut self, count: usize, choice: usize) {
        match self {
            Decision::Slush(s) => s.record_poll(count, choice),
            Decision::Snowflake(s) => s.record_poll(count, choice),
            Decision::Snowball(s) => s.record_poll(count, choice),
        }
    }

    /// Records a poll in which no choice got a vote.
    #[inline]
    pub fn record_unsuccessful_poll(&mut self) {
        match self {
            Decision::Slush(s) => s.record_unsuccessful_poll(),
            Decision::Snowflake(s) => s.record_unsuccessful_poll(),
            Decision::Snowball(s) => s.record_unsuccessful_poll(),
        }
    }

    /// The current preference.
    #[inline]
    pub fn preference(&self) -> usize {
        match self {
            Decision::Slush(s) => s.preference(),
            Decision::Snowflake(s) => s.preference(),
            Decision::Snowball(s) => s.preference(),
        }
    }

    /// Whether the decision is final.
    #[inline]
    pub fn finalized(&self) -> bool {
        match self {
            Decision::Slush(s) => s.finalized(),
            Decision::Snowflake(s) => s.finalized(),
            Decision::Snowball(s) => s.finalized(),
        }
    }

    /// Consecutive successful polls (Slush: polls so far).
    pub fn confidence(&self) -> usize {
        match self {
            Decision::Slush(s) => s.polls(),
            Decision::Snowflake(s) => s.confidence(),
            Decision::Snowball(s) => s.confidence(),
        }
    }
}
