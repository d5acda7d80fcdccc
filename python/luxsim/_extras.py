"""Imports of the optional extras, with the install command in the error."""

import importlib
from types import ModuleType


def require(module: str, extra: str, what: str) -> ModuleType:
    """Imports ``module``, or raises ImportError saying which extra of luxsim provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(f"{what} needs {module.split('.')[0]}: pip install 'luxsim[{extra}]'") from e
