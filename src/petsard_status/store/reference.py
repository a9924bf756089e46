"""What a fresh migration creates on SQLite, derived once and shipped beside the code.

Every open checks the store's objects against those of a schema migrated to the
same revision (``guard.py``) and compares the store's revision with the newest
one (``migrate.py``).  Building that reference means importing Alembic and
running every migration into an in-memory database: about 100 ms, more than a
reading command spends on anything else.  So ``sqlite_reference.json`` holds the
newest revision, the list of known ones, and the normalised ``sqlite_master``
of a fresh migration to the newest, together with a *fingerprint* of what that
depends on: the migration scripts' bytes and the versions of SQLAlchemy,
Alembic and SQLite that rendered the DDL.  It is used only when the running
fingerprint is the same; otherwise the reference is built as before, so a
stale file makes an open slower, never laxer.  ``write_reference`` (in
``migrate.py``) regenerates it; a test checks that it is current.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

__all__ = ["REFERENCE_FILE", "Master", "Shipped", "fingerprint", "shipped", "sqlite_master"]

REFERENCE_FILE = Path(__file__).with_name("sqlite_reference.json")

# (type, name) -> (table it belongs to, normalised SQL), as sqlite_master lists them.
Master = dict[tuple[str, str], tuple[str, str]]


def _normalise_sql(sql: str | None) -> str:
    # Quoting and spacing vary with the tool that wrote the DDL, never its meaning.
    return re.sub(r"[\s\"`\[\]]+", "", sql or "").lower()


def sqlite_master(conn: Connection) -> Master:
    """Every object of the SQLite database behind ``conn``, its SQL normalised."""
    rows = conn.exec_driver_sql("SELECT type, name, tbl_name, sql FROM sqlite_master").all()
    return {(kind, name): (table, _normalise_sql(sql)) for kind, name, table, sql in rows}


def fingerprint(migrations: Path) -> str:
    """A hash of everything the reference depends on: scripts and DDL-rendering versions."""
    digest = hashlib.sha256()
    for script in sorted([migrations / "env.py", *(migrations / "versions").glob("*.py")]):
        digest.update(f"{script.relative_to(migrations).as_posix()}\0".encode())
        digest.update(script.read_bytes())
        digest.update(b"\0")
    # Feature releases may render DDL differently; bug-fix releases do not, and a new
    # one must not send every open back to building the reference with Alembic.
    versions = (sqlalchemy.__version__, metadata.version("alembic"), sqlite3.sqlite_version)
    digest.update("\0".join(_feature_release(v) for v in versions).encode())
    return digest.hexdigest()


def _feature_release(version: str) -> str:
    return ".".join(version.split(".")[:2])


@dataclass(frozen=True)
class Shipped:
    """The shipped reference: the newest revision, every known one, and its catalogue."""

    head: str
    revisions: frozenset[str]
    master: Master


@lru_cache(maxsize=1)
def shipped(migrations: Path) -> Shipped | None:
    """The shipped reference, if it was derived from exactly these scripts and versions."""
    try:
        doc = json.loads(REFERENCE_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("fingerprint") != fingerprint(migrations):
        return None
    master = {(kind, name): (table, sql) for kind, name, table, sql in doc["master"]}
    return Shipped(doc["head"], frozenset(doc["revisions"]), master)


def reference_document(migrations: Path, head: str, revisions: set[str],
                       master: Master) -> dict[str, Any]:
    """The content of :data:`REFERENCE_FILE` for a fresh migration to ``head``."""
    return {
        "fingerprint": fingerprint(migrations),
        "head": head,
        "revisions": sorted(revisions),
        "master": [[kind, name, table, sql]
                   for (kind, name), (table, sql) in sorted(master.items())],
    }
