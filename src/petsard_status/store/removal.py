"""Removing runs: their rows, the documents no other run uses, and a record that it happened.

History is append-only while a run lives; removing a whole run is the one
deliberate exception, made by ``petsard-status rm`` and logged in
``removed_runs``.  Metadata documents and blobs are shared between runs by
content hash, so only those that no remaining run refers to (through its
snapshots, change records, head or snapshot states, and the frames inside
its result trees) are deleted.  Everything happens in one transaction; a
SQLite file is then vacuumed so that it shrinks, and the frame files no
remaining blob row names are deleted after the commit (a crash in between
leaves unreferenced files, which ``db check`` lists and :func:`sweep_frame_files`
removes).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Connection

from petsard_status import formats
from petsard_status.errors import RunInUseError
from petsard_status.store import models as m
from petsard_status.store.frame_files import FRAME_FILE_KIND
from petsard_status.store.leases import leases_of
from petsard_status.store.materialize import drop_materialized
from petsard_status.store.store import Store

__all__ = ["Removal", "remove_run", "sweep_frame_files"]


@dataclass(frozen=True)
class Removal:
    run: str
    snapshots: int
    documents_freed: int
    files_removed: int = 0


def remove_run(store: Store, name: str) -> Removal:
    """Delete run ``name`` and what only it used; refuses a run a live process writes."""
    row = store.run_row(name)
    lease = leases_of(store).get(row.id)
    if lease is not None and lease.is_live():
        raise RunInUseError(f"run {name!r} is being written by {lease.holder}; stop it before "
                            "removing the run. Nothing was removed")
    drop_materialized(store, name)

    def work(conn: Connection) -> Removal:
        snapshots = int(conn.execute(select(func.count()).select_from(m.snapshots)
                                     .where(m.snapshots.c.run_id == row.id)).scalar() or 0)
        for table in (m.schema_appearances, m.changes, m.snapshots, m.timings, m.restores,
                      m.leases):
            conn.execute(delete(table).where(table.c.run_id == row.id))
        conn.execute(delete(m.runs).where(m.runs.c.id == row.id))
        freed = _collect_garbage(conn)
        conn.execute(insert(m.removed_runs).values(
            name=name, removed_at=dt.datetime.now(), snapshots=snapshots,
            documents_freed=freed, removed_by=f"process {os.getpid()} on {socket.gethostname()}"))
        return Removal(name, snapshots, freed)

    removal = store.write(work)
    store.forget_documents()
    files = sweep_frame_files(store)
    if store.dialect == "sqlite":
        store.vacuum()
    return dataclasses.replace(removal, files_removed=len(files))


def sweep_frame_files(store: Store) -> list[Path]:
    """Delete frame files no blob row names, and ``*.partial`` files no writer holds.

    Runs inside a write transaction, so no put commits a reference to a file
    while it is judged unused; a put still writing holds its files and keeps them.
    """
    folder = store.frames
    if folder is None:
        return []

    def work(conn: Connection) -> list[Path]:
        referenced = {r[0] for r in conn.execute(
            select(m.blobs.c.hash).where(m.blobs.c.kind == FRAME_FILE_KIND))}
        return folder.remove_unused(referenced)

    return store.write(work)


def _collect_garbage(conn: Connection) -> int:
    """Delete every schema, field and blob no remaining row refers to; return how many."""
    schemas: set[str] = set()
    fields: set[str] = set()
    blobs: set[str] = set()
    s, c = m.snapshots.c, m.changes.c
    for before, after in conn.execute(select(s.schema_before, s.schema_after)):
        schemas.update(h for h in (before, after) if h)
    for row in conn.execute(select(c.before_schema, c.after_schema, c.before_field,
                                   c.after_field)):
        schemas.update(h for h in row[:2] if h)
        fields.update(h for h in row[2:] if h)
    states = [r[0] for r in conn.execute(select(m.runs.c.head_json))]
    states += [r[0] for r in conn.execute(select(s.state_json))]
    trees: set[str] = set()
    for text in states:
        refs = formats.RunState.from_json(text).refs()
        schemas.update(refs["schemas"])
        trees.update(refs["trees"])
        blobs.update(refs["indices"])
    for digest, data in conn.execute(select(m.blobs.c.hash, m.blobs.c.data)
                                     .where(m.blobs.c.kind == "tree")):
        if digest in trees:
            blobs.add(digest)
            blobs.update(formats.tree_frame_refs(bytes(data)))
    for digest, doc in conn.execute(select(m.schemas.c.hash, m.schemas.c.doc)):
        if digest in schemas:
            fields.update(formats.shell_field_refs(doc))
    return (_delete_unused(conn, m.schemas, schemas) + _delete_unused(conn, m.fields, fields)
            + _delete_unused(conn, m.blobs, blobs))


def _delete_unused(conn: Connection, table: Any, keep: set[str]) -> int:
    present = {r[0] for r in conn.execute(select(table.c.hash))}
    unused = sorted(present - keep)
    for start in range(0, len(unused), 500):
        conn.execute(delete(table).where(table.c.hash.in_(unused[start:start + 500])))
    return len(unused)
