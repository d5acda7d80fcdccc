"""The vote feed of ``luxsim node`` from Python: the docs' ``Network`` and ``NetworkConfig``.

A feed is a ZeroMQ PUB socket carrying one 8-byte compact vote per message
(``docs/wire.md``). ``Network`` binds its own PUB at ``bind_address`` (what it
``broadcast``s) and subscribes to the feeds at ``connect_addresses`` (what its ``on_vote``
handlers receive). A ``luxsim node`` whose ``feed_connect`` names this ``bind_address``
counts the votes Python publishes (``luxsim_votes_received_total``); a ``Network`` whose
``connect_addresses`` name a node's ``feed`` follows that node's votes. Needs pyzmq (the
``net`` extra).

Nothing received is lost silently: a message that is not a valid compact vote is counted in
``dropped``, a handler that raises is counted in ``handler_errors`` (and logged), and the
feed keeps running.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, List, Optional, Union

from ._extras import require
from ._luxsim import Vote

__all__ = ["Network", "NetworkConfig"]

log = logging.getLogger("luxsim.network")

VoteCallback = Callable[[Vote], Union[None, Awaitable[None]]]


@dataclass
class NetworkConfig:
    """Where the feed publishes (``bind_address``, or None to only listen) and the feeds it
    follows (``connect_addresses``): ZeroMQ endpoints such as ``tcp://127.0.0.1:7100``."""

    bind_address: Optional[str] = None
    connect_addresses: List[str] = field(default_factory=list)
    #: Most votes queued per subscriber or for sending before ZeroMQ drops (its high-water mark).
    high_water_mark: int = 10_000

    def __post_init__(self) -> None:
        for a in ([self.bind_address] if self.bind_address else []) + list(self.connect_addresses):
            if not isinstance(a, str) or "://" not in a:
                raise ValueError(f"{a!r} is not a ZeroMQ endpoint such as tcp://127.0.0.1:7100")


class Network:
    """A vote feed: ``on_vote``, ``start``, ``broadcast``, ``run_forever``, ``close``."""

    def __init__(self, config: NetworkConfig) -> None:
        self.config = config
        self._handlers: List[VoteCallback] = []
        self._pub: Any = None
        self._subs: List[Any] = []
        self._ctx: Any = None
        self._tasks: List["asyncio.Task[None]"] = []
        self._closed: Optional[asyncio.Event] = None
        #: Votes received and handed to the handlers.
        self.received = 0
        #: Votes published.
        self.sent = 0
        #: Messages received that were not 8-byte compact votes.
        self.dropped = 0
        #: Handler calls that raised.
        self.handler_errors = 0

    def on_vote(self, handler: VoteCallback) -> None:
        """Calls ``handler(vote)`` (a function or a coroutine function) for every vote received."""
        if not callable(handler):
            raise TypeError("on_vote needs a function or a coroutine function taking a Vote")
        self._handlers.append(handler)

    @property
    def endpoint(self) -> Optional[str]:
        """The PUB endpoint actually bound (the port filled in when bound to port 0 or ``*``)."""
        if self._pub is None:
            return None
        return str(self._pub.getsockopt_string(self._zmq.LAST_ENDPOINT))

    async def start(self) -> None:
        """Binds the PUB socket, connects the SUB sockets and starts receiving."""
        if self._ctx is not None:
            raise RuntimeError("the network is already started")
        zmq = require("zmq", "net", "Network")
        self._zmq = zmq
        self._ctx = require("zmq.asyncio", "net", "Network").Context()
        self._closed = asyncio.Event()
        if self.config.bind_address:
            self._pub = self._ctx.socket(zmq.PUB)
            self._pub.setsockopt(zmq.LINGER, 0)
            self._pub.setsockopt(zmq.SNDHWM, self.config.high_water_mark)
            self._pub.bind(self.config.bind_address)
        for address in self.config.connect_addresses:
            s = self._ctx.socket(zmq.SUB)
            s.setsockopt(zmq.LINGER, 0)
            s.setsockopt(zmq.RCVHWM, self.config.high_water_mark)
            s.setsockopt(zmq.MAXMSGSIZE, 1024)
            s.setsockopt(zmq.SUBSCRIBE, b"")
            s.connect(address)
            self._subs.append(s)
            self._tasks.append(asyncio.ensure_future(self._receive(s)))

    async def broadcast(self, vote: Vote) -> None:
        """Publishes ``vote`` (packed to 8 bytes; ``ValueError`` if it does not pack)."""
        if self._pub is None:
            raise RuntimeError("broadcast needs a started network with a bind_address")
        await self._pub.send(vote.pack())
        self.sent += 1

    async def run_forever(self) -> None:
        """Waits until ``close()`` is called (from a handler, another task or a signal)."""
        if self._closed is None:
            raise RuntimeError("run_forever needs a started network")
        await self._closed.wait()

    async def close(self) -> None:
        """Stops receiving, closes every socket and releases ``run_forever``; idempotent."""
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            try:
                await t
            except asyncio.CancelledError:
                pass
        self._tasks.clear()
        for s in self._subs + ([self._pub] if self._pub is not None else []):
            s.close(0)
        self._subs.clear()
        self._pub = None
        if self._ctx is not None:
            self._ctx.term()
            self._ctx = None
        if self._closed is not None:
            self._closed.set()

    async def __aenter__(self) -> "Network":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _receive(self, sock: Any) -> None:
        while True:
            data = await sock.recv()
            try:
                vote = Vote.unpack(data)
            except ValueError as e:
                self.dropped += 1
                log.debug("dropped a feed message: %s", e)
                continue
            self.received += 1
            for h in self._handlers:
                try:
                    r = h(vote)
                    if inspect.isawaitable(r):
                        await r
                except Exception:  # a handler's failure must not stop the feed
                    self.handler_errors += 1
                    log.exception("vote handler failed on %s", vote)
