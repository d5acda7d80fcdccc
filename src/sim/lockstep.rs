//! Lockstep mode: synchronous rounds, a model of its own (not avalanchego's test network,
//! which is [`super::harness`]: there one node polls per round and reads live preferences.
//! Measured with two choices split 50/50 and default parameters, mean of seeds 1-5:
//! lockstep needs 33.8 polls a node at n = 1000 and 35.9 at n = 2000, harness mode 31.8
//! and 34.3, so 6 % and 5 % more; `docs/scenarios.md`, `mode`).
//!
//! In each round every unfinalized honest node fills k slots by the scenario's sampling
//! and reads their preferences as of the previous round; the bag's top choice (ties:
//! smallest id) is recorded in the node's [`Decision`]. Byzantine validators answer by
//! their strategy (silent ones give no answer, delay ones answer on time: rounds have no
//! clock). A round ends when every node has polled; the run ends when every honest node has
//! finalized or the round budget is spent. There is no message-level network in this mode.
//!
//! How a poll is drawn:
//!
//! - Under stake-unit sampling (the default) an honest validator's answer depends only on
//!   its preference of the previous round, so a poll is drawn by class
//!   ([`crate::node::draw_by_class`]): how many of the k units are honest units of each
//!   choice, and how many are Byzantine, then which Byzantine validators hold those. That
//!   is exactly the law of drawing every unit by name (tests in `node/classes.rs`), in
//!   O(k) per poll whatever the number of nodes.
//! - Under `sampling = "validators"` the k distinct validators are drawn by name.
//!
//! Determinism and threads: the nodes are cut into blocks of [`block::BLOCK`] ids, and
//! each block draws from its own stream of the round's key (round keys come one after the
//! other from the seed's `Lockstep` stream). The blocks of a round run in parallel on the
//! current rayon pool; with Byzantine nodes, only the adversary's answers run in order on
//! one thread, between the draws and the records (an adversary may keep state across
//! polls; see `block.rs`). Either way a run's result does not depend on the number of
//! threads (`tests/lockstep_threads.rs`).

mod block;

use super::population::Population;
use super::progress::{End, Progress, Watch};
use super::rng::{rng_for, Purpose};
use super::scenario::Scenario;
use super::summary::Outcomes;
use super::trace::{Event, Kind, Trace};
use super::SimError;
use crate::node::{top, Adversary, Reply, Sample, Sampling, StakeSampler, View};
use crate::Decision;
use block::{
    answer_block, draw_block, poll_block, record_block, state, BlockOut, Nodes, Round, Row, BLOCK,
};
use rand::RngCore;
use rayon::prelude::*;

/// Counters of a lockstep run.
#[derive(Debug, Clone, Copy, Default)]
pub struct RoundCounters {
    /// Polls recorded.
    pub polls: u64,
    /// Answers read: in lockstep mode, answered slots (a validator filling two stake-unit
    /// slots of a poll counts twice); in harness mode, validators that answered.
    pub answers: u64,
    /// Rounds run.
    pub rounds: u64,
    /// Why the run ended.
    pub ended: End,
}

/// Blocks per batch: the run reports progress (and may be stopped) between batches.
const BATCH_BLOCKS: usize = 64;

/// How a round's polls are drawn.
pub(crate) enum Draw {
    /// By class (stake-unit sampling), with the Byzantine validators' own sampler.
    Classes {
        /// `None` when there is no Byzantine node.
        byzantine: Option<ByzantinePool>,
    },
    /// Every peer by name (`sampling = "validators"`).
    ByName,
}

/// The Byzantine validators as a stake-unit sampler of their own (which of them fills a
/// slot does not change its answer: the adversary answers for all of them).
pub(crate) struct ByzantinePool {
    /// Stake units without replacement among the Byzantine validators only.
    pub sampler: StakeSampler,
    /// Their units in all.
    pub units: u64,
}

impl Draw {
    fn new(pop: &Population) -> Result<Draw, SimError> {
        if pop.sampler.sampling() == Sampling::Validators {
            return Ok(Draw::ByName);
        }
        let ids: Vec<u32> = (0..pop.byzantine.len() as u32)
            .filter(|&i| pop.byzantine[i as usize])
            .collect();
        let units: Vec<u64> = ids.iter().map(|&i| pop.sampler.units(i)).collect();
        let total: u64 = units.iter().sum();
        let byzantine = if total == 0 {
            None
        } else {
            Some(ByzantinePool {
                sampler: StakeSampler::of_units(&units)?,
                units: total,
            })
        };
        Ok(Draw::Classes { byzantine })
    }
}

/// Runs `scenario` in lockstep mode; `watch` is told the progress after every batch of
/// [`BATCH_BLOCKS`] blocks, and may stop the run.
pub fn run(
    scenario: &Scenario,
    pop: &Population,
    trace: &mut Trace,
    outcomes: &mut Outcomes,
    watch: Watch,
) -> Result<RoundCounters, SimError> {
    let n = scenario.network.nodes;
    let choices = scenario.workload.choices;
    let mut decisions = decisions(scenario, pop);
    let mut prev: Vec<u8> = pop.initial.iter().map(|&c| c as u8).collect();
    let mut next = prev.clone();
    let mut polls = vec![0u32; n];
    let mut states: Vec<u8> = (pop.byzantine.iter())
        .map(|&b| if b { state::BYZANTINE } else { state::POLLING })
        .collect();
    let honest = states.iter().filter(|&&s| s == state::POLLING).count();
    let mut left = honest;
    // One entry per honest node at most: reserved once, not grown by doubling.
    outcomes.decided.reserve_exact(honest);
    outcomes.nodes.reserve_exact(honest);
    outcomes.finality.reserve_exact(honest);
    outcomes.polls.reserve_exact(honest);
    let (mut split, mut class_units) = (vec![0u64; choices], vec![0u64; choices]);
    for i in (0..n).filter(|&i| !pop.byzantine[i]) {
        split[usize::from(prev[i])] += 1;
        class_units[usize::from(prev[i])] += pop.sampler.units(i as u32);
    }
    let draw = Draw::new(pop)?;
    // An adversary only where there is a Byzantine node to play it; then blocks run in
    // order, on this thread.
    let mut adversary = scenario.byzantine.as_ref().filter(|_| honest < n).map(|b| {
        let rng = rng_for(scenario.seed, Purpose::Adversary);
        Adversary::new(b.strategy, b.target, choices, rng).with_share(pop.byzantine_stake)
    });
    let mut keys = rng_for(scenario.seed, Purpose::Lockstep);
    let blocks = n.div_ceil(BLOCK);
    // One output and scratch space per block of a batch, reused batch after batch (its
    // rows and counters are drained at the end of each).
    let mut outs: Vec<BlockOut> = (0..blocks.min(BATCH_BLOCKS))
        .map(|_| BlockOut::default())
        .collect();
    let trace_polls = trace.wants(Kind::Poll);
    let mut c = RoundCounters::default();
    'rounds: while left > 0 && c.rounds < scenario.max_rounds {
        c.rounds += 1;
        let mut key = [0u8; 32];
        keys.fill_bytes(&mut key);
        let round = Round {
            number: c.rounds,
            key,
            prev: &prev,
            split: &split,
            class_units: &class_units,
            draw: &draw,
            pop,
            k: scenario.params.k,
            self_sample: scenario.network.self_sample,
            trace_polls,
        };
        for first in (0..blocks).step_by(BATCH_BLOCKS) {
            let batch = first..blocks.min(first + BATCH_BLOCKS);
            let ids = first * BLOCK..n.min(batch.end * BLOCK);
            let nodes = |b: usize, d, nx, p, st| Nodes {
                first: (b * BLOCK) as u32,
                decisions: d,
                next: nx,
                polls: p,
                state: st,
            };
            let (d, nx) = (&mut decisions[ids.clone()], &mut next[ids.clone()]);
            let (p, st) = (&mut polls[ids.clone()], &mut states[ids]);
            let out = &mut outs[..batch.len()];
            // With an adversary the draws run on every core and its answers in node order
            // (see `block.rs`); then every block records, or polls in one pass.
            let answered = if let Some(adv) = adversary.as_mut() {
                (st.par_chunks(BLOCK), out.par_iter_mut())
                    .into_par_iter()
                    .enumerate()
                    .for_each(|(i, (st, out))| draw_block(&round, first + i, st, out));
                for (i, (d, out)) in d.chunks(BLOCK).zip(out.iter_mut()).enumerate() {
                    answer_block(&round, ((first + i) * BLOCK) as u32, d, adv, out);
                }
                true
            } else {
                false
            };
            let blocks = (
                d.par_chunks_mut(BLOCK),
                nx.par_chunks_mut(BLOCK),
                p.par_chunks_mut(BLOCK),
                st.par_chunks_mut(BLOCK),
                out.par_iter_mut(),
            );
            blocks
                .into_par_iter()
                .enumerate()
                .for_each(|(i, (d, nx, p, st, out))| {
                    let b = first + i;
                    if answered {
                        record_block(&round, nodes(b, d, nx, p, st), out);
                    } else {
                        poll_block(&round, b, nodes(b, d, nx, p, st), None, out);
                    }
                });
            for out in &mut outs[..batch.len()] {
                c.polls += out.polls;
                c.answers += out.answers;
                (out.polls, out.answers) = (0, 0);
                for row in out.rows.drain(..) {
                    match row {
                        Row::Poll {
                            node,
                            top,
                            count,
                            votes_in,
                        } => poll_row(trace, round.number, node, top as usize, count, votes_in)?,
                        Row::Decide {
                            node,
                            choice,
                            polls,
                        } => {
                            left -= 1;
                            decide_row(trace, round.number, node, choice)?;
                            outcomes.decided.push(choice);
                            outcomes.nodes.push(node);
                            outcomes.finality.push(round.number as f64);
                            outcomes.polls.push(f64::from(polls));
                        }
                    }
                }
            }
            let p = Progress {
                at: c.rounds,
                budget: scenario.max_rounds,
                done: honest - left,
                of: honest,
            };
            if !watch(p) {
                // Stopped mid-round: the nodes not yet polled keep their place.
                c.ended = End::Interrupted;
                break 'rounds;
            }
        }
        // The round is over: its preferences become what the next round reads.
        const LANE: usize = 64;
        for (lane, (p, q)) in prev.chunks_mut(LANE).zip(next.chunks(LANE)).enumerate() {
            if p == q {
                continue;
            }
            for (j, (a, b)) in p.iter().zip(q).enumerate() {
                if a != b {
                    let id = (lane * LANE + j) as u32;
                    debug_assert!(!pop.byzantine[id as usize], "a Byzantine node polled");
                    let units = pop.sampler.units(id);
                    split[usize::from(*a)] -= 1;
                    split[usize::from(*b)] += 1;
                    class_units[usize::from(*a)] -= units;
                    class_units[usize::from(*b)] += units;
                }
            }
            p.copy_from_slice(q);
        }
    }
    if c.ended != End::Interrupted {
        c.ended = if left == 0 {
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
    // Each decision depends on its node alone: built on every core, in node order.
    pop.initial.par_iter().map(new).collect()
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
    adversary: Option<&mut Adversary>,
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
    let byzantine = sample.iter().filter(|&(p, _)| pop.byzantine[p as usize]);
    let (votes, peers) = byzantine_answers(byzantine, adversary, me, mine, split, counts);
    votes_in += votes;
    answers += peers;
    let (top, count) = top((0u64..).zip(counts.iter().copied())).unwrap_or((0, 0));
    Tally {
        votes_in,
        answers,
        top: top as usize,
        count,
    }
}

/// Asks each Byzantine `(peer, slots)` in turn, through `adversary`, for its answer to `me`
/// (which prefers `mine`) and counts it into `counts` once per slot; returns the slots and
/// the peers that answered. Without an adversary the peers are silent.
pub(super) fn byzantine_answers(
    peers: impl Iterator<Item = (u32, u32)>,
    adversary: Option<&mut Adversary>,
    me: u32,
    mine: u32,
    split: &[u64],
    counts: &mut [u32],
) -> (u32, u32) {
    let Some(adv) = adversary else {
        return (0, 0);
    };
    let (mut votes, mut answered) = (0u32, 0u32);
    for (_, slots) in peers {
        let view = View {
            split,
            querier_preference: Some(mine),
            poll: Some(counts),
            slots,
        };
        if let Reply::Now(x) | Reply::AtDeadline(x) = adv.answer(me, &view) {
            counts[x as usize] += slots;
            votes += slots;
            answered += 1;
        }
    }
    (votes, answered)
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
