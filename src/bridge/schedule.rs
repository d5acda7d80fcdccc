//! Who proposes what on sockets: the slot schedule of `[ledger]`, the same on every node.
//!
//! Slots come every `block_interval` from the moment a node starts polling; slot `s`
//! (counted from 1) is led by `proposers[(s - 1) % len]`. The leaders need no clock agreement beyond
//! starting together, and every item id is fixed by its slot (no two nodes can pick one).
//!
//!
//! - chain: block `s`, on the leader's preferred tip, while that tip is below `heights`;
//! - dag: payments `(s - 1) * batch + 1 ..= s * batch` (at most `transactions`). Payment
//!   `p` is a double spend when a ChaCha8 stream of `workload_seed`, drawn at word `p`, says
//!   so with probability `conflicts`. Innocent payment `p` is transaction `2p - 1` (conflict
//!   key `2p - 1`) in vertex `3s - 2`; a double spend is transactions `2p - 1` and `2p`,
//!   both with key `2p - 1`, the first in vertex `3s - 1` and the second in vertex `3s`,
//!   both anchored on the last accepted vertex (as the simulator anchors double spends).
//!
//! The simulator's own schedule (`sim/ledger/production.rs`) draws dag arrivals in time and
//! picks the issuers of double spends at random; the socket schedule keeps only what needs
//! no shared clock or registry. `docs/bridge.md` compares the two.

use super::ledger_config::LedgerFile;
use crate::node::ledger::{Command, LedgerKind};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The proposals a slot asks of its leader.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SlotPlan {
    /// In order: a block, or the innocent vertex and then the two halves of the double spends.
    pub commands: Vec<Command>,
}

/// Whether payment `payment` of a dag schedule is a double spend.
pub fn is_double_spend(workload_seed: u64, payment: u64, conflicts: f64) -> bool {
    if conflicts <= 0.0 {
        return false;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(workload_seed);
    rng.set_word_pos(u128::from(payment) * 16);
    rng.random::<f64>() < conflicts
}

/// What slot `s` asks of its leader: `preferred_height` is the leader's preferred height
/// (chain), checked against `heights`.
pub fn plan(l: &LedgerFile, s: u64, preferred_height: u64) -> SlotPlan {
    debug_assert!(s >= 1, "slots count from 1");
    let mut plan = SlotPlan::default();
    match l.kind {
        LedgerKind::Chain => {
            if l.heights == 0 || preferred_height < l.heights {
                plan.commands.push(Command::Propose {
                    id: s,
                    txs: Vec::new(),
                    anchored: false,
                });
            }
        }
        LedgerKind::Dag => {
            let batch = l.batch as u64;
            let first = (s - 1).saturating_mul(batch) + 1;
            let last = s.saturating_mul(batch).min(l.transactions);
            let (mut txs, mut a, mut b) = (Vec::new(), Vec::new(), Vec::new());
            for p in first..=last {
                let key = 2 * p - 1;
                if is_double_spend(l.workload_seed, p, l.conflicts) {
                    a.push((key, key));
                    b.push((2 * p, key));
                } else {
                    txs.push((key, key));
                }
            }
            for (id, txs, anchored) in [
                (3 * s - 2, txs, false),
                (3 * s - 1, a, true),
                (3 * s, b, true),
            ] {
                if !txs.is_empty() {
                    plan.commands.push(Command::Propose { id, txs, anchored });
                }
            }
        }
    }
    plan
}

/// The slot clock of one node.
#[derive(Debug, Clone)]
pub struct Slots {
    interval: u64,
    origin: Option<u64>,
    next: u64,
}

impl Slots {
    /// Slots every `interval` nanoseconds, not begun.
    pub fn new(interval: u64) -> Slots {
        Slots {
            interval: interval.max(1),
            origin: None,
            next: 1,
        }
    }

    /// Starts the clock at `now`: slot 1 is due one interval later.
    pub fn begin(&mut self, now: u64) {
        self.origin.get_or_insert(now);
    }

    /// When slot `s` is due, once begun.
    pub fn time_of(&self, s: u64) -> Option<u64> {
        Some(self.origin?.saturating_add(s.saturating_mul(self.interval)))
    }

    /// The next slot, if it is due at `now`.
    pub fn due(&self, now: u64) -> Option<u64> {
        (self.time_of(self.next)? <= now).then_some(self.next)
    }

    /// When the next slot is due, once begun.
    pub fn next_at(&self) -> Option<u64> {
        self.time_of(self.next)
    }

    /// Moves on to the slot after the due one.
    pub fn advance(&mut self) {
        self.next += 1;
    }

    /// The interval, in nanoseconds.
    pub fn interval(&self) -> u64 {
        self.interval
    }
}

/// The leader of slot `s`, if the schedule names any.
pub fn leader(l: &LedgerFile, s: u64) -> Option<u32> {
    let n = l.proposers.len() as u64;
    (n > 0).then(|| l.proposers[((s - 1) % n) as usize])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn dag(transactions: u64, batch: usize, conflicts: f64) -> LedgerFile {
        LedgerFile {
            kind: LedgerKind::Dag,
            block_protocol: crate::Protocol::Snowflake,
            block_interval: Duration::from_millis(100),
            proposers: vec![4, 2],
            heights: 0,
            transactions,
            batch,
            parents: 3,
            conflicts,
            workload_seed: 7,
        }
    }

    #[test]
    fn dag_slots_cover_every_payment_once_with_unique_ids() {
        let l = dag(95, 10, 0.2);
        let (mut txs, mut vertices, mut doubles) = (Vec::new(), Vec::new(), 0);
        for s in 1..=12 {
            for c in plan(&l, s, 0).commands {
                let Command::Propose {
                    id,
                    txs: t,
                    anchored,
                } = c;
                vertices.push(id);
                doubles += usize::from(anchored) * t.len();
                txs.extend(t.iter().map(|x| x.0));
            }
        }
        // 95 payments: one transaction each, plus the second half of each double spend.
        assert_eq!(txs.len(), 95 + doubles / 2);
        assert!(doubles > 0 && doubles % 2 == 0, "{doubles}");
        let mut unique = txs.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), txs.len());
        let mut v = vertices.clone();
        v.sort_unstable();
        v.dedup();
        assert_eq!(v.len(), vertices.len());
        assert!(
            plan(&l, 11, 0).commands.is_empty(),
            "nothing after payment 95"
        );
        // About a fifth of the payments are double spends, the same on every node.
        let n = (1..=10_000).filter(|&p| is_double_spend(7, p, 0.2)).count();
        assert!((1_800..2_200).contains(&n), "{n}");
        assert_eq!(is_double_spend(7, 3, 0.2), is_double_spend(7, 3, 0.2));
    }

    #[test]
    fn chain_leaders_rotate_and_stop_at_the_target_height() {
        let mut l = dag(0, 10, 0.0);
        l.kind = LedgerKind::Chain;
        l.heights = 5;
        assert_eq!(
            (leader(&l, 1), leader(&l, 2), leader(&l, 3)),
            (Some(4), Some(2), Some(4))
        );
        let p = plan(&l, 3, 2);
        assert_eq!(
            p.commands,
            vec![Command::Propose {
                id: 3,
                txs: Vec::new(),
                anchored: false
            }]
        );
        assert!(plan(&l, 9, 5).commands.is_empty());
        l.proposers.clear();
        assert_eq!(leader(&l, 1), None);
    }

    #[test]
    fn slots_fall_due_one_interval_apart_from_the_start() {
        let mut s = Slots::new(100);
        assert_eq!(s.due(1_000), None, "not begun");
        s.begin(50);
        s.begin(70);
        assert_eq!(s.next_at(), Some(150));
        assert_eq!(s.due(149), None);
        assert_eq!(s.due(150), Some(1));
        s.advance();
        assert_eq!(s.due(260), Some(2));
    }
}
