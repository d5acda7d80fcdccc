//! Property tests for the compact vote and block codecs.

use luxsim::ENGINE_TYPES;
use luxsim::{Block, EngineType, Vote, VoteError, VoteType};
use proptest::prelude::*;

fn any_engine() -> impl Strategy<Value = EngineType> {
    proptest::sample::select(ENGINE_TYPES.to_vec())
}

fn coded_engine() -> impl Strategy<Value = EngineType> {
    proptest::sample::select(
        ENGINE_TYPES
            .iter()
            .copied()
            .filter(|e| e.code().is_some())
            .collect::<Vec<_>>(),
    )
}

fn any_vote_type() -> impl Strategy<Value = VoteType> {
    prop_oneof![
        Just(VoteType::Prefer),
        Just(VoteType::Accept),
        Just(VoteType::Reject),
    ]
}

fn any_block() -> impl Strategy<Value = Block> {
    (
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        proptest::collection::vec(any::<u8>(), 0..=512),
    )
        .prop_map(|(id, parent, height, ts, data)| Block::new(id, parent, height, ts, data))
}

proptest! {
    #[test]
    fn vote_round_trips(
        engine in coded_engine(),
        node in 0u32..65536,
        block in 0u64..65536,
        vt in any_vote_type(),
    ) {
        let v = Vote::new(engine, node, block, vt);
        let bytes = v.pack().unwrap();
        prop_assert_eq!(&bytes[6..], &[0u8, 0][..]);
        prop_assert_eq!(Vote::unpack(&bytes), Ok(v));
    }

    #[test]
    fn vote_pack_never_truncates(
        engine in any_engine(),
        node in any::<u32>(),
        block in any::<u64>(),
        vt in any_vote_type(),
    ) {
        let v = Vote::new(engine, node, block, vt);
        match v.pack() {
            Ok(bytes) => {
                prop_assert!(engine.code().is_some());
                prop_assert!(node < 65536 && block < 65536);
                prop_assert_eq!(Vote::unpack(&bytes), Ok(v));
            }
            Err(VoteError::NoEngineCode(e)) => {
                prop_assert_eq!(e, engine);
                prop_assert!(engine.code().is_none());
            }
            Err(VoteError::NodeIdTooLarge(n)) => {
                prop_assert_eq!(n, node);
                prop_assert!(node >= 65536);
            }
            Err(VoteError::BlockIdTooLarge(b)) => {
                prop_assert_eq!(b, block);
                prop_assert!(block >= 65536);
            }
            Err(e) => prop_assert!(false, "unexpected pack error {:?}", e),
        }
    }

    #[test]
    fn vote_large_ids_are_errors(
        engine in coded_engine(),
        node in 65536u32..,
        block in 65536u64..,
        vt in any_vote_type(),
    ) {
        prop_assert_eq!(
            Vote::new(engine, node, 1, vt).pack(),
            Err(VoteError::NodeIdTooLarge(node))
        );
        prop_assert_eq!(
            Vote::new(engine, 1, block, vt).pack(),
            Err(VoteError::BlockIdTooLarge(block))
        );
    }

    #[test]
    fn vote_unpack_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..16)) {
        match Vote::unpack(&bytes) {
            Ok(v) => {
                prop_assert_eq!(bytes.len(), 8);
                let repacked = v.pack().unwrap();
                prop_assert_eq!(&repacked[..6], &bytes[..6]);
                prop_assert_eq!(&repacked[6..], &[0u8, 0][..]);
            }
            Err(VoteError::WrongLength(n)) => prop_assert!(n == bytes.len() && n != 8),
            Err(VoteError::UnknownEngineCode(c)) => {
                prop_assert_eq!(c, bytes[0]);
                prop_assert!(EngineType::from_code(c).is_none());
            }
            Err(VoteError::UnknownVoteTypeCode(c)) => {
                prop_assert_eq!(c, bytes[5]);
                prop_assert!(VoteType::from_code(c).is_none());
            }
            Err(e) => prop_assert!(false, "unexpected unpack error {:?}", e),
        }
    }

    #[test]
    fn block_round_trips(block in any_block()) {
        prop_assert_eq!(block.validate(), Ok(()));
        let bytes = block.serialize();
        prop_assert_eq!(bytes.len(), 37 + block.data.len());
        prop_assert_eq!(Block::deserialize(&bytes), Ok(block));
    }

    #[test]
    fn block_deserialize_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
        if let Ok(b) = Block::deserialize(&bytes) {
            prop_assert_eq!(b.serialize(), bytes);
        }
    }

    #[test]
    fn block_hash_is_stable(block in any_block()) {
        let copy = block.clone();
        prop_assert_eq!(block.hash(), copy.hash());
        prop_assert_eq!(block.hash_hex(), copy.hash_hex());
        let decoded = Block::deserialize(&block.serialize()).unwrap();
        prop_assert_eq!(decoded.hash(), block.hash());
    }
}
