"""Refusing a store whose objects are not the ones our migrations created.

A database is untrusted input.  Reading a table runs nothing, but reading a
*view*, or a table that carries a rule, a row-security policy or a trigger, runs
whatever its author put there: on PostgreSQL a view named ``runs`` can call a
function that writes files through ``COPY ... TO PROGRAM``; on SQLite a trigger
on ``snapshots`` can delete every put as it lands.  So before a store is read or
written, its catalogue is compared with the catalogue of a schema freshly
migrated to the same revision:

- **SQLite**: ``sqlite_master`` must hold exactly our tables, indexes and views
  (by normalised SQL) and no trigger.  Tables named ``result_*`` (and their
  indexes) are allowed: ``materialize`` writes them.
- **PostgreSQL**: for each of our relations in the store's schema, its kind
  (a plain table, a view), its columns (type, default), indexes, constraints and
  view definitions must be the ones a fresh migration gives on this server, and
  it may carry no rule, no trigger (other than the internal ones of foreign
  keys) and no row-security policy.  Other applications' tables in a shared
  schema are left alone.

The reference catalogue of SQLite at the newest revision is shipped with the
package, derived from the migrations (``reference.py``); other revisions' are
built once per process in an in-memory database.  PostgreSQL's is built once per
process and server version in the session's temporary schema, inside a
transaction that is rolled back (nothing is left behind).  A store is checked
once per engine; the check is two catalogue queries.
"""

from __future__ import annotations

import re
import weakref

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.types import Text

from petsard_status.errors import ForeignObjectError, StoreError
from petsard_status.store.migrate import known_revisions, reference_master, upgrade_to
from petsard_status.store.reference import sqlite_master
from petsard_status.store.translate import describe, translate

__all__ = ["check_objects", "foreign_objects", "foreign_objects_of"]

Catalogue = dict[tuple[str, str], str]

_checked: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()

_PG_KINDS = {"r": "a plain table", "v": "a view", "m": "a materialized view",
             "p": "a partitioned table", "f": "a foreign table", "i": "an index",
             "S": "a sequence", "c": "a composite type"}

_PG_CATALOGUE = text("""
WITH rel AS (
    SELECT c.oid, c.relname, c.relkind, c.relrowsecurity
    FROM pg_class c
    WHERE c.relnamespace = CAST(:ns AS oid) AND c.relname = ANY(:names)
      AND c.relkind NOT IN ('i', 'S')
)
SELECT 'relation', relname,
       CAST(relkind AS text) || CASE WHEN relrowsecurity THEN ' row-security' ELSE '' END
FROM rel
UNION ALL
SELECT 'column', r.relname || '.' || a.attname,
       format_type(a.atttypid, a.atttypmod)
       || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
       || CASE WHEN a.attgenerated <> '' THEN ' generated' ELSE '' END
       || COALESCE(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
FROM rel r
JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = r.oid AND d.adnum = a.attnum
UNION ALL
SELECT 'index', i.relname, pg_get_indexdef(i.oid)
FROM rel r JOIN pg_index x ON x.indrelid = r.oid JOIN pg_class i ON i.oid = x.indexrelid
UNION ALL
SELECT 'constraint', r.relname || '.' || k.conname, pg_get_constraintdef(k.oid)
FROM rel r JOIN pg_constraint k ON k.conrelid = r.oid
UNION ALL
SELECT 'view', r.relname, pg_get_viewdef(r.oid) FROM rel r WHERE r.relkind IN ('v', 'm')
UNION ALL
SELECT 'trigger', r.relname || '.' || t.tgname, pg_get_triggerdef(t.oid)
FROM rel r JOIN pg_trigger t ON t.tgrelid = r.oid AND NOT t.tgisinternal
UNION ALL
SELECT 'rule', r.relname || '.' || w.rulename, pg_get_ruledef(w.oid)
FROM rel r JOIN pg_rewrite w ON w.ev_class = r.oid AND w.rulename <> '_RETURN'
UNION ALL
SELECT 'policy', r.relname || '.' || p.polname, CAST(p.polcmd AS text)
FROM rel r JOIN pg_policy p ON p.polrelid = r.oid
""").bindparams(bindparam("names", type_=ARRAY(Text)))

_PG_VERSION_TABLE = text("""
SELECT c.relkind, c.relrowsecurity,
       EXISTS (SELECT 1 FROM pg_rewrite w WHERE w.ev_class = c.oid AND w.rulename <> '_RETURN'),
       EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid)
FROM pg_class c
WHERE c.relnamespace = CAST(:ns AS oid) AND c.relname = 'alembic_version'
""")


def check_objects(engine: Engine) -> None:
    """Raise :class:`ForeignObjectError` if the store holds objects we did not create.

    Checked once per engine; a database with no store yet passes (creating the
    store refuses clashing names on its own).
    """
    if _checked.get(engine):
        return
    problems = foreign_objects_of(engine)
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more"
                                           if len(problems) > 5 else "")
        raise ForeignObjectError(
            f"{describe(engine)} holds objects that petsard-status did not create ({shown}); "
            "reading through them could run code planted in the database, so nothing was "
            "read. Run `petsard-status db check` to list them, then drop them or restore the "
            "database from a backup",
            tuple(problems),
        )
    _checked[engine] = True


def foreign_objects_of(engine: Engine) -> list[str]:
    """:func:`foreign_objects` on a connection of its own, read only and rolled back."""
    try:
        with engine.connect() as conn:
            problems = foreign_objects(conn)
            conn.rollback()
    except SQLAlchemyError as exc:
        raise translate(exc, engine) from exc
    return problems


def foreign_objects(conn: Connection) -> list[str]:
    """Every object of the store that differs from a fresh migration, as readable lines."""
    if conn.dialect.name == "sqlite":
        return _sqlite_problems(conn)
    if conn.dialect.name == "postgresql":
        return _pg_problems(conn)
    return []


# --- SQLite ------------------------------------------------------------------------------


def _sqlite_revision(conn: Connection, master: dict) -> str | None:
    if ("table", "alembic_version") not in master:
        return None
    rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    return str(rows[0][0]) if len(rows) == 1 else None


def _materialized_object(kind: str, name: str, table: str) -> bool:
    return kind in ("table", "index") and table.startswith("result_")


def _sqlite_problems(conn: Connection) -> list[str]:
    master = sqlite_master(conn)
    revision = _sqlite_revision(conn, master)
    if revision is None or revision not in known_revisions():
        return []  # not a store (yet), or a newer one: opening refuses those by itself
    expected = reference_master(revision)
    problems = []
    for (kind, name), (table, sql) in sorted(master.items()):
        if name.startswith("sqlite_"):
            continue
        if (kind, name) not in expected:
            if not _materialized_object(kind, name, table):
                problems.append(f"{kind} {name} (on {table}) was not created by petsard-status"
                                if kind in ("trigger", "index") else
                                f"{kind} {name} was not created by petsard-status")
        elif expected[(kind, name)][1] != sql:
            problems.append(f"{kind} {name} differs from its definition in revision {revision}")
    for kind, name in sorted(set(expected) - set(master)):
        if not name.startswith("sqlite_"):
            clash = [k for k, n in master if n == name]
            problems.append(f"{name} is a {clash[0]}, not the {kind} petsard-status created"
                            if clash else f"{kind} {name} of revision {revision} is missing")
    return problems


# --- PostgreSQL --------------------------------------------------------------------------


def _pg_namespace(conn: Connection) -> int | None:
    return conn.execute(text(
        "SELECT oid FROM pg_namespace WHERE nspname = current_schema()")).scalar()


def _pg_revision(conn: Connection, ns: int, problems: list[str]) -> str | None:
    row = conn.execute(_PG_VERSION_TABLE, {"ns": ns}).first()
    if row is None:
        return None
    kind, row_security, has_rules, has_policies = row
    if kind != "r" or row_security or has_rules or has_policies:
        problems.append(f"alembic_version is {_PG_KINDS.get(kind, kind)}"
                        f"{' with rules or policies' if has_rules or has_policies else ''}, "
                        "not the plain table petsard-status created")
        return None
    rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    return str(rows[0][0]) if len(rows) == 1 else None


def _pg_catalogue(conn: Connection, ns: int, names: list[str]) -> Catalogue:
    rows = conn.execute(_PG_CATALOGUE, {"ns": ns, "names": names}).all()
    out: Catalogue = {}
    for kind, name, detail in rows:
        if kind == "index":
            # pg_get_indexdef always qualifies the table with its schema.
            detail = re.sub(r" ON (?:\"[^\"]+\"|[^ .]+)\.", " ON ", detail, count=1)
        out[(kind, name)] = detail
    return out


_pg_references: dict[tuple[str, str], tuple[Catalogue, tuple[str, ...]]] = {}


def _pg_reference(conn: Connection, revision: str) -> tuple[Catalogue, tuple[str, ...]]:
    """Our catalogue at ``revision``, migrated into the session's temporary schema and undone."""
    server = str(conn.execute(text("SHOW server_version_num")).scalar())
    key = (server, revision)
    if key not in _pg_references:
        with conn.engine.connect() as ref:
            ref.begin()
            try:
                # A reader's connections default to read-only transactions (the web
                # view's do); this one writes only temporary tables and is rolled back.
                ref.execute(text("SET TRANSACTION READ WRITE"))
                ref.execute(text("SET LOCAL search_path = pg_temp"))
                upgrade_to(ref, revision)
                ns = ref.execute(text("SELECT CAST(pg_my_temp_schema() AS bigint)")).scalar()
                names = [r[0] for r in ref.execute(text(
                    "SELECT relname FROM pg_class WHERE relnamespace = pg_my_temp_schema() "
                    "AND relkind NOT IN ('i', 'S')"))]
                catalogue = _pg_catalogue(ref, int(ns or 0), names)
            except SQLAlchemyError as exc:
                why = str(getattr(exc, "orig", None) or exc).splitlines()[0]
                raise StoreError(
                    f"cannot verify the store's objects: building the reference schema in a "
                    f"temporary schema failed ({why}); "
                    "the user needs the TEMP privilege on the database, on a writable server"
                ) from exc
            finally:
                ref.rollback()
        _pg_references[key] = (catalogue, tuple(sorted(names)))
    return _pg_references[key]


def _pg_problems(conn: Connection) -> list[str]:
    ns = _pg_namespace(conn)
    if ns is None:
        return []
    problems: list[str] = []
    revision = _pg_revision(conn, ns, problems)
    if revision is None or revision not in known_revisions():
        return problems
    expected, names = _pg_reference(conn, revision)
    actual = _pg_catalogue(conn, ns, list(names))
    # Relations first: "runs is a view" explains the column differences after it.
    for key in sorted(set(expected) | set(actual), key=lambda k: (k[0] != "relation", k)):
        kind, name = key
        if key not in actual:
            problems.append(f"{kind} {name} of revision {revision} is missing")
        elif key not in expected:
            problems.append(f"{kind} {name} was not created by petsard-status")
        elif expected[key] != actual[key]:
            problems.append(_pg_difference(kind, name, expected[key], actual[key]))
    return problems


def _pg_difference(kind: str, name: str, expected: str, actual: str) -> str:
    if kind == "relation":
        return (f"{name} is {_PG_KINDS.get(actual[:1], actual)}"
                f"{' with row security' if 'row-security' in actual else ''}, not "
                f"{_PG_KINDS.get(expected[:1], expected)} as petsard-status created it")
    return f"{kind} {name} differs from what petsard-status created ({actual[:80]!r})"
