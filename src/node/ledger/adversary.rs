//! Byzantine voters of a ledger: the strategies of [`Strategy`], applied to blocks and
//! vertices. The adversary sees the items proposed through a [`LedgerView`] (the
//! simulator's registry of everything proposed; any driver may give its own) and the latest
//! conflicting pair (A, B): a chain equivocation or a dag double spend. How Byzantine
//! leaders propose is the driver's (the simulator's `byzantine.proposer`).
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

use super::{Ids, GENESIS};
use crate::node::{NodeId, Strategy};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Nanoseconds of the driver's clock.
type Nanos = u64;

/// How long a computed honest split is reused.
const SPLIT_TTL: Nanos = 10_000_000;

/// What a ledger adversary knows of the items proposed.
pub trait LedgerView {
    /// The latest conflicting pair (A, B), if any.
    fn latest_pair(&self) -> Option<(u64, u64)>;
    /// The ids of the newest `n` items (fewer if fewer exist), oldest first.
    fn recent(&self, n: usize) -> impl ExactSizeIterator<Item = u64>;
    /// The newest item proposed by an honest node ([`GENESIS`] before any).
    fn latest_honest(&self) -> u64;
}
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
    rng: ChaCha8Rng,
    /// (time computed, pair) of the cached split.
    cached: Option<(Nanos, (u64, u64))>,
    split: [u64; 2],
}

impl LedgerAdversary {
    /// An adversary voting by `strategy`, drawing from `rng`.
    pub fn new(strategy: Strategy, rng: ChaCha8Rng) -> Self {
        LedgerAdversary {
            strategy,
            rng,
            cached: None,
            split: [0, 0],
        }
    }

    /// The answer to `querier` at `now`; `split(pair)` counts the honest nodes preferring
    /// each side of a pair (called only by `balance`, at most every 10 virtual ms).
    pub fn answer(
        &mut self,
        querier: NodeId,
        now: Nanos,
        registry: &impl LedgerView,
        split: impl FnOnce((u64, u64)) -> [u64; 2],
    ) -> Answer {
        let pair = registry.latest_pair();
        let newest = registry.recent(1).next();
        let one = |id: Option<u64>| id.map_or(Ids::EMPTY, Ids::one);
        let even = querier.is_multiple_of(2);
        match self.strategy {
            Strategy::Silent => Answer::Silent,
            Strategy::Stubborn => Answer::Now(one(pair.map(|p| p.1))),
            Strategy::Random => {
                let mut recent = registry.recent(RANDOM_WINDOW);
                if recent.len() == 0 {
                    return Answer::Now(Ids::EMPTY);
                }
                let i = self.rng.random_range(0..recent.len());
                Answer::Now(recent.nth(i).map_or(Ids::EMPTY, Ids::one))
            }
            Strategy::Equivocate => Answer::Now(match (pair, even) {
                (Some((a, _)), true) => Ids::one(a),
                (Some((_, b)), false) => Ids::one(b),
                (None, true) => one(newest),
                (None, false) => Ids::EMPTY,
            }),
            // Single-decision adversaries (scenarios and node configs refuse them for
            // ledgers) balance as `balance` does.
            Strategy::Balance
            | Strategy::BalanceSimple
            | Strategy::BalanceInformed
            | Strategy::Split => {
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
