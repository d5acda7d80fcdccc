"""Byzantine behaviour, two ways: a simulated network under an adversary of the
literature, and a vote handler that refuses an equivocating validator.

Run: python examples/python/byzantine_test.py   (needs the ``data`` extra)
"""

from pathlib import Path
from typing import Any, Dict, Set

import luxsim
from lux_consensus import Block, Consensus, ConsensusParams, EngineType, Vote, VoteHandler, VoteType

ROOT = Path(__file__).resolve().parents[2]


def simulated() -> None:
    """Honest finality of 2,000 validators without an adversary, with 1 % silent nodes,
    and with 1 % of the informed balancing adversary (docs/adversaries.md)."""
    scenario = luxsim.Scenario.load(ROOT / "scenarios" / "byzantine.toml")
    cases: Dict[str, Dict[str, Any]] = {
        "none": {"byzantine.fraction": 0.0},
        "silent": {"byzantine.strategy": "silent"},
        "balance-informed": {"byzantine.strategy": "balance-informed"},
    }
    for strategy, change in cases.items():
        r = luxsim.run(scenario.override(change), trace="decisions")
        s = r.summary
        p50 = s["finality_ms"]["p50"] if s["finality_ms"] else float("nan")
        print(
            f"{strategy:>17}: {len(r.byzantine)} byzantine nodes, honest finalized "
            f"{s['honest_finalized'] * 100:.0f}%, p50 {p50:.0f} ms, safety violated: {s['safety_violation']}"
        )


class EquivocationGuard(VoteHandler):
    """Refuses every vote from a validator once it voted for two blocks in one poll."""

    def __init__(self) -> None:
        self.caught: Set[int] = set()

    def handle_vote(self, vote: Vote, context: Dict[str, Any]) -> bool:
        if any(v.block_id != vote.block_id for v in context["earlier_votes"]):
            self.caught.add(vote.node_id)
        return vote.node_id not in self.caught


def library() -> None:
    c = Consensus(
        EngineType.SNOWBALL, ConsensusParams(k=20, alpha_preference=15, alpha_confidence=15, beta=20)
    )
    for b in (1, 2):
        c.add_block_sync(Block(b, 0, 1, 0, b"conflicting"))
    guard = EquivocationGuard()
    c.set_vote_handler(guard)
    # Validator 7 votes for both blocks in the first poll; 20 honest validators prefer block 1.
    c.process_vote_sync(Vote(EngineType.SNOWBALL, 7, 1, VoteType.PREFER))
    c.process_vote_sync(Vote(EngineType.SNOWBALL, 7, 2, VoteType.PREFER))
    for _poll in range(20):
        for node in range(20, 40):
            c.process_vote_sync(Vote(EngineType.SNOWBALL, node, 1, VoteType.PREFER))
        c.process_vote_sync(Vote(EngineType.SNOWBALL, 7, 2, VoteType.PREFER))
    st = c.get_stats()
    print(
        f"caught equivocating: {sorted(guard.caught)}; refused votes: {st.refused_votes}; "
        f"block 1 accepted: {c.is_accepted_sync(1)}, block 2: {c.status(2)}"
    )
    assert guard.caught == {7} and c.is_accepted_sync(1)


if __name__ == "__main__":
    simulated()
    library()
