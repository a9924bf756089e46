"""The store's tables.

These models document the schema and give the hot path its ``Table`` objects
(``Snapshot.__table__``); the schema itself is created and changed only by the
Alembic migrations shipped in ``petsard_status/migrations``.

Metadata is content-addressed: ``fields`` holds each distinct field description
once, ``schemas`` each distinct schema "shell" (its attributes plus the ordered
list of field hashes), so a snapshot costs two hash references, not two copies
of the schema.  ``blobs`` holds result frames (Arrow IPC) and result trees
(JSON) by content hash.
"""

from __future__ import annotations

import datetime as dt
from typing import cast

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from petsard_status.store.columns import (
    AttributesText,
    CheckedDateTime,
    CheckedFloat,
    CheckedInteger,
)

HASH = String(32)


class Base(DeclarativeBase):
    pass


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    state: Mapped[str] = mapped_column(String(20))
    config_json: Mapped[str] = mapped_column(Text)
    head_json: Mapped[str] = mapped_column(Text)
    info_json: Mapped[str] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    failed_step: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(CheckedDateTime("runs.created_at"))
    updated_at: Mapped[dt.datetime] = mapped_column(CheckedDateTime("runs.updated_at"))
    finished_at: Mapped[dt.datetime | None] = mapped_column(CheckedDateTime("runs.finished_at"))


class SchemaDoc(Base):
    __tablename__ = "schemas"

    hash: Mapped[str] = mapped_column(HASH, primary_key=True)
    schema_id: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    field_count: Mapped[int] = mapped_column(CheckedInteger("schemas.field_count"))
    doc: Mapped[str] = mapped_column(Text)


class FieldDoc(Base):
    __tablename__ = "fields"

    hash: Mapped[str] = mapped_column(HASH, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    data_type: Mapped[str] = mapped_column(String(20))
    doc: Mapped[str] = mapped_column(Text)


class Blob(Base):
    __tablename__ = "blobs"

    hash: Mapped[str] = mapped_column(HASH, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    size: Mapped[int] = mapped_column(CheckedInteger("blobs.size"))
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Snapshot(Base):
    __tablename__ = "snapshots"
    __table_args__ = (
        UniqueConstraint("run_id", "seq", name="uq_snapshots_run_seq"),
        UniqueConstraint("run_id", "snapshot_id", name="uq_snapshots_run_snapshot_id"),
        Index("ix_snapshots_run_module_seq", "run_id", "module", "seq"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(CheckedInteger("snapshots.seq"))
    snapshot_id: Mapped[str] = mapped_column(String(64))
    module: Mapped[str] = mapped_column(String(100))
    experiment: Mapped[str] = mapped_column(Text)
    timestamp: Mapped[dt.datetime] = mapped_column(CheckedDateTime("snapshots.timestamp"))
    schema_before: Mapped[str | None] = mapped_column(ForeignKey("schemas.hash"))
    schema_after: Mapped[str | None] = mapped_column(ForeignKey("schemas.hash"))
    context_json: Mapped[str] = mapped_column(Text)
    state_json: Mapped[str] = mapped_column(Text)


class Change(Base):
    __tablename__ = "changes"
    __table_args__ = (
        UniqueConstraint("run_id", "seq", name="uq_changes_run_seq"),
        Index("ix_changes_run_module_seq", "run_id", "module", "seq"),
        Index("ix_changes_change_id", "change_id"),
        Index("ix_changes_run_type_target", "run_id", "change_type", "target_type"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(CheckedInteger("changes.seq"))
    change_id: Mapped[str] = mapped_column(String(64))
    snapshot_seq: Mapped[int] = mapped_column(CheckedInteger("changes.snapshot_seq"))
    change_type: Mapped[str] = mapped_column(String(10))
    target_type: Mapped[str] = mapped_column(String(10))
    target_id: Mapped[str] = mapped_column(Text)
    module: Mapped[str] = mapped_column(String(100))
    experiment: Mapped[str] = mapped_column(Text)
    module_context: Mapped[str] = mapped_column(Text)
    timestamp: Mapped[dt.datetime] = mapped_column(CheckedDateTime("changes.timestamp"))
    before_schema: Mapped[str | None] = mapped_column(ForeignKey("schemas.hash"))
    after_schema: Mapped[str | None] = mapped_column(ForeignKey("schemas.hash"))
    before_field: Mapped[str | None] = mapped_column(ForeignKey("fields.hash"))
    after_field: Mapped[str | None] = mapped_column(ForeignKey("fields.hash"))
    attributes: Mapped[str | None] = mapped_column(AttributesText("changes.attributes"))


class SchemaAppearance(Base):
    """A distinct schema of a module, with the change record that first showed it.

    Written with that change record; ``get_metadata_evolution`` reads it in
    ``first_seq`` order instead of grouping every schema change of the module.
    """

    __tablename__ = "schema_appearances"
    __table_args__ = (
        Index("ix_schema_appearances_order", "run_id", "module", "first_seq"),
    )

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"),
                                        primary_key=True)
    module: Mapped[str] = mapped_column(String(100), primary_key=True)
    schema_hash: Mapped[str] = mapped_column(ForeignKey("schemas.hash"), primary_key=True)
    first_seq: Mapped[int] = mapped_column(Integer)


class Timing(Base):
    __tablename__ = "timings"
    __table_args__ = (
        UniqueConstraint("run_id", "seq", name="uq_timings_run_seq"),
        Index("ix_timings_run_module", "run_id", "module"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(CheckedInteger("timings.seq"))
    record_id: Mapped[str] = mapped_column(String(64))
    module: Mapped[str] = mapped_column(String(100))
    experiment: Mapped[str] = mapped_column(Text)
    step: Mapped[str] = mapped_column(Text)
    start_time: Mapped[dt.datetime] = mapped_column(CheckedDateTime("timings.start_time"))
    end_time: Mapped[dt.datetime | None] = mapped_column(CheckedDateTime("timings.end_time"))
    duration_seconds: Mapped[float | None] = mapped_column(CheckedFloat("timings.duration_seconds"))
    context_json: Mapped[str] = mapped_column(Text)


class Restore(Base):
    __tablename__ = "restores"
    __table_args__ = (UniqueConstraint("run_id", "seq", name="uq_restores_run_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(CheckedInteger("restores.seq"))
    snapshot_id: Mapped[str] = mapped_column(String(64))
    after_snapshot_seq: Mapped[int] = mapped_column(CheckedInteger("restores.after_snapshot_seq"))
    timestamp: Mapped[dt.datetime] = mapped_column(CheckedDateTime("restores.timestamp"))


runs = cast(Table, Run.__table__)
schemas = cast(Table, SchemaDoc.__table__)
fields = cast(Table, FieldDoc.__table__)
blobs = cast(Table, Blob.__table__)
snapshots = cast(Table, Snapshot.__table__)
changes = cast(Table, Change.__table__)
schema_appearances = cast(Table, SchemaAppearance.__table__)
timings = cast(Table, Timing.__table__)
restores = cast(Table, Restore.__table__)

STORE_TABLES = ("runs", "schemas", "fields", "blobs", "snapshots", "changes",
                "schema_appearances", "timings", "restores", "materialized", "leases",
                "removed_runs")


class Materialized(Base):
    """A result frame written out as an ordinary SQL table (``petsard-status materialize``).

    ``part`` is the key of the frame inside a dict result (``"train"``), or ``""``
    when the result is one frame.
    """

    __tablename__ = "materialized"
    __table_args__ = (
        UniqueConstraint("run_id", "module", "experiment", "part", name="uq_materialized_result"),
    )

    table_name: Mapped[str] = mapped_column(String(63), primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    module: Mapped[str] = mapped_column(String(100))
    experiment: Mapped[str] = mapped_column(Text)
    snapshot_seq: Mapped[int] = mapped_column(CheckedInteger("materialized.snapshot_seq"))
    part: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(CheckedDateTime("materialized.created_at"))


materialized = cast(Table, Materialized.__table__)


class Lease(Base):
    """The process writing a run: who, and when it last said it was alive."""

    __tablename__ = "leases"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"),
                                        primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(Text)
    pid: Mapped[int] = mapped_column(Integer)
    acquired_at: Mapped[dt.datetime] = mapped_column(CheckedDateTime("leases.acquired_at"))
    heartbeat_at: Mapped[dt.datetime] = mapped_column(CheckedDateTime("leases.heartbeat_at"))


leases = cast(Table, Lease.__table__)


class RemovedRun(Base):
    """A run deleted by ``petsard-status rm``: when, by whom, what it freed."""

    __tablename__ = "removed_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    removed_at: Mapped[dt.datetime] = mapped_column(CheckedDateTime("removed_runs.removed_at"))
    snapshots: Mapped[int] = mapped_column(Integer)
    documents_freed: Mapped[int] = mapped_column(Integer)
    removed_by: Mapped[str] = mapped_column(Text)


removed_runs = cast(Table, RemovedRun.__table__)
