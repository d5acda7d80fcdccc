"""luxsim: the Lux consensus library API and the luxsim simulator, on the Rust core.

The library (``Consensus``, ``ConsensusParams``, ``Block``, ``Vote``, ``VoteType``,
``EngineType``, ``VoteHandler``, ``MetricsCollector``) needs only the extension; the
simulator's tables (``run``, ``sweep``, ``Scenario``) and ``to_dataframe`` need the ``data``
extra (pandas, pyarrow); ``ConsensusVisualizer`` the ``pictures`` extra (matplotlib,
networkx). ``ConsensusNode`` (networked validators), ``Network`` (the vote feed) and
``ProductionNode`` (``luxsim node`` from a YAML file) are in ``node``, ``network`` and
``production``; over ZeroMQ they need the ``net`` extra (pyzmq). ``lux_consensus`` is the
same package under the Lux docs' import name.

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
from .analysis import ConsensusAnalyzer, ConsensusML
from .metrics import MetricsCollector
from .network import Network, NetworkConfig
from .node import ConsensusNode, NodeError
from .production import ProductionNode
from .sim import Scenario, SimulationResult, SweepResult, run, sweep
from .visualize import ConsensusVisualizer

__version__ = "0.1.0"

__all__ = [
    "Block",
    "Consensus",
    "ConsensusAnalyzer",
    "ConsensusError",
    "ConsensusML",
    "ConsensusNode",
    "ConsensusParams",
    "ConsensusVisualizer",
    "EngineType",
    "MetricsCollector",
    "Network",
    "NetworkConfig",
    "NodeError",
    "ProductionNode",
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
