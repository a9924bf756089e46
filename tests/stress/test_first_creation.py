"""Many processes creating one new SQLite store at the same moment: never 'database is locked'.

Four worker processes (forked once, so the loop measures opening, not
importing) meet at a barrier fifty times; each time all four open the same
brand-new file at once.  Every open must succeed and every store must hold
exactly one schema.
"""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from petsard_status import Store
from petsard_status.store.migrate import head_revision

pytestmark = pytest.mark.stress

WORKERS = 4
REPETITIONS = 50


def _worker(folder: str, barrier: Any, errors: Any) -> None:
    for k in range(REPETITIONS):
        try:
            barrier.wait(timeout=60)
        except Exception as exc:  # a broken barrier: another worker died
            errors.put(f"barrier: {exc!r}")
            return
        try:
            Store(Path(folder) / f"new-{k}.db").close()
        except Exception as exc:
            errors.put(f"repetition {k}: {type(exc).__name__}: {exc}")


def test_processes_creating_one_new_store_at_once_never_see_database_locked(
        tmp_path: Path) -> None:
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(WORKERS)
    errors = ctx.Queue()
    workers = [ctx.Process(target=_worker, args=(str(tmp_path), barrier, errors))
               for _ in range(WORKERS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert [w.exitcode for w in workers] == [0] * WORKERS
    assert found == []
    for k in range(REPETITIONS):
        with sqlite3.connect(tmp_path / f"new-{k}.db") as conn:
            assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [
                (head_revision(),)]
            assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        conn.close()
