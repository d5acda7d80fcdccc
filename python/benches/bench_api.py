"""Benchmarks of the Python package (BENCHMARKS.md, "Python"): a synchronous
``process_vote_sync`` call, ``process_votes`` on a numpy array of packed votes, and
``luxsim.run`` against the CLI on the same scenario.

Run from the repository root, with the package installed and the CLI built in release:
    cargo build --release && python python/benches/bench_api.py [--reps N]
Each figure is the median of N repetitions (default 5); wall and CPU time are both printed.
"""

import argparse
import os
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

import luxsim
from lux_consensus import Block, Consensus, ConsensusParams, EngineType, Vote, VoteType

ROOT = Path(__file__).resolve().parents[2]
SB = EngineType.SNOWBALL


def undecided(record: bool) -> Consensus:
    """Two conflicting blocks and votes split 10/10: polls never reach alpha, so every vote
    takes the full counting path and nothing is ever decided."""
    c = Consensus(SB, ConsensusParams(), record_votes=record)
    c.add_block_sync(Block(1, 0, 1, 0, b""))
    c.add_block_sync(Block(2, 0, 1, 0, b""))
    return c


def split_votes(n: int):
    return [Vote(SB, i % 20, 1 if i % 20 < 10 else 2, VoteType.PREFER) for i in range(n)]


def bench_single(reps: int, record: bool) -> None:
    votes = split_votes(200_000)
    per_call = []
    for _ in range(reps):
        c = undecided(record)
        f = c.process_vote_sync
        t0 = time.perf_counter()
        for v in votes:
            f(v)
        per_call.append((time.perf_counter() - t0) / len(votes))
        assert c.get_stats().votes_counted == len(votes)
    print(
        f"process_vote_sync (record_votes={record}): median {statistics.median(per_call) * 1e9:.0f} ns "
        f"a call over {len(votes)} calls, {reps} reps"
    )


def bench_batch(reps: int, record: bool) -> None:
    packed = np.frombuffer(b"".join(v.pack() for v in split_votes(1_000_000)), dtype=np.uint8)
    rates, cpu = [], []
    for _ in range(reps):
        c = undecided(record)
        t0, c0 = time.perf_counter(), time.process_time()
        counted = c.process_votes(packed)
        wall, used = time.perf_counter() - t0, time.process_time() - c0
        assert counted == 1_000_000
        rates.append(counted / wall)
        cpu.append(counted / used)
    print(
        f"process_votes numpy (record_votes={record}): "
        f"median {statistics.median(rates) / 1e6:.1f} M votes/s wall, "
        f"{statistics.median(cpu) / 1e6:.1f} M votes/s CPU, 1,000,000 votes, {reps} reps"
    )


def bench_run(reps: int, cli: str) -> None:
    scenario = ROOT / "scenarios" / "baseline.toml"
    py_wall, py_cpu, cli_wall, cli_cpu = [], [], [], []
    digests = set()
    for _ in range(reps):
        # Interleaved, so a change of machine load hits both alike.
        t0, c0 = time.perf_counter(), time.process_time()
        r = luxsim.run(scenario, trace="decisions")  # the CLI default
        py_wall.append(time.perf_counter() - t0)
        py_cpu.append(time.process_time() - c0)
        digests.add(r.digest)
        with tempfile.TemporaryDirectory() as out:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run([cli, "run", str(scenario), "--out", out], check=True, capture_output=True)
            cli_wall.append(time.perf_counter() - t0)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cli_cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    med = statistics.median
    print(
        f"run baseline.toml: Python median {med(py_wall):.3f} s wall / {med(py_cpu):.3f} s CPU; "
        f"CLI {med(cli_wall):.3f} s wall / {med(cli_cpu):.3f} s CPU; "
        f"Python/CLI wall {med(py_wall) / med(cli_wall):.3f}, CPU {med(py_cpu) / med(cli_cpu):.3f}; "
        f"{reps} reps, digests equal: {len(digests) == 1}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument(
        "--cli", default=os.environ.get("LUXSIM_BIN", str(ROOT / "target" / "release" / "luxsim"))
    )
    a = ap.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for record in (False, True):
        bench_single(a.reps, record)
        bench_batch(a.reps, record)
    bench_run(a.reps, a.cli)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
