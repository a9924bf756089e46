"""A put's rows and its head move, written as statements in turn or as one statement.

On SQLite a statement is a call into the library: a put runs its inserts one
after another and then moves the head, inside the write transaction, on the
sqlite3 cursor itself (through SQLAlchemy, each statement cost several times
what SQLite takes to run it).  On
PostgreSQL every statement is a round trip to the server, and an explicit
transaction costs two more (``BEGIN``, ``COMMIT``): a put of five statements
waited on seven answers.  There the whole put is one statement instead, run
as a transaction of its own (autocommit): the head move is a data-modifying
``WITH`` query, and every insert takes its rows (``unnest`` of one array per
column) joined to the moved head, so when another writer moved the head first
nothing is inserted at all.  One round trip, all or nothing, the same rows.
"""

from __future__ import annotations

import datetime as dt
import functools
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, bindparam, cast, func, insert, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError

from petsard_status.errors import StoreError
from petsard_status.store import models as m

__all__ = ["MOVE_HEAD", "ONE_STATEMENT_BYTES", "HeadMove", "WriteBatch", "insert_ignore",
           "one_statement"]

# A column's values travel as one array, which PostgreSQL takes as one value, and
# it refuses a value (and a message) of 1 GB or more: a put holding more than
# this (large frames as blobs) is sent as statements in turn instead.
ONE_STATEMENT_BYTES = 256 * 1024 * 1024

# Moves a run's head only from the head its writer last read (optimistic concurrency).
MOVE_HEAD = (
    update(m.runs)
    .where(m.runs.c.id == bindparam("run"), m.runs.c.head_json == bindparam("seen"))
    .values(head_json=bindparam("head"), updated_at=bindparam("at"))
)


def insert_ignore(dialect: str, table: Table) -> Any:
    """INSERT that skips rows whose key is already stored."""
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    return insert(table).prefix_with("IGNORE")


@dataclass(frozen=True)
class HeadMove:
    """Move run ``run``'s head from ``seen`` to ``head``."""

    run: int
    seen: str
    head: str
    at: dt.datetime

    def params(self) -> dict[str, Any]:
        return {"run": self.run, "seen": self.seen, "head": self.head, "at": self.at}


@dataclass
class _Rows:
    table: Table
    rows: list[dict[str, Any]]
    skip_stored: bool


@dataclass
class WriteBatch:
    """The inserts of one write, in order, then the head move that commits them."""

    dialect: Dialect
    _inserts: list[_Rows] = field(default_factory=list)

    def insert(self, table: Table, rows: list[dict[str, Any]], *,
               skip_stored: bool = False) -> None:
        """Rows for ``table``; with ``skip_stored``, rows whose key is stored are skipped."""
        if rows:
            self._inserts.append(_Rows(table, rows, skip_stored))

    def run(self, conn: Connection, move: HeadMove) -> bool:
        """Write everything; False (and nothing written) when the head had moved on.

        Where :func:`one_statement` holds, ``conn`` is in autocommit and has run nothing yet.
        """
        if not one_statement(self.dialect):
            return self._in_turn(conn, move)
        if _payload_bytes(self._inserts) > ONE_STATEMENT_BYTES:
            # Too large for one value: statements in turn, in a transaction of their own.
            conn.execution_options(isolation_level=conn.default_isolation_level)
            with conn.begin():
                return self._in_turn(conn, move)
        shape = tuple((rows.table, tuple(rows.rows[0]), rows.skip_stored)
                      for rows in self._inserts)
        params = move.params()
        for i, (rows, (_, names, _)) in enumerate(zip(self._inserts, shape)):
            if any(len(row) != len(names) for row in rows.rows):
                raise _mixed_columns(rows.table.name)
            for j, name in enumerate(names):
                params[f"w{i}_{j}"] = [row[name] for row in rows.rows]
        return bool(conn.exec_driver_sql(_one_statement(self.dialect, shape),
                                         params).scalar())

    def _in_turn(self, conn: Connection, move: HeadMove) -> bool:
        if self.dialect.name == "sqlite" and self.dialect.driver == "pysqlite":
            return _sqlite_in_turn(conn, self._inserts, move)
        for rows in self._inserts:
            conn.execute(_statement(self.dialect.name, rows.table, rows.skip_stored), rows.rows)
        return bool(conn.execute(MOVE_HEAD, move.params()).rowcount == 1)


def _sqlite_in_turn(conn: Connection, inserts: list[_Rows], move: HeadMove) -> bool:
    """The statements in turn on SQLite's own cursor, inside ``conn``'s transaction.

    A statement through SQLAlchemy costs several times what SQLite takes to run
    it; here each is compiled once, its values go through the bind processing
    SQLAlchemy would apply, and errors come out as SQLAlchemy's.
    """
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    sql = ""
    try:
        for rows in inserts:
            sql, order, processors = _sqlite_compiled(conn.dialect, rows.table,
                                                      tuple(rows.rows[0]), rows.skip_stored)
            cursor.executemany(sql, [_values(row, order, processors, rows.table.name)
                                     for row in rows.rows])
        params = move.params()
        sql, order, processors = _sqlite_compiled(conn.dialect, None, tuple(params), False)
        cursor.execute(sql, _values(params, order, processors, "runs"))
        return bool(cursor.rowcount == 1)
    except sqlite3.Error as exc:
        raise DBAPIError.instance(sql, None, exc, sqlite3.Error) from exc
    finally:
        cursor.close()


Processors = tuple[Callable[[Any], Any] | None, ...]


def _values(row: dict[str, Any], order: tuple[str, ...], processors: Processors,
            table: str) -> tuple[Any, ...]:
    """The row's values in the statement's order, bind-processed."""
    if len(row) != len(order):
        raise _mixed_columns(table)
    try:
        return tuple(row[name] if process is None else process(row[name])
                     for name, process in zip(order, processors))
    except KeyError:
        raise _mixed_columns(table) from None


def _mixed_columns(table: str) -> StoreError:
    # Never silently cut: a column one row names and another lacks would be lost.
    return StoreError(f"rows for {table} name different columns")


@functools.lru_cache(maxsize=256)
def _sqlite_compiled(dialect: Dialect, table: Table | None, names: tuple[str, ...],
                     skip_stored: bool) -> tuple[str, tuple[str, ...], Processors]:
    """SQL with positional parameters, the names they take in order, and their processors.

    ``table`` None is the head move, whose parameters are :meth:`HeadMove.params`.
    Each parameter takes its column's type, so its processor is the one SQLAlchemy uses.
    """
    statement = MOVE_HEAD if table is None else _statement("sqlite", table, skip_stored).values(
        {name: bindparam(name) for name in names})
    compiled = statement.compile(dialect=dialect)
    order = tuple(compiled.positiontup or ())
    if sorted(order) != sorted(names):
        raise StoreError(f"a statement on {getattr(table, 'name', 'runs')} takes {order}, "
                         f"not {names}")
    processors = tuple(compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
                       for name in order)
    return compiled.string, order, processors


def _payload_bytes(inserts: list[_Rows]) -> int:
    return sum(len(value) for rows in inserts for row in rows.rows for value in row.values()
               if isinstance(value, bytes | str))


def one_statement(dialect: Dialect) -> bool:
    """Whether a put on this dialect is sent as one statement: PostgreSQL through psycopg."""
    return dialect.name == "postgresql" and dialect.driver == "psycopg"


@functools.cache
def _statement(dialect: str, table: Table, skip_stored: bool) -> Any:
    # Built once: constructing a statement and walking its cache key on every
    # put is a visible share of a small put.
    return insert_ignore(dialect, table) if skip_stored else insert(table)


Shape = tuple[tuple[Table, tuple[str, ...], bool], ...]


@functools.lru_cache(maxsize=256)
def _one_statement(dialect: Dialect, shape: Shape) -> str:
    """The SQL of a whole put: ``WITH moved AS (UPDATE runs ... RETURNING id),
    w0 AS (INSERT INTO t (...) SELECT rows.* FROM moved JOIN unnest(...) AS rows(...)),
    ... SELECT count(*) FROM moved``.

    Each column's values travel as one array parameter (``w<i>_<j>``), so the
    text depends only on which tables a put writes, never on its row counts,
    and is compiled once per such shape.  The arrays go in psycopg's binary
    format (``%(name)b``): its text format escapes every element through a
    regular expression, which cost more than the server's work on a put.
    """
    moved = MOVE_HEAD.returning(m.runs.c.id).cte("moved")
    writes = []
    for i, (table, names, skip_stored) in enumerate(shape):
        arrays = [cast(bindparam(f"w{i}_{j}"), ARRAY(table.c[name].type))
                  for j, name in enumerate(names)]
        rows = func.unnest(*arrays).table_valued(*names).render_derived(name=f"rows_{i}")
        source = select(*rows.c).select_from(moved.join(rows, true()))
        statement = postgresql.insert(table).from_select(list(names), source)
        if skip_stored:
            statement = statement.on_conflict_do_nothing()
        writes.append(statement.cte(f"w{i}"))
    query = select(func.count()).select_from(moved).add_cte(*writes)
    text = str(query.compile(dialect=dialect))
    for i, (_, names, _) in enumerate(shape):
        for j in range(len(names)):
            text = text.replace(f"%(w{i}_{j})s", f"%(w{i}_{j})b")
    return text
