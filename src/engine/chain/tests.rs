//! The chain against avalanchego's Snowman tests (`snow/consensus/snowman/consensus_test.go`,
//! run there with `SnowflakeFactory`, as here by default) and the rules of the module docs.

use super::*;

use crate::engine::params::test_params as params;

fn one(beta: usize) -> ConsensusParams {
    params(1, 1, 1, beta)
}

#[test]
fn a_block_is_accepted_after_beta_strong_polls() {
    let mut c = Chain::new(&ConsensusParams::default());
    assert_eq!(c.add_block(1, GENESIS, 1), Ok(Status::Processing));
    for i in 0..19 {
        assert!(!c.record_poll(&[(1, 20)]), "poll {i}");
    }
    assert!(c.record_poll(&[(1, 15)]));
    assert!(c.is_accepted(1));
    assert_eq!(c.last_accepted(), 1);
    assert_eq!(c.last_accepted_height(), 1);
    assert_eq!(
        c.preference(),
        1,
        "nothing processing: the last accepted block"
    );
}

/// RecordPollAcceptSingleBlockTest.
#[test]
fn accept_single_block() {
    let mut c = Chain::new(&one(2));
    c.add_block(1, GENESIS, 1).unwrap();
    c.record_poll(&[(1, 1)]);
    assert_eq!((c.preference(), c.processing()), (1, 1));
    c.record_poll(&[(1, 1)]);
    assert_eq!((c.preference(), c.processing()), (1, 0));
    assert!(c.is_accepted(1));
}

/// RecordPollAcceptAndRejectTest: a Snowflake tree switches at the first poll for the other
/// sibling.
#[test]
fn accept_and_reject() {
    let mut c = Chain::new(&one(2));
    c.add_block(1, GENESIS, 1).unwrap();
    c.add_block(2, GENESIS, 1).unwrap();
    assert_eq!(c.preference(), 1, "the first child added is preferred");
    c.record_poll(&[(2, 1)]);
    assert_eq!((c.preference(), c.processing()), (2, 2));
    c.record_poll(&[(2, 1)]);
    assert_eq!((c.preference(), c.processing()), (2, 0));
    assert_eq!(c.status(1), Some(Status::Rejected));
    assert_eq!(c.status(2), Some(Status::Accepted));
}

/// RecordPollSplitVoteNoChangeTest: 1:1 of k = 2 with alpha 2 moves nothing.
#[test]
fn split_vote_changes_nothing() {
    let mut c = Chain::new(&params(2, 2, 2, 1));
    c.add_block(1, GENESIS, 1).unwrap();
    c.add_block(2, GENESIS, 1).unwrap();
    assert!(!c.record_poll(&[(1, 1), (2, 1)]));
    assert_eq!((c.preference(), c.processing()), (1, 2));
}

/// RecordPollWhenFinalizedTest: a vote for the last accepted block changes nothing.
#[test]
fn poll_when_finalized() {
    let mut c = Chain::new(&one(1));
    assert!(!c.record_poll(&[(GENESIS, 1)]));
    assert_eq!((c.preference(), c.processing()), (GENESIS, 0));
}

/// RecordPollRejectTransitivelyTest.
#[test]
fn reject_transitively() {
    let mut c = Chain::new(&one(1));
    c.add_block(10, GENESIS, 1).unwrap();
    c.add_block(11, GENESIS, 1).unwrap();
    c.add_block(12, 11, 2).unwrap();
    c.record_poll(&[(10, 1)]);
    assert_eq!((c.preference(), c.processing()), (10, 0));
    assert_eq!(c.status(10), Some(Status::Accepted));
    assert_eq!(c.status(11), Some(Status::Rejected));
    assert_eq!(c.status(12), Some(Status::Rejected));
}

/// RecordPollTransitivelyResetConfidenceTest: a poll that misses resets the confidence of
/// the whole tree, lazily; passes with Snowflake trees and fails with Snowball trees.
#[test]
fn transitively_reset_confidence() {
    let mut c = Chain::new(&one(2));
    let (b0, b1, b2, b3) = (1, 2, 3, 4);
    c.add_block(b0, GENESIS, 1).unwrap();
    c.add_block(b1, GENESIS, 1).unwrap();
    c.add_block(b2, b1, 2).unwrap();
    c.add_block(b3, b1, 2).unwrap();
    type Step<'a> = (&'a [(u64, usize)], usize, u64);
    let steps: [Step; 5] = [
        (&[(b2, 1)], 4, b2),
        (&[], 4, b2),
        (&[(b2, 1)], 4, b2),
        (&[(b3, 1)], 2, b3),
        (&[(b3, 1)], 0, b3),
    ];
    for (i, (votes, processing, preference)) in steps.into_iter().enumerate() {
        c.record_poll(votes);
        assert_eq!(
            (c.processing(), c.preference()),
            (processing, preference),
            "step {}",
            i + 1
        );
    }
    let statuses: Vec<_> = [b0, b1, b2, b3]
        .iter()
        .map(|&b| c.status(b).unwrap())
        .collect();
    use Status::*;
    assert_eq!(statuses, [Rejected, Accepted, Rejected, Accepted]);

    let mut c = Chain::with_protocol(&one(2), Protocol::Snowball);
    c.add_block(b0, GENESIS, 1).unwrap();
    c.add_block(b1, GENESIS, 1).unwrap();
    c.add_block(b2, b1, 2).unwrap();
    c.add_block(b3, b1, 2).unwrap();
    for votes in [&[(b2, 1)][..], &[], &[(b2, 1)], &[(b3, 1)]] {
        c.record_poll(votes);
    }
    assert_eq!(
        c.preference(),
        b2,
        "Snowball strength 2:1 keeps b2 preferred"
    );
}

#[test]
fn transitive_votes_accept_a_whole_chain() {
    let mut c = Chain::new(&params(5, 3, 4, 3));
    c.add_block(1, GENESIS, 1).unwrap();
    c.add_block(2, 1, 2).unwrap();
    c.add_block(3, 2, 3).unwrap();
    for _ in 0..3 {
        c.record_poll(&[(3, 5)]);
    }
    use Status::*;
    assert_eq!(c.decided(), &[(1, Accepted), (2, Accepted), (3, Accepted)]);
    assert_eq!(c.accepted(), 3);
}

#[test]
fn split_votes_count_for_the_common_ancestor() {
    let mut c = Chain::new(&params(5, 3, 4, 3));
    c.add_block(1, GENESIS, 1).unwrap();
    c.add_block(2, 1, 2).unwrap();
    c.add_block(3, 1, 2).unwrap();
    for _ in 0..3 {
        c.record_poll(&[(2, 2), (3, 2)]);
    }
    assert!(c.is_accepted(1), "4 transitive votes for 1 each poll");
    assert_eq!(c.status(2), Some(Status::Processing));
    assert_eq!(c.status(3), Some(Status::Processing));
}

#[test]
fn adding_refuses_what_avalanchego_refuses() {
    let mut c = Chain::new(&one(1));
    assert_eq!(
        c.add_block(GENESIS, GENESIS, 1),
        Err(ChainError::UnknownParent {
            block: GENESIS,
            parent: GENESIS
        }),
        "the genesis re-added (ErrorOnAddDecidedBlockTest)"
    );
    assert_eq!(
        c.add_block(1, 7, 1),
        Err(ChainError::UnknownParent {
            block: 1,
            parent: 7
        }),
        "AddOnUnknownParentTest"
    );
    c.add_block(1, GENESIS, 1).unwrap();
    c.add_block(2, GENESIS, 1).unwrap();
    assert_eq!(c.add_block(1, GENESIS, 1), Err(ChainError::Duplicate(1)));
    assert!(matches!(
        c.add_block(3, 1, 5),
        Err(ChainError::BadHeight { .. })
    ));
    c.record_poll(&[(1, 1)]);
    assert!(c.is_accepted(1));
    let rejected = ChainError::DecidedParent {
        block: 4,
        parent: 2,
        status: Status::Rejected,
    };
    assert_eq!(c.add_block(4, 2, 2), Err(rejected));
    let late = ChainError::DecidedParent {
        block: 5,
        parent: GENESIS,
        status: Status::Accepted,
    };
    assert_eq!(c.add_block(5, GENESIS, 1), Err(late), "a late sibling");
    assert_eq!(
        c.add_block(2, 1, 2),
        Err(ChainError::Duplicate(2)),
        "a decided id"
    );
    assert_eq!(c.add_block(6, 1, 2), Ok(Status::Processing));
}

#[test]
fn votes_for_unknown_or_decided_blocks_count_for_none() {
    let mut c = Chain::new(&params(5, 3, 4, 3));
    c.add_block(1, GENESIS, 1).unwrap();
    for _ in 0..3 {
        c.record_poll(&[(1, 5), (99, 5)]);
    }
    assert!(c.is_accepted(1));
    c.add_block(2, 1, 2).unwrap();
    c.record_poll(&[(1, 5)]);
    assert!(!c.record_poll(&[(1, 5)]));
    assert_eq!(
        c.describe(1).unwrap(),
        "SF(Confidence = [0], Finalized = false) Bits = [0, 64)"
    );
}

#[test]
fn a_weak_poll_resets_the_count() {
    let mut c = Chain::new(&params(5, 3, 4, 3));
    c.add_block(1, GENESIS, 1).unwrap();
    c.record_poll(&[(1, 4)]);
    c.record_poll(&[(1, 4)]);
    c.record_poll(&[(1, 2)]);
    c.record_poll(&[(1, 4)]);
    c.record_poll(&[(1, 4)]);
    assert!(!c.is_accepted(1));
    c.record_poll(&[(1, 4)]);
    assert!(c.is_accepted(1));
}
