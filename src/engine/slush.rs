//! Slush: the memoryless base protocol, deciding its preference after exactly beta polls.

use crate::ConsensusParams;

/// Slush state: a preference and the number of polls recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slush {
    alpha_preference: u32,
    rounds: u32,
    polls: u32,
    preference: u32,
}

impl Slush {
    /// A fresh instance preferring `initial`; it decides after `params.beta` polls.
    pub fn new(params: &ConsensusParams, initial: usize) -> Self {
        Slush {
            alpha_preference: params.alpha_preference as u32,
            rounds: params.beta as u32,
            polls: 0,
            preference: initial as u32,
        }
    }

    /// Records a poll: the preference moves to `choice` when `count >= alpha_preference`.
    #[inline]
    pub fn record_poll(&mut self, count: usize, choice: usize) {
        if self.finalized() {
            return;
        }
        if count as u32 >= self.alpha_preference {
            self.preference = choice as u32;
        }
        self.polls += 1;
    }

    /// Records a poll without a winning choice: it still counts as one of the m rounds.
    #[inline]
    pub fn record_unsuccessful_poll(&mut self) {
        if !self.finalized() {
            self.polls += 1;
        }
    }

    /// The current preference.
    #[inline]
    pub fn preference(&self) -> usize {
        self.preference as usize
    }

    /// Polls recorded so far.
    pub fn polls(&self) -> usize {
        self.polls as usize
    }

    /// Whether the beta (m) rounds are done.
    #[inline]
    pub fn finalized(&self) -> bool {
        self.polls >= self.rounds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decides_after_exactly_beta_polls() {
        let p = ConsensusParams::default();
        let mut s = Slush::new(&p, 0);
        for i in 0..20 {
            assert!(!s.finalized(), "poll {i}");
            s.record_poll(3, 1);
        }
        assert!(s.finalized());
        assert_eq!(s.preference(), 0, "weak polls never moved it");
    }

    #[test]
    fn adopts_a_choice_with_alpha_preference_votes_without_memory() {
        let p = ConsensusParams::default();
        let mut s = Slush::new(&p, 0);
        s.record_poll(15, 1);
        assert_eq!(s.preference(), 1);
        s.record_poll(14, 0);
        assert_eq!(s.preference(), 1);
        s.record_poll(15, 0);
        assert_eq!(s.preference(), 0);
        s.record_unsuccessful_poll();
        assert_eq!(s.polls(), 4);
    }
}
