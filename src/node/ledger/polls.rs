//! The outstanding polls of a ledger node, and the polls held back until the blocks they
//! vote for arrive.

use super::{Ids, NodeId};
use crate::node::Sample;

/// One outstanding poll; its buffers are kept across polls so that a poll does not allocate.
#[derive(Debug, Clone, Default)]
pub(super) struct Slot {
    pub(super) request: u32,
    pub(super) live: bool,
    /// Votes in: an answer counts once per slot its answerer fills.
    pub(super) answers: u32,
    /// The sampled validators and the slots each fills.
    pub(super) sample: Sample,
    /// Whether each sampled validator (in the sample's order) has answered.
    pub(super) answered: Vec<bool>,
    /// Item id -> votes naming it.
    pub(super) bag: Vec<(u64, usize)>,
}

/// The poll slots: a request id is `counter * slots + slot`, so an answer finds its slot at once.
#[derive(Debug, Clone)]
pub(super) struct Polls {
    pub(super) slots: Vec<Slot>,
    pub(super) live: usize,
    next: u32,
}

impl Polls {
    pub(super) fn new(slots: usize, k: usize) -> Self {
        let slot = Slot {
            sample: Sample::with_capacity(k),
            answered: Vec::with_capacity(k),
            bag: Vec::with_capacity(k),
            ..Slot::default()
        };
        Polls {
            slots: vec![slot; slots.max(1)],
            live: 0,
            next: 0,
        }
    }

    /// The slot of live poll `request`.
    pub(super) fn find(&self, request: u32) -> Option<usize> {
        let s = request as usize % self.slots.len();
        let slot = &self.slots[s];
        (slot.live && slot.request == request).then_some(s)
    }

    /// A free slot, opened with a fresh request id and empty buffers.
    pub(super) fn open(&mut self) -> Option<usize> {
        let s = self.slots.iter().position(|slot| !slot.live)?;
        let n = self.slots.len() as u32;
        let request = self.next.wrapping_mul(n).wrapping_add(s as u32);
        self.next = self.next.wrapping_add(1) % (u32::MAX / n);
        let slot = &mut self.slots[s];
        slot.request = request;
        slot.live = true;
        slot.answers = 0;
        slot.answered.clear();
        slot.bag.clear();
        self.live += 1;
        Some(s)
    }

    /// Counts an answer from `from` naming `tips`, once per slot `from` fills; returns
    /// whether every sampled node answered.
    pub(super) fn answer(&mut self, s: usize, from: NodeId, tips: &Ids) -> bool {
        let slot = &mut self.slots[s];
        let Some(pos) = slot.sample.ids().iter().position(|&id| id == from) else {
            return false;
        };
        if slot.answered[pos] {
            return false;
        }
        slot.answered[pos] = true;
        let weight = slot.sample.counts()[pos];
        slot.answers += weight;
        for &id in tips.as_slice() {
            match slot.bag.iter_mut().find(|(b, _)| *b == id) {
                Some(entry) => entry.1 += weight as usize,
                None => slot.bag.push((id, weight as usize)),
            }
        }
        slot.answers >= slot.sample.slots()
    }

    /// Closes slot `s`, moving its bag into `bag`; returns the request id and the answers.
    pub(super) fn close(&mut self, s: usize, bag: &mut Vec<(u64, usize)>) -> (u32, u32) {
        let slot = &mut self.slots[s];
        slot.live = false;
        self.live -= 1;
        bag.clear();
        bag.extend_from_slice(&slot.bag);
        (slot.request, slot.answers)
    }

    /// Forgets every outstanding poll.
    pub(super) fn clear(&mut self) {
        for slot in &mut self.slots {
            slot.live = false;
        }
        self.live = 0;
    }
}

/// A closed poll whose bag names items still being fetched.
#[derive(Debug, Clone)]
pub(super) struct Held {
    pub(super) request: u32,
    pub(super) answers: u32,
    pub(super) bag: Vec<(u64, usize)>,
}

/// The held polls, oldest first, with a pool of bag buffers so that holding does not allocate.
#[derive(Debug, Clone, Default)]
pub(super) struct HeldPolls {
    pub(super) list: Vec<Held>,
    pool: Vec<Vec<(u64, usize)>>,
}

impl HeldPolls {
    /// Holds a copy of `bag`.
    pub(super) fn hold(&mut self, request: u32, answers: u32, bag: &[(u64, usize)]) {
        let mut b = self.pool.pop().unwrap_or_default();
        b.clear();
        b.extend_from_slice(bag);
        self.list.push(Held {
            request,
            answers,
            bag: b,
        });
    }

    /// Removes held poll number `i`, copying its bag into `bag`; returns request and answers.
    pub(super) fn take(&mut self, i: usize, bag: &mut Vec<(u64, usize)>) -> (u32, u32) {
        let h = self.list.remove(i);
        bag.clear();
        bag.extend_from_slice(&h.bag);
        self.pool.push(h.bag);
        (h.request, h.answers)
    }

    /// Drops every held poll.
    pub(super) fn clear(&mut self) {
        for h in self.list.drain(..) {
            self.pool.push(h.bag);
        }
    }
}
