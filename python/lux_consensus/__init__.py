"""The Lux consensus docs' import name for luxsim's library API."""

from luxsim import (
    Block,
    Consensus,
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
