"""Turning what the user gave as ``store`` into a configured SQLAlchemy engine.

SQLite gets WAL, a busy timeout, foreign keys and ``synchronous=FULL`` on every
connection, and write transactions that take the write lock up front
(``BEGIN IMMEDIATE``) so that two writers queue on the busy timeout instead of
failing with "database is locked" half-way through a transaction.

PostgreSQL connections get a lock timeout, a (generous) statement timeout and
an idle-in-transaction timeout, so that one client that died or stalled inside
a transaction cannot make every other writer (or ``materialize``'s
``DROP TABLE``) wait for as long as the server keeps it.  Settings the URL's
``options`` already give win.  A pooled connection is pinged only when it has
sat idle for :data:`PING_AFTER_IDLE_S`: a connection used a moment ago is
alive, and pinging it before every put would cost one more round trip each.
"""

from __future__ import annotations

import os
import random
import re
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError, NoSuchModuleError

from petsard_status.errors import NotAStoreError, StoreConnectionError

T = TypeVar("T")

ENV_VAR = "PETSARD_STATUS_DB"
DEFAULT_URL = "sqlite:///petsard_status.db"
BUSY_TIMEOUT_MS = 60_000
SQLITE_HEADER = b"SQLite format 3\x00"
PG_TIMEOUTS = {
    "lock_timeout": "15s",
    "statement_timeout": "15min",
    "idle_in_transaction_session_timeout": "60s",
}
PING_AFTER_IDLE_S = 10.0


def default_store() -> str:
    """The store used when none is given: ``$PETSARD_STATUS_DB`` or ``./petsard_status.db``."""
    return os.environ.get(ENV_VAR) or DEFAULT_URL


def resolve_url(store: str | os.PathLike[str] | URL | None) -> URL:
    """Parse a SQLAlchemy URL or a path to a SQLite file."""
    if store is None:
        store = default_store()
    if isinstance(store, URL):
        url = store
    elif isinstance(store, os.PathLike) or "://" not in str(store):
        if not isinstance(store, os.PathLike) and not _reads_as_path(str(store)):
            raise StoreConnectionError(
                f"{store!r} is neither a database URL nor a path to a SQLite file; give a "
                "URL such as sqlite:///runs.db or postgresql+psycopg://user@host/db, or a "
                f"file path with a suffix or a folder (runs.db, ./{store})"
            )
        path = Path(os.fspath(store)).expanduser()
        url = URL.create("sqlite", database=str(path))
    else:
        try:
            url = make_url(str(store))
        except (ArgumentError, ValueError) as exc:  # ValueError: a port that is not a number
            raise StoreConnectionError(
                f"{store!r} is not a database URL; give a path to a SQLite file or a URL "
                "such as sqlite:///runs.db or postgresql+psycopg://user@host/db"
            ) from exc
    if url.drivername in ("postgres", "postgresql"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def _reads_as_path(text: str) -> bool:
    # A bare word ("notaurl") or a URL missing its "//" ("sqlite:runs.db") is
    # far more often a mistyped URL than a file the user wants created.
    if text == ":memory:":
        return True
    if not text.strip() or re.match(r"[A-Za-z][A-Za-z0-9+.-]+:", text):
        return False
    return "/" in text or os.sep in text or "." in Path(text).name or Path(text).exists()


def is_sqlite(url_or_engine: URL | Engine) -> bool:
    url = url_or_engine.url if isinstance(url_or_engine, Engine) else url_or_engine
    return url.get_backend_name() == "sqlite"


def sqlite_path(url: URL) -> Path | None:
    """The file behind a SQLite URL, or None for an in-memory database."""
    database = url.database
    if not database or database == ":memory:" or url.query.get("mode") == "memory":
        return None
    if database.startswith("file:"):
        database = database[len("file:") :].split("?", 1)[0]
    return Path(database)


def check_sqlite_file(path: Path) -> None:
    """Refuse, before SQLite touches it, a path that cannot be or hold a store."""
    if path.is_dir():
        raise NotAStoreError(f"{path} is a folder, not a database file; give a file path")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        raise StoreConnectionError(
            f"the folder {parent} does not exist; create it first (mkdir -p {parent}) "
            "or give a path in an existing folder"
        )
    if path.exists() and path.stat().st_size > 0:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
        if header != SQLITE_HEADER:
            raise NotAStoreError(
                f"{path} is not a SQLite database (its first bytes are not the SQLite "
                "header); point the store at a new file or at an existing petsard-status "
                "database"
            )


def _on_sqlite_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's implicit
    # transactions would start too late and always DEFERRED).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        retry_busy(lambda: _use_wal(cursor))
        cursor.execute("PRAGMA synchronous = FULL")
    finally:
        cursor.close()


def _use_wal(cursor: sqlite3.Cursor) -> None:
    mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
    if mode != "wal" and mode != "memory" and _may_take_over(cursor):
        cursor.execute("PRAGMA journal_mode = WAL")


def retry_busy(action: Callable[[], T], timeout_ms: int = BUSY_TIMEOUT_MS) -> T:
    """Run ``action``, retrying with back-off while SQLite says the file is locked or busy.

    The busy timeout covers ordinary statements, but SQLite returns "database is
    locked" at once, without calling the busy handler, where waiting could
    deadlock: switching the journal mode while another connection does the same,
    or reading the schema of a file being created.  Those are retried here, like
    any busy write, within the same overall timeout.
    """
    deadline = time.monotonic() + timeout_ms / 1000
    delay = 0.005
    while True:
        try:
            return action()
        except sqlite3.OperationalError as exc:
            message = str(exc).lower()
            if ("locked" not in message and "busy" not in message) or (
                    time.monotonic() > deadline):
                raise
        time.sleep(delay * (1 + random.random()))  # noqa: S311 - jitter, not security
        delay = min(delay * 2, 0.25)


def _may_take_over(cursor: sqlite3.Cursor) -> bool:
    # Switching to WAL rewrites the file's header and leaves -wal/-shm files:
    # do it to a new database or to a store, never to another application's
    # file that opening is about to refuse.
    names = {row[0] for row in cursor.execute("SELECT name FROM sqlite_master")}
    return not names or {"alembic_version", "snapshots"} <= names


def _on_sqlite_begin(conn: Any) -> None:
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


def configure_sqlite(engine: Engine) -> None:
    event.listen(engine, "connect", _on_sqlite_connect)
    event.listen(engine, "begin", _on_sqlite_begin)


def make_engine(url: URL, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` with the store's settings."""
    if is_sqlite(url):
        path = sqlite_path(url)
        if path is not None:
            check_sqlite_file(path)
        try:
            engine = create_engine(url, **kwargs)
        except (ArgumentError, NoSuchModuleError) as exc:
            raise StoreConnectionError(f"cannot use {url!r}: {exc}") from exc
        configure_sqlite(engine)
        return engine
    if url.get_backend_name() == "postgresql":
        kwargs["connect_args"] = {**pg_connect_args(url), **kwargs.get("connect_args", {})}
    try:
        engine = create_engine(url, **kwargs)
    except NoSuchModuleError as exc:
        raise StoreConnectionError(
            f"no SQLAlchemy dialect for {url.drivername!r}; check the URL's scheme"
        ) from exc
    except ModuleNotFoundError as exc:
        raise StoreConnectionError(
            f"the database driver for {url.drivername!r} is not installed ({exc.name}); "
            "for PostgreSQL run: pip install 'petsard-status[postgres]'"
        ) from exc
    ping_after_idle(engine)
    return engine


def _note_checkin(dbapi_conn: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_conn: Any, record: Any, proxy: Any) -> None:
    idle_since = record.info.pop("idle_since", None)
    if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
        return
    try:
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
        dbapi_conn.rollback()
    except Exception as exc:  # whatever the driver raises for a dead connection
        # The pool discards this connection and checks out a fresh one.
        raise DisconnectionError(f"pooled connection no longer answers: {exc}") from exc


def ping_after_idle(engine: Engine) -> None:
    """Ping a pooled connection on checkout only when it has been idle for a while."""
    if not event.contains(engine, "checkout", _ping_if_idle):
        event.listen(engine, "checkin", _note_checkin)
        event.listen(engine, "checkout", _ping_if_idle)


def pg_connect_args(url: URL) -> dict[str, str]:
    """libpq ``options`` with the store's timeouts added to those the URL gives."""
    given = url.query.get("options", "")
    existing = " ".join(given) if isinstance(given, tuple) else given
    added = [f"-c {name}={value}" for name, value in PG_TIMEOUTS.items()
             if name not in existing]
    return {"options": " ".join([existing, *added]).strip()}


def prepare_engine(engine: Engine) -> None:
    """Give an engine the user built themselves the SQLite settings, once."""
    if is_sqlite(engine) and not event.contains(engine, "begin", _on_sqlite_begin):
        configure_sqlite(engine)
