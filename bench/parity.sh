#!/usr/bin/env bash
# Runs every scenario of tests/parity/ (or those given) in the simulator (`luxsim run`) and
# as a loopback cluster of `luxsim node` processes (`luxsim cluster`), and prints one
# markdown table of both: who finalized, what was decided, time to finality (virtual
# milliseconds in the simulator, wall-clock in the cluster), polls and messages.
#
#   bench/parity.sh                       # the table of docs/bridge.md
#   bench/parity.sh tests/parity/chain.toml --seed 5
#
# LUXSIM is the binary used: by default target/release/luxsim (built with --features
# bridge) when it exists, else the luxsim on PATH.
set -euo pipefail
args="$*"
bin=${LUXSIM:-target/release/luxsim}
[ -x "$bin" ] || bin=luxsim
scenarios=()
while [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; do scenarios+=("$1"); shift; done
[ ${#scenarios[@]} -gt 0 ] || scenarios=(tests/parity/*.toml)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "<!-- $(date -u +%FT%TZ), $(nproc) cores, $(uptime | sed 's/.*load/load/'); bench/parity.sh $args -->"
echo
echo "| scenario | run | finalized | decided | finality p50 / p99 (ms) | polls p50 | messages |"
echo "|---|---|---|---|---|---|---|"
for s in "${scenarios[@]}"; do
  for mode in run cluster; do
    rm -rf "${out:?}/$mode"
    "$bin" "$mode" "$s" --quiet --out "$out/$mode" "$@" || true
    if [ ! -f "$out/$mode/summary.json" ]; then
      echo "| $(basename "$s" .toml) | $mode | failed: no summary.json | | | | |"
      continue
    fi
    python3 - "$out/$mode/summary.json" "$(basename "$s" .toml)" "$mode" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
name, mode = sys.argv[2], sys.argv[3]
def ms(v):
    return "-" if v is None else f"{round(v, 1):g}"
l = s.get("ledger")
if l is None:
    decided = ", ".join(f"{n}x choice {c}" for c, n in s["decided"].items())
elif l["kind"] == "chain":
    decided = f"heights {'/'.join(l['accepted'])}, {l['proposed']} proposed, {l['rejected']} rejected"
else:
    decided = (f"txs {'/'.join(l['accepted_txs'])}, {l['conflicting_pairs']} double spends, "
               f"{l['rejected']} vertices rejected")
fin = s.get("finality_ms") or {}
polls = s.get("polls") or {}
run = "simulated" if mode == "run" else "cluster"
done = round(s["honest_finalized"] * s["honest"])
print(f"| {name} | {run} | {done}/{s['honest']} | {decided} | {ms(fin.get('p50'))} / "
      f"{ms(fin.get('p99'))} | {ms(polls.get('p50'))} | {s['messages']} |")
PY
  done
done
