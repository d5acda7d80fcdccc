"""The Lux docs' network example: a local cluster's vote feed fed to a ``Consensus``.

Run: python examples/python/network_node.py               (needs the ``net`` extra)

It starts a local DAG (Avalanche) cluster of three ``luxsim node`` processes
(``$LUXSIM_BIN``, else ``luxsim`` on PATH) from YAML files in the shape of
examples/config.yaml, each publishing a vote feed, and proposing 60 payments in vertices
on a shared slot schedule. With ``--connect tcp://HOST:PORT ...`` it follows the feeds of
a cluster already running instead. As in the docs, every vote received goes to a
``Consensus(EngineType.AVALANCHE)`` in this process through ``network.on_vote``; a
``luxsim node`` DAG validator publishes an accept vote per vertex it accepts, so the
Python instance accepts each vertex that the cluster's validators vote for. Python also
publishes a vote on its own feed, which the nodes follow and count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import List, Optional

from lux_consensus import Block, Consensus, ConsensusParams, EngineType, Vote, VoteType
from lux_consensus.network import Network, NetworkConfig
from luxsim.node import free_ports

PAYMENTS = 60
PYTHON_ID = 99  # the node id of this process's own votes

NODE_YAML = """\
node:
  id: {id}
  max_time: 120s
consensus:
  engine: dag
  params: {{k: 20, alpha_preference: 15, alpha_confidence: 15, beta: 20}}
  ledger: {{proposers: [0, 1, 2], transactions: 60, batch: 10, block_interval: 200ms}}
network:
  bind_address: "tcp://127.0.0.1:{listen}"
  peers: [{peers}]
  feed: "tcp://127.0.0.1:{feed}"
  feed_connect: ["tcp://127.0.0.1:{python_feed}"]
monitoring:
  log_level: warn
"""


def start_cluster(tmp: Path, python_feed: int) -> "tuple[List[subprocess.Popen[str]], List[str]]":
    """Three nodes on free ports of 127.0.0.1; returns the processes and their feeds."""
    binary = os.environ.get("LUXSIM_BIN") or shutil.which("luxsim")
    if not binary:
        sys.exit("needs the luxsim binary: set LUXSIM_BIN or put luxsim on PATH")
    ports = free_ports(6)
    listen, feeds = ports[:3], ports[3:]
    procs = []
    for i in range(3):
        peers = ", ".join(f'"tcp://127.0.0.1:{listen[j]}"' for j in range(3) if j != i)
        path = tmp / f"node-{i}.yaml"
        path.write_text(
            NODE_YAML.format(id=i, listen=listen[i], peers=peers, feed=feeds[i], python_feed=python_feed)
        )
        procs.append(
            subprocess.Popen([binary, "node", "--config", str(path)], stdout=subprocess.PIPE, text=True)
        )
    return procs, [f"tcp://127.0.0.1:{p}" for p in feeds]


async def run_network_node(connect: List[str], bind_address: str, cluster: Optional[list]) -> int:
    # Configure network (the docs' example, with this machine's addresses).
    config = NetworkConfig(bind_address=bind_address, connect_addresses=connect)
    # Each vertex gets one accept vote per validator: a poll of k = 3 votes, beta = 1.
    params = ConsensusParams(k=3, alpha_preference=2, alpha_confidence=2, beta=1, concurrent_polls=1)

    # Create network and consensus
    network = Network(config)
    consensus = Consensus(EngineType.AVALANCHE, params)

    # Set vote handler. The feed carries votes, not vertices: a vertex is registered the
    # first time a vote names it, as a child of the vertex registered before it (its own
    # parents are not on the feed, and siblings would conflict in this instance).
    newest = [0]

    async def handle_vote(vote: Vote) -> None:
        if vote.node_id == PYTHON_ID:
            return
        if consensus.status(vote.block_id) is None:
            parent, height = newest[0], len(newest)
            await consensus.add_block(
                Block(id=vote.block_id, parent_id=parent, height=height, timestamp=0, data=b"")
            )
            newest[0] = vote.block_id
            newest.append(vote.block_id)
        await consensus.process_vote(vote)

    network.on_vote(handle_vote)

    # Start network
    await network.start()

    # Broadcast vote: the nodes follow this feed and count it (luxsim_votes_received_total).
    vote = Vote(EngineType.AVALANCHE, PYTHON_ID, 1, VoteType.PREFER)
    await network.broadcast(vote)

    # Run event loop, until the cluster has decided every payment (or 120 s pass).
    watch = asyncio.ensure_future(close_when_done(network, cluster))
    await network.run_forever()
    cluster_accepted = await watch
    decided = {block_id for block_id, _, _ in consensus.decisions()}
    accepted = sorted(b for b in cluster_accepted | decided if consensus.is_accepted_sync(b))
    print(f"feed: {network.received} votes received, {network.dropped} dropped, {network.sent} sent")
    print(f"Consensus(AVALANCHE) accepted vertices {accepted} from the feed")
    if cluster is not None:
        print(f"the cluster accepted vertices {sorted(cluster_accepted)}")
        return 0 if accepted and set(accepted) <= cluster_accepted else 1
    return 0 if accepted else 1


async def close_when_done(network: Network, cluster: Optional[list], limit: float = 120.0) -> "set[int]":
    """Closes ``network`` once every node reported all payments decided (or after ``limit``
    seconds, or at once without a cluster of ours); returns the vertices they accepted."""
    accepted: "set[int]" = set()
    if cluster is None:
        await asyncio.sleep(limit)
        await network.close()
        return accepted
    loop = asyncio.get_running_loop()

    def read(proc: "subprocess.Popen[str]") -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            event = json.loads(line)
            if event["event"] == "accepted":
                accepted.add(int(event["id"]))
                if event.get("accepted_txs") == PAYMENTS:
                    return

    try:
        await asyncio.wait_for(asyncio.gather(*(loop.run_in_executor(None, read, p) for p in cluster)), limit)
        await asyncio.sleep(0.5)  # the last accept votes are on their way
    except asyncio.TimeoutError:
        print(f"the cluster did not decide every payment within {limit} s")
    finally:
        for p in cluster:  # SIGTERM: each node stops cleanly, which ends its reader
            p.terminate()
        await network.close()
    return accepted


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--connect", nargs="+", help="feeds of a running cluster (default: start one)")
    ap.add_argument("--bind", help="this process's feed (default: a free port of 127.0.0.1)")
    args = ap.parse_args()
    bind = args.bind or f"tcp://127.0.0.1:{free_ports(1)[0]}"
    if args.connect:
        return asyncio.run(run_network_node(args.connect, bind, None))
    with tempfile.TemporaryDirectory() as tmp:
        procs, feeds = start_cluster(Path(tmp), int(bind.rsplit(":", 1)[1]))
        try:
            return asyncio.run(run_network_node(feeds, bind, procs))
        finally:
            for p in procs:
                if p.poll() is None:
                    p.terminate()
                    p.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
