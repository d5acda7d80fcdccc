//! Byzantine answerers: the strategies of the spec, and the adversaries of the literature,
//! applied to queries about one decision.
//!
//! Every strategy answers one query at a time from a [`View`]: what the driver lets the
//! adversary know when the query arrives. The simulator gives every field (deterministically,
//! from the run's own state); a socket node knows only what its vote feed shows, so fields
//! it cannot fill stay `None` and the strategies fall back as documented on each.
//! `docs/adversaries.md` states each role's knowledge and rule, and the papers they follow.

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
    /// The simple balancing adversary of the liveness attack (Kniep et al., ESORICS 2024):
    /// knows only the preferences the queriers revealed and its own share of the stake, and
    /// answers each choice with the probability that makes the expected votes of all choices
    /// equal (no overshoot, however many polls are in flight).
    #[serde(rename = "balance-simple")]
    BalanceSimple,
    /// The informed balancing adversary (Kniep et al.): knows the poll in flight (the
    /// querier's sample and its honest peers' live preferences) and gives each of its slots
    /// to the choice with the fewest votes in that poll, so that no choice reaches alpha.
    #[serde(rename = "balance-informed")]
    BalanceInformed,
    /// The safety adversary: answers each querier its own preference, so that two camps
    /// each gather alpha_confidence votes for their side and may finalize different choices.
    Split,
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
            Strategy::BalanceSimple => "balance-simple",
            Strategy::BalanceInformed => "balance-informed",
            Strategy::Split => "split",
        }
    }

    /// Whether the strategy exists for single decisions only (the ledger adversary has no
    /// counterpart).
    pub fn single_decision_only(&self) -> bool {
        matches!(
            self,
            Strategy::BalanceSimple | Strategy::BalanceInformed | Strategy::Split
        )
    }
}

/// What the adversary knows when a query arrives; fields a driver cannot fill are `None`.
#[derive(Debug, Clone, Copy, Default)]
pub struct View<'a> {
    /// How many honest nodes prefer each choice now.
    pub split: &'a [u64],
    /// The querier's preference when it sent the query (avalanchego's queries name the
    /// querier's preferred block).
    pub querier_preference: Option<u32>,
    /// The votes the querier's poll will count from its other peers, one count a choice:
    /// its honest peers' live preferences and the slots of the Byzantine peers planned
    /// before this one, each weighted by its slots.
    pub poll: Option<&'a [u32]>,
    /// The slots this Byzantine peer fills in the poll.
    pub slots: u32,
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
    /// The Byzantine share of the stake (what `balance-simple` knows of itself).
    share: f64,
    /// `balance-simple`: the last preference each querier revealed (`u32::MAX`: none yet),
    /// and how many queriers revealed each choice.
    seen: Vec<u32>,
    seen_split: Vec<u64>,
}

impl Adversary {
    /// An adversary playing `strategy` over `choices` choices.
    pub fn new(strategy: Strategy, target: usize, choices: usize, rng: ChaCha8Rng) -> Self {
        Adversary {
            strategy,
            target: target as u32,
            choices: choices.max(1) as u32,
            rng,
            share: 0.0,
            seen: Vec::new(),
            seen_split: vec![0; choices.max(1)],
        }
    }

    /// The same adversary, holding `share` of the stake (in [0, 1)).
    pub fn with_share(mut self, share: f64) -> Self {
        debug_assert!((0.0..1.0).contains(&share), "share {share}");
        self.share = share;
        self
    }

    /// The choice `balance-informed` gives its next slot in a poll that counts `poll` votes
    /// so far: the fewest votes there, ties to the choice fewest honest nodes prefer, then
    /// the smallest. Pure, so a driver can replay the plan of a whole poll.
    pub fn informed_choice(poll: &[u32], split: &[u64]) -> u32 {
        let mut best = 0;
        for c in 1..poll.len() {
            let key = |i: usize| (poll[i], split.get(i).copied().unwrap_or(0));
            if key(c) < key(best) {
                best = c;
            }
        }
        best as u32
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
        let view = View {
            split: honest_split,
            ..View::default()
        };
        self.answer(querier, &view)
    }

    /// The reply to `querier` given what the adversary knows, `view`.
    ///
    /// `balance-simple` records the querier's revealed preference, then answers choice c
    /// with probability proportional to `max(0, 1/m - (1 - f) * r_c)`, where r_c is the
    /// share of revealed preferences for c, m the number of choices revealed and f its
    /// stake share; with nothing revealed (or f = 0) it falls back to `balance`.
    /// `balance-informed` answers the honest minority with probability
    /// `min(1, lead / (INFORMED_GAIN * sqrt(honest)))`, where `lead` is how many more honest
    /// nodes prefer the majority, and otherwise [`Adversary::informed_choice`] of the poll
    /// (a vote that helps no choice reach alpha; without a poll view, the minority too). `split` answers the querier's preference, or, if
    /// unknown, the honest majority.
    pub fn answer(&mut self, querier: NodeId, view: &View) -> Reply {
        let honest_split = view.split;
        match self.strategy {
            Strategy::BalanceSimple => Reply::Now(self.simple(querier, view)),
            Strategy::BalanceInformed => Reply::Now(self.informed(view)),
            Strategy::Split => Reply::Now(
                view.querier_preference
                    .unwrap_or_else(|| extreme(honest_split, |a, b| a > b)),
            ),
            Strategy::Silent => Reply::Silent,
            Strategy::Stubborn => Reply::Now(self.target),
            Strategy::Random => Reply::Now(self.rng.random_range(0..self.choices)),
            Strategy::Equivocate => Reply::Now(querier % self.choices),
            Strategy::Balance => Reply::Now(extreme(honest_split, |a, b| a < b)),
            Strategy::Delay => Reply::AtDeadline(extreme(honest_split, |a, b| a > b)),
        }
    }
}

/// `balance-informed` pushes the honest minority with certainty once the honest majority
/// leads by `INFORMED_GAIN * sqrt(honest nodes)`, and in proportion below that.
pub const INFORMED_GAIN: f64 = 0.25;

impl Adversary {
    /// `balance-informed`'s answer (see [`Adversary::answer`]): a proportional controller
    /// of the honest split, so that votes already in flight in many concurrent polls do not
    /// carry the split past the balance.
    fn informed(&mut self, view: &View) -> u32 {
        let split = view.split;
        let minority = extreme(split, |a, b| a < b);
        let majority = extreme(split, |a, b| a > b);
        let lead = split.get(majority as usize).copied().unwrap_or(0)
            - split.get(minority as usize).copied().unwrap_or(0);
        let honest: u64 = split.iter().sum();
        let full = INFORMED_GAIN * (honest as f64).sqrt();
        let push = full <= 0.0 || self.rng.random::<f64>() * full < lead as f64;
        match (push, view.poll) {
            (false, Some(poll)) => Adversary::informed_choice(poll, split),
            _ => minority,
        }
    }

    /// `balance-simple`'s answer (see [`Adversary::answer`]).
    fn simple(&mut self, querier: NodeId, view: &View) -> u32 {
        if let Some(p) = view.querier_preference.filter(|&p| p < self.choices) {
            let q = querier as usize;
            if self.seen.len() <= q {
                self.seen.resize(q + 1, u32::MAX);
            }
            let old = std::mem::replace(&mut self.seen[q], p);
            if old != p {
                if let Some(n) = self.seen_split.get_mut(old as usize) {
                    *n -= 1;
                }
                self.seen_split[p as usize] += 1;
            }
        }
        let seen: u64 = self.seen_split.iter().sum();
        if seen == 0 || self.share <= 0.0 {
            return extreme(view.split, |a, b| a < b);
        }
        let live = self.seen_split.iter().filter(|&&n| n > 0).count() as f64;
        let f = self.share;
        let deficit = |n: u64| {
            let r = n as f64 / seen as f64;
            if n == 0 {
                0.0
            } else {
                (1.0 / live - (1.0 - f) * r).max(0.0)
            }
        };
        let total: f64 = self.seen_split.iter().map(|&n| deficit(n)).sum();
        if total <= 0.0 {
            return extreme(&self.seen_split, |a, b| a < b);
        }
        let mut x = self.rng.random::<f64>() * total;
        let mut last = 0;
        for (c, &n) in self.seen_split.iter().enumerate() {
            let d = deficit(n);
            if d > 0.0 {
                last = c;
                if x < d {
                    return c as u32;
                }
                x -= d;
            }
        }
        last as u32
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

    #[test]
    fn informed_pushes_the_minority_in_proportion_to_the_lead() {
        let mut a = adversary(Strategy::BalanceInformed);
        // Balanced: no push; each slot goes to the poll's minority, which it cannot lift to
        // alpha.
        let view = |poll: &'static [u32]| View {
            split: &[5, 5, 5],
            poll: Some(poll),
            ..View::default()
        };
        assert_eq!(a.answer(0, &view(&[14, 5, 0])), Reply::Now(2));
        assert_eq!(a.answer(0, &view(&[3, 2, 9])), Reply::Now(1));
        // 2,500 honest nodes: full push from a lead of 0.25 * 50 = 12.5; a lead of 5 pushes
        // 40 % of the time.
        let mut lead = |split: &'static [u64]| {
            let view = View {
                split,
                poll: Some(&[0, 9]),
                ..View::default()
            };
            (0..10_000)
                .filter(|_| a.answer(0, &view) == Reply::Now(1))
                .count() as f64
                / 1e4
        };
        assert_eq!(lead(&[1260, 1240]), 1.0);
        let p = lead(&[1252, 1247]);
        assert!((p - 0.4).abs() < 0.03, "{p}");
        // Ties in the poll go to the choice fewest honest nodes prefer, then the smallest.
        assert_eq!(Adversary::informed_choice(&[4, 4], &[7, 3]), 1);
        assert_eq!(Adversary::informed_choice(&[4, 4], &[3, 3]), 0);
        // Without a view of the poll it balances the honest split.
        assert_eq!(a.reply(0, &[10, 3, 7]), Reply::Now(1));
    }

    #[test]
    fn split_answers_each_querier_its_own_side() {
        let mut a = adversary(Strategy::Split);
        let view = |p| View {
            split: &[9, 1, 0],
            querier_preference: Some(p),
            ..View::default()
        };
        assert_eq!(
            (a.answer(3, &view(1)), a.answer(4, &view(0))),
            (Reply::Now(1), Reply::Now(0))
        );
        assert_eq!(
            a.reply(3, &[9, 1, 0]),
            Reply::Now(0),
            "unknown: the majority"
        );
    }

    #[test]
    fn simple_balances_the_expected_votes_of_what_queries_revealed() {
        // 30 % of the stake; the queriers revealed 60 red and 40 blue. Honest votes are then
        // 0.7 * (0.6, 0.4) = (0.42, 0.28) of a poll; to make both 0.5 the adversary answers
        // blue with probability (0.5 - 0.28) / 0.3 = 0.733.
        let mut a = Adversary::new(Strategy::BalanceSimple, 0, 2, ChaCha8Rng::seed_from_u64(3))
            .with_share(0.3);
        for q in 0..100u32 {
            let view = View {
                split: &[0, 0],
                querier_preference: Some(u32::from(q >= 60)),
                ..View::default()
            };
            a.answer(q, &view);
        }
        assert_eq!(a.seen_split, vec![60, 40]);
        let quiet = View {
            split: &[0, 0],
            ..View::default()
        };
        let blue = (0..20_000)
            .filter(|_| a.answer(7, &quiet) == Reply::Now(1))
            .count() as f64
            / 20_000.0;
        assert!((blue - 0.7333).abs() < 0.015, "{blue}");
        // A querier that changes side is counted once, on its new side.
        let moved = View {
            split: &[0, 0],
            querier_preference: Some(1),
            ..View::default()
        };
        a.answer(0, &moved);
        assert_eq!(a.seen_split, vec![59, 41]);
        // Nothing revealed yet: it answers the honest minority, as balance does.
        let mut fresh = adversary(Strategy::BalanceSimple).with_share(0.1);
        assert_eq!(fresh.reply(0, &[10, 3, 7]), Reply::Now(1));
    }
}
