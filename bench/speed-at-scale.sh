#!/usr/bin/env bash
# Side-by-side measurements of BENCHMARKS.md, "Speed at scale": lockstep and event mode of
# this build against another (OLD=path/to/luxsim, e.g. a build of an earlier commit), the
# numpy reference simulator, and a sweep with --jobs 1 and 2. Run from the repository root:
#   OLD=/tmp/luxsim-old bench/speed-at-scale.sh    (figures in target/speed-at-scale/out.txt)
set -u
T='%U s user, %e s wall, %M KB'
NEW=target/release/luxsim; OLD=${OLD:?set OLD to the luxsim to compare with}
D=target/speed-at-scale; mkdir -p "$D"
m() { local tag=$1; shift; /usr/bin/time -f "$tag: $T" "$@" > /dev/null 2>> $D/out.txt || true; tail -1 $D/out.txt; }
echo "== $(date -u) load: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $D/out.txt
for i in 1 2; do
  m "old lockstep-1m" $OLD run scenarios/lockstep-1m.toml --trace none --quiet
  m "new lockstep-1m threads=1" $NEW run scenarios/lockstep-1m.toml --trace none --quiet --threads 1
  m "new lockstep-1m threads=2" $NEW run scenarios/lockstep-1m.toml --trace none --quiet --threads 2
done
B=(--set network.nodes=300000 --set max_rounds=30 --set byzantine.fraction=0.1 --set 'byzantine.strategy="stubborn"')
m "old lockstep byzantine 300k" $OLD run scenarios/lockstep-1m.toml --trace none --quiet "${B[@]}"
m "new lockstep byzantine 300k threads=1" $NEW run scenarios/lockstep-1m.toml --trace none --quiet "${B[@]}" --threads 1
m "new lockstep byzantine 300k threads=2" $NEW run scenarios/lockstep-1m.toml --trace none --quiet "${B[@]}" --threads 2
for n in 10000 100000; do
  m "old lockstep n=$n" $OLD run scenarios/lockstep-1m.toml --trace none --quiet --set network.nodes=$n
  m "new lockstep n=$n threads=1" $NEW run scenarios/lockstep-1m.toml --trace none --quiet --set network.nodes=$n --threads 1
done
$NEW run scenarios/lockstep-1m.toml --trace none --quiet --set network.nodes=10000 --threads 1 --out $D/l1e4 >/dev/null 2>&1
$NEW run scenarios/lockstep-1m.toml --trace none --quiet --set network.nodes=100000 --threads 1 --out $D/l1e5 >/dev/null 2>&1
$NEW run scenarios/lockstep-1m.toml --trace none --quiet --threads 1 --out $D/l1e6 >/dev/null 2>&1
m "new lockstep n=1e7 threads=2" $NEW run scenarios/lockstep-1m.toml --trace none --quiet --set network.nodes=10000000 --threads 2 --out $D/l1e7
m "new lockstep n=1e7 threads=1" $NEW run scenarios/lockstep-1m.toml --trace none --quiet --set network.nodes=10000000 --threads 1
for f in l1e4 l1e5 l1e6 l1e7; do python3 -c "import json;d=json.load(open('$D/$f/summary.json'));print('$f polls',d['events'],'rounds',d['rounds'])" | tee -a $D/out.txt; done
echo "numpy:" | tee -a $D/out.txt
target/test-venv/bin/python benches/python/numpy_lockstep.py --nodes 1000000 --rounds 20 | tee -a $D/out.txt
target/test-venv/bin/python benches/python/numpy_lockstep.py --nodes 100000 --rounds 20 | tee -a $D/out.txt
m "old event baseline 100k" $OLD run scenarios/baseline.toml --set network.nodes=100000 --trace none --quiet
m "new event baseline 100k" $NEW run scenarios/baseline.toml --set network.nodes=100000 --trace none --quiet
m "old event baseline 10k" $OLD run scenarios/baseline.toml --set network.nodes=10000 --trace none --quiet
m "new event baseline 10k" $NEW run scenarios/baseline.toml --set network.nodes=10000 --trace none --quiet
rm -rf $D/sw1 $D/sw2
m "sweep jobs=1" $NEW sweep scenarios/baseline.toml --set network.nodes=2000 --seeds 8 --jobs 1 --quiet --out $D/sw1
m "sweep jobs=2" $NEW sweep scenarios/baseline.toml --set network.nodes=2000 --seeds 8 --jobs 2 --quiet --out $D/sw2
m "sweep jobs=1 again" $NEW sweep scenarios/baseline.toml --set network.nodes=2000 --seeds 8 --jobs 1 --quiet --out $D/sw3
m "sweep jobs=2 again" $NEW sweep scenarios/baseline.toml --set network.nodes=2000 --seeds 8 --jobs 2 --quiet --out $D/sw4
cmp $D/sw1/runs.csv $D/sw2/runs.csv && echo "sweeps identical" | tee -a $D/out.txt
echo "== end $(date -u) load: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $D/out.txt
