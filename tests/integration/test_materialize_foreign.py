"""``materialize`` drops or replaces only tables it wrote, whatever ``materialized`` says."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from helpers.stores import cli, make_run, one_error_line, sql

PLANT = ("INSERT INTO materialized (table_name, run_id, module, experiment, snapshot_seq, part, "
         "created_at) VALUES (:t, (SELECT id FROM runs WHERE name = 'r'), 'Loader', 'load', 1, "
         "'', :at)")
NOW = dt.datetime(2025, 1, 1)


def _sqlite_url(db: Path) -> str:
    return f"sqlite:///{db}"


def _refused(url: str, *extra: str) -> str:
    return one_error_line(cli("materialize", "r", *extra, "--db", url))


def _store_table_named(url: str) -> None:
    make_run(url, "r", puts=2)
    snapshots = sql(url, "SELECT COUNT(*) FROM snapshots")
    sql(url, PLANT, t="snapshots", at=NOW)
    for extra in ((), ("--drop",), ("--module", "Loader")):
        line = _refused(url, *extra)
        assert "refusing to replace or drop table 'snapshots'" in line
        assert "nothing was dropped" in line
    assert sql(url, "SELECT COUNT(*) FROM snapshots") == snapshots == [(2,)]


def _other_application_table(url: str) -> None:
    make_run(url, "r")
    sql(url, "CREATE TABLE result_r_loader_load (invoice INTEGER, total REAL)",
        "INSERT INTO result_r_loader_load VALUES (7, 12.5)")
    sql(url, PLANT, t="result_r_loader_load", at=NOW)
    for extra in ((), ("--drop",)):
        line = _refused(url, *extra)
        assert "its columns are not those of the result frame it records" in line
    assert sql(url, "SELECT invoice, total FROM result_r_loader_load") == [(7, 12.5)]


def test_row_naming_a_store_table_is_refused(tmp_path: Path) -> None:
    _store_table_named(_sqlite_url(tmp_path / "runs.db"))


def test_row_naming_another_applications_table_is_refused(tmp_path: Path) -> None:
    _other_application_table(_sqlite_url(tmp_path / "runs.db"))


@pytest.mark.postgres
def test_row_naming_a_store_table_is_refused_on_postgresql(pg_url: str) -> None:
    _store_table_named(pg_url)


@pytest.mark.postgres
def test_row_naming_another_applications_table_is_refused_on_postgresql(pg_url: str) -> None:
    _other_application_table(pg_url)


def test_a_table_materialize_wrote_is_still_replaced_and_dropped(tmp_path: Path) -> None:
    url = _sqlite_url(tmp_path / "runs.db")
    make_run(url, "r")
    for _ in range(2):
        result = cli("materialize", "r", "--db", url)
        assert result.returncode == 0, result.stderr
    assert sql(url, "SELECT COUNT(*) FROM result_r_loader_load") == [(5,)]
    result = cli("materialize", "r", "--drop", "--db", url)
    assert result.returncode == 0, result.stderr
    assert sql(url, "SELECT COUNT(*) FROM materialized") == [(0,)]
