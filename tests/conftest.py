"""Shared fixtures: stores on real SQLite files and, where reachable, real PostgreSQL.

PostgreSQL tests run against ``$PETSARD_STATUS_TEST_PG`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``), each test in a schema of
its own.  Without a reachable server they skip with the reason; under
``CI=true`` a missing server is a failure, not a skip.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.paths import ADULT_CSV, EXAMPLE_RUN, EXAMPLE_YAML, REPO  # noqa: F401
from helpers.postgres import IN_CI, PG_URL, pg_admin, pg_schema_url, require_pg  # noqa: F401


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL whose search_path is a fresh, empty schema; dropped afterwards."""
    require_pg()
    schema = f"t_{secrets.token_hex(6)}"
    pg_admin(f"CREATE SCHEMA {schema}")
    try:
        yield pg_schema_url(schema)
    finally:
        pg_admin(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


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


@pytest.fixture(scope="session")
def adult_df():
    import pandas as pd

    return pd.read_csv(ADULT_CSV, na_values="?", skipinitialspace=True)


# --- the bundled example pipeline, run once per session ---------------------------------


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
    pg_admin(f"CREATE SCHEMA {schema}")
    try:
        url = pg_schema_url(schema)
        with Executor(EXAMPLE_YAML, store=url, run=EXAMPLE_RUN, seed=1,
                      output_dir=tmp_path_factory.mktemp("example_pg")) as executor:
            executor.run()
        yield url
    finally:
        pg_admin(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


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
