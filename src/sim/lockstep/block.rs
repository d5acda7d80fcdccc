//! One block of a lockstep round: the polls of up to [`BLOCK`] consecutive node ids, from
//! the block's own random stream.
//!
//! A block's stream is the round's key with the block's index as the ChaCha stream, so the
//! draws of a node depend on the seed, the round and the node's block only, never on which
//! thread runs the block or in what order blocks run: a round split across any number of
//! threads polls exactly as one thread does (`tests/lockstep_threads.rs`).
//!
//! A block polls in three phases: [`draw_block`] draws every poll (the honest votes, and
//! which Byzantine validators fill the other slots), [`answer_block`] asks the adversary for
//! the Byzantine answers, and [`record_block`] records each poll in its node's decision. The
//! adversary keeps state from poll to poll, so its phase runs over the blocks in order on
//! one thread; the other two depend on their block alone and run on every core. Each phase
//! reads only what the one-pass order would have shown it (the previous round's
//! preferences, a node's own decision before its poll), so the three give the same run.

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
    /// Each node's drawn poll: its votes per choice, then its votes in (`choices + 1` words
    /// a node of the block).
    tallies: Vec<u32>,
    /// The Byzantine slots drawn, in node order: (node's index in the block, slots one
    /// Byzantine validator fills).
    byzantine: Vec<(u32, u32)>,
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
/// `out`: the three phases of the module docs, in turn. Byzantine peers are asked through
/// `adversary` (none when the run has no Byzantine node).
pub(crate) fn poll_block(
    round: &Round,
    block: usize,
    nodes: Nodes,
    adversary: Option<&mut Adversary>,
    out: &mut BlockOut,
) {
    draw_block(round, block, nodes.state, out);
    if let Some(adversary) = adversary {
        answer_block(round, nodes.first, nodes.decisions, adversary, out);
    }
    record_block(round, nodes, out);
}

/// Phase one: draws the poll of every polling node of block `block` (`state` is the
/// block's slice): the honest votes by preference and the Byzantine slots, from the block's
/// own stream.
pub(crate) fn draw_block(round: &Round, block: usize, state: &[u8], out: &mut BlockOut) {
    debug_assert!(state.len() <= BLOCK);
    let first = (block * BLOCK) as u32;
    let choices = round.split.len();
    let stride = choices + 1;
    let mut rng = ChaCha8Rng::from_seed(round.key);
    rng.set_stream(block as u64);
    let BlockOut {
        tallies,
        byzantine,
        pool,
        drawn,
        sample,
        ..
    } = out;
    tallies.resize(state.len() * stride, 0);
    byzantine.clear();
    pool.resize(choices + 1, 0);
    drawn.resize(choices + 1, 0);
    for (j, tally) in tallies.chunks_exact_mut(stride).enumerate() {
        if state[j] != state::POLLING {
            continue;
        }
        let me = first + j as u32;
        let (counts, votes_in) = tally.split_at_mut(choices);
        votes_in[0] = match round.draw {
            Draw::Classes { byzantine: pool_of } => {
                // The honest units of each preference, the Byzantine units, and not
                // this node's own units unless it may sample itself.
                pool[..choices].copy_from_slice(round.class_units);
                pool[choices] = pool_of.as_ref().map_or(0, |b| b.units);
                if !round.self_sample {
                    pool[usize::from(round.prev[me as usize])] -= round.pop.sampler.units(me);
                }
                let eligible: u64 = pool.iter().sum();
                let want = (round.k as u64).min(eligible) as u32;
                drawn.iter_mut().for_each(|x| *x = 0);
                draw_by_class(&mut rng, want, pool, drawn);
                counts.copy_from_slice(&drawn[..choices]);
                if let (Some(b), true) = (pool_of, drawn[choices] > 0) {
                    // Which Byzantine validators hold the drawn units (their ids do not
                    // change their answers, only the slots each fills).
                    b.sampler
                        .sample(&mut rng, drawn[choices] as usize, None, sample);
                    byzantine.extend(sample.iter().map(|(_, slots)| (j as u32, slots)));
                }
                want - drawn[choices]
            }
            Draw::ByName => {
                let exclude = (!round.self_sample).then_some(me);
                round.pop.sampler.sample(&mut rng, round.k, exclude, sample);
                counts.iter_mut().for_each(|x| *x = 0);
                let mut votes_in = 0;
                for (peer, slots) in sample.iter() {
                    if round.pop.byzantine[peer as usize] {
                        byzantine.push((j as u32, slots));
                    } else {
                        counts[usize::from(round.prev[peer as usize])] += slots;
                        votes_in += slots;
                    }
                }
                votes_in
            }
        };
    }
}

/// Phase two: asks `adversary` for the answers of the Byzantine slots drawn in block
/// `first..` (whose decisions are `decisions`, not yet recorded this round), in node order,
/// and adds them to the polls' tallies.
pub(crate) fn answer_block(
    round: &Round,
    first: u32,
    decisions: &[Decision],
    adversary: &mut Adversary,
    out: &mut BlockOut,
) {
    let choices = round.split.len();
    let stride = choices + 1;
    let BlockOut {
        tallies, byzantine, ..
    } = out;
    for group in byzantine.chunk_by(|a, b| a.0 == b.0) {
        let j = group[0].0 as usize;
        let me = first + j as u32;
        let mine = decisions[j].preference() as u32;
        let (counts, votes_in) = tallies[j * stride..(j + 1) * stride].split_at_mut(choices);
        let peers = group.iter().map(|&(_, slots)| (me, slots));
        votes_in[0] += byzantine_answers(peers, Some(adversary), me, mine, round.split, counts).0;
    }
}

/// Phase three: records the poll drawn (and answered) for every polling node of `nodes`.
pub(crate) fn record_block(round: &Round, nodes: Nodes, out: &mut BlockOut) {
    debug_assert!(nodes.decisions.len() <= BLOCK);
    let stride = round.split.len() + 1;
    let BlockOut {
        polls,
        answers,
        rows,
        tallies,
        ..
    } = out;
    for (j, tally) in tallies.chunks_exact(stride).enumerate() {
        if nodes.state[j] != state::POLLING {
            continue;
        }
        let me = nodes.first + j as u32;
        let d = &mut nodes.decisions[j];
        let (counts, votes_in) = (&tally[..stride - 1], tally[stride - 1]);
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
