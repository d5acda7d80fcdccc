"""Fits the consensus-time model of docs/prediction.md and scores it on held-out grid points.

Usage: predict_consensus_time.py [SWEEP_DIR] [--model-out MODEL.json] [--seeds N] [--jobs J]
                                 [--test-share F] [--sweep-out DIR]

Without SWEEP_DIR, runs the sweep of experiments/prediction.toml over AXES first (as
``luxsim sweep``; --sweep-out keeps it). Whole grid points (every seed) are held out by a
hash of their features (``luxsim.predict.split_points``), the model is fitted on the others
and a markdown table of MAPE and R² on the held-out runs is printed, for the model and for
the analytic baseline, and for the baseline times one fitted constant (no features).
Needs the ``ml`` extra (numpy, pandas).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Dict, List

import luxsim
from luxsim.predict import TARGETS, ConsensusTimeModel, evaluate, feature_table, split_points

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "experiments" / "prediction.toml"

#: The varied keys of the evaluation sweep (docs/prediction.md gives the same as a command).
AXES: Dict[str, List[Any]] = {
    "network.nodes": [300, 1000, 2000],
    "params.k": [20, 24, 28],
    "params.beta": [10, 20, 30],
    "network.latency.median": ["20ms", "80ms"],
    "network.loss": [0, 0.01],
    "byzantine.fraction": [0, 0.01, 0.02],
    "byzantine.strategy": ["silent", "balance-informed"],
}


def table_rows(name: str, scores: Dict[str, Dict[str, Any]], train_points: int) -> str:
    rows = []
    for t in TARGETS:
        s = scores[t]
        rows.append(
            f"| {t} | {name} | {s['model']['mape']:.1f} % | {s['model']['r2']:.3f} |"
            f" {s['baseline']['mape']:.1f} % | {s['baseline']['r2']:.3f} | {train_points} | {s['points']} |"
        )
    return "\n".join(rows)


def seed_noise(table: Any, groups: List[str]) -> Dict[str, float]:
    """MAPE (%) of predicting each run by the mean over its point's runs with finality."""
    held = table[table["group"].isin(set(groups)) & (table["p50_ms"] > 0) & (table["p99_ms"] > 0)]
    out = {}
    for t in TARGETS:
        mean = held.groupby("group")[t].transform("mean")
        out[t] = float(((mean - held[t]).abs() / held[t]).mean() * 100.0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sweep_dir", nargs="?", help="a luxsim sweep directory (runs.csv, sweep.json)")
    ap.add_argument("--model-out", default="prediction-model.json", help="where the model goes")
    ap.add_argument("--seeds", type=int, default=2, help="seeds per point of a new sweep")
    ap.add_argument("--jobs", type=int, default=None, help="threads of a new sweep")
    ap.add_argument("--test-share", type=float, default=0.25, help="share of points held out")
    ap.add_argument("--sweep-out", default=None, help="keep a new sweep in this directory")
    args = ap.parse_args()

    if args.sweep_dir:
        directory = Path(args.sweep_dir)
    else:
        result = luxsim.sweep(SCENARIO, vary=AXES, seeds=args.seeds, jobs=args.jobs, out=args.sweep_out)
        directory = result.dir
    manifest = json.loads((directory / "sweep.json").read_text())
    scenario = manifest["scenario"] if Path(manifest["scenario"]).exists() else SCENARIO
    table = feature_table(directory, scenario=scenario)
    train, test = split_points(table, test_share=args.test_share)

    model = ConsensusTimeModel().fit(table, groups=train)
    model.about.update(sweep=str(directory), scenario=manifest["scenario"], vary=manifest["vary"])
    model.save(args.model_out)
    constant = ConsensusTimeModel(terms=[]).fit(table, groups=train)
    scores = evaluate(model, table, groups=test)
    flat = evaluate(constant, table, groups=test)

    n_train = int(table[table["group"].isin(set(train))]["point"].nunique())
    print(
        f"sweep {directory}: {manifest['points']} points, {len(set(table['group']))} with distinct features "
        f"({len(table)} runs of them)"
    )
    print(
        f"train: {n_train} points, {model.trained_runs} runs "
        f"({model.excluded_runs} without finality left out); "
        f"held out: {scores['p50_ms']['points']} points, {scores['p50_ms']['runs']} runs "
        f"({scores['p50_ms']['excluded_runs']} without finality left out)"
    )
    print()
    print("| target | model | model MAPE | model R² | baseline MAPE | baseline R² |", end="")
    print(" train points | test points |")
    print("|---|---|---|---|---|---|---|---|")
    print(table_rows("linear, all terms", scores, n_train))
    print(table_rows("constant x baseline", flat, n_train))
    print()
    noise = seed_noise(table, test)
    print("The seed-to-seed spread of the held-out points (each run predicted by the mean of its")
    print(
        "point's runs, an oracle that sees the held-out data): MAPE "
        + ", ".join(f"{t} {noise[t]:.1f} %" for t in TARGETS)
    )
    print()
    print(f"wrote {args.model_out}")


if __name__ == "__main__":
    main()
