"""PostgreSQL: one session holding a lock cannot stall the store's writers or ``materialize``.

A second real connection holds a lock inside an open transaction; the store's
statement waits at most the lock timeout, then fails with ``LockTimeoutError``
(nothing stored), and succeeds once the other transaction ends.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from helpers.stores import CONFIG, cli, loader_adapter, make_run, one_error_line, sql
from petsard_status import LockTimeoutError, PetsardStatusError, Status, Store
from petsard_status.store.materialize import materialize_run

pytestmark = pytest.mark.postgres

SHORT = "%20-clock_timeout%3D1s"


@pytest.fixture
def holder(pg_url: str) -> Iterator[Connection]:
    """A second session, inside a transaction, for the test to take locks in."""
    engine = create_engine(pg_url)
    conn = engine.connect()
    conn.begin()
    try:
        yield conn
    finally:
        conn.rollback()
        conn.close()
        engine.dispose()


def test_connections_carry_the_timeouts_and_keep_the_urls_own(pg_url: str) -> None:
    with Store(pg_url) as store, store.engine.connect() as conn:
        shown = {name: conn.execute(text(f"SHOW {name}")).scalar() for name in
                 ("lock_timeout", "statement_timeout", "idle_in_transaction_session_timeout",
                  "search_path")}
    assert shown == {"lock_timeout": "15s", "statement_timeout": "15min",
                     "idle_in_transaction_session_timeout": "1min",
                     "search_path": pg_url.rsplit("%3D", 1)[1]}
    with Store(pg_url + SHORT) as store, store.engine.connect() as conn:
        assert conn.execute(text("SHOW lock_timeout")).scalar() == "1s"


def test_materialize_behind_an_open_reader_fails_with_lock_timeout(
        pg_url: str, holder: Connection) -> None:
    make_run(pg_url, "r")
    with Store(pg_url) as store:
        (made,) = materialize_run(store, "r")
    holder.execute(text(f'SELECT * FROM "{made.table_name}"')).all()  # holds ACCESS SHARE
    line = one_error_line(cli("materialize", "r", "--db", pg_url + SHORT, timeout=90))
    assert "lock timeout" in line and "Retry" in line
    with Store(pg_url + SHORT) as store, pytest.raises(LockTimeoutError):
        materialize_run(store, "r")
    holder.rollback()
    with Store(pg_url + SHORT) as store:
        assert [t.table_name for t in materialize_run(store, "r")] == [made.table_name]


def test_put_behind_a_stalled_transaction_fails_clearly_and_stores_nothing(
        pg_url: str, holder: Connection) -> None:
    url = pg_url + SHORT
    with Status(CONFIG, url, run="r") as status:
        status.put("Loader", "load", loader_adapter(5))
        holder.execute(text("LOCK TABLE snapshots IN EXCLUSIVE MODE"))
        with pytest.raises(PetsardStatusError) as caught:
            status.put("Loader", "load", loader_adapter(6))
        chain = [caught.value, caught.value.__cause__, caught.value.__context__]
        assert any(isinstance(e, LockTimeoutError) for e in chain), repr(caught.value)
        holder.rollback()
        assert sql(pg_url, "SELECT COUNT(*) FROM snapshots") == [(1,)]
        status.put("Loader", "load", loader_adapter(7))
    assert sql(pg_url, "SELECT COUNT(*) FROM snapshots") == [(2,)]


def test_sessions_left_idle_in_a_transaction_are_ended(pg_url: str) -> None:
    make_run(pg_url, "r")
    url = pg_url + "%20-cidle_in_transaction_session_timeout%3D1s"
    with Store(url) as store, store.engine.connect() as conn:
        conn.execute(text("SELECT COUNT(*) FROM runs")).all()
        time.sleep(3)  # idle inside the transaction the first statement began
        with pytest.raises(DBAPIError):  # the server has ended the session
            conn.execute(text("SELECT 1"))


def test_put_waiting_on_another_sessions_blob_row_fails_with_lock_timeout(
        pg_url: str, holder: Connection) -> None:
    """Writer B puts the frame whose blob row another session holds in an open transaction."""
    url = pg_url + SHORT
    make_run(url, "a")
    (frame_hash,) = sql(pg_url, "SELECT hash FROM blobs WHERE kind = 'frame'")[0]
    holder.execute(text("DELETE FROM blobs WHERE hash = :h"), {"h": frame_hash})
    with Status(CONFIG, url, run="b") as status:
        with pytest.raises(PetsardStatusError) as caught:
            status.put("Loader", "load", loader_adapter(5))
        chain = [caught.value, caught.value.__cause__, caught.value.__context__]
        assert any(isinstance(e, LockTimeoutError) for e in chain), repr(caught.value)
        holder.rollback()
        status.put("Loader", "load", loader_adapter(5))
        assert len(status.get_snapshots()) == 1
