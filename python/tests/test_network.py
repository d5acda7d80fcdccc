"""Python and ``luxsim node`` on one loopback network.

A ``luxsim node`` chain validator (id 0) and three Python ``ConsensusNode``s (ids 1-3) are
peers over ZeroMQ with the frames of docs/wire.md; a block submitted from Python is accepted
by the Rust node too. A Python ``Network`` follows the node's vote feed and decodes its
accept vote, and publishes votes that the node counts (``luxsim_votes_received_total``).

Needs the luxsim binary built with the bridge feature: ``$LUXSIM_BIN`` or target/debug.
"""

import asyncio
import json
import signal
import subprocess
import threading
import urllib.request

import pytest
from conftest import ROOT

from luxsim import ConsensusNode, ConsensusParams, EngineType, Vote, VoteType
from luxsim.network import Network, NetworkConfig
from luxsim.node import free_ports

pytest.importorskip("zmq")
LIMIT = 120.0


def metric(port, series):
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


async def until(check, limit=LIMIT, every=0.05):
    loop = asyncio.get_running_loop()
    end = loop.time() + limit
    while loop.time() < end:
        if check():
            return True
        await asyncio.sleep(every)
    return check()


@pytest.mark.asyncio
async def test_python_nodes_and_a_luxsim_node_share_a_network_and_a_feed(tmp_path, luxsim_bin):
    listen, feed, metrics, py_feed, *python_ports = free_ports(7)
    params = ConsensusParams(k=3, alpha_preference=2, alpha_confidence=2, beta=3, concurrent_polls=1)
    peers = "\n".join(
        f'[[peers]]\nid = {i + 1}\naddress = "tcp://127.0.0.1:{p}"\n' for i, p in enumerate(python_ports)
    )
    config = tmp_path / "node.toml"
    config.write_text(
        f"""id = 0
listen = "tcp://127.0.0.1:{listen}"
feed = "tcp://127.0.0.1:{feed}"
feed_connect = ["tcp://127.0.0.1:{py_feed}"]
metrics_port = {metrics}
poll_timeout = "1s"
max_time = "300s"

[params]
k = 3
alpha_preference = 2
alpha_confidence = 2
beta = 3
concurrent_polls = 1

[ledger]
kind = "chain"

{peers}"""
    )
    proc = subprocess.Popen(
        [luxsim_bin, "node", "--config", str(config)], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()

    received = []
    net = Network(
        NetworkConfig(
            bind_address=f"tcp://127.0.0.1:{py_feed}", connect_addresses=[f"tcp://127.0.0.1:{feed}"]
        )
    )

    async def handle_vote(vote):
        received.append(vote)

    net.on_vote(handle_vote)
    nodes = [
        ConsensusNode(i + 1, EngineType.CHAIN, params, address=f"tcp://127.0.0.1:{p}")
        for i, p in enumerate(python_ports)
    ]
    remote = (0, f"tcp://127.0.0.1:{listen}")
    try:
        await net.start()
        for n in nodes:
            await n.connect_to_peers([*nodes, remote])
        await asyncio.gather(*(n.start() for n in nodes))
        # A subscription joins late (ZeroMQ's PUB drops what is published before it): add
        # blocks until the node's accept vote for one of them arrives on the feed.
        for block_id in range(1, 200):
            await nodes[0].submit_block(nodes[0].next_block(block_id))
            done = await asyncio.gather(*(n.wait_accepted(block_id, timeout=LIMIT) for n in nodes))
            assert all(done), [n.stats() for n in nodes]
            accept = Vote(EngineType.CHAIN, 0, block_id, VoteType.ACCEPT)
            if await until(lambda v=accept: v in received, limit=1.0):
                break
        assert accept in received, "\n".join(map(str, [received[-5:], *lines[-8:]]))
        assert all(v.node_id == 0 and v.vote_type == VoteType.ACCEPT for v in received)

        # The node counts what Python publishes (PUB/SUB joins late: publish until counted).
        mine = Vote(EngineType.CHAIN, 9, 1, VoteType.PREFER)

        async def publish_until_counted():
            for _ in range(int(LIMIT / 0.05)):
                await net.broadcast(mine)
                if (metric(metrics, "luxsim_votes_received_total") or 0) > 0:
                    return True
                await asyncio.sleep(0.05)
            return False

        assert await publish_until_counted()
        assert net.sent > 0 and net.dropped == 0 and net.handler_errors == 0
    finally:
        await asyncio.gather(*(n.stop() for n in nodes))
        await net.close()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
        reader.join(timeout=10)
    assert code == 0
    events = [json.loads(line) for line in lines if line.startswith("{")]
    accepted = [e["id"] for e in events if e["event"] == "accepted"]
    assert accepted[:block_id] == list(range(1, block_id + 1)), events[-5:]


@pytest.mark.asyncio
async def test_a_network_counts_what_is_not_a_vote_and_survives_a_failing_handler():
    pytest.importorskip("zmq")
    import zmq
    import zmq.asyncio

    (port,) = free_ports(1)
    ctx = zmq.asyncio.Context()
    pub = ctx.socket(zmq.PUB)
    pub.bind(f"tcp://127.0.0.1:{port}")
    net = Network(NetworkConfig(connect_addresses=[f"tcp://127.0.0.1:{port}"]))
    seen = []

    def bad(vote):
        raise RuntimeError("boom")

    net.on_vote(bad)
    net.on_vote(seen.append)
    await net.start()
    good = Vote(EngineType.SNOWBALL, 3, 7, VoteType.PREFER)
    try:
        for _ in range(int(LIMIT / 0.02)):
            await pub.send(b"\x00\x01")
            await pub.send(good.pack())
            await asyncio.sleep(0.02)
            if seen and net.dropped:
                break
        assert seen[0] == good
        assert net.dropped > 0 and net.handler_errors == len(seen) == net.received
        with pytest.raises(RuntimeError, match="bind_address"):
            await net.broadcast(good)
    finally:
        await net.close()
        pub.close(0)
        ctx.term()
    await asyncio.wait_for(net.run_forever(), 5)  # released by close()
    with pytest.raises(ValueError, match="endpoint"):
        NetworkConfig(bind_address="nowhere")
