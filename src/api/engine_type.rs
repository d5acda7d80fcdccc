//! The engine kinds a [`crate::Consensus`] instance can run, with their wire codes.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The consensus engine of an instance or a vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EngineType {
    /// Snowball over the blocks that share a parent.
    Snowball,
    /// Avalanche: the DAG engine.
    Avalanche,
    /// Snowflake over the blocks that share a parent.
    Snowflake,
    /// The DAG engine (same engine as Avalanche, its own wire code).
    Dag,
    /// Snowman: the linear chain engine.
    Chain,
    /// Post-quantum: the chain engine (signatures are not simulated).
    PostQuantum,
    /// Slush over the blocks that share a parent; it has no wire code.
    Slush,
}

/// Every engine type, in declaration order.
pub const ENGINE_TYPES: [EngineType; 7] = [
    EngineType::Snowball,
    EngineType::Avalanche,
    EngineType::Snowflake,
    EngineType::Dag,
    EngineType::Chain,
    EngineType::PostQuantum,
    EngineType::Slush,
];

impl EngineType {
    /// The compact-vote wire code (`None` for Slush, which has none).
    pub fn code(self) -> Option<u8> {
        match self {
            EngineType::Snowball => Some(0),
            EngineType::Avalanche => Some(1),
            EngineType::Snowflake => Some(2),
            EngineType::Dag => Some(3),
            EngineType::Chain => Some(4),
            EngineType::PostQuantum => Some(5),
            EngineType::Slush => None,
        }
    }

    /// The engine type of a compact-vote wire code.
    pub fn from_code(code: u8) -> Option<Self> {
        ENGINE_TYPES.into_iter().find(|e| e.code() == Some(code))
    }

    /// Whether votes of `other` are votes of this engine: the same type, or `Dag` and
    /// `Avalanche`, the docs' two names of the one DAG engine (a `luxsim node` DAG
    /// validator publishes `Dag` votes; the docs feed them to an `Avalanche` instance).
    pub fn accepts_votes_of(self, other: EngineType) -> bool {
        use EngineType::{Avalanche, Dag};
        self == other || matches!((self, other), (Dag, Avalanche) | (Avalanche, Dag))
    }

    /// The lower-case name used in scenarios and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            EngineType::Snowball => "snowball",
            EngineType::Avalanche => "avalanche",
            EngineType::Snowflake => "snowflake",
            EngineType::Dag => "dag",
            EngineType::Chain => "chain",
            EngineType::PostQuantum => "post_quantum",
            EngineType::Slush => "slush",
        }
    }
}

impl fmt::Display for EngineType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An engine name that is not one of [`ENGINE_TYPES`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown engine {0:?}; known engines: snowball, avalanche, snowflake, dag, chain, post_quantum, slush")]
pub struct UnknownEngine(pub String);

impl FromStr for EngineType {
    type Err = UnknownEngine;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ENGINE_TYPES
            .into_iter()
            .find(|e| e.name() == s)
            .ok_or_else(|| UnknownEngine(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_wire_spec() {
        let expected = [0, 1, 2, 3, 4, 5];
        for (e, c) in ENGINE_TYPES.iter().zip(expected) {
            assert_eq!(e.code(), Some(c));
            assert_eq!(EngineType::from_code(c), Some(*e));
        }
        assert_eq!(EngineType::Slush.code(), None);
        assert_eq!(EngineType::from_code(6), None);
    }

    #[test]
    fn names_round_trip() {
        for e in ENGINE_TYPES {
            assert_eq!(e.name().parse::<EngineType>(), Ok(e));
        }
        assert!("raft"
            .parse::<EngineType>()
            .unwrap_err()
            .to_string()
            .contains("chain"));
    }
}
