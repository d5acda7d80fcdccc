#!/usr/bin/env bash
# PUB/SUB throughput of 8-byte messages over tcp://127.0.0.1, two processes per run, for
# (a) the pure-Rust zeromq crate, (b) libzmq via the zmq binding, (c) pyzmq.
#  steady:   publisher sends for SECS; subscriber's rate over 1.0..4.0 s after its first
#            message. a, b, c interleaved, ROUNDS rounds (a slow patch hits all alike).
#  lossless: HWM 0 both sides, exactly N messages, all must arrive; rate N / (first..last).
#            b, c only (the zeromq crate has no HWM option), ROUNDS rounds interleaved.
# Usage: bash run.sh            (SECS=6, N=2000000, ROUNDS=3; all overridable)
set -euo pipefail
cd "$(dirname "$0")"
SECS=${SECS:-6}
N=${N:-2000000}
ROUNDS=${ROUNDS:-3}

echo "== machine"
uptime
echo "nproc: $(nproc)"

echo "== build"
cargo build --release --quiet
BIN=target/release/transport-choice
echo "zmq binding links: $(ldd "$BIN" | grep -o 'libzmq[^ ]* => [^ ]*')"
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
    .venv/bin/pip install --quiet pyzmq
fi
PY=.venv/bin/python
echo "pyzmq: $($PY -c 'import zmq; print(zmq.pyzmq_version(), "libzmq", zmq.zmq_version())')"

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# One measurement: fresh port, subscriber first, publisher 0.2 s later, separate processes.
# Prints the subscriber's JSON line (the result, kept in $RESULTS) and then the publisher's.
run_one() {  # $1 = steady|lossless, $2 = a|b|c
    local ep="tcp://127.0.0.1:$(free_port)" sub pub out="$RESULTS/$1.$2.$round"
    local sargs=("$ep" "$1") pargs=("$ep" "$1" "$SECS")
    [ "$1" = lossless ] && sargs+=("$N") && pargs=("$ep" "$1" "$N")
    case $2 in
        a) sub=("$BIN" sub-rs);  pub=("$BIN" pub-rs) ;;
        b) sub=("$BIN" sub-zmq); pub=("$BIN" pub-zmq) ;;
        c) sub=("$PY" pyzmq_pubsub.py sub); pub=("$PY" pyzmq_pubsub.py pub) ;;
    esac
    "${sub[@]}" "${sargs[@]}" > "$out.json" &
    local sub_pid=$!
    sleep 0.2
    "${pub[@]}" "${pargs[@]}" > "$out.pub"
    wait "$sub_pid"
    cat "$out.json"
    echo "    $(cat "$out.pub")"
}

RESULTS=$(mktemp -d)
echo "== steady state (publisher sends for ${SECS} s; window 1.0..4.0 s after first message)"
for round in $(seq 1 "$ROUNDS"); do
    for impl in a b c; do run_one steady "$impl"; done
done
echo "== lossless (HWM 0, N=$N)"
for round in $(seq 1 "$ROUNDS"); do
    for impl in b c; do run_one lossless "$impl"; done
done

echo "== summary (median over $ROUNDS rounds; steady rows vs pyzmq steady, lossless rows vs pyzmq lossless)"
$PY - "$RESULTS" "$N" <<'PYEOF'
import json, pathlib, statistics, sys
results, n = pathlib.Path(sys.argv[1]), int(sys.argv[2])
def rows(mode, impls):
    out = {}
    for impl in impls:
        runs = [json.loads(p.read_text()) for p in sorted(results.glob(f"{mode}.{impl}.*.json"))]
        rates = [r["per_second"] for r in runs]  # None: no valid window in that round
        valid = [x for x in rates if x is not None]
        out[impl] = (runs[0]["impl"], statistics.median(valid) if valid else None, rates, runs)
    return out
steady, lossless = rows("steady", "abc"), rows("lossless", "bc")
print(f"{'implementation':<52} {'median msg/s':>13} {'vs pyzmq':>9}  {'all got N':>9}  per round")
for table, base in ((steady, steady["c"][1]), (lossless, lossless["c"][1])):
    for name, med, rates, runs in table.values():
        complete = ("yes" if all(r["complete"] for r in runs) else "NO") if "complete" in runs[0] else "-"
        medtxt = f"{med:>13,.0f} {med / base:>8.2f}x" if med is not None else f"{'n/a':>13} {'-':>9}"
        print(f"{name:<52} {medtxt}  {complete:>9}  "
              + ", ".join("null" if x is None else f"{x:,.0f}" for x in rates)
              + ("  (null = no valid window)" if None in rates else ""))
print(f"{steady['a'][0] + ' (hwm 0, lossless)':<52} {'n/a: the zeromq crate has no HWM option':>13}")
PYEOF
rm -rf "$RESULTS"
