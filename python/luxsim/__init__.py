"""luxsim: the Lux consensus library API and the luxsim simulator, on the Rust core.

The library (``Consensus``, ``ConsensusParams``, ``Block``, ``Vote``, ``VoteType``,
``EngineType``, ``VoteHandler``, ``MetricsCollector``) needs only the extension; the
simulator's tables (``run``, ``sweep``, ``Scenario``) and ``to_dataframe`` need the ``data``
extra (pandas, pyarrow); ``ConsensusVisualizer`` the ``pictures`` extra (matplotlib,
networkx). ``lux_consensus`` is the same package under the Lux docs' import name.

``Consensus`` has the docs' coroutines (``add_block``, ``process_vote``, ``is_accepted``,
``poll``) and a synchronous twin of each (``add_block_sync``, ``process_vote_sync``,
``is_accepted_sync``, ``poll_sync``); the other methods are synchronous.
"""

from __future__ import annotations

from ._consensus import Consensus, VoteHandler
from ._luxsim import (
    Block,
    ConsensusError,
    ConsensusParams,
    EngineType,
    ScenarioError,
    Stats,
    Vote,
    VoteType,
)
from .metrics import MetricsCollector
from .sim import Scenario, SimulationResult, SweepResult, run, sweep
from .visualize import ConsensusVisualizer

__version__ = "0.1.0"

__all__ = [
    "Block",
    "Consensus",
    "ConsensusError",
    "ConsensusParams",
    "ConsensusVisualizer",
    "EngineType",
    "MetricsCollector",
    "Scenario",
    "ScenarioError",
    "SimulationResult",
    "Stats",
    "SweepResult",
    "Vote",
    "VoteHandler",
    "VoteType",
    "run",
    "sweep",
]
