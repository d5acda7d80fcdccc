//! Exact mode: every query to an honest node is an event at its arrival, answered by
//! [`Node::handle`](crate::node::decision::Node), and every answer is an event of its own.
//!
//! Two rules keep its results identical to fast mode's (see the module docs of [`super`]):
//!
//! - An answer's journey is drawn from the bus when its query is sent, as fast mode draws
//!   it, and kept in a [`Pending`] slot until the answerer sends the answer.
//! - When a poll's timer is set (right after its queries are sent), the answers drawn for it
//!   get consecutive sequence numbers reserved there, where fast mode schedules the poll's
//!   batch; so the answer that completes the poll pops where the batch would. Queries are
//!   late events ([`Scheduler::at_late`](crate::sim::scheduler::Scheduler::at_late)): each is
//!   handled after every other event of its instant, so the answer reflects the answerer's
//!   preference as of its arrival, changes at that instant included.

use super::send::record_message;
use super::{Ev, World};
use crate::node::decision::{Input, Message};
use crate::node::NodeId;
use crate::sim::network::Fate;
use crate::sim::scheduler::Nanos;
use crate::sim::shell;
use crate::sim::trace::Trace;
use crate::sim::SimError;

/// The slot of a query whose answerer is down when it arrives: no answer was drawn.
pub(super) const NO_ANSWER: u32 = u32::MAX;

/// An answer drawn ahead: its journey and the sequence number its first copy pops with.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pending {
    /// The query's deadline, as the query carries it.
    deadline: Nanos,
    /// What the bus decided for the answer.
    back: Fate,
    /// The first of the sequence numbers reserved for the answer's copies.
    seq: u64,
}

impl World<'_> {
    /// Schedules the query `request` of `from` reaching honest node `to` at `asked`, whose
    /// answer's journey the bus drew as `back`.
    pub(super) fn draw_pending(
        &mut self,
        asked: Nanos,
        to: NodeId,
        from: NodeId,
        request: u32,
        deadline: Nanos,
        back: Fate,
    ) {
        let p = Pending {
            deadline,
            back,
            seq: 0,
        };
        let slot = match self.free_pending.pop() {
            Some(s) => {
                self.pending[s as usize] = p;
                s
            }
            None => {
                self.pending.push(p);
                (self.pending.len() - 1) as u32
            }
        };
        debug_assert!(slot != NO_ANSWER);
        self.open_pending.push(slot);
        let ev = Ev::Ask {
            to,
            from,
            request,
            slot,
        };
        self.shell.sched.at_late(asked, ev);
    }

    /// The queries of a poll are sent: reserves the sequence numbers of their answers.
    pub(super) fn close_pending(&mut self) {
        let copies = |p: &Pending| match p.back {
            Fate::Delivered(_, None) => 1,
            Fate::Delivered(_, Some(_)) => 2,
            Fate::Lost | Fate::Partitioned => 0,
        };
        let n: u64 = self
            .open_pending
            .iter()
            .map(|&s| copies(&self.pending[s as usize]))
            .sum();
        let mut seq = self.shell.sched.reserve(n);
        for &s in &self.open_pending {
            let p = &mut self.pending[s as usize];
            p.seq = seq;
            seq += copies(p);
        }
        self.open_pending.clear();
    }

    /// A query reaches honest node `to`: the node answers it through `handle`.
    pub(super) fn ask(
        &mut self,
        now: Nanos,
        to: NodeId,
        from: NodeId,
        request: u32,
        slot: u32,
        trace: &mut Trace,
    ) -> Result<(), SimError> {
        if slot == NO_ANSWER {
            // The crash schedule said, when the query was sent, that `to` is down now.
            debug_assert!(
                self.is_down(to),
                "node {to} is up against the crash schedule"
            );
            return Ok(());
        }
        debug_assert!(
            !self.is_down(to),
            "node {to} is down against the crash schedule"
        );
        let deadline = self.pending[slot as usize].deadline;
        self.answering = Some(slot);
        let msg = Message::Query { request, deadline };
        shell::drive(self, now, to, Input::Message { from, msg }, trace)?;
        if let Some(s) = self.answering.take() {
            debug_assert!(false, "an honest node left a query unanswered");
            self.free_pending.push(s);
        }
        Ok(())
    }

    /// Honest node `from` answers `to`'s query now, along the journey drawn for it.
    pub(super) fn answer_exact(
        &mut self,
        now: Nanos,
        from: NodeId,
        to: NodeId,
        request: u32,
        choice: u32,
        trace: &mut Trace,
    ) -> Result<(), SimError> {
        let Some(slot) = self.answering.take() else {
            return Ok(());
        };
        // The contract fast mode relies on: the answer is the answerer's preference now.
        debug_assert_eq!(choice, self.preference_at(from, now));
        let p = self.pending[slot as usize];
        self.free_pending.push(slot);
        self.shell.messages += 1;
        let msg = Message::Answer { request, choice };
        record_message(trace, now, from, to, msg, p.back)?;
        if let Fate::Delivered(d1, d2) = p.back {
            let ev = Ev::deliver(to, from, msg);
            self.shell.sched.at_seq(now.saturating_add(d1), p.seq, ev);
            if let Some(d) = d2 {
                self.shell
                    .sched
                    .at_seq(now.saturating_add(d), p.seq + 1, ev);
            }
        }
        Ok(())
    }
}
