//! The one event loop of event mode: pops events in time order and hands them to a world
//! (the single-decision [`World`](super::world::World) or the
//! [`LedgerWorld`](super::ledger::LedgerWorld)), within the scenario's virtual-time and event
//! budgets, reporting progress every 65,536 events.

use super::progress::{End, Progress, Watch};
use super::scheduler::Nanos;
use super::shell::Host;
use super::trace::Trace;
use super::SimError;

/// Counters of an event-mode run.
#[derive(Debug, Clone, Copy, Default)]
pub struct EventCounters {
    /// Events processed.
    pub events: u64,
    /// Messages sent.
    pub messages: u64,
    /// Virtual time of the last event.
    pub end: Nanos,
    /// Why the run ended.
    pub ended: End,
}

/// Runs `world` until it finishes, nothing is left to do, `max_time` or `max_events` is
/// reached, or `watch` says stop.
pub(crate) fn run<W: Host>(
    world: &mut W,
    max_time: Nanos,
    max_events: u64,
    trace: &mut Trace,
    watch: Watch,
) -> Result<EventCounters, SimError> {
    let mut end = 0;
    let mut ended = None;
    while world.finished().is_none() {
        let sched = &mut world.shell().sched;
        if sched.popped() >= max_events {
            ended = Some(End::MaxEvents);
            break;
        }
        let Some((now, ev)) = sched.pop_until(max_time) else {
            break;
        };
        debug_assert!(now >= end, "the clock runs backwards");
        end = now;
        world.step(now, ev, trace)?;
        if world.shell().sched.popped() & 0xffff == 0 {
            let (done, of) = world.done_of();
            let p = Progress {
                at: now,
                budget: max_time,
                done,
                of,
            };
            if !watch(p) {
                ended = Some(End::Interrupted);
                break;
            }
        }
    }
    let ended = match (ended, world.finished()) {
        (Some(e), _) | (None, Some(e)) => e,
        (None, None) => {
            let sched = &mut world.shell().sched;
            if sched.is_empty() {
                end = end.max(sched.now());
                End::Idle
            } else {
                end = max_time;
                End::MaxTime
            }
        }
    };
    Ok(EventCounters {
        events: world.shell().sched.popped(),
        messages: world.shell().messages,
        end,
        ended,
    })
}
