"""The web view's store connection cannot write, and opens nothing it was not given."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from ui_support import sha256

from petsard_status.errors import NotAStoreError, StoreConnectionError
from petsard_status.store.browse import Browser


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def example_store(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return str(request.getfixturevalue("example_db"))
    return request.getfixturevalue("example_pg")


def test_the_connection_refuses_writes(example_store: str) -> None:
    browser = Browser(example_store)
    try:
        with pytest.raises(Exception, match=r"(?i)read.?only|readonly"), \
                browser.engine.begin() as conn:
            conn.execute(text("UPDATE runs SET state = 'failed'"))
        assert [r.state for r in browser.runs(None, 0, 10)[0]] == ["completed"]
    finally:
        browser.close()


def test_a_fresh_process_opens_the_view_on_its_first_store(example_store: str) -> None:
    # A process whose first store is the read-only view's must still check the
    # store's objects (on PostgreSQL, against a reference built in a temporary schema).
    program = ("import sys; from petsard_status.store.browse import Browser; "
               "b = Browser(sys.argv[1]); print([r.state for r in b.runs(None, 0, 10)[0]]); "
               "b.close()")
    done = subprocess.run([sys.executable, "-c", program, example_store],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "['completed']"


def test_a_missing_file_is_not_created(tmp_path: Path) -> None:
    with pytest.raises(StoreConnectionError, match="no database at"):
        Browser(tmp_path / "missing.db")
    assert list(tmp_path.iterdir()) == []


def test_another_applications_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
    conn.close()
    before = sha256(path)
    with pytest.raises(NotAStoreError):
        Browser(path)
    assert sha256(path) == before
