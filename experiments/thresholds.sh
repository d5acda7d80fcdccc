#!/usr/bin/env bash
# Reproduces the tables of docs/adversaries.md:
#   1. the Byzantine share at which the informed balancing adversary stalls Snowball, for
#      n = 500, 2,000 and 8,000 (experiments/liveness-threshold.toml, SEEDS seeds a point),
#      and the simple one at n = 2,000;
#   2. how often the split adversary breaks safety as alpha_confidence and beta shrink
#      (experiments/safety-split.toml).
# Usage: experiments/thresholds.sh [SEEDS] [OUT]   (defaults: 10, results/thresholds)
# Builds the release binary if missing. Took 2.5 minutes on 2 cores with 10 seeds.
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-10}
out=${2:-results/thresholds}
bin=target/release/luxsim
[ -x "$bin" ] || cargo build --release --quiet
mkdir -p "$out"
for n in 500 2000 8000; do
  "$bin" sweep experiments/liveness-threshold.toml --quiet --set network.nodes=$n \
    --vary byzantine.fraction=0.005..0.06:0.005 --seeds "$seeds" --out "$out/liveness-n$n"
done
"$bin" sweep experiments/liveness-threshold.toml --quiet --set byzantine.strategy=balance-simple \
  --vary byzantine.fraction=0.01..0.10:0.01 --seeds "$seeds" --out "$out/simple-n2000"
"$bin" sweep experiments/safety-split.toml --quiet \
  --vary params.alpha_confidence=11..15:1 --vary params.beta=5,10,20 \
  --seeds "$seeds" --out "$out/safety"
"$bin" plot "$out/liveness-n2000" --out "$out/liveness-threshold-n2000.svg" >/dev/null
# The stall-rate plot needs matplotlib: PYTHON may name an interpreter that has it (the
# luxsim package's `pictures` extra, e.g. target/test-venv/bin/python).
py=${PYTHON:-python3}
if "$py" -c "import matplotlib" 2>/dev/null; then
  "$py" experiments/stall_plot.py "$out" "$out/stall-rate.svg" >/dev/null
else
  echo "no matplotlib in $py: skipped $out/stall-rate.svg (set PYTHON=... to draw it)" >&2
fi
python3 - "$out" <<'PY'
import csv, math, sys
out = sys.argv[1]
def wilson(k, n, z=1.96):
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (max(0.0, c - h), min(1.0, c + h))
print("Liveness: share of runs stalled (no honest node final after 500 rounds), 95 % Wilson interval")
print("| n | Byzantine share | stalled runs | 95 % interval |")
print("|---|---|---|---|")
thresholds = []
for n in (500, 2000, 8000):
    first = None
    for row in csv.DictReader(open(f"{out}/liveness-n{n}/points.csv")):
        runs, fin = int(row["runs"]), int(row["finality_runs"])
        stalled = runs - fin
        lo, hi = wilson(stalled, runs)
        f = float(row["byzantine.fraction"])
        print(f"| {n} | {f:.3f} | {stalled}/{runs} | {lo:.2f}-{hi:.2f} |")
        if first is None and stalled * 2 >= runs:
            first = f
    thresholds.append((n, first))
print()
print("| n | smallest share stalling half the runs or more | Byzantine nodes | nodes / sqrt(n) |")
print("|---|---|---|---|")
for n, f in thresholds:
    if f is None:
        print(f"| {n} | none in the grid | | |")
    else:
        print(f"| {n} | {f:.3f} | {round(f * n)} | {f * n / math.sqrt(n):.2f} |")
print()
print("Simple balancing adversary, n = 2000")
print("| Byzantine share | stalled runs | 95 % interval |")
print("|---|---|---|")
for row in csv.DictReader(open(f"{out}/simple-n2000/points.csv")):
    runs, fin = int(row["runs"]), int(row["finality_runs"])
    lo, hi = wilson(runs - fin, runs)
    print(f"| {float(row['byzantine.fraction']):.2f} | {runs - fin}/{runs} | {lo:.2f}-{hi:.2f} |")
print()
print("Safety: share of runs in which honest nodes finalized different choices")
print("| alpha_confidence | beta | violations | 95 % interval | median time to the first conflict | stalled runs |")
print("|---|---|---|---|---|---|")
for row in csv.DictReader(open(f"{out}/safety/points.csv")):
    runs = int(row["runs"])
    k = round(float(row["safety_violation_share"]) * runs)
    stalled = round(float(row["stalled_share"]) * runs)
    lo, hi = wilson(k, runs)
    when = row["first_conflict_p50_ms"]
    when = f"{float(when) / 1000:.2f} s" if when else "-"
    print(f"| {row['params.alpha_confidence']} | {row['params.beta']} | {k}/{runs} | {lo:.2f}-{hi:.2f} "
          f"| {when} | {stalled}/{runs} |")
PY
