//! One block of a lockstep round: the polls of up to [`BLOCK`] consecutive node ids, from
//! the block's own random stream.
//!
//! A block's stream is the round's key with the block's index as the ChaCha stream, so the
//! draws of a node depend on the seed, the round and the node's block only, never on which
//! thread runs the block or in what order blocks run: a round split across any number of
//! threads polls exactly as one thread does (`tests/lockstep_threads.rs`).

use super::{byzantine_answers, Draw};
use crate::node::{draw_by_class, top, Adversary, Sample};
use crate::sim::population::Population;
use crate::Decision;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Node ids per block (and per random stream).
pub(crate) const BLOCK: usize = 1024;

/// A node's place in the run.
pub(crate) mod state {
    /// Polls every round.
    pub const POLLING: u8 = 0;
    /// Byzantine: answers, never polls.
    pub const BYZANTINE: u8 = 1;
    /// Finalized: stopped polling.
    pub const FINAL: u8 = 2;
}

/// What every block of one round reads.
pub(crate) struct Round<'a> {
    /// The round's number, from 1.
    pub number: u64,
    /// The round's key: each block's stream is this key with the block index as stream.
    pub key: [u8; 32],
    /// Every node's preference as of the previous round.
    pub prev: &'a [u8],
    /// Honest nodes preferring each choice, as of the previous round (the adversary's view).
    pub split: &'a [u64],
    /// Honest stake units preferring each choice, as of the previous round.
    pub class_units: &'a [u64],
    /// How polls are drawn.
    pub draw: &'a Draw,
    /// The nodes.
    pub pop: &'a Population,
    /// Slots a poll fills.
    pub k: usize,
    /// Whether a node may sample itself.
    pub self_sample: bool,
    /// Whether the trace wants a row per poll.
    pub trace_polls: bool,
}

/// A trace row of a block, in node order.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Row {
    /// A poll of `node`: the top choice, its votes, and the votes in.
    Poll {
        node: u32,
        top: u32,
        count: u32,
        votes_in: u32,
    },
    /// `node` finalized `choice` after `polls` polls.
    Decide { node: u32, choice: u32, polls: u32 },
}

/// What a block did in one batch, and its scratch space (kept between rounds so that the
/// polls never allocate).
#[derive(Debug, Default)]
pub(crate) struct BlockOut {
    /// Polls recorded.
    pub polls: u64,
    /// Answered slots.
    pub answers: u64,
    /// Trace rows, in node order.
    pub rows: Vec<Row>,
    counts: Vec<u32>,
    pool: Vec<u64>,
    drawn: Vec<u32>,
    sample: Sample,
}

/// The per-node state of one block, as slices of the run's arrays.
pub(crate) struct Nodes<'a> {
    /// The block's first node id.
    pub first: u32,
    /// The nodes' decisions.
    pub decisions: &'a mut [Decision],
    /// Their preferences after this round.
    pub next: &'a mut [u8],
    /// Polls each has made.
    pub polls: &'a mut [u32],
    /// Each one's [`state`].
    pub state: &'a mut [u8],
}

/// Polls every polling node of `nodes` once (block `block` of `round`), in id order, into
/// `out`; Byzantine peers are asked through `adversary` (none when the run has no
/// Byzantine node).
pub(crate) fn poll_block(
    round: &Round,
    block: usize,
    nodes: Nodes,
    mut adversary: Option<&mut Adversary>,
    out: &mut BlockOut,
) {
    debug_assert!(nodes.decisions.len() <= BLOCK);
    debug_assert_eq!(nodes.first as usize, block * BLOCK);
    let choices = round.split.len();
    let mut rng = ChaCha8Rng::from_seed(round.key);
    rng.set_stream(block as u64);
    let BlockOut {
        polls,
        answers,
        rows,
        counts,
        pool,
        drawn,
        sample,
    } = out;
    counts.resize(choices, 0);
    pool.resize(choices + 1, 0);
    drawn.resize(choices + 1, 0);
    for j in 0..nodes.decisions.len() {
        if nodes.state[j] != state::POLLING {
            continue;
        }
        let me = nodes.first + j as u32;
        let d = &mut nodes.decisions[j];
        let mine = d.preference() as u32;
        let votes_in = match round.draw {
            Draw::Classes { byzantine } => {
                // The honest units of each preference, the Byzantine units, and not
                // this node's own units unless it may sample itself.
                pool[..choices].copy_from_slice(round.class_units);
                pool[choices] = byzantine.as_ref().map_or(0, |b| b.units);
                if !round.self_sample {
                    pool[usize::from(round.prev[me as usize])] -= round.pop.sampler.units(me);
                }
                let eligible: u64 = pool.iter().sum();
                let want = (round.k as u64).min(eligible) as u32;
                drawn.iter_mut().for_each(|x| *x = 0);
                draw_by_class(&mut rng, want, pool, drawn);
                counts.copy_from_slice(&drawn[..choices]);
                let mut votes_in = want - drawn[choices];
                if let (Some(b), true) = (byzantine, drawn[choices] > 0) {
                    b.sampler
                        .sample(&mut rng, drawn[choices] as usize, None, sample);
                    let peers = sample.iter().map(|(i, slots)| (b.ids[i as usize], slots));
                    let split = round.split;
                    votes_in +=
                        byzantine_answers(peers, adversary.as_deref_mut(), me, mine, split, counts)
                            .0;
                }
                votes_in
            }
            Draw::ByName => {
                let exclude = (!round.self_sample).then_some(me);
                round.pop.sampler.sample(&mut rng, round.k, exclude, sample);
                counts.iter_mut().for_each(|x| *x = 0);
                let mut votes_in = 0;
                for (peer, slots) in sample.iter() {
                    if !round.pop.byzantine[peer as usize] {
                        counts[usize::from(round.prev[peer as usize])] += slots;
                        votes_in += slots;
                    }
                }
                let byz = sample
                    .iter()
                    .filter(|&(peer, _)| round.pop.byzantine[peer as usize]);
                votes_in +=
                    byzantine_answers(byz, adversary.as_deref_mut(), me, mine, round.split, counts)
                        .0;
                votes_in
            }
        };
        d.record_counts(counts);
        *polls += 1;
        *answers += u64::from(votes_in);
        nodes.polls[j] += 1;
        nodes.next[j] = d.preference() as u8;
        if round.trace_polls {
            let (top, count) = top((0u64..).zip(counts.iter().copied())).unwrap_or((0, 0));
            rows.push(Row::Poll {
                node: me,
                top: top as u32,
                count,
                votes_in,
            });
        }
        if d.finalized() {
            nodes.state[j] = state::FINAL;
            rows.push(Row::Decide {
                node: me,
                choice: d.preference() as u32,
                polls: nodes.polls[j],
            });
        }
    }
}
