//! Byzantine answerers: the strategies of the spec, applied to queries about one decision.

use super::NodeId;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// How byzantine nodes answer queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Never answers.
    Silent,
    /// Always answers `target`.
    Stubborn,
    /// A uniformly random choice per answer.
    Random,
    /// A different answer per querier (querier id mod choices).
    Equivocate,
    /// Answers the current honest minority choice.
    Balance,
    /// Answers its honest preference just before the querier's poll timeout.
    Delay,
}

impl Strategy {
    /// The name used in scenario files.
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::Silent => "silent",
            Strategy::Stubborn => "stubborn",
            Strategy::Random => "random",
            Strategy::Equivocate => "equivocate",
            Strategy::Balance => "balance",
            Strategy::Delay => "delay",
        }
    }
}

/// How a Byzantine node answers one query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reply {
    /// No answer at all.
    Silent,
    /// Answer `choice` now.
    Now(u32),
    /// Answer `choice` just before the querier's deadline.
    AtDeadline(u32),
}

/// The adversary controlling every Byzantine node, with its own seeded generator.
#[derive(Debug, Clone)]
pub struct Adversary {
    strategy: Strategy,
    target: u32,
    choices: u32,
    rng: ChaCha8Rng,
}

impl Adversary {
    /// An adversary playing `strategy` over `choices` choices.
    pub fn new(strategy: Strategy, target: usize, choices: usize, rng: ChaCha8Rng) -> Self {
        Adversary {
            strategy,
            target: target as u32,
            choices: choices.max(1) as u32,
            rng,
        }
    }

    /// The strategy played.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// The reply to `querier`, given how many honest nodes prefer each choice now.
    ///
    /// `balance` answers the honest minority (fewest honest nodes; ties: smallest id),
    /// `equivocate` answers `querier mod choices`, `delay` answers the honest majority
    /// just before the deadline: a correct but slow node.
    pub fn reply(&mut self, querier: NodeId, honest_split: &[u64]) -> Reply {
        match self.strategy {
            Strategy::Silent => Reply::Silent,
            Strategy::Stubborn => Reply::Now(self.target),
            Strategy::Random => Reply::Now(self.rng.random_range(0..self.choices)),
            Strategy::Equivocate => Reply::Now(querier % self.choices),
            Strategy::Balance => Reply::Now(extreme(honest_split, |a, b| a < b)),
            Strategy::Delay => Reply::AtDeadline(extreme(honest_split, |a, b| a > b)),
        }
    }
}

/// The index whose count wins `better` against all others (ties: the smallest index).
fn extreme(counts: &[u64], better: impl Fn(u64, u64) -> bool) -> u32 {
    let mut best = 0;
    for (i, &c) in counts.iter().enumerate().skip(1) {
        if better(c, counts[best]) {
            best = i;
        }
    }
    best as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn adversary(s: Strategy) -> Adversary {
        Adversary::new(s, 1, 3, ChaCha8Rng::seed_from_u64(1))
    }

    #[test]
    fn each_strategy_answers_as_documented() {
        let split = [10, 3, 7];
        assert_eq!(adversary(Strategy::Silent).reply(0, &split), Reply::Silent);
        assert_eq!(
            adversary(Strategy::Stubborn).reply(0, &split),
            Reply::Now(1)
        );
        assert_eq!(adversary(Strategy::Balance).reply(0, &split), Reply::Now(1));
        assert_eq!(
            adversary(Strategy::Balance).reply(0, &[5, 5]),
            Reply::Now(0)
        );
        assert_eq!(
            adversary(Strategy::Delay).reply(0, &split),
            Reply::AtDeadline(0)
        );
        let mut e = adversary(Strategy::Equivocate);
        assert_eq!(
            (e.reply(4, &split), e.reply(5, &split)),
            (Reply::Now(1), Reply::Now(2))
        );
        let mut r = adversary(Strategy::Random);
        let seen: std::collections::BTreeSet<_> = (0..100).map(|q| r.reply(q, &split)).collect();
        assert_eq!(seen.len(), 3, "random covers every choice");
    }
}
