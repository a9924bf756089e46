"""The export document: one run with everything it refers to, as versioned JSON.

Shape::

    {"format": "petsard-status/export", "version": 1, "exported_at": ..., "package_version": ...,
     "run": {...}, "snapshots": [...], "changes": [...], "timings": [...], "restores": [...],
     "schemas": {HASH: {"doc": ...}}, "fields": {HASH: {"doc": ...}},
     "blobs": {HASH: {"kind": "frame" | "tree" | "indices", "data": BASE64}}}

An export file may come from anywhere, so :func:`validate_export` trusts nothing
in it: the shape is checked strictly, every schema, field and blob must hash to
the address it claims, every document must decode, and every reference between
rows must resolve inside the document.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from petsard_status.config import Config
from petsard_status.errors import CorruptDataError, PetsardStatusError, UnknownFormatError
from petsard_status.formats._common import hash_bytes, strict_loads, write_file_atomically
from petsard_status.formats._metadata import (
    content_hash,
    from_json,
    loads_value,
    schema_from_shell,
    shell_field_refs,
)
from petsard_status.formats._state import RunState, decode_indices
from petsard_status.metadata.types import DataType, FieldMetadata, SchemaMetadata

__all__ = [
    "BLOB_KINDS",
    "CHANGE_COLUMNS",
    "EXPORT_FORMAT",
    "EXPORT_VERSION",
    "RESTORE_COLUMNS",
    "RUN_COLUMNS",
    "RUN_STATES",
    "SNAPSHOT_COLUMNS",
    "TIMING_COLUMNS",
    "decode_config",
    "encode_blob",
    "export_document",
    "read_export",
    "validate_export",
    "write_export",
]

EXPORT_FORMAT = "petsard-status/export"
EXPORT_VERSION = 1
RUN_STATES = ("running", "completed", "failed", "interrupted")
BLOB_KINDS = ("frame", "tree", "indices")

_HASH = re.compile(r"^[0-9a-f]{32}$")

# Column -> kind, per exported row type; the kinds are checked on import.
RUN_COLUMNS = {
    "name": "name", "state": "state", "config_json": "text", "head_json": "text",
    "info_json": "text", "error": "text?", "failed_step": "text?", "created_at": "time",
    "updated_at": "time", "finished_at": "time?",
}
SNAPSHOT_COLUMNS = {
    "seq": "int", "snapshot_id": "id", "module": "module", "experiment": "text",
    "timestamp": "time", "schema_before": "hash?", "schema_after": "hash?",
    "context_json": "text", "state_json": "text",
}
CHANGE_COLUMNS = {
    "seq": "int", "change_id": "id", "snapshot_seq": "int0", "change_type": "change_type",
    "target_type": "target_type", "target_id": "text", "module": "module",
    "experiment": "text", "module_context": "text", "timestamp": "time",
    "before_schema": "hash?", "after_schema": "hash?", "before_field": "hash?",
    "after_field": "hash?", "attributes": "text?",
}
TIMING_COLUMNS = {
    "seq": "int", "record_id": "id", "module": "module", "experiment": "text", "step": "text",
    "start_time": "time", "end_time": "time?", "duration_seconds": "float?",
    "context_json": "text",
}
RESTORE_COLUMNS = {
    "seq": "int", "snapshot_id": "id", "after_snapshot_seq": "int0", "timestamp": "time",
}
TOP_KEYS = ("format", "version", "exported_at", "package_version", "run", "snapshots",
            "changes", "timings", "restores", "schemas", "fields", "blobs")


def export_document(parts: Mapping[str, Any], package_version: str) -> dict[str, Any]:
    """Wrap a run's gathered rows and documents in the export envelope."""
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": dt.datetime.now().isoformat(),
        "package_version": package_version,
        **parts,
    }


def encode_blob(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def decode_config(text: str, run: str) -> dict[str, Any]:
    """A run's stored config document (plain JSON, in the config's module order)."""
    config = strict_loads(text, what=f"run {run!r} has an unreadable config",
                          error=CorruptDataError)
    if not isinstance(config, dict):
        raise CorruptDataError(f"run {run!r} has a config that is not a mapping")
    return config


def write_export(doc: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write an export document as a JSON file (UTF-8)."""
    target = Path(path)
    text = json.dumps(doc, ensure_ascii=False, allow_nan=False, indent=1) + "\n"
    write_file_atomically(target, text.encode("utf-8"))
    return target


def read_export(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read an export file; a file that is not one raises CorruptDataError."""
    source = Path(path)
    try:
        raw = source.read_bytes()
    except OSError as exc:
        raise CorruptDataError(f"cannot read {source}: {exc.strerror or exc}") from exc
    doc = strict_loads(raw, what=f"{source} is not a petsard-status export", error=CorruptDataError)
    if not isinstance(doc, dict) or doc.get("format") != EXPORT_FORMAT:
        raise UnknownFormatError(
            f"{source} is not a petsard-status export (no \"format\": \"{EXPORT_FORMAT}\"); "
            "make one with `petsard-status export RUN`"
        )
    return doc


# --- validation of an imported document


class _Bad(Exception):
    """A problem in the document; becomes a CorruptDataError naming where it is."""


def validate_export(doc: Any, name: str | None = None) -> dict[str, Any]:
    """Check an export document completely; return the rows to insert, by table.

    Raises UnknownFormatError for another format or version and CorruptDataError
    naming the first problem for anything else.
    """
    try:
        return _validate(doc, name)
    except _Bad as exc:
        raise CorruptDataError(f"the export document is invalid: {exc}") from None


def _validate(doc: Any, name: str | None) -> dict[str, Any]:
    _check_envelope(doc)
    run, head = _run_row(doc["run"], name)
    parts = _Parts(
        fields=_documents(doc["fields"], "fields", _field_row),
        schemas=_documents(doc["schemas"], "schemas", _schema_row),
        blobs=_blobs(doc["blobs"]),
        snapshots=_section(doc, "snapshots", SNAPSHOT_COLUMNS),
        changes=_section(doc, "changes", CHANGE_COLUMNS),
        timings=_section(doc, "timings", TIMING_COLUMNS),
        restores=_section(doc, "restores", RESTORE_COLUMNS),
    )
    parts.check_references(head)
    return {
        "run": run,
        "snapshots": parts.snapshots,
        "changes": parts.changes,
        "timings": parts.timings,
        "restores": parts.restores,
        "fields": list(parts.fields.values()),
        "schemas": list(parts.schemas.values()),
        "blobs": [{k: v for k, v in b.items() if k != "frames"} for b in parts.blobs.values()],
    }


def _check_envelope(doc: Any) -> None:
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
    _exact_keys(doc, TOP_KEYS, "the document")
    for key in ("exported_at", "package_version"):
        if not isinstance(doc[key], str):
            raise _Bad(f"{key} must be a string")


def _run_row(value: Any, name: str | None) -> tuple[dict[str, Any], RunState]:
    run = _row(value, RUN_COLUMNS, "run")
    if name is not None:
        run["name"] = _check("name", name, "the new run name")
    try:
        Config(decode_config(run["config_json"], run["name"]))
        loads_value(run["info_json"])
        head = RunState.from_json(run["head_json"])
    except PetsardStatusError as exc:
        raise _Bad(f"run: {exc}") from None
    return run, head


@dataclass
class _Parts:
    """The checked sections of a document, and the references between them."""

    fields: dict[str, dict]
    schemas: dict[str, dict]
    blobs: dict[str, dict[str, Any]]
    snapshots: list[dict]
    changes: list[dict]
    timings: list[dict]
    restores: list[dict]

    def need(self, kind: str, digest: str | None, where: str) -> None:
        table = {"schema": self.schemas, "field": self.fields, "blob": self.blobs}[kind]
        if digest is not None and digest not in table:
            raise _Bad(f"{where} refers to {kind} {digest}, which is not in the document")

    def need_blob(self, digest: str, kind: str, where: str) -> None:
        self.need("blob", digest, where)
        if self.blobs[digest]["kind"] != kind:
            raise _Bad(f"{where} refers to blob {digest} as a {kind}, but it is a "
                       f"{self.blobs[digest]['kind']}")

    def check_references(self, head: RunState) -> None:
        for digest, row in self.schemas.items():
            for ref in shell_field_refs(row["doc"]):
                self.need("field", ref, f"schemas[{digest}]")
        for digest, blob in self.blobs.items():
            for ref in blob["frames"]:
                self.need_blob(ref, "frame", f"blobs[{digest}]")
        _unique(self.snapshots, "snapshot_id", "snapshots")
        seqs = {row["seq"] for row in self.snapshots}
        for where, state in [("run.head_json", head), *self._snapshot_states()]:
            self._check_state(where, state, seqs)
        self._check_changes(seqs)
        for i, row in enumerate(self.timings):
            try:
                loads_value(row["context_json"])
            except PetsardStatusError as exc:
                raise _Bad(f"timings[{i}]: {exc}") from None
        snapshot_ids = {row["snapshot_id"] for row in self.snapshots}
        for i, row in enumerate(self.restores):
            if row["snapshot_id"] not in snapshot_ids:
                raise _Bad(f"restores[{i}] restores {row['snapshot_id']!r}, which is not in "
                           "snapshots")

    def _snapshot_states(self) -> list[tuple[str, RunState]]:
        states = []
        for i, row in enumerate(self.snapshots):
            where = f"snapshots[{i}]"
            self.need("schema", row["schema_before"], where)
            self.need("schema", row["schema_after"], where)
            try:
                loads_value(row["context_json"])
                states.append((where, RunState.from_json(row["state_json"])))
            except PetsardStatusError as exc:
                raise _Bad(f"{where}: {exc}") from None
        return states

    def _check_state(self, where: str, state: RunState, seqs: set[int]) -> None:
        refs = state.refs()
        for digest in refs["schemas"]:
            self.need("schema", digest, where)
        for digest in refs["trees"]:
            self.need_blob(digest, "tree", where)
        for digest in refs["indices"]:
            self.need_blob(digest, "indices", where)
        for module, entry in state.active:
            if entry.snapshot_seq not in seqs:
                raise _Bad(f"{where}: {module} is active from snapshot {entry.snapshot_seq}, "
                           "which is not in snapshots")

    def _check_changes(self, seqs: set[int]) -> None:
        for i, row in enumerate(self.changes):
            where = f"changes[{i}]"
            for key in ("before_schema", "after_schema"):
                self.need("schema", row[key], where)
            for key in ("before_field", "after_field"):
                self.need("field", row[key], where)
            if row["snapshot_seq"] and row["snapshot_seq"] not in seqs:
                raise _Bad(f"{where}: snapshot_seq {row['snapshot_seq']} is not in snapshots")
            if row["attributes"] is not None:
                try:
                    attributes = strict_loads(row["attributes"], what=where, error=_Bad)
                except _Bad:
                    attributes = None
                if not (isinstance(attributes, list)
                        and all(isinstance(a, str) for a in attributes)):
                    raise _Bad(f"{where}.attributes must be a JSON list of strings")


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
        if content_hash(doc) != digest:
            raise _Bad(f"{label}: the document does not hash to its address (altered?)")
        try:
            out[digest] = build(digest, doc)
        except PetsardStatusError as exc:
            raise _Bad(f"{label}: {exc}") from None
    return out


def _field_row(digest: str, doc: str) -> dict[str, Any]:
    f = from_json(doc, FieldMetadata)
    assert isinstance(f, FieldMetadata)
    return {"hash": digest, "name": f.name, "data_type": f.data_type.value, "doc": doc}


def _schema_row(digest: str, doc: str) -> dict[str, Any]:
    refs = shell_field_refs(doc)
    placeholder = [FieldMetadata(name=f"f{i}", data_type=DataType.STRING) for i in range(len(refs))]
    schema = schema_from_shell(doc, placeholder)
    assert isinstance(schema, SchemaMetadata)
    return {"hash": digest, "schema_id": schema.schema_id, "name": schema.name,
            "field_count": len(refs), "doc": doc}


def _blobs(value: Any) -> dict[str, dict[str, Any]]:
    # The frame codec needs pandas and pyarrow; reading a stored config through
    # decode_config, as every command does, should not load them.
    from petsard_status.formats._frames import decode_frame
    from petsard_status.formats._results import tree_frame_refs

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
                decode_indices(data)
        except PetsardStatusError as exc:
            raise _Bad(f"{label}: {exc}") from None
        out[digest] = {"hash": digest, "kind": kind, "size": len(data), "data": data,
                       "frames": frames}
    return out
