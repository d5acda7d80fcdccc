"""``ConsensusVisualizer``: pictures of a simulation result or a ``Consensus`` (needs the
``pictures`` extra: matplotlib, networkx; and pandas for a ``Consensus``).

For a simulation result the progress series are the ones ``luxsim plot`` draws, computed by
the same Rust code (``docs/plots.md``): for each choice, the share of honest nodes whose
latest poll's top choice it is (thin line) and the share that finalized it (thick line).
"""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Union

from . import _luxsim
from ._consensus import Consensus
from ._extras import require
from .sim import PathLike, Scenario, SimulationResult

if TYPE_CHECKING:  # pragma: no cover
    import networkx
    from matplotlib.animation import FuncAnimation
    from matplotlib.figure import Figure

Source = Union[SimulationResult, Consensus]


def _pyplot() -> Any:
    return require("matplotlib.pyplot", "pictures", "ConsensusVisualizer")


class ConsensusVisualizer:
    """Figures, animations, graphs and CSV exports of a run or a ``Consensus``."""

    def __init__(self, source: Source) -> None:
        if not isinstance(source, (SimulationResult, Consensus)):
            raise TypeError(
                "ConsensusVisualizer: expected a SimulationResult (luxsim.run) or a Consensus, "
                f"got {type(source).__name__}"
            )
        self.source = source

    def series(self) -> Dict[str, Any]:
        """The progress series: ``unit``, ``times``, ``preferring`` and ``finalized`` (per
        choice, shares in [0, 1]), ``honest``. For a ``Consensus`` (unit ``vote``, the
        index in its vote log; ``choices`` names the blocks): per block, its share of the
        votes counted so far (``preferring``), and 1 from the vote that got it accepted on
        (``finalized``)."""
        if isinstance(self.source, SimulationResult):
            return dict(_luxsim.progress_series(str(self.source.dir)))
        import numpy as np

        df = self.source.to_dataframe()
        counted = df["outcome"].isin(["counted", "poll_recorded"]).to_numpy()
        block_ids = df["block_id"].to_numpy()
        total = np.maximum(np.cumsum(counted), 1)
        blocks = sorted(set(int(b) for b in block_ids[counted]))
        accepted_at = {b: i for b, i, ok in self.source.decisions() if ok}
        n = len(df)
        preferring = [(np.cumsum(counted & (block_ids == b)) / total).tolist() for b in blocks]
        # A decision logged after i votes was made by vote i - 1 (or before any vote).
        starts = {b: min(max(accepted_at.get(b, n + 1) - 1, 0), n) for b in blocks}
        finalized = [[0.0] * starts[b] + [1.0] * (n - starts[b]) for b in blocks]
        return {
            "unit": "vote",
            "times": list(range(n)),
            "preferring": preferring,
            "finalized": finalized,
            "honest": 1,
            "choices": blocks,
        }

    def plot_consensus_progress(self) -> "Figure":
        """A matplotlib Figure of the progress series (percent over time)."""
        plt = _pyplot()
        s = self.series()
        fig, ax = plt.subplots(figsize=(10, 5))
        names = s.get("choices") or list(range(max(len(s["preferring"]), len(s["finalized"]))))
        votes = s["unit"] == "vote"
        thin, thick = ("share of votes", "accepted") if votes else ("latest poll", "finalized")
        what = "block" if votes else "choice"
        for c, line in enumerate(s["preferring"]):
            if any(line):
                ax.plot(s["times"], [100 * v for v in line], lw=1, label=f"{what} {names[c]}: {thin}")
        for c, line in enumerate(s["finalized"]):
            if any(line):
                ax.plot(s["times"], [100 * v for v in line], lw=3, label=f"{what} {names[c]}: {thick}")
        ax.set_xlabel(s["unit"])
        ax.set_ylabel("% of counted votes" if votes else "% of honest nodes")
        ax.set_ylim(-1, 101)
        ax.legend(loc="best", fontsize="small")
        ax.set_title(self._title())
        fig.tight_layout()
        return fig

    def animate_consensus(self, interval: int = 100) -> "FuncAnimation":
        """An animation revealing the progress series frame by frame (``interval`` ms per
        frame, 60 frames); save it with ``anim.save("run.gif")``."""
        plt = _pyplot()
        from matplotlib.animation import FuncAnimation

        s = self.series()
        times = s["times"]
        fig, ax = plt.subplots(figsize=(10, 5))
        ax.set_xlim(times[0] if times else 0, times[-1] if times else 1)
        ax.set_ylim(0, 100)
        ax.set_xlabel(s["unit"])
        ax.set_title(self._title())
        lines = [ax.plot([], [], lw=1)[0] for _ in s["preferring"]]
        lines += [ax.plot([], [], lw=3)[0] for _ in s["finalized"]]
        data = s["preferring"] + s["finalized"]
        frames = 60

        def draw(f: int) -> List[Any]:
            end = max(1, len(times) * (f + 1) // frames)
            for line, ys in zip(lines, data):
                line.set_data(times[:end], [100 * v for v in ys[:end]])
            return lines

        return FuncAnimation(fig, draw, frames=frames, interval=interval, blit=False)

    def generate_network_graph(
        self, scenario: Optional[Union[Scenario, PathLike]] = None
    ) -> "networkx.DiGraph":
        """The scenario's network as a networkx DiGraph, as ``luxsim graph`` draws it:
        vertices are regions (``nodes``, intra-region ``latency_ms``) and node ranges
        (partition groups, crashing ranges, with their regions and crash times); edges
        carry the base ``latency_ms`` between regions, or a partition. The validators are
        grouped, not drawn one by one: a complete graph of n validators has n² edges."""
        nx = require("networkx", "pictures", "generate_network_graph")
        if scenario is None:
            scenario = getattr(self.source, "scenario", None)
            if scenario is None:
                raise ValueError("generate_network_graph: give the scenario (a Consensus has no network)")
        if not isinstance(scenario, Scenario):
            scenario = Scenario.load(scenario)
        vertices, edges = _luxsim.network_parts(scenario._core)
        g = nx.DiGraph(name=scenario.name)
        for i, v in enumerate(vertices):
            g.add_node(i, **v)
        for a, b, attrs in edges:
            g.add_edge(a, b, **attrs)
        return g

    def plot_network(self, graph: "networkx.DiGraph") -> "Figure":
        """A matplotlib Figure of a graph from ``generate_network_graph``."""
        plt = _pyplot()
        import networkx as nx

        fig, ax = plt.subplots(figsize=(8, 6))
        pos = nx.circular_layout(graph) if len(graph) > 1 else {n: (0.0, 0.0) for n in graph}
        sizes = [300 + 20 * min(int(d.get("nodes", 1)), 200) for _, d in graph.nodes(data=True)]
        nx.draw_networkx_nodes(graph, pos, ax=ax, node_size=sizes, node_color="#9ecae1")
        nx.draw_networkx_labels(
            graph, pos, ax=ax, labels={n: d["label"] for n, d in graph.nodes(data=True)}, font_size=8
        )
        nx.draw_networkx_edges(graph, pos, ax=ax, arrows=True)
        labels = {
            (a, b): (f"{d['latency_ms']:g} ms" if d["kind"] == "latency" else f"partition {d['index']}")
            for a, b, d in graph.edges(data=True)
        }
        nx.draw_networkx_edge_labels(graph, pos, ax=ax, edge_labels=labels, font_size=7)
        ax.set_title(graph.graph.get("name", "network"))
        ax.axis("off")
        fig.tight_layout()
        return fig

    def export_metrics_csv(self, path: PathLike) -> None:
        """Writes the progress series as CSV: a time column (in the series' unit), then for
        each choice its ``preferring`` and ``finalized`` shares."""
        s = self.series()
        names = s.get("choices") or list(range(max(len(s["preferring"]), len(s["finalized"]))))
        header = [s["unit"]]
        cols: List[List[float]] = []
        for c, line in enumerate(s["preferring"]):
            header.append(f"choice_{names[c]}_preferring")
            cols.append(line)
        for c, line in enumerate(s["finalized"]):
            header.append(f"choice_{names[c]}_finalized")
            cols.append(line)
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            for i, t in enumerate(s["times"]):
                w.writerow([t] + [col[i] for col in cols])

    def _title(self) -> str:
        if isinstance(self.source, SimulationResult):
            s = self.source.summary
            return f"{s['scenario']} (seed {s['seed']}, {s['nodes']} nodes)"
        st = self.source.get_stats()
        return f"{self.source.engine_type}: {st.votes_processed} votes, {st.blocks_accepted} accepted"
