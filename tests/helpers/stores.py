"""Small real stores, raw SQL on them, and the CLI run as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import create_engine, text

from petsard_status import Metadater, Status

CONFIG = {"Loader": {"load": {}}, "Preprocessor": {"prep": {}}}


class Adapter:
    """An adapter with a given frame and metadata, as a module hands to ``put``."""

    def __init__(self, frame: pd.DataFrame, schema: Any = None) -> None:
        self.frame, self.schema = frame, schema

    def get_result(self) -> pd.DataFrame:
        return self.frame

    def get_metadata(self) -> Any:
        return self.schema


def frame(rows: int = 5) -> pd.DataFrame:
    return pd.DataFrame({"a": range(rows), "b": [f"v{i}" for i in range(rows)]})


def loader_adapter(rows: int = 5) -> Adapter:
    data = frame(rows)
    return Adapter(data, Metadater.create_schema(data, schema_id="load"))


def make_run(store: str | Path, run: str = "r", puts: int = 1) -> None:
    """A run of CONFIG with ``puts`` Loader puts."""
    with Status(CONFIG, store, run=run) as status:
        for k in range(puts):
            status.put("Loader", "load", loader_adapter(5 + k))


def sql(url: str, *statements: str, **params: Any) -> list[tuple[Any, ...]]:
    """Run statements in one transaction (autocommit off); the last one's rows."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            rows: list[tuple[Any, ...]] = []
            for statement in statements:
                result = conn.execute(text(statement), params)
                rows = [tuple(r) for r in result] if result.returns_rows else []
            return rows
    finally:
        engine.dispose()


def cli(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """``petsard-status ARGS`` in a new interpreter, as a user runs it."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, "-m", "petsard_status.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def one_error_line(result: subprocess.CompletedProcess) -> str:
    """The CLI's single ``Error:`` line; fails the test on a traceback or another exit code."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


FIRST_REVISION = "0001_initial"


def store_at_first_revision(path: Path, blob_mb: int = 0) -> Path:
    """A SQLite store at revision 0001 holding one run (and ``blob_mb`` MB of blobs)."""
    import datetime as dt

    from alembic import command

    from petsard_status import Store
    from petsard_status.store.migrate import alembic_config

    store = Store(path, upgrade=False)
    try:
        with store.engine.begin() as conn:
            command.upgrade(alembic_config(conn), FIRST_REVISION)
            now = dt.datetime(2025, 1, 1)
            conn.execute(text(
                "INSERT INTO runs (name, state, config_json, head_json, info_json, created_at, "
                "updated_at) VALUES ('r', 'running', '{}', '{}', '{}', :t, :t)"), {"t": now})
            for k in range(blob_mb):
                conn.execute(text("INSERT INTO blobs (hash, kind, size, data) "
                                  "VALUES (:h, 'frame', :n, randomblob(:n))"),
                             {"h": f"{k:032x}", "n": 1024 * 1024})
    finally:
        store.close()
    return path
