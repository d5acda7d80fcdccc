"""ConsensusNode: five validators accept a block submitted to one of them, in one event loop
and over ZeroMQ on loopback, for Snowball, chain (Snowman) and DAG (Avalanche) engine types.

Waits are on conditions (``wait_accepted``) with generous limits, never a fixed sleep."""

import asyncio

import pytest

from luxsim import Block, ConsensusNode, ConsensusParams, EngineType, NodeError
from luxsim.node import loopback_nodes

ENGINES = [EngineType.SNOWBALL, EngineType.CHAIN, EngineType.DAG]
LIMIT = 120.0  # seconds: generous, for a loaded 2-core machine


async def accept_everywhere(nodes, engine):
    for node in nodes:
        await node.connect_to_peers(nodes)
    await asyncio.gather(*(node.start() for node in nodes))
    try:
        block = Block(id=1, parent_id=0, height=1, timestamp=0, data=b"tx")
        await nodes[0].submit_block(block)
        done = await asyncio.gather(*(n.wait_accepted(block.id, timeout=LIMIT) for n in nodes))
        assert all(done), [n.stats() for n in nodes]
        for node in nodes:
            assert await node.is_accepted(block.id)
            assert node.status(block.id) == "accepted"
            assert node.accepted == [1]
        # A second block on the first: a chain grows, a DAG vertex joins the frontier.
        second = nodes[2].next_block(2)
        if engine != EngineType.DAG:
            assert (second.parent_id, second.height) == (1, 2)
        await nodes[2].submit_block(second)
        done = await asyncio.gather(*(n.wait_accepted(2, timeout=LIMIT) for n in nodes))
        assert all(done)
        stats = nodes[1].stats()
        assert stats["dropped"] == 0 and stats["unroutable"] == 0, stats
        assert stats["polls_successful"] >= ConsensusParams().beta
    finally:
        await asyncio.gather(*(n.stop() for n in nodes))
    assert not any(n.running for n in nodes)


@pytest.mark.asyncio
@pytest.mark.parametrize("engine", ENGINES, ids=str)
async def test_five_in_process_nodes_accept_a_submitted_block(engine):
    nodes = [ConsensusNode(node_id=i, engine_type=engine, params=ConsensusParams()) for i in range(5)]
    await accept_everywhere(nodes, engine)


@pytest.mark.asyncio
@pytest.mark.parametrize("engine", ENGINES, ids=str)
async def test_five_zeromq_nodes_accept_a_submitted_block(engine):
    pytest.importorskip("zmq")
    nodes = loopback_nodes(5, engine, ConsensusParams())
    await accept_everywhere(nodes, engine)
    assert all(n.stats()["wrong_socket"] == 0 for n in nodes)


@pytest.mark.asyncio
async def test_misuse_is_a_clear_error():
    a, b = ConsensusNode(0), ConsensusNode(1, address="tcp://127.0.0.1:1")
    with pytest.raises(NodeError, match="not started"):
        await a.submit_block(Block(id=1, parent_id=0, height=1, timestamp=0, data=b""))
    with pytest.raises(ValueError, match="different transports"):
        await a.connect_to_peers([b])
    with pytest.raises(ValueError, match="at least one peer"):
        await a.start()
    with pytest.raises(ValueError, match="65535"):
        ConsensusNode(70000)
    c, d = ConsensusNode(0), ConsensusNode(1)
    await c.connect_to_peers([c, d])
    await d.connect_to_peers([c, d])
    await c.start()
    await d.start()
    try:
        with pytest.raises(NodeError, match="after start"):
            await c.connect_to_peers([d])
        with pytest.raises(ValueError, match="does not extend this node's preferred tip"):
            await c.submit_block(Block(id=5, parent_id=9, height=3, timestamp=0, data=b""))
        with pytest.raises(ValueError, match="genesis"):
            await c.submit_block(Block(id=0, parent_id=0, height=1, timestamp=0, data=b""))
    finally:
        await c.stop()
        await d.stop()


def test_a_bad_frame_is_counted_not_raised():
    from luxsim import _luxsim

    m = _luxsim.NodeMachine(0, [0, 1], EngineType.CHAIN, ConsensusParams())
    assert m.receive(0, b"garbage") == (None, [])
    # A well-formed push from a node outside the validator set (docs/wire.md test vector).
    push = bytes.fromhex("4c580105000000010000000001" + "00" * 7 + "02" + "00" * 7 + "01" + "00" * 7 + "02")
    m2 = _luxsim.NodeMachine(0, [0, 2], EngineType.CHAIN, ConsensusParams())
    assert m2.receive(0, push) == (None, [])
    assert m.stats()["dropped"] == 1 and m2.stats()["dropped"] == 1
    assert "not a peer" in (m2.last_drop or "")
    # From a peer it is taken: node 0 now knows block 2 (parked until its parent 1 arrives).
    m3 = _luxsim.NodeMachine(0, [0, 1], EngineType.CHAIN, ConsensusParams())
    sender, sends = m3.receive(0, push)
    assert sender == 1 and m3.stats()["dropped"] == 0
    assert any(frame[3] == 7 for _, frame, _ in sends), "asks its sender for the missing parent"
