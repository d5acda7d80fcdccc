//! Ledgers in the simulator: `engine = "chain"` (Snowman) and `engine = "dag"` (Avalanche)
//! in event mode. Honest nodes are [`crate::node::ledger::LedgerNode`]s; blocks and vertices
//! are produced by slot leaders ([`production`]), travel over the same bus as every other
//! message, and a safety checker ([`safety`]) watches every acceptance. See `docs/ledger.md`.

mod byzantine;
pub(crate) mod figures;
pub(crate) mod production;
pub(crate) mod safety;
pub(crate) mod world;

pub use crate::sim::event_loop::EventCounters;
pub use figures::LedgerSummary;
pub use safety::Violation;
pub use world::LedgerWorld;

use super::population::Population;
use super::scenario::Scenario;
use super::trace::{Trace, TraceFormat, TraceLevel};
use super::SimError;

/// What a ledger run hands over to the summary.
#[derive(Debug, Clone)]
pub struct LedgerRun {
    /// Events, messages and the end time.
    pub counters: EventCounters,
    /// The ledger figures.
    pub summary: LedgerSummary,
    /// Honest nodes in all.
    pub honest: usize,
    /// Polls recorded by each honest node.
    pub polls: Vec<f64>,
}

/// Runs a chain or dag scenario in event mode, recording into `trace`.
pub fn run(
    scenario: &Scenario,
    pop: Population,
    trace: &mut Trace,
    watch: crate::sim::progress::Watch,
) -> Result<LedgerRun, SimError> {
    let honest = pop.honest();
    let mut world = LedgerWorld::new(scenario, pop)?;
    let counters = world.run(trace, watch)?;
    let (summary, polls) = world.summary(counters.end);
    Ok(LedgerRun {
        counters,
        summary,
        honest,
        polls,
    })
}

/// Runs a chain or dag scenario without outputs and returns the world at its end, for
/// inspection (tests), with the run's figures.
pub fn simulate(scenario: &Scenario) -> Result<(LedgerWorld<'_>, LedgerRun), SimError> {
    let pop = Population::draw(scenario)?;
    let honest = pop.honest();
    let mut trace = Trace::create(None, TraceLevel::None, TraceFormat::Csv)?;
    let mut world = LedgerWorld::new(scenario, pop)?;
    let counters = world.run(&mut trace, &mut crate::sim::progress::never_stop)?;
    let (summary, polls) = world.summary(counters.end);
    let run = LedgerRun {
        counters,
        summary,
        honest,
        polls,
    };
    Ok((world, run))
}
