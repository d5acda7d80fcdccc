//! The `Consensus` API of the Lux consensus docs: blocks in, votes in, decisions out.
//!
//! Votes are gathered into the current poll. A second vote from the same node in one poll
//! is ignored and counted as a duplicate. When k distinct nodes have voted, the poll is
//! recorded by the engine and the next poll begins. Prefer and Accept votes count for their
//! block (for Chain and DAG, transitively for its ancestors); Reject votes count toward k
//! but for no block. A vote for a block that is already decided is counted in the stats and
//! changes nothing.
//!
//! Which engine runs for which [`EngineType`]:
//! - `Snowball`, `Snowflake`, `Slush`: [`Flat`], blocks sharing a parent compete as the
//!   choices of one decision; votes are not transitive.
//! - `Chain` and `PostQuantum`: [`Chain`] (Snowman); post-quantum signatures are not
//!   simulated, so its consensus is the chain's.
//! - `Dag` and `Avalanche`: [`Dag`]; each block is a vertex holding one transaction that
//!   conflicts with the transactions of its siblings (blocks with the same parent).

use crate::api::MAX_DATA_LEN;
use crate::{
    Block, Chain, ChainError, ConsensusParams, Dag, DagError, EngineType, Flat, ParamsError,
    Protocol, Shape, Status, Vote, VoteType, GENESIS_ID,
};
use serde::Serialize;
use thiserror::Error;

/// A user hook that sees each vote before it is counted and may refuse it.
///
/// Closures `FnMut(&Vote) -> bool` are vote handlers: return `false` to refuse the vote
/// (for example from a node already caught equivocating).
pub trait VoteHandler: Send {
    /// Returns whether the vote may be counted.
    fn on_vote(&mut self, vote: &Vote) -> bool;
}

impl<F: FnMut(&Vote) -> bool + Send> VoteHandler for F {
    fn on_vote(&mut self, vote: &Vote) -> bool {
        self(vote)
    }
}

/// Counters of what a [`Consensus`] instance has seen and done.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Every vote handed to `process_vote`, whatever became of it.
    pub votes_processed: u64,
    /// Votes that entered a poll.
    pub votes_counted: u64,
    /// Votes ignored because their node had already voted in the current poll.
    pub duplicate_votes: u64,
    /// Votes refused by the vote handler.
    pub refused_votes: u64,
    /// Votes with the wrong engine type or for an unknown block.
    pub invalid_votes: u64,
    /// Votes for blocks already accepted or rejected.
    pub votes_for_decided: u64,
    /// Polls recorded by the engine.
    pub polls_recorded: u64,
    /// Blocks added.
    pub blocks_added: u64,
    /// Blocks accepted.
    pub blocks_accepted: u64,
    /// Blocks rejected.
    pub blocks_rejected: u64,
}

/// Why a block or a vote was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConsensusError {
    /// The parameters break a rule.
    #[error("invalid parameters: {0}")]
    Params(#[from] ParamsError),
    /// The vote names another engine than this instance runs.
    #[error("vote for engine {got} sent to a {expected} instance")]
    EngineMismatch {
        /// The instance's engine.
        expected: EngineType,
        /// The vote's engine.
        got: EngineType,
    },
    /// The vote names a block this instance does not know.
    #[error("vote for unknown block {0}")]
    UnknownBlock(u64),
    /// The block's parent is neither known nor the genesis (id 0).
    #[error("block {block} names unknown parent {parent}")]
    UnknownParent {
        /// The block added.
        block: u64,
        /// Its parent id.
        parent: u64,
    },
    /// The block's parent is decided: rejected, or accepted below the last accepted block
    /// (Chain engines; avalanchego refuses it as an unknown parent).
    #[error("block {block} builds on {parent}, which is already {status:?}")]
    DecidedParent {
        /// The block added.
        block: u64,
        /// Its parent id.
        parent: u64,
        /// The parent's status.
        status: Status,
    },
    /// A block with this id was added before (or it is the genesis id 0).
    #[error("block {0} is already known")]
    DuplicateBlock(u64),
    /// The block's height is not its parent's plus one (Chain engines).
    #[error("block {block} has height {height}, but its parent is at height {parent_height}")]
    BadHeight {
        /// The block added.
        block: u64,
        /// Its height.
        height: u64,
        /// The parent's height.
        parent_height: u64,
    },
    /// The block's data is larger than the wire format allows.
    #[error("block {block} carries {len} bytes of data, more than the limit of {MAX_DATA_LEN}")]
    DataTooLarge {
        /// The block added.
        block: u64,
        /// Its data length.
        len: usize,
    },
}

/// What became of one vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoteOutcome {
    /// Entered the current poll.
    Counted,
    /// Entered the poll and completed it: the engine recorded the poll.
    PollRecorded,
    /// Its node already voted in this poll.
    Duplicate,
    /// Refused by the vote handler.
    Refused,
    /// Its block is already decided.
    AlreadyDecided,
}

#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // One per instance, matched on every vote: no boxing.
enum Backend {
    Flat(Flat),
    Chain(Chain),
    Dag(Dag),
}

impl Backend {
    #[inline]
    fn status(&self, id: u64) -> Option<Status> {
        match self {
            Backend::Flat(e) => e.status(id),
            Backend::Chain(e) => e.status(id),
            Backend::Dag(e) => e.vertex_status(id),
        }
    }
}

/// One node's consensus instance: add blocks, feed votes, read decisions.
pub struct Consensus {
    engine_type: EngineType,
    params: ConsensusParams,
    engine: Backend,
    /// Nodes that voted in the current poll.
    voters: Vec<u32>,
    /// The current poll's bag: block id -> votes.
    bag: Vec<(u64, usize)>,
    handler: Option<Box<dyn VoteHandler>>,
    stats: Stats,
}

impl std::fmt::Debug for Consensus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consensus")
            .field("engine_type", &self.engine_type)
            .field("params", &self.params)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// How the engines decide, beyond the parameters; the default is what avalanchego runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineOptions {
    /// Slush, Snowflake and Snowball: siblings decided by a tree over their ids (the
    /// default) or by one flat n-ary instance.
    pub decision: Shape,
    /// Chain: what each block's tree over its children runs (default Snowflake, as
    /// avalanchego's production chains since PR #3403).
    pub block_protocol: Protocol,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            decision: Shape::Tree,
            block_protocol: Protocol::Snowflake,
        }
    }
}

impl Consensus {
    /// A new instance running `engine_type` as avalanchego does; the parameters are
    /// validated first.
    pub fn new(engine_type: EngineType, params: ConsensusParams) -> Result<Self, ConsensusError> {
        Consensus::with_options(engine_type, params, EngineOptions::default())
    }

    /// A new instance running `engine_type` with `options`.
    pub fn with_options(
        engine_type: EngineType,
        params: ConsensusParams,
        options: EngineOptions,
    ) -> Result<Self, ConsensusError> {
        params.validate()?;
        let shape = options.decision;
        let engine = match engine_type {
            EngineType::Snowball => Backend::Flat(Flat::new(Protocol::Snowball, shape, &params)),
            EngineType::Snowflake => Backend::Flat(Flat::new(Protocol::Snowflake, shape, &params)),
            EngineType::Slush => Backend::Flat(Flat::new(Protocol::Slush, shape, &params)),
            EngineType::Chain | EngineType::PostQuantum => {
                Backend::Chain(Chain::with_protocol(&params, options.block_protocol))
            }
            EngineType::Dag | EngineType::Avalanche => Backend::Dag(Dag::new(&params)),
        };
        Ok(Consensus {
            engine_type,
            params,
            engine,
            voters: Vec::with_capacity(params.k),
            bag: Vec::with_capacity(params.k),
            handler: None,
            stats: Stats::default(),
        })
    }

    /// The engine this instance runs.
    pub fn engine_type(&self) -> EngineType {
        self.engine_type
    }

    /// The parameters this instance runs with.
    pub fn params(&self) -> &ConsensusParams {
        &self.params
    }

    /// Adds a block whose parent is known or the genesis (id 0); returns its status, which is
    /// `Rejected` at once (Slush, Snowflake, Snowball) when it builds on a rejected block or
    /// on a decided sibling set; a Chain refuses such a block, as avalanchego does, with
    /// [`ConsensusError::DecidedParent`].
    pub fn add_block(&mut self, block: Block) -> Result<Status, ConsensusError> {
        let (id, parent) = (block.id, block.parent_id);
        if block.data.len() > MAX_DATA_LEN {
            return Err(ConsensusError::DataTooLarge {
                block: id,
                len: block.data.len(),
            });
        }
        if id == GENESIS_ID || self.engine.status(id).is_some() {
            return Err(ConsensusError::DuplicateBlock(id));
        }
        if self.engine.status(parent).is_none() {
            return Err(ConsensusError::UnknownParent { block: id, parent });
        }
        let status = match &mut self.engine {
            Backend::Flat(e) => e
                .add(id, parent)
                .ok_or(ConsensusError::DuplicateBlock(id))?,
            Backend::Chain(e) => e.add_block(id, parent, block.height).map_err(|e| match e {
                ChainError::UnknownParent { block, parent } => {
                    ConsensusError::UnknownParent { block, parent }
                }
                ChainError::Duplicate(b) => ConsensusError::DuplicateBlock(b),
                ChainError::DecidedParent {
                    block,
                    parent,
                    status,
                } => ConsensusError::DecidedParent {
                    block,
                    parent,
                    status,
                },
                ChainError::BadHeight {
                    block,
                    height,
                    parent_height,
                } => ConsensusError::BadHeight {
                    block,
                    height,
                    parent_height,
                },
            })?,
            Backend::Dag(e) => {
                e.add_vertex(id, &[parent], &[(id, parent)])
                    .map_err(|e| match e {
                        DagError::UnknownParent { vertex, parent } => {
                            ConsensusError::UnknownParent {
                                block: vertex,
                                parent,
                            }
                        }
                        _ => ConsensusError::DuplicateBlock(id),
                    })?;
                e.vertex_status(id).unwrap_or(Status::Processing)
            }
        };
        self.stats.blocks_added += 1;
        self.refresh_decided();
        Ok(status)
    }

    /// Installs a handler that sees every well-formed vote first and may refuse it.
    pub fn set_vote_handler(&mut self, handler: impl VoteHandler + 'static) {
        self.handler = Some(Box::new(handler));
    }

    /// Removes the vote handler.
    pub fn clear_vote_handler(&mut self) {
        self.handler = None;
    }

    /// Takes one vote into the current poll (see the module docs for the rules).
    #[inline]
    pub fn process_vote(&mut self, vote: Vote) -> Result<VoteOutcome, ConsensusError> {
        self.stats.votes_processed += 1;
        if !self.engine_type.accepts_votes_of(vote.engine_type) {
            self.stats.invalid_votes += 1;
            return Err(ConsensusError::EngineMismatch {
                expected: self.engine_type,
                got: vote.engine_type,
            });
        }
        let Some(status) = self.engine.status(vote.block_id) else {
            self.stats.invalid_votes += 1;
            return Err(ConsensusError::UnknownBlock(vote.block_id));
        };
        if let Some(h) = &mut self.handler {
            if !h.on_vote(&vote) {
                self.stats.refused_votes += 1;
                return Ok(VoteOutcome::Refused);
            }
        }
        if status.is_decided() {
            self.stats.votes_for_decided += 1;
            return Ok(VoteOutcome::AlreadyDecided);
        }
        if self.voters.contains(&vote.node_id) {
            self.stats.duplicate_votes += 1;
            return Ok(VoteOutcome::Duplicate);
        }
        self.stats.votes_counted += 1;
        self.voters.push(vote.node_id);
        if vote.vote_type != VoteType::Reject {
            match self.bag.iter_mut().find(|(b, _)| *b == vote.block_id) {
                Some((_, n)) => *n += 1,
                None => self.bag.push((vote.block_id, 1)),
            }
        }
        if self.voters.len() < self.params.k {
            return Ok(VoteOutcome::Counted);
        }
        self.record_current_poll();
        Ok(VoteOutcome::PollRecorded)
    }

    /// Closes the poll under way now, as its timeout would: the votes gathered so far are
    /// recorded (missing answers count for nothing, so a short poll resets confidence), the
    /// next poll begins, and the status of `block_id` after it is returned.
    ///
    /// ```
    /// use luxsim::{Block, Consensus, ConsensusParams, EngineType, Status, Vote, VoteType};
    /// let mut c = Consensus::new(EngineType::Chain, ConsensusParams::preset("local").unwrap()).unwrap();
    /// c.add_block(Block::new(7, 0, 1, 0, vec![])).unwrap();
    /// for _ in 0..2 {
    ///     // Two of the three sampled nodes answered before the timeout: alpha (2) is met.
    ///     c.process_vote(Vote::new(EngineType::Chain, 1, 7, VoteType::Prefer)).unwrap();
    ///     c.process_vote(Vote::new(EngineType::Chain, 2, 7, VoteType::Prefer)).unwrap();
    ///     c.poll(7).unwrap();
    /// }
    /// assert_eq!(c.poll(7), Ok(Status::Accepted));
    /// assert_eq!(c.stats().polls_recorded, 3);
    /// ```
    pub fn poll(&mut self, block_id: u64) -> Result<Status, ConsensusError> {
        let status = self
            .engine
            .status(block_id)
            .ok_or(ConsensusError::UnknownBlock(block_id))?;
        if status.is_decided() {
            self.stats.polls_recorded += 1;
            self.voters.clear();
            self.bag.clear();
            return Ok(status);
        }
        self.record_current_poll();
        Ok(self.engine.status(block_id).unwrap_or(status))
    }

    fn record_current_poll(&mut self) {
        self.stats.polls_recorded += 1;
        let decided = match &mut self.engine {
            Backend::Flat(e) => e.record_poll(&self.bag),
            Backend::Chain(e) => e.record_poll(&self.bag),
            Backend::Dag(e) => {
                e.record_poll(&self.bag);
                true
            }
        };
        self.voters.clear();
        self.bag.clear();
        if decided {
            self.refresh_decided();
        }
    }

    fn refresh_decided(&mut self) {
        let (accepted, rejected) = match &mut self.engine {
            Backend::Flat(e) => {
                e.clear_decided();
                (e.accepted(), e.rejected())
            }
            Backend::Chain(e) => {
                e.clear_decided();
                (e.accepted(), e.rejected())
            }
            Backend::Dag(e) => (e.accepted_vertices(), e.rejected_vertices()),
        };
        self.stats.blocks_accepted = accepted as u64;
        self.stats.blocks_rejected = rejected as u64;
    }

    /// Whether the block is accepted (the genesis, id 0, always is).
    pub fn is_accepted(&self, block_id: u64) -> bool {
        self.engine.status(block_id) == Some(Status::Accepted)
    }

    /// The status of a block, `None` when unknown.
    pub fn status(&self, block_id: u64) -> Option<Status> {
        self.engine.status(block_id)
    }

    /// The preferred tip: the processing block this node would vote for, `None` while no
    /// block is processing (the Lux docs' `get_preference() -> Optional[int]`).
    pub fn preference(&self) -> Option<u64> {
        let tip = match &self.engine {
            Backend::Flat(e) => e.preference(),
            Backend::Chain(e) => e.preference(),
            Backend::Dag(e) => {
                let mut frontier = Vec::new();
                e.preferred_frontier(&mut frontier);
                frontier.last().copied().unwrap_or(e.last_accepted())
            }
        };
        (self.engine.status(tip) == Some(Status::Processing)).then_some(tip)
    }

    /// Votes gathered in the poll under way.
    pub fn pending_votes(&self) -> usize {
        self.voters.len()
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }
}
