"""Creating and upgrading the store's schema with the package's own Alembic migrations.

Every open goes through :func:`ensure_schema`.  The common case (the store is at
head) costs one query, and no Alembic: the newest revision comes from the shipped
reference (``reference.py``) while it matches the scripts.  Otherwise the
migration runs inside one transaction that first takes the store's migration
lock (``BEGIN IMMEDIATE`` on SQLite, an advisory transaction lock on
PostgreSQL), so several processes opening a brand new database at the same
moment create the schema exactly once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import sqlite3
import tempfile
from contextlib import closing
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DatabaseError, OperationalError, ProgrammingError

from petsard_status.errors import NotAStoreError, SchemaVersionError, StoreError
from petsard_status.store.engine import is_sqlite, sqlite_path
from petsard_status.store.models import STORE_TABLES
from petsard_status.store.reference import (
    REFERENCE_FILE,
    Master,
    reference_document,
    shipped,
    sqlite_master,
)

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

log = logging.getLogger("petsard_status.store")

# Any fixed 64-bit number unlikely to clash with an application's own advisory locks.
PG_MIGRATION_LOCK = 0x7065_7473_6172_6473


def migrations_dir() -> Path:
    """The Alembic scripts: inside the installed package, or the source tree's top level."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "migrations", here.parent.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise StoreError("the package's migrations are missing; reinstall petsard-status")


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    # Alembic costs about 50 ms to import; only creating or upgrading a schema needs it.
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(migrations_dir()))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=1)
def _script() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    reference = shipped(migrations_dir())
    if reference is not None:
        return reference.head
    head = _script().get_current_head()
    assert head is not None
    return head


def known_revisions() -> set[str]:
    reference = shipped(migrations_dir())
    if reference is not None:
        return set(reference.revisions)
    return {rev.revision for rev in _script().walk_revisions()}


def upgrade_to(connection: Connection, revision: str) -> None:
    """Run the migrations up to ``revision`` on ``connection`` (inside its transaction)."""
    from alembic import command

    command.upgrade(alembic_config(connection), revision)


@lru_cache(maxsize=8)
def _migrated_master(revision: str) -> Master:
    engine = create_engine("sqlite://")
    try:
        with engine.connect() as conn:
            upgrade_to(conn, revision)
            return sqlite_master(conn)
    finally:
        engine.dispose()


def reference_master(revision: str) -> Master:
    """The SQLite objects a fresh migration to ``revision`` creates (shipped, or built)."""
    reference = shipped(migrations_dir())
    if reference is not None and revision == reference.head:
        return reference.master
    return _migrated_master(revision)


def write_reference() -> Path:
    """Regenerate the shipped reference from the scripts, by migrating in memory."""
    _script.cache_clear()
    folder = migrations_dir()
    script = _script()
    head = script.get_current_head()
    assert head is not None
    revisions = {rev.revision for rev in script.walk_revisions()}
    doc = reference_document(folder, head, revisions, _migrated_master(head))
    REFERENCE_FILE.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    shipped.cache_clear()
    return REFERENCE_FILE


def current_revision(connection: Connection) -> str | None:
    """The store's revision, or None when the database has no store yet."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    rows = connection.execute(text("SELECT version_num FROM alembic_version")).fetchall()
    if len(rows) > 1:
        raise NotAStoreError(
            "the database's alembic_version table holds several revisions; it is not a "
            "petsard-status store"
        )
    return rows[0][0] if rows else None


def _check_not_foreign(connection: Connection) -> None:
    tables = set(inspect(connection).get_table_names())
    clash = tables & set(STORE_TABLES)
    if clash:
        raise NotAStoreError(
            f"the database has tables named {sorted(clash)} but no petsard-status revision; "
            "it belongs to another application. Use a new database file or URL"
        )
    if tables and connection.dialect.name == "sqlite":
        # A SQLite file is one application's database; a server database or
        # schema may be shared, so there only a clash of names is refused.
        raise NotAStoreError(
            f"the SQLite file holds tables of another application ({', '.join(sorted(tables))}) "
            "and no petsard-status store; it was left untouched. Use a new database file"
        )


def _refuse_unknown(revision: str, connection: Connection | None = None) -> None:
    if connection is not None and not inspect(connection).has_table("snapshots"):
        raise NotAStoreError(
            f"the database's alembic_version says {revision!r} but it has no petsard-status "
            "tables; it belongs to another application. Use a new database file or URL"
        )
    raise SchemaVersionError(
        f"the store is at revision {revision!r}, which this version of petsard-status does "
        f"not know (its newest is {head_revision()!r}); the database was written by a newer "
        "petsard-status: upgrade the package (pip install -U petsard-status)"
    )


def _sqlite_read_only(engine: Engine) -> bool:
    """True when this SQLite store is opened read-only (``mode=ro``) or cannot be written."""
    url = engine.url
    text_url = f"{url.database or ''}?{'&'.join(f'{k}={v}' for k, v in url.query.items())}"
    if "mode=ro" in text_url or "immutable=1" in text_url:
        return True
    path = sqlite_path(url)
    if path is None or not path.exists():
        return False
    folder = path.parent if str(path.parent) else Path(".")
    return not os.access(path, os.W_OK) or not os.access(folder, os.W_OK)


def _refuse_read_only_upgrade(engine: Engine, current: str) -> None:
    path = sqlite_path(engine.url)
    raise SchemaVersionError(
        f"the store {path} is at revision {current}, older than this petsard-status reads "
        f"({head_revision()}), and it is opened read-only, so it was neither upgraded nor "
        f"backed up. Upgrade a writable copy: cp {path} upgraded.db && petsard-status db "
        "upgrade --db upgraded.db (or open it writable once)"
    )


def _backup_sqlite(engine: Engine, revision: str) -> Path | None:
    path = sqlite_path(engine.url)
    if path is None or not path.exists():
        return None
    stamp = dt.datetime.now().strftime("%Y%m%d_%H%M%S")
    backup = path.with_name(f"{path.name}.backup-{revision}-{stamp}")
    # A temporary name, fsynced, then renamed: a kill or a full disk never leaves
    # a partial backup under the name people restore from.
    fd, temp = tempfile.mkstemp(prefix=f".{backup.name}.", suffix=".part", dir=backup.parent)
    os.close(fd)
    try:
        # The backup API copies a consistent image even while others hold the file open.
        with closing(sqlite3.connect(path)) as source, closing(sqlite3.connect(temp)) as target:
            source.backup(target)
        with open(temp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, backup)
    except (sqlite3.Error, OSError) as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise StoreError(
            f"could not back up {path} to {backup} before upgrading it ({exc}); the store "
            "was not changed. Free space or make its folder writable, then open it again"
        ) from exc
    return backup


def ensure_schema(engine: Engine, *, upgrade: bool = True, create: bool = True) -> str:
    """Make sure the store behind ``engine`` is at head; return the revision it is at.

    A new database is created at head (unless ``create`` is false: then a
    database without a store is refused and left as it was); an older store is
    backed up (SQLite) and upgraded; a store of an unknown (newer) revision is
    refused.
    """
    head = head_revision()
    try:
        with engine.connect() as conn:
            current = current_revision(conn)
            conn.rollback()
        if current == head:
            return head
        if current is None and not create:
            raise NotAStoreError(
                f"{_where(engine)} holds no petsard-status store; nothing was created or "
                "changed. Give the store with --db (or $PETSARD_STATUS_DB), or start a run "
                "with `petsard-status run PIPELINE.yaml`"
            )
        if current is not None and current not in known_revisions():
            with engine.connect() as conn:
                _refuse_unknown(current, conn)
        if not upgrade:
            return current or ""
        backup = None
        if current is not None and is_sqlite(engine):
            if _sqlite_read_only(engine):
                _refuse_read_only_upgrade(engine, current)
            backup = _backup_sqlite(engine, current)
            if backup is not None:
                log.warning(
                    "upgrading the store %s from revision %s to %s; a copy of the database "
                    "as it was is at %s",
                    sqlite_path(engine.url),
                    current,
                    head,
                    backup,
                )
        with (
            engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn,
            conn.begin(),
        ):
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_MIGRATION_LOCK})
            current = current_revision(conn)
            if current == head:
                return head
            if current is None:
                _check_not_foreign(conn)
            elif current not in known_revisions():
                _refuse_unknown(current, conn)
            upgrade_to(conn, "head")
        if backup is not None:
            log.info("upgraded the store from revision %s to %s", current, head)
        return head
    except (OperationalError, ProgrammingError, DatabaseError, UnicodeDecodeError) as exc:
        from petsard_status.store.translate import translate

        raise translate(exc, engine) from exc


def _where(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)
