#!/usr/bin/env bash
# Seeds fuzz/corpus/TARGET/ with the repository's own valid inputs, so that libFuzzer starts
# from files that load and mutates them. Run from anywhere; see docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")"
root=..
mkdir -p corpus/{vote,block,frame,scenario,node_file,trace,sweep_files,baseline}
printf '\x00\x01\x02\x12\x34\x01\x00\x00' > corpus/vote/spec-vector
printf '\x01\x00\x00\x00\x00\x00\x00\x00\x07\x00\x00\x00\x00\x00\x00\x00\x06\x00\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02hi' > corpus/block/small
printf 'LX\x01\x01\x00\x00\x01\x02\x00\x00\x00\x07\x00\x00\x00\x00\x3b\x9a\xca\x00' > corpus/frame/query
printf 'LX\x01\x02\x00\x00\x00\x03\xde\xad\xbe\xef\x00\x00\x00\x01' > corpus/frame/answer
cp "$root"/scenarios/*.toml "$root"/deploy/cluster-20.toml corpus/scenario/
cp "$root"/examples/node.toml corpus/node_file/
printf 'time_ns,node,kind,peer,request,choice,count,answers\n1,2,poll,,3,1,15,20\n5,2,decide,,,1,,\n' > corpus/trace/csv
cp "$root"/results/baseline.json corpus/baseline/
echo "seeded $(find corpus -type f | wc -l) files under fuzz/corpus/"
