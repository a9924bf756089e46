"""The first appearance of each distinct schema of a module, for its evolution.

Every path that writes schema change records (a put, a head move outside a put,
an import) passes them through :func:`record_appearances` in the same
transaction, so the table always agrees with the change records (``db check``
compares the two).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Integer, String, bindparam, exists, func, insert, select
from sqlalchemy.engine import Connection

from petsard_status.store import models as m

_a = m.schema_appearances.c
_RUN, _MODULE, _HASH, _SEQ = (bindparam("run_id", type_=Integer),
                              bindparam("module", type_=String),
                              bindparam("schema_hash", type_=String),
                              bindparam("first_seq", type_=Integer))
# Only the first change that shows a schema records it: later ones find its row.
_FIRST_APPEARANCE = insert(m.schema_appearances).from_select(
    ["run_id", "module", "schema_hash", "first_seq"],
    select(_RUN, _MODULE, _HASH, _SEQ).where(~exists().where(
        _a.run_id == _RUN, _a.module == _MODULE, _a.schema_hash == _HASH)),
)


def record_appearances(conn: Connection, run_id: int,
                       changes: Iterable[Mapping[str, Any]]) -> None:
    """Record the schemas these change rows (in ``seq`` order) show for the first time."""
    first: dict[tuple[str, str], dict[str, Any]] = {}
    for c in changes:
        if c["target_type"] == "schema" and c["after_schema"] is not None:
            first.setdefault((c["module"], c["after_schema"]), {
                "run_id": run_id, "module": c["module"], "schema_hash": c["after_schema"],
                "first_seq": c["seq"]})
    if first:
        conn.execute(_FIRST_APPEARANCE, list(first.values()))


def evolution_count(conn: Connection, run_id: int, module: str) -> int:
    query = select(func.count()).select_from(m.schema_appearances).where(
        _a.run_id == run_id, _a.module == module)
    return int(conn.execute(query).scalar() or 0)


def evolution_page(conn: Connection, run_id: int, module: str, offset: int,
                   limit: int) -> list[str]:
    query = (select(_a.schema_hash).where(_a.run_id == run_id, _a.module == module)
             .order_by(_a.first_seq).offset(offset).limit(limit))
    return [row[0] for row in conn.execute(query)]


def derived_appearances(conn: Connection) -> set[tuple[int, str, str, int]]:
    """What the table should hold, grouped from the change records themselves."""
    c = m.changes.c
    query = (select(c.run_id, c.module, c.after_schema, func.min(c.seq))
             .where(c.target_type == "schema", c.after_schema.is_not(None))
             .group_by(c.run_id, c.module, c.after_schema))
    return {tuple(row) for row in conn.execute(query)}


def stored_appearances(conn: Connection) -> set[tuple[int, str, str, int]]:
    query = select(_a.run_id, _a.module, _a.schema_hash, _a.first_seq)
    return {tuple(row) for row in conn.execute(query)}


__all__ = ["derived_appearances", "evolution_count", "evolution_page", "record_appearances",
           "stored_appearances"]
