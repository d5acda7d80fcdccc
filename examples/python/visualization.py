"""Pictures of a run: consensus progress, an animation and the network graph.

Run: python examples/python/visualization.py [OUT_DIR]   (needs the ``data`` and
``pictures`` extras). Writes progress.png, network.png, progress.gif and metrics.csv.
"""

import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import luxsim  # noqa: E402
from lux_consensus import ConsensusVisualizer  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    # The partition scenario: two groups cut apart for a while, then healed.
    scenario = luxsim.Scenario.load(ROOT / "scenarios" / "partition.toml")
    result = luxsim.run(scenario, trace="polls")
    viz = ConsensusVisualizer(result)

    viz.plot_consensus_progress().savefig(out / "progress.png", dpi=100)
    graph = viz.generate_network_graph()
    print(f"network graph: {graph.number_of_nodes()} vertices, {graph.number_of_edges()} edges")
    viz.plot_network(graph).savefig(out / "network.png", dpi=100)
    viz.animate_consensus(interval=100).save(str(out / "progress.gif"), writer="pillow")
    viz.export_metrics_csv(out / "metrics.csv")
    for name in ["progress.png", "network.png", "progress.gif", "metrics.csv"]:
        print("wrote", out / name)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="luxsim-viz-")))
