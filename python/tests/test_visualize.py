"""``ConsensusVisualizer`` over a simulation result and over a ``Consensus``."""

import csv

import pytest

matplotlib = pytest.importorskip("matplotlib")
nx = pytest.importorskip("networkx")

from matplotlib.animation import FuncAnimation  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import luxsim  # noqa: E402
from lux_consensus import (  # noqa: E402
    Block,
    Consensus,
    ConsensusVisualizer,
    EngineType,
    Vote,
    VoteType,
)


@pytest.fixture(scope="module")
def partition_run(root):
    return luxsim.run(root / "scenarios" / "partition.toml")


def test_progress_of_a_run_is_the_series_luxsim_plot_draws(partition_run, tmp_path):
    v = ConsensusVisualizer(partition_run)
    s = v.series()
    assert len(s["times"]) == 600 and s["honest"] == partition_run.summary["honest"]
    # The final finalized share of choice 0 is the summary's.
    finalized_end = sum(line[-1] for line in s["finalized"])
    assert finalized_end == pytest.approx(partition_run.summary["honest_finalized"])
    fig = v.plot_consensus_progress()
    assert isinstance(fig, Figure) and fig.axes[0].get_lines()
    anim = v.animate_consensus(interval=10)
    assert isinstance(anim, FuncAnimation)
    anim.save(str(tmp_path / "a.gif"), writer="pillow")
    assert (tmp_path / "a.gif").stat().st_size > 0


def test_the_network_graph_has_the_partition(partition_run):
    v = ConsensusVisualizer(partition_run)
    g = v.generate_network_graph()
    assert isinstance(g, nx.DiGraph)
    kinds = {d["kind"] for _, _, d in g.edges(data=True)}
    assert "partition" in kinds
    assert sum(d["nodes"] for _, d in g.nodes(data=True)) == partition_run.summary["nodes"]
    assert isinstance(v.plot_network(g), Figure)


def test_metrics_csv_has_one_row_per_time(partition_run, tmp_path):
    v = ConsensusVisualizer(partition_run)
    v.export_metrics_csv(tmp_path / "m.csv")
    rows = list(csv.reader(open(tmp_path / "m.csv")))
    assert rows[0][0].startswith("virtual time") and len(rows) == 601
    assert any(h.endswith("_finalized") for h in rows[0])


def test_a_consensus_is_drawn_from_its_vote_log():
    c = Consensus(EngineType.SNOWBALL)
    c.add_block_sync(Block(1, 0, 1, 0, b""))
    for i in range(400):
        c.process_vote_sync(Vote(EngineType.SNOWBALL, i % 20, 1, VoteType.PREFER))
    s = ConsensusVisualizer(c).series()
    assert s["choices"] == [1] and len(s["times"]) == 400
    assert s["finalized"][0][398] == 0.0 and s["finalized"][0][399] == 1.0
    assert isinstance(ConsensusVisualizer(c).plot_consensus_progress(), Figure)
    with pytest.raises(ValueError, match="give the scenario"):
        ConsensusVisualizer(c).generate_network_graph()


def test_anything_else_is_a_type_error():
    with pytest.raises(TypeError, match="SimulationResult"):
        ConsensusVisualizer("trace.csv")  # type: ignore[arg-type]
