//! Sending: every message a node sends goes through the bus here; a query to an honest
//! node also draws its answer's journey at once, in both modes, so that the bus draws in the
//! same order whichever mode runs.

use super::{exact, Ev, World};
use crate::node::decision::Message;
use crate::node::NodeId;
use crate::sim::network::Fate;
use crate::sim::scheduler::Nanos;
use crate::sim::trace::{Event, Kind, Trace};
use crate::sim::SimError;

impl World<'_> {
    pub(super) fn send(
        &mut self,
        now: Nanos,
        from: NodeId,
        to: NodeId,
        msg: Message,
        trace: &mut Trace,
    ) -> Result<(), SimError> {
        if let Message::Query { .. } = msg {
            self.open_queries += 1;
        }
        match msg {
            Message::Query { request, deadline } if !self.pop.byzantine[to as usize] => {
                return self.query_honest(now, from, to, request, deadline, trace);
            }
            Message::Answer { request, choice } if self.answering.is_some() => {
                return self.answer_exact(now, from, to, request, choice, trace);
            }
            _ => {}
        }
        let fate = self.shell.route(now, from, to);
        record_message(trace, now, from, to, msg, fate)?;
        self.shell
            .schedule(now, fate, msg, |msg| Ev::deliver(to, from, msg));
        Ok(())
    }

    /// Sends a query to an honest node and draws its answer's journey at once (in both
    /// modes, so that the bus draws in the same order).
    pub(super) fn query_honest(
        &mut self,
        now: Nanos,
        from: NodeId,
        to: NodeId,
        request: u32,
        deadline: Nanos,
        trace: &mut Trace,
    ) -> Result<(), SimError> {
        let fate = self.shell.route(now, from, to);
        record_message(
            trace,
            now,
            from,
            to,
            Message::Query { request, deadline },
            fate,
        )?;
        let Fate::Delivered(first, second) = fate else {
            return Ok(());
        };
        for delay in std::iter::once(first).chain(second) {
            let asked = now.saturating_add(delay);
            if self.down_at(to, asked) {
                if self.exact {
                    let ev = Ev::Ask {
                        to,
                        from,
                        request,
                        slot: exact::NO_ANSWER,
                    };
                    self.shell.sched.at_late(asked, ev);
                }
                continue;
            }
            // Fast mode counts the answer now; exact mode when it is sent (so not if the run
            // ends before the query arrives).
            self.shell.messages += u64::from(!self.exact);
            let back = self.shell.bus.route(asked, to, from);
            if self.exact {
                self.draw_pending(asked, to, from, request, deadline, back);
            } else {
                self.draw_answer(asked, to, from, request, back, trace)?;
            }
        }
        Ok(())
    }
}

/// Writes the `messages`-level row of `msg`, sent at `time` from `from` to `to`, which met
/// `fate` (kind `lost` or `cut` when it was dropped).
pub(super) fn record_message(
    trace: &mut Trace,
    time: Nanos,
    from: NodeId,
    to: NodeId,
    msg: Message,
    fate: Fate,
) -> Result<(), SimError> {
    if !trace.wants(Kind::Query) {
        return Ok(());
    }
    let (request, choice) = match msg {
        Message::Query { request, .. } => (request, None),
        Message::Answer { request, choice } => (request, Some(choice)),
    };
    let kind = match (fate, choice) {
        (Fate::Lost, _) => Kind::Lost,
        (Fate::Partitioned, _) => Kind::Cut,
        (_, None) => Kind::Query,
        (_, Some(_)) => Kind::Answer,
    };
    let latency = match fate {
        Fate::Delivered(d, _) => Some(d),
        _ => None,
    };
    let e = Event {
        time,
        node: from,
        peer: Some(to),
        request: Some(request),
        choice,
        latency,
        ..Event::default()
    };
    trace.record(kind, e)?;
    Ok(())
}
