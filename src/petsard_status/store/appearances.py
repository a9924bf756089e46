"""The first appearance of each distinct schema of a module, for its evolution.

Every path that writes schema change records (a put, a head move outside a put,
an import) writes these rows in the same transaction, through
:func:`batch_appearances` or :func:`record_appearances`, so the table always
agrees with the change records (``db check`` compares the two).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from petsard_status.store import models as m
from petsard_status.store.batch import WriteBatch, insert_ignore

_a = m.schema_appearances.c


def appearance_rows(run_id: int, changes: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A row for each schema these change rows (in ``seq`` order) show, at its first show.

    Written with "skip what is stored" (the key is run, module and schema), so
    only a schema's first appearance in the run keeps its row.
    """
    first: dict[tuple[str, str], dict[str, Any]] = {}
    for c in changes:
        if c["target_type"] == "schema" and c["after_schema"] is not None:
            first.setdefault((c["module"], c["after_schema"]), {
                "run_id": run_id, "module": c["module"], "schema_hash": c["after_schema"],
                "first_seq": c["seq"]})
    return list(first.values())


def record_appearances(conn: Connection, run_id: int,
                       changes: Iterable[Mapping[str, Any]]) -> None:
    """Record the schemas these change rows show for the first time in the run."""
    rows = appearance_rows(run_id, changes)
    if rows:
        conn.execute(insert_ignore(conn.dialect.name, m.schema_appearances), rows)


def batch_appearances(batch: WriteBatch, run_id: int,
                      changes: Iterable[Mapping[str, Any]]) -> None:
    """:func:`record_appearances`, as rows of a put's batch."""
    batch.insert(m.schema_appearances, appearance_rows(run_id, changes), skip_stored=True)


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


__all__ = ["appearance_rows", "batch_appearances", "derived_appearances", "evolution_count",
           "evolution_page", "record_appearances", "stored_appearances"]
