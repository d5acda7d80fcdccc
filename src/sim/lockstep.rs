//! Lockstep mode: synchronous rounds, a model of its own (not avalanchego's test network,
//! which is [`super::harness`]: there one node polls per round and reads live preferences.
//! Measured with two choices split 50/50 and default parameters, mean of seeds 1-5:
//! lockstep needs 33.8 polls a node at n = 1000 and 35.9 at n = 2000, harness mode 31.8
//! and 34.3, so 6 % and 5 % more; `docs/scenarios.md`, `mode`).
//!
//! In each round every unfinalized honest node fills k slots by the scenario's sampling
//! (k stake units by default, a validator's answer counting once per slot it fills) and
//! reads their preferences as of the previous round; the bag's top choice (ties: smallest
//! id) is recorded in the node's [`Decision`]. Byzantine validators answer by their strategy
//! (silent ones give no answer, delay ones answer on time: rounds have no clock). A round
//! ends when every node has polled; the run ends when every honest node has finalized or
//! the round budget is spent. Nodes poll in id order from one seeded generator, so a run
//! is deterministic; there is no message-level network in this mode.

use super::population::Population;
use super::progress::{End, Progress, Watch};
use super::rng::{rng_for, Purpose};
use super::scenario::Scenario;
use super::summary::Outcomes;
use super::trace::{Event, Kind, Trace};
use super::SimError;
use crate::node::{top, Adversary, Reply, Sample, View};
use crate::Decision;

/// Counters of a lockstep run.
#[derive(Debug, Clone, Copy, Default)]
pub struct RoundCounters {
    /// Polls recorded.
    pub polls: u64,
    /// Answers read.
    pub answers: u64,
    /// Rounds run.
    pub rounds: u64,
    /// Why the run ended.
    pub ended: End,
}

/// Runs `scenario` in lockstep mode; `watch` is told the progress every 65,536 polls and
/// after each round, and may stop the run.
pub fn run(
    scenario: &Scenario,
    pop: &Population,
    trace: &mut Trace,
    outcomes: &mut Outcomes,
    watch: Watch,
) -> Result<RoundCounters, SimError> {
    let n = scenario.network.nodes;
    let k = scenario.params.k;
    let choices = scenario.workload.choices;
    let self_sample = scenario.network.self_sample;
    let mut decisions = decisions(scenario, pop);
    let mut prev: Vec<u8> = pop.initial.iter().map(|&c| c as u8).collect();
    let mut next = prev.clone();
    let mut polls_to_final = vec![0u32; n];
    let mut active: Vec<u32> = (0..n as u32)
        .filter(|&i| !pop.byzantine[i as usize])
        .collect();
    let honest = active.len();
    let mut split = vec![0u64; choices];
    for &i in &active {
        split[prev[i as usize] as usize] += 1;
    }
    let mut adversary = scenario.byzantine.as_ref().map(|b| {
        let rng = rng_for(scenario.seed, Purpose::Adversary);
        Adversary::new(b.strategy, b.target, choices, rng).with_share(pop.byzantine_stake)
    });
    let mut rng = rng_for(scenario.seed, Purpose::Lockstep);
    let mut sample = Sample::with_capacity(k);
    let mut counts = vec![0u32; choices];
    let mut c = RoundCounters::default();
    let progress = |c: &RoundCounters, active: usize| Progress {
        at: c.rounds,
        budget: scenario.max_rounds,
        done: honest - active,
        of: honest,
    };
    'rounds: while !active.is_empty() && c.rounds < scenario.max_rounds {
        c.rounds += 1;
        let round = c.rounds;
        let mut still = 0;
        for idx in 0..active.len() {
            if c.polls & 0xffff == 0xffff && !watch(progress(&c, active.len())) {
                // Stop mid-round: the nodes not yet polled keep their place.
                active.copy_within(idx.., still);
                active.truncate(still + active.len() - idx);
                c.ended = End::Interrupted;
                break 'rounds;
            }
            let me = active[idx];
            let exclude = (!self_sample).then_some(me);
            pop.sampler.sample(&mut rng, k, exclude, &mut sample);
            let honest_answer = |peer: u32| usize::from(prev[peer as usize]);
            let mine = decisions[me as usize].preference() as u32;
            let t = tally(
                &sample,
                pop,
                adversary.as_mut(),
                me,
                mine,
                &split,
                honest_answer,
                &mut counts,
            );
            c.answers += u64::from(t.answers);
            let d = &mut decisions[me as usize];
            d.record_counts(&counts);
            c.polls += 1;
            polls_to_final[me as usize] += 1;
            next[me as usize] = d.preference() as u8;
            poll_row(trace, round, me, t.top, t.count, t.votes_in)?;
            if d.finalized() {
                let choice = d.preference() as u32;
                decide_row(trace, round, me, choice)?;
                outcomes.decided.push(choice);
                outcomes.nodes.push(me);
                outcomes.finality.push(round as f64);
                outcomes.polls.push(f64::from(polls_to_final[me as usize]));
            } else {
                active[still] = me;
                still += 1;
            }
        }
        active.truncate(still);
        // The round is over: its preferences become what the next round reads.
        for (i, (p, q)) in prev.iter_mut().zip(&next).enumerate() {
            if *p != *q && !pop.byzantine[i] {
                split[*p as usize] -= 1;
                split[*q as usize] += 1;
            }
            *p = *q;
        }
        if !watch(progress(&c, active.len())) {
            c.ended = End::Interrupted;
            break;
        }
    }
    if c.ended != End::Interrupted {
        c.ended = if active.is_empty() {
            End::Finalized
        } else {
            End::MaxRounds
        };
    }
    outcomes.honest = honest;
    Ok(c)
}

/// The decisions of every node, each at its initial preference.
pub(super) fn decisions(scenario: &Scenario, pop: &Population) -> Vec<Decision> {
    let (params, choices) = (&scenario.params, scenario.workload.choices);
    let (protocol, shape) = (scenario.protocol(), scenario.shape());
    let new = |&initial: &u32| Decision::new(protocol, shape, params, choices, initial as usize);
    pop.initial.iter().map(new).collect()
}

/// What one poll of a round-based mode heard.
pub(super) struct Tally {
    /// Votes in: the slots of the peers that answered.
    pub votes_in: u32,
    /// Peers that answered.
    pub answers: u32,
    /// The top choice (ties: the smallest) and its votes.
    pub top: usize,
    /// Votes for `top`.
    pub count: u32,
}

/// Counts into `counts` (one entry a choice) the answers of `sample` to node `me` (which
/// prefers `mine`), each once per slot its peer fills: an honest peer answers
/// `honest(peer)`; then each Byzantine peer, in sample order, is asked once by `adversary`,
/// which sees the honest `split`, `mine` and the poll's votes so far (the informed view),
/// and may stay silent.
#[allow(clippy::too_many_arguments)]
pub(super) fn tally(
    sample: &Sample,
    pop: &Population,
    mut adversary: Option<&mut Adversary>,
    me: u32,
    mine: u32,
    split: &[u64],
    honest: impl Fn(u32) -> usize,
    counts: &mut [u32],
) -> Tally {
    counts.iter_mut().for_each(|x| *x = 0);
    let (mut votes_in, mut answers) = (0u32, 0u32);
    for (peer, weight) in sample.iter() {
        if !pop.byzantine[peer as usize] {
            counts[honest(peer)] += weight;
            votes_in += weight;
            answers += 1;
        }
    }
    if let Some(adv) = adversary.as_mut() {
        for (peer, weight) in sample.iter() {
            if !pop.byzantine[peer as usize] {
                continue;
            }
            let view = View {
                split,
                querier_preference: Some(mine),
                poll: Some(counts),
                slots: weight,
            };
            if let Reply::Now(x) | Reply::AtDeadline(x) = adv.answer(me, &view) {
                counts[x as usize] += weight;
                votes_in += weight;
                answers += 1;
            }
        }
    }
    let (top, count) = top((0u64..).zip(counts.iter().copied())).unwrap_or((0, 0));
    Tally {
        votes_in,
        answers,
        top: top as usize,
        count,
    }
}

/// The trace row of node `me`'s poll in `round`: its top choice had `count` votes of
/// `answers` votes in (slots whose validator answered).
pub(super) fn poll_row(
    trace: &mut Trace,
    round: u64,
    me: u32,
    choice: usize,
    count: u32,
    answers: u32,
) -> Result<(), SimError> {
    if trace.wants(Kind::Poll) {
        let e = Event {
            time: round,
            node: me,
            choice: Some(choice as u32),
            count: Some(count),
            answers: Some(answers),
            ..Event::default()
        };
        trace.record(Kind::Poll, e)?;
    }
    Ok(())
}

/// The trace row of node `me` deciding `choice` in `round`.
pub(super) fn decide_row(
    trace: &mut Trace,
    round: u64,
    me: u32,
    choice: u32,
) -> Result<(), SimError> {
    let e = Event {
        time: round,
        node: me,
        choice: Some(choice),
        ..Event::default()
    };
    trace.record(Kind::Decide, e)?;
    Ok(())
}
