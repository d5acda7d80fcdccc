//! The node-to-node frames of the poll protocol, version 1 (`docs/wire.md`).
//!
//! Every frame is one ZeroMQ message part, big-endian, fixed length per kind:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 2 | magic `4C 58` ("LX") |
//! | 2 | 1 | version = 1 |
//! | 3 | 1 | kind: 1 query, 2 answer |
//! | 4 | 4 | sender node id (u32) |
//! | 8 | 4 | request id (u32) |
//! | 12 | 8 | query: budget, nanoseconds left until the querier's poll deadline (u64) |
//! | 12 | 4 | answer: the answerer's preferred choice (u32) |
//!
//! A query is 20 bytes, an answer 16. Ledger validators use kinds 3 to 7 with the same
//! header ([`super::ledger_frame`]). Decoding never panics: any other input is a
//! [`FrameError`] that says what is wrong.

use crate::node::decision::Message;
use crate::node::NodeId;

/// The two magic bytes that open every frame: "LX".
pub const MAGIC: [u8; 2] = *b"LX";
/// The frame format version this build speaks.
pub const VERSION: u8 = 1;
/// Kind code of a query.
pub const KIND_QUERY: u8 = 1;
/// Kind code of an answer.
pub const KIND_ANSWER: u8 = 2;
/// Length of a query frame.
pub const QUERY_LEN: usize = 20;
/// Length of an answer frame.
pub const ANSWER_LEN: usize = 16;
/// Length of the header shared by both kinds (magic, version, kind, sender, request).
pub const HEADER_LEN: usize = 12;

/// One node-to-node frame: a poll query or its answer, with the sender's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// "What do you prefer?", for poll `request` of `from`.
    Query {
        /// The querier.
        from: NodeId,
        /// The querier's request id.
        request: u32,
        /// Nanoseconds left until the querier stops waiting, as of sending.
        budget_ns: u64,
    },
    /// The answer of `from` to query `request`.
    Answer {
        /// The answerer.
        from: NodeId,
        /// The request id of the query.
        request: u32,
        /// The answerer's preference.
        choice: u32,
    },
}

/// Why bytes are not a valid frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Shorter than the 12-byte header.
    #[error("frame of {0} bytes is shorter than the {HEADER_LEN}-byte header")]
    TooShort(usize),
    /// Bytes 0-1 are not "LX".
    #[error("bad magic {0:02x?} at bytes 0-1, expected 4c 58")]
    BadMagic([u8; 2]),
    /// Byte 2 names a version this build does not speak.
    #[error("unsupported frame version {0} at byte 2 (this build speaks {VERSION})")]
    UnsupportedVersion(u8),
    /// Byte 3 is neither a query nor an answer.
    #[error("unknown frame kind {0} at byte 3")]
    UnknownKind(u8),
    /// The length disagrees with the kind.
    #[error("{kind} frame of {got} bytes, expected {expected}")]
    WrongLength {
        /// "query" or "answer".
        kind: &'static str,
        /// The length of that kind.
        expected: usize,
        /// The length received.
        got: usize,
    },
    /// A ledger frame ends inside a field.
    #[error("{kind} frame ends inside the field at byte {at}")]
    Truncated {
        /// The frame kind.
        kind: &'static str,
        /// Where the field begins.
        at: usize,
    },
    /// A count in a ledger frame is above its limit.
    #[error("{n} {what} at byte {at}, at most {max}")]
    TooMany {
        /// What is counted.
        what: &'static str,
        /// The count.
        n: usize,
        /// The limit.
        max: usize,
        /// Where the count is.
        at: usize,
    },
    /// An item tag is neither a block (1) nor a vertex (2).
    #[error("unknown item tag {tag} at byte {at} (1 block, 2 vertex)")]
    UnknownItem {
        /// The tag.
        tag: u8,
        /// Where it is.
        at: usize,
    },
    /// Bytes follow the end of a ledger frame.
    #[error("{extra} bytes after the end of a {kind} frame")]
    Trailing {
        /// The frame kind.
        kind: &'static str,
        /// How many.
        extra: usize,
    },
}

/// The checked header of any frame: its kind, sender and request id.
pub(super) fn header(b: &[u8]) -> Result<(u8, NodeId, u32), FrameError> {
    let Some(header) = b.get(..HEADER_LEN) else {
        return Err(FrameError::TooShort(b.len()));
    };
    if header[..2] != MAGIC {
        return Err(FrameError::BadMagic([header[0], header[1]]));
    }
    if header[2] != VERSION {
        return Err(FrameError::UnsupportedVersion(header[2]));
    }
    let u32_at = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    Ok((header[3], u32_at(4), u32_at(8)))
}

impl Frame {
    /// The frame carrying `msg` from `from`; a query's deadline becomes a budget from `now`.
    pub fn from_message(from: NodeId, msg: Message, now: u64) -> Frame {
        match msg {
            Message::Query { request, deadline } => Frame::Query {
                from,
                request,
                budget_ns: deadline.saturating_sub(now),
            },
            Message::Answer { request, choice } => Frame::Answer {
                from,
                request,
                choice,
            },
        }
    }

    /// The sender's id.
    pub fn from(&self) -> NodeId {
        match *self {
            Frame::Query { from, .. } | Frame::Answer { from, .. } => from,
        }
    }

    /// The message for the state machine; a budget becomes a deadline in the receiver's clock.
    pub fn to_message(&self, now: u64) -> Message {
        match *self {
            Frame::Query {
                request, budget_ns, ..
            } => Message::Query {
                request,
                deadline: now.saturating_add(budget_ns),
            },
            Frame::Answer {
                request, choice, ..
            } => Message::Answer { request, choice },
        }
    }

    /// Appends the encoding to `out` and returns its length.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> usize {
        let start = out.len();
        let (kind, from, request) = match *self {
            Frame::Query { from, request, .. } => (KIND_QUERY, from, request),
            Frame::Answer { from, request, .. } => (KIND_ANSWER, from, request),
        };
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        out.push(kind);
        out.extend_from_slice(&from.to_be_bytes());
        out.extend_from_slice(&request.to_be_bytes());
        match *self {
            Frame::Query { budget_ns, .. } => out.extend_from_slice(&budget_ns.to_be_bytes()),
            Frame::Answer { choice, .. } => out.extend_from_slice(&choice.to_be_bytes()),
        }
        out.len() - start
    }

    /// The encoding as a new vector.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(QUERY_LEN);
        self.encode_into(&mut v);
        v
    }

    /// Decodes one frame; anything malformed is an error, never a panic.
    pub fn decode(b: &[u8]) -> Result<Frame, FrameError> {
        let (kind, from, request) = header(b)?;
        let u32_at = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        match kind {
            KIND_QUERY if b.len() == QUERY_LEN => {
                let mut budget = [0u8; 8];
                budget.copy_from_slice(&b[12..20]);
                Ok(Frame::Query {
                    from,
                    request,
                    budget_ns: u64::from_be_bytes(budget),
                })
            }
            KIND_QUERY => Err(FrameError::WrongLength {
                kind: "query",
                expected: QUERY_LEN,
                got: b.len(),
            }),
            KIND_ANSWER if b.len() == ANSWER_LEN => Ok(Frame::Answer {
                from,
                request,
                choice: u32_at(12),
            }),
            KIND_ANSWER => Err(FrameError::WrongLength {
                kind: "answer",
                expected: ANSWER_LEN,
                got: b.len(),
            }),
            kind => Err(FrameError::UnknownKind(kind)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_vectors_round_trip() {
        let q = Frame::Query {
            from: 0x0102,
            request: 7,
            budget_ns: 1_000_000_000,
        };
        let bytes = q.encode();
        assert_eq!(
            bytes,
            [0x4c, 0x58, 1, 1, 0, 0, 1, 2, 0, 0, 0, 7, 0, 0, 0, 0, 0x3b, 0x9a, 0xca, 0x00]
        );
        assert_eq!(Frame::decode(&bytes), Ok(q));
        let a = Frame::Answer {
            from: 3,
            request: 0xdead_beef,
            choice: 1,
        };
        let bytes = a.encode();
        assert_eq!(
            bytes,
            [0x4c, 0x58, 1, 2, 0, 0, 0, 3, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1]
        );
        assert_eq!(Frame::decode(&bytes), Ok(a));
    }

    #[test]
    fn bad_input_is_an_error_that_names_the_byte() {
        let good = Frame::Answer {
            from: 1,
            request: 2,
            choice: 0,
        }
        .encode();
        assert_eq!(Frame::decode(&good[..5]), Err(FrameError::TooShort(5)));
        let mut b = good.clone();
        b[0] = 0;
        assert_eq!(Frame::decode(&b), Err(FrameError::BadMagic([0, 0x58])));
        let mut b = good.clone();
        b[2] = 9;
        assert_eq!(Frame::decode(&b), Err(FrameError::UnsupportedVersion(9)));
        let mut b = good.clone();
        b[3] = 7;
        assert_eq!(Frame::decode(&b), Err(FrameError::UnknownKind(7)));
        let mut b = good.clone();
        b.push(0);
        assert!(matches!(
            Frame::decode(&b),
            Err(FrameError::WrongLength { got: 17, .. })
        ));
        assert!(FrameError::UnknownKind(7).to_string().contains("byte 3"));
    }

    #[test]
    fn no_input_panics() {
        // Every length up to 40 with a valid or random prefix decodes to Ok or Err.
        let q = Frame::Query {
            from: 1,
            request: 1,
            budget_ns: 1,
        }
        .encode();
        for len in 0..40 {
            let mut b: Vec<u8> = q.iter().copied().cycle().take(len).collect();
            let _ = Frame::decode(&b);
            b.iter_mut()
                .for_each(|x| *x = x.wrapping_mul(31).wrapping_add(7));
            let _ = Frame::decode(&b);
        }
    }

    #[test]
    fn budget_converts_between_clocks() {
        let msg = Message::Query {
            request: 4,
            deadline: 1_500,
        };
        let f = Frame::from_message(9, msg, 1_000);
        assert_eq!(
            f,
            Frame::Query {
                from: 9,
                request: 4,
                budget_ns: 500
            }
        );
        assert_eq!(
            f.to_message(10_000),
            Message::Query {
                request: 4,
                deadline: 10_500
            }
        );
        assert_eq!(f.from(), 9);
    }
}
