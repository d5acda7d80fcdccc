//! The messages of ledger nodes and what they carry: ids, blocks, vertices; inputs, outputs
//! and settings of a node.

use super::{NodeId, MAX_IDS};
use crate::{ConsensusParams, Protocol};
use std::sync::Arc;

/// Up to [`MAX_IDS`] item ids, as a message carries them: one or two inline (a chain's tip),
/// more shared behind a reference count (a dag's leaves), so that messages stay small.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ids(Repr);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Repr {
    Inline { len: u8, ids: [u64; INLINE] },
    Shared(Arc<[u64]>),
}

const INLINE: usize = 2;

impl Default for Ids {
    fn default() -> Self {
        Ids::EMPTY
    }
}

impl Ids {
    /// No id.
    pub const EMPTY: Ids = Ids(Repr::Inline {
        len: 0,
        ids: [0; INLINE],
    });

    /// One id.
    pub fn one(id: u64) -> Ids {
        Ids(Repr::Inline {
            len: 1,
            ids: [id, 0],
        })
    }

    /// The first [`MAX_IDS`] of `ids`.
    pub fn from_slice(ids: &[u64]) -> Ids {
        let ids = &ids[..ids.len().min(MAX_IDS)];
        if ids.len() <= INLINE {
            let mut inline = [0; INLINE];
            inline[..ids.len()].copy_from_slice(ids);
            Ids(Repr::Inline {
                len: ids.len() as u8,
                ids: inline,
            })
        } else {
            Ids(Repr::Shared(Arc::from(ids)))
        }
    }

    /// `ids` (ascending) if they fit, else the first [`MAX_IDS`]` - 1` and the last: the
    /// oldest frontier vertices and the newest one.
    pub fn oldest_and_newest(ids: &[u64]) -> Ids {
        IdsBuf::oldest_and_newest(ids).freeze()
    }

    /// The ids.
    pub fn as_slice(&self) -> &[u64] {
        match &self.0 {
            Repr::Inline { len, ids } => &ids[..*len as usize],
            Repr::Shared(ids) => ids,
        }
    }

    /// Whether there is no id.
    pub fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }
}

/// Up to [`MAX_IDS`] ids being gathered, on the stack; [`IdsBuf::freeze`] makes them [`Ids`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IdsBuf {
    len: u8,
    ids: [u64; MAX_IDS],
}

impl IdsBuf {
    /// `ids` (ascending) if they fit, else the first [`MAX_IDS`]` - 1` and the last.
    pub fn oldest_and_newest(ids: &[u64]) -> IdsBuf {
        let mut out = IdsBuf::default();
        if ids.len() <= MAX_IDS {
            out.ids[..ids.len()].copy_from_slice(ids);
            out.len = ids.len() as u8;
        } else {
            out.ids[..MAX_IDS - 1].copy_from_slice(&ids[..MAX_IDS - 1]);
            out.ids[MAX_IDS - 1] = ids[ids.len() - 1];
            out.len = MAX_IDS as u8;
        }
        out
    }

    /// Appends `id` if there is room; returns whether it did.
    pub fn push(&mut self, id: u64) -> bool {
        let n = self.len as usize;
        if n == MAX_IDS {
            return false;
        }
        self.ids[n] = id;
        self.len += 1;
        true
    }

    /// The ids.
    pub fn as_slice(&self) -> &[u64] {
        &self.ids[..self.len as usize]
    }

    /// The ids as a message carries them.
    pub fn freeze(&self) -> Ids {
        Ids::from_slice(self.as_slice())
    }
}

/// A block of a chain: its id, its parent's id and its height (the parent's plus one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockHeader {
    /// The block's id.
    pub id: u64,
    /// The parent's id ([`GENESIS`](super::GENESIS) at height 1).
    pub parent: u64,
    /// The height.
    pub height: u64,
}

/// A vertex of a DAG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vertex {
    /// The vertex's id.
    pub id: u64,
    /// One more than the largest parent height (the genesis is at 0).
    pub height: u64,
    /// Parent ids, ascending ([`GENESIS`](super::GENESIS) allowed).
    pub parents: Vec<u64>,
    /// Transactions: (transaction id, conflict key); equal keys conflict.
    pub txs: Vec<(u64, u64)>,
}

/// A block or a vertex, as carried by messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A chain block.
    Block(BlockHeader),
    /// A DAG vertex (shared: every copy sent is a reference count).
    Vertex(Arc<Vertex>),
}

impl Item {
    /// The item's id.
    pub fn id(&self) -> u64 {
        match self {
            Item::Block(b) => b.id,
            Item::Vertex(v) => v.id,
        }
    }

    /// The item's height.
    pub fn height(&self) -> u64 {
        match self {
            Item::Block(b) => b.height,
            Item::Vertex(v) => v.height,
        }
    }

    /// The parent ids.
    pub fn parents(&self) -> &[u64] {
        match self {
            Item::Block(b) => std::slice::from_ref(&b.parent),
            Item::Vertex(v) => &v.parents,
        }
    }
}

/// What ledger nodes say to each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// "What do you prefer?" for poll `request`; `tips` is the querier's own preference.
    Query {
        /// The querier's request id.
        request: u32,
        /// The querier's poll timeout, in its clock.
        deadline: u64,
        /// The querier's preferred tip or frontier.
        tips: Ids,
    },
    /// The answer to query `request`: the answerer's preferred tip or frontier.
    Answer {
        /// The request id of the query.
        request: u32,
        /// The ids voted for.
        tips: Ids,
    },
    /// A new item from its proposer.
    Push(Item),
    /// "Send me item `id`" (and, for chains, its ancestors above height `above`).
    Get {
        /// The item asked for.
        id: u64,
        /// The asker's last accepted height.
        above: u64,
    },
    /// An item sent in reply to a `Get`.
    Put(Item),
}

/// Timers a ledger node asks its driver for (ordered, so that a driver may keep them in a heap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timer {
    /// Poll `request` times out.
    PollTimeout {
        /// The poll's request id.
        request: u32,
    },
    /// Held poll `request` is recorded now, whatever is still missing.
    Release {
        /// The poll's request id.
        request: u32,
    },
    /// An idle node's gossip poll is due.
    Gossip,
}

/// A ledger node's command: propose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Propose item `id` now: a block on the preferred tip, or a vertex carrying `txs`.
    Propose {
        /// The new item's id (unique in the network).
        id: u64,
        /// Dag: the transactions, (id, conflict key).
        txs: Vec<(u64, u64)>,
        /// Dag: name only the last accepted vertex as parent.
        anchored: bool,
    },
}

/// What a ledger node reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// The node proposed `item` (and broadcasts it).
    Proposed(Item),
    /// Block or vertex `id` at `height` was accepted.
    Accepted {
        /// The item.
        id: u64,
        /// Its height.
        height: u64,
    },
    /// Block or vertex `id` at `height` was rejected.
    Rejected {
        /// The item.
        id: u64,
        /// Its height.
        height: u64,
    },
    /// Transaction `tx` (conflict key `key`) was accepted.
    TxAccepted {
        /// The transaction.
        tx: u64,
        /// Its conflict key.
        key: u64,
    },
    /// Transaction `tx` (conflict key `key`) was rejected.
    TxRejected {
        /// The transaction.
        tx: u64,
        /// Its conflict key.
        key: u64,
    },
}

/// What drives a ledger node.
pub type Input = crate::node::Input<Message, Timer, Command>;
/// What a ledger node asks its driver to do, or reports.
pub type Output = crate::node::Output<Message, Timer, Report>;

/// Which ledger a node keeps (`chain` or `dag` in files).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LedgerKind {
    /// A chain of blocks (Snowman).
    Chain,
    /// A DAG of vertices (Avalanche).
    Dag,
}

/// The settings of one ledger node.
#[derive(Debug, Clone)]
pub struct LedgerConfig {
    /// This node's id.
    pub id: NodeId,
    /// Engine parameters.
    pub params: ConsensusParams,
    /// Chain or dag.
    pub kind: LedgerKind,
    /// Chain: what each block's tree over its children runs (avalanchego: Snowflake).
    pub block_protocol: Protocol,
    /// Poll timeout (also the retry time of a `Get` and the longest hold), in nanoseconds.
    pub poll_timeout: u64,
    /// Whether the node may sample itself.
    pub self_sample: bool,
    /// Seed of the node's sampling generator.
    pub seed: u64,
    /// Dag: most parents a proposed vertex names.
    pub max_parents: usize,
}
