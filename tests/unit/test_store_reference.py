"""The shipped SQLite reference: current, used while it matches, never laxer than a fresh one."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from helpers.stores import make_run
from petsard_status import ForeignObjectError, Store
from petsard_status.store import migrate, reference
from petsard_status.store.migrate import alembic_config, migrations_dir

REGENERATE = ("the shipped reference is stale; regenerate it with: python -c 'from "
              "petsard_status.store.migrate import write_reference; write_reference()'")


def fresh_document() -> dict:
    """What the reference file must hold, derived here from the scripts by Alembic itself."""
    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_current_head()
    assert head is not None
    engine = create_engine("sqlite://")
    try:
        with engine.connect() as conn:
            command.upgrade(alembic_config(conn), head)
            master = reference.sqlite_master(conn)
    finally:
        engine.dispose()
    revisions = {rev.revision for rev in script.walk_revisions()}
    return reference.reference_document(migrations_dir(), head, revisions, master)


def test_the_shipped_reference_is_what_the_migrations_create() -> None:
    shipped = json.loads(reference.REFERENCE_FILE.read_text(encoding="utf-8"))
    assert shipped == fresh_document(), REGENERATE
    assert reference.shipped(migrations_dir()) is not None


@pytest.fixture(params=["shipped", "built"])
def reference_kind(request: pytest.FixtureRequest,
                   monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Each case once with the shipped reference, once as if it were stale (built instead)."""
    reference.shipped.cache_clear()
    if request.param == "built":
        monkeypatch.setattr(reference, "fingerprint", lambda folder: "other scripts")
    yield request.param
    reference.shipped.cache_clear()


PLANTS = {
    "trigger": ("CREATE TRIGGER eat AFTER INSERT ON snapshots "
                "BEGIN DELETE FROM snapshots WHERE id = NEW.id; END",
                "trigger eat (on snapshots) was not created by petsard-status"),
    "index": ("CREATE INDEX ix_planted ON runs (name)",
              "index ix_planted (on runs) was not created by petsard-status"),
    "view": ("CREATE VIEW planted_view AS SELECT 1",
             "view planted_view was not created by petsard-status"),
}


@pytest.mark.parametrize("plant", sorted(PLANTS))
def test_a_planted_object_is_refused_either_way(tmp_path: Path, reference_kind: str,
                                                plant: str) -> None:
    db = tmp_path / "runs.db"
    make_run(db, "r")
    statement, problem = PLANTS[plant]
    with sqlite3.connect(db) as conn:
        conn.execute(statement)
    conn.close()
    assert (reference.shipped(migrations_dir()) is None) == (reference_kind == "built")
    with pytest.raises(ForeignObjectError) as caught:
        Store(db, create=False)
    assert problem in str(caught.value)


def test_a_store_of_ours_opens_either_way(tmp_path: Path, reference_kind: str) -> None:
    db = tmp_path / "runs.db"
    make_run(db, "r")
    with Store(db, create=False) as store:
        assert store.revision == migrate.head_revision()
