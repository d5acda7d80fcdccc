//! The byte formats validators exchange on sockets (`docs/wire.md`): pure codecs, no I/O.
//!
//! - [`Frame`]: the node-to-node frames of the poll protocol (one decision);
//! - [`LedgerFrame`]: those of chain and DAG validators, on the same 12-byte header.
//!
//! Decoding never panics and every length is checked. The bridge (`luxsim node`) and the
//! Python package's networked nodes both speak these frames, so either can be a peer of
//! the other.

pub(crate) mod frame;
pub(crate) mod ledger_frame;

pub use frame::{Frame, FrameError, HEADER_LEN, MAGIC, VERSION};
pub use ledger_frame::{
    is_reply, LedgerFrame, KIND_GET, KIND_LEDGER_ANSWER, KIND_LEDGER_QUERY, KIND_PUSH, KIND_PUT,
    MAX_FRAME, MAX_VERTEX_PARENTS, MAX_VERTEX_TXS,
};
