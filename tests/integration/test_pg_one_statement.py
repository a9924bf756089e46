"""PostgreSQL: a put is one statement, its own transaction, and stores the same rows.

Every statement is a round trip to the server, so a put there is sent as a
single statement in autocommit (no BEGIN, no COMMIT).  These tests count what
the real server is sent and compare what it stores with a SQLite file given
the same puts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from sqlalchemy import event

from helpers.adapters import Fixed, ResultOnly
from petsard_status import ConcurrentWriterError, Status
from petsard_status.metadata.types import DataType, FieldMetadata, FieldStats, SchemaMetadata
from petsard_status.store import batch

pytestmark = pytest.mark.postgres

STAMP = dt.datetime(2025, 3, 1, 12, 0, 0)
CONFIG = {"Loader": {"a": {"filepath": "x.csv"}}, "Splitter": {"s": {}},
          "Preprocessor": {"p": {}}, "Synthesizer": {"y": {}}}


def _schema(name: str, means: list[float]) -> SchemaMetadata:
    fields = tuple(
        FieldMetadata(name=f"f{i}", data_type=DataType.FLOAT64,
                      stats=FieldStats(row_count=10, mean_value=mean),
                      created_at=STAMP, updated_at=STAMP)
        for i, mean in enumerate(means))
    return SchemaMetadata(schema_id="t", name=name, fields=fields, created_at=STAMP,
                          updated_at=STAMP)


def _puts(status: Status) -> None:
    """Puts of every shape: new fields and schemas, frames, no metadata, 1 to 3 changes."""
    frame = pd.DataFrame({"x": [1.0, 2.0, None], "s": ["a", "b", "c"]})
    status.put("Loader", "a", Fixed(frame, _schema("raw", [1.0, 2.0, 3.0])))
    status.put("Splitter", "s", Fixed({"train": frame.head(2), "validation": frame.tail(1)},
                                      _schema("raw", [1.0, 2.0, 3.0])))
    for cycle in range(4):
        means = [1.0, 2.0, 3.0 + (cycle % 2)]
        status.put("Preprocessor", "p", Fixed(frame.assign(x=frame.x * cycle),
                                              _schema("prep", means)))
        status.put("Synthesizer", "y", ResultOnly(frame.iloc[::-1].reset_index(drop=True)))


def _record(status: Status) -> tuple[list[tuple[str, bool]], list[str]]:
    """(statement, autocommit) of each statement the store sends; BEGINs and COMMITs."""
    sent: list[tuple[str, bool]] = []
    transactions: list[str] = []
    engine = status.repository.store.engine

    @event.listens_for(engine, "before_cursor_execute")
    def statement(conn: Any, cursor: Any, text: str, *args: Any) -> None:
        sent.append((text, conn.connection.dbapi_connection.autocommit))

    @event.listens_for(engine, "commit")
    def commit(conn: Any) -> None:
        transactions.append("COMMIT")

    return sent, transactions


def test_a_put_is_one_statement_in_autocommit(pg_url: str) -> None:
    with Status(CONFIG, pg_url, run="one") as status:
        status.put("Loader", "a", Fixed(pd.DataFrame({"x": [1.0]}), _schema("raw", [1.0])))
        sent, transactions = _record(status)
        for module, experiment, adapter in (
            ("Splitter", "s",
             Fixed({"train": pd.DataFrame({"x": [2.0]})}, _schema("raw", [2.0]))),
            ("Preprocessor", "p",
             Fixed(pd.DataFrame({"x": [3.0]}), _schema("prep", [3.0, 4.0]))),
            ("Synthesizer", "y", ResultOnly(pd.DataFrame({"x": [4.0]}))),
        ):
            before = len(sent)
            status.put(module, experiment, adapter)
            assert len(sent) == before + 1, sent[before:]
            text, autocommit = sent[-1]
            assert text.startswith("WITH moved AS")
            assert autocommit is True
        assert transactions == []
        assert [s.module_name for s in status.get_snapshots()] == [
            "Loader", "Splitter", "Preprocessor", "Synthesizer"]


def test_the_statement_text_depends_on_the_tables_written_not_on_row_counts(
        pg_url: str) -> None:
    with Status(CONFIG, pg_url, run="shapes") as status:
        sent, _ = _record(status)
        status.put("Loader", "a", Fixed(pd.DataFrame({"x": [1.0]}), _schema("raw", [1.0])))
        texts = set()
        for count in (2, 5, 9):
            status.put("Preprocessor", "p", Fixed(None, _schema("prep", [float(count)] * count)))
            texts.add(sent[-1][0])
        # Fields, schema, snapshot, changes and appearances each time: one text for all.
        assert len(texts) == 1


def test_postgres_stores_what_sqlite_stores(pg_url: str, tmp_path: Any) -> None:
    runs = {}
    for name, url in (("postgresql", pg_url), ("sqlite", f"sqlite:///{tmp_path / 's.db'}")):
        with Status(CONFIG, url, run="same") as status:
            _puts(status)
        runs[name] = Status.open("same", url, read_only=True)
    pg, lite = runs["postgresql"], runs["sqlite"]
    try:
        assert len(pg.get_snapshots()) == 10
        for a, b in zip(pg.get_snapshots(), lite.get_snapshots(), strict=True):
            assert (a.module_name, a.experiment_name) == (b.module_name, b.experiment_name)
            assert a.metadata_before == b.metadata_before
            assert a.metadata_after == b.metadata_after
        pg_changes, lite_changes = pg.get_change_history(), lite.get_change_history()
        assert len(pg_changes) == len(lite_changes) > 0
        for a, b in zip(pg_changes, lite_changes, strict=True):
            assert (a.change_type, a.target_type, a.target_id, a.before_state,
                    a.after_state) == (b.change_type, b.target_type, b.target_id,
                                       b.before_state, b.after_state)
        # Two distinct Preprocessor schemas (the means alternate), in first-seen order.
        evolution = pg.get_metadata_evolution("Preprocessor")
        assert [s.fields[2].stats.mean_value for s in evolution] == [3.0, 4.0]
        assert evolution == lite.get_metadata_evolution("Preprocessor")
        for module in ("Loader", "Preprocessor", "Synthesizer"):
            assert_frame_equal(pg.get_result(module), lite.get_result(module))
        assert pg.get_result("Splitter").keys() == {"train", "validation"}
    finally:
        pg.close()
        lite.close()


def test_a_put_too_large_for_one_statement_is_one_transaction_of_several(
        pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # PostgreSQL refuses a value of 1 GB: a put whose rows hold more than the bound
    # is sent as statements in turn.  The bound is lowered so that a small frame crosses it.
    monkeypatch.setattr(batch, "ONE_STATEMENT_BYTES", 1000)
    frame = pd.DataFrame({"x": range(500)})
    with Status(CONFIG, pg_url, run="large") as status:
        status.put("Loader", "a", Fixed(frame, _schema("raw", [1.0])))
        sent, transactions = _record(status)
        status.put("Splitter", "s", Fixed({"train": frame.tail(400)}, _schema("raw", [2.0])))
        assert len(sent) > 2
        assert not any(text.startswith("WITH moved AS") for text, _ in sent)
        assert all(autocommit is False for _, autocommit in sent)
        assert transactions == ["COMMIT"]
        stale = Status.open("large", pg_url)
        status.put("Loader", "a", Fixed(frame.head(3), _schema("raw", [3.0])))
        with pytest.raises(ConcurrentWriterError):
            stale.put("Splitter", "s", Fixed({"train": frame.head(450)}, _schema("raw", [4.0])))
        stale.close()
    with Status.open("large", pg_url, read_only=True) as reopened:
        assert [s.module_name for s in reopened.get_snapshots()] == [
            "Loader", "Splitter", "Loader"]
        assert_frame_equal(reopened.get_result("Loader"), frame.head(3))
        assert reopened.get_metadata("Loader").fields[0].stats.mean_value == 3.0
