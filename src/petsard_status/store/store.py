"""The store: one database holding many runs, written through SQLAlchemy Core.

``Store`` owns the engine, creates or upgrades the schema on open, and offers
the few building blocks the Status needs: a retried write transaction,
content-addressed inserts of metadata and blobs (each distinct document stored
once), and cached reads of those documents.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError

from petsard_status import formats as codec
from petsard_status.errors import (
    CorruptDataError,
    PetsardStatusError,
    RunExistsError,
    RunNotFoundError,
    StoreError,
)
from petsard_status.formats import EncodedResult, decode_result, hash_bytes
from petsard_status.metadata.types import FieldMetadata, SchemaMetadata
from petsard_status.store import models as m
from petsard_status.store.engine import make_engine, prepare_engine, resolve_url
from petsard_status.store.guard import check_objects
from petsard_status.store.migrate import ensure_schema
from petsard_status.store.translate import describe, translate

T = TypeVar("T")

WRITE_ATTEMPTS = 8
MAX_DOC_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class EncodedSchema:
    """A schema split into its content-addressed parts."""

    hash: str
    shell: str
    schema: SchemaMetadata
    fields: tuple[tuple[str, str, str, str], ...]
    """(hash, name, data_type, json) for each field, in order."""


class _LRU(OrderedDict):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def put(self, key: Any, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)

    def lookup(self, key: Any) -> Any:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value


class Store:
    """A petsard-status database: an engine plus the store's schema, at head.

    ``store`` is a SQLAlchemy URL, a path to a SQLite file, an ``Engine`` (not
    disposed by ``close``), or None for ``$PETSARD_STATUS_DB`` /
    ``./petsard_status.db``.
    """

    def __init__(
        self,
        store: str | os.PathLike[str] | URL | Engine | None = None,
        *,
        upgrade: bool = True,
        cache_size: int = 256,
    ) -> None:
        if isinstance(store, Engine):
            self.engine = store
            self._owns_engine = False
            prepare_engine(store)
        else:
            self.engine = make_engine(resolve_url(store))
            self._owns_engine = True
        self.url = self.engine.url
        self.dialect = self.engine.dialect.name
        try:
            check_objects(self.engine)
            self.revision = ensure_schema(self.engine, upgrade=upgrade)
        except BaseException:
            self.close()
            raise
        self._known: set[str] = set()
        self._schemas = _LRU(cache_size)
        self._fields = _LRU(cache_size * 64)
        self._encoded = _LRU(cache_size)
        # id(field) -> (field, hash, doc): re-inferred schemas share most field
        # objects with the previous version, so each is encoded once.
        self._field_docs = _LRU(cache_size * 16)

    # --- lifecycle -------------------------------------------------------------------

    def close(self) -> None:
        if self._owns_engine:
            self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({describe(self.engine)!r})"

    @property
    def location(self) -> str:
        return describe(self.engine)

    # --- transactions ----------------------------------------------------------------

    def write(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one write transaction, retried when the database is busy."""
        delay = 0.05
        for attempt in range(WRITE_ATTEMPTS):
            try:
                with (
                    self.engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn,
                    conn.begin(),
                ):
                    return work(conn)
            except OperationalError as exc:
                message = str(exc.orig).lower()
                retryable = "locked" in message or "busy" in message or "deadlock" in message
                if not retryable or attempt == WRITE_ATTEMPTS - 1:
                    raise translate(exc, self.engine) from exc
            except IntegrityError:
                raise
            except DBAPIError as exc:
                if "deadlock" not in str(exc.orig).lower() or attempt == WRITE_ATTEMPTS - 1:
                    raise translate(exc, self.engine) from exc
            except UnicodeDecodeError as exc:
                raise translate(exc, self.engine) from exc
            time.sleep(delay * (1 + random.random()))  # noqa: S311 - jitter, not security
            delay = min(delay * 2, 2.0)
        raise StoreError("unreachable")  # pragma: no cover

    def read(self, work: Callable[[Connection], T]) -> T:
        try:
            with self.engine.connect() as conn:
                return work(conn)
        except PetsardStatusError:
            raise
        except (SQLAlchemyError, UnicodeDecodeError) as exc:
            raise translate(exc, self.engine) from exc

    def _insert_ignore(self, table: Any) -> Any:
        if self.dialect == "postgresql":
            return postgresql.insert(table).on_conflict_do_nothing()
        if self.dialect == "sqlite":
            return sqlite.insert(table).on_conflict_do_nothing()
        return insert(table).prefix_with("IGNORE")

    # --- runs ------------------------------------------------------------------------

    def create_run(self, name: str, config: dict[str, Any], head: str, info: dict) -> int:
        now = dt.datetime.now()
        values = {
            "name": name,
            "state": "running",
            # Plain JSON, not the canonical (key-sorted) form: module order is the sequence.
            "config_json": json.dumps(config, ensure_ascii=False),
            "head_json": head,
            "info_json": codec.dumps_value(info),
            "created_at": now,
            "updated_at": now,
        }
        try:
            return self.write(
                lambda conn: conn.execute(insert(m.runs).values(**values)).inserted_primary_key[0]
            )
        except IntegrityError as exc:
            raise RunExistsError(
                f"a run named {name!r} is already in {self.location}; open it with "
                f"Status.open({name!r}), or choose another name (or none, for a generated one)"
            ) from exc

    def run_row(self, name: str) -> Any:
        row = self.read(
            lambda conn: conn.execute(select(m.runs).where(m.runs.c.name == name)).first()
        )
        if row is None:
            names = self.run_names(limit=20)
            known = ", ".join(names) if names else "none"
            raise RunNotFoundError(
                f"no run named {name!r} in {self.location} (runs there: {known}); "
                "`petsard-status runs` lists them"
            )
        return row

    def run_config(self, row: Any) -> dict[str, Any]:
        """The config a run was started with, in its original module order."""
        return codec.decode_config(row.config_json, row.name)

    def run_names(self, limit: int | None = None) -> list[str]:
        query = select(m.runs.c.name).order_by(m.runs.c.id)
        if limit:
            query = query.limit(limit)
        return self.read(lambda conn: [r[0] for r in conn.execute(query)])

    def set_run_state(
        self,
        run_id: int,
        state: str,
        *,
        error: str | None = None,
        failed_step: str | None = None,
    ) -> None:
        now = dt.datetime.now()
        values: dict[str, Any] = {"state": state, "updated_at": now, "error": error,
                                  "failed_step": failed_step}
        if state in ("completed", "failed", "interrupted"):
            values["finished_at"] = now
        else:
            values["finished_at"] = None
        self.write(lambda conn: conn.execute(
            update(m.runs).where(m.runs.c.id == run_id).values(**values)
        ))

    def update_run_info(self, run_id: int, info: dict[str, Any]) -> None:
        text = codec.dumps_value(info)
        self.write(lambda conn: conn.execute(
            update(m.runs).where(m.runs.c.id == run_id).values(info_json=text)
        ))

    def max_seq(self, conn: Connection, table: Any, run_id: int) -> int:
        value = conn.execute(select(func.max(table.c.seq)).where(table.c.run_id == run_id)).scalar()
        return int(value or 0)

    # --- metadata, content-addressed -------------------------------------------------

    def encode_schema(self, schema: SchemaMetadata) -> EncodedSchema:
        """Split and hash a schema; cached per object, since puts re-see the same ones."""
        cached = self._encoded.lookup(id(schema))
        if cached is not None and cached.schema is schema:
            return cached
        parts = []
        for f in schema.fields:
            digest, doc = self.encode_field(f)
            parts.append((digest, f.name, f.data_type.value, doc))
        shell = codec.schema_shell_to_json(schema, [p[0] for p in parts])
        encoded = EncodedSchema(codec.content_hash(shell), shell, schema, tuple(parts))
        self._encoded.put(id(schema), encoded)
        return encoded

    def insert_schema(self, conn: Connection, encoded: EncodedSchema, fresh: set[str]) -> None:
        """Insert the parts of ``encoded`` the database may not have yet."""
        if encoded.hash in self._known:
            return
        rows = [
            {"hash": h, "name": name, "data_type": dtype, "doc": doc}
            for h, name, dtype, doc in encoded.fields
            if h not in self._known and h not in fresh
        ]
        if rows:
            conn.execute(self._insert_ignore(m.fields), rows)
            fresh.update(r["hash"] for r in rows)
        schema = encoded.schema
        conn.execute(
            self._insert_ignore(m.schemas),
            [{
                "hash": encoded.hash,
                "schema_id": schema.schema_id,
                "name": schema.name,
                "field_count": len(schema.fields),
                "doc": encoded.shell,
            }],
        )
        fresh.add(encoded.hash)
        self._schemas.put(encoded.hash, schema)

    def encode_field(self, f: FieldMetadata) -> tuple[str, str]:
        """A field's (content hash, canonical JSON); cached per object, fields being immutable."""
        cached = self._field_docs.lookup(id(f))
        if cached is not None and cached[0] is f:
            return cached[1], cached[2]
        doc = codec.to_json(f)
        digest = codec.content_hash(doc)
        self._field_docs.put(id(f), (f, digest, doc))
        return digest, doc

    def insert_field(self, conn: Connection, f: FieldMetadata, fresh: set[str]) -> str:
        digest, doc = self.encode_field(f)
        if digest not in self._known and digest not in fresh:
            conn.execute(
                self._insert_ignore(m.fields),
                [{"hash": digest, "name": f.name, "data_type": f.data_type.value, "doc": doc}],
            )
            fresh.add(digest)
        return digest

    def insert_blobs(self, conn: Connection, result: EncodedResult, fresh: set[str]) -> None:
        rows = [
            {"hash": h, "kind": kind, "size": len(data), "data": data}
            for h, (kind, data) in result.blobs.items()
            if h not in self._known and h not in fresh
        ]
        if rows:
            conn.execute(self._insert_ignore(m.blobs), rows)
            fresh.update(r["hash"] for r in rows)

    def insert_blob(self, conn: Connection, digest: str, kind: str, data: bytes,
                    fresh: set[str]) -> None:
        if digest not in self._known and digest not in fresh:
            conn.execute(
                self._insert_ignore(m.blobs),
                [{"hash": digest, "kind": kind, "size": len(data), "data": data}],
            )
            fresh.add(digest)

    def committed(self, fresh: Iterable[str]) -> None:
        """Remember hashes that a committed transaction wrote, to skip them next time."""
        self._known.update(fresh)

    def load_schema(self, digest: str, conn: Connection | None = None) -> SchemaMetadata:
        cached = self._schemas.lookup(digest)
        if cached is not None:
            return cached
        if conn is None:
            return self.read(lambda c: self.load_schema(digest, c))
        row = conn.execute(select(m.schemas.c.doc).where(m.schemas.c.hash == digest)).first()
        if row is None:
            raise CorruptDataError(
                f"the store refers to schema {digest} but does not hold it; run "
                "`petsard-status db check`"
            )
        _verify("schema", digest, row[0], codec.content_hash)
        refs = codec.shell_field_refs(row[0])
        fields = self.load_fields(refs, conn)
        schema = codec.schema_from_shell(row[0], [fields[r] for r in refs])
        self._schemas.put(digest, schema)
        self._known.add(digest)
        return schema

    def load_fields(self, refs: Sequence[str], conn: Connection) -> dict[str, FieldMetadata]:
        out: dict[str, FieldMetadata] = {}
        missing = []
        for ref in dict.fromkeys(refs):
            cached = self._fields.lookup(ref)
            if cached is None:
                missing.append(ref)
            else:
                out[ref] = cached
        for start in range(0, len(missing), 500):
            chunk = missing[start : start + 500]
            rows = conn.execute(
                select(m.fields.c.hash, m.fields.c.doc).where(m.fields.c.hash.in_(chunk))
            )
            for digest, doc in rows:
                _verify("field", digest, doc, codec.content_hash)
                value = codec.from_json(doc, FieldMetadata)
                self._fields.put(digest, value)
                out[digest] = value
        absent = [r for r in refs if r not in out]
        if absent:
            raise CorruptDataError(
                f"the store refers to field {absent[0]} but does not hold it; run "
                "`petsard-status db check`"
            )
        self._known.update(out)
        return out

    def load_field(self, digest: str, conn: Connection | None = None) -> FieldMetadata:
        if conn is None:
            return self.read(lambda c: self.load_field(digest, c))
        return self.load_fields([digest], conn)[digest]

    # --- blobs -----------------------------------------------------------------------

    def load_blob(self, digest: str, conn: Connection | None = None) -> bytes:
        if conn is None:
            return self.read(lambda c: self.load_blob(digest, c))
        row = conn.execute(select(m.blobs.c.data).where(m.blobs.c.hash == digest)).first()
        if row is None:
            raise CorruptDataError(
                f"the store refers to blob {digest} but does not hold it; run "
                "`petsard-status db check`"
            )
        data = bytes(row[0])
        _verify("blob", digest, data, hash_bytes)
        return data

    def load_result(self, ref: str | None) -> Any:
        if ref is None:
            return None

        def work(conn: Connection) -> Any:
            return decode_result(self.load_blob(ref, conn), lambda h: self.load_blob(h, conn))

        return self.read(work)


def _verify(kind: str, digest: str, content: Any, hasher: Callable[[Any], str]) -> None:
    """Refuse content that is not what its hash says: damage, or an edit by someone else.

    Everything the store reads back by hash is checked, so a changed byte is an
    error rather than a silently different metadata document or result.
    """
    if isinstance(content, str) and len(content) > MAX_DOC_BYTES:
        raise CorruptDataError(
            f"the stored {kind} {digest} is {len(content)} characters long, over the limit "
            f"of {MAX_DOC_BYTES} bytes; it was not written by petsard-status. Restore the "
            "database from a backup"
        )
    try:
        actual = hasher(content)
    except (TypeError, ValueError) as exc:
        raise CorruptDataError(f"the stored {kind} {digest} is unreadable: {exc}") from exc
    if actual != digest:
        raise CorruptDataError(
            f"the stored {kind} {digest} does not match its content hash ({actual}); the "
            "database is damaged or was edited outside petsard-status. Restore it from a "
            "backup (`petsard-status db check` lists what is damaged)"
        )


def dumps_compact(value: Any) -> str:
    """Compact, sorted JSON for the store's own bookkeeping documents."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
