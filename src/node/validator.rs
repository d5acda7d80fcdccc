//! The one shape of every validator: a sans-I/O state machine, the shape of stateright's
//! `Actor`. A driver feeds it [`Input`]s with the time, it appends [`Output`]s; it owns no
//! clock, socket or thread. The simulator (virtual time) and the bridge (sockets and a
//! monotonic clock) are its two drivers.
//!
//! The kind-specific parts are associated types: what validators say to each other, the
//! timers they ask for, the commands a driver may give (a proposal) and what they report
//! (a decision, an accepted block). Polls are announced explicitly, with their request id,
//! deadline and number of peers, so that no driver has to infer them.

use super::{NodeId, StakeSampler};

/// What drives a validator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input<M, T, C> {
    /// Begin (or, after a crash, resume) polling.
    Start,
    /// A message arrived from a peer.
    Message {
        /// The sender.
        from: NodeId,
        /// What it said.
        msg: M,
    },
    /// A timer set earlier fired.
    Timer(T),
    /// A command of the driver's (a ledger's proposal).
    Command(C),
}

/// What a validator asks its driver to do, or reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output<M, T, R> {
    /// Send `msg` to `to`.
    Send {
        /// The recipient.
        to: NodeId,
        /// The message.
        msg: M,
    },
    /// Send `msg` to every other validator.
    Broadcast {
        /// The message.
        msg: M,
    },
    /// Fire `timer` at time `at`.
    SetTimer {
        /// When, in the driver's clock.
        at: u64,
        /// Which timer.
        timer: T,
    },
    /// A poll opens: the next `peers` outputs are its queries (`Send`), and it is recorded
    /// when every peer has answered or at `deadline`, whichever comes first.
    PollOpened {
        /// The poll's request id, named by its queries and their answers.
        request: u32,
        /// When the poll times out, in the driver's clock.
        deadline: u64,
        /// How many queries follow.
        peers: u32,
    },
    /// A poll was recorded: its top choice or item had `count` votes of `answers` answers.
    PollRecorded {
        /// The poll's request id.
        request: u32,
        /// The choice or item named most (ties: the smallest, see [`top`]); meaningless
        /// when `answers` is 0.
        top: u64,
        /// Votes for it.
        count: u32,
        /// Answers received.
        answers: u32,
    },
    /// What the validator decided or did, of its own kind.
    Report(R),
}

/// The input type of validator `V`.
pub type InputOf<V> =
    Input<<V as Validator>::Message, <V as Validator>::Timer, <V as Validator>::Command>;
/// The output type of validator `V`.
pub type OutputOf<V> =
    Output<<V as Validator>::Message, <V as Validator>::Timer, <V as Validator>::Report>;

/// A validator: a sans-I/O state machine that handles one input at a time.
pub trait Validator {
    /// What validators of this kind say to each other.
    type Message: Clone + std::fmt::Debug;
    /// The timers it asks its driver for.
    type Timer: Copy + std::fmt::Debug + PartialEq;
    /// Commands a driver may give it besides start, messages and timers.
    type Command: Clone + std::fmt::Debug;
    /// What it reports: its decisions.
    type Report: Clone + std::fmt::Debug;

    /// This validator's id.
    fn id(&self) -> NodeId;

    /// Handles `input` at time `now` (the driver's clock, non-decreasing), appending what
    /// the driver must do to `out`; `sampler` draws the peers of a poll by stake.
    fn handle(
        &mut self,
        now: u64,
        input: InputOf<Self>,
        sampler: &StakeSampler,
        out: &mut Vec<OutputOf<Self>>,
    );

    /// Polls recorded so far.
    fn polls_recorded(&self) -> u32;
}

/// The one tie-break rule of every poll: the entry with the most votes, ties going to the
/// smallest key; `(key, votes)` pairs in any order. `None` for no votes at all.
pub fn top(votes: impl IntoIterator<Item = (u64, u32)>) -> Option<(u64, u32)> {
    votes
        .into_iter()
        .filter(|&(_, n)| n > 0)
        .fold(None, |best, (k, n)| match best {
            Some((bk, bn)) if bn > n || (bn == n && bk < k) => Some((bk, bn)),
            _ => Some((k, n)),
        })
}

/// A command type for validators that take none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoCommand {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_top_entry_takes_ties_by_the_smallest_key() {
        assert_eq!(top([(3, 2), (1, 2), (2, 1)]), Some((1, 2)));
        assert_eq!(top([(5, 1), (4, 3)]), Some((4, 3)));
        assert_eq!(top([(5, 0)]), None);
        assert_eq!(top(std::iter::empty()), None);
    }
}
