"""The detection table of docs/analysis.md: both detectors scored against the truth.

For each strategy and seed, runs scenarios/byzantine.toml with 10 % Byzantine nodes of
that strategy and a messages trace, analyses it (the rule-based detector of ``luxsim
analyze``) and fits an IsolationForest on the same run's features (``ConsensusML``),
then scores both against the run's nodes.csv. Prints a markdown table of ROC AUC (mean
and worst seed), precision and recall at the default thresholds, and writes every
per-run figure to --csv.

    python experiments/detection.py --seeds 20 --csv results/detection.csv

Needs the ml extra (pip install './python[ml]'). Each run's directory is deleted once
scored, since a messages trace of a stalled 2,000-node run is several hundred MB.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import luxsim
from luxsim import ConsensusAnalyzer, ConsensusML

STRATEGIES = [
    "silent",
    "stubborn",
    "random",
    "equivocate",
    "delay",
    "balance",
    "balance-simple",
    "balance-informed",
    "split",
]

#: IsolationForest scores at or above this count as flagged (its anomaly score is about
#: 0.5 for ordinary points and approaches 1 for isolated ones).
IF_THRESHOLD = 0.6


def main() -> int:
    root = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", default=str(root / "scenarios" / "byzantine.toml"))
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--fraction", type=float, default=0.1)
    ap.add_argument("--nodes", type=int, default=2000)
    ap.add_argument("--max-time", default="10s", help="virtual time limit of each run")
    ap.add_argument("--strategies", default=",".join(STRATEGIES))
    ap.add_argument("--set", action="append", default=[], help="more scenario overrides, KEY=VALUE")
    ap.add_argument("--csv", help="write one row per run here")
    args = ap.parse_args()
    if args.seeds < 1:
        ap.error("--seeds must be at least 1")
    strategies = [s for s in args.strategies.split(",") if s]
    for s in strategies:
        if s not in STRATEGIES:
            ap.error(f"unknown strategy {s!r}: one of {', '.join(STRATEGIES)}")
    rows: List[Dict[str, object]] = []
    started = time.monotonic()
    total = len(strategies) * args.seeds
    for strategy in strategies:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            sets = [
                f"byzantine.fraction={args.fraction}",
                f'byzantine.strategy="{strategy}"',
                f"network.nodes={args.nodes}",
                f'max_time="{args.max_time}"',
            ] + args.set
            out = Path(tempfile.mkdtemp(prefix="luxsim-detect-"))
            try:
                result = luxsim.run(args.scenario, seed=seed, trace="messages", out=out, set=sets)
                a = ConsensusAnalyzer(result)
                rule = a.evaluate(a.rule_scores()).loc[strategy]
                forest = ConsensusML(a, random_state=seed).detect_byzantine_nodes()
                iso = a.evaluate(forest, threshold=IF_THRESHOLD).loc[strategy]
                rows.append(
                    {
                        "strategy": strategy,
                        "seed": seed,
                        "byzantine": int(rule["byzantine"]),
                        "honest_finalized": result.summary.get("honest_finalized"),
                        "rule_auc": float(rule["auc"]),
                        "rule_precision": _f(rule["precision"]),
                        "rule_recall": float(rule["recall"]),
                        "if_auc": float(iso["auc"]),
                        "if_precision": _f(iso["precision"]),
                        "if_recall": float(iso["recall"]),
                    }
                )
            finally:
                shutil.rmtree(out, ignore_errors=True)
            done = len(rows)
            print(
                f"[{done}/{total}] {strategy} seed {seed}: rule AUC {rows[-1]['rule_auc']:.3f}, "
                f"forest AUC {rows[-1]['if_auc']:.3f} ({time.monotonic() - started:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
    if args.csv:
        Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
        with open(args.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    print(table(rows))
    return 0


def _f(v: object) -> float:
    try:
        x = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")
    return x


def table(rows: List[Dict[str, object]]) -> str:
    """The markdown table: one line per strategy, means over seeds (worst AUC too)."""
    lines = [
        "| strategy | runs | rule AUC mean (min) | rule precision | rule recall "
        "| forest AUC mean (min) | forest precision | forest recall |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in dict.fromkeys(str(r["strategy"]) for r in rows):
        rs = [r for r in rows if r["strategy"] == s]

        def m(key: str, rs: List[Dict[str, object]] = rs) -> float:
            vals = [float(r[key]) for r in rs if float(r[key]) == float(r[key])]  # type: ignore[arg-type]
            return statistics.fmean(vals) if vals else float("nan")

        def lo(key: str, rs: List[Dict[str, object]] = rs) -> float:
            return min(float(r[key]) for r in rs)  # type: ignore[arg-type]

        lines.append(
            f"| {s} | {len(rs)} | {m('rule_auc'):.3f} ({lo('rule_auc'):.3f}) | {m('rule_precision'):.3f} "
            f"| {m('rule_recall'):.3f} | {m('if_auc'):.3f} ({lo('if_auc'):.3f}) "
            f"| {m('if_precision'):.3f} | {m('if_recall'):.3f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
