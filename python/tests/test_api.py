"""The library API from Python: the docs' names, coroutines and their synchronous twins,
the byte formats, and errors as exceptions."""

import asyncio
from datetime import datetime, timezone

import pytest

import lux_consensus
import luxsim
from lux_consensus import Block, Consensus, ConsensusParams, EngineType, Vote, VoteType


def test_both_import_names_are_the_same_objects():
    assert lux_consensus.Consensus is luxsim.Consensus
    assert lux_consensus.Vote is luxsim.Vote


def test_params_defaults_presets_and_validation():
    p = ConsensusParams()
    assert (p.k, p.alpha_preference, p.alpha_confidence, p.beta) == (20, 15, 15, 20)
    local = ConsensusParams.preset("local")
    assert (local.k, local.beta) == (3, 2)
    with pytest.raises(ValueError, match="alpha_preference"):
        ConsensusParams(k=20, alpha_preference=10).validate()
    with pytest.raises(ValueError, match="moon"):
        ConsensusParams.preset("moon")


def test_a_block_is_accepted_after_beta_polls_of_k_votes():
    async def main():
        c = Consensus(EngineType.SNOWBALL, ConsensusParams())
        block = Block(1, 0, 1, datetime(2026, 1, 1, tzinfo=timezone.utc), b"payload")
        assert await c.add_block(block) == "processing"
        outcomes = []
        for i in range(400):
            v = Vote(EngineType.SNOWBALL, i % 20, 1, VoteType.PREFER)
            outcomes.append(await c.process_vote(v))
        # Snowball needs beta (20) successful polls of k (20) votes, not one poll.
        assert outcomes.count("poll_recorded") == 20
        assert await c.is_accepted(1)
        stats = c.get_stats()
        assert (stats.votes_processed, stats.blocks_accepted, stats.polls_recorded) == (400, 1, 20)
        assert c.get_preference() is None, "nothing processing"

    asyncio.run(main())


def test_poll_returns_the_votes_of_the_poll_it_closes():
    c = Consensus(EngineType.CHAIN, ConsensusParams.preset("local"))
    c.add_block_sync(Block(7, 0, 1))
    assert c.get_preference() == 7
    votes = [Vote(EngineType.CHAIN, n, 7, VoteType.PREFER) for n in (1, 2)]
    for v in votes:
        assert c.process_vote_sync(v) == "counted"
    assert c.poll_sync(7) == votes
    assert c.get_stats().polls_recorded == 1


def test_packed_votes_in_bulk_count_like_single_ones():
    packed = b"".join(Vote(EngineType.DAG, i % 20, 1, VoteType.PREFER).pack() for i in range(400))
    c = Consensus(EngineType.DAG)
    c.add_block_sync(Block(1, 0, 1))
    assert c.process_votes(packed) == 400
    assert c.is_accepted_sync(1)
    with pytest.raises(ValueError, match="multiple of 8"):
        c.process_votes(b"\x00" * 5)


def test_byte_formats_round_trip_and_bad_bytes_are_value_errors():
    v = Vote(EngineType.AVALANCHE, 12, 99, VoteType.ACCEPT)
    b = v.pack()
    assert len(b) == 8 and Vote.unpack(b) == v
    with pytest.raises(ValueError):
        Vote.unpack(b"\x00\x01")
    block = Block(5, 4, 2, 1_700_000_000, b"\x01\x02")
    again = Block.deserialize(block.serialize())
    assert (again.id, again.parent_id, again.height, again.data) == (5, 4, 2, b"\x01\x02")
    assert again.hash() == block.hash() and len(block.hash()) == 32
    with pytest.raises(ValueError):
        Block.deserialize(b"\xff")


def test_core_refusals_are_consensus_errors():
    c = Consensus(EngineType.CHAIN)
    with pytest.raises(luxsim.ConsensusError, match="unknown parent"):
        c.add_block_sync(Block(2, 1, 2))
    with pytest.raises(luxsim.ConsensusError):
        c.process_vote_sync(Vote(EngineType.SNOWBALL, 1, 3, VoteType.PREFER))
