//! Byzantine voters of a ledger run: the strategies of the simulator, applied to blocks
//! and vertices. The adversary knows every item proposed (the [`Registry`]) and the
//! latest conflicting pair (A, B): a chain equivocation or a dag double spend.
//!
//! - `silent`: never answers.
//! - `stubborn`: always votes for B, the adversary's side of the latest pair (an empty
//!   answer, a vote for nothing, before any pair).
//! - `random`: votes for one of the 8 newest items, drawn uniformly.
//! - `equivocate`: votes A to even queriers and B to odd ones (before any pair: the newest
//!   item to even queriers, nothing to odd ones).
//! - `balance`: votes for the side of the latest pair that fewer honest nodes prefer now
//!   (ties: A; the split is refreshed every 10 virtual ms); nothing before any pair.
//! - `delay`: votes for the latest honest item, just before the querier's poll timeout.

use super::super::scenario::{Proposer, Strategy};
use super::super::scheduler::Nanos;
use super::production::Registry;
use crate::node::ledger::{Ids, GENESIS};
use crate::node::NodeId;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// How long a computed honest split is reused.
const SPLIT_TTL: Nanos = 10_000_000;
/// How many of the newest items `random` draws from.
const RANDOM_WINDOW: usize = 8;

/// How a Byzantine node answers one query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// No answer.
    Silent,
    /// Answer now, naming these ids.
    Now(Ids),
    /// Answer just before the querier's deadline.
    AtDeadline(Ids),
}

/// The adversary controlling every Byzantine node of a ledger run.
#[derive(Debug, Clone)]
pub struct LedgerAdversary {
    strategy: Strategy,
    proposer: Proposer,
    rng: ChaCha8Rng,
    /// (time computed, pair) of the cached split.
    cached: Option<(Nanos, (u64, u64))>,
    split: [u64; 2],
}

impl LedgerAdversary {
    /// An adversary voting by `strategy` and proposing by `proposer`.
    pub fn new(strategy: Strategy, proposer: Proposer, rng: ChaCha8Rng) -> Self {
        LedgerAdversary {
            strategy,
            proposer,
            rng,
            cached: None,
            split: [0, 0],
        }
    }

    /// What Byzantine leaders propose.
    pub fn proposer(&self) -> Proposer {
        self.proposer
    }

    /// The answer to `querier` at `now`; `split(pair)` counts the honest nodes preferring
    /// each side of a pair (called only by `balance`, at most every 10 virtual ms).
    pub fn answer(
        &mut self,
        querier: NodeId,
        now: Nanos,
        registry: &Registry,
        split: impl FnOnce((u64, u64)) -> [u64; 2],
    ) -> Answer {
        let pair = registry.latest_pair();
        let newest = registry.recent(1).first().map(|p| p.item.id());
        let one = |id: Option<u64>| id.map_or(Ids::EMPTY, Ids::one);
        let even = querier.is_multiple_of(2);
        match self.strategy {
            Strategy::Silent => Answer::Silent,
            Strategy::Stubborn => Answer::Now(one(pair.map(|p| p.1))),
            Strategy::Random => {
                let recent = registry.recent(RANDOM_WINDOW);
                if recent.is_empty() {
                    return Answer::Now(Ids::EMPTY);
                }
                let i = self.rng.random_range(0..recent.len());
                Answer::Now(Ids::one(recent[i].item.id()))
            }
            Strategy::Equivocate => Answer::Now(match (pair, even) {
                (Some((a, _)), true) => Ids::one(a),
                (Some((_, b)), false) => Ids::one(b),
                (None, true) => one(newest),
                (None, false) => Ids::EMPTY,
            }),
            Strategy::Balance => {
                let Some(pair) = pair else {
                    return Answer::Now(Ids::EMPTY);
                };
                let fresh = self
                    .cached
                    .is_some_and(|(at, p)| p == pair && now < at.saturating_add(SPLIT_TTL));
                if !fresh {
                    self.split = split(pair);
                    self.cached = Some((now, pair));
                }
                let side = if self.split[1] < self.split[0] {
                    pair.1
                } else {
                    pair.0
                };
                Answer::Now(Ids::one(side))
            }
            Strategy::Delay => {
                let latest = registry.latest_honest();
                Answer::AtDeadline(one((latest != GENESIS).then_some(latest)))
            }
        }
    }
}
