//! Blocks and their canonical version-1 big-endian encoding (see the wire spec).
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 1 | version = 1 |
//! | 1 | 8 | id |
//! | 9 | 8 | parent id |
//! | 17 | 8 | height |
//! | 25 | 8 | timestamp |
//! | 33 | 4 | data length N (at most [`MAX_DATA_LEN`]) |
//! | 37 | N | data |
//!
//! A block's hash is SHA-256 of this encoding.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The id of the implicit genesis block: height 0, already accepted (the engines' [`crate::GENESIS`]).
pub const GENESIS_ID: u64 = crate::GENESIS;

/// The largest data payload a block may carry: 16 MiB.
pub const MAX_DATA_LEN: usize = 16 * 1024 * 1024;

/// The encoding version this module writes and reads.
pub const BLOCK_VERSION: u8 = 1;

/// The size of the fixed header that precedes the data: the minimum encoding length.
pub const HEADER_LEN: usize = 37;

/// A block: an id, its parent, its height, a timestamp and opaque data.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Block {
    /// The block's id.
    pub id: u64,
    /// The id of the parent block ([`GENESIS_ID`] for a child of genesis).
    pub parent_id: u64,
    /// The height: the parent's height plus one.
    pub height: u64,
    /// Nanoseconds since the Unix epoch, or virtual time.
    pub timestamp: u64,
    /// The opaque payload.
    pub data: Vec<u8>,
}

/// Why a block could not be decoded or is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// The input is shorter than the fixed header.
    #[error("block encoding is {len} bytes long, shorter than the {min}-byte header")]
    TooShort {
        /// The length of the input.
        len: usize,
        /// The minimum length (the header size, 37).
        min: usize,
    },
    /// The version byte is not 1.
    #[error("unsupported block encoding version {0} at byte 0 (only version 1 is supported)")]
    UnsupportedVersion(u8),
    /// The data length exceeds [`MAX_DATA_LEN`].
    #[error("block data length {len} exceeds the limit of {max} bytes")]
    DataTooLarge {
        /// The data length (declared, or actual for [`Block::validate`]).
        len: usize,
        /// The limit, [`MAX_DATA_LEN`].
        max: usize,
    },
    /// The declared data length disagrees with the bytes after the header.
    #[error(
        "block declares {declared} data bytes but {actual} follow the header ({})",
        mismatch_kind(*.declared, *.actual)
    )]
    LengthMismatch {
        /// The data length N declared at bytes 33-36.
        declared: usize,
        /// The number of bytes actually present after the header.
        actual: usize,
    },
}

/// Describes a length mismatch: trailing bytes or a truncated body.
fn mismatch_kind(declared: usize, actual: usize) -> &'static str {
    if actual > declared {
        "trailing bytes"
    } else {
        "truncated body"
    }
}

/// Reads a big-endian u64 at `at`; the caller guarantees `at + 8 <= bytes.len()`.
fn read_u64(bytes: &[u8], at: usize) -> u64 {
    let mut buf = [0u8; 8];
    buf.copy_from_slice(&bytes[at..at + 8]);
    u64::from_be_bytes(buf)
}

impl Block {
    /// The largest data payload a block may carry (same as [`MAX_DATA_LEN`]).
    pub const MAX_DATA_LEN: usize = MAX_DATA_LEN;

    /// A block from its fields.
    pub fn new(id: u64, parent_id: u64, height: u64, timestamp: u64, data: Vec<u8>) -> Block {
        Block {
            id,
            parent_id,
            height,
            timestamp,
            data,
        }
    }

    /// Checks that the data fits the encoding: at most [`MAX_DATA_LEN`] bytes.
    pub fn validate(&self) -> Result<(), BlockError> {
        if self.data.len() > MAX_DATA_LEN {
            return Err(BlockError::DataTooLarge {
                len: self.data.len(),
                max: MAX_DATA_LEN,
            });
        }
        Ok(())
    }

    /// The fixed 37-byte header of the encoding.
    fn header(&self) -> [u8; HEADER_LEN] {
        // Data longer than u32::MAX saturates; either way an oversized length
        // makes `deserialize` fail with `DataTooLarge`.
        let n = u32::try_from(self.data.len()).unwrap_or(u32::MAX);
        let mut h = [0u8; HEADER_LEN];
        h[0] = BLOCK_VERSION;
        h[1..9].copy_from_slice(&self.id.to_be_bytes());
        h[9..17].copy_from_slice(&self.parent_id.to_be_bytes());
        h[17..25].copy_from_slice(&self.height.to_be_bytes());
        h[25..33].copy_from_slice(&self.timestamp.to_be_bytes());
        h[33..37].copy_from_slice(&n.to_be_bytes());
        h
    }

    /// The version-1 encoding; for a block that fails [`Block::validate`] the
    /// result is one that [`Block::deserialize`] rejects.
    pub fn serialize(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.data.len());
        out.extend_from_slice(&self.header());
        out.extend_from_slice(&self.data);
        out
    }

    /// Decodes a version-1 encoding, rejecting any malformed or oversized input.
    pub fn deserialize(bytes: &[u8]) -> Result<Block, BlockError> {
        if bytes.len() < HEADER_LEN {
            return Err(BlockError::TooShort {
                len: bytes.len(),
                min: HEADER_LEN,
            });
        }
        if bytes[0] != BLOCK_VERSION {
            return Err(BlockError::UnsupportedVersion(bytes[0]));
        }
        let n = u32::from_be_bytes([bytes[33], bytes[34], bytes[35], bytes[36]]);
        let declared = usize::try_from(n).unwrap_or(usize::MAX);
        if declared > MAX_DATA_LEN {
            return Err(BlockError::DataTooLarge {
                len: declared,
                max: MAX_DATA_LEN,
            });
        }
        let body = &bytes[HEADER_LEN..];
        if body.len() != declared {
            return Err(BlockError::LengthMismatch {
                declared,
                actual: body.len(),
            });
        }
        Ok(Block {
            id: read_u64(bytes, 1),
            parent_id: read_u64(bytes, 9),
            height: read_u64(bytes, 17),
            timestamp: read_u64(bytes, 25),
            data: body.to_vec(),
        })
    }

    /// SHA-256 of the encoding, computed without building it.
    pub fn hash(&self) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(self.header());
        hasher.update(&self.data);
        hasher.finalize().into()
    }

    /// The hash as 64 lower-case hex digits.
    pub fn hash_hex(&self) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let hash = self.hash();
        let mut s = String::with_capacity(hash.len() * 2);
        for b in hash {
            s.push(char::from(HEX[usize::from(b >> 4)]));
            s.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Block {
        Block::new(
            0x0102_0304_0506_0708,
            0x1112_1314_1516_1718,
            0x2122_2324_2526_2728,
            0x3132_3334_3536_3738,
            b"abc".to_vec(),
        )
    }

    #[test]
    fn encoding_matches_hand_built_bytes() {
        #[rustfmt::skip]
        let expected: Vec<u8> = vec![
            0x01,
            0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
            0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
            0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,
            0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38,
            0x00, 0x00, 0x00, 0x03,
            b'a', b'b', b'c',
        ];
        let got = sample().serialize();
        assert_eq!(got.len(), expected.len());
        for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
            assert_eq!(g, e, "byte {i}");
        }
        assert_eq!(got.capacity(), expected.len());
        assert_eq!(Block::deserialize(&expected), Ok(sample()));
    }

    #[test]
    fn empty_data_round_trips() {
        let b = Block::new(GENESIS_ID, 0, 0, 0, Vec::new());
        let bytes = b.serialize();
        assert_eq!(bytes.len(), HEADER_LEN);
        assert_eq!(Block::deserialize(&bytes), Ok(b));
    }

    #[test]
    fn hash_is_sha256_of_encoding() {
        let b = sample();
        let expected: [u8; 32] = Sha256::digest(b.serialize()).into();
        assert_eq!(b.hash(), expected);
        let hex = b.hash_hex();
        assert_eq!(hex.len(), 64);
        let expected_hex: String = expected.iter().map(|x| format!("{x:02x}")).collect();
        assert_eq!(hex, expected_hex);
    }

    #[test]
    fn too_short() {
        for len in [0, 1, 36] {
            let e = Block::deserialize(&vec![1u8; len]).unwrap_err();
            assert_eq!(e, BlockError::TooShort { len, min: 37 });
            assert!(e.to_string().contains("37"));
        }
    }

    #[test]
    fn unsupported_version() {
        let mut bytes = sample().serialize();
        bytes[0] = 2;
        let e = Block::deserialize(&bytes).unwrap_err();
        assert_eq!(e, BlockError::UnsupportedVersion(2));
        assert!(e.to_string().contains("version 2"));
    }

    #[test]
    fn data_too_large_on_decode() {
        let mut bytes = sample().serialize();
        let n = u32::try_from(MAX_DATA_LEN + 1).unwrap();
        bytes[33..37].copy_from_slice(&n.to_be_bytes());
        let e = Block::deserialize(&bytes).unwrap_err();
        assert_eq!(
            e,
            BlockError::DataTooLarge {
                len: MAX_DATA_LEN + 1,
                max: MAX_DATA_LEN
            }
        );
        assert_eq!(
            e.to_string(),
            "block data length 16777217 exceeds the limit of 16777216 bytes"
        );
    }

    #[test]
    fn data_too_large_on_validate() {
        let mut b = sample();
        assert_eq!(b.validate(), Ok(()));
        b.data = vec![0; MAX_DATA_LEN];
        assert_eq!(b.validate(), Ok(()));
        b.data.push(0);
        assert_eq!(
            b.validate(),
            Err(BlockError::DataTooLarge {
                len: MAX_DATA_LEN + 1,
                max: MAX_DATA_LEN
            })
        );
        // The encoding of an invalid block is rejected on decode.
        assert!(matches!(
            Block::deserialize(&b.serialize()),
            Err(BlockError::DataTooLarge { .. })
        ));
    }

    #[test]
    fn trailing_bytes() {
        let mut bytes = sample().serialize();
        bytes.push(0);
        let e = Block::deserialize(&bytes).unwrap_err();
        assert_eq!(
            e,
            BlockError::LengthMismatch {
                declared: 3,
                actual: 4
            }
        );
        assert_eq!(
            e.to_string(),
            "block declares 3 data bytes but 4 follow the header (trailing bytes)"
        );
    }

    #[test]
    fn truncated_body() {
        let mut bytes = sample().serialize();
        bytes.pop();
        let e = Block::deserialize(&bytes).unwrap_err();
        assert_eq!(
            e,
            BlockError::LengthMismatch {
                declared: 3,
                actual: 2
            }
        );
        assert!(e.to_string().ends_with("(truncated body)"));
    }
}
