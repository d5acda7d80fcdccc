"""The simulator from Python: load and override scenarios, run them, sweep them.

Runs and sweeps are the CLI's own code (``luxsim run``, ``luxsim sweep``), called with the
GIL released: the same scenario and seed give the same ``summary.json``, digest and CSV
files as the command line, byte for byte. Results are read with pandas (the ``data`` extra).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Union

from . import _luxsim
from ._extras import require

if TYPE_CHECKING:  # pragma: no cover
    import pandas

PathLike = Union[str, Path]
Overrides = Union[Mapping[str, Any], Sequence[str], None]

TRACE_DTYPES = {
    "time_ns": "int64",
    "node": "uint32",
    "kind": "category",
    "peer": "UInt32",
    "request": "UInt32",
    "choice": "UInt32",
    "count": "UInt32",
    "answers": "UInt32",
    "latency_ns": "UInt64",
}


def toml_literal(value: Any) -> str:
    """``value`` as the TOML text of a ``--set key=value`` override."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_literal(v) for v in value) + "]"
    raise TypeError(f"override value {value!r}: expected a bool, number, string or list")


def _overrides(set: Overrides) -> List[str]:
    if set is None:
        return []
    if isinstance(set, Mapping):
        return [f"{k}={toml_literal(v)}" for k, v in set.items()]
    if isinstance(set, str):
        raise TypeError("overrides: give a dict or a list of 'key.path=value' strings")
    return [str(s) for s in set]


def _label(value: Any) -> str:
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    if not text or "," in text:
        raise ValueError(f"sweep value {value!r}: must be non-empty and contain no comma")
    return text


class Scenario:
    """A scenario file, loaded and validated, with ``--set`` overrides.

    ``Scenario.load("scenarios/baseline.toml", set={"network.nodes": 500})``; errors are
    ``ScenarioError`` (a ``ValueError``) naming file, line and column.
    """

    def __init__(self, core: "_luxsim.Scenario") -> None:
        self._core = core

    @classmethod
    def load(cls, path: PathLike, set: Overrides = None) -> "Scenario":
        """Loads ``path`` with overrides (a dict of key paths, or ``key=value`` strings)."""
        return cls(_luxsim.Scenario.load(str(path), _overrides(set)))

    def override(self, set: Overrides = None, **keys: Any) -> "Scenario":
        """A copy with more overrides; keyword form uses ``__`` for dots
        (``params__k=10``)."""
        more = _overrides(set) + _overrides({k.replace("__", "."): v for k, v in keys.items()})
        return Scenario(self._core.with_set(more))

    @property
    def name(self) -> str:
        """The scenario's name."""
        return self._core.name

    @property
    def seed(self) -> int:
        """Its seed."""
        return self._core.seed

    @property
    def nodes(self) -> int:
        """Its number of validators."""
        return self._core.nodes

    @property
    def mode(self) -> str:
        """event, lockstep or harness."""
        return self._core.mode

    @property
    def path(self) -> Path:
        """The file it came from."""
        return Path(self._core.path)

    @property
    def overrides(self) -> List[str]:
        """Its ``--set`` overrides, in order."""
        return list(self._core.set)

    def run(self, **kwargs: Any) -> "SimulationResult":
        """``luxsim.run(self, **kwargs)``."""
        return run(self, **kwargs)

    def __repr__(self) -> str:
        return repr(self._core)


def _scenario(scenario: Union[Scenario, PathLike], set: Overrides) -> Scenario:
    if isinstance(scenario, Scenario):
        return scenario.override(set) if set else scenario
    return Scenario.load(scenario, set)


class SimulationResult:
    """What one run wrote: ``summary`` (the ``summary.json`` dict), ``digest``, the trace
    as a DataFrame, and the ids of the Byzantine nodes (the ground truth)."""

    def __init__(
        self, directory: Path, files: List[Path], keep: bool, scenario: Optional[Scenario] = None
    ) -> None:
        self.dir = directory
        self.scenario = scenario
        self.files = files
        with open(directory / "summary.json") as f:
            self.summary: Dict[str, Any] = json.load(f)
        self._trace: Optional["pandas.DataFrame"] = None
        if not keep:
            weakref.finalize(self, shutil.rmtree, str(directory), True)

    @property
    def digest(self) -> str:
        """SHA-256 over the run's decisions and polls (as ``luxsim run`` prints)."""
        return str(self.summary["digest"])

    @property
    def byzantine(self) -> List[int]:
        """Ids of the Byzantine nodes, ascending."""
        return list(self.summary["byzantine"]["ids"])

    @property
    def lockstep(self) -> bool:
        """Whether times are rounds (lockstep and harness modes) rather than nanoseconds."""
        return self.summary["mode"] != "event"

    @property
    def trace_path(self) -> Path:
        """The ``trace.csv`` the run wrote (``FileNotFoundError`` with ``trace="none"``)."""
        p = self.dir / "trace.csv"
        if not p.exists():
            raise FileNotFoundError(f"{p}: the run wrote no trace (run with trace='polls')")
        return p

    @property
    def trace(self) -> "pandas.DataFrame":
        """The trace, typed: ``time_ns`` int64, ``node`` uint32, ``kind`` categorical, the
        optional columns nullable UInt32, plus ``byzantine`` (bool, ground truth). The index
        is the virtual time as a timedelta (event mode) or the round (lockstep)."""
        if self._trace is None:
            pd = require("pandas", "data", "reading a run's tables")
            df = pd.read_csv(self.trace_path, dtype=TRACE_DTYPES)
            df["byzantine"] = df["node"].isin(set(self.byzantine))
            if self.lockstep:
                df.index = pd.Index(df["time_ns"], name="round")
            else:
                df.index = pd.TimedeltaIndex(pd.to_timedelta(df["time_ns"], unit="ns"), name="time")
            self._trace = df
        return self._trace

    @property
    def nodes(self) -> "pandas.DataFrame":
        """``nodes.csv``, the ground truth of every node (indexed by ``id``): ``stake`` (its
        share), ``byzantine``, ``strategy``, ``region``, ``initial`` (honest nodes' initial
        preference), ``crashes`` (``AT-RECOVER`` windows in ns, ``;``-separated)."""
        pd = require("pandas", "data", "reading a run's tables")
        p = self.dir / "nodes.csv"
        if not p.exists():
            raise FileNotFoundError(f"{p}: the run wrote no nodes.csv (it comes with a trace)")
        dtypes = {"id": "uint32", "stake": "float64", "byzantine": "bool", "initial": "UInt32"}
        df = pd.read_csv(p, dtype=dtypes, keep_default_na=False, na_values={"initial": [""]})
        return df.set_index("id")

    def to_csv(self, path: PathLike) -> None:
        """Copies the trace file, byte for byte the CLI's ``trace.csv``."""
        shutil.copyfile(self.trace_path, path)

    def to_parquet(self, path: PathLike) -> None:
        """Writes the typed trace as Parquet (needs pyarrow)."""
        self.trace.reset_index(drop=True).to_parquet(path, index=False)

    def __repr__(self) -> str:
        s = self.summary
        return (
            f"SimulationResult(scenario={s['scenario']!r}, seed={s['seed']}, "
            f"honest_finalized={s.get('honest_finalized')}, digest={self.digest[:16]}...)"
        )


def run(
    scenario: Union[Scenario, PathLike],
    seed: Optional[int] = None,
    trace: str = "polls",
    out: Optional[PathLike] = None,
    set: Overrides = None,
) -> SimulationResult:
    """Runs a scenario (a ``Scenario`` or a path) as ``luxsim run``.

    ``trace``: none, decisions, polls (default) or messages. ``out``: a directory to keep
    (written atomically, as ``--out``); by default a temporary one removed with the
    result.
    """
    s = _scenario(scenario, set)
    keep = out is not None
    directory = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="luxsim-run-"))
    files = _luxsim.run_scenario(s._core, str(directory), trace, seed)
    return SimulationResult(directory, [Path(f) for f in files], keep, s)


class SweepResult:
    """A sweep's ``runs`` (one row per run) and ``points`` (one row per grid point) as
    DataFrames, read from the CLI's own ``runs.csv`` and ``points.csv``."""

    def __init__(self, directory: Path, exit_code: int, keep: bool) -> None:
        pd = require("pandas", "data", "reading a run's tables")
        self.dir = directory
        self.exit_code = exit_code
        self.runs: "pandas.DataFrame" = pd.read_csv(directory / "runs.csv")
        self.points: "pandas.DataFrame" = pd.read_csv(directory / "points.csv")
        with open(directory / "sweep.json") as f:
            self.manifest: Dict[str, Any] = json.load(f)
        if not keep:
            weakref.finalize(self, shutil.rmtree, str(directory), True)

    def __repr__(self) -> str:
        return f"SweepResult(runs={len(self.runs)}, points={len(self.points)}, dir={str(self.dir)!r})"


def sweep(
    scenario: Union[Scenario, PathLike],
    vary: Optional[Mapping[str, Sequence[Any]]] = None,
    seeds: int = 1,
    jobs: Optional[int] = None,
    set: Overrides = None,
    out: Optional[PathLike] = None,
) -> SweepResult:
    """Runs a grid as ``luxsim sweep``: ``vary={"params.k": [10, 20]}`` (values, or a
    ``"START..END:STEP"`` string), ``seeds`` per point, ``jobs`` threads (default: one per
    core). The files are the CLI's; ``exit_code`` is 1 when a run failed its checks."""
    if isinstance(scenario, Scenario):
        path, base = scenario.path, scenario.overrides
    else:
        path, base = Path(scenario), []
    axes = []
    for key, values in (vary or {}).items():
        if isinstance(values, str):
            axes.append(f"{key}={values}")
        else:
            axes.append(f"{key}=" + ",".join(_label(v) for v in values))
    keep = out is not None
    directory = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="luxsim-sweep-"))
    code = _luxsim.sweep_scenario(str(path), str(directory), axes, seeds, base + _overrides(set), jobs)
    return SweepResult(directory, code, keep)
