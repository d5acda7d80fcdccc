//! How far a run has come, and why it ended: what a mode reports to its caller.
//!
//! Modes call a [`Watch`] now and then (every 65,536 events in event mode, every 65,536
//! polls in lockstep mode) with a [`Progress`]; the watch draws a progress bar and returns
//! `false` to stop the run (SIGINT or SIGTERM). The run then ends as [`End::Interrupted`],
//! with everything decided so far kept.

use serde::{Deserialize, Serialize};

/// How far a run has come.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Virtual time reached, in nanoseconds (lockstep: rounds run).
    pub at: u64,
    /// The budget of `at`: `max_time` in nanoseconds (lockstep: `max_rounds`).
    pub budget: u64,
    /// Honest nodes finalized (ledgers: that reached the target).
    pub done: usize,
    /// Honest nodes in all.
    pub of: usize,
}

/// Told of the progress now and then; returns whether the run goes on.
pub type Watch<'a> = &'a mut dyn FnMut(Progress) -> bool;

/// A watch that lets every run go to its end.
pub fn never_stop(_: Progress) -> bool {
    true
}

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum End {
    /// Every honest node finalized (ledgers: reached the target).
    #[default]
    Finalized,
    /// Nothing was left to happen (every poll over, no message in flight).
    Idle,
    /// The virtual-time budget `max_time` ran out.
    MaxTime,
    /// The event budget `max_events` ran out.
    MaxEvents,
    /// The round budget `max_rounds` ran out (lockstep).
    MaxRounds,
    /// Ledgers: the safety checker found two conflicting decisions and stopped the run;
    /// harness mode: two finalized honest nodes disagree (avalanchego's `Disagreement`).
    SafetyViolation,
    /// SIGINT or SIGTERM stopped the run.
    Interrupted,
}

impl End {
    /// The reason in words, for the printed summary.
    pub fn describe(self) -> &'static str {
        match self {
            End::Finalized => "every honest node finalized",
            End::Idle => "nothing was left to happen",
            End::MaxTime => "max_time ran out",
            End::MaxEvents => "the event budget max_events ran out",
            End::MaxRounds => "max_rounds ran out",
            End::SafetyViolation => "a safety violation: two honest nodes decided differently",
            End::Interrupted => "interrupted by a signal",
        }
    }
}
