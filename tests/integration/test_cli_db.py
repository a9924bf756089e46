"""``petsard-status db upgrade | current | check`` on real stores.

``check`` must pass on a store the example pipeline wrote, and must name each
kind of broken reference after the store has been damaged on purpose (with the
plain ``sqlite3`` module, foreign keys off, as a careless hand would).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from alembic import command
from click.testing import CliRunner, Result
from sqlalchemy import create_engine

from helpers.paths import EXAMPLE_RUN, copy_sqlite
from petsard_status import Status, Store
from petsard_status.cli.main import main
from petsard_status.formats import RunState, tree_frame_refs
from petsard_status.store.migrate import alembic_config, head_revision

RUN = EXAMPLE_RUN


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def check(db: Path | str) -> tuple[int, dict]:
    result = invoke("db", "check", "--db", str(db), "--json")
    assert "Traceback" not in result.output
    return result.exit_code, json.loads(result.stdout)


@pytest.fixture
def damaged(example_db: Path, tmp_path: Path) -> Path:
    return copy_sqlite(example_db, tmp_path / "damaged.db")


def edit(db: Path, *statements: tuple[str, tuple]) -> None:
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA foreign_keys = OFF")
        for sql, params in statements:
            conn.execute(sql, params)
        conn.commit()
    finally:
        conn.close()


def query(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


# --- current and upgrade ---------------------------------------------------------------------


def test_current_shows_revision_and_head(example_db: Path) -> None:
    result = invoke("db", "current", "--db", str(example_db))
    assert result.exit_code == 0, result.output
    assert f"revision  {head_revision()} (head)" in result.output
    doc = json.loads(invoke("db", "current", "--db", str(example_db), "--json").stdout)
    assert doc == {"database": Store(example_db).location, "revision": head_revision(),
                   "head": head_revision(), "up_to_date": True}
    assert query(example_db, "SELECT version_num FROM alembic_version") == [(head_revision(),)]


def test_upgrade_creates_a_new_store(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    result = invoke("db", "upgrade", "--db", str(db))
    assert result.exit_code == 0, result.output
    assert f"none -> {head_revision()}" in result.output
    assert query(db, "SELECT version_num FROM alembic_version") == [(head_revision(),)]
    again = invoke("db", "upgrade", "--db", str(db))
    assert "already at head" in again.output


def test_upgrade_of_an_older_store_keeps_its_data(example_db: Path, tmp_path: Path) -> None:
    db = copy_sqlite(example_db, tmp_path / "old.db")
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0002_views")
    engine.dispose()
    doc = json.loads(invoke("db", "current", "--db", str(db), "--json").stdout)
    assert doc["revision"] == "0002_views" and doc["up_to_date"] is False
    assert "db upgrade" in invoke("db", "current", "--db", str(db)).output
    result = invoke("db", "upgrade", "--db", str(db))
    assert result.exit_code == 0, result.output
    assert f"0002_views -> {head_revision()}" in result.output
    assert list(tmp_path.glob("old.db.backup-0002_views-*"))
    assert check(db)[0] == 0
    with Status.open(RUN, db) as upgraded, Status.open(RUN, example_db) as original:
        assert upgraded.get_snapshots() == original.get_snapshots()


def test_current_of_a_missing_file_lists_the_databases(tmp_path: Path, example_db: Path) -> None:
    copy_sqlite(example_db, tmp_path / "here.db")
    result = invoke("db", "current", "--db", str(tmp_path / "there.db"))
    assert result.exit_code == 1
    assert "no database at" in result.output and "here.db" in result.output
    assert "Traceback" not in result.output


def test_check_of_a_database_that_is_not_a_store(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
    result = invoke("db", "check", "--db", str(db))
    assert result.exit_code == 1
    assert "holds no petsard-status store" in result.output
    assert "Traceback" not in result.output


# --- check -----------------------------------------------------------------------------------


def test_check_passes_on_the_example(example_db: Path) -> None:
    result = invoke("db", "check", "--db", str(example_db))
    assert result.exit_code == 0, result.output
    assert "integrity   ok" in result.output and "references  ok" in result.output
    code, doc = check(example_db)
    assert code == 0 and doc["ok"] is True and doc["problems"] == []
    assert doc["integrity"] == "ok"
    counts = doc["counts"]
    for table in ("snapshots", "changes", "timings", "schemas", "fields", "blobs"):
        assert counts[table] == query(example_db, f"SELECT COUNT(*) FROM {table}")[0][0]
    with Status.open(RUN, example_db) as status:
        assert counts["snapshots"] == len(status.get_snapshots())
        assert counts["changes"] == len(status.get_change_history())


def only_problem(db: Path) -> str:
    code, doc = check(db)
    assert code == 1 and doc["ok"] is False
    return "\n".join(doc["problems"])


def test_check_finds_a_missing_schema(damaged: Path) -> None:
    (digest,) = query(damaged, "SELECT schema_after FROM snapshots WHERE seq = 1")[0]
    edit(damaged, ("DELETE FROM schemas WHERE hash = ?", (digest,)))
    problems = only_problem(damaged)
    assert f"snapshot #1: schema_after {digest} is not in schemas" in problems
    assert f"change #1: after_schema {digest} is not in schemas" in problems
    assert f"head: schema {digest} is not in schemas" in problems
    assert "foreign_key_check" in problems


def test_check_finds_a_missing_field(damaged: Path) -> None:
    (digest,) = query(damaged, "SELECT after_field FROM changes WHERE target_type = 'field' "
                               "ORDER BY seq LIMIT 1")[0]
    edit(damaged, ("DELETE FROM fields WHERE hash = ?", (digest,)))
    problems = only_problem(damaged)
    assert f"after_field {digest} is not in fields" in problems
    assert f"field {digest} is not in fields" in problems  # from a schema's field_refs


def test_check_finds_missing_result_blobs(damaged: Path) -> None:
    head = RunState.from_json(query(damaged, "SELECT head_json FROM runs")[0][0])
    loader = head.active_map["Loader"].result_ref
    splitter_tree = head.active_map["Splitter"].result_ref
    (tree,) = query(damaged, "SELECT data FROM blobs WHERE hash = ?", (splitter_tree,))[0]
    frame = tree_frame_refs(tree)[0]
    edit(damaged, ("DELETE FROM blobs WHERE hash IN (?, ?, ?)",
                   (loader, frame, head.train_indices)))
    problems = only_problem(damaged)
    assert f"result tree {loader} is not in blobs" in problems
    assert f"result tree {splitter_tree}: frame {frame} is not in blobs" in problems
    assert f"train indices blob {head.train_indices} is not in blobs" in problems


def test_check_finds_altered_content(damaged: Path) -> None:
    (digest, doc) = query(damaged, "SELECT hash, doc FROM fields LIMIT 1")[0]
    (blob,) = query(damaged, "SELECT hash FROM blobs WHERE kind = 'frame' LIMIT 1")[0]
    edit(damaged,
         ("UPDATE fields SET doc = ? WHERE hash = ?", (doc.replace('"name"', '"name" '), digest)),
         ("UPDATE blobs SET data = zeroblob(8) WHERE hash = ?", (blob,)))
    problems = only_problem(damaged)
    assert f"field {digest}: its document does not match its hash" in problems
    assert f"blob {blob}: its data do not match its hash" in problems


def test_check_finds_a_restore_of_a_missing_snapshot_and_a_bad_state(damaged: Path) -> None:
    edit(damaged,
         ("INSERT INTO restores (run_id, seq, snapshot_id, after_snapshot_seq, timestamp) "
          "VALUES (1, 1, 'snapshot_999', 8, '2026-01-01 00:00:00')", ()),
         ("UPDATE snapshots SET state_json = '{\"v\": 99}' WHERE seq = 2", ()))
    problems = only_problem(damaged)
    assert "restore #1: snapshot snapshot_999 is not in the run" in problems
    assert "snapshot #2 state: a stored run state has version 99" in problems


def test_check_finds_a_dropped_materialized_table(damaged: Path) -> None:
    assert invoke("materialize", RUN, "--module", "Loader", "--db", str(damaged)).exit_code == 0
    (table,) = query(damaged, "SELECT table_name FROM materialized")[0]
    assert check(damaged)[0] == 0
    edit(damaged, (f'DROP TABLE "{table}"', ()))
    assert f"materialized table {table} is recorded but missing" in only_problem(damaged)


def test_check_finds_an_evolution_that_disagrees_with_the_changes(damaged: Path) -> None:
    module, digest, seq = query(
        damaged, "SELECT module, schema_hash, first_seq FROM schema_appearances "
        "ORDER BY first_seq DESC LIMIT 1")[0]
    edit(damaged, ("DELETE FROM schema_appearances WHERE schema_hash = ? AND module = ?",
                   (digest, module)))
    assert (f"module {module!r}: schema {digest} first appears at change #{seq} but the "
            "evolution does not list it there") in only_problem(damaged)


def test_check_text_output_lists_each_problem(damaged: Path) -> None:
    edit(damaged, ("UPDATE snapshots SET schema_after = ? WHERE seq = 1", ("0" * 32,)))
    result = invoke("db", "check", "--db", str(damaged))
    assert result.exit_code == 1
    assert "problem(s)" in result.output
    assert f"  run '{RUN}' snapshot #1: schema_after {'0' * 32} is not in schemas" in (
        result.output)
    assert "Traceback" not in result.output


@pytest.mark.postgres
def test_current_and_check_on_postgresql(example_pg: str) -> None:
    doc = json.loads(invoke("db", "current", "--db", example_pg, "--json").stdout)
    assert doc["revision"] == head_revision()
    code, report = check(example_pg)
    assert code == 0, report["problems"]
    assert report["integrity"] == "not applicable"
    with Status.open(RUN, example_pg) as status:
        assert report["counts"]["snapshots"] == len(status.get_snapshots())
