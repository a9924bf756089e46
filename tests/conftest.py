"""Shared fixtures: stores on real SQLite files and, where reachable, real PostgreSQL.

PostgreSQL tests run against ``$PETSARD_STATUS_TEST_PG`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``), each test in a schema of
its own.  Without a reachable server they skip with the reason; under
``CI=true`` a missing server is a failure, not a skip.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_URL = os.environ.get(
    "PETSARD_STATUS_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
REPO = Path(__file__).resolve().parent.parent
ADULT_CSV = REPO / "examples" / "data" / "adult-income.csv"

_pg_state: dict[str, str | None] = {}


def pg_unavailable_reason() -> str | None:
    """None when PostgreSQL answers; otherwise why not (checked once per session)."""
    if "reason" not in _pg_state:
        try:
            import psycopg  # noqa: F401
            from sqlalchemy import create_engine, text

            engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            engine.dispose()
            _pg_state["reason"] = None
        except Exception as exc:
            _pg_state["reason"] = f"PostgreSQL at {PG_URL} is not reachable: {exc}"
    return _pg_state["reason"]


def require_pg() -> None:
    reason = pg_unavailable_reason()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"CI=true requires PostgreSQL: {reason}")
        pytest.skip(reason)


def pg_schema_url(schema: str) -> str:
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def _pg_admin(statement: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(statement))
    engine.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL whose search_path is a fresh, empty schema; dropped afterwards."""
    require_pg()
    schema = f"t_{secrets.token_hex(6)}"
    _pg_admin(f"CREATE SCHEMA {schema}")
    try:
        yield pg_schema_url(schema)
    finally:
        _pg_admin(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'status.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same test on a SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'status.db'}"
    else:
        yield request.getfixturevalue("pg_url")


def adult_head(folder: Path, rows: int) -> Path:
    """The header and first ``rows`` rows of the bundled adult file, bytes unchanged."""
    path = folder / "adult-small.csv"
    with ADULT_CSV.open(encoding="utf-8") as source:
        path.write_text("".join(next(source) for _ in range(rows + 1)), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def adult_df():
    import pandas as pd

    return pd.read_csv(ADULT_CSV, na_values="?", skipinitialspace=True)


# --- the bundled example pipeline, run once per session ---------------------------------

EXAMPLE_YAML = REPO / "examples" / "adult-income.yaml"
EXAMPLE_RUN = "adult-demo"


@pytest.fixture(scope="session")
def example_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite store holding run ``adult-demo``: the example pipeline, run once, seed 1.

    Shared by many tests: only read it. Tests that write get their own copy
    from ``copy_sqlite``.
    """
    from petsard_status.execution import Executor

    folder = tmp_path_factory.mktemp("example")
    db = folder / "runs.db"
    with Executor(EXAMPLE_YAML, store=db, run=EXAMPLE_RUN, seed=1,
                  output_dir=folder / "output") as executor:
        executor.run()
    return db


@pytest.fixture(scope="session")
def example_pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The example pipeline's run ``adult-demo`` in a PostgreSQL schema of its own (read only)."""
    from petsard_status.execution import Executor

    require_pg()
    schema = f"t_example_{secrets.token_hex(4)}"
    _pg_admin(f"CREATE SCHEMA {schema}")
    try:
        url = pg_schema_url(schema)
        with Executor(EXAMPLE_YAML, store=url, run=EXAMPLE_RUN, seed=1,
                      output_dir=tmp_path_factory.mktemp("example_pg")) as executor:
            executor.run()
        yield url
    finally:
        _pg_admin(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def copy_sqlite(source: Path, target: Path) -> Path:
    """A consistent copy of a SQLite store (its WAL included), through SQLite's backup API."""
    import sqlite3

    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()
    return target


# A closing line that says whether the PostgreSQL cases ran: CI's log must show it.
_pg_nodeids: set[str] = set()
_pg_outcomes: dict[str, str] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & {"pg_url", "example_pg"} or item.get_closest_marker("postgres"):
            _pg_nodeids.add(item.nodeid)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.nodeid not in _pg_nodeids:
        return
    if report.when == "call" or report.outcome != "passed":
        _pg_outcomes.setdefault(report.nodeid, report.outcome)
        if report.outcome != "passed":
            _pg_outcomes[report.nodeid] = report.outcome


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _pg_nodeids:
        return
    counts = {outcome: 0 for outcome in ("passed", "failed", "skipped")}
    for outcome in _pg_outcomes.values():
        counts[outcome] = counts.get(outcome, 0) + 1
    terminalreporter.write_line(
        f"PostgreSQL cases ({PG_URL}): {counts['passed']} passed, {counts['failed']} failed, "
        f"{counts['skipped']} skipped"
    )
