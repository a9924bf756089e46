"""A write's rows and head move on a real store: what lands, and what is refused."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from petsard_status import Status, Store, StoreError
from petsard_status.store import models as m
from petsard_status.store.batch import HeadMove, WriteBatch

CONFIG = {"Loader": {"data": {"filepath": "unused.csv"}}}
WHEN = dt.datetime(2026, 1, 2, 3, 4, 5, 6)


def timing(seq: int, **extra: Any) -> dict[str, Any]:
    return {"run_id": 1, "seq": seq, "record_id": f"timing_{seq:06d}", "module": "Loader",
            "experiment": "data", "step": "run", "start_time": WHEN,
            "end_time": WHEN + dt.timedelta(seconds=1.5), "duration_seconds": 1.5,
            "context_json": "{}", **extra}


class Stale(Exception):
    pass


def write(store: Store, rows: list[dict[str, Any]], seen: str | None = None) -> None:
    """The batch in a write transaction; a head that had moved on ends it, as a put's does."""
    def work(conn: Any) -> None:
        run = conn.execute(select(m.runs.c.id, m.runs.c.head_json)).one()
        batch = WriteBatch(conn.dialect)
        batch.insert(m.timings, rows)
        if not batch.run(conn, HeadMove(run.id, seen or run.head_json, '{"moved": 1}', WHEN)):
            raise Stale
    store.write(work, one_statement=False)


@pytest.fixture()
def store(tmp_path: Path) -> Any:
    path = tmp_path / "runs.db"
    Status(CONFIG, store=path, run="r").close()
    with Store(path) as opened:
        yield opened, path


def raw(path: Path, query: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(query).fetchall()
    finally:
        conn.close()


def test_rows_land_as_sqlalchemy_stores_them_and_the_head_moves(store: Any) -> None:
    opened, path = store
    write(opened, [timing(1), timing(2)])
    assert raw(path, "SELECT seq, start_time, end_time, duration_seconds FROM timings "
                     "ORDER BY seq") == [
        (1, "2026-01-02 03:04:05.000006", "2026-01-02 03:04:06.500006", 1.5),
        (2, "2026-01-02 03:04:05.000006", "2026-01-02 03:04:06.500006", 1.5),
    ]
    assert raw(path, "SELECT head_json, updated_at FROM runs") == [
        ('{"moved": 1}', "2026-01-02 03:04:05.000006")]


def test_a_stale_head_stores_nothing(store: Any) -> None:
    # The rows went in before the head move found the head moved on: they are
    # inside the write transaction, and leave with it.
    opened, path = store
    with pytest.raises(Stale):
        write(opened, [timing(1)], seen="not the head")
    assert raw(path, "SELECT count(*) FROM timings") == [(0,)]
    assert raw(path, "SELECT head_json FROM runs")[0][0] != '{"moved": 1}'


@pytest.mark.parametrize("odd", [{"extra": 1}, {"drop": "context_json"}])
def test_rows_naming_other_columns_are_refused_and_nothing_is_stored(
    store: Any, odd: dict[str, Any]
) -> None:
    opened, path = store
    second = timing(2)
    if "drop" in odd:
        del second[odd["drop"]]
    else:
        second.update(odd)
    with pytest.raises(StoreError, match="rows for timings name different columns"):
        write(opened, [timing(1), second])
    assert raw(path, "SELECT count(*) FROM timings") == [(0,)]


def test_a_clash_on_a_unique_key_is_sqlalchemys_integrity_error(store: Any) -> None:
    opened, path = store
    with pytest.raises(IntegrityError):
        write(opened, [timing(1), timing(1)])
    assert raw(path, "SELECT count(*) FROM timings") == [(0,)]
