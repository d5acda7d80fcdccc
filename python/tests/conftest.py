"""Shared fixtures: the repository root and the ``luxsim`` binary the CLI comparisons use."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def luxsim_bin() -> str:
    """The CLI built from this checkout (``LUXSIM_BIN``, else target/debug/luxsim)."""
    path = os.environ.get("LUXSIM_BIN") or str(ROOT / "target" / "debug" / "luxsim")
    if not Path(path).exists():
        pytest.fail(f"{path} not found: build it with `cargo build` or set LUXSIM_BIN")
    return path
