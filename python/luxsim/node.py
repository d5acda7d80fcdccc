"""Networked validators in asyncio: the docs' ``ConsensusNode``.

Each node runs the project's chain/DAG validator (``LedgerNode``, the state machine the
simulator and ``luxsim node`` drive) through the Rust ``NodeMachine``, which also encodes
and decodes the frames of ``docs/wire.md``. Python supplies the clock (the event loop's) and
a transport:

- **in-process** (no ``address``): nodes of one event loop hand frames to each other's
  inbox queues;
- **ZeroMQ** (``address="tcp://127.0.0.1:7000"``): the envelope of ``luxsim node``, one
  ROUTER bound at ``address`` as the inbox and one DEALER per peer as the outbox, replies
  back on the connection of their request. Needs pyzmq (the ``net`` extra).

Engine types: ``SNOWBALL``, ``SNOWFLAKE``, ``SLUSH`` run a chain whose choice among sibling
blocks is that protocol; ``CHAIN`` is Snowman (Snowflake per block, as avalanchego);
``DAG`` and ``AVALANCHE`` a DAG of vertices, each submitted block a vertex with one
transaction.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Deque, Dict, Iterable, List, Optional, Tuple, Union

from . import _luxsim
from ._luxsim import Block, ConsensusParams, EngineType

__all__ = ["ConsensusNode", "NodeError", "free_ports", "loopback_nodes"]

#: Kind byte (offset 3) of the frames that are replies: answers (2, 4) and puts (6).
_REPLY_KINDS = frozenset({2, 4, 6})


class NodeError(RuntimeError):
    """A node was used out of order (submit before start, peers after start, ...)."""


Sends = List[Tuple[int, bytes, bool]]
Peer = Union["ConsensusNode", Tuple[int, str]]


class ConsensusNode:
    """One validator on a real transport (see the module's doc).

    ``params`` defaults to ``ConsensusParams()`` (the docs' k = 20, alpha 15, beta 20):
    with stake sampling, as avalanchego samples, a poll of k = 20 slots among 4 peers asks
    each of them once and counts its answer once per slot it fills.
    """

    def __init__(
        self,
        node_id: int,
        engine_type: EngineType = EngineType.SNOWBALL,
        params: Optional[ConsensusParams] = None,
        *,
        address: Optional[str] = None,
        stake: float = 1.0,
        poll_timeout: float = 1.0,
        seed: Optional[int] = None,
    ) -> None:
        if not 0 <= node_id <= 0xFFFF:
            raise ValueError(f"node_id {node_id} must be between 0 and 65535 (votes carry u16 node ids)")
        if poll_timeout <= 0:
            raise ValueError(f"poll_timeout ({poll_timeout}) must be greater than 0 seconds")
        self.node_id = node_id
        self.engine_type = engine_type
        self.params = params if params is not None else ConsensusParams()
        self.params.validate()
        self.address = address
        self.stake = stake
        self.poll_timeout = poll_timeout
        self.seed = seed
        self._peers: Dict[int, Tuple[Optional["ConsensusNode"], Optional[str], float]] = {}
        self._machine: Optional[Any] = None
        self._inbox: Deque[Tuple[bytes, Any]] = deque()
        self._wake: Optional[asyncio.Event] = None
        self._task: Optional["asyncio.Task[None]"] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._waiters: List["asyncio.Future[None]"] = []
        self._zmq: Optional[_ZmqTransport] = None
        #: Replies with no connection to go back on, and sends to no known peer.
        self.unroutable = 0
        #: ZeroMQ messages on the wrong socket or of the wrong shape (docs/wire.md).
        self.wrong_socket = 0

    def __repr__(self) -> str:
        where = self.address or "in-process"
        state = "running" if self.running else "stopped"
        peers = len(self._peers)
        return f"ConsensusNode({self.node_id}, {self.engine_type}, {where}, {peers} peers, {state})"

    # -- setup ---------------------------------------------------------------------------

    async def connect_to_peers(self, nodes: Iterable[Peer]) -> None:
        """Adds peers: ``ConsensusNode``s (itself is skipped) or ``(node_id, address)`` pairs
        of remote nodes. Call before ``start()``; the network is fixed from then on."""
        if self._machine is not None:
            raise NodeError("connect_to_peers() after start(): the validator set is fixed at start")
        for n in nodes:
            if isinstance(n, ConsensusNode):
                if n is self:
                    continue
                if (n.address is None) != (self.address is None):
                    raise ValueError(
                        f"node {n.node_id} and node {self.node_id} use different transports: "
                        "give every node an address (ZeroMQ) or none (in-process)"
                    )
                entry: Tuple[Optional[ConsensusNode], Optional[str], float] = (n, n.address, n.stake)
                nid = n.node_id
            else:
                nid, addr = n
                if self.address is None:
                    raise ValueError(f"peer {nid} at {addr}: a remote peer needs this node's address")
                entry = (None, addr, 1.0)
            if nid == self.node_id:
                raise ValueError(f"peer id {nid} is this node's own id")
            old = self._peers.get(nid)
            if old is not None and old[:2] != entry[:2]:
                raise ValueError(f"peer id {nid} is given twice, differently")
            self._peers[nid] = entry

    async def start(self) -> None:
        """Builds the state machine over this node and its peers, opens the transport and
        starts polling in a background task; returns at once."""
        if self._machine is not None:
            raise NodeError(f"node {self.node_id} is already started")
        ids = [self.node_id] + sorted(self._peers)
        stakes = [self.stake] + [self._peers[i][2] for i in sorted(self._peers)]
        self._machine = _luxsim.NodeMachine(
            self.node_id,
            ids,
            self.engine_type,
            self.params,
            poll_timeout_ms=max(1, round(self.poll_timeout * 1000)),
            seed=self.seed,
            stakes=stakes,
        )
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        if self.address is not None:
            self._zmq = _ZmqTransport(self)
            await self._zmq.open({i: p[1] for i, p in self._peers.items() if p[1] is not None})
        self._task = asyncio.ensure_future(self._run())

    # -- the docs' operations ------------------------------------------------------------

    async def submit_block(self, block: Block) -> None:
        """Proposes ``block`` from this node: every peer hears of it and polls on it. A
        chain block must extend the node's preferred tip (see ``next_block``)."""
        m = self._require()
        self._send(m.submit(self._now(), block), None)
        self._notify()

    def next_block(self, block_id: int, data: bytes = b"") -> Block:
        """A block that extends this node's preference now (parent and height filled in)."""
        m = self._require()
        pref = m.preference
        parent = pref[0] if pref and m.kind == "chain" else 0
        height = m.preferred_height + 1 if m.kind == "chain" else 1
        return Block(id=block_id, parent_id=parent, height=height, timestamp=0, data=data)

    async def is_accepted(self, block_id: int) -> bool:
        """Whether this node accepted ``block_id``."""
        return bool(self._require().is_accepted(block_id))

    def status(self, block_id: int) -> Optional[str]:
        """``"processing"``, ``"accepted"``, ``"rejected"`` or None (never seen here)."""
        return self._require().status(block_id)

    async def wait_accepted(self, block_id: int, timeout: Optional[float] = None) -> bool:
        """Waits until ``block_id`` is accepted here (True) or ``timeout`` seconds pass (False)."""
        m = self._require()
        loop = asyncio.get_running_loop()
        end = None if timeout is None else loop.time() + timeout
        while not m.is_accepted(block_id):
            if end is not None and loop.time() >= end:
                return False
            # Woken by the node's loop at each acceptance, or by the deadline; no
            # asyncio.wait_for, whose cancellation can be lost on Python 3.8-3.11.
            fut: "asyncio.Future[None]" = loop.create_future()
            self._waiters.append(fut)
            timer = None if end is None else loop.call_at(end, _resolve, fut)
            try:
                await fut
            finally:
                if timer is not None:
                    timer.cancel()
        return True

    @property
    def accepted(self) -> List[int]:
        """Ids this node accepted, in order."""
        return list(self._require().accepted)

    @property
    def running(self) -> bool:
        """Whether the node's task is running."""
        return self._task is not None and not self._task.done()

    def stats(self) -> Dict[str, int]:
        """Frames in and out, frames dropped, polls, decisions, unroutable replies, messages
        on the wrong socket."""
        s = dict(self._require().stats())
        s["unroutable"] = self.unroutable
        s["wrong_socket"] = self.wrong_socket
        return s

    async def stop(self) -> None:
        """Stops polling and closes the transport; idempotent."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=30)
            if not done:
                raise NodeError(f"node {self.node_id}'s task did not stop within 30 s of its cancellation")
            if not task.cancelled() and task.exception() is not None:
                raise NodeError(f"node {self.node_id}'s loop failed") from task.exception()
        if self._zmq is not None:
            self._zmq.close()
            self._zmq = None

    async def __aenter__(self) -> "ConsensusNode":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- the loop ------------------------------------------------------------------------

    def _require(self) -> Any:
        if self._machine is None:
            raise NodeError(f"node {self.node_id} is not started: await node.start() first")
        return self._machine

    def _now(self) -> int:
        assert self._loop is not None
        return int(self._loop.time() * 1e9)

    def _deliver(self, frame: bytes, conn: Any) -> None:
        """Called by a peer (in-process) or the ZeroMQ transport: queue a frame."""
        self._inbox.append((frame, conn))
        if self._wake is not None:
            self._wake.set()

    def _send(self, sends: Sends, conn: Any) -> None:
        for to, frame, reply in sends:
            if self._zmq is not None:
                self._zmq.send(to, frame, conn if reply else None, reply)
                continue
            peer = self._peers.get(to, (None, None, 0.0))[0]
            if peer is None:
                self.unroutable += 1
            else:
                peer._deliver(frame, self.node_id)

    def _notify(self) -> None:
        """Wakes every ``wait_accepted``: something was accepted."""
        waiters, self._waiters = self._waiters, []
        for f in waiters:
            _resolve(f)

    async def _run(self) -> None:
        m = self._require()
        loop = asyncio.get_running_loop()
        assert self._wake is not None
        self._send(m.start(self._now()), None)
        while True:
            due = m.next_timer()
            if not self._inbox:
                self._wake.clear()
                timer = None
                if due is not None:
                    timer = loop.call_later(max(0.0, (due - self._now()) / 1e9), self._wake.set)
                try:
                    await self._wake.wait()
                finally:
                    if timer is not None:
                        timer.cancel()
            before = len(m.accepted)
            now = self._now()
            while self._inbox:
                frame, conn = self._inbox.popleft()
                _, sends = m.receive(now, frame)
                self._send(sends, conn)
            self._send(m.fire(self._now()), None)
            if len(m.accepted) != before:
                self._notify()
            await asyncio.sleep(0)


def _resolve(fut: "asyncio.Future[None]") -> None:
    if not fut.done():
        fut.set_result(None)


class _ZmqTransport:
    """The ``luxsim node`` envelope on pyzmq's asyncio sockets (``docs/wire.md``)."""

    def __init__(self, node: ConsensusNode) -> None:
        from ._extras import require

        self._zmq = require("zmq", "net", "ConsensusNode(address=...)")
        self.node = node
        self.ctx = require("zmq.asyncio", "net", "ConsensusNode(address=...)").Context()
        self.router: Any = None
        self.dealers: Dict[int, Any] = {}
        self.tasks: List["asyncio.Task[None]"] = []

    async def open(self, peers: Dict[int, str]) -> None:
        zmq = self._zmq
        self.router = self.ctx.socket(zmq.ROUTER)
        self.router.setsockopt(zmq.LINGER, 0)
        self.router.setsockopt(zmq.MAXMSGSIZE, 9184)
        assert self.node.address is not None
        self.router.bind(self.node.address)
        for nid, addr in peers.items():
            d = self.ctx.socket(zmq.DEALER)
            d.setsockopt(zmq.LINGER, 0)
            d.setsockopt(zmq.MAXMSGSIZE, 9184)
            d.connect(addr)
            self.dealers[nid] = d
        self.tasks.append(asyncio.ensure_future(self._read_router()))
        for d in self.dealers.values():
            self.tasks.append(asyncio.ensure_future(self._read_dealer(d)))

    def send(self, to: int, frame: bytes, routing: Optional[bytes], reply: bool) -> None:
        zmq = self._zmq
        try:
            if reply:
                if routing is None:
                    self.node.unroutable += 1
                    return
                self.router.send_multipart([routing, frame], flags=zmq.NOBLOCK)
            elif to in self.dealers:
                self.dealers[to].send(frame, flags=zmq.NOBLOCK)
            else:
                self.node.unroutable += 1
        except zmq.Again:
            self.node.unroutable += 1

    async def _read_router(self) -> None:
        while True:
            parts = await self.router.recv_multipart()
            if len(parts) != 2 or len(parts[1]) < 4 or parts[1][3] in _REPLY_KINDS:
                self.node.wrong_socket += 1
                continue
            self.node._deliver(parts[1], parts[0])

    async def _read_dealer(self, d: Any) -> None:
        while True:
            parts = await d.recv_multipart()
            if len(parts) != 1 or len(parts[0]) < 4 or parts[0][3] not in _REPLY_KINDS:
                self.node.wrong_socket += 1
                continue
            self.node._deliver(parts[0], None)

    def close(self) -> None:
        for t in self.tasks:
            t.cancel()
        for d in self.dealers.values():
            d.close(0)
        if self.router is not None:
            self.router.close(0)
        self.ctx.term()


def free_ports(count: int) -> List[int]:
    """``count`` distinct TCP ports free on 127.0.0.1 now, drawn below the ephemeral range
    (32768 and up on Linux), so that no outgoing connection takes one before it is bound."""
    import random
    import socket

    rng = random.Random()
    ports: List[int] = []
    while len(ports) < count:
        p = rng.randrange(20000, 32000)
        if p in ports:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                continue
        ports.append(p)
    return ports


def loopback_nodes(
    count: int, engine_type: EngineType = EngineType.SNOWBALL, params: Optional[ConsensusParams] = None
) -> List[ConsensusNode]:
    """``count`` ZeroMQ nodes with ids 0.. on free ports of 127.0.0.1 (not started)."""
    return [
        ConsensusNode(i, engine_type, params, address=f"tcp://127.0.0.1:{p}")
        for i, p in enumerate(free_ports(count))
    ]
