"""Checking a store without changing it: SQLite integrity, the revision, every reference.

Used by ``petsard-status db check``; reads only, and reports problems as text
rather than stopping at the first.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from sqlalchemy import exists, func, inspect, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from petsard_status import formats as codec
from petsard_status.errors import CorruptDataError, NotAStoreError, PetsardStatusError
from petsard_status.formats import RunState, hash_bytes, tree_frame_refs
from petsard_status.store import appearances
from petsard_status.store import models as m
from petsard_status.store.audit import column_problems
from petsard_status.store.engine import make_engine, resolve_url, sqlite_path
from petsard_status.store.frame_files import FRAME_FILE_KIND, FrameFolder, frames_folder
from petsard_status.store.guard import foreign_objects_of
from petsard_status.store.migrate import current_revision, head_revision, known_revisions
from petsard_status.store.store import refuse_empty_file
from petsard_status.store.translate import describe, translate

__all__ = ["check_store", "database_engine", "store_revision"]


@contextlib.contextmanager
def database_engine(db: str | os.PathLike[str] | None, *,
                    existing: bool = True) -> Iterator[Engine]:
    """An engine for ``db`` that creates and migrates nothing (nor touches an empty file)."""
    url = resolve_url(db)
    if existing:
        refuse_empty_file(url)
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def store_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            return current_revision(conn)
    except SQLAlchemyError as exc:
        raise translate(exc, engine) from exc


def _missing(conn: Connection, table: Any, column: str, target: Any) -> list[Any]:
    col = table.c[column]
    query = (select(table.c.run_id, table.c.seq, col)
             .where(col.is_not(None), ~exists().where(target.c.hash == col))
             .order_by(table.c.run_id, table.c.seq))
    return list(conn.execute(query).all())


def _foreign(engine: Engine) -> list[str]:
    return [f"foreign object: {problem}" for problem in foreign_objects_of(engine)]


def check_store(engine: Engine) -> dict[str, Any]:
    """Verify a store without changing it: its objects, SQLite integrity, revision, references.

    Returns the revision, row counts and a list of problems (empty when healthy).
    """
    problems = _foreign(engine)
    if problems:
        # Reading the tables could run what was planted: report the objects alone.
        return {"database": describe(engine), "revision": None, "head": head_revision(),
                "integrity": "not checked", "counts": {}, "problems": problems}
    revision = store_revision(engine)
    if revision is None:
        raise NotAStoreError(f"{describe(engine)} holds no petsard-status store (no revision)")
    if revision not in known_revisions():
        problems.append(f"revision {revision} is unknown to this petsard-status "
                        f"(head {head_revision()})")
    integrity = "not applicable"
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                integrity, found = _sqlite_integrity(conn)
                problems.extend(found)
            columns = column_problems(conn)
            try:
                counts, more = _check_references(conn)
            except CorruptDataError as exc:
                if not columns:
                    raise
                counts, more = {}, [f"references not checked: {exc}"]
            problems.extend(more)
            problems.extend(columns)
            conn.rollback()
    except SQLAlchemyError as exc:
        raise translate(exc, engine) from exc
    return {"database": describe(engine), "revision": revision, "head": head_revision(),
            "integrity": integrity, "counts": counts, "problems": problems}


def _sqlite_integrity(conn: Connection) -> tuple[str, list[str]]:
    lines = [r[0] for r in conn.execute(text("PRAGMA integrity_check"))]
    problems = [f"integrity_check: {line}" for line in lines if line != "ok"]
    for row in conn.execute(text("PRAGMA foreign_key_check")):
        problems.append(f"foreign_key_check: a row of {row[0]} (rowid {row[1]}) "
                        f"refers to a missing row of {row[2]}")
    return ("ok" if lines == ["ok"] else "failed"), problems


def _check_references(conn: Connection) -> tuple[dict[str, int], list[str]]:
    problems: list[str] = []
    names = dict(conn.execute(select(m.runs.c.id, m.runs.c.name)).all())

    def where(table: str, run_id: int, seq: int) -> str:
        return f"run {names.get(run_id, run_id)!r} {table} #{seq}"

    for table, column, target in (
        (m.snapshots, "schema_before", m.schemas), (m.snapshots, "schema_after", m.schemas),
        (m.changes, "before_schema", m.schemas), (m.changes, "after_schema", m.schemas),
        (m.changes, "before_field", m.fields), (m.changes, "after_field", m.fields),
    ):
        for run_id, seq, digest in _missing(conn, table, column, target):
            problems.append(f"{where(table.name[:-1], run_id, seq)}: {column} {digest} is "
                            f"not in {target.name}")

    field_hashes = set()
    for digest, doc in conn.execute(select(m.fields.c.hash, m.fields.c.doc)):
        field_hashes.add(digest)
        if codec.content_hash(doc) != digest:
            problems.append(f"field {digest}: its document does not match its hash")
    schema_hashes = set()
    for digest, doc in conn.execute(select(m.schemas.c.hash, m.schemas.c.doc)):
        schema_hashes.add(digest)
        if codec.content_hash(doc) != digest:
            problems.append(f"schema {digest}: its document does not match its hash")
        try:
            refs = codec.shell_field_refs(doc)
        except PetsardStatusError as exc:
            problems.append(f"schema {digest}: unreadable ({exc})")
            continue
        problems.extend(f"schema {digest}: field {ref} is not in fields"
                        for ref in refs if ref not in field_hashes)

    kinds = dict(conn.execute(select(m.blobs.c.hash, m.blobs.c.kind)).all())
    for digest in kinds:
        if kinds[digest] == FRAME_FILE_KIND:
            continue
        data = conn.execute(select(m.blobs.c.data).where(m.blobs.c.hash == digest)).scalar()
        if not isinstance(data, bytes | bytearray | memoryview):
            problems.append(f"blob {digest}: its data are not binary")
        elif hash_bytes(bytes(data)) != digest:
            problems.append(f"blob {digest}: its data do not match its hash")
    problems.extend(_frame_file_problems(conn))

    problems.extend(_state_problems(conn, names, schema_hashes, kinds))

    snapshot_keys = set(conn.execute(select(m.snapshots.c.run_id,
                                            m.snapshots.c.snapshot_id)).all())
    for run_id, seq, snapshot_id in conn.execute(
            select(m.restores.c.run_id, m.restores.c.seq, m.restores.c.snapshot_id)):
        if (run_id, snapshot_id) not in snapshot_keys:
            problems.append(f"{where('restore', run_id, seq)}: snapshot {snapshot_id} is not "
                            "in the run")

    tables = set(inspect(conn).get_table_names())
    materialized = 0
    if "materialized" in tables:
        for (table_name,) in conn.execute(select(m.materialized.c.table_name)):
            materialized += 1
            if table_name not in tables:
                problems.append(f"materialized table {table_name} is recorded but missing; "
                                "run `petsard-status materialize` again")

    if "schema_appearances" in tables:
        problems.extend(_appearance_problems(conn, names))

    def count(table: Any) -> int:
        return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)

    counts = {"runs": len(names), "snapshots": count(m.snapshots), "changes": count(m.changes),
              "timings": count(m.timings), "restores": count(m.restores),
              "schemas": len(schema_hashes), "fields": len(field_hashes), "blobs": len(kinds),
              "materialized": materialized}
    return counts, problems


def _appearance_problems(conn: Connection, names: dict[int, str]) -> list[str]:
    """The evolution's table must say what the schema change records say."""
    derived = appearances.derived_appearances(conn)
    stored = appearances.stored_appearances(conn)
    return [f"run {names.get(run_id, run_id)!r} module {module!r}: schema {digest} first "
            f"appears at change #{seq} but the evolution {verb}; "
            "export the run and import it again to rebuild it"
            for verb, rows in (("does not list it there", derived - stored),
                               ("lists it there", stored - derived))
            for run_id, module, digest, seq in sorted(rows)][:20]


def _state_problems(conn: Connection, names: dict[int, str], schema_hashes: set[str],
                    kinds: dict[str, str]) -> list[str]:
    """What every run head and snapshot state refers to must be stored."""
    problems: list[str] = []

    def where(table: str, run_id: int, seq: int) -> str:
        return f"run {names.get(run_id, run_id)!r} {table} #{seq}"

    states: list[tuple[str, str]] = [
        (f"run {name!r} head", head) for name, head in
        conn.execute(select(m.runs.c.name, m.runs.c.head_json)).all()
    ]
    states.extend(
        (where("snapshot", run_id, seq) + " state", state) for run_id, seq, state in
        conn.execute(select(m.snapshots.c.run_id, m.snapshots.c.seq, m.snapshots.c.state_json)
                     .order_by(m.snapshots.c.run_id, m.snapshots.c.seq)).all()
    )
    trees_checked: dict[str, list[str]] = {}
    for label, state_json in states:
        try:
            state_refs = RunState.from_json(state_json).refs()
        except PetsardStatusError as exc:
            problems.append(f"{label}: {exc}")
            continue
        problems.extend(f"{label}: schema {h} is not in schemas"
                        for h in sorted(state_refs["schemas"]) if h not in schema_hashes)
        for digest in sorted(state_refs["indices"]):
            if kinds.get(digest) != "indices":
                problems.append(f"{label}: train indices blob {digest} is not in blobs")
        for digest in sorted(state_refs["trees"]):
            if kinds.get(digest) != "tree":
                problems.append(f"{label}: result tree {digest} is not in blobs")
                continue
            if digest not in trees_checked:
                trees_checked[digest] = _tree_problems(conn, digest, kinds)
            problems.extend(f"{label}: {p}" for p in trees_checked[digest])

    return problems


def _tree_problems(conn: Connection, digest: str, kinds: dict[str, str]) -> list[str]:
    data = conn.execute(select(m.blobs.c.data).where(m.blobs.c.hash == digest)).scalar()
    if not isinstance(data, bytes | bytearray | memoryview):
        return [f"result tree {digest}: its data are not binary"]
    try:
        frames = tree_frame_refs(bytes(data))
    except PetsardStatusError as exc:
        return [f"result tree {digest}: {exc}"]
    return [f"result tree {digest}: frame {ref} is not in blobs"
            for ref in frames if kinds.get(ref) not in ("frame", FRAME_FILE_KIND)]


def _frame_file_problems(conn: Connection) -> list[str]:
    """Every frame-file row's file exists and reads back to its hash; no file is left over."""
    b = m.blobs.c
    rows = conn.execute(select(b.hash, b.size).where(b.kind == FRAME_FILE_KIND)
                        .order_by(b.hash)).all()
    path = sqlite_path(conn.engine.url) if conn.dialect.name == "sqlite" else None
    if path is None:
        return [f"frame-file blob {digest}: this store keeps no frame files (only a SQLite "
                "file store does)" for digest, _ in rows]
    folder = FrameFolder(frames_folder(path))
    problems = [p for p in (folder.problem(digest, size) for digest, size in rows) if p]
    present, other = folder.listing()
    referenced = {digest for digest, _ in rows}
    problems.extend(f"frame file {folder.file_for(h)} is not referenced by the store (left "
                    "by an interrupted write or a removal); `petsard-status db vacuum` "
                    "removes it" for h in sorted(present - referenced))
    problems.extend(f"{p} is not a frame file of the store; `petsard-status db vacuum` "
                    "removes it" if p.name.endswith(".partial") else
                    f"{p} in the frame folder is not a frame file; move it elsewhere"
                    for p in other)
    return problems
