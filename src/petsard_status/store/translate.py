"""Turning driver errors into the package's errors, with a hint of what to do.

PostgreSQL errors are recognised by their SQLSTATE, never by message text (which
the server translates into its own language).
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from petsard_status.errors import (
    CorruptDataError,
    LockTimeoutError,
    NotAStoreError,
    StoreConnectionError,
    StoreError,
    StoreFullError,
    StoreReadOnlyError,
)
from petsard_status.store.engine import sqlite_path

# Recognised by code, never by message text: SQLite's extended result code names
# and PostgreSQL's SQLSTATE.
_RETRYABLE_SQLITE = ("SQLITE_BUSY", "SQLITE_LOCKED")
_RETRYABLE_SQLSTATE = frozenset({
    "40P01",  # deadlock_detected
    "40001",  # serialization_failure
})
_UNIQUE_SQLITE = frozenset({"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"})
_UNIQUE_SQLSTATE = "23505"


def _codes(exc: BaseException) -> tuple[str, str]:
    orig = getattr(exc, "orig", exc)
    return (str(getattr(orig, "sqlite_errorname", "") or ""),
            str(getattr(orig, "sqlstate", "") or ""))


def is_retryable(exc: BaseException) -> bool:
    """A busy or locked SQLite database, a PostgreSQL deadlock: worth trying again."""
    sqlite_name, sqlstate = _codes(exc)
    return sqlite_name.startswith(_RETRYABLE_SQLITE) or sqlstate in _RETRYABLE_SQLSTATE


def is_unique_violation(exc: BaseException) -> bool:
    """The row exists already: another writer got there first."""
    sqlite_name, sqlstate = _codes(exc)
    return sqlite_name in _UNIQUE_SQLITE or sqlstate == _UNIQUE_SQLSTATE


def describe(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _unwritable(engine: Engine) -> Path | None:
    """The folder or file that keeps a SQLite store from being opened, if that is the cause."""
    if engine.url.get_backend_name() != "sqlite":
        return None
    path = sqlite_path(engine.url)
    if path is None:
        return None
    for candidate in (path.parent if str(path.parent) else Path("."), path):
        if candidate.exists() and not os.access(candidate, os.W_OK):
            return candidate
    return None


def _sqlstate_error(exc: BaseException, where: str, message: str) -> StoreError | None:
    state = getattr(getattr(exc, "orig", None), "sqlstate", None)
    if state == "55P03":  # lock_not_available: lock_timeout passed
        return LockTimeoutError(
            f"{where}: waited past the lock timeout for a lock another session holds "
            f"({message}); nothing of this statement was stored. Retry once that session's "
            "transaction ends (pg_stat_activity shows sessions 'idle in transaction')"
        )
    if state == "57014":  # query_canceled: statement_timeout passed, or cancelled by hand
        return StoreError(
            f"{where}: a statement was cancelled ({message}); nothing of it was stored. "
            "Retry; if it keeps happening raise statement_timeout in the URL's options"
        )
    if state == "25P03":  # idle_in_transaction_session_timeout ended the session
        return StoreConnectionError(
            f"{where}: the server closed a session left idle inside a transaction "
            f"({message}); nothing of that transaction was stored. Retry"
        )
    return None


def translate(exc: BaseException, engine: Engine) -> StoreError:
    """The package error for a database exception (the original is kept as its cause)."""
    # Long on purpose: one case per kind of failure, each with the message it deserves.
    where = describe(engine)
    message = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    lowered = message.lower()
    by_state = _sqlstate_error(exc, where, message)
    if by_state is not None:
        return by_state
    if "file is not a database" in lowered or "malformed" in lowered:
        return NotAStoreError(
            f"{where} is not a readable SQLite database ({message}); it may be corrupt or "
            "another kind of file. Restore it from a backup or use a new file"
        )
    if "readonly" in lowered or "read-only" in lowered or "read only" in lowered:
        return StoreReadOnlyError(
            f"{where} cannot be written ({message}); make the file and its folder writable "
            "(SQLite also writes -wal and -shm files beside it) or use another store"
        )
    if "disk is full" in lowered or "database or disk is full" in lowered:
        return StoreFullError(
            f"{where} cannot grow ({message}); free disk space (or raise the size limit) and "
            "try again: everything stored before this point is intact"
        )
    if isinstance(exc, UnicodeDecodeError) or "could not decode to utf-8" in lowered:
        return CorruptDataError(
            f"{where} holds text that is not valid UTF-8 ({message[:160]}); the file is "
            "corrupt or was edited by another program. Restore it from a backup "
            "(`petsard-status db check` lists what is damaged)"
        )
    if "unable to open database file" in lowered:
        unwritable = _unwritable(engine)
        if unwritable is not None:
            return StoreReadOnlyError(
                f"cannot open {where}: {unwritable} is not writable, and SQLite must create "
                "-wal and -shm files beside the database ({message}); make it writable, or "
                "copy the database to a writable folder"
            )
        return StoreConnectionError(
            f"cannot open {where} ({message}); check that the path exists and is writable"
        )
    if "database is locked" in lowered:
        return LockTimeoutError(
            f"{where} stayed locked by another writer past the busy timeout ({message}); "
            "retry, or give fewer processes the same SQLite file"
        )
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return StoreConnectionError(
            f"the connection to {where} was lost ({message}); if it was lost while a write "
            "was being committed, that write may or may not be stored: check the run "
            "(`petsard-status snapshots RUN`) before repeating it"
        )
    if any(
        hint in lowered
        for hint in (
            "connection refused",
            "could not connect",
            "connection failed",
            "could not translate host",
            "does not exist",
            "authentication failed",
            "timeout expired",
            "name or service not known",
        )
    ):
        return StoreConnectionError(
            f"cannot connect to {where} ({message}); check the URL, that the server is "
            "running, and that the database and user exist"
        )
    if isinstance(exc, SQLAlchemyError):
        return StoreError(f"the database {where} failed: {message}")
    return StoreError(f"{where}: {message}")
