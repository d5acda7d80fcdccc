from datetime import datetime
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

OUTCOMES: List[str]

class ConsensusError(Exception): ...
class ScenarioError(ValueError): ...

class EngineType:
    SLUSH: EngineType
    SNOWBALL: EngineType
    AVALANCHE: EngineType
    SNOWFLAKE: EngineType
    DAG: EngineType
    CHAIN: EngineType
    POST_QUANTUM: EngineType

class VoteType:
    PREFER: VoteType
    ACCEPT: VoteType
    REJECT: VoteType

class ConsensusParams:
    k: int
    alpha_preference: int
    alpha_confidence: int
    beta: int
    concurrent_polls: int
    max_outstanding_items: int
    def __init__(
        self,
        k: Optional[int] = ...,
        alpha_preference: Optional[int] = ...,
        alpha_confidence: Optional[int] = ...,
        beta: Optional[int] = ...,
        concurrent_polls: Optional[int] = ...,
        max_outstanding_items: Optional[int] = ...,
    ) -> None: ...
    @staticmethod
    def preset(name: str) -> ConsensusParams: ...
    def validate(self) -> None: ...

class Block:
    id: int
    parent_id: int
    height: int
    timestamp: int
    data: bytes
    def __init__(
        self,
        id: int,
        parent_id: int,
        height: int,
        timestamp: Union[int, float, datetime, None] = ...,
        data: bytes = ...,
    ) -> None: ...
    def hash(self) -> bytes: ...
    def serialize(self) -> bytes: ...
    @staticmethod
    def deserialize(data: bytes) -> Block: ...

class Vote:
    engine_type: EngineType
    node_id: int
    block_id: int
    vote_type: VoteType
    def __init__(self, engine_type: EngineType, node_id: int, block_id: int, vote_type: VoteType) -> None: ...
    def pack(self) -> bytes: ...
    @staticmethod
    def unpack(data: bytes) -> Vote: ...

class Stats:
    votes_processed: int
    votes_counted: int
    duplicate_votes: int
    refused_votes: int
    invalid_votes: int
    votes_for_decided: int
    polls_recorded: int
    blocks_added: int
    blocks_accepted: int
    blocks_rejected: int

class Consensus:
    engine_type: EngineType
    params: ConsensusParams
    record_votes: bool
    def __init__(
        self,
        engine_type: EngineType,
        params: Optional[ConsensusParams] = ...,
        record_votes: bool = ...,
    ) -> None: ...
    def add_block_sync(self, block: Block) -> str: ...
    def process_vote_sync(self, vote: Vote) -> str: ...
    def process_judged(self, vote: Vote, allowed: bool) -> str: ...
    def vote_context(self, vote: Vote) -> Dict[str, Any]: ...
    def set_handler_callable(self, handler: Optional[Callable[..., Any]]) -> None: ...
    def process_votes(self, votes: Union[Sequence[Vote], bytes, Any]) -> int: ...
    def poll_sync(self, block_id: int) -> List[Vote]: ...
    def is_accepted_sync(self, block_id: int) -> bool: ...
    def status(self, block_id: int) -> Optional[str]: ...
    def get_preference(self) -> Optional[int]: ...
    def get_stats(self) -> Stats: ...
    def metrics_raw(self) -> Dict[str, Any]: ...
    def vote_columns(self) -> Dict[str, bytes]: ...
    def decisions(self) -> List[Tuple[int, int, bool]]: ...
    def clear_votes(self) -> None: ...

class Scenario:
    name: str
    seed: int
    nodes: int
    mode: str
    path: str
    set: List[str]
    @staticmethod
    def load(path: str, set: Optional[List[str]] = ...) -> Scenario: ...
    def with_set(self, more: List[str]) -> Scenario: ...

def run_scenario(
    scenario: Scenario, out_dir: str, trace: str = ..., seed: Optional[int] = ...
) -> List[str]: ...
def sweep_scenario(
    scenario: str,
    out_dir: str,
    vary: List[str],
    seeds: int,
    set: List[str],
    jobs: Optional[int] = ...,
) -> int: ...
def progress_series(path: str) -> Dict[str, Any]: ...
def network_parts(
    scenario: Scenario,
) -> Tuple[List[Dict[str, Any]], List[Tuple[int, int, Dict[str, Any]]]]: ...

class NodeMachine:
    def __init__(
        self,
        node_id: int,
        validators: List[int],
        engine_type: EngineType,
        params: ConsensusParams,
        poll_timeout_ms: int = ...,
        seed: Optional[int] = ...,
        stakes: Optional[List[float]] = ...,
        self_sample: bool = ...,
    ) -> None: ...
    def start(self, now_ns: int) -> List[Tuple[int, bytes, bool]]: ...
    def receive(self, now_ns: int, frame: bytes) -> Tuple[Optional[int], List[Tuple[int, bytes, bool]]]: ...
    def fire(self, now_ns: int) -> List[Tuple[int, bytes, bool]]: ...
    def next_timer(self) -> Optional[int]: ...
    def submit(self, now_ns: int, block: Block) -> List[Tuple[int, bytes, bool]]: ...
    def status(self, block_id: int) -> Optional[str]: ...
    def is_accepted(self, block_id: int) -> bool: ...
    def stats(self) -> Dict[str, int]: ...
    @property
    def accepted(self) -> List[int]: ...
    @property
    def rejected(self) -> List[int]: ...
    @property
    def validators(self) -> List[int]: ...
    @property
    def kind(self) -> str: ...
    @property
    def preferred_height(self) -> int: ...
    @property
    def preference(self) -> List[int]: ...
    @property
    def last_drop(self) -> Optional[str]: ...
