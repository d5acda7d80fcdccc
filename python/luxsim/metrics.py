"""``MetricsCollector``: throughput, decision latency and memory of a ``Consensus``.

Definitions:

- ``votes_per_second``: votes handed to the instance since the collector started, divided by
  the wall-clock seconds since then.
- ``average_latency_ms``: over the blocks decided so far (accepted or rejected), the mean
  wall-clock time from ``add_block`` to the vote or ``poll`` that decided them; 0.0 before
  any decision.
- ``memory_usage_mb``: the resident set size of this process (Linux ``/proc``; elsewhere
  the peak RSS from ``resource``), in MiB.
"""

from __future__ import annotations

import itertools
import os
import time
import weakref
from typing import TYPE_CHECKING, Any, Dict, Iterator, List

if TYPE_CHECKING:  # pragma: no cover
    from ._consensus import Consensus

_ids = itertools.count(1)
_live: "weakref.WeakSet[MetricsCollector]" = weakref.WeakSet()
_registered = False


def _rss_mb() -> float:
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)
    except (OSError, ValueError, IndexError, AttributeError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class MetricsCollector:
    """Metrics of one ``Consensus``, read when asked (nothing runs in the background)."""

    def __init__(self, consensus: "Consensus") -> None:
        self._consensus = weakref.ref(consensus)
        self.instance = f"consensus-{next(_ids)}"
        self._started = time.monotonic()
        self._votes_at_start = consensus.metrics_raw()["votes_processed"]

    def _raw(self) -> Dict[str, Any]:
        c = self._consensus()
        if c is None:
            raise RuntimeError("MetricsCollector: its Consensus no longer exists")
        return dict(c.metrics_raw())

    @property
    def votes_per_second(self) -> float:
        """Votes handed in per wall-clock second since the collector started."""
        elapsed = max(time.monotonic() - self._started, 1e-9)
        return (self._raw()["votes_processed"] - self._votes_at_start) / elapsed

    @property
    def average_latency_ms(self) -> float:
        """Mean ms from a block's ``add_block`` to its decision, over decided blocks."""
        raw = self._raw()
        return raw["latency_sum_ms"] / raw["blocks_decided"] if raw["blocks_decided"] else 0.0

    @property
    def memory_usage_mb(self) -> float:
        """Resident memory of this process, MiB."""
        return _rss_mb()

    def to_dict(self) -> Dict[str, Any]:
        """Every figure, with the counts they come from."""
        raw = self._raw()
        return {
            "instance": self.instance,
            "votes_per_second": self.votes_per_second,
            "average_latency_ms": self.average_latency_ms,
            "memory_usage_mb": self.memory_usage_mb,
            "votes_processed": raw["votes_processed"],
            "blocks_decided": raw["blocks_decided"],
            "blocks_processing": raw["blocks_processing"],
            "uptime_s": time.monotonic() - self._started,
        }

    @staticmethod
    def prometheus_available() -> bool:
        """Whether ``prometheus_client`` can be imported."""
        try:
            import prometheus_client  # noqa: F401
        except ImportError:
            return False
        return True

    def register_prometheus(self) -> None:
        """Exposes this collector's figures as gauges ``luxsim_votes_per_second``,
        ``luxsim_average_latency_ms``, ``luxsim_memory_usage_mb``,
        ``luxsim_votes_processed`` and ``luxsim_blocks_decided`` (label ``instance``) in
        ``prometheus_client``'s default registry; one registry collector serves every
        instance."""
        global _registered
        from prometheus_client import REGISTRY

        _live.add(self)
        if not _registered:
            REGISTRY.register(_PrometheusBridge())
            _registered = True


class _PrometheusBridge:
    """A ``prometheus_client`` collector over every live, registered ``MetricsCollector``."""

    NAMES = [
        ("votes_per_second", "Votes handed in per second since metrics were enabled"),
        ("average_latency_ms", "Mean ms from add_block to decision"),
        ("memory_usage_mb", "Resident memory of the process, MiB"),
        ("votes_processed", "Votes handed in"),
        ("blocks_decided", "Blocks accepted or rejected"),
    ]

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        families = {
            name: GaugeMetricFamily(f"luxsim_{name}", doc, labels=["instance"]) for name, doc in self.NAMES
        }
        live: List[MetricsCollector] = list(_live)
        for m in live:
            try:
                d = m.to_dict()
            except RuntimeError:
                continue
            for name, fam in families.items():
                fam.add_metric([m.instance], float(d[name]))
        yield from families.values()
