//! Snowball: Snowflake plus a strength counter per choice that steadies the preference.

use crate::{ConsensusParams, Snowflake};

/// Snowball state over a growable set of choices `0..choices()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snowball {
    alpha_preference: u32,
    strengths: Vec<u32>,
    preference: u32,
    max_strength: u32,
    flake: Snowflake,
}

impl Snowball {
    /// A fresh instance over `choices` choices, preferring `initial`.
    pub fn new(params: &ConsensusParams, choices: usize, initial: usize) -> Self {
        Snowball {
            alpha_preference: params.alpha_preference as u32,
            strengths: vec![0; choices],
            preference: initial as u32,
            max_strength: 0,
            flake: Snowflake::new(params, initial),
        }
    }

    /// Adds a choice and returns its index.
    pub fn add_choice(&mut self) -> usize {
        self.strengths.push(0);
        self.strengths.len() - 1
    }

    /// Number of choices.
    pub fn choices(&self) -> usize {
        self.strengths.len()
    }

    /// Records a poll whose top choice `choice` got `count` votes.
    ///
    /// Step 1: a poll of at least alpha_preference votes raises the choice's strength, and the
    /// Snowball preference moves only when that strength exceeds every strength so far (a tie
    /// keeps the old preference); as in avalanchego's `nnarySnowball`, strengths keep moving
    /// after the instance finalizes. Step 2: the Snowflake rules (which ignore polls once
    /// final).
    #[inline]
    pub fn record_poll(&mut self, count: usize, choice: usize) {
        if count as u32 >= self.alpha_preference {
            if choice >= self.strengths.len() {
                self.strengths.resize(choice + 1, 0);
            }
            let s = &mut self.strengths[choice];
            *s += 1;
            if *s > self.max_strength {
                self.max_strength = *s;
                self.preference = choice as u32;
            }
        }
        self.flake.record_poll(count, choice);
    }

    /// Records a poll that reached no choice: Snowflake confidence resets.
    #[inline]
    pub fn record_unsuccessful_poll(&mut self) {
        self.flake.record_unsuccessful_poll();
    }

    /// The Snowflake's choice once finalized, else the Snowball preference.
    #[inline]
    pub fn preference(&self) -> usize {
        if self.flake.finalized() {
            self.flake.preference()
        } else {
            self.preference as usize
        }
    }

    /// Successful polls recorded for `choice`.
    pub fn strength(&self, choice: usize) -> usize {
        self.strengths.get(choice).copied().unwrap_or(0) as usize
    }

    /// Consecutive successful polls of the inner Snowflake.
    #[inline]
    pub fn confidence(&self) -> usize {
        self.flake.confidence()
    }

    /// Whether the decision is final.
    #[inline]
    pub fn finalized(&self) -> bool {
        self.flake.finalized()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> ConsensusParams {
        ConsensusParams::default()
    }

    #[test]
    fn preference_follows_the_strongest_choice() {
        let mut s = Snowball::new(&params(), 3, 0);
        s.record_poll(15, 2);
        assert_eq!(s.preference(), 2);
        assert_eq!(s.strength(2), 1);
        s.record_poll(15, 1);
        // Strength of 1 is 1, a tie with 2: the old preference stays.
        assert_eq!(s.preference(), 2);
        s.record_poll(15, 1);
        assert_eq!(s.preference(), 1);
    }

    #[test]
    fn tie_keeps_the_old_preference_even_at_start() {
        let mut s = Snowball::new(&params(), 2, 1);
        s.record_poll(15, 0);
        assert_eq!(s.preference(), 0, "strength 1 > max 0 moves it");
        s.record_poll(15, 1);
        assert_eq!(s.preference(), 0, "tie at 1 keeps 0");
    }

    #[test]
    fn weak_polls_do_not_add_strength_and_reset_confidence() {
        let mut s = Snowball::new(&params(), 2, 0);
        s.record_poll(15, 0);
        s.record_poll(15, 0);
        assert_eq!(s.confidence(), 2);
        s.record_poll(14, 1);
        assert_eq!(s.strength(1), 0);
        assert_eq!(s.confidence(), 0);
        assert_eq!(s.preference(), 0);
    }

    #[test]
    fn finalizes_after_beta_polls_and_then_reports_the_flake_choice() {
        let mut s = Snowball::new(&params(), 2, 0);
        for _ in 0..3 {
            s.record_poll(15, 0);
        }
        for i in 0..20 {
            assert!(!s.finalized(), "poll {i}");
            s.record_poll(15, 1);
        }
        assert!(s.finalized());
        assert_eq!(s.preference(), 1);
        s.record_poll(20, 0);
        assert_eq!(
            s.strength(0),
            4,
            "strengths move on once final, as avalanchego's"
        );
        assert_eq!(s.preference(), 1, "the finalized Snowflake choice");
    }

    #[test]
    fn choices_grow() {
        let mut s = Snowball::new(&params(), 0, 0);
        assert_eq!(s.add_choice(), 0);
        assert_eq!(s.add_choice(), 1);
        assert_eq!(s.choices(), 2);
        s.record_poll(20, 5);
        assert_eq!(s.choices(), 6);
        assert_eq!(s.preference(), 5);
    }
}
