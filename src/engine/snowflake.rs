//! Snowflake: one decision among n choices, finalized by beta consecutive successful polls.

use crate::ConsensusParams;

/// Snowflake state: the slush preference, its confidence and whether it is final.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snowflake {
    alpha_preference: u32,
    alpha_confidence: u32,
    beta: u32,
    preference: u32,
    confidence: u32,
    finalized: bool,
}

impl Snowflake {
    /// A fresh instance preferring `initial`.
    pub fn new(params: &ConsensusParams, initial: usize) -> Self {
        Snowflake {
            alpha_preference: params.alpha_preference as u32,
            alpha_confidence: params.alpha_confidence as u32,
            beta: params.beta as u32,
            preference: initial as u32,
            confidence: 0,
            finalized: false,
        }
    }

    /// Records a poll whose top choice `choice` got `count` votes (spec steps 1-6).
    #[inline]
    pub fn record_poll(&mut self, count: usize, choice: usize) {
        if self.finalized {
            return;
        }
        let count = count as u32;
        if count < self.alpha_preference {
            self.confidence = 0;
            return;
        }
        if choice as u32 != self.preference {
            self.confidence = 0;
        }
        self.preference = choice as u32;
        if count < self.alpha_confidence {
            self.confidence = 0;
            return;
        }
        self.confidence += 1;
        self.finalized = self.confidence >= self.beta;
    }

    /// Records a poll that reached no choice (no votes, or all for others): confidence resets,
    /// even once final (avalanchego's `nnarySnowflake` does so; the decision stands).
    #[inline]
    pub fn record_unsuccessful_poll(&mut self) {
        self.confidence = 0;
    }

    /// The current (slush) preference.
    #[inline]
    pub fn preference(&self) -> usize {
        self.preference as usize
    }

    /// Consecutive successful polls for the preference.
    #[inline]
    pub fn confidence(&self) -> usize {
        self.confidence as usize
    }

    /// Whether the preference is final.
    #[inline]
    pub fn finalized(&self) -> bool {
        self.finalized
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> ConsensusParams {
        ConsensusParams::default()
    }

    #[test]
    fn twenty_strong_polls_finalize_at_the_twentieth() {
        let mut s = Snowflake::new(&params(), 0);
        for i in 1..=20 {
            assert!(!s.finalized(), "final before poll {i}");
            s.record_poll(15, 0);
            assert_eq!(s.confidence(), i);
        }
        assert!(s.finalized());
    }

    #[test]
    fn poll_below_alpha_preference_resets_confidence() {
        let mut s = Snowflake::new(&params(), 0);
        for _ in 0..19 {
            s.record_poll(20, 0);
        }
        s.record_poll(14, 0);
        assert_eq!(s.confidence(), 0);
        assert_eq!(s.preference(), 0);
        for _ in 0..19 {
            s.record_poll(15, 0);
        }
        assert!(!s.finalized());
        s.record_poll(15, 0);
        assert!(s.finalized());
    }

    #[test]
    fn a_new_choice_resets_confidence_and_takes_the_preference() {
        let mut s = Snowflake::new(&params(), 0);
        s.record_poll(16, 0);
        s.record_poll(16, 0);
        assert_eq!(s.confidence(), 2);
        s.record_poll(16, 1);
        assert_eq!(s.preference(), 1);
        assert_eq!(s.confidence(), 1);
    }

    #[test]
    fn between_the_alphas_preference_moves_but_confidence_resets() {
        let p = ConsensusParams {
            alpha_preference: 11,
            alpha_confidence: 16,
            ..params()
        };
        let mut s = Snowflake::new(&p, 0);
        s.record_poll(16, 0);
        assert_eq!(s.confidence(), 1);
        s.record_poll(12, 1);
        assert_eq!(s.preference(), 1);
        assert_eq!(s.confidence(), 0);
    }

    #[test]
    fn finalized_ignores_further_polls() {
        let p = ConsensusParams {
            beta: 1,
            concurrent_polls: 1,
            ..params()
        };
        let mut s = Snowflake::new(&p, 0);
        s.record_poll(20, 1);
        assert!(s.finalized());
        s.record_poll(20, 0);
        assert_eq!(
            (s.preference(), s.confidence()),
            (1, 1),
            "polls are ignored once final"
        );
        s.record_unsuccessful_poll();
        assert_eq!((s.preference(), s.confidence()), (1, 0), "a reset is not");
        assert!(s.finalized());
    }
}
