"""The stall rate of the informed balancing adversary against its share, one line per n,
with 95 % Wilson intervals (docs/adversaries.md). Reads the liveness sweeps written by
experiments/thresholds.sh; needs matplotlib (pip install 'luxsim[pictures]').

Usage: python experiments/stall_plot.py OUT_DIR_OF_THRESHOLDS [SVG]
"""

import csv
import math
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def wilson(k: int, n: int, z: float = 1.96):
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


def main(out: Path, svg: Path) -> None:
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for n in (500, 2000, 8000):
        xs, ys, lo, hi = [], [], [], []
        for row in csv.DictReader(open(out / f"liveness-n{n}" / "points.csv")):
            runs, fin = int(row["runs"]), int(row["finality_runs"])
            stalled = runs - fin  # no honest node finalized within 500 rounds
            a, b = wilson(stalled, runs)
            xs.append(100 * float(row["byzantine.fraction"]))
            ys.append(stalled / runs)
            lo.append(stalled / runs - a)
            hi.append(b - stalled / runs)
        ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", capsize=3, label=f"n = {n:,}")
    ax.set_xlabel("Byzantine share (%), informed balancing adversary")
    ax.set_ylabel("share of runs stalled")
    ax.set_ylim(-0.03, 1.03)
    ax.set_title("Snowball, default parameters, lockstep: runs with no honest decision in 500 rounds")
    ax.legend()
    fig.tight_layout()
    fig.savefig(svg, metadata={"Date": None} if str(svg).endswith(".svg") else None)
    print("wrote", svg)


if __name__ == "__main__":
    out = Path(sys.argv[1])
    main(out, Path(sys.argv[2]) if len(sys.argv) > 2 else out / "stall-rate.svg")
