"""Paths of the repository and its bundled data, and small file helpers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ADULT_CSV = REPO / "examples" / "data" / "adult-income.csv"
EXAMPLE_YAML = REPO / "examples" / "adult-income.yaml"
EXAMPLE_RUN = "adult-demo"


def adult_head(folder: Path, rows: int) -> Path:
    """The header and first ``rows`` rows of the bundled adult file, bytes unchanged."""
    path = folder / "adult-small.csv"
    with ADULT_CSV.open(encoding="utf-8") as source:
        path.write_text("".join(next(source) for _ in range(rows + 1)), encoding="utf-8")
    return path


def copy_sqlite(source: Path, target: Path) -> Path:
    """A consistent copy of a SQLite store (its WAL included), through SQLite's backup API."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()
    return target
