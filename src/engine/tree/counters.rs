//! The counters inside the tree's nodes: avalanchego's unary and binary Snowflake and
//! Snowball instances (`unary_snowflake.go`, `unary_snowball.go`, `binary_snowflake.go`,
//! `binary_snowball.go`), and a Slush variant of our own, each for one termination condition
//! (alpha_confidence, beta), as avalanchego's parameters make.
//!
//! As in avalanchego, counters keep moving after the instance finalizes where avalanchego's
//! do: a Snowball's strengths and a unary Snowflake's confidence; a binary Snowflake ignores
//! polls once final.

use std::fmt;

use crate::{ConsensusParams, Protocol};

/// The thresholds every node of one tree applies, and the protocol its counters run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Rules {
    pub protocol: Protocol,
    pub alpha_preference: u32,
    pub alpha_confidence: u32,
    pub beta: u32,
}

impl Rules {
    pub fn new(protocol: Protocol, params: &ConsensusParams) -> Self {
        Rules {
            protocol,
            alpha_preference: params.alpha_preference as u32,
            alpha_confidence: params.alpha_confidence as u32,
            beta: params.beta as u32,
        }
    }

    /// Whether nodes finalize by confidence (Slush finalizes the whole tree by poll count).
    fn flakes(&self) -> bool {
        self.protocol != Protocol::Slush
    }

    /// avalanchego's confidence step for one termination condition: a poll of `count`
    /// votes raises `confidence` if it reached alpha_confidence, else clears it; beta in a
    /// row finalizes.
    fn confide(&self, count: u32, confidence: &mut u32, finalized: &mut bool) {
        if !self.flakes() {
            return;
        }
        if count < self.alpha_confidence {
            *confidence = 0;
            return;
        }
        *confidence += 1;
        *finalized |= *confidence >= self.beta;
    }
}

/// The counter of a unary node: a run of bits on which no two added choices differ.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Unary {
    /// Successful polls (Snowball's preference strength; kept but unused otherwise).
    pub strength: u32,
    /// Consecutive polls of at least alpha_confidence votes.
    pub confidence: u32,
    /// Whether confidence reached beta.
    pub finalized: bool,
}

impl Unary {
    /// A poll gave this node `count >= alpha_preference` votes.
    pub fn record_poll(&mut self, count: u32, r: &Rules) {
        debug_assert!(count >= r.alpha_preference);
        self.strength += 1;
        r.confide(count, &mut self.confidence, &mut self.finalized);
    }

    /// A poll gave this node fewer than alpha_preference votes, or its parent failed.
    pub fn record_unsuccessful_poll(&mut self) {
        self.confidence = 0;
    }

    /// The binary counter this node becomes when a choice differing at one of its bits is
    /// added; `choice` is the side of the current preference.
    pub fn extend(&self, choice: usize) -> Binary {
        let mut strength = [0; 2];
        strength[choice] = self.strength;
        Binary {
            preference: choice as u8,
            strong: choice as u8,
            strength,
            confidence: self.confidence,
            finalized: self.finalized,
        }
    }

    pub fn display(&self, r: &Rules) -> Shown<'_> {
        Shown::Unary(self, r.protocol)
    }
}

/// The counter of a binary node: one decision between the two values of one bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Binary {
    /// Slush's preference: the side of the last poll that reached alpha_preference.
    pub preference: u8,
    /// Snowball's preference: the side with the greater strength (ties keep it).
    pub strong: u8,
    /// Successful polls for each side.
    pub strength: [u32; 2],
    /// Consecutive polls of at least alpha_confidence votes for `preference`.
    pub confidence: u32,
    /// Whether confidence reached beta.
    pub finalized: bool,
}

impl Binary {
    /// A poll gave side `choice` the most votes, `count` of them.
    pub fn record_poll(&mut self, count: u32, choice: usize, r: &Rules) {
        if r.protocol == Protocol::Snowball && count >= r.alpha_preference {
            self.strength[choice] += 1;
            if self.strength[choice] > self.strength[1 - choice] {
                self.strong = choice as u8;
            }
        }
        if self.finalized {
            return;
        }
        if count < r.alpha_preference {
            self.confidence = 0;
            return;
        }
        if choice != usize::from(self.preference) {
            self.confidence = 0;
        }
        self.preference = choice as u8;
        r.confide(count, &mut self.confidence, &mut self.finalized);
    }

    /// A poll gave neither side alpha_preference votes, or the parent failed.
    pub fn record_unsuccessful_poll(&mut self) {
        self.confidence = 0;
    }

    /// The preferred side: Snowball's until final, then the finalized Snowflake's.
    pub fn preference(&self, r: &Rules) -> usize {
        if r.protocol == Protocol::Snowball && !self.finalized {
            usize::from(self.strong)
        } else {
            usize::from(self.preference)
        }
    }

    pub fn display(&self, r: &Rules) -> Shown<'_> {
        Shown::Binary(self, r.protocol)
    }
}

/// A counter printed as avalanchego prints its instance (`SB(...)`, `SF(...)`, `SL(...)`).
pub(super) enum Shown<'a> {
    Unary(&'a Unary, Protocol),
    Binary(&'a Binary, Protocol),
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Shown::Unary(u, p) => {
                let flake = format!(
                    "SF(Confidence = [{}], Finalized = {})",
                    u.confidence, u.finalized
                );
                match p {
                    Protocol::Snowball => {
                        write!(f, "SB(PreferenceStrength = {}, {flake})", u.strength)
                    }
                    Protocol::Snowflake => write!(f, "{flake}"),
                    Protocol::Slush => write!(f, "SL(Polls = {})", u.strength),
                }
            }
            Shown::Binary(b, p) => {
                let slush = format!("SL(Preference = {})", b.preference);
                let flake = format!(
                    "SF(Confidence = [{}], Finalized = {}, {slush})",
                    b.confidence, b.finalized
                );
                match p {
                    Protocol::Snowball => write!(
                        f,
                        "SB(Preference = {}, PreferenceStrength[0] = {}, PreferenceStrength[1] = {}, {flake})",
                        b.strong, b.strength[0], b.strength[1]
                    ),
                    Protocol::Snowflake => write!(f, "{flake}"),
                    Protocol::Slush => write!(f, "{slush}"),
                }
            }
        }
    }
}
