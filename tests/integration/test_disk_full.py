"""Disk full: a put that cannot be stored fails clearly, loses nothing, and the run carries on.

A SQLite database is kept from growing with ``PRAGMA max_page_count`` (set per
connection, from a ``connect`` event on an engine the test builds and hands to
the store).  A put that needs more room fails with ``StoreFullError``; the
history before it is intact and nothing of the failed put is stored; once the
limit is raised the same put succeeds, numbered right after the last one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine, event, func, select

from petsard_status import Metadater, Status, StoreFullError
from petsard_status.store import models as m

CONFIG = {"Loader": {"load": {}}, "Preprocessor": {"prep": {}}}
TABLES = (m.snapshots, m.changes, m.blobs, m.schemas, m.fields)


class Adapter:
    def __init__(self, frame: pd.DataFrame, with_metadata: bool = True) -> None:
        self.frame = frame
        self.schema = Metadater.create_schema(frame, "data") if with_metadata else None

    def get_result(self) -> pd.DataFrame:
        return self.frame

    def get_metadata(self) -> Any:
        return self.schema


def small(k: int) -> pd.DataFrame:
    return pd.DataFrame({"k": [k] * 5, "v": np.arange(5.0) * k})


def big() -> pd.DataFrame:
    # Random floats do not compress: about 2 MB that must reach the file.
    rng = np.random.default_rng(1)
    return pd.DataFrame({f"c{i}": rng.random(25_000) for i in range(10)} | {"k": 0})


class Limited:
    """An engine whose connections may not grow the file past ``pages`` (None: no limit)."""

    def __init__(self, path: Path) -> None:
        self.pages: int | None = None
        self.engine = create_engine(f"sqlite:///{path}")
        event.listen(self.engine, "connect", self._limit)

    def _limit(self, dbapi_connection: Any, _record: Any) -> None:
        if self.pages is not None:
            dbapi_connection.execute(f"PRAGMA max_page_count = {int(self.pages)}")

    def set(self, pages: int | None) -> None:
        self.pages = pages
        self.engine.dispose()  # the limit is per connection: start new ones

    def page_count(self) -> int:
        with self.engine.connect() as conn:
            return conn.exec_driver_sql("PRAGMA page_count").scalar()


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[Limited]:
    limited = Limited(tmp_path / "full.db")
    yield limited
    limited.engine.dispose()


def counts(status: Status) -> dict[str, int]:
    return status.store.read(lambda conn: {
        t.name: conn.execute(select(func.count()).select_from(t)).scalar() for t in TABLES
    })


def numbers(status: Status) -> list[int]:
    return [int(s.snapshot_id.split("_")[1]) for s in status.get_snapshots()]


def test_put_on_a_full_database(limited: Limited) -> None:
    status = Status(CONFIG, limited.engine, run="full")
    for k in range(1, 4):
        status.put("Loader" if k % 2 else "Preprocessor", "load" if k % 2 else "prep",
                   Adapter(small(k)))
    before, head = counts(status), status.store.run_row("full").head_json
    history = [(s.snapshot_id, s.metadata_after) for s in status.get_snapshots()]

    limited.set(limited.page_count() + 2)
    with pytest.raises(StoreFullError) as info:
        status.put("Loader", "load", Adapter(big()))
    message = str(info.value)
    assert "Loader[load]" in message and "cannot grow" in message
    assert "free disk space" in message and "intact" in message

    # Nothing of the failed put, not even the metadata written before the frame.
    assert counts(status) == before
    assert status.store.run_row("full").head_json == head
    assert [(s.snapshot_id, s.metadata_after) for s in status.get_snapshots()] == history
    pd.testing.assert_frame_equal(status.get_result("Loader"), small(3))

    limited.set(None)
    status.put("Loader", "load", Adapter(big()))
    assert numbers(status) == [1, 2, 3, 4]
    status.close()
    with Status.open("full", limited.engine) as again:
        assert numbers(again) == [1, 2, 3, 4]
        pd.testing.assert_frame_equal(again.get_result("Loader"), big())
        assert len(again.get_change_history("Loader")) == 3  # create, update, update


def test_a_full_store_stays_readable(limited: Limited) -> None:
    with Status(CONFIG, limited.engine, run="r") as status:
        status.put("Loader", "load", Adapter(small(1)))
    limited.set(limited.page_count())
    with Status.open("r", limited.engine) as status:
        pd.testing.assert_frame_equal(status.get_result("Loader"), small(1))
        with pytest.raises(StoreFullError, match=r"Loader\[load\].*cannot grow"):
            status.put("Loader", "load", Adapter(big(), with_metadata=False))
        assert numbers(status) == [1]
        assert status.get_metadata("Loader").field_names == ["k", "v"]
    limited.set(None)
    with Status.open("r", limited.engine) as status:
        status.put("Loader", "load", Adapter(big(), with_metadata=False))
        assert numbers(status) == [1, 2]
