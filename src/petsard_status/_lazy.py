"""Package attributes imported on first access (PEP 562).

A package ``__init__`` that imported every module it re-exports would load
pandas, pyarrow or scipy for a caller that needs one light name from it (a
command listing a run's history needs neither). The packages list their public
names and where each is defined, and install these two functions as their
module-level ``__getattr__`` and ``__dir__``; type checkers read ordinary
imports under ``TYPE_CHECKING`` instead, so a misspelt name stays an error.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: Mapping[str, str], public: Sequence[str]
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: ``exports`` maps a name to its module."""
    namespace = vars(sys.modules[package])

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value  # later lookups are ordinary attribute reads
        return value

    def __dir__() -> list[str]:
        return list(public)

    return __getattr__, __dir__
