#!/usr/bin/env bash
# Submits a sharded luxsim sweep to Slurm: an array of M shard tasks (sweep.sbatch) and a
# merge job (merge.sbatch) that starts once every task has succeeded. See
# docs/cluster-sweeps.md.
#
#   deploy/slurm/submit.sh M OUT SCENARIO SWEEP_ARGS...
#
# e.g. deploy/slurm/submit.sh 16 sweeps/byz scenarios/byzantine.toml \
#          --vary byzantine.fraction=0..0.3:0.01 --seeds 50
# Logs go to OUT/logs/. Extra sbatch options (partition, account, time) can be given in
# SBATCH_ARGS, e.g. SBATCH_ARGS="--partition=short --time=01:00:00". Prints the two job ids.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
shards=${1:?usage: submit.sh M OUT SCENARIO SWEEP_ARGS...}
out=${2:?usage: submit.sh M OUT SCENARIO SWEEP_ARGS...}
shift 2
[ "$#" -ge 1 ] || { echo "usage: submit.sh M OUT SCENARIO SWEEP_ARGS..." >&2; exit 2; }
mkdir -p "$out/logs"
# shellcheck disable=SC2086 # SBATCH_ARGS is a list of options
array=$(sbatch --parsable ${SBATCH_ARGS:-} --array="1-$shards" \
    --output="$out/logs/shard-%A_%a.out" "$here/sweep.sbatch" "$out" "$@")
array=${array%%;*}
# shellcheck disable=SC2086
merge=$(sbatch --parsable ${SBATCH_ARGS:-} --dependency="afterok:$array" \
    --output="$out/logs/merge-%j.out" "$here/merge.sbatch" "$out")
merge=${merge%%;*}
echo "array job $array ($shards shards), merge job $merge"
echo "watch: squeue -j $array,$merge    results: $out/merged/"
