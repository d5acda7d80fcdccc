"""``Consensus`` with the docs' coroutines, vote handlers, metrics and ``to_dataframe``.

Every coroutine has a synchronous twin for scripts and notebooks:

=======================  ============================
coroutine                synchronous twin
=======================  ============================
``await add_block(b)``   ``add_block_sync(b)``
``await process_vote(v)`` ``process_vote_sync(v)``
``await is_accepted(i)`` ``is_accepted_sync(i)``
``await poll(i)``        ``poll_sync(i)``
=======================  ============================

``get_preference``, ``get_stats``, ``process_votes``, ``set_vote_handler``,
``enable_metrics`` and ``to_dataframe`` are synchronous.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Dict, List, Optional, Union

from . import _luxsim
from ._extras import require
from ._luxsim import Block, Vote
from .metrics import MetricsCollector

if TYPE_CHECKING:  # pragma: no cover
    import pandas

VOTE_TYPE_NAMES = ["PREFER", "ACCEPT", "REJECT"]


class VoteHandler:
    """Sees every vote before it is counted and may refuse it.

    Subclass it and override ``handle_vote`` (a plain ``def`` or an ``async def``);
    return ``False`` to refuse the vote. ``context`` is a dict with ``poll`` (the poll under
    way, from 1), ``earlier_votes`` (the voter's votes already handed in during that poll),
    ``block_status`` ("processing", "accepted", "rejected" or None for an unknown block),
    ``votes_in_poll`` and ``engine_type``.
    """

    def handle_vote(self, vote: Vote, context: Dict[str, Any]) -> Union[bool, Awaitable[bool]]:
        """Returns whether ``vote`` may be counted (the base class accepts every vote)."""
        return True


HandlerLike = Union[VoteHandler, Callable[[Vote, Dict[str, Any]], Any]]


class Consensus(_luxsim.Consensus):
    """One consensus instance: blocks in, votes in, decisions out.

    ``Consensus(engine_type, params=None, record_votes=True)``: with ``record_votes`` every
    vote handed in is logged (32 bytes each) for ``to_dataframe()``; pass ``False`` for
    long-lived instances that do not need the log, or call ``clear_votes()``.
    """

    _handler_is_async: bool = False
    _handler_fn: Optional[Callable[..., Any]] = None
    _metrics: Optional[MetricsCollector] = None

    async def add_block(self, block: Block) -> str:
        """Adds a block; returns its status ("processing", "accepted" or "rejected")."""
        return self.add_block_sync(block)

    async def process_vote(self, vote: Vote) -> str:
        """Counts one vote; returns what became of it ("counted", "poll_recorded", ...).

        An ``async`` vote handler is awaited here; the synchronous twin accepts one only if
        it never suspends.
        """
        fn = self._handler_fn
        if fn is None or not self._handler_is_async:
            return self.process_vote_sync(vote)
        allowed = await fn(vote, self.vote_context(vote))
        return self.process_judged(vote, bool(allowed))

    async def is_accepted(self, block_id: int) -> bool:
        """Whether the block is accepted."""
        return self.is_accepted_sync(block_id)

    async def poll(self, block_id: int) -> List[Vote]:
        """Closes the poll under way (as its timeout would); returns the votes it counted."""
        return self.poll_sync(block_id)

    def set_vote_handler(self, handler: Optional[HandlerLike]) -> None:
        """Installs a ``VoteHandler`` (or a callable ``(vote, context) -> bool``); None
        removes it."""
        if handler is None:
            fn: Optional[Callable[..., Any]] = None
        elif hasattr(handler, "handle_vote"):
            fn = handler.handle_vote
        elif callable(handler):
            fn = handler
        else:
            raise TypeError(
                "set_vote_handler: expected a VoteHandler or a callable (vote, context) -> bool, "
                f"got {type(handler).__name__}"
            )
        self._handler_fn = fn
        self._handler_is_async = fn is not None and inspect.iscoroutinefunction(fn)
        self.set_handler_callable(fn)

    def enable_metrics(self, prometheus: Optional[bool] = None) -> MetricsCollector:
        """Starts a ``MetricsCollector`` on this instance and returns it (also at
        ``.metrics``). With ``prometheus_client`` installed (or ``prometheus=True``) its
        gauges are registered in the default registry, labelled by instance."""
        if self._metrics is None:
            self._metrics = MetricsCollector(self)
        if prometheus or (prometheus is None and MetricsCollector.prometheus_available()):
            self._metrics.register_prometheus()
        return self._metrics

    @property
    def metrics(self) -> Optional[MetricsCollector]:
        """The collector started by ``enable_metrics()``, or None."""
        return self._metrics

    def to_dataframe(self) -> "pandas.DataFrame":
        """One row per vote handed in, in order: ``node_id``, ``block_id``, ``vote_type``
        (PREFER, ACCEPT, REJECT), ``timestamp`` (wall clock, UTC), ``poll`` (the poll it
        went into, from 1) and ``outcome`` (counted, poll_recorded, duplicate,
        already_decided, refused, invalid). The index is the timestamp too, so
        ``df.resample("1s")`` works; needs the ``data`` extra (pandas)."""
        if not self.record_votes:
            raise RuntimeError("to_dataframe: this Consensus was made with record_votes=False")
        pd = require("pandas", "data", "to_dataframe")
        np = require("numpy", "data", "to_dataframe")
        cols = self.vote_columns()
        ts = pd.to_datetime(np.frombuffer(cols["timestamp_ns"], dtype="<i8"), unit="ns", utc=True)
        df = pd.DataFrame(
            {
                "node_id": np.frombuffer(cols["node_id"], dtype="<u4"),
                "block_id": np.frombuffer(cols["block_id"], dtype="<u8"),
                "vote_type": pd.Categorical.from_codes(
                    np.frombuffer(cols["vote_type"], dtype="u1"), categories=VOTE_TYPE_NAMES
                ),
                "timestamp": ts,
                "poll": np.frombuffer(cols["poll"], dtype="<u8"),
                "outcome": pd.Categorical.from_codes(
                    np.frombuffer(cols["outcome"], dtype="u1"), categories=list(_luxsim.OUTCOMES)
                ),
            },
            index=pd.DatetimeIndex(ts, name="time"),
        )
        return df
