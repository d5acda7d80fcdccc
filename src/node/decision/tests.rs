//! Tests of the one-decision node: polls, answers, timeouts, stake-unit slots and batches.

use super::*;

fn config(id: NodeId, params: ConsensusParams) -> NodeConfig {
    NodeConfig {
        id,
        params,
        protocol: Protocol::Snowball,
        shape: Shape::Tree,
        choices: 2,
        initial: 0,
        poll_timeout: 1_000,
        self_sample: false,
        seed: 7,
    }
}

fn local() -> ConsensusParams {
    ConsensusParams::preset("local").unwrap()
}

fn queries(out: &[Output]) -> Vec<(NodeId, u32)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send {
                to,
                msg: Message::Query { request, .. },
            } => Some((*to, *request)),
            _ => None,
        })
        .collect()
}

#[test]
fn start_opens_concurrent_polls_of_k_distinct_peers_without_self() {
    let sampler = StakeSampler::validators(&[1.0; 10]).unwrap();
    let mut n = Node::new(&config(3, local()));
    let mut out = Vec::new();
    n.handle(0, Input::Start, &sampler, &mut out);
    let q = queries(&out);
    assert_eq!(q.len(), 2 * 3, "concurrent_polls (2) x k (3)");
    assert!(q.iter().all(|&(to, _)| to != 3));
    let mut requests: Vec<u32> = q.iter().map(|x| x.1).collect();
    requests.dedup();
    assert_eq!(requests.len(), 2, "two polls, two request ids");
    for r in requests {
        let mut peers: Vec<_> = q.iter().filter(|x| x.1 == r).map(|x| x.0).collect();
        peers.sort_unstable();
        peers.dedup();
        assert_eq!(peers.len(), 3);
    }
    assert_eq!(n.outstanding_polls(), 2);
}

#[test]
fn answers_complete_a_poll_and_beta_polls_decide() {
    let sampler = StakeSampler::validators(&[1.0; 10]).unwrap();
    let mut n = Node::new(&config(0, local()));
    let mut out = Vec::new();
    n.handle(0, Input::Start, &sampler, &mut out);
    let mut decided = None;
    for round in 0..10 {
        let q = queries(&out);
        out.clear();
        for (to, request) in q {
            let msg = Message::Answer { request, choice: 1 };
            n.handle(round, Input::Message { from: to, msg }, &sampler, &mut out);
        }
        if let Some(Output::Report(Report::Decided { choice })) = out
            .iter()
            .find(|o| matches!(o, Output::Report(Report::Decided { .. })))
        {
            decided = Some(*choice);
            break;
        }
    }
    assert_eq!(decided, Some(1));
    assert!(n.finalized());
    assert_eq!(n.polls_recorded(), 2, "beta = 2");
    assert_eq!(n.outstanding_polls(), 0, "a final node stops polling");
    out.clear();
    let q = Message::Query {
        request: 9,
        deadline: 0,
    };
    n.handle(5, Input::Message { from: 4, msg: q }, &sampler, &mut out);
    assert_eq!(
        out,
        vec![Output::Send {
            to: 4,
            msg: Message::Answer {
                request: 9,
                choice: 1
            }
        }]
    );
}

/// Node 0 with one concurrent poll (local parameters), started: its outputs so far.
fn started_with_one_poll(sampler: &StakeSampler) -> (Node, Vec<Output>) {
    let params = ConsensusParams {
        concurrent_polls: 1,
        ..local()
    };
    let mut n = Node::new(&config(0, params));
    let mut out = Vec::new();
    n.handle(0, Input::Start, sampler, &mut out);
    (n, out)
}

#[test]
fn timeout_records_a_short_poll_and_strangers_are_ignored() {
    let sampler = StakeSampler::validators(&[1.0; 10]).unwrap();
    let (mut n, mut out) = started_with_one_poll(&sampler);
    let q = queries(&out);
    out.clear();
    let stranger = (0..10)
        .find(|i| !q.iter().any(|x| x.0 == *i) && *i != 0)
        .unwrap();
    let answer = Message::Answer {
        request: 0,
        choice: 1,
    };
    // A stranger's answer, then one peer's answer twice: it counts once.
    for from in [stranger, q[0].0, q[0].0] {
        let msg = Input::Message { from, msg: answer };
        n.handle(1, msg, &sampler, &mut out);
    }
    assert!(out.is_empty(), "no poll finished yet");
    n.handle(
        1_000,
        Input::Timer(Timer::PollTimeout { request: 0 }),
        &sampler,
        &mut out,
    );
    assert_eq!(
        out[0],
        Output::PollRecorded {
            request: 0,
            top: 1,
            count: 1,
            answers: 1
        }
    );
    assert_eq!(n.preference(), 0, "1 vote < alpha 2");
    assert_eq!(n.outstanding_polls(), 1, "the next poll began");
}

#[test]
fn a_validator_filling_several_slots_is_asked_once_and_counted_for_each() {
    // Node 1 holds 1,000 of 1,002 units: it fills nearly every slot of a poll of k = 3
    // (local: alpha 2), is queried once, and its one answer carries the poll.
    let sampler = StakeSampler::stake_units(&[1.0, 1000.0, 1.0, 1.0], 1.0).unwrap();
    let (mut n, mut out) = started_with_one_poll(&sampler);
    let q = queries(&out);
    let peers = match out[0] {
        Output::PollOpened { peers, .. } => peers as usize,
        ref o => panic!("{o:?}"),
    };
    assert_eq!(peers, q.len());
    assert!(q.len() < 3, "node 1 fills more than one slot: {q:?}");
    let request = q[0].1;
    out.clear();
    let msg = Message::Answer { request, choice: 1 };
    n.handle(1, Input::Message { from: 1, msg }, &sampler, &mut out);
    let others: Vec<NodeId> = q.iter().map(|x| x.0).filter(|&p| p != 1).collect();
    for &from in &others {
        let msg = Message::Answer { request, choice: 0 };
        n.handle(1, Input::Message { from, msg }, &sampler, &mut out);
    }
    let recorded = out.iter().find_map(|o| match *o {
        Output::PollRecorded {
            top,
            count,
            answers,
            ..
        } => Some((top, count, answers)),
        _ => None,
    });
    let ones = 3 - others.len() as u32;
    assert_eq!(
        recorded,
        Some((1, ones, 3)),
        "node 1's answer counts {ones} times"
    );
    assert_eq!(n.preference(), 1, "{ones} votes >= alpha 2");
}

/// A batch of answers handed over at once gives the node exactly what handing them over
/// one by one gives: the same outputs, preference, polls and finality, whether the batch
/// completes its poll (strangers, repeats and answers after the completing one included)
/// or leaves it to its timeout.
#[test]
fn a_batch_of_answers_is_the_same_as_answers_one_by_one() {
    // Six validators, k = 3: the next poll often samples a peer that answered the last
    // one, so an answer counted past its poll's completion would show.
    let sampler = StakeSampler::validators(&[1.0; 6]).unwrap();
    let params = ConsensusParams { beta: 5, ..local() };
    let mut one = Node::new(&config(0, params));
    let mut batch = one.clone();
    let (mut out_one, mut out_batch) = (Vec::new(), Vec::new());
    one.handle(0, Input::Start, &sampler, &mut out_one);
    batch.handle(0, Input::Start, &sampler, &mut out_batch);
    assert_eq!(out_one, out_batch);
    for round in 1..60u64 {
        let q = queries(&out_one);
        out_one.clear();
        out_batch.clear();
        let mut requests: Vec<u32> = q.iter().map(|x| x.1).collect();
        requests.dedup();
        for (i, &request) in requests.iter().enumerate() {
            let peers: Vec<NodeId> = q.iter().filter(|x| x.1 == request).map(|x| x.0).collect();
            let mut answers = vec![(9, 1)]; // a stranger: not a validator
            answers.extend(
                peers
                    .iter()
                    .map(|&p| (p, u32::from((u64::from(p) + round) % 7 != 0))),
            );
            answers.insert(2, answers[1]); // a repeat counts once
            answers.push((peers[0], 1 - answers[1].1)); // after the poll completed
            if (round + i as u64).is_multiple_of(3) {
                answers.retain(|&(p, _)| p != peers[1]); // incomplete: the timer closes it
            }
            let answers: Vec<_> = answers.into_iter().filter(|a| a.0 != 0).collect();
            for &(from, choice) in &answers {
                let msg = Message::Answer { request, choice };
                one.handle(round, Input::Message { from, msg }, &sampler, &mut out_one);
            }
            batch.handle_answers(round, request, &answers, &sampler, &mut out_batch);
            assert_eq!(out_one, out_batch, "round {round}, request {request}");
            let timeout = || Input::Timer(Timer::PollTimeout { request });
            one.handle(round, timeout(), &sampler, &mut out_one);
            batch.handle(round, timeout(), &sampler, &mut out_batch);
            assert_eq!(out_one, out_batch);
        }
        assert_eq!(one.preference(), batch.preference());
        assert_eq!(one.polls_recorded(), batch.polls_recorded());
        assert_eq!(one.outstanding_polls(), batch.outstanding_polls());
        assert_eq!(one.decided_at(), batch.decided_at());
    }
    assert!(
        one.finalized(),
        "the test reaches finality: {} polls, prefers {}",
        one.polls_recorded(),
        one.preference()
    );
}
