"""The store: one database holding many runs, written through SQLAlchemy Core.

``Store`` owns the engine, creates or upgrades the schema on open, and offers
the few building blocks the Status needs: a retried write transaction,
content-addressed inserts of metadata and blobs (each distinct document stored
once), and cached reads of those documents.
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import select
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from petsard_status import formats as codec
from petsard_status.errors import (
    CorruptDataError,
    NotAStoreError,
    PetsardStatusError,
    RunNotFoundError,
    StoreError,
)
from petsard_status.formats import hash_bytes
from petsard_status.metadata.types import FieldMetadata, SchemaMetadata
from petsard_status.store import models as m
from petsard_status.store.batch import WriteBatch, insert_ignore, one_statement
from petsard_status.store.engine import (
    is_sqlite,
    make_engine,
    prepare_engine,
    resolve_url,
    sqlite_path,
)
from petsard_status.store.frame_files import (
    FRAME_FILE_KIND,
    FrameFolder,
    FrameWrites,
    file_cells,
    frames_folder,
    missing_files,
)
from petsard_status.store.guard import check_objects
from petsard_status.store.migrate import ensure_schema
from petsard_status.store.translate import describe, is_retryable, translate

if TYPE_CHECKING:
    from petsard_status.formats import EncodedResult

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
    ``./petsard_status.db``.  A SQLite file store keeps frames of more than
    ``frame_file_cells`` cells as files beside it (see ``store/frame_files.py``).
    """

    def __init__(
        self,
        store: str | os.PathLike[str] | URL | Engine | None = None,
        *,
        upgrade: bool = True,
        create: bool = True,
        cache_size: int = 256,
        frame_file_cells: int | None = None,
    ) -> None:
        if isinstance(store, Engine):
            self.engine = store
            self._owns_engine = False
            prepare_engine(store)
        else:
            url = resolve_url(store)
            if not create:
                refuse_empty_file(url)
            self.engine = make_engine(url)
            self._owns_engine = True
        self._wrote = False
        self.url = self.engine.url
        self.dialect = self.engine.dialect.name
        path = sqlite_path(self.url) if self.dialect == "sqlite" else None
        self.frames = FrameFolder(frames_folder(path)) if path is not None else None
        """Where large frames live as files; None for PostgreSQL and in-memory SQLite."""
        self.frame_file_cells = file_cells(frame_file_cells)
        try:
            check_objects(self.engine)
            self.revision = ensure_schema(self.engine, upgrade=upgrade, create=create)
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
        """Dispose of the engine; a SQLite store this process wrote is checkpointed first.

        The checkpoint moves the write-ahead log into the database file, so that
        the ``.db`` file alone holds everything (a copy of it is a whole store).
        """
        if self._owns_engine:
            if self._wrote and self.dialect == "sqlite":
                self._checkpoint()
            self.engine.dispose()

    def forget_documents(self) -> None:
        """Drop what the caches know: documents were deleted behind them (``rm``)."""
        self._known.clear()
        self._schemas.clear()
        self._fields.clear()

    def vacuum(self) -> None:
        """Give a SQLite file's free pages back to the file system."""
        path = sqlite_path(self.url)
        if path is None:
            return
        # VACUUM runs outside any transaction: a plain connection, not the engine's,
        # whose connections always begin one.
        connection = sqlite3.connect(path, timeout=60)
        try:
            connection.execute("VACUUM")
            # In WAL mode the smaller file appears once the log is checkpointed.
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            raise translate(exc, self.engine) from exc
        finally:
            connection.close()

    def _checkpoint(self) -> None:
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        except SQLAlchemyError:
            pass  # a reader still inside the log: the next close checkpoints instead

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

    def write(self, work: Callable[[Connection], T], *, one_statement: bool = False) -> T:
        """Run ``work`` in one write transaction, retried when the database is busy.

        With ``one_statement``, ``work`` sends a single statement, which is its
        own transaction (autocommit): no ``BEGIN`` and ``COMMIT`` round trips.
        """
        delay = 0.05
        self._wrote = True
        for attempt in range(WRITE_ATTEMPTS):
            try:
                if one_statement:
                    with self.engine.connect().execution_options(
                        isolation_level="AUTOCOMMIT"
                    ) as conn:
                        return work(conn)
                with (
                    self.engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn,
                    conn.begin(),
                ):
                    return work(conn)
            except IntegrityError:
                raise
            except DBAPIError as exc:
                if not is_retryable(exc) or attempt == WRITE_ATTEMPTS - 1:
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

    # --- runs ------------------------------------------------------------------------

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

    def encode_field(self, f: FieldMetadata) -> tuple[str, str]:
        """A field's (content hash, canonical JSON); cached per object, fields being immutable."""
        cached = self._field_docs.lookup(id(f))
        if cached is not None and cached[0] is f:
            return cached[1], cached[2]
        doc = codec.to_json(f)
        digest = codec.content_hash(doc)
        self._field_docs.put(id(f), (f, digest, doc))
        return digest, doc

    def write_documents(self, work: Callable[[DocumentWriter], T], *,
                        batched: bool = False) -> T:
        """:meth:`write`, with a :class:`DocumentWriter` for content-addressed inserts.

        A retried attempt starts with a new writer (what an aborted attempt
        inserted is gone); only a committed attempt's documents are remembered
        as present, so later writes skip them.  With ``batched``, the writer
        collects its rows in a :class:`WriteBatch` (``docs.batch``), which
        ``work`` runs at its end.
        """
        writers: list[DocumentWriter] = []

        def attempt(conn: Connection) -> T:
            batch = WriteBatch(self.engine.dialect) if batched else None
            writers[:] = [DocumentWriter(self, conn, batch)]
            return work(writers[0])

        result = self.write(attempt, one_statement=batched and one_statement(self.engine.dialect))
        self._known.update(writers[0].fresh)
        return result

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
                assert isinstance(value, FieldMetadata)
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

    def defer_frame(self, frame: Any) -> bool:
        """Whether a put writes ``frame`` as a file rather than a blob in the database."""
        return self.frames is not None and frame.size > self.frame_file_cells

    @contextlib.contextmanager
    def frame_writes(self) -> Iterator[FrameWrites | None]:
        """Large frames' files for one write, held until it commits (None: no frame files)."""
        if self.frames is None:
            yield None
            return
        with self.frames.writing() as writes:
            yield writes

    def _blob_row(self, digest: str, conn: Connection) -> Any:
        b = m.blobs.c
        row = conn.execute(select(b.kind, b.data).where(b.hash == digest)).first()
        if row is None:
            raise CorruptDataError(
                f"the store refers to blob {digest} but does not hold it; run "
                "`petsard-status db check`"
            )
        return row

    def _frame_folder(self, digest: str) -> FrameFolder:
        if self.frames is None:
            raise CorruptDataError(
                f"blob {digest} is a frame file, but {self.location} has no folder of frame "
                "files (only a SQLite file store has one); run `petsard-status db check`"
            )
        return self.frames

    def load_blob(self, digest: str, conn: Connection | None = None) -> bytes:
        """A blob's bytes, verified; a frame file's bytes are read from its file."""
        if conn is None:
            return self.read(lambda c: self.load_blob(digest, c))
        kind, stored = self._blob_row(digest, conn)
        if kind == FRAME_FILE_KIND:
            path = self._frame_folder(digest).file_for(digest)
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise CorruptDataError(
                    f"the frame file {path} cannot be read ({exc}); restore it from a backup "
                    "(`petsard-status db check` lists what is damaged)"
                ) from exc
            _verify(f"frame file {path} of blob", digest, data, hash_bytes)
            return data
        data = bytes(stored)
        _verify("blob", digest, data, hash_bytes)
        return data

    def load_frame(self, digest: str, conn: Connection) -> Any:
        """A stored frame, from its blob or (streamed, hash checked) from its file."""
        kind, stored = self._blob_row(digest, conn)
        if kind == FRAME_FILE_KIND:
            return self._frame_folder(digest).read(digest)
        data = bytes(stored)
        _verify("blob", digest, data, hash_bytes)
        return codec.decode_frame(data)

    def load_result(self, ref: str | None, conn: Connection | None = None) -> Any:
        if ref is None:
            return None
        if conn is None:
            return self.read(lambda c: self.load_result(ref, c))
        return codec.decode_result(self.load_blob(ref, conn), None,
                                   load_frame=lambda h: self.load_frame(h, conn))


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


def refuse_empty_file(url: URL) -> None:
    """Refuse a 0-byte SQLite file: connecting would turn it into a WAL database."""
    # Connecting would make an empty file a WAL database: a reader must not.
    path = sqlite_path(url) if is_sqlite(url) else None
    if path is not None and path.is_file() and path.stat().st_size == 0:
        raise NotAStoreError(
            f"{path} is an empty file, not a petsard-status store; it was left as it is. "
            "Give the store with --db, or start a run with `petsard-status run PIPELINE.yaml`"
        )


StoreArg = str | os.PathLike[str] | URL | Engine | Store | None
"""What every ``store=`` argument takes: a URL, a SQLite path, an Engine, a Store, or None."""


class DocumentWriter:
    """Content-addressed inserts inside one write attempt of :meth:`Store.write_documents`.

    Each document (field, schema shell, blob) is inserted once: hashes the
    store knows to be committed are skipped, and so are those this attempt
    already wrote.
    """

    def __init__(self, store: Store, conn: Connection, batch: WriteBatch | None = None) -> None:
        self.conn = conn
        self.batch = batch
        self.fresh: set[str] = set()
        self._store = store

    def _new(self, digest: str) -> bool:
        return digest not in self._store._known and digest not in self.fresh

    def _insert(self, table: Any, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        if self.batch is not None:
            self.batch.insert(table, rows, skip_stored=True)
        else:
            self.conn.execute(insert_ignore(self._store.dialect, table), rows)
        self.fresh.update(r["hash"] for r in rows)

    def schema(self, encoded: EncodedSchema) -> None:
        if not self._new(encoded.hash):
            return
        self._insert(m.fields, [
            {"hash": h, "name": name, "data_type": dtype, "doc": doc}
            for h, name, dtype, doc in encoded.fields if self._new(h)
        ])
        schema = encoded.schema
        self._insert(m.schemas, [{
            "hash": encoded.hash, "schema_id": schema.schema_id, "name": schema.name,
            "field_count": len(schema.fields), "doc": encoded.shell,
        }])
        self._store._schemas.put(encoded.hash, schema)

    def field(self, f: FieldMetadata) -> str:
        digest, doc = self._store.encode_field(f)
        if self._new(digest):
            self._insert(m.fields, [
                {"hash": digest, "name": f.name, "data_type": f.data_type.value, "doc": doc}
            ])
        return digest

    def result(self, encoded: EncodedResult) -> None:
        if encoded.pending:
            raise StoreError("a result with frames still to write cannot be stored; "
                             "finish it with formats.finish_result first")
        for digest, (kind, data) in encoded.blobs.items():
            self.blob(digest, kind, data)
        self.frame_files(encoded.files)

    def frame_files(self, files: dict[str, int]) -> None:
        """Rows for frames already written as files; each file must still be there."""
        new = {h: size for h, size in files.items() if self._new(h)}
        if not new:
            return
        folder = self._store.frames
        if folder is None:
            raise StoreError(f"{self._store.location} keeps no frame files")
        # Inside the write transaction no removal can run, so a file seen here stays.
        gone = missing_files(folder, new)
        if gone:
            raise StoreError(f"the frame file {gone[0]} was removed before the write "
                             "committed (by `petsard-status db vacuum`?); nothing was "
                             "stored, write again")
        self._insert(m.blobs, [{"hash": h, "kind": FRAME_FILE_KIND, "size": size,
                                "data": b""} for h, size in new.items()])

    def blob(self, digest: str, kind: str, data: bytes) -> None:
        if self._new(digest):
            self._insert(m.blobs, [{"hash": digest, "kind": kind, "size": len(data),
                                    "data": data}])

    def rows(self, table: Any, rows: Sequence[dict[str, Any]]) -> None:
        """Already-checked rows of a content-addressed table: fields, schemas or blobs."""
        self._insert(table, [r for r in rows if self._new(r["hash"])])
