"""Migrations: a store written at the first revision upgrades intact; a newer one is refused."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text

from helpers.paths import adult_head
from petsard_status import SchemaVersionError, Status, Store
from petsard_status.modules import ModuleContext, build_adapter
from petsard_status.store.migrate import alembic_config, head_revision

FIRST = "0001_initial"
ROWS = 200
# Views that the first revision's data must show once upgraded, and what each counts.
VIEW_COUNTS = {
    "snapshot_view": "SELECT COUNT(*) FROM snapshots",
    "change_view": "SELECT COUNT(*) FROM changes WHERE target_type = 'schema'",
    "field_change_view": "SELECT COUNT(*) FROM changes WHERE target_type = 'field'",
    "timing_view": "SELECT COUNT(*) FROM timings",
    "run_view": "SELECT COUNT(*) FROM runs",
}


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return adult_head(tmp_path_factory.mktemp("data"), ROWS)


def pipeline(csv: Path) -> dict[str, Any]:
    return {
        "Loader": {"small": {"filepath": str(csv), "na_values": "?"}},
        "Splitter": {"split": {"train_split_ratio": 0.75, "random_state": 1}},
        "Preprocessor": {"prep": {"missing": "mode", "encoding": "onehot"}},
    }


def downgrade_to_first(url: str) -> None:
    """Take a store down to 0001 through every migration's downgrade, keeping its rows."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn, conn.begin():
            command.downgrade(alembic_config(conn), FIRST)
    finally:
        engine.dispose()


def revision_of(url: str) -> str:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


def observe(status: Status) -> dict[str, Any]:
    return {
        "status": {k: v["expt"] for k, v in status.status.items()},
        "metadata": {k: status.get_metadata(k) for k in status.metadata},
        "snapshots": status.get_snapshots(),
        "changes": status.get_change_history(),
        "evolution": {k: list(status.get_metadata_evolution(k)) for k in status.status},
        "timings": status.get_timing_records(),
        "summary": status.get_status_summary(),
        "train": status.get_exist_train_indices(),
        "validation": status.get_validation_result(),
        "results": {k: status.get_result(k) for k in status.status},
    }


def write_first_revision_data(url: str, csv: Path, tmp_path: Path) -> dict[str, Any]:
    """Puts, timings, a restore and a second run, in a store then taken down to 0001.

    Status writes today's tables, so the rows are written at the head revision
    and the store is then downgraded: what remains is a store of the first
    revision's shape holding them, which the tests upgrade again.
    """
    store = Store(url)
    ctx = ModuleContext(output_dir=tmp_path / "out", base_dir=tmp_path)
    try:
        with Status(pipeline(csv), store, run="old") as status:
            for module, experiment in (("Loader", "small"), ("Splitter", "split_[1-1]"),
                                       ("Preprocessor", "prep")):
                adapter = build_adapter(module, status.config.params(module, experiment), ctx)
                with status.timing(module, experiment, "run"):
                    adapter.run(adapter.set_input(status))
                status.put(module, experiment, adapter)
            status.put_validation_result("Preprocessor", {"ok": True})
            status.restore_from_snapshot(status.get_snapshots()[1].snapshot_id)
            status.set_run_state("completed")
            seen = observe(status)
        with Status({"Loader": {"other": {"filepath": str(csv)}}}, store, run="second"):
            pass
    finally:
        store.close()
    downgrade_to_first(url)
    assert revision_of(url) == FIRST
    return seen


def assert_intact(status: Status, seen: dict[str, Any]) -> None:
    now = observe(status)
    results = now.pop("results")
    expected = seen["results"]
    assert list(results) == list(expected)
    for module, result in expected.items():
        if isinstance(result, pd.DataFrame):
            pd.testing.assert_frame_equal(results[module], result)
        else:
            for part in result:
                pd.testing.assert_frame_equal(results[module][part], result[part])
    for key, value in now.items():
        assert value == seen[key], key


def test_first_revision_store_upgrades_intact(tmp_path: Path, small_csv: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "old.db"
    url = f"sqlite:///{db}"
    seen = write_first_revision_data(url, small_csv, tmp_path)
    engine = create_engine(url)
    with engine.connect() as conn:
        assert "snapshot_view" not in inspect(conn).get_view_names()
    engine.dispose()

    with caplog.at_level(logging.WARNING, logger="petsard_status"):
        status = Status.open("old", url)
    with status:
        assert status.store.revision == head_revision()
        assert revision_of(url) == head_revision()
        assert_intact(status, seen)
        assert sorted(status.store.run_names()) == ["old", "second"]

    backups = sorted(tmp_path.glob(f"old.db.backup-{FIRST}-*"))
    assert len(backups) == 1
    assert re.fullmatch(rf"old\.db\.backup-{FIRST}-\d{{8}}_\d{{6}}", backups[0].name)
    assert revision_of(f"sqlite:///{backups[0]}") == FIRST
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(str(backups[0]) in message for message in messages), messages

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            for view, count in VIEW_COUNTS.items():
                rows = conn.execute(text(f"SELECT * FROM {view}")).all()
                assert len(rows) == conn.execute(text(count)).scalar() > 0, view
            names = [r[0] for r in conn.execute(
                text("SELECT snapshot_id FROM snapshot_view WHERE run = 'old' ORDER BY seq"))]
    finally:
        engine.dispose()
    assert names == [s.snapshot_id for s in seen["snapshots"]]

    # Opening again neither migrates nor backs up a second time.
    with Status.open("old", url) as again:
        assert_intact(again, seen)
    assert len(list(tmp_path.glob("old.db.backup-*"))) == 1


@pytest.mark.postgres
def test_first_revision_store_upgrades_intact_on_postgresql(pg_url: str, small_csv: Path,
                                                           tmp_path: Path) -> None:
    seen = write_first_revision_data(pg_url, small_csv, tmp_path)
    with Status.open("old", pg_url) as status:
        assert revision_of(pg_url) == head_revision()
        assert_intact(status, seen)
    engine = create_engine(pg_url)
    try:
        with engine.connect() as conn:
            for view, count in VIEW_COUNTS.items():
                rows = conn.execute(text(f"SELECT * FROM {view}")).all()
                assert len(rows) == conn.execute(text(count)).scalar() > 0, view
    finally:
        engine.dispose()


def stamp_future(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    finally:
        engine.dispose()


def assert_refusal(error: pytest.ExceptionInfo[SchemaVersionError]) -> None:
    message = str(error.value)
    assert "9999_future" in message
    assert head_revision() in message
    assert "upgrade" in message and "petsard-status" in message


def test_unknown_revision_is_refused_and_file_untouched(tmp_path: Path,
                                                       small_csv: Path) -> None:
    db = tmp_path / "future.db"
    with Status(pipeline(small_csv), db, run="r") as status:
        adapter = build_adapter("Loader", status.config.params("Loader", "small"))
        adapter.run({})
        status.put("Loader", "small", adapter)
    stamp_future(f"sqlite:///{db}")
    original = db.read_bytes()

    with pytest.raises(SchemaVersionError) as error:
        Status.open("r", db)
    assert_refusal(error)
    with pytest.raises(SchemaVersionError) as error:
        Status(pipeline(small_csv), f"sqlite:///{db}", run="new")
    assert_refusal(error)
    with pytest.raises(SchemaVersionError):
        Store(db, upgrade=False)

    assert db.read_bytes() == original
    assert list(tmp_path.glob("future.db.backup-*")) == []
    assert revision_of(f"sqlite:///{db}") == "9999_future"


@pytest.mark.postgres
def test_unknown_revision_is_refused_on_postgresql(pg_url: str, small_csv: Path) -> None:
    with Status(pipeline(small_csv), pg_url, run="r"):
        pass
    stamp_future(pg_url)
    with pytest.raises(SchemaVersionError) as error:
        Status.open("r", pg_url)
    assert_refusal(error)
    assert revision_of(pg_url) == "9999_future"


def test_new_store_is_created_at_head(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    with Store(url) as store:
        assert store.revision == head_revision()
    assert revision_of(url) == head_revision()
    assert list(tmp_path.glob("new.db.backup-*")) == []
