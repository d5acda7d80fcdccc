//! Ledger nodes wired together by a lossless, instant, first-in first-out network.

use super::*;
use crate::ConsensusParams;

/// A network of honest ledger nodes; messages are delivered in the order sent.
struct Net {
    nodes: Vec<LedgerNode>,
    sampler: StakeSampler,
    queue: std::collections::VecDeque<(NodeId, NodeId, Message)>,
    /// Nodes that receive nothing (a crude cut).
    deaf: Vec<bool>,
    accepted: Vec<Vec<u64>>,
    txs: Vec<Vec<(u64, Status)>>,
    now: u64,
}

fn params() -> ConsensusParams {
    ConsensusParams::preset("local").unwrap() // k 3, alpha 2/2, beta 2
}

impl Net {
    fn new(n: usize, kind: LedgerKind) -> Net {
        let nodes = (0..n as NodeId)
            .map(|id| {
                LedgerNode::new(&LedgerConfig {
                    id,
                    params: params(),
                    kind,
                    block_protocol: crate::Protocol::Snowflake,
                    poll_timeout: 1_000,
                    self_sample: false,
                    seed: u64::from(id) + 1,
                    max_parents: 2,
                })
            })
            .collect();
        Net {
            nodes,
            sampler: StakeSampler::validators(&vec![1.0; n]).unwrap(),
            queue: Default::default(),
            deaf: vec![false; n],
            accepted: vec![Vec::new(); n],
            txs: vec![Vec::new(); n],
            now: 0,
        }
    }

    fn input(&mut self, id: NodeId, input: Input) {
        let mut out = Vec::new();
        self.nodes[id as usize].handle(self.now, input, &self.sampler, &mut out);
        for o in out {
            match o {
                Output::Send { to, msg } => self.queue.push_back((to, id, msg)),
                Output::Broadcast { msg } => {
                    for to in 0..self.nodes.len() as NodeId {
                        if to != id {
                            self.queue.push_back((to, id, msg.clone()));
                        }
                    }
                }
                Output::Report(Report::Accepted { id: b, .. }) => {
                    self.accepted[id as usize].push(b)
                }
                Output::Report(Report::TxAccepted { tx, .. }) => {
                    self.txs[id as usize].push((tx, Status::Accepted))
                }
                Output::Report(Report::TxRejected { tx, .. }) => {
                    self.txs[id as usize].push((tx, Status::Rejected))
                }
                _ => {}
            }
        }
    }

    /// Delivers until nothing is left (at most `limit` messages).
    fn run(&mut self, limit: usize) {
        for _ in 0..limit {
            let Some((to, from, msg)) = self.queue.pop_front() else {
                return;
            };
            self.now += 1;
            if !self.deaf[to as usize] {
                self.input(to, Input::Message { from, msg });
            }
        }
    }

    fn propose(&mut self, id: NodeId, item: u64, txs: Vec<(u64, u64)>, anchored: bool) {
        let input = Input::Command(Command::Propose {
            id: item,
            txs,
            anchored,
        });
        self.input(id, input);
    }
}

#[test]
fn ids_keep_the_oldest_and_the_newest() {
    assert_eq!(Ids::one(7).as_slice(), [7]);
    let ten: Vec<u64> = (1..=10).collect();
    let ids = Ids::oldest_and_newest(&ten);
    assert_eq!(ids.as_slice(), [1, 2, 3, 4, 5, 6, 7, 10]);
    assert_eq!(Ids::oldest_and_newest(&[1, 2]).as_slice(), [1, 2]);
    assert_eq!(Ids::from_slice(&[4, 5, 6]).as_slice(), [4, 5, 6]);
    assert!(Ids::oldest_and_newest(&[]).is_empty() && Ids::default().is_empty());
    let mut buf = IdsBuf::default();
    assert!((0..MAX_IDS as u64).all(|i| buf.push(i)) && !buf.push(99));
    assert_eq!(buf.freeze().as_slice().len(), MAX_IDS);
    assert!(std::mem::size_of::<Message>() <= 40, "messages stay small");
}

#[test]
fn a_proposed_chain_is_accepted_in_order_everywhere() {
    let mut net = Net::new(8, LedgerKind::Chain);
    for h in 1..=5u64 {
        net.propose((h % 8) as NodeId, 100 + h, Vec::new(), false);
        net.run(100_000);
    }
    for (i, n) in net.nodes.iter().enumerate() {
        assert_eq!(n.accepted_chain(), [101, 102, 103, 104, 105], "node {i}");
        assert_eq!(net.accepted[i], [101, 102, 103, 104, 105], "node {i}");
        assert_eq!(n.accepted_height(), 5);
        assert!(!n.has_processing() && n.outstanding_polls() == 0);
    }
}

#[test]
fn a_node_that_missed_blocks_fetches_them_and_catches_up() {
    let mut net = Net::new(8, LedgerKind::Chain);
    net.deaf[3] = true;
    for h in 1..=3u64 {
        net.propose(0, h, Vec::new(), false);
        net.run(100_000);
    }
    assert_eq!(net.nodes[3].accepted_height(), 0);
    net.deaf[3] = false;
    net.propose(0, 4, Vec::new(), false);
    net.run(100_000);
    assert_eq!(net.nodes[3].accepted_chain(), [1, 2, 3, 4]);
    assert_eq!(net.nodes[3].parked(), 0);
}

#[test]
fn a_get_is_answered_with_ancestors_above_the_askers_height() {
    let mut net = Net::new(4, LedgerKind::Chain);
    for h in 1..=4u64 {
        net.propose(0, h, Vec::new(), false);
        net.run(100_000);
    }
    let mut out = Vec::new();
    let get = Message::Get { id: 4, above: 1 };
    let input = Input::Message { from: 2, msg: get };
    net.nodes[0].handle(0, input, &net.sampler, &mut out);
    let puts: Vec<u64> = out
        .iter()
        .filter_map(|o| match o {
            Output::Send {
                to: 2,
                msg: Message::Put(item),
            } => Some(item.id()),
            _ => None,
        })
        .collect();
    assert_eq!(puts, [4, 3, 2]);
}

#[test]
fn dag_accepts_vertices_and_one_of_a_double_spend() {
    let mut net = Net::new(8, LedgerKind::Dag);
    net.propose(0, 1, vec![(10, 10), (11, 11)], false);
    net.run(100_000);
    net.propose(1, 2, vec![(20, 99)], true);
    net.propose(2, 3, vec![(21, 99)], true);
    net.run(100_000);
    net.propose(3, 4, vec![(30, 30)], false);
    net.run(100_000);
    let winner = net.nodes[0].tx_status(20);
    for (i, n) in net.nodes.iter().enumerate() {
        for tx in [10, 11, 30] {
            assert_eq!(n.tx_status(tx), Some(Status::Accepted), "node {i} tx {tx}");
        }
        let pair = [n.tx_status(20), n.tx_status(21)];
        assert!(pair.contains(&Some(Status::Accepted)), "node {i}: {pair:?}");
        assert!(pair.contains(&Some(Status::Rejected)), "node {i}: {pair:?}");
        assert_eq!(n.tx_status(20), winner, "node {i} agrees");
        assert_eq!(n.decided_txs(), 5);
    }
    let Some(Item::Vertex(v)) = net.nodes[3].item(4) else {
        panic!("vertex 4")
    };
    assert!(
        !v.parents.contains(&2) && !v.parents.contains(&3) || v.parents.len() == 1,
        "a fresh vertex avoids undecided double spends: {:?}",
        v.parents
    );
}
