//! Vote throughput of `Consensus::process_vote` and the cost of one Snowball `record_poll`,
//! flat and as avalanchego's tree.
//!
//! Run: `cargo bench --bench consensus`

use divan::counter::ItemsCount;
use divan::{black_box, Bencher};
use luxsim::{
    Block, Consensus, ConsensusParams, EngineType, Protocol, Snowball, Tree, Vote, VoteType,
};

fn main() {
    divan::main();
}

/// Votes needed to accept one block with default parameters: 20 polls of 20 voters.
const VOTES_TO_ACCEPT: usize = 400;

fn fresh(engine: EngineType) -> (Consensus, Vec<Vote>) {
    let mut c = Consensus::new(engine, ConsensusParams::default()).unwrap();
    c.add_block(Block::new(1, 0, 1, 0, Vec::new())).unwrap();
    let votes = (0..VOTES_TO_ACCEPT as u32)
        .map(|i| Vote::new(engine, i % 20, 1, VoteType::Prefer))
        .collect();
    (c, votes)
}

/// One block from processing to accepted: 400 Prefer votes, every one counted.
#[divan::bench(args = [EngineType::Snowball, EngineType::Chain, EngineType::Dag])]
fn process_vote_to_acceptance(bencher: Bencher, engine: EngineType) {
    bencher
        .counter(ItemsCount::new(VOTES_TO_ACCEPT))
        .with_inputs(|| fresh(engine))
        .bench_local_values(|(mut c, votes)| {
            for v in votes {
                let _ = black_box(c.process_vote(black_box(v)));
            }
            assert!(c.is_accepted(1));
            c
        });
}

/// A two-block Snowball contest, 3:1 votes: preference, duplicates and resets on the way.
#[divan::bench]
fn process_vote_contested_snowball(bencher: Bencher) {
    const VOTES: usize = 4_000;
    bencher
        .counter(ItemsCount::new(VOTES))
        .with_inputs(|| {
            let mut c = Consensus::new(EngineType::Snowball, ConsensusParams::default()).unwrap();
            c.add_block(Block::new(1, 0, 1, 0, Vec::new())).unwrap();
            c.add_block(Block::new(2, 0, 1, 0, Vec::new())).unwrap();
            let votes: Vec<Vote> = (0..VOTES as u32)
                .map(|i| {
                    let block = if i % 4 == 0 { 1 } else { 2 };
                    Vote::new(EngineType::Snowball, i % 20, block, VoteType::Prefer)
                })
                .collect();
            (c, votes)
        })
        .bench_local_values(|(mut c, votes)| {
            for v in votes {
                let _ = black_box(c.process_vote(black_box(v)));
            }
            c
        });
}

/// One Snowball `record_poll` over 2 choices, alternating a strong and a weak poll.
#[divan::bench]
fn snowball_record_poll(bencher: Bencher) {
    let params = ConsensusParams {
        beta: u32::MAX as usize,
        ..ConsensusParams::default()
    };
    let mut s = Snowball::new(&params, 2, 0);
    let mut i = 0usize;
    bencher.bench_local(|| {
        i = i.wrapping_add(1);
        let count = if i.is_multiple_of(8) { 10 } else { 16 };
        s.record_poll(black_box(count), black_box(i & 1));
        black_box(s.preference())
    });
}

/// One `record_poll` of a Snowball tree over `choices` choices (ids `0..choices`), never
/// finalizing: a poll of k = 20 votes, 16 for the leading choice and the rest spread, its
/// leader alternating between two choices that differ in bit 0, every 8th poll weak.
#[divan::bench(args = [2, 50])]
fn tree_record_poll(bencher: Bencher, choices: u64) {
    let params = ConsensusParams {
        beta: u32::MAX as usize,
        ..ConsensusParams::default()
    };
    let mut t = Tree::new(Protocol::Snowball, &params, 0);
    (1..choices).for_each(|c| t.add(c));
    let mut bag = Vec::with_capacity(8);
    let mut i = 0u64;
    bencher.bench_local(|| {
        i = i.wrapping_add(1);
        let lead = if i.is_multiple_of(8) { 10 } else { 16 };
        bag.clear();
        bag.push((i & 1, lead));
        for j in 0..(20 - lead) as u64 {
            bag.push(((i + 2 + j) % choices, 1));
        }
        t.record_poll(black_box(&mut bag));
        black_box(t.preference())
    });
}
