"""Reading every plain column the way the package's decoders read it, for ``db check``.

Content-addressed documents are checked against their hashes elsewhere; this
module covers the rest: columns whose type checks each value
(:mod:`petsard_status.store.columns`) and the JSON documents kept in plain
columns (a run's config and info, the execution context of snapshots and
timings).  Each value our decoders would refuse becomes one line naming the
table, the row and the column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import select, type_coerce
from sqlalchemy.engine import Connection
from sqlalchemy.types import NullType

from petsard_status import formats as codec
from petsard_status.errors import CorruptDataError, PetsardStatusError
from petsard_status.store import models as m
from petsard_status.store.columns import column_checker

__all__ = ["column_problems"]

MAX_PER_COLUMN = 20

_DOCUMENTS: tuple[tuple[Any, str, Callable[[Any], Any]], ...] = (
    (m.runs, "config_json", lambda text: codec.strict_loads(
        text, what="the run's config is unreadable", error=CorruptDataError)),
    (m.runs, "info_json", codec.loads_value),
    (m.snapshots, "context_json", codec.loads_value),
    (m.timings, "context_json", codec.loads_value),
)


def _raw(conn: Connection, table: Any, column: str) -> Iterator[tuple[Any, Any]]:
    """(primary key, stored value) without the column type's own processing."""
    key = next(iter(table.primary_key.columns))
    query = select(type_coerce(key, NullType()), type_coerce(table.c[column], NullType()))
    yield from conn.execute(query.order_by(key))


def _scan(conn: Connection, table: Any, column: str,
          decode: Callable[[Any], Any]) -> list[str]:
    problems: list[str] = []
    extra = 0
    for key, value in _raw(conn, table, column):
        if value is None:
            continue
        try:
            decode(value)
        except PetsardStatusError as exc:
            if len(problems) < MAX_PER_COLUMN:
                problems.append(f"{table.name} row {key}: {column}: {str(exc).split(';')[0]}")
            else:
                extra += 1
    if extra:
        problems.append(f"{table.name}: {column}: and {extra} more rows like these")
    return problems


def column_problems(conn: Connection) -> list[str]:
    """Every stored plain value the package's decoders refuse, one line each."""
    problems: list[str] = []
    for table in m.Base.metadata.sorted_tables:
        for col in table.columns:
            check = column_checker(col.type, conn.dialect)
            if check is not None:
                problems.extend(_scan(conn, table, col.name, check))
    for table, column, decode in _DOCUMENTS:
        problems.extend(_scan(conn, table, column, decode))
    return problems
