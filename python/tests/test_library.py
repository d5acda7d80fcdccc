"""Vote handlers, metrics and the vote log (``to_dataframe``) of ``Consensus``."""

import asyncio

import pandas as pd
import pytest

from lux_consensus import (
    Block,
    Consensus,
    ConsensusParams,
    EngineType,
    MetricsCollector,
    Vote,
    VoteHandler,
    VoteType,
)

SB = EngineType.SNOWBALL


def vote(node: int, block: int = 1, vt: VoteType = VoteType.PREFER) -> Vote:
    return Vote(SB, node, block, vt)


def fresh(**kw) -> Consensus:
    c = Consensus(SB, ConsensusParams(), **kw)
    c.add_block_sync(Block(1, 0, 1, 0, b"one"))
    return c


class RefuseNode(VoteHandler):
    def __init__(self, node: int) -> None:
        self.node = node
        self.contexts = []

    def handle_vote(self, vote, context):
        self.contexts.append(context)
        return vote.node_id != self.node


def test_a_handler_refuses_votes_and_sees_the_context():
    c = fresh()
    h = RefuseNode(3)
    c.set_vote_handler(h)
    outcomes = [c.process_vote_sync(vote(i % 21)) for i in range(42)]
    assert outcomes.count("refused") == 2
    st = c.get_stats()
    assert (st.votes_processed, st.refused_votes) == (42, 2)
    # 21 voters, one refused: the first poll closes with exactly k = 20 votes.
    assert st.polls_recorded == 2
    first = h.contexts[0]
    assert set(first) >= {"poll", "earlier_votes", "block_status", "votes_in_poll"}
    assert (first["poll"], first["earlier_votes"], first["block_status"]) == (1, [], "processing")
    # Second poll, the first vote: nothing earlier from this voter in that poll.
    assert h.contexts[21]["poll"] == 2 and h.contexts[21]["earlier_votes"] == []


def test_the_context_lists_the_voters_earlier_votes_in_this_poll():
    c = fresh()
    h = RefuseNode(-1)
    c.set_vote_handler(h)
    c.process_vote_sync(vote(5))
    assert c.process_vote_sync(vote(5)) == "duplicate"
    assert h.contexts[1]["earlier_votes"] == [vote(5)]
    assert h.contexts[1]["votes_in_poll"] == 1


def test_a_plain_function_is_a_handler_and_none_removes_it():
    c = fresh()
    c.set_vote_handler(lambda v, ctx: False)
    assert c.process_vote_sync(vote(0)) == "refused"
    c.set_vote_handler(None)
    assert c.process_vote_sync(vote(0)) == "counted"
    with pytest.raises(TypeError, match="VoteHandler"):
        c.set_vote_handler(42)


def test_an_async_handler_is_awaited_by_the_coroutine():
    class Slow(VoteHandler):
        async def handle_vote(self, vote, context):
            await asyncio.sleep(0)
            return vote.node_id % 2 == 0

    c = fresh()
    c.set_vote_handler(Slow())

    async def main():
        return [await c.process_vote(vote(i)) for i in range(10)]

    assert asyncio.run(main()).count("refused") == 5
    # The synchronous twin cannot wait: a clear error, not a hang or a crash.
    with pytest.raises(TypeError, match="await consensus.process_vote"):
        c.process_vote_sync(vote(12))


def test_an_async_handler_that_never_suspends_works_synchronously():
    class Quick(VoteHandler):
        async def handle_vote(self, vote, context):
            return vote.node_id != 0

    c = fresh()
    c.set_vote_handler(Quick())
    assert [c.process_vote_sync(vote(i)) for i in range(3)] == ["refused", "counted", "counted"]


def test_a_handler_exception_reaches_the_caller():
    def boom(v, ctx):
        raise RuntimeError("handler failed")

    c = fresh()
    c.set_vote_handler(boom)
    with pytest.raises(RuntimeError, match="handler failed"):
        c.process_vote_sync(vote(1))


def test_metrics_count_votes_and_time_decisions():
    c = fresh()
    m = c.enable_metrics(prometheus=False)
    assert isinstance(m, MetricsCollector) and c.metrics is m
    assert m.average_latency_ms == 0.0
    for i in range(400):
        c.process_vote_sync(vote(i % 20))
    assert c.is_accepted_sync(1)
    d = m.to_dict()
    assert d["votes_processed"] == 400 and d["blocks_decided"] == 1
    assert m.votes_per_second > 0 and m.average_latency_ms > 0 and m.memory_usage_mb > 1
    # The decision log says which vote decided the block: the 400th.
    assert c.decisions() == [(1, 400, True)]


def test_metrics_register_with_prometheus():
    prometheus_client = pytest.importorskip("prometheus_client")
    c = fresh()
    m = c.enable_metrics(prometheus=True)
    c.process_vote_sync(vote(0))
    text = prometheus_client.generate_latest().decode()
    assert f'luxsim_votes_processed{{instance="{m.instance}"}} 1.0' in text
    # A second instance registers under its own label, without a duplicate error.
    c2 = fresh()
    m2 = c2.enable_metrics(prometheus=True)
    assert f'instance="{m2.instance}"' in prometheus_client.generate_latest().decode()


def test_to_dataframe_has_the_docs_columns_and_supports_their_pandas_lines():
    c = fresh()
    for i in range(45):
        c.process_vote_sync(vote(i % 20))
    c.process_vote_sync(vote(3, vt=VoteType.ACCEPT))
    df = c.to_dataframe()
    assert list(df.columns) == ["node_id", "block_id", "vote_type", "timestamp", "poll", "outcome"]
    assert len(df) == 46
    assert str(df["timestamp"].dtype).startswith("datetime64[ns")
    counts = df.groupby(["node_id", "vote_type"], observed=True).size()
    assert counts[(0, "PREFER")] == 3 and counts[(3, "ACCEPT")] == 1
    per_second = df.resample("1s").size()  # pandas >= 3 spells the docs' "1S" as "1s"
    assert per_second.sum() == 46
    assert list(df["poll"][:21]) == [1] * 20 + [2]
    assert df["outcome"].iloc[19] == "poll_recorded"
    assert (df["block_id"] == 1).all()


def test_the_vote_log_can_be_turned_off_and_cleared():
    c = fresh(record_votes=False)
    c.process_vote_sync(vote(0))
    with pytest.raises(RuntimeError, match="record_votes=False"):
        c.to_dataframe()
    c = fresh()
    c.process_vote_sync(vote(0))
    c.clear_votes()
    assert len(c.to_dataframe()) == 0


def test_invalid_votes_are_logged_before_the_error():
    c = fresh()
    with pytest.raises(Exception, match="unknown|block"):
        c.process_vote_sync(vote(0, block=99))
    assert list(c.to_dataframe()["outcome"]) == ["invalid"]


@pytest.mark.asyncio
async def test_the_docs_quick_start_runs_under_pytest_asyncio():
    consensus = Consensus(
        EngineType.SNOWBALL, ConsensusParams(k=20, alpha_preference=15, alpha_confidence=15, beta=20)
    )
    block = Block(id=1, parent_id=0, height=1, timestamp=0, data=b"Hello, Lux!")
    await consensus.add_block(block)
    for _poll in range(20):
        for node_id in range(20):
            await consensus.process_vote(Vote(EngineType.SNOWBALL, node_id, 1, VoteType.PREFER))
    assert await consensus.is_accepted(1)
    assert consensus.get_preference() is None  # nothing is processing any more
    assert consensus.get_stats().blocks_accepted == 1
    assert isinstance(consensus.to_dataframe(), pd.DataFrame)
