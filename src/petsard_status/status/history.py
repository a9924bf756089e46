"""Reading a run's history back as the API's records, and writing timing records.

Queries go through indexes on ``(run_id, module, seq)``; metadata is decoded
through the store's caches, so a schema shared by many snapshots is decoded once.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

from petsard_status.metadata import codec, native
from petsard_status.metadata.types import SchemaMetadata
from petsard_status.status.records import ExecutionSnapshot, MetadataChange, TimingRecord
from petsard_status.store import models as m

if TYPE_CHECKING:
    from petsard_status.status.status import Status

_SNAPSHOT_COLUMNS = (
    m.snapshots.c.seq,
    m.snapshots.c.snapshot_id,
    m.snapshots.c.module,
    m.snapshots.c.experiment,
    m.snapshots.c.timestamp,
    m.snapshots.c.schema_before,
    m.snapshots.c.schema_after,
    m.snapshots.c.context_json,
)


def _snapshot(status: Status, conn: Connection, row: Any) -> ExecutionSnapshot:
    store = status.store
    return ExecutionSnapshot(
        snapshot_id=row.snapshot_id,
        module_name=row.module,
        experiment_name=row.experiment,
        timestamp=row.timestamp,
        metadata_before=native(store.load_schema(row.schema_before, conn))
        if row.schema_before else None,
        metadata_after=native(store.load_schema(row.schema_after, conn))
        if row.schema_after else None,
        execution_context=codec.loads_value(row.context_json),
    )


def snapshots(status: Status, module: str | None = None) -> list[ExecutionSnapshot]:
    query = select(*_SNAPSHOT_COLUMNS).where(m.snapshots.c.run_id == status.run_id)
    if module is not None:
        query = query.where(m.snapshots.c.module == module)
    query = query.order_by(m.snapshots.c.seq)
    return status.store.read(
        lambda conn: [_snapshot(status, conn, row) for row in conn.execute(query)]
    )


def snapshot_by_id(status: Status, snapshot_id: str) -> ExecutionSnapshot | None:
    query = select(*_SNAPSHOT_COLUMNS).where(
        m.snapshots.c.run_id == status.run_id, m.snapshots.c.snapshot_id == snapshot_id
    )

    def work(conn: Connection) -> ExecutionSnapshot | None:
        row = conn.execute(query).first()
        return _snapshot(status, conn, row) if row is not None else None

    return status.store.read(work)


def changes(status: Status, module: str | None = None) -> list[MetadataChange]:
    c = m.changes.c
    query = select(m.changes).where(c.run_id == status.run_id)
    if module is not None:
        query = query.where(c.module == module)
    query = query.order_by(c.seq)
    store = status.store

    def work(conn: Connection) -> list[MetadataChange]:
        out = []
        for row in conn.execute(query):
            if row.target_type == "schema":
                before = store.load_schema(row.before_schema, conn) if row.before_schema else None
                after = store.load_schema(row.after_schema, conn) if row.after_schema else None
            else:
                before = store.load_field(row.before_field, conn) if row.before_field else None
                after = store.load_field(row.after_field, conn) if row.after_field else None
            out.append(MetadataChange(
                change_id=row.change_id,
                change_type=row.change_type,
                target_type=row.target_type,
                target_id=row.target_id,
                before_state=before,
                after_state=after,
                timestamp=row.timestamp,
                module_context=row.module_context,
                attributes=tuple(json.loads(row.attributes)) if row.attributes else (),
            ))
        return out

    return store.read(work)


def metadata_evolution(status: Status, module: str) -> list[SchemaMetadata]:
    """Each distinct metadata version the module had, once, in the order it first appeared."""
    c = m.changes.c
    query = (
        select(c.after_schema)
        .where(c.run_id == status.run_id, c.module == module, c.target_type == "schema",
               c.after_schema.is_not(None))
        .order_by(c.seq)
    )

    def work(conn: Connection) -> list[SchemaMetadata]:
        hashes = list(dict.fromkeys(r[0] for r in conn.execute(query)))
        return [native(status.store.load_schema(h, conn)) for h in hashes]

    return status.store.read(work)


def summary(status: Status) -> dict[str, Any]:
    run_id = status.run_id

    def work(conn: Connection) -> dict[str, Any]:
        s, c = m.snapshots.c, m.changes.c
        total_snapshots = conn.execute(
            select(func.count()).select_from(m.snapshots).where(s.run_id == run_id)).scalar()
        last_snapshot = conn.execute(
            select(s.snapshot_id).where(s.run_id == run_id).order_by(s.seq.desc()).limit(1)
        ).scalar()
        last_change = conn.execute(
            select(c.change_id).where(c.run_id == run_id).order_by(c.seq.desc()).limit(1)
        ).scalar()
        # One pass over the run's change rows gives both breakdowns.
        change_types: dict[str, int] = {}
        target_types: dict[str, int] = {}
        for change_type, target_type, n in conn.execute(
            select(c.change_type, c.target_type, func.count()).where(c.run_id == run_id)
            .group_by(c.change_type, c.target_type)
        ):
            change_types[change_type] = change_types.get(change_type, 0) + n
            target_types[target_type] = target_types.get(target_type, 0) + n
        change_types, target_types = dict(sorted(change_types.items())), dict(
            sorted(target_types.items()))
        state = conn.execute(select(m.runs.c.state).where(m.runs.c.id == run_id)).scalar()
        return {
            "run": status.run,
            "state": state,
            "sequence": list(status.sequence),
            "active_modules": list(status.status),
            "metadata_modules": list(status.metadata),
            "total_snapshots": int(total_snapshots),
            "total_changes": int(sum(change_types.values())),
            "last_snapshot": last_snapshot,
            "last_change": last_change,
            "change_types": {k: int(v) for k, v in change_types.items()},
            "target_types": {k: int(v) for k, v in target_types.items()},
        }

    return status.store.read(work)


def timing_row(status: Status, record: TimingRecord) -> dict[str, Any]:
    return {
        "run_id": status.run_id, "seq": int(record.record_id.split("_")[1]),
        "record_id": record.record_id, "module": record.module_name,
        "experiment": record.experiment_name, "step": record.step_name,
        "start_time": record.start_time, "end_time": record.end_time,
        "duration_seconds": record.duration_seconds,
        "context_json": codec.dumps_value(record.context),
    }


def write_timings(status: Status, rows: list[dict[str, Any]]) -> None:
    status._write(lambda conn: conn.execute(insert(m.timings), rows),
                  f"timing {rows[0]['record_id']}")


def timings(status: Status, module: str | None = None) -> list[TimingRecord]:
    t = m.timings.c
    query = select(m.timings).where(t.run_id == status.run_id)
    if module is not None:
        query = query.where(t.module == module)
    query = query.order_by(t.seq)

    def work(conn: Connection) -> list[TimingRecord]:
        return [
            TimingRecord(
                record_id=row.record_id, module_name=row.module,
                experiment_name=row.experiment, step_name=row.step,
                start_time=row.start_time, end_time=row.end_time,
                duration_seconds=row.duration_seconds,
                context=codec.loads_value(row.context_json),
            )
            for row in conn.execute(query)
        ]

    return status.store.read(work)


TIMING_COLUMNS = ["record_id", "module_name", "experiment_name", "step_name", "start_time",
                  "end_time", "duration_seconds"]


def timing_frame(records: list[TimingRecord]) -> pd.DataFrame:
    """PETsARD's timing report: one row per record, context keys as extra columns."""
    rows = []
    for r in records:
        row = {
            "record_id": r.record_id, "module_name": r.module_name,
            "experiment_name": r.experiment_name, "step_name": r.step_name,
            # ISO text, as upstream's timing report has it.
            "start_time": r.start_time.isoformat(),
            "end_time": r.end_time.isoformat() if r.end_time else None,
            "duration_seconds": r.duration_seconds,
        }
        for key, value in r.context.items():
            row.setdefault(str(key), value)
        rows.append(row)
    if not rows:
        return pd.DataFrame(columns=TIMING_COLUMNS)
    return pd.DataFrame(rows)
