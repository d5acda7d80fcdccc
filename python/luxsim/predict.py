"""Consensus-time prediction: fit, save and evaluate models of a scenario's p50 and p99 time
to finality, in the JSON format ``luxsim predict --model`` reads (``docs/prediction.md``).

Features and the analytic baseline come from the Rust core (``luxsim predict`` computes
the same numbers). A model predicts ``ln(target / baseline)`` per target as
``intercept + sum(w_j * term_j)``, each term ``transform(product(of) / product(per))`` of
features; fitting uses numpy least squares with a small ridge (the ``ml`` extra).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple, Union

from . import _luxsim
from ._extras import require
from .sim import Scenario, SweepResult

if TYPE_CHECKING:  # pragma: no cover
    import pandas

FORMAT = "luxsim-predict/1"
TARGETS = ("p50_ms", "p99_ms")
PathLike = Union[str, Path]
Term = Dict[str, Any]

#: The terms a model is fitted on unless told otherwise (see ``docs/prediction.md``).
DEFAULT_TERMS: List[Term] = [
    {"transform": "log", "of": ["nodes"]},
    {"transform": "log", "of": ["k"]},
    {"transform": "identity", "of": ["alpha_preference"], "per": ["k"]},
    {"transform": "identity", "of": ["alpha_confidence"], "per": ["k"]},
    {"transform": "log", "of": ["beta"]},
    {"transform": "log", "of": ["concurrent_polls"]},
    {"transform": "log", "of": ["latency_p95_ms"], "per": ["latency_median_ms"]},
    {"transform": "log1p", "of": ["region_base_ms"], "per": ["latency_median_ms"]},
    {"transform": "log", "of": ["poll_timeout_ms"], "per": ["latency_median_ms"]},
    {"transform": "identity", "of": ["loss"]},
    {"transform": "log1p", "of": ["lossy_poll_share", "poll_timeout_ms"], "per": ["latency_median_ms"]},
    {"transform": "identity", "of": ["byzantine_share"]},
    # Polls that include a silent (or delaying) node wait for their timeout: about
    # k * byzantine_share of them, each timeout / latency times longer.
    {
        "transform": "log1p",
        "of": ["byzantine_share", "strategy_silent", "k", "poll_timeout_ms"],
        "per": ["latency_median_ms"],
    },
    {
        "transform": "log1p",
        "of": ["byzantine_share", "strategy_delay", "k", "poll_timeout_ms"],
        "per": ["latency_median_ms"],
    },
    {"transform": "identity", "of": ["byzantine_stake_share"]},
    {"transform": "identity", "of": ["stake_gini"]},
    {"transform": "log", "of": ["choices"]},
    {"transform": "identity", "of": ["initial_max_share"]},
] + [
    {"transform": "identity", "of": ["byzantine_share", f"strategy_{s}"]}
    for s in [
        "silent",
        "stubborn",
        "random",
        "equivocate",
        "balance",
        "delay",
        "balance_simple",
        "balance_informed",
        "split",
    ]
]

_TRANSFORMS = {"identity": lambda x: x, "log": math.log, "log1p": math.log1p}


def _core(obj: Union[Scenario, PathLike]) -> "_luxsim.Scenario":
    s = obj if isinstance(obj, Scenario) else Scenario.load(obj)
    return s._core


def extract_features(obj: Union[Scenario, PathLike]) -> Dict[str, float]:
    """The features of a scenario (a ``Scenario`` or a path), in order: the numbers
    ``luxsim predict --json`` prints. ``ScenarioError`` for scenarios other than one
    decision in event mode without partitions or crashes."""
    return dict(_luxsim.scenario_features(_core(obj)))


def baseline(obj: Union[Scenario, PathLike]) -> float:
    """The analytic estimate, ms: ``beta / concurrent_polls`` round trips of
    ``2 * (latency_median_ms + region_base_ms)``."""
    return float(_luxsim.scenario_baseline(_core(obj)))


def baseline_from_features(f: Mapping[str, float]) -> float:
    """The baseline from a feature dict (the same arithmetic as the core's)."""
    return f["beta"] / f["concurrent_polls"] * (2.0 * (f["latency_median_ms"] + f["region_base_ms"]))


def term_value(term: Term, f: Mapping[str, float]) -> float:
    """``transform(product of term["of"] / product of term["per"])``, in the core's order."""
    x = 1.0
    for name in term["of"]:
        x *= f[name]
    for name in term.get("per", []):
        x = _div(x, f[name])
    kind = term["transform"]
    try:
        return float(_TRANSFORMS[kind](x))
    except ValueError:  # outside the domain of log: -inf at the edge, NaN beyond (as in Rust)
        return -math.inf if x == (0.0 if kind == "log" else -1.0) else math.nan


def _div(a: float, b: float) -> float:
    """``a / b`` in IEEE arithmetic (as Rust's ``/``): a zero divisor gives an infinity or NaN."""
    if b != 0:
        return a / b
    if a == 0 or math.isnan(a):
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def _read_sweep(sweep: Union[SweepResult, PathLike]) -> Tuple[Path, Dict[str, Any]]:
    directory = sweep.dir if isinstance(sweep, SweepResult) else Path(sweep)
    with open(directory / "sweep.json") as f:
        return directory, json.load(f)


def feature_table(
    sweep: Union[SweepResult, PathLike], scenario: Optional[PathLike] = None
) -> "pandas.DataFrame":
    """One row per run of a sweep (a ``SweepResult`` or its directory): ``point`` (the grid
    point as ``key=value`` text), ``group`` (equal for points with equal features, such as
    a Byzantine fraction of 0 under two strategies, whose runs are kept once), ``seed``, every feature,
    ``baseline_ms``, ``p50_ms``, ``p99_ms`` (NaN without finality) and
    ``honest_finalized``. Each run's scenario is the sweep's (``scenario`` replaces its
    path) with the sweep's ``--set``, the point's values and the run's seed."""
    pd = require("pandas", "ml", "building a feature table")
    directory, manifest = _read_sweep(sweep)
    keys = [axis["key"] for axis in manifest["vary"]]
    runs = pd.read_csv(directory / "runs.csv", dtype=str, keep_default_na=False)
    base = Scenario.load(scenario or manifest["scenario"], manifest["set"])
    rows: List[Dict[str, Any]] = []
    first: Dict[str, str] = {}
    for rec in runs.to_dict("records"):
        point = ",".join(f"{k}={rec[k]}" for k in keys)
        s = base.override([f"{k}={rec[k]}" for k in keys] + [f"seed={rec['seed']}"])
        f = extract_features(s)
        # The group of a point: its features at the run of its first seed.
        group = first.setdefault(point, hashlib.sha256(repr(sorted(f.items())).encode()).hexdigest()[:16])
        row: Dict[str, Any] = {"point": point, "group": group, "seed": int(rec["seed"])}
        row.update(f)
        row["baseline_ms"] = baseline(s)
        for t in TARGETS:
            cell = rec[f"finality_{t}"]
            row[t] = float(cell) if cell else math.nan
        row["honest_finalized"] = float(rec["honest_finalized"])
        rows.append(row)
    # Points with equal features (a Byzantine fraction of 0 under two strategies) ran the
    # same runs: keep one copy of each.
    return pd.DataFrame(rows).drop_duplicates(["group", "seed"]).reset_index(drop=True)


def _table(data: Union["pandas.DataFrame", SweepResult, PathLike]) -> "pandas.DataFrame":
    pd = require("pandas", "ml", "fitting a consensus-time model")
    return data if isinstance(data, pd.DataFrame) else feature_table(data)


def split_points(
    data: Union["pandas.DataFrame", SweepResult, PathLike], test_share: float = 0.25, salt: str = ""
) -> Tuple[List[str], List[str]]:
    """Train and held-out groups of grid points (whole points, every seed, never split):
    a group is held out when the SHA-256 of ``salt + group`` falls in the first
    ``test_share`` of its range. Deterministic; the same data give the same split."""
    groups = sorted(set(_table(data)["group"]))
    cut = int(test_share * 2**32)
    test = [g for g in groups if int(hashlib.sha256((salt + g).encode()).hexdigest()[:8], 16) < cut]
    return [g for g in groups if g not in set(test)], test


def _select(table: "pandas.DataFrame", groups: Optional[Sequence[str]]) -> "pandas.DataFrame":
    return table if groups is None else table[table["group"].isin(set(groups))]


class ConsensusTimeModel:
    """A linear model of ``ln(target / baseline)`` per target over ``terms``.

    ``fit`` sets ``trained_runs`` and ``excluded_runs`` (runs without finality, left out);
    ``save`` writes the file ``luxsim predict --model`` reads; ``load`` reads it back.
    """

    def __init__(
        self,
        terms: Optional[Sequence[Term]] = None,
        features: Optional[Sequence[str]] = None,
        targets: Optional[Mapping[str, Mapping[str, Any]]] = None,
        about: Optional[Mapping[str, Any]] = None,
    ) -> None:
        self.terms: List[Term] = [dict(t) for t in (DEFAULT_TERMS if terms is None else terms)]
        self.features: List[str] = list(features or [])
        self.targets: Dict[str, Dict[str, Any]] = {k: dict(v) for k, v in (targets or {}).items()}
        self.about: Dict[str, Any] = dict(about or {})
        self.trained_runs = 0
        self.excluded_runs = 0

    def fit(
        self,
        data: Union["pandas.DataFrame", SweepResult, PathLike],
        groups: Optional[Sequence[str]] = None,
        ridge: float = 1e-3,
    ) -> "ConsensusTimeModel":
        """Fits both targets on the runs of ``data`` (a sweep, its directory or a
        ``feature_table``), restricted to ``groups`` if given. Terms are standardized and
        solved by least squares with an L2 penalty ``ridge * runs``; terms constant over
        the training runs get weight 0. Runs without finality are left out and counted in
        ``excluded_runs``."""
        np = require("numpy", "ml", "fitting a consensus-time model")
        table = _select(_table(data), groups)
        self.features = [c for c in table.columns if c not in _NOT_FEATURES]
        records = table.to_dict("records")
        ok = [all(r[t] > 0 for t in TARGETS) and r["baseline_ms"] > 0 for r in records]
        self.excluded_runs = len(records) - sum(ok)
        used = [r for r, good in zip(records, ok) if good]
        if not used:
            raise ValueError("no run with finality to fit on")
        x = np.array([[term_value(t, r) for t in self.terms] for r in used], dtype=float).reshape(
            len(used), len(self.terms)
        )
        if not np.all(np.isfinite(x)):
            raise ValueError("a term is not finite on the training runs (a log of a value <= 0)")
        mean, std = x.mean(axis=0), x.std(axis=0)
        keep = std > 1e-12 * np.maximum(1.0, np.abs(mean))
        z = (x[:, keep] - mean[keep]) / std[keep]
        m = len(used)
        for t in TARGETS:
            y = np.log(np.array([r[t] / r["baseline_ms"] for r in used]))
            w = np.zeros(len(self.terms))
            if z.shape[1]:
                a = np.vstack([z, math.sqrt(ridge * m) * np.eye(z.shape[1])])
                b = np.concatenate([y - y.mean(), np.zeros(z.shape[1])])
                w[keep] = np.linalg.lstsq(a, b, rcond=None)[0] / std[keep]
            intercept = float(y.mean() - np.dot(w, np.where(keep, mean, 0.0)))
            self.targets[t] = {"intercept": intercept, "weights": [float(v) for v in w]}
        self.trained_runs = m
        self.about.update(trained_runs=m, excluded_runs=self.excluded_runs, ridge=ridge)
        return self

    def predict(self, x: Union[Scenario, PathLike, Mapping[str, float]]) -> Dict[str, float]:
        """``dict(p50_ms=..., p99_ms=...)`` for a scenario, a path or a feature dict (whose
        baseline is ``x["baseline_ms"]`` if present, else ``baseline_from_features``), by
        the arithmetic of ``luxsim predict``."""
        if isinstance(x, Mapping):
            f: Mapping[str, float] = x
            b = float(x["baseline_ms"]) if "baseline_ms" in x else baseline_from_features(x)
        else:
            f, b = extract_features(x), baseline(x)
        if not self.targets:
            raise ValueError("the model is not fitted")
        values = [term_value(t, f) for t in self.terms]
        out = {}
        for t in TARGETS:
            lin = self.targets[t]
            y = float(lin["intercept"])
            for w, v in zip(lin["weights"], values):
                y += w * v
            out[t] = b * math.exp(y)
        return out

    def to_dict(self) -> Dict[str, Any]:
        """The model file's contents (a copy)."""
        if not self.targets:
            raise ValueError("the model is not fitted")
        terms = [
            {k: list(v) if isinstance(v, list) else v for k, v in t.items() if k != "per" or v}
            for t in self.terms
        ]
        out: Dict[str, Any] = {
            "format": FORMAT,
            "features": list(self.features),
            "terms": terms,
            "targets": {
                t: {"intercept": self.targets[t]["intercept"], "weights": list(self.targets[t]["weights"])}
                for t in TARGETS
            },
        }
        if self.about:
            out["about"] = json.loads(json.dumps(self.about))
        return out

    def save(self, path: PathLike) -> None:
        """Writes the model file (JSON, format ``luxsim-predict/1``)."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: PathLike) -> "ConsensusTimeModel":
        """Reads a model file; ``ValueError`` naming the file for another format."""
        with open(path) as f:
            d = json.load(f)
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            found = d.get("format") if isinstance(d, dict) else None
            raise ValueError(f"{path}: format {found!r} is not {FORMAT!r}")
        return cls(d["terms"], d["features"], d["targets"], d.get("about"))


_NOT_FEATURES: Set[str] = {"point", "group", "seed", "baseline_ms", "honest_finalized", *TARGETS}


def _scores(actual: Any, predicted: Any) -> Dict[str, float]:
    np = require("numpy", "ml", "scoring a consensus-time model")
    err = predicted - actual
    total = float(np.sum((actual - actual.mean()) ** 2))
    return {
        "mape": float(np.mean(np.abs(err) / actual) * 100.0),
        "r2": 1.0 - float(np.sum(err**2)) / total if total > 0 else math.nan,
    }


def evaluate(
    model: ConsensusTimeModel,
    data: Union["pandas.DataFrame", SweepResult, PathLike],
    groups: Optional[Sequence[str]] = None,
) -> Dict[str, Dict[str, Any]]:
    """MAPE (%) and R² (of the times in ms) of the model and of the baseline, per target,
    on the runs of ``data`` with finality (restricted to ``groups``, e.g. the held-out
    ones of ``split_points``): ``{target: {"model": {"mape", "r2"}, "baseline": {...},
    "runs": n, "points": m, "excluded_runs": e}}``."""
    np = require("numpy", "ml", "scoring a consensus-time model")
    table = _select(_table(data), groups)
    good = table[(table["p50_ms"] > 0) & (table["p99_ms"] > 0) & (table["baseline_ms"] > 0)]
    keys = model.features + ["baseline_ms"]
    preds = [model.predict({k: r[k] for k in keys}) for r in good.to_dict("records")]
    out: Dict[str, Dict[str, Any]] = {}
    for t in TARGETS:
        actual = good[t].to_numpy(dtype=float)
        out[t] = {
            "model": _scores(actual, np.array([p[t] for p in preds])),
            "baseline": _scores(actual, good["baseline_ms"].to_numpy(dtype=float)),
            "runs": len(good),
            "points": int(good["point"].nunique()),
            "excluded_runs": len(table) - len(good),
        }
    return out
