"""luxsim: the Lux consensus library API on the Rust core.

``Consensus`` has the docs' coroutines (``add_block``, ``process_vote``, ``is_accepted``,
``poll``) and a synchronous twin of each (``add_block_sync``, ...) for scripts and
notebooks; ``get_preference``, ``get_stats`` and ``process_votes`` are synchronous.
"""

from __future__ import annotations

from typing import List

from . import _luxsim
from ._luxsim import (
    Block,
    ConsensusError,
    ConsensusParams,
    EngineType,
    Stats,
    Vote,
    VoteType,
)

__all__ = [
    "Block",
    "Consensus",
    "ConsensusError",
    "ConsensusParams",
    "EngineType",
    "Stats",
    "Vote",
    "VoteType",
]


class Consensus(_luxsim.Consensus):
    """One consensus instance: blocks in, votes in, decisions out."""

    async def add_block(self, block: Block) -> str:
        """Adds a block; returns its status ("processing", "accepted" or "rejected")."""
        return self.add_block_sync(block)

    async def process_vote(self, vote: Vote) -> str:
        """Counts one vote; returns what became of it ("counted", "poll_recorded", ...)."""
        return self.process_vote_sync(vote)

    async def is_accepted(self, block_id: int) -> bool:
        """Whether the block is accepted."""
        return self.is_accepted_sync(block_id)

    async def poll(self, block_id: int) -> List[Vote]:
        """Closes the poll under way (as its timeout would); returns the votes it counted."""
        return self.poll_sync(block_id)
