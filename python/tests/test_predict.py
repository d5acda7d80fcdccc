"""Consensus-time prediction: the features are the CLI's, a model file saved by Python
predicts in ``luxsim predict`` what it predicts in Python, and a fit on a small sweep gives
finite predictions."""

import json
import math
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("numpy")
pytest.importorskip("pandas")

from luxsim import Scenario, ScenarioError, sweep  # noqa: E402
from luxsim.predict import (  # noqa: E402
    FORMAT,
    ConsensusTimeModel,
    baseline,
    baseline_from_features,
    evaluate,
    extract_features,
    feature_table,
    split_points,
)

SETS = [
    ["network.nodes=300"],
    ["network.nodes=200", "byzantine.fraction=0.05", "byzantine.strategy=balance-informed"],
    [
        "network.nodes=120",
        'network.stake="pareto:1.5"',
        "network.loss=0.01",
        'network.latency={ model = "exponential", mean = "30ms" }',
    ],
    [
        "network.nodes=90",
        'network.regions.names=["a", "b"]',
        'network.regions.base=[["5ms", "60ms"], ["60ms", "5ms"]]',
        "byzantine.fraction=0.05",
    ],
]


@pytest.fixture(scope="module")
def scenario_path(root: Path) -> Path:
    return root / "experiments" / "prediction.toml"


@pytest.fixture(scope="module")
def small_sweep(scenario_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    return sweep(
        scenario_path,
        vary={
            "network.nodes": [100, 200],
            "params.beta": [10, 20],
            "network.latency.median": ["20ms", "60ms"],
            "byzantine.fraction": [0, 0.03],
        },
        seeds=2,
        out=out,
    )


@pytest.fixture(scope="module")
def fitted(small_sweep):
    table = feature_table(small_sweep)
    return table, ConsensusTimeModel().fit(table)


def cli(luxsim_bin, model, scenario, sets, json_out=True):
    args = [luxsim_bin, "predict", "--model", str(model), str(scenario)]
    for s in sets:
        args += ["--set", s]
    if json_out:
        args.append("--json")
    return subprocess.run(args, capture_output=True, text=True)


def test_features_and_baseline_equal_the_clis(luxsim_bin, scenario_path, fitted, tmp_path):
    _, model = fitted
    path = tmp_path / "model.json"
    model.save(path)
    for sets in SETS:
        p = cli(luxsim_bin, path, scenario_path, sets)
        assert p.returncode == 0, p.stderr
        out = json.loads(p.stdout)
        s = Scenario.load(scenario_path, sets)
        f = extract_features(s)
        assert list(f) == list(out["features"]), sets
        assert f == out["features"], sets
        assert baseline(s) == out["baseline_ms"]
        assert baseline_from_features(f) == out["baseline_ms"]
        # The CLI's prediction from the same model file, to 1e-9 relative.
        mine = model.predict(s)
        for t in ("p50_ms", "p99_ms"):
            assert math.isfinite(mine[t]) and mine[t] > 0
            assert mine[t] == pytest.approx(out[t], rel=1e-9), (sets, t)
        assert model.predict(dict(f)) == pytest.approx(mine, rel=1e-12)
    # The text output names the figures too.
    p = cli(luxsim_bin, path, scenario_path, SETS[0], json_out=False)
    assert p.returncode == 0 and "p99" in p.stdout and "stake_gini" in p.stdout, p.stderr


def test_features_by_path_and_known_values(scenario_path):
    f = extract_features(scenario_path)
    assert f["nodes"] == 1000 and f["k"] == 20 and f["beta"] == 20
    assert f["latency_median_ms"] == 40.0 and f["byzantine_share"] == 0.0
    assert f["strategy_silent"] == 0.0, "no Byzantine node, no strategy"
    assert baseline(scenario_path) == 20 / 4 * 2 * 40.0


def test_other_scenarios_are_scenario_errors(scenario_path):
    for sets in (['mode="lockstep"'], ['network.crashes=[{ nodes = [0, 1], at = "1s" }]']):
        with pytest.raises(ScenarioError, match="prediction covers single-decision"):
            extract_features(Scenario.load(scenario_path, sets))


def test_save_load_round_trip(fitted, tmp_path, scenario_path):
    _, model = fitted
    path = tmp_path / "m.json"
    model.save(path)
    data = json.loads(path.read_text())
    assert data["format"] == FORMAT and data["features"] == model.features
    assert len(data["targets"]["p50_ms"]["weights"]) == len(data["terms"])
    again = ConsensusTimeModel.load(path)
    assert again.to_dict() == model.to_dict()
    assert again.predict(scenario_path) == model.predict(scenario_path)
    path.write_text(json.dumps({"format": "other/1"}))
    with pytest.raises(ValueError, match="is not 'luxsim-predict/1'"):
        ConsensusTimeModel.load(path)


def test_the_cli_refuses_bad_models(luxsim_bin, scenario_path, fitted, tmp_path):
    _, model = fitted
    d = model.to_dict()
    d["features"][1] = "kk"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(d))
    p = cli(luxsim_bin, bad, scenario_path, [])
    assert p.returncode == 2 and str(bad) in p.stderr and "kk" in p.stderr, p.stderr
    bad.write_text('{\n  "format": \n')
    p = cli(luxsim_bin, bad, scenario_path, [])
    assert p.returncode == 2 and f"{bad}:3:" in p.stderr, p.stderr


def test_fit_on_a_small_sweep(fitted, small_sweep):
    table, model = fitted
    # Byzantine fraction 0 and 0.03: 16 points, 2 seeds, all with finality.
    assert len(table) == 32 and table["group"].nunique() == 16
    assert model.trained_runs + model.excluded_runs == 32
    for r in table.to_dict("records"):
        p = model.predict({k: r[k] for k in model.features})
        assert all(math.isfinite(v) and v > 0 for v in p.values())
    train, test = split_points(table, test_share=0.25)
    assert sorted(train + test) == sorted(set(table["group"])) and test and train
    assert split_points(table, test_share=0.25) == (train, test), "deterministic"
    scores = evaluate(ConsensusTimeModel().fit(table, groups=train), table, groups=test)
    for t in ("p50_ms", "p99_ms"):
        s = scores[t]
        assert s["runs"] == 2 * len(test) and s["points"] == len(test)
        assert math.isfinite(s["model"]["mape"]) and math.isfinite(s["baseline"]["mape"])


def test_runs_without_finality_are_left_out_and_counted(fitted):
    table, _ = fitted
    t = table.copy()
    t.loc[:2, ["p50_ms", "p99_ms"]] = float("nan")
    m = ConsensusTimeModel().fit(t)
    assert (m.trained_runs, m.excluded_runs) == (29, 3)
    assert m.about["excluded_runs"] == 3
    assert evaluate(m, t)["p50_ms"]["excluded_runs"] == 3
