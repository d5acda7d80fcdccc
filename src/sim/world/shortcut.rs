//! Fast mode's short cut: an honest answer is read from the answerer's preference history,
//! and the honest answers of one poll travel as one event (see the module docs of
//! [`super`]).
//!
//! When a query to an honest node is sent, the bus decides both legs at once (the query's
//! delay and fate, then the answer's, from the arrival time). The answer's choice is read,
//! when it is delivered, from the answerer's preference history as of the query's arrival:
//! exactly what [`Node::handle`](crate::node::decision::Node) would have answered then, since
//! every event before that time has been processed by then. A node crashed when the query
//! arrives does not answer.
//!
//! The honest answers of one poll travel as one `Answers` event, due when the last of them
//! (before the poll's deadline) arrives; there they are handed to the node one by one, in
//! arrival order. Until the answer that completes a poll (the last one: a poll completes
//! when every peer it sampled has answered), answers only count, so the poll is recorded at
//! the same time and the same way as if each answer were an event; a poll that misses
//! answers is closed by its timeout as before. Every answer is handed over at the batch's
//! time, so that each node sees its inputs in time order.

use super::{Answer, Ev, World};
use crate::node::decision::Output;
use crate::node::NodeId;
use crate::sim::network::Fate;
use crate::sim::scheduler::Nanos;
use crate::sim::shell;
use crate::sim::trace::{Event, Kind, Trace};
use crate::sim::SimError;

impl World<'_> {
    /// Notes the answer to a query that reaches honest node `to` at `asked`, whose journey
    /// back is `back`; its `messages` row is written now.
    pub(super) fn draw_answer(
        &mut self,
        asked: Nanos,
        to: NodeId,
        from: NodeId,
        request: u32,
        back: Fate,
        trace: &mut Trace,
    ) -> Result<(), SimError> {
        if trace.wants(Kind::Answer) {
            let kind = match back {
                Fate::Lost => Kind::Lost,
                Fate::Partitioned => Kind::Cut,
                Fate::Delivered(..) => Kind::Answer,
            };
            let latency = match back {
                Fate::Delivered(d, _) => Some(d),
                _ => None,
            };
            let e = Event {
                time: asked,
                node: to,
                peer: Some(from),
                request: Some(request),
                latency,
                ..Event::default()
            };
            trace.record(kind, e)?;
        }
        if let Fate::Delivered(d1, d2) = back {
            for d in std::iter::once(d1).chain(d2) {
                self.open.push((asked.saturating_add(d), to, asked));
            }
        }
        Ok(())
    }

    /// Hands the honest answers of batch `batch` (poll `request` of node `to`, sent at `sent`)
    /// over at `now`,
    /// in one call ([`Node::handle_answers`](crate::node::decision::Node::handle_answers): the
    /// same as one by one).
    pub(super) fn answers(
        &mut self,
        now: Nanos,
        to: NodeId,
        request: u32,
        batch: u32,
        sent: Nanos,
        trace: &mut Trace,
    ) -> Result<(), SimError> {
        let answers = std::mem::take(&mut self.batches[batch as usize]);
        // A node down now (it crashed after an answer arrived) handles nothing; an answer
        // that arrived while it was down is lost.
        if !self.is_down(to) {
            // The answerers' preferences in one pass: their loads miss the cache and
            // overlap here. Only `to` changes while its answers are handed over, and only
            // when the last one completes the poll, so an answer from `to` itself
            // (self-sampling) reads the same here as in turn.
            let mut handed = std::mem::take(&mut self.batch_prefs);
            handed.clear();
            let at = |offset: u32| sent + u64::from(offset);
            let up = |a: &&Answer| !self.down_at(to, at(a.arrival));
            let read = |a: &Answer| (a.from, self.preference_at(a.from, at(a.asked)));
            handed.extend(answers.iter().filter(up).map(read));
            let handle = |w: &mut Self, out: &mut Vec<Output>| {
                w.on_node(now, to, |node, sampler| {
                    node.handle_answers(now, request, &handed, sampler, out);
                });
            };
            shell::drive_with(self, now, to, trace, handle)?;
            self.batch_prefs = handed;
        }
        self.batches[batch as usize] = answers;
        self.batches[batch as usize].clear();
        self.free_batches.push(batch);
        Ok(())
    }

    /// Schedules the honest answers gathered for `node`'s poll `request` (its queries were
    /// just sent at `now`) as one event at the last arrival before `deadline`; later ones are
    /// useless. Returns whether that event surely completes the poll: every peer queried is
    /// honest and answers in time, and `node` stays up until then. The poll's timeout would
    /// then find it recorded, and need not be scheduled.
    ///
    /// Answers only count toward the poll until the one that completes it, and they arrive in
    /// time order within the batch, so the poll is recorded exactly when (and as) the
    /// answer-by-answer simulation would record it.
    pub(super) fn close_batch(
        &mut self,
        now: Nanos,
        node: NodeId,
        request: u32,
        deadline: Nanos,
    ) -> bool {
        let queries = std::mem::take(&mut self.open_queries) as usize;
        if self.open.is_empty() {
            return false;
        }
        let batch = match self.free_batches.pop() {
            Some(b) => b,
            None => {
                self.batches.push(Vec::new());
                (self.batches.len() - 1) as u32
            }
        };
        let answers = &mut self.batches[batch as usize];
        // Sized to the poll (not grown by doubling): with k = 20 a batch holds about 20
        // answers, and a node keeps a batch per concurrent poll.
        let due = self.open.iter().filter(|a| a.0 <= deadline).count();
        answers.reserve_exact(due);
        // Times as offsets from `now`: the answers kept arrive by the deadline, and fast
        // mode runs only with poll timeouts that fit (see `World::new`).
        debug_assert!(
            deadline - now <= u64::from(u32::MAX),
            "a poll timeout too long"
        );
        let off = |t: Nanos| (t - now) as u32;
        let kept = self.open.drain(..).filter(|a| a.0 <= deadline);
        answers.extend(kept.map(|(arrival, from, asked)| Answer {
            arrival: off(arrival),
            from,
            asked: off(asked),
        }));
        // Stable: answers arriving at the same time keep the order they were sent in.
        answers.sort_by_key(|a| a.arrival);
        // A duplicated answer counts once, at its first arrival: drop the later copies, so
        // that the batch is due exactly when the last answerer's first copy lands.
        let mut i = 0;
        while i < answers.len() {
            let from = answers[i].from;
            if answers[..i].iter().any(|a| a.from == from) {
                answers.remove(i);
            } else {
                i += 1;
            }
        }
        let Some(last) = answers.last().map(|a| now + u64::from(a.arrival)) else {
            self.free_batches.push(batch);
            return false;
        };
        let completes = answers.len() == queries && self.shell.crashes.steady(node, now, last);
        let ev = Ev::Answers {
            to: node,
            request,
            batch,
            sent: now,
        };
        self.shell.sched.at(last, ev);
        completes
    }
}
