"""A simulated network from Python: load a scenario, change it, run it, read the trace.

Run: python examples/python/network_simulation.py [NODES]   (needs the ``data`` extra)

The Lux docs simulate a network with in-process asyncio nodes (``ConsensusNode``). Here the
same validators run in luxsim's deterministic simulator instead: a virtual clock, a seeded
network with latency, and results identical to ``luxsim run`` on the same scenario and seed.
"""

import sys
from pathlib import Path

import luxsim

ROOT = Path(__file__).resolve().parents[2]


def main(nodes: int) -> None:
    scenario = luxsim.Scenario.load(ROOT / "scenarios" / "baseline.toml", set={"network.nodes": nodes})
    print(scenario)
    result = luxsim.run(scenario, trace="polls")
    s = result.summary
    print(
        f"{s['nodes']} nodes: {s['honest_finalized'] * 100:.0f}% of honest nodes finalized; "
        f"finality p50 {s['finality_ms']['p50']:.0f} ms, p99 {s['finality_ms']['p99']:.0f} ms"
    )
    print("digest:", result.digest)

    trace = result.trace
    polls = trace[trace["kind"] == "poll"]
    print(f"{len(polls)} polls; mean votes for the top choice: {polls['count'].mean():.1f} of k")
    decided = trace[trace["kind"] == "decide"].groupby("choice", observed=True).size()
    print("nodes per finalized choice:", decided.to_dict())

    # How finality moves with the network's latency: a small sweep, two seeds a point.
    sweep = luxsim.sweep(scenario, vary={"network.latency.median": ["20ms", "80ms"]}, seeds=2)
    print(sweep.points[["network.latency.median", "runs", "finality_p50_ms"]].to_string(index=False))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
