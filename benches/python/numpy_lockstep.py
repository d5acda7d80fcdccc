"""A round-based Snowball simulator in numpy: the reference luxsim's lockstep mode is
compared with in BENCHMARKS.md (issue 16).

Every unfinalized node polls k peers drawn by stake (Pareto weights, with replacement, by
an alias table: one uniform index, one uniform coin and two gathers a draw, faster in numpy
than `Generator.choice(p=...)` or a search of the CDF) and reads their preferences of the
previous round; two
choices, flat binary Snowball (alpha_preference = alpha_confidence = 15, beta = 20, k = 20).
This is the textbook vectorized simulator, not luxsim's model (no stake units, no tree), so
compare costs per node-round, not results.

    python benches/python/numpy_lockstep.py --nodes 1000000 --rounds 20

prints the node-rounds done and the CPU time (process time) of the rounds, setup excluded.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def alias_table(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vose's alias table of probabilities `p` (setup, not timed)."""
    n = p.size
    scaled = p * n
    prob = np.ones(n)
    alias = np.arange(n)
    small = list(np.flatnonzero(scaled < 1.0))
    large = list(np.flatnonzero(scaled >= 1.0))
    while small and large:
        lo, hi = small.pop(), large.pop()
        prob[lo] = scaled[lo]
        alias[lo] = hi
        scaled[hi] += scaled[lo] - 1.0
        (small if scaled[hi] < 1.0 else large).append(hi)
    return prob, alias


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=20, help="at most this many rounds")
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--alpha", type=int, default=15)
    ap.add_argument("--beta", type=int, default=20)
    ap.add_argument("--seed", type=int, default=11)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    n = a.nodes
    stake = rng.pareto(1.16, n) + 1.0
    prob, alias = alias_table(stake / stake.sum())
    pref = (rng.permutation(n) < n // 2).astype(np.int8)
    strength = np.zeros((n, 2), dtype=np.int32)
    confidence = np.zeros(n, dtype=np.int32)
    final = np.zeros(n, dtype=bool)
    node_rounds = 0
    start = time.process_time()
    rounds = 0
    for _ in range(a.rounds):
        active = np.flatnonzero(~final)
        if active.size == 0:
            break
        rounds += 1
        node_rounds += active.size
        # k stake-weighted peers per active node (alias draws), their previous prefs.
        shape = (active.size, a.k)
        bucket = rng.integers(0, n, size=shape)
        peers = np.where(rng.random(shape) < prob[bucket], bucket, alias[bucket])
        ones = pref[peers].sum(axis=1, dtype=np.int32)
        zeros = a.k - ones
        top = (ones > zeros).astype(np.int8)
        votes = np.maximum(ones, zeros)
        ok = votes >= a.alpha
        # Snowball: strengths, preference by strength, confidence in a row of the same top.
        strength[active[ok], top[ok]] += 1
        new_pref = pref.copy()
        s = strength[active]
        new_pref[active] = np.where(s[:, 1] > s[:, 0], 1, np.where(s[:, 0] > s[:, 1], 0, pref[active]))
        same = ok & (top == pref[active])
        confidence[active] = np.where(same, confidence[active] + 1, np.where(ok, 1, 0))
        final[active] = confidence[active] >= a.beta
        pref = new_pref
    cpu = time.process_time() - start
    print(f"nodes {n}, rounds {rounds}, node-rounds {node_rounds}, finalized {final.mean():.3f}")
    print(f"cpu {cpu:.2f} s, {cpu / node_rounds * 1e9:.0f} ns a node-round")


if __name__ == "__main__":
    main()
