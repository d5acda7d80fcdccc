#!/usr/bin/env bash
# Prints the digest of every run of the digest corpus: each shipped scenario and each
# scenario of tests/scenarios/ over a few seeds. `tests/digests/corpus.txt` is its output
# at a known-good commit; tests/digests.rs checks that runs still give those digests.
#   tests/digests/record.sh [LUXSIM] > tests/digests/corpus.txt
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-target/release/luxsim}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
while read -r scenario sets seeds; do
  for seed in $seeds; do
    args=()
    [ "$sets" != "-" ] && for s in ${sets//,/ }; do args+=(--set "$s"); done
    "$bin" run "$scenario" --quiet --trace none --seed "$seed" "${args[@]}" --out "$out/r" >/dev/null || true
    digest=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["digest"])' "$out/r/summary.json")
    echo "$scenario $sets $seed $digest"
  done
done < tests/digests/runs.txt
