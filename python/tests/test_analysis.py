"""ConsensusAnalyzer and ConsensusML: features of a hand-built run, detectors on simulated
runs scored against nodes.csv, and the Consensus-instance analysis."""

import json
import math
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT

import luxsim
from lux_consensus import (
    Block,
    Consensus,
    ConsensusAnalyzer,
    ConsensusML,
    ConsensusParams,
    EngineType,
    Vote,
    VoteType,
)

HAND = ROOT / "tests" / "data" / "analysis-hand"
NODES = (HAND / "nodes.csv").read_text()

# The run of tests/analysis.rs: node 2 answers 1 to node 0 and 0 to node 1 at once; node 3
# never answers; both honest nodes decide 0.
TRACE = (HAND / "trace.csv").read_text()

SCENARIO = """
name = "analysis"
seed = 3
max_time = "60s"

[params]
k = 10
alpha_preference = 7
alpha_confidence = 7
beta = 10

[network]
nodes = 300
latency = { model = "uniform", min = "5ms", max = "50ms" }
poll_timeout = "500ms"

[workload]
choices = 2
initial = [0.8, 0.2]

[byzantine]
fraction = 0.1
strategy = "stubborn"
target = 1
"""


@pytest.fixture()
def hand_built(tmp_path: Path) -> Path:
    (tmp_path / "nodes.csv").write_text(NODES)
    (tmp_path / "trace.csv").write_text(TRACE)
    return tmp_path


def test_features_of_the_hand_built_run(hand_built):
    a = ConsensusAnalyzer(hand_built, buckets=2)
    f = a.features
    assert list(f.index) == [0, 1, 2, 3]
    assert f.loc[2, "answers"] == 2
    assert f.loc[2, "response_ms"] == 7.5
    assert f.loc[2, "agree_decision"] == 0.5
    assert f.loc[2, "flip_rate"] == 1.0
    assert f.loc[2, "contradiction_rate"] == 1.0
    assert f.loc[0, "response_ms"] == 4.0
    assert f.loc[1, "decision_ms"] == 50.0
    assert f.loc[3, "response_rate"] == 0.0
    assert math.isnan(f.loc[3, "response_ms"])
    assert bool(f.loc[3, "byzantine"]) and f.loc[3, "strategy"] == "silent"
    m = a.get_vote_matrix()
    assert m.shape == (4, 2) and m.tolist() == [[1, 0], [1, 0], [0, 0], [0, 0]]
    anomalies = a.detect_anomalies(threshold=3.0)
    assert list(anomalies.index) == [3]
    assert anomalies.loc[3, "feature"] == "silence"
    ev = a.evaluate(a.rule_scores())
    assert ev.loc["silent", "auc"] == 1.0
    files = a.write(hand_built / "out")
    assert sorted(p.name for p in files) == ["analysis.json", "features.csv", "roc.svg"]


def test_the_cli_writes_what_python_reads(hand_built, luxsim_bin):
    p = subprocess.run([luxsim_bin, "analyze", str(hand_built)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "silent" in p.stdout and "AUC 1.000" in p.stdout
    report = json.loads((hand_built / "analysis.json").read_text())
    assert report == ConsensusAnalyzer(hand_built).report | {"trace": report["trace"]}


def test_bad_runs_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="trace.csv"):
        ConsensusAnalyzer(tmp_path)
    (tmp_path / "nodes.csv").write_text(NODES)
    (tmp_path / "trace.csv").write_text(
        "time_ns,node,kind,peer,request,choice,count,answers\n0,0,decide,,,0,,\n"
    )
    with pytest.raises(ValueError, match="--trace messages"):
        ConsensusAnalyzer(tmp_path)


@pytest.fixture(scope="module")
def stubborn_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("stubborn")
    scenario = d / "analysis.toml"
    scenario.write_text(SCENARIO)
    return luxsim.run(scenario, trace="messages", out=d / "run")


def test_both_detectors_find_the_stubborn_nodes(stubborn_run):
    a = ConsensusAnalyzer(stubborn_run)
    rule = a.evaluate(a.rule_scores())
    assert rule.loc["stubborn", "auc"] == 1.0
    assert rule.loc["stubborn", "recall"] == 1.0
    ml = ConsensusML(a)
    model = ml.train_anomaly_detector()
    scores = ml.detect_byzantine_nodes(model)
    assert len(scores) == 300 and scores.between(0, 1).all()
    forest = a.evaluate(scores, threshold=0.6)
    assert forest.loc["stubborn", "auc"] >= 0.9, forest
    # Seeded: the same scores again.
    again = ConsensusML(a).detect_byzantine_nodes()
    assert np.array_equal(scores.to_numpy(), again.to_numpy())
    top = a.features["score"].sort_values(ascending=False).index[:30]
    assert set(top) == set(stubborn_run.byzantine)


def test_a_consensus_instance_is_analysed_by_voter():
    c = Consensus(EngineType.SNOWBALL, ConsensusParams())
    c.add_block_sync(Block(1, 0, 1, 0, b"one"))
    for _ in range(30):
        for node in range(21):
            vt = VoteType.REJECT if node == 7 else VoteType.PREFER
            c.process_vote_sync(Vote(EngineType.SNOWBALL, node, 1, vt))
    a = ConsensusAnalyzer(c)
    assert c.is_accepted_sync(1)
    f = a.features
    assert f.loc[7, "reject_share"] == 1.0 and f.loc[7, "agree_outcome"] == 0.0
    assert list(a.detect_anomalies().index) == [7]
    m = a.get_vote_matrix()
    assert a.block_ids == [1]
    assert m.shape[1] == 1 and m[list(f.index).index(7), 0] < 0 < m[0, 0]
