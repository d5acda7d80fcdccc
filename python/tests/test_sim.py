"""The simulator from Python gives the CLI's results: digests, traces and sweep files are
byte-identical to ``luxsim run`` and ``luxsim sweep`` on the same scenario and seed."""

import json
import subprocess
import threading

import pandas as pd
import pytest

import luxsim
from luxsim import Scenario, ScenarioError

SMALL = {"network.nodes": 120}


def cli(bin_path, *args, cwd):
    subprocess.run([bin_path, *args], cwd=cwd, check=True, capture_output=True)


def test_a_run_equals_the_cli_run_byte_for_byte(root, luxsim_bin, tmp_path):
    scenario = root / "scenarios" / "byzantine.toml"
    r = luxsim.run(Scenario.load(scenario, set=SMALL), seed=7, trace="polls")
    cli(
        luxsim_bin,
        "run",
        str(scenario),
        "--set",
        "network.nodes=120",
        "--seed",
        "7",
        "--trace",
        "polls",
        "--out",
        str(tmp_path / "cli"),
        cwd=root,
    )
    summary = json.loads((tmp_path / "cli" / "summary.json").read_text())
    assert r.digest == summary["digest"]
    assert (r.dir / "trace.csv").read_bytes() == (tmp_path / "cli" / "trace.csv").read_bytes()
    wall = {"wall_ms"}
    assert {k: v for k, v in r.summary.items() if k not in wall} == {
        k: v for k, v in summary.items() if k not in wall
    }
    assert r.summary["seed"] == 7 and r.scenario is not None


def test_the_trace_is_typed_and_joined_to_the_ground_truth(root):
    r = luxsim.run(root / "scenarios" / "byzantine.toml", set=SMALL)
    df = r.trace
    assert str(df["time_ns"].dtype) == "int64" and str(df["node"].dtype) == "uint32"
    assert str(df["choice"].dtype) == "UInt32" and str(df["kind"].dtype) == "category"
    assert str(df["latency_ns"].dtype) == "UInt64"
    assert isinstance(df.index, pd.TimedeltaIndex)
    assert set(df["kind"].unique()) >= {"poll", "decide"}
    assert r.byzantine == r.summary["byzantine"]["ids"] and len(r.byzantine) >= 1
    assert set(df.loc[df["byzantine"], "node"]) <= set(r.byzantine)
    assert not df.loc[~df["byzantine"], "node"].isin(r.byzantine).any()
    nodes = r.nodes  # nodes.csv: the same truth, one row per node
    assert len(nodes) == r.summary["nodes"]
    assert list(nodes.index[nodes["byzantine"]]) == r.byzantine
    assert set(nodes.loc[nodes["byzantine"], "strategy"]) == {r.summary["byzantine"]["strategy"]}
    assert abs(nodes["stake"].sum() - 1.0) < 1e-9


def test_lockstep_traces_are_indexed_by_round(root):
    r = luxsim.run(root / "scenarios" / "baseline.toml", set={"network.nodes": 60, "mode": "lockstep"})
    assert r.trace.index.name == "round"


def test_csv_and_parquet_outputs(root, tmp_path):
    r = luxsim.run(root / "scenarios" / "baseline.toml", set={"network.nodes": 50})
    r.to_csv(tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_bytes() == r.trace_path.read_bytes()
    pytest.importorskip("pyarrow")
    r.to_parquet(tmp_path / "t.parquet")
    back = pd.read_parquet(tmp_path / "t.parquet")
    pd.testing.assert_frame_equal(back, r.trace.reset_index(drop=True))


def test_out_keeps_the_files_and_a_temporary_run_cleans_up(root, tmp_path):
    kept = luxsim.run(root / "scenarios" / "baseline.toml", set={"network.nodes": 40}, out=tmp_path / "run")
    assert (tmp_path / "run" / "summary.json").exists() and kept.dir == tmp_path / "run"
    temp = luxsim.run(root / "scenarios" / "baseline.toml", set={"network.nodes": 40})
    d = temp.dir
    assert d.exists()
    del temp
    import gc

    gc.collect()
    assert not d.exists()


def test_a_sweep_writes_the_cli_files_byte_for_byte(root, luxsim_bin, tmp_path):
    scenario = root / "scenarios" / "baseline.toml"
    s = luxsim.sweep(
        str(scenario),
        vary={"network.nodes": [30, 60]},
        seeds=2,
        set={"network.latency.median": "20ms"},
        jobs=2,
        out=tmp_path / "py",
    )
    cli(
        luxsim_bin,
        "sweep",
        str(scenario),
        "--set",
        'network.latency.median="20ms"',
        "--vary",
        "network.nodes=30,60",
        "--seeds",
        "2",
        "--jobs",
        "1",
        "--out",
        str(tmp_path / "cli"),
        "--quiet",
        cwd=root,
    )
    for name in ["runs.csv", "points.csv"]:
        assert (tmp_path / "py" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name
    assert len(s.runs) == 4 and len(s.points) == 2 and s.exit_code == 0
    assert list(s.points["network.nodes"]) == [30, 60]


def test_overrides_and_errors_name_the_place(root, tmp_path):
    base = Scenario.load(root / "scenarios" / "baseline.toml")
    smaller = base.override({"network.nodes": 77}, params__k=20)
    assert smaller.nodes == 77 and base.nodes != 77
    assert smaller.overrides == ["network.nodes=77", "params.k=20"]
    with pytest.raises(ScenarioError, match="params.k"):
        base.override({"params.k": "many"})
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[network\nnodes = 3\n')
    with pytest.raises(ScenarioError, match=r"bad\.toml:2:\d+"):
        Scenario.load(bad)
    with pytest.raises(ValueError):
        Scenario.load(tmp_path / "missing.toml")
    with pytest.raises(ScenarioError, match="seed cannot be varied"):
        luxsim.sweep(root / "scenarios" / "baseline.toml", vary={"seed": [1, 2]})
    with pytest.raises(ValueError, match="trace"):
        luxsim.run(base, trace="everything")


def test_the_gil_is_released_while_the_core_runs(root):
    scenario = Scenario.load(root / "scenarios" / "baseline.toml", set={"network.nodes": 3000})
    count = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            count[0] += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        # Calibrate: what the spinning thread does in one switch interval (5 ms) while the
        # main thread merely waits, i.e. the most it could do if the GIL were held by the run.
        before = count[0]
        stop.wait(0.05)
        per_switch = (count[0] - before) / 10
        c0 = count[0]
        r = luxsim.run(scenario, trace="none")
        during = count[0] - c0
    finally:
        stop.set()
        t.join()
    assert r.summary["nodes"] == 3000
    assert during > 10 * per_switch, (during, per_switch)
