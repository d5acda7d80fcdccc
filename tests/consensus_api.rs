//! The `Consensus` API rules of the core-library issue, one test each.

use luxsim::{
    Block, Consensus, ConsensusError, ConsensusParams, EngineType, Status, Vote, VoteOutcome,
    VoteType,
};

const ENGINES: [EngineType; 7] = [
    EngineType::Snowball,
    EngineType::Snowflake,
    EngineType::Slush,
    EngineType::Chain,
    EngineType::PostQuantum,
    EngineType::Dag,
    EngineType::Avalanche,
];

fn block(id: u64, parent: u64, height: u64) -> Block {
    Block::new(id, parent, height, 0, Vec::new())
}

fn prefer(engine: EngineType, node: u32, block: u64) -> Vote {
    Vote::new(engine, node, block, VoteType::Prefer)
}

#[test]
fn default_params_accept_on_the_400th_prefer_vote_and_not_before() {
    for engine in ENGINES {
        let mut c = Consensus::new(engine, ConsensusParams::default()).unwrap();
        c.add_block(block(1, 0, 1)).unwrap();
        for i in 0..399u32 {
            c.process_vote(prefer(engine, i % 20, 1)).unwrap();
            assert!(!c.is_accepted(1), "{engine}: accepted at vote {}", i + 1);
        }
        let outcome = c.process_vote(prefer(engine, 399 % 20, 1)).unwrap();
        assert_eq!(outcome, VoteOutcome::PollRecorded);
        assert!(c.is_accepted(1), "{engine}: not accepted at vote 400");
        let s = c.stats();
        assert_eq!(s.votes_processed, 400);
        assert_eq!(s.polls_recorded, 20);
        assert_eq!(s.blocks_accepted, 1, "{engine}");
        assert_eq!(c.preference(), None, "{engine}: nothing left processing");
    }
}

#[test]
fn accept_votes_count_like_prefer_votes() {
    let mut c = Consensus::new(EngineType::Snowball, ConsensusParams::default()).unwrap();
    c.add_block(block(1, 0, 1)).unwrap();
    for i in 0..400u32 {
        c.process_vote(Vote::new(EngineType::Snowball, i % 20, 1, VoteType::Accept))
            .unwrap();
    }
    assert!(c.is_accepted(1));
}

#[test]
fn a_second_vote_from_one_node_in_a_poll_is_a_duplicate() {
    let mut c = Consensus::new(EngineType::Snowball, ConsensusParams::default()).unwrap();
    c.add_block(block(1, 0, 1)).unwrap();
    assert_eq!(
        c.process_vote(prefer(EngineType::Snowball, 5, 1)),
        Ok(VoteOutcome::Counted)
    );
    assert_eq!(
        c.process_vote(prefer(EngineType::Snowball, 5, 1)),
        Ok(VoteOutcome::Duplicate)
    );
    assert_eq!(c.pending_votes(), 1);
    assert_eq!(c.stats().duplicate_votes, 1);
    // 400 more votes from the same 20 nodes: the duplicate did not shorten anything.
    for i in 0..399u32 {
        c.process_vote(prefer(EngineType::Snowball, (i + 6) % 20, 1))
            .unwrap();
    }
    assert!(c.is_accepted(1));
}

#[test]
fn reject_votes_count_toward_k_but_for_no_block() {
    let mut c = Consensus::new(EngineType::Snowball, ConsensusParams::default()).unwrap();
    c.add_block(block(1, 0, 1)).unwrap();
    // 19 polls of 15 prefers and 5 rejects: each reaches alpha (15).
    for poll in 0..19u32 {
        for node in 0..20u32 {
            let t = if node < 15 {
                VoteType::Prefer
            } else {
                VoteType::Reject
            };
            c.process_vote(Vote::new(EngineType::Snowball, node, 1, t))
                .unwrap();
        }
        assert_eq!(c.stats().polls_recorded, u64::from(poll) + 1);
    }
    // A poll of 14 prefers and 6 rejects is below alpha: confidence resets.
    for node in 0..20u32 {
        let t = if node < 14 {
            VoteType::Prefer
        } else {
            VoteType::Reject
        };
        c.process_vote(Vote::new(EngineType::Snowball, node, 1, t))
            .unwrap();
    }
    assert!(!c.is_accepted(1));
    for i in 0..399u32 {
        c.process_vote(prefer(EngineType::Snowball, i % 20, 1))
            .unwrap();
    }
    assert!(!c.is_accepted(1), "needs 20 fresh polls after the reset");
    c.process_vote(prefer(EngineType::Snowball, 19, 1)).unwrap();
    assert!(c.is_accepted(1));
}

#[test]
fn chain_votes_are_transitive_and_accept_a_whole_chain() {
    for engine in [EngineType::Chain, EngineType::Dag] {
        let mut c = Consensus::new(engine, ConsensusParams::default()).unwrap();
        c.add_block(block(1, 0, 1)).unwrap();
        c.add_block(block(2, 1, 2)).unwrap();
        c.add_block(block(3, 2, 3)).unwrap();
        for i in 0..400u32 {
            c.process_vote(prefer(engine, i % 20, 3)).unwrap();
        }
        for id in [1, 2, 3] {
            assert!(c.is_accepted(id), "{engine}: block {id}");
        }
        assert_eq!(c.stats().blocks_accepted, 3, "{engine}");
    }
}

#[test]
fn snowball_votes_are_not_transitive() {
    let mut c = Consensus::new(EngineType::Snowball, ConsensusParams::default()).unwrap();
    c.add_block(block(1, 0, 1)).unwrap();
    c.add_block(block(2, 1, 2)).unwrap();
    for i in 0..400u32 {
        c.process_vote(prefer(EngineType::Snowball, i % 20, 2))
            .unwrap();
    }
    assert!(!c.is_accepted(1));
    assert_eq!(
        c.status(2),
        Some(Status::Processing),
        "final, waiting for its parent"
    );
    for i in 0..400u32 {
        c.process_vote(prefer(EngineType::Snowball, i % 20, 1))
            .unwrap();
    }
    assert!(c.is_accepted(1) && c.is_accepted(2));
}

#[test]
fn siblings_compete_and_the_losers_are_rejected() {
    for engine in ENGINES {
        let mut c = Consensus::new(engine, ConsensusParams::default()).unwrap();
        c.add_block(block(1, 0, 1)).unwrap();
        c.add_block(block(2, 0, 1)).unwrap();
        c.add_block(block(3, 0, 1)).unwrap();
        for i in 0..400u32 {
            let b = if i % 20 < 16 { 2 } else { 3 };
            c.process_vote(prefer(engine, i % 20, b)).unwrap();
        }
        assert!(c.is_accepted(2), "{engine}");
        assert_eq!(c.status(1), Some(Status::Rejected), "{engine}");
        assert_eq!(c.status(3), Some(Status::Rejected), "{engine}");
        let s = c.stats();
        assert_eq!((s.blocks_accepted, s.blocks_rejected), (1, 2), "{engine}");
    }
}

#[test]
fn a_vote_for_a_decided_block_is_counted_and_changes_nothing() {
    let mut c = Consensus::new(EngineType::Chain, ConsensusParams::default()).unwrap();
    c.add_block(block(1, 0, 1)).unwrap();
    for i in 0..400u32 {
        c.process_vote(prefer(EngineType::Chain, i % 20, 1))
            .unwrap();
    }
    c.add_block(block(2, 1, 2)).unwrap();
    let before = c.stats();
    assert_eq!(
        c.process_vote(prefer(EngineType::Chain, 0, 1)),
        Ok(VoteOutcome::AlreadyDecided)
    );
    let after = c.stats();
    assert_eq!(after.votes_processed, before.votes_processed + 1);
    assert_eq!(after.votes_for_decided, before.votes_for_decided + 1);
    assert_eq!(c.pending_votes(), 0);
    assert_eq!(c.preference(), Some(2));
}

#[test]
fn wrong_engine_and_unknown_block_are_counted_errors() {
    let mut c = Consensus::new(EngineType::Snowball, ConsensusParams::default()).unwrap();
    c.add_block(block(1, 0, 1)).unwrap();
    let e = c.process_vote(prefer(EngineType::Chain, 1, 1)).unwrap_err();
    assert_eq!(
        e,
        ConsensusError::EngineMismatch {
            expected: EngineType::Snowball,
            got: EngineType::Chain
        }
    );
    assert_eq!(
        e.to_string(),
        "vote for engine chain sent to a snowball instance"
    );
    let e = c
        .process_vote(prefer(EngineType::Snowball, 1, 9))
        .unwrap_err();
    assert_eq!(e, ConsensusError::UnknownBlock(9));
    let s = c.stats();
    assert_eq!(
        (s.invalid_votes, s.votes_processed, s.votes_counted),
        (2, 2, 0)
    );
}

#[test]
fn dag_and_avalanche_are_one_engine_for_votes() {
    // A `luxsim node` DAG validator publishes Dag votes; the docs feed them to an
    // Avalanche instance. Other engine pairs stay refused.
    for (instance, vote) in [
        (EngineType::Avalanche, EngineType::Dag),
        (EngineType::Dag, EngineType::Avalanche),
    ] {
        let mut c = Consensus::new(instance, ConsensusParams::default()).unwrap();
        c.add_block(block(1, 0, 1)).unwrap();
        assert!(c.process_vote(prefer(vote, 1, 1)).is_ok());
        assert_eq!(c.stats().votes_counted, 1);
    }
    let mut c = Consensus::new(EngineType::Avalanche, ConsensusParams::default()).unwrap();
    c.add_block(block(1, 0, 1)).unwrap();
    assert!(c.process_vote(prefer(EngineType::Chain, 1, 1)).is_err());
}

#[test]
fn parents_must_be_known_or_the_genesis() {
    for engine in ENGINES {
        let mut c = Consensus::new(engine, ConsensusParams::default()).unwrap();
        assert!(c.is_accepted(0), "the genesis is accepted");
        assert_eq!(
            c.add_block(block(5, 4, 1)),
            Err(ConsensusError::UnknownParent {
                block: 5,
                parent: 4
            })
        );
        assert_eq!(c.add_block(block(4, 0, 1)), Ok(Status::Processing));
        assert_eq!(
            c.add_block(block(4, 0, 1)),
            Err(ConsensusError::DuplicateBlock(4))
        );
        assert_eq!(
            c.add_block(block(0, 0, 1)),
            Err(ConsensusError::DuplicateBlock(0))
        );
        assert_eq!(c.add_block(block(5, 4, 2)), Ok(Status::Processing));
    }
}

#[test]
fn the_vote_handler_may_refuse_votes() {
    let mut c = Consensus::new(EngineType::Snowball, ConsensusParams::default()).unwrap();
    c.add_block(block(1, 0, 1)).unwrap();
    c.set_vote_handler(|v: &Vote| v.node_id != 13);
    assert_eq!(
        c.process_vote(prefer(EngineType::Snowball, 13, 1)),
        Ok(VoteOutcome::Refused)
    );
    assert_eq!(c.stats().refused_votes, 1);
    assert_eq!(c.pending_votes(), 0);
    for i in 0..400u32 {
        c.process_vote(prefer(EngineType::Snowball, i % 21, 1))
            .unwrap();
    }
    assert_eq!(c.stats().refused_votes, 1 + 19);
}

#[test]
fn invalid_params_are_refused_with_the_rule() {
    let params = ConsensusParams {
        alpha_preference: 10,
        ..ConsensusParams::default()
    };
    let e = Consensus::new(EngineType::Snowball, params).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid parameters: alpha_preference (10) must be greater than k/2 (10)"
    );
}

#[test]
fn poll_closes_a_short_poll_like_a_timeout() {
    let params = ConsensusParams::preset("local").unwrap();
    let mut c = Consensus::new(EngineType::Snowflake, params).unwrap();
    c.add_block(block(1, 0, 1)).unwrap();
    c.process_vote(prefer(EngineType::Snowflake, 1, 1)).unwrap();
    assert_eq!(c.poll(1), Ok(Status::Processing), "1 vote < alpha 2");
    for _ in 0..2 {
        c.process_vote(prefer(EngineType::Snowflake, 1, 1)).unwrap();
        c.process_vote(prefer(EngineType::Snowflake, 2, 1)).unwrap();
        c.poll(1).unwrap();
    }
    assert!(c.is_accepted(1));
    assert_eq!(c.poll(42), Err(ConsensusError::UnknownBlock(42)));
}
