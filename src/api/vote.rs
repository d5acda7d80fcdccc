//! Votes and their 8-byte compact wire format (see the wire spec).
//!
//! | byte | field |
//! |---|---|
//! | 0 | engine type code |
//! | 1-2 | node id, u16 big-endian |
//! | 3-4 | block id, u16 big-endian |
//! | 5 | vote type: 1 prefer, 2 accept, 3 reject |
//! | 6-7 | reserved: zero when packed, ignored when unpacked |

use crate::api::EngineType;
use serde::{Deserialize, Serialize};

/// The length in bytes of a packed compact vote.
pub const VOTE_LEN: usize = 8;

/// What a vote says about a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VoteType {
    /// The voter prefers the block.
    Prefer,
    /// The voter has accepted the block.
    Accept,
    /// The voter has rejected the block.
    Reject,
}

impl VoteType {
    /// The wire code: 1 prefer, 2 accept, 3 reject.
    pub const fn code(self) -> u8 {
        match self {
            VoteType::Prefer => 1,
            VoteType::Accept => 2,
            VoteType::Reject => 3,
        }
    }

    /// The vote type of a wire code, `None` if the code is unknown.
    pub const fn from_code(code: u8) -> Option<VoteType> {
        match code {
            1 => Some(VoteType::Prefer),
            2 => Some(VoteType::Accept),
            3 => Some(VoteType::Reject),
            _ => None,
        }
    }
}

/// One node's vote on one block, as published on the compact wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Vote {
    /// The engine the vote belongs to.
    pub engine_type: EngineType,
    /// The voting node.
    pub node_id: u32,
    /// The block voted on.
    pub block_id: u64,
    /// What the vote says.
    pub vote_type: VoteType,
}

/// Why a vote could not be packed or unpacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VoteError {
    /// The node id does not fit in the 16-bit wire field.
    #[error("node id {0} does not fit in 16 bits (maximum 65535)")]
    NodeIdTooLarge(u32),
    /// The block id does not fit in the 16-bit wire field.
    #[error("block id {0} does not fit in 16 bits (maximum 65535)")]
    BlockIdTooLarge(u64),
    /// The engine type has no compact-vote wire code.
    #[error("engine type {0} has no compact-vote wire code")]
    NoEngineCode(EngineType),
    /// The input is not exactly 8 bytes long.
    #[error("a compact vote is exactly 8 bytes, got {0}")]
    WrongLength(usize),
    /// Byte 0 carries an unknown engine type code.
    #[error("unknown engine type code {0} at byte 0")]
    UnknownEngineCode(u8),
    /// Byte 5 carries an unknown vote type code.
    #[error("unknown vote type code {0} at byte 5")]
    UnknownVoteTypeCode(u8),
}

impl Vote {
    /// A vote by `node_id` on `block_id`.
    pub const fn new(
        engine_type: EngineType,
        node_id: u32,
        block_id: u64,
        vote_type: VoteType,
    ) -> Vote {
        Vote {
            engine_type,
            node_id,
            block_id,
            vote_type,
        }
    }

    /// The 8-byte compact encoding; ids that do not fit in 16 bits are an error.
    pub fn pack(&self) -> Result<[u8; VOTE_LEN], VoteError> {
        let engine = self
            .engine_type
            .code()
            .ok_or(VoteError::NoEngineCode(self.engine_type))?;
        let node =
            u16::try_from(self.node_id).map_err(|_| VoteError::NodeIdTooLarge(self.node_id))?;
        let block =
            u16::try_from(self.block_id).map_err(|_| VoteError::BlockIdTooLarge(self.block_id))?;
        let [n0, n1] = node.to_be_bytes();
        let [b0, b1] = block.to_be_bytes();
        Ok([engine, n0, n1, b0, b1, self.vote_type.code(), 0, 0])
    }

    /// Decodes an 8-byte compact vote; the reserved bytes 6-7 are ignored.
    pub fn unpack(bytes: &[u8]) -> Result<Vote, VoteError> {
        let b: &[u8; VOTE_LEN] = bytes
            .try_into()
            .map_err(|_| VoteError::WrongLength(bytes.len()))?;
        let engine_type = EngineType::from_code(b[0]).ok_or(VoteError::UnknownEngineCode(b[0]))?;
        let vote_type = VoteType::from_code(b[5]).ok_or(VoteError::UnknownVoteTypeCode(b[5]))?;
        let node_id = u32::from(u16::from_be_bytes([b[1], b[2]]));
        let block_id = u64::from(u16::from_be_bytes([b[3], b[4]]));
        Ok(Vote::new(engine_type, node_id, block_id, vote_type))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTOR: [u8; 8] = [0x00, 0x01, 0x02, 0x12, 0x34, 0x01, 0x00, 0x00];

    #[test]
    fn spec_test_vector_packs() {
        let v = Vote::new(EngineType::Snowball, 0x0102, 0x1234, VoteType::Prefer);
        assert_eq!(v.pack(), Ok(VECTOR));
    }

    #[test]
    fn spec_test_vector_unpacks() {
        let v = Vote::unpack(&VECTOR).unwrap();
        assert_eq!(
            v,
            Vote::new(EngineType::Snowball, 0x0102, 0x1234, VoteType::Prefer)
        );
    }

    #[test]
    fn vote_type_codes() {
        for (t, c) in [
            (VoteType::Prefer, 1),
            (VoteType::Accept, 2),
            (VoteType::Reject, 3),
        ] {
            assert_eq!(t.code(), c);
            assert_eq!(VoteType::from_code(c), Some(t));
        }
        assert_eq!(VoteType::from_code(0), None);
        assert_eq!(VoteType::from_code(4), None);
    }

    #[test]
    fn vote_type_serde_names_are_lowercase() {
        assert_eq!(
            serde_json::to_string(&VoteType::Reject).unwrap(),
            "\"reject\""
        );
    }

    #[test]
    fn reserved_bytes_are_ignored_on_unpack() {
        let mut bytes = VECTOR;
        bytes[6] = 0xAB;
        bytes[7] = 0xCD;
        assert_eq!(Vote::unpack(&bytes), Vote::unpack(&VECTOR));
    }

    #[test]
    fn largest_ids_pack() {
        let v = Vote::new(EngineType::PostQuantum, 65535, 65535, VoteType::Reject);
        let bytes = v.pack().unwrap();
        assert_eq!(bytes, [5, 0xFF, 0xFF, 0xFF, 0xFF, 3, 0, 0]);
        assert_eq!(Vote::unpack(&bytes), Ok(v));
    }

    #[test]
    fn node_id_too_large() {
        let v = Vote::new(EngineType::Chain, 65536, 1, VoteType::Accept);
        let e = v.pack().unwrap_err();
        assert_eq!(e, VoteError::NodeIdTooLarge(65536));
        assert_eq!(
            e.to_string(),
            "node id 65536 does not fit in 16 bits (maximum 65535)"
        );
    }

    #[test]
    fn block_id_too_large() {
        let v = Vote::new(EngineType::Chain, 1, 70000, VoteType::Accept);
        let e = v.pack().unwrap_err();
        assert_eq!(e, VoteError::BlockIdTooLarge(70000));
        assert!(e.to_string().contains("block id 70000"));
    }

    #[test]
    fn slush_has_no_wire_code() {
        let v = Vote::new(EngineType::Slush, 1, 1, VoteType::Prefer);
        let e = v.pack().unwrap_err();
        assert_eq!(e, VoteError::NoEngineCode(EngineType::Slush));
        assert_eq!(
            e.to_string(),
            "engine type slush has no compact-vote wire code"
        );
    }

    #[test]
    fn wrong_length() {
        for len in [0, 7, 9, 16] {
            let bytes = vec![0u8; len];
            let e = Vote::unpack(&bytes).unwrap_err();
            assert_eq!(e, VoteError::WrongLength(len));
            assert!(e.to_string().contains("exactly 8 bytes"));
        }
    }

    #[test]
    fn unknown_engine_code() {
        let mut bytes = VECTOR;
        bytes[0] = 9;
        let e = Vote::unpack(&bytes).unwrap_err();
        assert_eq!(e, VoteError::UnknownEngineCode(9));
        assert_eq!(e.to_string(), "unknown engine type code 9 at byte 0");
    }

    #[test]
    fn unknown_vote_type_code() {
        for code in [0, 4, 255] {
            let mut bytes = VECTOR;
            bytes[5] = code;
            let e = Vote::unpack(&bytes).unwrap_err();
            assert_eq!(e, VoteError::UnknownVoteTypeCode(code));
            assert_eq!(
                e.to_string(),
                format!("unknown vote type code {code} at byte 5")
            );
        }
    }
}
