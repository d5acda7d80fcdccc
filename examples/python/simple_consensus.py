"""The Lux docs' quick start: one Snowball instance, one block, votes from 20 validators.

Run: python examples/python/simple_consensus.py

The docs' unit test expects the block accepted after one poll of 20 votes. Snowball with
beta = 20 cannot do that: a block is accepted after beta (20) consecutive successful polls
of k (20) votes each, so this example sends 20 polls and prints when the decision came.
"""

import asyncio

from lux_consensus import Block, Consensus, ConsensusParams, EngineType, Vote, VoteType


async def main() -> None:
    params = ConsensusParams(k=20, alpha_preference=15, alpha_confidence=15, beta=20)
    params.validate()
    consensus = Consensus(EngineType.SNOWBALL, params)

    block = Block(id=1, parent_id=0, height=1, timestamp=0, data=b"Hello, Lux!")
    print("added block 1:", await consensus.add_block(block))
    print("block hash:", block.hash().hex())

    for poll in range(1, params.beta + 1):
        for node_id in range(params.k):
            await consensus.process_vote(Vote(EngineType.SNOWBALL, node_id, 1, VoteType.PREFER))
        if await consensus.is_accepted(1):
            print(f"block 1 accepted after poll {poll}")
            break

    stats = consensus.get_stats()
    print(
        f"votes processed: {stats.votes_processed}, polls: {stats.polls_recorded}, "
        f"blocks accepted: {stats.blocks_accepted}"
    )
    assert await consensus.is_accepted(1)


if __name__ == "__main__":
    asyncio.run(main())
