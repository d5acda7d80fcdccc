#!/usr/bin/env bash
# Runs a scenario as a real loopback cluster (`luxsim cluster`) RUNS times, one seed each,
# and counts the runs whose honest nodes finalized different choices (a safety violation)
# and those in which not every honest node finalized within the budget.
#
#   bench/cluster-safety.sh SCENARIO [RUNS] [extra luxsim cluster arguments...]
#   bench/cluster-safety.sh deploy/compose.toml 50
#   bench/cluster-safety.sh deploy/compose.toml 50 --set params.preset=local
#
# LUXSIM (default target/release/luxsim, built with --features bridge) is the binary used.
set -euo pipefail
scenario=${1:?usage: cluster-safety.sh SCENARIO [RUNS] [cluster args...]}
runs=${2:-50}
shift $(( $# >= 2 ? 2 : 1 ))
bin=${LUXSIM:-target/release/luxsim}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
split=0 unfinished=0
echo "$(date -u +%FT%TZ) $(uptime | sed 's/.*load/load/'); $bin cluster $scenario $* x $runs seeds"
for seed in $(seq 1 "$runs"); do
  "$bin" cluster "$scenario" --quiet --seed "$seed" --out "$out/run" "$@" || true
  read -r decided finalized < <(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
print(len(s["decided"]), s["honest_finalized"])' "$out/run/summary.json")
  [ "$decided" -gt 1 ] && split=$((split + 1)) && echo "seed $seed: honest nodes finalized $decided different choices"
  python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= 1 else 1)' "$finalized" || unfinished=$((unfinished + 1))
done
echo "runs: $runs; safety violations (different choices finalized): $split; runs not fully finalized: $unfinished"
