//! The Lux consensus quick start, in Rust: one block, twenty validators, Snowball.
//!
//! Run: `cargo run --example simple_consensus`

use luxsim::{Block, Consensus, ConsensusParams, EngineType, Vote, VoteType};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let params = ConsensusParams::default();
    let mut consensus = Consensus::new(EngineType::Snowball, params)?;

    let block = Block::new(1, 0, 1, 1_700_000_000_000_000_000, b"Hello, Lux!".to_vec());
    println!("block {} hash {}", block.id, block.hash_hex());
    consensus.add_block(block)?;

    // Twenty validators answer every poll; 20 successful polls (beta) finalize.
    let mut votes = 0;
    'polls: for _poll in 0..params.beta {
        for node in 0..params.k as u32 {
            let vote = Vote::new(EngineType::Snowball, node, 1, VoteType::Prefer);
            if votes == 0 {
                println!("first vote on the wire: {:02x?}", vote.pack()?);
            }
            consensus.process_vote(vote)?;
            votes += 1;
            if consensus.is_accepted(1) {
                break 'polls;
            }
        }
    }

    if consensus.is_accepted(1) {
        println!("Block 1 achieved consensus after {votes} votes");
    } else {
        println!("Block 1 not accepted after {votes} votes");
    }
    let stats = consensus.stats();
    match consensus.preference() {
        Some(b) => println!("Preference: block {b}"),
        None => println!("Preference: none (no block processing)"),
    }
    println!("Votes processed: {}", stats.votes_processed);
    println!("Polls recorded: {}", stats.polls_recorded);
    println!("Blocks accepted: {}", stats.blocks_accepted);
    Ok(())
}
