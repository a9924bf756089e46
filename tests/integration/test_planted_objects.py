"""A store whose objects are not ours is refused before anything is read or written.

PostgreSQL: a view standing in for ``runs`` that calls a function, a trigger and
a rule planted on our tables; each function records in a side table that it
ran, and that table must stay empty.  SQLite: a trigger that eats every
inserted snapshot and a view whose definition was changed.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from helpers.stores import CONFIG, cli, loader_adapter, make_run, one_error_line, sql
from petsard_status import ForeignObjectError, Status, Store

MARKER_FUNCTION = """
CREATE FUNCTION planted_marker() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN INSERT INTO planted_ran VALUES (now()); RETURN true; END $$
"""
PG_PLANTS = {
    "runs-view": [
        "ALTER TABLE runs RENAME TO runs_real",
        "CREATE VIEW runs AS SELECT * FROM runs_real WHERE planted_marker()",
    ],
    "trigger": [
        "CREATE FUNCTION planted_trigger() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN PERFORM planted_marker(); RETURN NULL; END $$",
        "CREATE TRIGGER planted BEFORE INSERT ON snapshots FOR EACH ROW "
        "EXECUTE FUNCTION planted_trigger()",
    ],
    "rule": ["CREATE RULE planted AS ON INSERT TO timings DO ALSO SELECT planted_marker()"],
    "view-body": [
        "CREATE OR REPLACE VIEW run_view AS SELECT r.name AS run, r.state, r.created_at, "
        "r.updated_at, r.finished_at, r.error, "
        "CAST(CAST(planted_marker() AS int) AS bigint) AS snapshots, "
        "CAST(0 AS bigint) AS changes FROM runs r",
    ],
    "row-security": [
        "ALTER TABLE runs ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE runs FORCE ROW LEVEL SECURITY",
        "CREATE POLICY planted ON runs USING (planted_marker())",
    ],
}
NAMED = {"runs-view": "runs is a view", "trigger": "trigger snapshots.planted",
         "rule": "rule timings.planted", "view-body": "view run_view differs",
         "row-security": "runs is a plain table with row security"}


@pytest.mark.postgres
@pytest.mark.parametrize("plant", sorted(PG_PLANTS))
def test_postgresql_planted_code_never_runs(pg_url: str, plant: str) -> None:
    make_run(pg_url, "r")
    sql(pg_url, "CREATE TABLE planted_ran (at timestamp)", MARKER_FUNCTION, *PG_PLANTS[plant])
    # The planted code works: selecting through it records a row (undone by the rollback).
    assert sql(pg_url, "SELECT planted_marker()") == [(True,)]
    sql(pg_url, "DELETE FROM planted_ran")

    with pytest.raises(ForeignObjectError) as caught:
        Status.open("r", pg_url)
    assert NAMED[plant] in str(caught.value)
    assert "petsard-status db check" in str(caught.value)
    with pytest.raises(ForeignObjectError):
        Status(CONFIG, pg_url, run="new")
    line = one_error_line(cli("runs", "--db", pg_url))
    assert NAMED[plant] in line
    check = cli("db", "check", "--db", pg_url, "--json")
    assert check.returncode == 1 and "Traceback" not in check.stderr
    report = json.loads(check.stdout)
    assert any(NAMED[plant] in p for p in report["problems"]), report["problems"]
    assert sql(pg_url, "SELECT COUNT(*) FROM planted_ran") == [(0,)]


@pytest.mark.postgres
def test_postgresql_store_of_another_application_beside_ours_is_fine(pg_url: str) -> None:
    make_run(pg_url, "r")
    sql(pg_url, "CREATE TABLE orders (id int)", "CREATE VIEW order_view AS SELECT * FROM orders")
    with Status.open("r", pg_url) as status:
        assert status.get_snapshots()


def _plant_sqlite(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TRIGGER eat AFTER INSERT ON snapshots "
                     "BEGIN DELETE FROM snapshots WHERE id = NEW.id; END")
        conn.execute("DROP VIEW snapshot_view")
        conn.execute("CREATE VIEW snapshot_view AS SELECT 1 AS run")
    conn.close()


def test_sqlite_planted_trigger_and_faked_view_are_refused(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    make_run(db, "r")
    _plant_sqlite(db)
    before = db.read_bytes()
    for attempt in (lambda: Status.open("r", db), lambda: Status(CONFIG, db, run="new"),
                    lambda: Store(db)):
        with pytest.raises(ForeignObjectError) as caught:
            attempt()
        assert "trigger eat (on snapshots)" in str(caught.value)
    assert "trigger eat" in one_error_line(cli("runs", "--db", str(db)))
    check = cli("db", "check", "--db", str(db))
    assert check.returncode == 1 and "Traceback" not in check.stderr
    assert "trigger eat (on snapshots) was not created by petsard-status" in check.stdout
    assert "view snapshot_view differs from its definition" in check.stdout
    assert "references  ok" not in check.stdout
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM snapshots").fetchone() == (1,)
    conn.close()
    assert db.read_bytes() == before


def test_sqlite_planted_trigger_would_eat_puts(tmp_path: Path) -> None:
    """What the guard prevents: with the trigger, a put 'succeeds' and stores nothing."""
    db = tmp_path / "runs.db"
    make_run(db, "r")
    _plant_sqlite(db)
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO snapshots SELECT NULL, run_id, seq + 1, snapshot_id || 'x', "
                     "module, experiment, timestamp, schema_before, schema_after, context_json, "
                     "state_json FROM snapshots")
        assert conn.execute("SELECT COUNT(*) FROM snapshots").fetchone() == (1,)
    conn.close()


def test_sqlite_materialized_tables_are_ours(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    with Status(CONFIG, db, run="r") as status:
        status.put("Loader", "load", loader_adapter(5))
    result = cli("materialize", "r", "--db", str(db))
    assert result.returncode == 0, result.stderr
    with Status.open("r", db) as status:
        assert len(status.get_snapshots()) == 1
