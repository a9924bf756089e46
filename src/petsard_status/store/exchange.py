"""Moving a run between stores: a self-contained JSON export, and CSV files for people.

:func:`export_run` gathers a run's row, its whole history (snapshots with their
states, changes, timings, restores) and every schema, field and blob those rows
reference into one versioned document.  :func:`import_run` writes such a
document into any store, under the same or a new name, in one transaction.

An export file may come from anywhere, so the importer trusts nothing in it:
the document's shape is checked strictly, every schema, field and blob must hash
to the address it claims, every document must decode, and every reference
between rows must resolve inside the document.  Anything wrong raises one of
the package's errors and writes nothing.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from petsard_status.config import Config
from petsard_status.errors import (
    CorruptDataError,
    PetsardStatusError,
    RunExistsError,
    UnknownFormatError,
)
from petsard_status.metadata import codec
from petsard_status.metadata.types import FieldMetadata, SchemaMetadata
from petsard_status.status.state import RunState
from petsard_status.store import models as m
from petsard_status.store.frames import decode_frame
from petsard_status.store.results import hash_bytes, tree_frame_refs
from petsard_status.store.store import Store
from petsard_status.store.translate import translate

EXPORT_FORMAT = "petsard-status/export"
EXPORT_VERSION = 1
RUN_STATES = ("running", "completed", "failed", "interrupted")
BLOB_KINDS = ("frame", "tree", "indices")

_HASH = re.compile(r"^[0-9a-f]{32}$")

# Column -> kind, per exported row type; the kinds are checked on import.
_RUN = {
    "name": "name", "state": "state", "config_json": "text", "head_json": "text",
    "info_json": "text", "error": "text?", "failed_step": "text?", "created_at": "time",
    "updated_at": "time", "finished_at": "time?",
}
_SNAPSHOT = {
    "seq": "int", "snapshot_id": "id", "module": "module", "experiment": "text",
    "timestamp": "time", "schema_before": "hash?", "schema_after": "hash?",
    "context_json": "text", "state_json": "text",
}
_CHANGE = {
    "seq": "int", "change_id": "id", "snapshot_seq": "int0", "change_type": "change_type",
    "target_type": "target_type", "target_id": "text", "module": "module",
    "experiment": "text", "module_context": "text", "timestamp": "time",
    "before_schema": "hash?", "after_schema": "hash?", "before_field": "hash?",
    "after_field": "hash?", "attributes": "text?",
}
_TIMING = {
    "seq": "int", "record_id": "id", "module": "module", "experiment": "text", "step": "text",
    "start_time": "time", "end_time": "time?", "duration_seconds": "float?",
    "context_json": "text",
}
_RESTORE = {"seq": "int", "snapshot_id": "id", "after_snapshot_seq": "int0", "timestamp": "time"}
_TOP = ("format", "version", "exported_at", "package_version", "run", "snapshots", "changes",
        "timings", "restores", "schemas", "fields", "blobs")


# --- export ------------------------------------------------------------------------------



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
    from petsard_status import __version__

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
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": dt.datetime.now().isoformat(),
        "package_version": __version__,
        **parts,
    }


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
        select(*(m.runs.c[name] for name in _RUN)).where(m.runs.c.id == run_id)
    ).one()
    run = {name: _out(value) for name, value in zip(_RUN, run_row)}
    snapshots = _rows(conn, m.snapshots, run_id, _SNAPSHOT)
    changes = _rows(conn, m.changes, run_id, _CHANGE)
    timings = _rows(conn, m.timings, run_id, _TIMING)
    restores = _rows(conn, m.restores, run_id, _RESTORE)

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
        refs = state_refs(RunState.from_json(text))
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
    blobs: dict[str, dict[str, str]] = {}
    for digest in sorted(tree_refs):
        data = store.load_blob(digest, conn)
        blobs[digest] = {"kind": "tree", "data": _b64(data)}
        other_blobs.update(tree_frame_refs(data))
    for digest in sorted(other_blobs - tree_refs):
        kind = conn.execute(select(m.blobs.c.kind).where(m.blobs.c.hash == digest)).scalar()
        blobs[digest] = {"kind": kind, "data": _b64(store.load_blob(digest, conn))}
    return {"run": run, "snapshots": snapshots, "changes": changes, "timings": timings,
            "restores": restores, "schemas": schemas, "fields": fields, "blobs": blobs}


def state_refs(state: RunState) -> dict[str, set[str]]:
    """What a run state points at: schema hashes, result trees, train-index blobs."""
    trees = {e.result_ref for _, e in state.active if e.result_ref}
    trees.update(ref for _, ref in state.report)
    return {
        "schemas": {h for _, h in state.metadata},
        "trees": trees,
        "indices": {state.train_indices} if state.train_indices else set(),
    }


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def write_export(doc: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write an export document as a JSON file (UTF-8)."""
    target = Path(path)
    with target.open("w", encoding="utf-8") as handle:
        json.dump(doc, handle, ensure_ascii=False, allow_nan=False, indent=1)
        handle.write("\n")
    return target


def read_export(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read an export file; a file that is not one raises CorruptDataError."""
    source = Path(path)
    try:
        with source.open("rb") as handle:
            doc = json.loads(handle.read(), parse_constant=_reject_constant)
    except OSError as exc:
        raise CorruptDataError(f"cannot read {source}: {exc.strerror or exc}") from exc
    except (ValueError, RecursionError) as exc:
        raise CorruptDataError(
            f"{source} is not a petsard-status export (not valid JSON: {exc})"
        ) from exc
    if not isinstance(doc, dict) or doc.get("format") != EXPORT_FORMAT:
        raise UnknownFormatError(
            f"{source} is not a petsard-status export (no \"format\": \"{EXPORT_FORMAT}\"); "
            "make one with `petsard-status export RUN`"
        )
    return doc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


# --- import ------------------------------------------------------------------------------


class _Bad(Exception):
    """A problem in the document; becomes a CorruptDataError naming where it is."""


def import_run(store: Store, doc: Mapping[str, Any], name: str | None = None) -> str:
    """Write an exported run into ``store``, as ``name`` (default: its own); return the name.

    The document is validated completely before anything is written, and
    everything is written in one transaction.  Raises RunExistsError if the
    store already has a run of that name, UnknownFormatError for a document of
    another format or version, and CorruptDataError for anything malformed.
    """
    try:
        plan = _validate(store, doc, name)
    except _Bad as exc:
        raise CorruptDataError(f"the export document is invalid: {exc}") from None
    new_name = plan["run"]["name"]
    if new_name in store.run_names():
        raise RunExistsError(
            f"a run named {new_name!r} is already in {store.location}; import it under "
            "another name (petsard-status import FILE --run NEW_NAME)"
        )
    fresh: set[str] = set()

    def work(conn: Connection) -> None:
        if plan["fields"]:
            conn.execute(store._insert_ignore(m.fields), plan["fields"])
        if plan["schemas"]:
            conn.execute(store._insert_ignore(m.schemas), plan["schemas"])
        for row in plan["blobs"]:
            conn.execute(store._insert_ignore(m.blobs), [row])
        fresh.update(r["hash"] for r in [*plan["fields"], *plan["schemas"], *plan["blobs"]])
        run_id = conn.execute(insert(m.runs).values(**plan["run"])).inserted_primary_key[0]
        for table, rows in ((m.snapshots, plan["snapshots"]), (m.changes, plan["changes"]),
                            (m.timings, plan["timings"]), (m.restores, plan["restores"])):
            if rows:
                conn.execute(insert(table), [{**row, "run_id": run_id} for row in rows])

    try:
        store.write(work)
    except IntegrityError as exc:
        # Another process created a run of this name between the check and the write.
        raise RunExistsError(
            f"could not import run {new_name!r} into {store.location}: {exc.orig}"
        ) from exc
    store.committed(fresh)
    return new_name


def _validate(store: Store, doc: Any, name: str | None) -> dict[str, Any]:
    if not isinstance(doc, Mapping):
        raise _Bad(f"expected a JSON object, got {type(doc).__name__}")
    if doc.get("format") != EXPORT_FORMAT:
        raise UnknownFormatError(
            f"not a petsard-status export (format {doc.get('format')!r}, expected "
            f"{EXPORT_FORMAT!r})"
        )
    if doc.get("version") != EXPORT_VERSION:
        raise UnknownFormatError(
            f"the export has version {doc.get('version')!r}; this package reads version "
            f"{EXPORT_VERSION}: upgrade petsard-status to import it"
        )
    _exact_keys(doc, _TOP, "the document")
    for key in ("exported_at", "package_version"):
        if not isinstance(doc[key], str):
            raise _Bad(f"{key} must be a string")

    run = _row(doc["run"], _RUN, "run")
    if name is not None:
        run["name"] = _check("name", name, "the new run name")
    try:
        Config(store.run_config(SimpleNamespace(config_json=run["config_json"],
                                                name=run["name"])))
        codec.loads_value(run["info_json"])
        head = RunState.from_json(run["head_json"])
    except PetsardStatusError as exc:
        raise _Bad(f"run: {exc}") from None

    fields = _documents(doc["fields"], "fields", _field_row)
    schemas = _documents(doc["schemas"], "schemas", _schema_row)
    for digest, row in schemas.items():
        for ref in codec.shell_field_refs(row["doc"]):
            if ref not in fields:
                raise _Bad(f"schemas[{digest}] refers to field {ref}, which is not in fields")
    blobs = _blobs(doc["blobs"])

    snapshots = _section(doc, "snapshots", _SNAPSHOT)
    changes = _section(doc, "changes", _CHANGE)
    timings = _section(doc, "timings", _TIMING)
    restores = _section(doc, "restores", _RESTORE)
    _unique(snapshots, "snapshot_id", "snapshots")
    seqs = {row["seq"] for row in snapshots}
    snapshot_ids = {row["snapshot_id"] for row in snapshots}

    def need(kind: str, digest: str | None, where: str, table: Mapping[str, Any]) -> None:
        if digest is not None and digest not in table:
            raise _Bad(f"{where} refers to {kind} {digest}, which is not in the document")

    def need_blob(digest: str, kind: str, where: str) -> None:
        need("blob", digest, where, blobs)
        if blobs[digest]["kind"] != kind:
            raise _Bad(f"{where} refers to blob {digest} as a {kind}, but it is a "
                       f"{blobs[digest]['kind']}")

    states = [("run.head_json", head)]
    for i, row in enumerate(snapshots):
        where = f"snapshots[{i}]"
        need("schema", row["schema_before"], where, schemas)
        need("schema", row["schema_after"], where, schemas)
        try:
            codec.loads_value(row["context_json"])
            states.append((where, RunState.from_json(row["state_json"])))
        except PetsardStatusError as exc:
            raise _Bad(f"{where}: {exc}") from None
    for where, state in states:
        refs = state_refs(state)
        for digest in refs["schemas"]:
            need("schema", digest, where, schemas)
        for digest in refs["trees"]:
            need_blob(digest, "tree", where)
        for digest in refs["indices"]:
            need_blob(digest, "indices", where)
        for module, entry in state.active:
            if entry.snapshot_seq not in seqs:
                raise _Bad(f"{where}: {module} is active from snapshot {entry.snapshot_seq}, "
                           "which is not in snapshots")
    for digest, blob in blobs.items():
        if blob["kind"] == "tree":
            for ref in blob["frames"]:
                need_blob(ref, "frame", f"blobs[{digest}]")
    for i, row in enumerate(changes):
        where = f"changes[{i}]"
        for key in ("before_schema", "after_schema"):
            need("schema", row[key], where, schemas)
        for key in ("before_field", "after_field"):
            need("field", row[key], where, fields)
        if row["snapshot_seq"] and row["snapshot_seq"] not in seqs:
            raise _Bad(f"{where}: snapshot_seq {row['snapshot_seq']} is not in snapshots")
        if row["attributes"] is not None:
            try:
                attributes = json.loads(row["attributes"])
            except ValueError:
                attributes = None
            if not (isinstance(attributes, list) and all(isinstance(a, str) for a in attributes)):
                raise _Bad(f"{where}.attributes must be a JSON list of strings")
    for i, row in enumerate(timings):
        try:
            codec.loads_value(row["context_json"])
        except PetsardStatusError as exc:
            raise _Bad(f"timings[{i}]: {exc}") from None
    for i, row in enumerate(restores):
        if row["snapshot_id"] not in snapshot_ids:
            raise _Bad(f"restores[{i}] restores {row['snapshot_id']!r}, which is not in snapshots")

    return {
        "run": run,
        "snapshots": snapshots,
        "changes": changes,
        "timings": timings,
        "restores": restores,
        "fields": list(fields.values()),
        "schemas": list(schemas.values()),
        "blobs": [{k: v for k, v in b.items() if k != "frames"} for b in blobs.values()],
    }


def _exact_keys(value: Mapping[str, Any], keys: Iterable[str], where: str) -> None:
    wanted = set(keys)
    missing = sorted(wanted - set(value))
    extra = sorted(set(value) - wanted)
    if missing:
        raise _Bad(f"{where} lacks {', '.join(missing)}")
    if extra:
        raise _Bad(f"{where} has unexpected keys {', '.join(map(str, extra[:5]))}")


def _check(kind: str, value: Any, where: str) -> Any:
    """One value of a row, checked against its kind (a trailing ``?`` allows null)."""
    if kind.endswith("?"):
        if value is None:
            return None
        kind = kind[:-1]
    if kind in ("int", "int0"):
        if not isinstance(value, int) or isinstance(value, bool) or value < (
                1 if kind == "int" else 0) or value > 2**31 - 1:
            raise _Bad(f"{where} must be a {'positive' if kind == 'int' else 'non-negative'} "
                       "integer")
        return value
    if kind == "float":
        if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(
                value):
            raise _Bad(f"{where} must be a finite number")
        return float(value)
    if kind == "time":
        if not isinstance(value, str):
            raise _Bad(f"{where} must be an ISO 8601 date and time")
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise _Bad(f"{where} is not an ISO 8601 date and time: {value[:40]!r}") from None
        if parsed.tzinfo is not None:
            raise _Bad(f"{where} must be a local time without a UTC offset")
        return parsed
    if not isinstance(value, str):
        raise _Bad(f"{where} must be a string")
    limits = {"name": 200, "id": 64, "module": 100, "hash": 32}
    if kind in limits and not 0 < len(value) <= limits[kind]:
        raise _Bad(f"{where} must be 1 to {limits[kind]} characters long")
    if kind == "hash" and not _HASH.match(value):
        raise _Bad(f"{where} is not a content hash (32 lowercase hex digits)")
    choices = {"state": RUN_STATES, "change_type": ("create", "update", "delete"),
               "target_type": ("schema", "field")}
    if kind in choices and value not in choices[kind]:
        raise _Bad(f"{where} must be one of {', '.join(choices[kind])}, not {value[:40]!r}")
    if "\x00" in value:
        raise _Bad(f"{where} contains a NUL character")
    return value


def _row(value: Any, columns: Mapping[str, str], where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _Bad(f"{where} must be an object")
    _exact_keys(value, columns, where)
    return {key: _check(kind, value[key], f"{where}.{key}") for key, kind in columns.items()}


def _section(doc: Mapping[str, Any], key: str, columns: Mapping[str, str]) -> list[dict]:
    rows = doc[key]
    if not isinstance(rows, list):
        raise _Bad(f"{key} must be a list")
    out = [_row(row, columns, f"{key}[{i}]") for i, row in enumerate(rows)]
    _unique(out, "seq", key)
    return out


def _unique(rows: list[dict], key: str, where: str) -> None:
    seen: set[Any] = set()
    for row in rows:
        if row[key] in seen:
            raise _Bad(f"{where} holds {key} {row[key]!r} twice")
        seen.add(row[key])


def _documents(value: Any, where: str, build: Callable[[str, str], dict]) -> dict[str, dict]:
    if not isinstance(value, Mapping):
        raise _Bad(f"{where} must be an object keyed by content hash")
    out = {}
    for digest, item in value.items():
        label = f"{where}[{str(digest)[:40]}]"
        _check("hash", digest, label)
        if not isinstance(item, Mapping):
            raise _Bad(f"{label} must be an object")
        _exact_keys(item, ("doc",), label)
        doc = _check("text", item["doc"], f"{label}.doc")
        if codec.content_hash(doc) != digest:
            raise _Bad(f"{label}: the document does not hash to its address (altered?)")
        try:
            out[digest] = build(digest, doc)
        except PetsardStatusError as exc:
            raise _Bad(f"{label}: {exc}") from None
    return out


def _field_row(digest: str, doc: str) -> dict[str, Any]:
    f = codec.from_json(doc, FieldMetadata)
    assert isinstance(f, FieldMetadata)
    return {"hash": digest, "name": f.name, "data_type": f.data_type.value, "doc": doc}


def _schema_row(digest: str, doc: str) -> dict[str, Any]:
    refs = codec.shell_field_refs(doc)
    placeholder = [FieldMetadata(name=f"f{i}", data_type="string") for i in range(len(refs))]
    schema = codec.schema_from_shell(doc, placeholder)
    assert isinstance(schema, SchemaMetadata)
    return {"hash": digest, "schema_id": schema.schema_id, "name": schema.name,
            "field_count": len(refs), "doc": doc}


def _blobs(value: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(value, Mapping):
        raise _Bad("blobs must be an object keyed by content hash")
    out = {}
    for digest, item in value.items():
        label = f"blobs[{str(digest)[:40]}]"
        _check("hash", digest, label)
        if not isinstance(item, Mapping):
            raise _Bad(f"{label} must be an object")
        _exact_keys(item, ("kind", "data"), label)
        kind = item["kind"]
        if kind not in BLOB_KINDS:
            raise _Bad(f"{label}.kind must be one of {', '.join(BLOB_KINDS)}")
        if not isinstance(item["data"], str):
            raise _Bad(f"{label}.data must be base64 text")
        try:
            data = base64.b64decode(item["data"], validate=True)
        except (binascii.Error, ValueError):
            raise _Bad(f"{label}.data is not valid base64") from None
        if hash_bytes(data) != digest:
            raise _Bad(f"{label}: the data do not hash to its address (altered?)")
        frames: list[str] = []
        try:
            if kind == "tree":
                frames = tree_frame_refs(data)
            elif kind == "frame":
                decode_frame(data)
            else:
                from petsard_status.status.state import decode_indices

                decode_indices(data)
        except PetsardStatusError as exc:
            raise _Bad(f"{label}: {exc}") from None
        out[digest] = {"hash": digest, "kind": kind, "size": len(data), "data": data,
                       "frames": frames}
    return out
