"""Analysis and machine learning over runs: the Lux docs' ``ConsensusAnalyzer`` and
``ConsensusML``.

A simulated run is analysed by the Rust core (``luxsim analyze``): per-node features,
the vote matrix, the rule-based detector, and scores against the run's ``nodes.csv``
(the ground truth). ``ConsensusML`` adds scikit-learn's IsolationForest over the same
features, and consensus-time prediction (``luxsim.predict``). Everything here needs the
``ml`` extra: ``pip install 'luxsim[ml]'``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Union

from . import _luxsim
from ._consensus import Consensus
from ._extras import require
from .predict import ConsensusTimeModel, extract_features
from .sim import Scenario, SimulationResult, SweepResult

if TYPE_CHECKING:  # pragma: no cover
    import numpy
    import pandas

PathLike = Union[str, Path]

#: Answerer-side features the IsolationForest reads (what a querier sees of a node).
ML_FEATURES = [
    "response_rate",
    "agree_late",
    "agree_poll",
    "flip_rate",
    "contradiction_rate",
    "response_ms",
]

_INTS = {"id", "queries_received", "answers", "flips", "contradictions", "queries_sent", "polls"}
_TEXT = {"strategy", "reason"}


class ConsensusAnalyzer:
    """Features, vote matrix and anomalies of a run or of a ``Consensus`` instance.

    ``source``: a ``SimulationResult`` run with ``trace="messages"``, the directory of
    such a run (``luxsim run --trace messages --out DIR``), or a ``Consensus`` whose
    votes were recorded. ``window_ms``: two answers of a node to different queriers this
    close count as "at the same time"; ``buckets``: the vote matrix's time columns.
    """

    def __init__(
        self,
        source: Union[SimulationResult, Consensus, PathLike],
        window_ms: float = 50.0,
        buckets: int = 64,
        threshold: float = 0.5,
    ) -> None:
        self.consensus: Optional[Consensus] = None
        self.result: Optional[SimulationResult] = None
        self.run_dir: Optional[Path] = None
        self.threshold = threshold
        self._raw: Dict[str, Any] = {}
        self._features: Optional["pandas.DataFrame"] = None
        if isinstance(source, Consensus):
            self.consensus = source
            return
        # A SimulationResult's temporary directory lives as long as the result: keep it.
        self.result = source if isinstance(source, SimulationResult) else None
        directory = source.dir if isinstance(source, SimulationResult) else Path(source)
        self.run_dir = directory
        window_ns = int(round(window_ms * 1e6))
        if window_ns < 0 or buckets < 1:
            raise ValueError("window_ms must be >= 0 and buckets >= 1")
        self._raw = _luxsim.analyze_run(str(directory), window_ns, buckets, threshold)

    # -- simulated runs ------------------------------------------------------------
    def _need_run(self, what: str) -> None:
        if self.run_dir is None:
            raise TypeError(f"{what} needs a simulated run (a Consensus has no ground truth)")

    @property
    def report(self) -> Dict[str, Any]:
        """``analysis.json`` as a dict (rule-based detector's scores per strategy, top
        suspects, options)."""
        self._need_run("report")
        return dict(json.loads(self._raw["report"]))

    @property
    def features(self) -> "pandas.DataFrame":
        """One row per node (index ``id``): ``features.csv``'s columns, typed; empty cells
        (a rate without a denominator) are NaN. For a ``Consensus``: one row per voter."""
        pd = require("pandas", "ml", "ConsensusAnalyzer.features")
        if self.consensus is not None:
            return self._consensus_features()
        if self._features is not None:
            return self._features
        cols = self._raw["columns"]
        data: Dict[str, Any] = {}
        for name in self._raw["header"]:
            values = cols[name]
            if name in _TEXT:
                data[name] = ["" if v is None else v for v in values]
            elif name == "byzantine":
                data[name] = [v == "true" for v in values]
            elif name in _INTS:
                data[name] = pd.array([int(v) for v in values], dtype="int64")
            else:
                data[name] = pd.array([None if v is None else float(v) for v in values], dtype="float64")
        df = pd.DataFrame(data)
        df["decided"] = df["decided"].astype("Int64")
        self._features = df.set_index("id")
        return self._features

    def get_vote_matrix(self) -> "numpy.ndarray":
        """The vote matrix as a dense numpy array.

        Simulated run: answerer x time bucket (``buckets`` equal slices of the run), each
        cell the node's delivered answers equal to the run's decision minus the others (all
        zero when no honest node decided). Its size is nodes x buckets whatever the
        sampling, so it stays dense at 10^5 nodes.
        ``Consensus``: voter x block (``block_ids`` gives the columns' ids), +1 a PREFER
        or ACCEPT vote, -1 a REJECT.
        """
        np = require("numpy", "ml", "get_vote_matrix")
        if self.consensus is not None:
            return self._consensus_matrix()[0]
        m = np.frombuffer(self._raw["matrix"], dtype="<i4").reshape(self._raw["nodes"], self._raw["buckets"])
        return m.astype(np.int64)

    @property
    def bucket_ms(self) -> float:
        """Width of a vote-matrix column, in ms of virtual time."""
        self._need_run("bucket_ms")
        return float(self._raw["bucket_ns"]) / 1e6

    def rule_scores(self) -> "pandas.Series":
        """The rule-based detector's score per node in [0, 1): 1 - 2^(-z/3) of the node's
        largest robust z-score over the rules (0.5 is a z of 3)."""
        self._need_run("rule_scores")
        return self.features["score"]

    def detect_anomalies(self, threshold: float = 3.0) -> "pandas.DataFrame":
        """Nodes whose robust z-score on some rule is at least ``threshold``, most
        anomalous first: columns ``feature`` (the rule), ``z``, ``score`` and, for runs,
        ``byzantine`` and ``strategy`` (the truth, for checking).

        A robust z-score is (x - median) / max(1.4826 MAD, floor) over all nodes, in the
        suspicious direction of each rule (docs/analysis.md): the median and the MAD
        (median absolute deviation) do not move when a minority misbehaves."""
        pd = require("pandas", "ml", "detect_anomalies")
        f = self.features
        zcols = [c for c in f.columns if c.startswith("z_")]
        if not zcols:
            return pd.DataFrame(columns=["feature", "z", "score"])
        z = f[zcols].fillna(float("-inf"))
        best = z.max(axis=1)
        out = pd.DataFrame({"feature": z.idxmax(axis=1).str[2:], "z": best})
        for c in ("score", "byzantine", "strategy"):
            if c in f.columns:
                out[c] = f[c]
        out = out[out["z"] >= threshold]
        return out.sort_values("z", ascending=False, kind="stable")

    def evaluate(
        self, scores: Union[Sequence[float], "pandas.Series"], threshold: float = 0.5
    ) -> "pandas.DataFrame":
        """Scores any detector's per-node ``scores`` against ``nodes.csv``: one row per
        strategy (and ``all``) with ROC AUC, flagged, false positives, precision, recall
        at ``threshold``; the same arithmetic as ``luxsim analyze``."""
        pd = require("pandas", "ml", "evaluate")
        self._need_run("evaluate")
        assert self.run_dir is not None
        values = [float(s) for s in list(scores)]
        rows = json.loads(_luxsim.score_detector(str(self.run_dir / "nodes.csv"), values, threshold))
        return pd.DataFrame(rows).set_index("strategy")

    def write(self, out: Optional[PathLike] = None) -> List[Path]:
        """Writes ``features.csv``, ``analysis.json`` and ``roc.svg`` (into the run
        directory by default), as ``luxsim analyze``; returns the paths."""
        self._need_run("write")
        assert self.run_dir is not None
        window_ns = int(self.report["options"]["window_ms"] * 1e6)
        target = Path(out) if out is not None else self.run_dir
        raw = _luxsim.analyze_run(
            str(self.run_dir), window_ns, self._raw["buckets"], self.threshold, str(target)
        )
        return [Path(p) for p in raw["files"]]

    # -- Consensus instances ---------------------------------------------------------
    def _votes(self) -> "pandas.DataFrame":
        assert self.consensus is not None
        df = self.consensus.to_dataframe()
        return df[df["outcome"].isin(["counted", "poll_recorded"])]

    def _consensus_matrix(self) -> "tuple[numpy.ndarray, list[int], list[int]]":
        np = require("numpy", "ml", "get_vote_matrix")
        df = self._votes()
        voters = sorted(int(v) for v in df["node_id"].unique())
        blocks = sorted(int(b) for b in df["block_id"].unique())
        vi = {v: i for i, v in enumerate(voters)}
        bi = {b: i for i, b in enumerate(blocks)}
        m = np.zeros((len(voters), len(blocks)), dtype=np.int64)
        sign = np.where(df["vote_type"].astype(str) == "REJECT", -1, 1)
        for v, b, s in zip(df["node_id"], df["block_id"], sign):
            m[vi[int(v)], bi[int(b)]] += s
        return m, voters, blocks

    @property
    def block_ids(self) -> List[int]:
        """``Consensus`` source: the block id of each vote-matrix column."""
        if self.consensus is None:
            raise TypeError("block_ids: a simulated run's matrix has time buckets as columns")
        return self._consensus_matrix()[2]

    def _consensus_features(self) -> "pandas.DataFrame":
        pd = require("pandas", "ml", "ConsensusAnalyzer.features")
        assert self.consensus is not None
        df = self._votes()
        status = {b: self.consensus.status(int(b)) for b in df["block_id"].unique()}
        rows = []
        for voter, g in df.groupby("node_id", sort=True, observed=True):
            kinds = g["vote_type"].astype(str)
            decided = [
                (k, status[b]) for k, b in zip(kinds, g["block_id"]) if status[b] in ("accepted", "rejected")
            ]
            agree = [(k == "REJECT") == (s == "rejected") for k, s in decided]
            rows.append(
                {
                    "id": int(voter),
                    "votes": len(g),
                    "blocks": int(g["block_id"].nunique()),
                    "reject_share": float((kinds == "REJECT").mean()),
                    "agree_outcome": float(sum(agree) / len(agree)) if agree else float("nan"),
                }
            )
        out = pd.DataFrame(rows, columns=["id", "votes", "blocks", "reject_share", "agree_outcome"])
        out = out.set_index("id")
        _add_robust_z(out, {"reject_share": 1.0, "agree_outcome": -1.0}, floor=0.05)
        return out


def _add_robust_z(df: "pandas.DataFrame", direction: Mapping[str, float], floor: float) -> None:
    """Adds ``z_<column>`` columns: robust z-scores in the suspicious ``direction``."""
    for col, sign in direction.items():
        x = sign * df[col]
        med = x.median()
        mad = (x - med).abs().median()
        scale = max(1.4826 * float(mad), floor) if mad == mad else floor
        df[f"z_{col}"] = (x - med) / scale


class ConsensusML:
    """The Lux docs' machine-learning helper: an unsupervised Byzantine detector
    (IsolationForest over a run's answerer-side features) and consensus-time prediction.

    ``source``: what ``ConsensusAnalyzer`` takes (a run, its directory, a ``Consensus``),
    or an analyzer; ``random_state`` seeds the forest, so scores are reproducible.
    """

    def __init__(
        self,
        source: Union[ConsensusAnalyzer, SimulationResult, Consensus, PathLike, None] = None,
        random_state: int = 0,
    ) -> None:
        if source is None or isinstance(source, ConsensusAnalyzer):
            self.analyzer = source
        else:
            self.analyzer = ConsensusAnalyzer(source)
        self.random_state = random_state
        self.time_model: Optional[ConsensusTimeModel] = None

    def _matrix(self, analyzer: Optional[ConsensusAnalyzer]) -> "numpy.ndarray":
        a = analyzer or self.analyzer
        if a is None:
            raise ValueError("no run: give ConsensusML(source) or pass an analyzer")
        f = a.features
        cols = [c for c in ML_FEATURES if c in f.columns] or [c for c in f.columns if not c.startswith("z_")]
        x = f[cols].astype("float64")
        x = x.fillna(x.median()).fillna(0.0)
        return x.to_numpy()

    def train_anomaly_detector(
        self,
        analyzers: Optional[Sequence[ConsensusAnalyzer]] = None,
        contamination: Union[str, float] = "auto",
        n_estimators: int = 200,
    ) -> Any:
        """Fits scikit-learn's ``IsolationForest`` on the features of this run (or of
        ``analyzers``' runs, stacked) and returns it. Unsupervised: the truth is not
        used, so scoring it against ``nodes.csv`` is honest."""
        np = require("numpy", "ml", "train_anomaly_detector")
        ensemble = require("sklearn.ensemble", "ml", "train_anomaly_detector")
        parts = [self._matrix(a) for a in analyzers] if analyzers else [self._matrix(None)]
        model = ensemble.IsolationForest(
            n_estimators=n_estimators, contamination=contamination, random_state=self.random_state
        )
        model.fit(np.vstack(parts))
        return model

    def detect_byzantine_nodes(
        self, model: Any = None, analyzer: Optional[ConsensusAnalyzer] = None
    ) -> "pandas.Series":
        """A score in [0, 1] per node (index ``id``), higher = more anomalous: the
        forest's anomaly score 2^(-E[h(x)]/c(n)) of Liu et al. (``-score_samples``). Fits a
        model on the run first if none is given."""
        pd = require("pandas", "ml", "detect_byzantine_nodes")
        a = analyzer or self.analyzer
        if model is None:
            model = self.train_anomaly_detector([a] if a is not None else None)
        x = self._matrix(a)
        assert a is not None
        scores = -model.score_samples(x)
        return pd.Series(scores, index=a.features.index, name="isolation_forest")

    # -- consensus-time prediction --------------------------------------------------
    @staticmethod
    def extract_features(source: Union[Scenario, PathLike]) -> Dict[str, float]:
        """A scenario's features for prediction (n, k, alphas, beta, concurrent polls,
        latency median, loss, Byzantine share and strategy, stake skew): ``luxsim.predict``."""
        return extract_features(source)

    def fit(self, sweep_result: Union[SweepResult, PathLike], **kwargs: Any) -> ConsensusTimeModel:
        """Fits a consensus-time model on a sweep's runs (``luxsim.predict``)."""
        self.time_model = ConsensusTimeModel().fit(sweep_result, **kwargs)
        return self.time_model

    def predict_consensus_time(
        self, features: Union[Scenario, PathLike, Mapping[str, float]]
    ) -> Dict[str, float]:
        """``dict(p50_ms=..., p99_ms=...)`` from the fitted (or loaded) model."""
        if self.time_model is None:
            raise RuntimeError("predict_consensus_time: fit(sweep) or load_model(path) first")
        return self.time_model.predict(features)

    def load_model(self, path: PathLike) -> ConsensusTimeModel:
        """Loads a model file (the format ``luxsim predict --model`` reads)."""
        self.time_model = ConsensusTimeModel.load(path)
        return self.time_model
