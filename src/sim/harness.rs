//! Harness mode: avalanchego's own test network (`snow/consensus/snowball/network_test.go`,
//! `Network.Round`), so that its network tests can be written as scenarios.
//!
//! Each round one running node is drawn uniformly among the honest nodes not yet finalized;
//! it samples k distinct validators among *all* nodes, itself included (as `Network.Round`
//! samples k distinct indices, uniformly, over every node; here by stake, which is uniform
//! unless `network.stake` says otherwise; `network.sampling = "stake"` samples stake units
//! instead; `network.self_sample` does not apply), reads their preferences as they are at that moment (live, not as of a previous
//! round) and records the bag in its [`Decision`]. A node that finalizes stops polling but
//! is still sampled. The run ends when every honest node has finalized, when two finalized
//! honest nodes disagree (avalanchego's `Disagreement`, reported as a safety violation), or
//! when `max_rounds` rounds (single polls) are spent. Byzantine validators answer by their
//! strategy, as in lockstep mode. One seeded generator draws every choice, so a run is
//! deterministic.
//!
//! Lockstep mode differs in two ways: every node polls each round, and reads the previous
//! round's preferences; it needs about 5 % more polls per node (see `lockstep.rs`).

use super::lockstep::{self, RoundCounters};
use super::population::Population;
use super::progress::{End, Progress, Watch};
use super::rng::{rng_for, Purpose};
use super::scenario::Scenario;
use super::summary::Outcomes;
use super::trace::Trace;
use super::SimError;
use crate::node::{Adversary, Sample};
use rand::Rng;

/// Runs `scenario` in harness mode; `watch` is told the progress every 65,536 rounds and may
/// stop the run.
pub fn run(
    scenario: &Scenario,
    pop: &Population,
    trace: &mut Trace,
    outcomes: &mut Outcomes,
    watch: Watch,
) -> Result<RoundCounters, SimError> {
    let n = scenario.network.nodes;
    let k = scenario.params.k.min(n);
    let choices = scenario.workload.choices;
    let mut decisions = lockstep::decisions(scenario, pop);
    let mut running: Vec<u32> = (0..n as u32)
        .filter(|&i| !pop.byzantine[i as usize])
        .collect();
    let honest = running.len();
    let mut split = vec![0u64; choices];
    for &i in &running {
        split[pop.initial[i as usize] as usize] += 1;
    }
    let mut adversary = scenario.byzantine.as_ref().map(|b| {
        let rng = rng_for(scenario.seed, Purpose::Adversary);
        Adversary::new(b.strategy, b.target, choices, rng).with_share(pop.byzantine_stake)
    });
    let mut rng = rng_for(scenario.seed, Purpose::Harness);
    let mut polls = vec![0u32; n];
    let mut sample = Sample::with_capacity(k);
    let mut counts = vec![0u32; choices];
    let mut first_final: Option<usize> = None;
    let mut c = RoundCounters::default();
    while !running.is_empty() && c.rounds < scenario.max_rounds {
        if c.rounds & 0xffff == 0xffff {
            let p = Progress {
                at: c.rounds,
                budget: scenario.max_rounds,
                done: honest - running.len(),
                of: honest,
            };
            if !watch(p) {
                c.ended = End::Interrupted;
                break;
            }
        }
        c.rounds += 1;
        let round = c.rounds;
        let ri = rng.random_range(0..running.len());
        let me = running[ri];
        pop.sampler.sample(&mut rng, k, None, &mut sample);
        let live = |peer: u32| decisions[peer as usize].preference();
        let mine = decisions[me as usize].preference() as u32;
        let t = lockstep::tally(
            &sample,
            pop,
            adversary.as_mut(),
            me,
            mine,
            &split,
            live,
            &mut counts,
        );
        c.answers += u64::from(t.answers);
        let d = &mut decisions[me as usize];
        let before = d.preference();
        d.record_counts(&counts);
        let after = d.preference();
        if before != after {
            split[before] -= 1;
            split[after] += 1;
        }
        c.polls += 1;
        polls[me as usize] += 1;
        lockstep::poll_row(trace, round, me, t.top, t.count, t.votes_in)?;
        if !d.finalized() {
            continue;
        }
        lockstep::decide_row(trace, round, me, after as u32)?;
        outcomes.decided.push(after as u32);
        outcomes.nodes.push(me);
        outcomes.finality.push(round as f64);
        outcomes.polls.push(f64::from(polls[me as usize]));
        running.swap_remove(ri);
        if *first_final.get_or_insert(after) != after {
            c.ended = End::SafetyViolation;
            break;
        }
    }
    if c.ended == End::Finalized && !running.is_empty() {
        c.ended = End::MaxRounds;
    }
    outcomes.honest = honest;
    Ok(c)
}
