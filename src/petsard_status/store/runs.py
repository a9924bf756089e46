"""A run's rows: every statement scoped to one run, in one place.

:class:`RunRepository` is what a Status writes and reads through.  Its writes
are whole units, each one transaction: a put (timings, documents, the
snapshot, its change records, the new head), a head-only update (reports,
train indices, validation results), a restore, a schema change, timings.

Every write that moves the run's head checks that the head is still the one
this repository last saw (optimistic concurrency): a second writer that went
stale gets :class:`ConcurrentWriterError` and changes nothing, instead of
silently rewinding the run to its own old view.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from petsard_status import formats
from petsard_status.errors import (
    ConcurrentWriterError,
    CorruptDataError,
    RunExistsError,
    StoreConnectionError,
)
from petsard_status.metadata.types import FieldMetadata
from petsard_status.store import appearances
from petsard_status.store import models as m
from petsard_status.store.batch import HeadMove, WriteBatch
from petsard_status.store.store import DocumentWriter, EncodedSchema, Store
from petsard_status.store.translate import is_unique_violation

__all__ = [
    "RUN_STATES",
    "ChangeEntry",
    "ChangeRow",
    "PutRecord",
    "RunRepository",
    "SnapshotRow",
    "TimingRow",
    "inserted_id",
]

RUN_STATES = ("running", "completed", "failed", "interrupted")
_FINISHED = ("completed", "failed", "interrupted")

_SNAPSHOT_COLUMNS = (
    m.snapshots.c.seq, m.snapshots.c.snapshot_id, m.snapshots.c.module,
    m.snapshots.c.experiment, m.snapshots.c.timestamp, m.snapshots.c.schema_before,
    m.snapshots.c.schema_after, m.snapshots.c.context_json,
)


def _batch(docs: DocumentWriter) -> WriteBatch:
    if docs.batch is None:  # pragma: no cover - every head move is written batched
        raise AssertionError("a head move needs a batched DocumentWriter")
    return docs.batch


# --- what is written ---------------------------------------------------------------------


@dataclass(frozen=True)
class ChangeEntry:
    """One change record to write: schema-level (hashes) or field-level (field objects)."""

    target_type: str
    change_type: str
    target_id: str
    before: str | FieldMetadata | None
    after: str | FieldMetadata | None
    attributes: tuple[str, ...] | None = None


@dataclass(frozen=True)
class PutRecord:
    """Everything one put stores, ready to write: nothing in it needs the database."""

    seq: int
    snapshot_id: str
    module: str
    experiment: str
    timestamp: dt.datetime
    schema_before: str | None
    schema_after: str | None
    context_json: str
    state_json: str
    first_change_seq: int
    schema: EncodedSchema | None = None
    results: tuple[formats.EncodedResult, ...] = ()
    blobs: tuple[tuple[str, str, bytes], ...] = ()
    changes: tuple[ChangeEntry, ...] = ()
    timings: tuple[dict[str, Any], ...] = ()


# --- what is read ------------------------------------------------------------------------


@dataclass(frozen=True)
class SnapshotRow:
    seq: int
    snapshot_id: str
    module: str
    experiment: str
    timestamp: dt.datetime
    schema_before: str | None
    schema_after: str | None
    context_json: str


@dataclass(frozen=True)
class ChangeRow:
    seq: int
    change_id: str
    snapshot_seq: int
    change_type: str
    target_type: str
    target_id: str
    module: str
    experiment: str
    module_context: str
    timestamp: dt.datetime
    before: str | None
    after: str | None
    attributes: tuple[str, ...]


@dataclass(frozen=True)
class TimingRow:
    seq: int
    record_id: str
    module: str
    experiment: str
    step: str
    start_time: dt.datetime
    end_time: dt.datetime | None
    duration_seconds: float | None
    context_json: str


class RunRepository:
    """The rows of one run in a :class:`Store`."""

    def __init__(self, store: Store, run_id: int, name: str, head_json: str) -> None:
        self.store = store
        self.id = run_id
        self.name = name
        self._head = head_json
        self.wrote = False
        """True once this repository has written anything: it is then the run's writer."""
        self.opened_row: Any = None
        """The run's row as :meth:`open` read it (None for a run created here)."""

    # --- finding and creating runs ---------------------------------------------------

    @classmethod
    def open(cls, store: Store, name: str) -> RunRepository:
        row = store.run_row(name)
        repo = cls(store, row.id, row.name, row.head_json)
        repo.opened_row = row
        return repo

    @classmethod
    def create(cls, store: Store, name: str, config: dict[str, Any], head_json: str,
               info: dict[str, Any]) -> RunRepository:
        """A new run, with its config, first head and info, in one transaction."""
        now = dt.datetime.now()
        values = {
            "name": name, "state": "running",
            # Plain JSON, not the canonical (key-sorted) form: module order is the sequence.
            "config_json": json.dumps(config, ensure_ascii=False),
            "head_json": head_json, "info_json": formats.dumps_value(info),
            "created_at": now, "updated_at": now,
        }
        try:
            run_id = store.write(lambda conn: inserted_id(conn.execute(
                insert(m.runs).values(**values))))
        except IntegrityError as exc:
            raise RunExistsError(
                f"a run named {name!r} is already in {store.location}; resume it "
                f"(`petsard-status resume {name}`), or choose another name (or none, for a "
                "generated one)"
            ) from exc
        repo = cls(store, int(run_id), name, head_json)
        repo.wrote = True
        return repo

    @property
    def head_json(self) -> str:
        """The head this repository last wrote or read."""
        return self._head

    def row(self) -> Any:
        return self.store.read(lambda conn: conn.execute(
            select(m.runs).where(m.runs.c.id == self.id)).one())

    # --- writes ----------------------------------------------------------------------

    def _write(self, work: Any, where: str, landed: Any = None, *,
               batched: bool = False) -> None:
        """One transaction; a unique-key clash means another writer of this run won.

        ``landed()`` says, after a connection lost mid-write, whether the write was
        committed all the same (the server commits, the answer never arrives): then
        it counts as done, and the writer goes on from it.  If the store answers
        again and the write is not there, it never committed (a connection the
        server dropped while it sat in the pool, say), and it is made once more.
        """
        try:
            self.store.write_documents(work, batched=batched)
            self.wrote = True
        except StoreConnectionError:
            verdict = None if landed is None else self._landed(landed)
            if verdict is None:
                raise
            if not verdict:
                self._write(work, where, batched=batched)
            self.wrote = True
        except IntegrityError as exc:
            if not is_unique_violation(exc):
                raise CorruptDataError(
                    f"{where}: the store refused the write ({str(exc.orig).strip()}); rows it "
                    "refers to are missing or altered. Run `petsard-status db check`"
                ) from exc
            raise self._conflict(where) from exc

    def _landed(self, landed: Any) -> bool | None:
        """Whether the write is stored; None while the store cannot be reached."""
        try:
            return bool(self.store.read(landed))
        except StoreConnectionError:
            return None

    def _head_is(self, head_json: str) -> Any:
        return lambda conn: conn.execute(select(m.runs.c.head_json).where(
            m.runs.c.id == self.id)).scalar() == head_json

    def _conflict(self, where: str) -> ConcurrentWriterError:
        return ConcurrentWriterError(
            f"{where}: another writer changed run {self.name!r} since this one last read it, "
            "and only one writer may write a run at once (nothing of this call was stored). "
            "Stop the other writer, then reopen the run to continue from what is stored; to "
            "work in parallel, give each process its own run"
        )

    def _commit(self, batch: WriteBatch, docs: DocumentWriter, head_json: str,
                now: dt.datetime, where: str) -> None:
        """Write the batch and move the head from the one this writer last saw."""
        if not batch.run(docs.conn, HeadMove(self.id, self._head, head_json, now)):
            raise self._conflict(where)

    def append_put(self, put: PutRecord, where: str) -> None:
        """Store one put: its timings, documents, snapshot, change records and new head."""

        def work(docs: DocumentWriter) -> None:
            batch = _batch(docs)
            batch.insert(m.timings, [{**t, "run_id": self.id} for t in put.timings])
            if put.schema is not None:
                docs.schema(put.schema)
            for result in put.results:
                docs.result(result)
            for digest, kind, data in put.blobs:
                docs.blob(digest, kind, data)
            batch.insert(m.snapshots, [{
                "run_id": self.id, "seq": put.seq, "snapshot_id": put.snapshot_id,
                "module": put.module, "experiment": put.experiment, "timestamp": put.timestamp,
                "schema_before": put.schema_before, "schema_after": put.schema_after,
                "context_json": put.context_json, "state_json": put.state_json,
            }])
            rows = [
                self._change_row(docs, put.first_change_seq + offset, put.seq, put.module,
                                 put.experiment, put.timestamp, change)
                for offset, change in enumerate(put.changes)
            ]
            batch.insert(m.changes, rows)
            appearances.batch_appearances(batch, self.id, rows)
            self._commit(batch, docs, put.state_json, put.timestamp, where)

        def landed(conn: Connection) -> bool:
            # The put carries its own identity: its snapshot row, with its state.
            s = m.snapshots.c
            return conn.execute(select(s.snapshot_id).where(
                s.run_id == self.id, s.seq == put.seq, s.snapshot_id == put.snapshot_id,
                s.state_json == put.state_json)).first() is not None

        self._write(work, where, landed, batched=True)
        self._head = put.state_json

    def _change_row(self, docs: DocumentWriter, seq: int, snapshot_seq: int, module: str,
                    experiment: str, now: dt.datetime, change: ChangeEntry) -> dict[str, Any]:
        row: dict[str, Any] = {
            "run_id": self.id, "seq": seq, "change_id": formats.record_id("change", seq, now),
            "snapshot_seq": snapshot_seq, "change_type": change.change_type,
            "target_type": change.target_type, "target_id": change.target_id,
            "module": module, "experiment": experiment,
            "module_context": f"{module}[{experiment}]", "timestamp": now,
            "before_schema": None, "after_schema": None, "before_field": None,
            "after_field": None,
            "attributes": (json.dumps(list(change.attributes))
                           if change.attributes is not None else None),
        }
        for side, value in (("before", change.before), ("after", change.after)):
            if isinstance(value, FieldMetadata):
                row[f"{side}_field"] = docs.field(value)
            elif value is not None:
                row[f"{side}_schema"] = value
        return row

    def replace_head(self, head_json: str, where: str, *,
                     blobs: Sequence[tuple[str, str, bytes]] = (),
                     results: Sequence[formats.EncodedResult] = (),
                     schema: EncodedSchema | None = None,
                     change: tuple[int, int, str, str, ChangeEntry] | None = None) -> None:
        """Move the head outside a put (reports, indices, validation, set_metadata).

        ``change`` is ``(seq, snapshot_seq, module, experiment, entry)`` for a
        schema change recorded with the move.
        """
        now = dt.datetime.now()

        def work(docs: DocumentWriter) -> None:
            batch = _batch(docs)
            for digest, kind, data in blobs:
                docs.blob(digest, kind, data)
            for result in results:
                docs.result(result)
            if schema is not None:
                docs.schema(schema)
            if change is not None:
                seq, snapshot_seq, module, experiment, entry = change
                row = self._change_row(docs, seq, snapshot_seq, module, experiment, now, entry)
                batch.insert(m.changes, [row])
                appearances.batch_appearances(batch, self.id, [row])
            self._commit(batch, docs, head_json, now, where)

        self._write(work, where, self._head_is(head_json), batched=True)
        self._head = head_json

    def record_restore(self, seq: int, snapshot_id: str, after_snapshot_seq: int,
                       head_json: str) -> None:
        now = dt.datetime.now()
        where = f"restore_from_snapshot({snapshot_id})"

        def work(docs: DocumentWriter) -> None:
            batch = _batch(docs)
            batch.insert(m.restores, [{"run_id": self.id, "seq": seq, "snapshot_id": snapshot_id,
                                       "after_snapshot_seq": after_snapshot_seq,
                                       "timestamp": now}])
            self._commit(batch, docs, head_json, now, where)

        def landed(conn: Connection) -> bool:
            r = m.restores.c
            query = select(r.seq).where(r.run_id == self.id, r.seq == seq,
                                        r.snapshot_id == snapshot_id)
            return conn.execute(query).first() is not None

        self._write(work, where, landed, batched=True)
        self._head = head_json

    def append_timings(self, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        self._write(
            lambda docs: docs.conn.execute(insert(m.timings),
                                           [{**r, "run_id": self.id} for r in rows]),
            f"timing {rows[0]['record_id']}",
        )

    def set_state(self, state: str, *, error: str | None = None,
                  failed_step: str | None = None) -> None:
        now = dt.datetime.now()
        values = {"state": state, "updated_at": now, "error": error, "failed_step": failed_step,
                  "finished_at": now if state in _FINISHED else None}
        self.store.write(lambda conn: conn.execute(
            update(m.runs).where(m.runs.c.id == self.id).values(**values)))

    def set_info(self, info: dict[str, Any]) -> None:
        text = formats.dumps_value(info)
        self.store.write(lambda conn: conn.execute(
            update(m.runs).where(m.runs.c.id == self.id).values(info_json=text)))

    # --- reads -----------------------------------------------------------------------

    def counters(self) -> dict[str, int]:
        """The last sequence number of each kind of record."""
        tables = {"snapshot": m.snapshots, "change": m.changes, "timing": m.timings,
                  "restore": m.restores}
        # One statement, four index lookups: opening a run costs one round trip here.
        query = select(*(select(func.max(t.c.seq)).where(t.c.run_id == self.id)
                         .scalar_subquery() for t in tables.values()))
        row = self.store.read(lambda conn: conn.execute(query).one())
        return {name: int(value or 0) for name, value in zip(tables, row)}

    def count(self, table: str, module: str | None = None) -> int:
        t = {"snapshots": m.snapshots, "changes": m.changes, "timings": m.timings}[table]
        query = select(func.count()).select_from(t).where(t.c.run_id == self.id)
        if module is not None:
            query = query.where(t.c.module == module)
        return int(self.store.read(lambda conn: conn.execute(query).scalar()) or 0)

    def snapshot_page(self, module: str | None = None, offset: int = 0,
                      limit: int | None = None, newest_first: bool = False,
                      after_seq: int | None = None) -> list[SnapshotRow]:
        """A page of snapshots; ``after_seq`` reads on from a row (no rows skipped over)."""
        s = m.snapshots.c
        query = select(*_SNAPSHOT_COLUMNS).where(s.run_id == self.id)
        if module is not None:
            query = query.where(s.module == module)
        if after_seq is not None:
            query = query.where(s.seq > after_seq)
        query = query.order_by(s.seq.desc() if newest_first else s.seq)
        query = query.offset(offset).limit(limit) if limit is not None else query.offset(offset)
        return self.store.read(
            lambda conn: [SnapshotRow(*row) for row in conn.execute(query)])

    def snapshot(self, snapshot_id: str | None = None, seq: int | None = None
                 ) -> SnapshotRow | None:
        s = m.snapshots.c
        query = select(*_SNAPSHOT_COLUMNS).where(s.run_id == self.id)
        query = query.where(s.snapshot_id == snapshot_id) if seq is None else query.where(
            s.seq == seq)
        row = self.store.read(lambda conn: conn.execute(query).first())
        return SnapshotRow(*row) if row is not None else None

    def snapshot_state(self, snapshot_id: str) -> tuple[int, str] | None:
        s = m.snapshots.c
        row = self.store.read(lambda conn: conn.execute(
            select(s.seq, s.state_json).where(s.run_id == self.id,
                                              s.snapshot_id == snapshot_id)).first())
        return (int(row[0]), row[1]) if row is not None else None

    def snapshot_ids(self) -> list[tuple[int, str]]:
        s = m.snapshots.c
        query = select(s.seq, s.snapshot_id).where(s.run_id == self.id).order_by(s.seq)
        return self.store.read(lambda conn: [(int(r[0]), r[1]) for r in conn.execute(query)])

    def steps_done(self) -> dict[str, str]:
        """Flow step key -> state JSON of its snapshot, for every step already put."""
        s = m.snapshots.c
        query = select(s.context_json, s.state_json).where(s.run_id == self.id).order_by(s.seq)
        done: dict[str, str] = {}
        for context_json, state_json in self.store.read(lambda conn: conn.execute(query).all()):
            context = formats.loads_value(context_json)
            key = context.get("step") if isinstance(context, dict) else None
            if isinstance(key, str):
                done[key] = state_json
        return done

    def change_page(self, module: str | None = None, offset: int = 0,
                    limit: int | None = None, after_seq: int | None = None) -> list[ChangeRow]:
        c = m.changes.c
        query = select(m.changes).where(c.run_id == self.id)
        if module is not None:
            query = query.where(c.module == module)
        if after_seq is not None:
            query = query.where(c.seq > after_seq)
        query = query.order_by(c.seq).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        return self.store.read(lambda conn: [_change(row) for row in conn.execute(query)])

    def evolution_count(self, module: str) -> int:
        """How many distinct schemas the module had."""
        return self.store.read(lambda conn: appearances.evolution_count(conn, self.id, module))

    def evolution_page(self, module: str, offset: int, limit: int) -> list[str]:
        """Distinct schemas of the module, in the order they first appeared: one page."""
        return self.store.read(
            lambda conn: appearances.evolution_page(conn, self.id, module, offset, limit))

    def timing_rows(self, module: str | None = None) -> list[TimingRow]:
        t = m.timings.c
        query = select(t.seq, t.record_id, t.module, t.experiment, t.step, t.start_time,
                       t.end_time, t.duration_seconds, t.context_json).where(t.run_id == self.id)
        if module is not None:
            query = query.where(t.module == module)
        query = query.order_by(t.seq)
        return self.store.read(lambda conn: [TimingRow(*row) for row in conn.execute(query)])

    def summary(self) -> dict[str, Any]:
        """Counts for the status summary: snapshots, changes by type, the last ids, the state."""
        s, c = m.snapshots.c, m.changes.c

        def work(conn: Connection) -> dict[str, Any]:
            change_counts = conn.execute(
                select(c.change_type, c.target_type, func.count()).where(c.run_id == self.id)
                .group_by(c.change_type, c.target_type)).all()
            return {
                "snapshots": int(conn.execute(select(func.count()).select_from(m.snapshots)
                                              .where(s.run_id == self.id)).scalar() or 0),
                "last_snapshot": conn.execute(select(s.snapshot_id).where(s.run_id == self.id)
                                              .order_by(s.seq.desc()).limit(1)).scalar(),
                "last_change": conn.execute(select(c.change_id).where(c.run_id == self.id)
                                            .order_by(c.seq.desc()).limit(1)).scalar(),
                "change_counts": [(a, b, int(n)) for a, b, n in change_counts],
                "state": conn.execute(select(m.runs.c.state)
                                      .where(m.runs.c.id == self.id)).scalar(),
            }

        return self.store.read(work)


def _change(row: Any) -> ChangeRow:
    schema_level = row.target_type == "schema"
    return ChangeRow(
        seq=row.seq, change_id=row.change_id, snapshot_seq=row.snapshot_seq,
        change_type=row.change_type, target_type=row.target_type, target_id=row.target_id,
        module=row.module, experiment=row.experiment, module_context=row.module_context,
        timestamp=row.timestamp,
        before=row.before_schema if schema_level else row.before_field,
        after=row.after_schema if schema_level else row.after_field,
        attributes=_attributes(row.attributes, row.change_id),
    )


def _attributes(text: str | None, change_id: str) -> tuple[str, ...]:
    if not text:
        return ()
    value = formats.strict_loads(text, what=f"change {change_id}: attributes",
                                 error=CorruptDataError)
    if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
        raise CorruptDataError(f"change {change_id}: attributes are not a list of names")
    return tuple(value)


def inserted_id(result: Any) -> int:
    key = result.inserted_primary_key
    if key is None:
        raise CorruptDataError("the database did not return the new run's id")
    return int(key[0])
