//! The crashes of a scenario, kept the same way by every event world: how many crash
//! windows hold each node down now (overlapping windows nest), the windows themselves (for
//! answers decided ahead of time), and the trace row of each crash and recovery.
//!
//! Invariant: a node's depth is the number of windows `[at, recover)` that contain the
//! current time, so [`Crashes::is_down`] now and [`Crashes::down_at`] the current time agree
//! (`debug_assert!`ed where a world relies on it).

use super::scenario::Crash;
use super::scheduler::{nanos, Nanos, Scheduler};
use super::trace::{Event, Kind, Trace};
use super::SimError;
use crate::node::NodeId;

/// Which nodes are down, now and at any time.
#[derive(Debug, Clone)]
pub struct Crashes {
    depth: Vec<u16>,
    /// `[first, last]` node range and `[from, to)` time window of each scenario crash.
    windows: Vec<(NodeId, NodeId, Nanos, Nanos)>,
}

impl Crashes {
    /// The crashes `specs` of a network of `nodes` nodes, none happened yet.
    pub fn new(nodes: usize, specs: &[Crash]) -> Crashes {
        let windows = specs
            .iter()
            .map(|c| {
                let end = c.recover.map_or(Nanos::MAX, nanos);
                (c.nodes[0] as NodeId, c.nodes[1] as NodeId, nanos(c.at), end)
            })
            .collect();
        Crashes {
            depth: vec![0; nodes],
            windows,
        }
    }

    /// Schedules each crash as `crash(first, last)` and each recovery as
    /// `recover(first, last)`, in scenario order.
    pub fn schedule<E>(
        specs: &[Crash],
        sched: &mut Scheduler<E>,
        crash: impl Fn(NodeId, NodeId) -> E,
        recover: impl Fn(NodeId, NodeId) -> E,
    ) {
        for c in specs {
            let (first, last) = (c.nodes[0] as NodeId, c.nodes[1] as NodeId);
            sched.at(nanos(c.at), crash(first, last));
            if let Some(r) = c.recover {
                sched.at(nanos(r), recover(first, last));
            }
        }
    }

    /// Whether `node` is down now.
    #[inline]
    pub fn is_down(&self, node: NodeId) -> bool {
        self.depth[node as usize] > 0
    }

    /// Whether a scenario crash keeps `node` down at time `t`.
    pub fn down_at(&self, node: NodeId, t: Nanos) -> bool {
        self.windows.iter().any(|&(first, last, from, to)| {
            (first..=last).contains(&node) && (from..to).contains(&t)
        })
    }

    /// Whether no scenario crash window of `node` meets the time span `[from, to]` (so the
    /// node, up at `from`, stays up until `to`).
    pub fn steady(&self, node: NodeId, from: Nanos, to: Nanos) -> bool {
        self.windows.iter().all(|&(first, last, down, up)| {
            !(first..=last).contains(&node) || down > to || up <= from
        })
    }

    /// Node `n` crashes at `now` (one more window holds it).
    pub fn crash(&mut self, now: Nanos, n: NodeId, trace: &mut Trace) -> Result<(), SimError> {
        self.depth[n as usize] += 1;
        trace.record(Kind::Crash, row(now, n))?;
        Ok(())
    }

    /// One window holding node `n` ends at `now`; returns whether `n` is up again.
    pub fn recover(&mut self, now: Nanos, n: NodeId, trace: &mut Trace) -> Result<bool, SimError> {
        let d = &mut self.depth[n as usize];
        debug_assert!(*d > 0, "node {n} recovers without having crashed");
        *d = d.saturating_sub(1);
        trace.record(Kind::Recover, row(now, n))?;
        Ok(*d == 0)
    }
}

fn row(time: Nanos, node: NodeId) -> Event {
    Event {
        time,
        node,
        ..Event::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::trace::{TraceFormat, TraceLevel};
    use std::time::Duration;

    #[test]
    fn overlapping_windows_nest_and_agree_with_the_schedule() {
        let ms = Duration::from_millis;
        let specs = [
            Crash {
                nodes: [1, 2],
                at: ms(10),
                recover: Some(ms(30)),
            },
            Crash {
                nodes: [2, 2],
                at: ms(20),
                recover: None,
            },
        ];
        let mut c = Crashes::new(4, &specs);
        let mut trace = Trace::create(None, TraceLevel::None, TraceFormat::Csv).unwrap();
        let t = |m: u64| m * 1_000_000;
        c.crash(t(10), 1, &mut trace).unwrap();
        c.crash(t(10), 2, &mut trace).unwrap();
        c.crash(t(20), 2, &mut trace).unwrap();
        assert!(c.recover(t(30), 1, &mut trace).unwrap(), "node 1 is up");
        assert!(
            !c.recover(t(30), 2, &mut trace).unwrap(),
            "node 2 stays down"
        );
        for n in 0..4 {
            assert_eq!(c.is_down(n), c.down_at(n, t(30)), "node {n}");
        }
        assert!(c.down_at(2, u64::MAX - 1) && !c.down_at(1, t(5)));
        let mut sched: Scheduler<(bool, NodeId, NodeId)> = Scheduler::new();
        Crashes::schedule(
            &specs,
            &mut sched,
            |a, b| (true, a, b),
            |a, b| (false, a, b),
        );
        assert_eq!(sched.pop_until(u64::MAX), Some((t(10), (true, 1, 2))));
    }

    /// A span is steady for a node exactly when the node is down at no time of it (windows
    /// here start and end on whole milliseconds): checked against `down_at` on a grid.
    #[test]
    fn a_steady_span_meets_no_crash_window() {
        let ms = Duration::from_millis;
        let specs = [Crash {
            nodes: [1, 2],
            at: ms(10),
            recover: Some(ms(30)),
        }];
        let c = Crashes::new(4, &specs);
        let t = |m: u64| m * 1_000_000;
        for n in 0..4 {
            for from in 0..40 {
                for to in from..40 {
                    let touched = (from..=to).any(|m| c.down_at(n, t(m)));
                    assert_eq!(c.steady(n, t(from), t(to)), !touched, "{n} [{from}, {to}]");
                }
            }
        }
        assert!(c.steady(1, t(30), t(50)), "up again from the recovery on");
        assert!(!c.steady(2, t(0), t(10)), "down at the span's end");
    }
}
