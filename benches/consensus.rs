//! Vote throughput of `Consensus::process_vote` and the cost of one Snowball `record_poll`.
//!
//! Run: `cargo bench --bench consensus`

use divan::counter::ItemsCount;
use divan::{black_box, Bencher};
use luxsim::{Block, Consensus, ConsensusParams, EngineType, Snowball, Vote, VoteType};

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
