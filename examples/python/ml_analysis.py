"""Machine learning on consensus runs, as the Lux docs' ``ml_analysis.py`` shows it, on
runs whose truth is known: the vote matrix, anomalies, a Byzantine detector scored
against the simulator's nodes.csv, and a consensus-time model fitted on a sweep.

Run: python examples/python/ml_analysis.py   (needs the ``ml`` extra: pip install './python[ml]')
"""

from pathlib import Path

import luxsim
from lux_consensus import ConsensusAnalyzer, ConsensusML

ROOT = Path(__file__).resolve().parents[2]


def detection() -> None:
    """500 validators, 10 % of them equivocating (each answers its querier's id mod 2)."""
    scenario = luxsim.Scenario.load(ROOT / "scenarios" / "byzantine.toml").override(
        {
            "network.nodes": 500,
            "byzantine.fraction": 0.1,
            "byzantine.strategy": "equivocate",
            "max_time": "20s",
        }
    )
    result = luxsim.run(scenario, trace="messages")
    analyzer = ConsensusAnalyzer(result)

    vote_matrix = analyzer.get_vote_matrix()
    nodes, buckets = vote_matrix.shape
    print(f"vote matrix: {nodes} nodes x {buckets} time buckets of {analyzer.bucket_ms:.0f} ms")

    anomalies = analyzer.detect_anomalies(threshold=3.0)
    caught = anomalies[anomalies["byzantine"]]
    print(f"anomalies (robust z >= 3): {len(anomalies)} nodes, {len(caught)} of them Byzantine")
    print(anomalies.head(5).to_string())

    ml = ConsensusML(analyzer)
    model = ml.train_anomaly_detector()
    scores = ml.detect_byzantine_nodes(model)
    rule = analyzer.evaluate(analyzer.rule_scores()).loc["equivocate"]
    forest = analyzer.evaluate(scores, threshold=0.6).loc["equivocate"]
    print(f"rule-based detector: ROC AUC {rule['auc']:.3f}, recall {rule['recall']:.2f}")
    print(f"IsolationForest:     ROC AUC {forest['auc']:.3f}, recall {forest['recall']:.2f}")


def prediction() -> None:
    """A small sweep (beta and the network's size), a model fitted on it, and a prediction
    for a point it did not see."""
    base = luxsim.Scenario.load(ROOT / "scenarios" / "baseline.toml")
    sweep = luxsim.sweep(base, vary={"params.beta": [8, 12, 16, 20], "network.nodes": [100, 400]}, seeds=2)
    ml = ConsensusML()
    ml.fit(sweep)
    new = base.override({"params.beta": 14, "network.nodes": 250})
    features = ml.extract_features(new)
    predicted = ml.predict_consensus_time(features)
    actual = luxsim.run(new, trace="none").summary["finality_ms"]
    print(
        f"beta 14, 250 nodes: predicted p50 {predicted['p50_ms']:.0f} ms, p99 {predicted['p99_ms']:.0f} ms; "
        f"simulated p50 {actual['p50']:.0f} ms, p99 {actual['p99']:.0f} ms"
    )


if __name__ == "__main__":
    detection()
    prediction()
