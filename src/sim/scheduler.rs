//! The virtual clock: a queue of events ordered by (time, insertion sequence).

use radix_heap::RadixHeapMap;
use std::cmp::Reverse;

/// Virtual time in nanoseconds since the start of the run.
pub type Nanos = u64;

/// A discrete-event queue: events at equal times pop in the order they were scheduled, so a
/// run is deterministic.
///
/// Keys only grow (nothing is scheduled before now), so a radix heap serves: pushes append to
/// one of 129 buckets and pops redistribute a bucket now and then, which stays in cache where
/// a binary heap of a million events walks twenty cache-missing levels per pop. Bucket storage
/// is reused, so the steady state does not allocate.
pub struct Scheduler<E> {
    heap: RadixHeapMap<Reverse<(Nanos, u64)>, E>,
    now: Nanos,
    seq: u64,
    popped: u64,
}

impl<E> Default for Scheduler<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> Scheduler<E> {
    /// An empty queue at time 0.
    pub fn new() -> Self {
        Scheduler {
            heap: RadixHeapMap::new(),
            now: 0,
            seq: 0,
            popped: 0,
        }
    }

    /// The time of the last event popped.
    #[inline]
    pub fn now(&self) -> Nanos {
        self.now
    }

    /// Events popped so far.
    pub fn popped(&self) -> u64 {
        self.popped
    }

    /// Events waiting.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether no event waits.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Schedules `event` at `time` (an earlier time than now is treated as now).
    #[inline]
    pub fn at(&mut self, time: Nanos, event: E) {
        let time = time.max(self.now);
        self.heap.push(Reverse((time, self.seq)), event);
        self.seq += 1;
    }

    /// Schedules `event` `delay` nanoseconds from now.
    #[inline]
    pub fn after(&mut self, delay: Nanos, event: E) {
        self.at(self.now.saturating_add(delay), event);
    }

    /// Pops the next event if it is due at or before `until`, advancing the clock to it.
    #[inline]
    pub fn pop_until(&mut self, until: Nanos) -> Option<(Nanos, E)> {
        let (Reverse((time, seq)), event) = self.heap.pop()?;
        if time > until {
            // Pushing back the key just popped keeps the heap's monotone order.
            self.heap.push(Reverse((time, seq)), event);
            return None;
        }
        self.now = time;
        self.popped += 1;
        Some((time, event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_order_and_ties_in_insertion_order() {
        let mut s = Scheduler::new();
        s.at(30, "c");
        s.at(10, "a1");
        s.at(20, "b");
        s.at(10, "a2");
        s.at(10, "a3");
        let order: Vec<_> = std::iter::from_fn(|| s.pop_until(u64::MAX)).collect();
        assert_eq!(
            order,
            vec![(10, "a1"), (10, "a2"), (10, "a3"), (20, "b"), (30, "c")]
        );
        assert_eq!(s.now(), 30);
        assert_eq!(s.popped(), 5);
    }

    #[test]
    fn after_is_relative_and_the_past_is_now() {
        let mut s = Scheduler::new();
        s.at(100, 1);
        assert_eq!(s.pop_until(u64::MAX), Some((100, 1)));
        s.after(5, 2);
        s.at(50, 3);
        assert_eq!(s.pop_until(u64::MAX), Some((100, 3)));
        assert_eq!(s.pop_until(104), None);
        assert_eq!(s.len(), 1);
        assert_eq!(s.pop_until(105), Some((105, 2)));
        assert!(s.is_empty());
    }

    #[test]
    fn interleaved_pushes_keep_the_order() {
        let mut s = Scheduler::new();
        let mut seen = Vec::new();
        s.at(0, 0u64);
        while let Some((t, v)) = s.pop_until(1_000) {
            seen.push((t, v));
            if v < 200 {
                s.after((v * 7919) % 13, v + 1);
                s.after((v * 104_729) % 17, v + 1000);
            }
        }
        assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0));
    }
}
