//! The virtual clock: a queue of events ordered by (time, insertion sequence), where a
//! sequence number may be reserved ahead and late events follow all others at their time.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// Virtual time in nanoseconds since the start of the run.
pub type Nanos = u64;

pub use crate::util::nanos;

/// Width of a calendar bucket: 2^16 ns, about 65 µs.
const BUCKET_BITS: u32 = 16;
/// Buckets in the ring: 2^14 of them span about 1.07 s of virtual time (a poll timeout of
/// 1 s fits; a ring much longer than what is pending holds idle bucket capacity).
const RING_BITS: u32 = 14;
const RING: usize = 1 << RING_BITS;
/// The first sequence number of late events ([`Scheduler::at_late`]); ordinary ones stay below.
const LATE: u64 = 1 << 63;

struct Entry<E> {
    time: Nanos,
    seq: u64,
    event: E,
}

impl<E> Entry<E> {
    #[inline]
    fn key(&self) -> (Nanos, u64) {
        (self.time, self.seq)
    }
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

/// A discrete-event queue: events at equal times pop in the order they were scheduled, so a
/// run is deterministic.
///
/// A calendar queue: a ring of buckets, each covering 2^16 ns, holds the events of the next
/// ~1.07 s; later ones wait in a binary heap and move into the ring as time comes near. The
/// bucket due next is sorted once into a deque, popped from its front; an event due in it
/// is inserted in order, usually near its back (it was scheduled last). Pushing
/// appends to a bucket, which stays in cache, where a binary heap of a million events walks
/// twenty cache-missing levels per pop. A bucket allocates as it grows (a few times per
/// bucket of hundreds of events, not per event) and frees its storage once drained.
pub struct Scheduler<E> {
    ring: Vec<Vec<Entry<E>>>,
    /// One bit per ring bucket: whether it holds events.
    occupied: Vec<u64>,
    /// Events beyond the ring's horizon.
    far: BinaryHeap<Reverse<Entry<E>>>,
    /// The bucket being drained, sorted by ascending (time, seq).
    current: VecDeque<Entry<E>>,
    /// Absolute index (time >> BUCKET_BITS) of the bucket in `current`.
    cursor: u64,
    len: usize,
    now: Nanos,
    seq: u64,
    /// Late events scheduled so far.
    late: u64,
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
            ring: (0..RING).map(|_| Vec::new()).collect(),
            occupied: vec![0; RING / 64],
            far: BinaryHeap::new(),
            current: VecDeque::new(),
            cursor: 0,
            len: 0,
            now: 0,
            seq: 0,
            late: 0,
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
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no event waits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Schedules `event` at `time` (an earlier time than now is treated as now).
    #[inline]
    pub fn at(&mut self, time: Nanos, event: E) {
        let time = time.max(self.now);
        let e = Entry {
            time,
            seq: self.seq,
            event,
        };
        self.seq += 1;
        self.len += 1;
        self.place(e);
    }

    /// Reserves `n` consecutive sequence numbers, returning the first, for events scheduled
    /// later with [`Scheduler::at_seq`] that must pop where an event scheduled now would.
    #[inline]
    pub fn reserve(&mut self, n: u64) -> u64 {
        let first = self.seq;
        self.seq += n;
        debug_assert!(self.seq < LATE, "sequence numbers run into the late ones");
        first
    }

    /// Schedules `event` at `time` (not before now) with a sequence number taken earlier
    /// from [`Scheduler::reserve`]: among events at `time` it pops in that number's place.
    #[inline]
    pub fn at_seq(&mut self, time: Nanos, seq: u64, event: E) {
        debug_assert!(time >= self.now, "an event scheduled in the past");
        debug_assert!(seq < self.seq, "a sequence number that was not reserved");
        self.len += 1;
        self.place(Entry { time, seq, event });
    }

    /// Schedules `event` at `time` after every event at `time` scheduled with [`Scheduler::at`]
    /// or [`Scheduler::at_seq`], whenever those are scheduled; late events at equal times pop
    /// in the order they were scheduled.
    #[inline]
    pub fn at_late(&mut self, time: Nanos, event: E) {
        let time = time.max(self.now);
        let seq = LATE + self.late;
        self.late += 1;
        self.len += 1;
        self.place(Entry { time, seq, event });
    }

    /// Schedules `event` `delay` nanoseconds from now.
    #[cfg(test)]
    pub fn after(&mut self, delay: Nanos, event: E) {
        self.at(self.now.saturating_add(delay), event);
    }

    #[inline]
    fn place(&mut self, e: Entry<E>) {
        let b = e.time >> BUCKET_BITS;
        if b <= self.cursor {
            // Due in (or, while the clock lags the cursor, before) the bucket being
            // drained: keep that bucket sorted. Scheduled last, it usually goes last.
            let key = e.key();
            match self.current.back() {
                Some(last) if last.key() > key => {
                    let i = self.current.partition_point(|x| x.key() < key);
                    self.current.insert(i, e);
                }
                _ => self.current.push_back(e),
            }
        } else if b - self.cursor < RING as u64 {
            self.push_ring(e);
        } else {
            self.far.push(Reverse(e));
        }
    }

    #[inline]
    fn push_ring(&mut self, e: Entry<E>) {
        let slot = ((e.time >> BUCKET_BITS) as usize) & (RING - 1);
        self.ring[slot].push(e);
        self.occupied[slot / 64] |= 1 << (slot % 64);
    }

    /// Moves the cursor to the next bucket holding events and sorts it into `current`.
    fn advance(&mut self) -> bool {
        debug_assert!(self.current.is_empty());
        if self.len == 0 {
            return false;
        }
        loop {
            match self.next_occupied() {
                Some(b) => {
                    self.cursor = b;
                    let slot = (b as usize) & (RING - 1);
                    self.occupied[slot / 64] &= !(1 << (slot % 64));
                    // The drained bucket's storage is freed and the slot starts empty, so
                    // memory follows the events pending, not the densest bucket ever seen.
                    self.current = VecDeque::from(std::mem::take(&mut self.ring[slot]));
                }
                None => {
                    // The ring is empty: jump to the first far event's bucket.
                    let Some(Reverse(first)) = self.far.peek() else {
                        return false;
                    };
                    self.cursor = first.time >> BUCKET_BITS;
                }
            }
            // Far events that the ring now covers move in (those of the cursor's bucket
            // land in `current` directly).
            while let Some(Reverse(e)) = self.far.peek() {
                if (e.time >> BUCKET_BITS) - self.cursor >= RING as u64 {
                    break;
                }
                let Some(Reverse(e)) = self.far.pop() else {
                    break;
                };
                if e.time >> BUCKET_BITS == self.cursor {
                    self.current.push_back(e);
                } else {
                    self.push_ring(e);
                }
            }
            if !self.current.is_empty() {
                self.current
                    .make_contiguous()
                    .sort_unstable_by_key(Entry::key);
                return true;
            }
        }
    }

    /// The absolute index of the first occupied bucket after the cursor, within the ring.
    fn next_occupied(&self) -> Option<u64> {
        let start = ((self.cursor + 1) as usize) & (RING - 1);
        let words = RING / 64;
        for step in 0..=words {
            let w = (start / 64 + step) % words;
            let mut bits = self.occupied[w];
            if step == 0 {
                bits &= !0u64 << (start % 64);
            }
            if bits != 0 {
                let slot = w * 64 + bits.trailing_zeros() as usize;
                let dist = (slot + RING - start) % RING;
                return Some(self.cursor + 1 + dist as u64);
            }
        }
        None
    }

    /// Pops the next event if it is due at or before `until`, advancing the clock to it.
    #[inline]
    pub fn pop_until(&mut self, until: Nanos) -> Option<(Nanos, E)> {
        if self.current.is_empty() && !self.advance() {
            return None;
        }
        if self.current.front()?.time > until {
            return None;
        }
        let e = self.current.pop_front()?;
        self.len -= 1;
        self.now = e.time;
        self.popped += 1;
        Some((e.time, e.event))
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
        assert_eq!(s.pop_until(u64::MAX), None);
    }

    #[test]
    fn reserved_events_pop_in_their_place_and_late_ones_last() {
        let mut s = Scheduler::new();
        s.at_late(10, "late1");
        s.at(10, "a");
        let r = s.reserve(2);
        s.at(10, "b");
        s.at_late(10, "late2");
        s.at_seq(10, r + 1, "r1");
        s.at_seq(10, r, "r0");
        s.at(5, "first");
        let order: Vec<_> = std::iter::from_fn(|| s.pop_until(u64::MAX).map(|e| e.1)).collect();
        assert_eq!(order, ["first", "a", "r0", "r1", "b", "late1", "late2"]);
    }

    /// The calendar agrees with a plain sorted order on a mix of near, far, equal and
    /// same-bucket times, pushed while popping.
    #[test]
    fn matches_a_reference_order_across_buckets_and_the_horizon() {
        let mut s = Scheduler::new();
        let mut reference = std::collections::BTreeSet::new();
        let mut seq = 0u64;
        let mut x = 12345u64;
        let mut next = |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % m
        };
        let mut push =
            |s: &mut Scheduler<u64>, r: &mut std::collections::BTreeSet<(u64, u64)>, t: u64| {
                let t = t.max(s.now());
                s.at(t, seq);
                r.insert((t, seq));
                seq += 1;
            };
        for _ in 0..2000 {
            let t = match next(4) {
                0 => next(1 << 14),
                1 => next(1 << 30),
                2 => next(1 << 40),
                _ => 5_000,
            };
            push(&mut s, &mut reference, t);
        }
        let mut popped = 0;
        while let Some((t, v)) = s.pop_until(u64::MAX) {
            let first = reference.pop_first().unwrap();
            assert_eq!((t, v), first);
            popped += 1;
            if popped < 3000 {
                let d = match next(3) {
                    0 => next(100),
                    1 => next(1 << 28),
                    _ => next(1 << 36),
                };
                push(&mut s, &mut reference, t + d);
            }
        }
        assert!(reference.is_empty());
        assert!(s.is_empty());
    }
}
