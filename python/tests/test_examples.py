"""The examples of examples/python run to completion, and type-check against the stubs;
the package's own sources pass ruff and mypy."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = {
    "simple_consensus.py": ["block 1 accepted after poll 20", "blocks accepted: 1"],
    "network_simulation.py": ["100% of honest nodes finalized", "finality_p50_ms"],
    # A DAG cluster of three `luxsim node`s ($LUXSIM_BIN), its vote feed fed to a Consensus.
    "network_node.py": ["Consensus(AVALANCHE) accepted vertices [", "the cluster accepted vertices [1, 4"],
    "byzantine_test.py": ["balance-informed: 20 byzantine nodes", "caught equivocating: [7]"],
    # Needs the ml extra (scikit-learn): the detectors scored against nodes.csv, a fitted model.
    "ml_analysis.py": ["rule-based detector: ROC AUC 1.000", "IsolationForest:", "250 nodes: predicted p50"],
    "visualization.py": ["progress.png", "network.png", "progress.gif", "metrics.csv"],
}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_example_runs(root, tmp_path, name, luxsim_bin):
    args = [sys.executable, str(root / "examples" / "python" / name)]
    if name == "visualization.py":
        args.append(str(tmp_path))
    # The examples run in tmp_path: give them the binary by an absolute path.
    env = dict(os.environ, MPLBACKEND="Agg", LUXSIM_BIN=str(Path(luxsim_bin).resolve()))
    p = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    for line in EXAMPLES[name]:
        assert line in p.stdout, (line, p.stdout)
    if name == "visualization.py":
        for f in ["progress.png", "network.png", "progress.gif", "metrics.csv"]:
            assert (tmp_path / f).stat().st_size > 0


def test_mypy_accepts_the_examples_and_the_package(root):
    config = str(root / "python" / "pyproject.toml")
    for target, cwd in [(str(root / "examples" / "python"), root), ("luxsim", root / "python")]:
        p = subprocess.run(
            [sys.executable, "-m", "mypy", "--config-file", config, "--no-incremental", target],
            cwd=cwd,
            capture_output=True,
            text=True,
        )
        assert p.returncode == 0, p.stdout + p.stderr


def test_ruff_is_clean(root):
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--config",
            str(root / "python" / "pyproject.toml"),
            str(root / "python"),
            str(root / "examples" / "python"),
            str(root / "benches" / "python"),
        ],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 0, p.stdout + p.stderr
