//! One validator's poll protocol as a sans-I/O state machine: (now, input) in, outputs out.
//!
//! A node keeps up to `concurrent_polls` polls outstanding. Each poll fills k slots by the
//! sampler's [`Sampling`](super::Sampling) (k stake units, as avalanchego, or k distinct
//! validators), queries each sampled validator once, counts its answer once per slot it
//! fills, and is recorded in the node's [`Decision`] when every sampled validator has
//! answered or its timeout fires (missing answers count for nothing). Answers carry the answerer's current preference. A finalized node stops polling
//! but keeps answering. The node knows nothing of the transport: the simulator and a socket
//! bridge both drive it through [`Node::handle`].

use super::{top, NoCommand, NodeId, Sample, StakeSampler, Validator};
use crate::{ConsensusParams, Decision, Protocol, Shape};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// What nodes say to each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message {
    /// "What do you prefer?" for poll `request`; answers after `deadline` are useless.
    Query {
        /// The querier's request id.
        request: u32,
        /// The querier's poll timeout, in its clock.
        deadline: u64,
    },
    /// The answer to query `request`: the answerer's preferred choice.
    Answer {
        /// The request id of the query.
        request: u32,
        /// The answerer's preference.
        choice: u32,
    },
}

/// Timers a node asks its driver for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// Poll `request` times out.
    PollTimeout {
        /// The poll's request id.
        request: u32,
    },
}

/// What a one-decision node reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    /// The node finalized `choice`; reported once.
    Decided {
        /// The final choice.
        choice: u32,
    },
}

/// What drives a node.
pub type Input = super::Input<Message, Timer, NoCommand>;
/// What a node asks its driver to do, or reports.
pub type Output = super::Output<Message, Timer, Report>;

/// The settings of one node.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// This node's id.
    pub id: NodeId,
    /// Engine parameters.
    pub params: ConsensusParams,
    /// Which single-decision protocol runs.
    pub protocol: Protocol,
    /// Whether the decision is a tree (avalanchego's) or one flat instance.
    pub shape: Shape,
    /// Number of choices.
    pub choices: usize,
    /// The initial preference.
    pub initial: usize,
    /// Poll timeout, in nanoseconds.
    pub poll_timeout: u64,
    /// Whether the node may sample itself.
    pub self_sample: bool,
    /// Seed of the node's sampling generator.
    pub seed: u64,
}

/// The outstanding polls of a node, flat in one buffer so that an answer touches one place.
///
/// Slot `s` occupies `stride` words from `s * stride`: request id, live flag, votes in (an
/// answer counts once per slot its answerer fills), peers sampled, slots filled, the
/// sampled ids (k), the slots each fills (k), the vote counts (one per choice) and a bitset
/// of who answered. A request id is `counter * slots + s`, so an answer finds its slot at once.
#[derive(Debug, Clone)]
struct Polls {
    k: usize,
    choices: usize,
    slots: usize,
    stride: usize,
    live: usize,
    data: Box<[u32]>,
}

std::thread_local! {
    /// Scratch for sampling a poll, one per thread (not one per node: a million nodes would
    /// hold 250 MB of it), so that starting a poll does not allocate once it has grown.
    static SAMPLE: std::cell::RefCell<Sample> = std::cell::RefCell::new(Sample::default());
}

const REQUEST: usize = 0;
const LIVE: usize = 1;
const ANSWERS: usize = 2;
const SAMPLED: usize = 3;
const SLOTS: usize = 4;
const IDS: usize = 5;

impl Polls {
    fn new(slots: usize, k: usize, choices: usize) -> Self {
        let stride = IDS + 2 * k + choices + k.div_ceil(32);
        Polls {
            k,
            choices,
            slots,
            stride,
            live: 0,
            data: vec![0; slots * stride].into_boxed_slice(),
        }
    }

    #[inline]
    fn slot(&self, s: usize) -> &[u32] {
        &self.data[s * self.stride..(s + 1) * self.stride]
    }

    #[inline]
    fn slot_mut(&mut self, s: usize) -> &mut [u32] {
        &mut self.data[s * self.stride..(s + 1) * self.stride]
    }

    /// The slot holding live poll `request`.
    #[inline]
    fn find(&self, request: u32) -> Option<usize> {
        let s = request as usize % self.slots;
        let slot = self.slot(s);
        (slot[LIVE] == 1 && slot[REQUEST] == request).then_some(s)
    }

    fn free_slot(&self) -> Option<usize> {
        (0..self.slots).find(|&s| self.slot(s)[LIVE] == 0)
    }

    fn clear(&mut self) {
        for s in 0..self.slots {
            self.slot_mut(s)[LIVE] = 0;
        }
        self.live = 0;
    }

    /// Opens slot `s` for poll `request` on `sample`.
    fn open(&mut self, s: usize, request: u32, sample: &Sample) {
        let k = self.k;
        let slot = self.slot_mut(s);
        slot.fill(0);
        slot[REQUEST] = request;
        slot[LIVE] = 1;
        slot[SAMPLED] = sample.len() as u32;
        slot[SLOTS] = sample.slots();
        slot[IDS..IDS + sample.len()].copy_from_slice(sample.ids());
        slot[IDS + k..IDS + k + sample.len()].copy_from_slice(sample.counts());
        self.live += 1;
    }

    /// Counts an answer, once per slot its answerer fills; returns whether every sampled
    /// node has answered.
    #[inline]
    fn answer(&mut self, s: usize, from: NodeId, choice: u32) -> bool {
        let (k, choices) = (self.k, self.choices);
        let slot = self.slot_mut(s);
        let n = slot[SAMPLED] as usize;
        let Some(pos) = slot[IDS..IDS + n].iter().position(|&id| id == from) else {
            return false;
        };
        let bits = IDS + 2 * k + choices + pos / 32;
        let bit = 1u32 << (pos % 32);
        if slot[bits] & bit != 0 || choice as usize >= choices {
            return false;
        }
        slot[bits] |= bit;
        let weight = slot[IDS + k + pos];
        slot[IDS + 2 * k + choice as usize] += weight;
        slot[ANSWERS] += weight;
        slot[ANSWERS] >= slot[SLOTS]
    }

    /// The votes of slot `s`, one count a choice (still there after [`Polls::close`]).
    #[inline]
    fn votes(&self, s: usize) -> &[u32] {
        let at = IDS + 2 * self.k;
        &self.slot(s)[at..at + self.choices]
    }

    /// Closes slot `s`: its top choice (ties: smallest id), that choice's votes, the answers.
    fn close(&mut self, s: usize) -> (u32, u32, u32, u32) {
        let k = self.k;
        let choices = self.choices;
        self.live -= 1;
        let slot = self.slot_mut(s);
        slot[LIVE] = 0;
        let votes = slot[IDS + 2 * k..IDS + 2 * k + choices].iter().copied();
        let (choice, count) = top((0u64..).zip(votes)).unwrap_or((0, 0));
        // Votes in never outnumber the slots filled; a choice's votes never outnumber them.
        debug_assert!(
            slot[ANSWERS] <= slot[SLOTS] && slot[SLOTS] as usize <= k,
            "more votes than slots sampled"
        );
        debug_assert!(count <= slot[ANSWERS], "more votes than answers");
        (slot[REQUEST], choice as u32, count, slot[ANSWERS])
    }
}

/// One honest validator.
#[derive(Debug, Clone)]
pub struct Node {
    id: NodeId,
    poll_timeout: u64,
    self_sample: bool,
    decision: Decision,
    polls: Polls,
    /// Boxed: it is large and only polls that start use it.
    rng: Box<ChaCha8Rng>,
    next_request: u32,
    polls_recorded: u32,
    decided_at: Option<u64>,
}

impl Node {
    /// A node in its initial state; nothing happens until [`Input::Start`].
    pub fn new(cfg: &NodeConfig) -> Self {
        Node {
            id: cfg.id,
            poll_timeout: cfg.poll_timeout,
            self_sample: cfg.self_sample,
            decision: Decision::new(
                cfg.protocol,
                cfg.shape,
                &cfg.params,
                cfg.choices,
                cfg.initial,
            ),
            polls: Polls::new(cfg.params.concurrent_polls, cfg.params.k, cfg.choices),
            rng: Box::new(ChaCha8Rng::seed_from_u64(cfg.seed)),
            next_request: 0,
            polls_recorded: 0,
            decided_at: None,
        }
    }

    /// The current preference.
    #[inline]
    pub fn preference(&self) -> usize {
        self.decision.preference()
    }

    /// Whether the decision is final.
    #[inline]
    pub fn finalized(&self) -> bool {
        self.decision.finalized()
    }

    /// When the node finalized, in the driver's clock.
    pub fn decided_at(&self) -> Option<u64> {
        self.decided_at
    }

    /// The peers of live poll `request` and the slots each fills (what an informed
    /// adversary of the simulator may know of a poll in flight).
    pub fn poll_sample(&self, request: u32) -> Option<(&[NodeId], &[u32])> {
        let s = self.polls.find(request)?;
        let (k, slot) = (self.polls.k, self.polls.slot(s));
        let n = slot[SAMPLED] as usize;
        Some((&slot[IDS..IDS + n], &slot[IDS + k..IDS + k + n]))
    }

    /// Polls outstanding now.
    pub fn outstanding_polls(&self) -> usize {
        self.polls.live
    }

    /// The answer an honest node preferring `preference` gives to query `request`.
    ///
    /// A driver that knows a node's preference at the time a query reaches it (the simulator
    /// keeps each node's preference history) may compute the answer with this directly.
    #[inline]
    pub fn answer(request: u32, preference: usize) -> Message {
        Message::Answer {
            request,
            choice: preference as u32,
        }
    }

    /// Handles one input at time `now`, appending what the driver must do to `out`.
    #[inline]
    fn handle_input(
        &mut self,
        now: u64,
        input: Input,
        sampler: &StakeSampler,
        out: &mut Vec<Output>,
    ) {
        match input {
            Input::Message {
                from,
                msg: Message::Query { request, .. },
            } => out.push(Output::Send {
                to: from,
                msg: Node::answer(request, self.preference()),
            }),
            Input::Message {
                from,
                msg: Message::Answer { request, choice },
            } => {
                if let Some(s) = self.polls.find(request) {
                    if self.polls.answer(s, from, choice) {
                        self.finish_poll(now, s, sampler, out);
                    }
                }
            }
            Input::Timer(Timer::PollTimeout { request }) => {
                if let Some(s) = self.polls.find(request) {
                    self.finish_poll(now, s, sampler, out);
                }
            }
            Input::Start => {
                self.polls.clear();
                self.fill_polls(now, sampler, out);
            }
            Input::Command(never) => match never {},
        }
    }

    /// Handles the answers `(from, choice)` to poll `request` that reach the node together
    /// at `now`, in order: the same as handing each to [`Node::handle`] in turn (an answer
    /// after the one that completes the poll finds it closed and counts for nothing), in one
    /// call.
    pub fn handle_answers(
        &mut self,
        now: u64,
        request: u32,
        answers: &[(NodeId, u32)],
        sampler: &StakeSampler,
        out: &mut Vec<Output>,
    ) {
        let Some(s) = self.polls.find(request) else {
            return;
        };
        for &(from, choice) in answers {
            if self.polls.answer(s, from, choice) {
                self.finish_poll(now, s, sampler, out);
                return;
            }
        }
    }

    fn finish_poll(&mut self, now: u64, s: usize, sampler: &StakeSampler, out: &mut Vec<Output>) {
        let (request, choice, count, answers) = self.polls.close(s);
        self.decision.record_counts(self.polls.votes(s));
        self.polls_recorded += 1;
        out.push(Output::PollRecorded {
            request,
            top: u64::from(choice),
            count,
            answers,
        });
        if self.decision.finalized() {
            if self.decided_at.is_none() {
                self.decided_at = Some(now);
                out.push(Output::Report(Report::Decided {
                    choice: self.decision.preference() as u32,
                }));
            }
            self.polls.clear();
            return;
        }
        self.fill_polls(now, sampler, out);
    }

    fn fill_polls(&mut self, now: u64, sampler: &StakeSampler, out: &mut Vec<Output>) {
        if self.decision.finalized() {
            return;
        }
        let (slots, k) = (self.polls.slots as u32, self.polls.k);
        let exclude = (!self.self_sample).then_some(self.id);
        let deadline = now.saturating_add(self.poll_timeout);
        while let Some(s) = self.polls.free_slot() {
            let request = self.next_request.wrapping_mul(slots).wrapping_add(s as u32);
            self.next_request = self.next_request.wrapping_add(1) % (u32::MAX / slots);
            SAMPLE.with_borrow_mut(|sampled| {
                sampler.sample(&mut *self.rng, k, exclude, sampled);
                self.polls.open(s, request, sampled);
                out.push(Output::PollOpened {
                    request,
                    deadline,
                    peers: sampled.len() as u32,
                });
                for &to in sampled.ids() {
                    out.push(Output::Send {
                        to,
                        msg: Message::Query { request, deadline },
                    });
                }
            });
            out.push(Output::SetTimer {
                at: deadline,
                timer: Timer::PollTimeout { request },
            });
        }
    }
}

impl Validator for Node {
    type Message = Message;
    type Timer = Timer;
    type Command = NoCommand;
    type Report = Report;

    fn id(&self) -> NodeId {
        self.id
    }

    #[inline]
    fn handle(&mut self, now: u64, input: Input, sampler: &StakeSampler, out: &mut Vec<Output>) {
        self.handle_input(now, input, sampler, out);
    }

    fn polls_recorded(&self) -> u32 {
        self.polls_recorded
    }
}

#[cfg(test)]
mod tests;
