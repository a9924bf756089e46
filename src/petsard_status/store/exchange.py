"""Moving a run between stores: gather a run into an export document, write one back.

:func:`export_run` gathers a run's row, its whole history (snapshots with their
states, changes, timings, restores) and every schema, field and blob those rows
reference into one document (its format: ``formats/_export.py``).
:func:`import_run` validates such a document completely, then writes it into
any store, under the same or a new name, in one transaction.

A frame kept as a file travels as a ``frame`` blob (its bytes are those of
``encode_frame``); an import into a SQLite file store writes the frames above
the store's threshold as files again, before its transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from petsard_status import formats as codec
from petsard_status.errors import CorruptDataError, RunExistsError
from petsard_status.formats import (
    CHANGE_COLUMNS,
    RESTORE_COLUMNS,
    RUN_COLUMNS,
    SNAPSHOT_COLUMNS,
    TIMING_COLUMNS,
    RunState,
    encode_blob,
    export_document,
    frame_cells,
    tree_frame_refs,
    validate_export,
)
from petsard_status.store import appearances
from petsard_status.store import models as m
from petsard_status.store.frame_files import FRAME_FILE_KIND, FrameWrites
from petsard_status.store.runs import inserted_id
from petsard_status.store.store import DocumentWriter, Store
from petsard_status.store.translate import translate

__all__ = ["export_run", "import_run"]


def _stored_doc(conn: Connection, table: Any, what: str, digest: str) -> str:
    doc = conn.execute(select(table.c.doc).where(table.c.hash == digest)).scalar()
    if doc is None:
        raise CorruptDataError(f"the run refers to {what} {digest} but the store does not "
                               "hold it; run `petsard-status db check`")
    return doc


def export_run(store: Store, run: str) -> dict[str, Any]:
    """The whole of ``run`` as one JSON-able document (see :func:`import_run`).

    Read in one transaction (a repeatable-read snapshot on PostgreSQL), so a run
    that is being written exports as it was at one moment.
    """
    from petsard_status._version import __version__

    row = store.run_row(run)
    conn = store.engine.connect()
    try:
        if store.dialect == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            parts = _gather(store, conn, row.id)
    except SQLAlchemyError as exc:
        raise translate(exc, store.engine) from exc
    finally:
        conn.close()
    return export_document(parts, __version__)


def _rows(conn: Connection, table: Any, run_id: int, columns: Mapping[str, str]) -> list[dict]:
    query = select(*(table.c[name] for name in columns)).where(table.c.run_id == run_id)
    return [
        {name: _out(value) for name, value in zip(columns, row)}
        for row in conn.execute(query.order_by(table.c.seq))
    ]


def _out(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


def _gather(store: Store, conn: Connection, run_id: int) -> dict[str, Any]:
    run_row = conn.execute(
        select(*(m.runs.c[name] for name in RUN_COLUMNS)).where(m.runs.c.id == run_id)
    ).one()
    run = {name: _out(value) for name, value in zip(RUN_COLUMNS, run_row)}
    snapshots = _rows(conn, m.snapshots, run_id, SNAPSHOT_COLUMNS)
    changes = _rows(conn, m.changes, run_id, CHANGE_COLUMNS)
    timings = _rows(conn, m.timings, run_id, TIMING_COLUMNS)
    restores = _rows(conn, m.restores, run_id, RESTORE_COLUMNS)

    schema_refs: set[str] = set()
    field_refs: set[str] = set()
    tree_refs: set[str] = set()
    other_blobs: set[str] = set()
    for snap in snapshots:
        schema_refs.update(h for h in (snap["schema_before"], snap["schema_after"]) if h)
    for change in changes:
        schema_refs.update(h for h in (change["before_schema"], change["after_schema"]) if h)
        field_refs.update(h for h in (change["before_field"], change["after_field"]) if h)
    for text in [run["head_json"], *(s["state_json"] for s in snapshots)]:
        refs = RunState.from_json(text).refs()
        schema_refs.update(refs["schemas"])
        tree_refs.update(refs["trees"])
        other_blobs.update(refs["indices"])

    schemas: dict[str, dict[str, str]] = {}
    for digest in sorted(schema_refs):
        doc = _stored_doc(conn, m.schemas, "schema", digest)
        schemas[digest] = {"doc": doc}
        field_refs.update(codec.shell_field_refs(doc))
    fields = {
        digest: {"doc": _stored_doc(conn, m.fields, "field", digest)}
        for digest in sorted(field_refs)
    }
    blobs: dict[str, dict[str, Any]] = {}
    for digest in sorted(tree_refs):
        data = store.load_blob(digest, conn)
        blobs[digest] = {"kind": "tree", "data": encode_blob(data)}
        other_blobs.update(tree_frame_refs(data))
    for digest in sorted(other_blobs - tree_refs):
        kind = conn.execute(select(m.blobs.c.kind).where(m.blobs.c.hash == digest)).scalar()
        if kind == FRAME_FILE_KIND:
            kind = "frame"
        blobs[digest] = {"kind": kind, "data": encode_blob(store.load_blob(digest, conn))}
    return {"run": run, "snapshots": snapshots, "changes": changes, "timings": timings,
            "restores": restores, "schemas": schemas, "fields": fields, "blobs": blobs}


def import_run(store: Store, doc: Mapping[str, Any], name: str | None = None) -> str:
    """Write an exported run into ``store``, as ``name`` (default: its own); return the name.

    The document is validated completely before anything is written, and
    everything is written in one transaction.  Raises RunExistsError if the
    store already has a run of that name, UnknownFormatError for a document of
    another format or version, and CorruptDataError for anything malformed.
    """
    plan = validate_export(doc, name)
    new_name = plan["run"]["name"]
    if new_name in store.run_names():
        raise RunExistsError(
            f"a run named {new_name!r} is already in {store.location}; import it under "
            "another name (petsard-status import FILE --run NEW_NAME)"
        )

    with store.frame_writes() as writes:
        files = _write_frame_files(store, writes, plan["blobs"])
        _import_rows(store, plan, new_name, files)
    return new_name


def _write_frame_files(store: Store, writes: FrameWrites | None,
                       blobs: list[dict[str, Any]]) -> dict[str, int]:
    """The large frames of an export written as the store's files: hash -> size."""
    if writes is None:
        return {}
    files: dict[str, int] = {}
    for row in blobs:
        if row["kind"] == "frame" and frame_cells(row["data"]) > store.frame_file_cells:
            writes.write_bytes(row["hash"], row["data"])
            files[row["hash"]] = row["size"]
    return files


def _import_rows(store: Store, plan: dict[str, Any], new_name: str,
                 files: dict[str, int]) -> None:
    def work(docs: DocumentWriter) -> None:
        conn = docs.conn
        docs.rows(m.fields, plan["fields"])
        docs.rows(m.schemas, plan["schemas"])
        docs.frame_files(files)
        for row in plan["blobs"]:
            if row["hash"] not in files:
                docs.rows(m.blobs, [row])  # one by one: a large export holds large blobs
        run_id = inserted_id(conn.execute(insert(m.runs).values(**plan["run"])))
        for table, rows in ((m.snapshots, plan["snapshots"]), (m.changes, plan["changes"]),
                            (m.timings, plan["timings"]), (m.restores, plan["restores"])):
            if rows:
                conn.execute(insert(table), [{**row, "run_id": run_id} for row in rows])
        appearances.record_appearances(conn, run_id, sorted(plan["changes"],
                                                            key=lambda c: c["seq"]))

    try:
        store.write_documents(work)
    except IntegrityError as exc:
        # Another process created a run of this name between the check and the write.
        raise RunExistsError(
            f"could not import run {new_name!r} into {store.location}: {exc.orig}"
        ) from exc


