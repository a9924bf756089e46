"""Initial store: runs, content-addressed metadata and blobs, snapshots, changes, timings.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

HASH = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("config_json", sa.Text, nullable=False),
        sa.Column("head_json", sa.Text, nullable=False),
        sa.Column("info_json", sa.Text, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("failed_step", sa.Text),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
    )
    op.create_table(
        "schemas",
        sa.Column("hash", HASH, primary_key=True),
        sa.Column("schema_id", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("field_count", sa.Integer, nullable=False),
        sa.Column("doc", sa.Text, nullable=False),
    )
    op.create_table(
        "fields",
        sa.Column("hash", HASH, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("data_type", sa.String(20), nullable=False),
        sa.Column("doc", sa.Text, nullable=False),
    )
    op.create_table(
        "blobs",
        sa.Column("hash", HASH, primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "snapshots",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("snapshot_id", sa.String(64), nullable=False),
        sa.Column("module", sa.String(100), nullable=False),
        sa.Column("experiment", sa.Text, nullable=False),
        sa.Column("timestamp", sa.DateTime, nullable=False),
        sa.Column("schema_before", HASH, sa.ForeignKey("schemas.hash")),
        sa.Column("schema_after", HASH, sa.ForeignKey("schemas.hash")),
        sa.Column("context_json", sa.Text, nullable=False),
        sa.Column("state_json", sa.Text, nullable=False),
        sa.UniqueConstraint("run_id", "seq", name="uq_snapshots_run_seq"),
        sa.UniqueConstraint("run_id", "snapshot_id", name="uq_snapshots_run_snapshot_id"),
    )
    op.create_index("ix_snapshots_run_module_seq", "snapshots", ["run_id", "module", "seq"])
    op.create_table(
        "changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("change_id", sa.String(64), nullable=False),
        sa.Column("snapshot_seq", sa.Integer, nullable=False),
        sa.Column("change_type", sa.String(10), nullable=False),
        sa.Column("target_type", sa.String(10), nullable=False),
        sa.Column("target_id", sa.Text, nullable=False),
        sa.Column("module", sa.String(100), nullable=False),
        sa.Column("experiment", sa.Text, nullable=False),
        sa.Column("module_context", sa.Text, nullable=False),
        sa.Column("timestamp", sa.DateTime, nullable=False),
        sa.Column("before_schema", HASH, sa.ForeignKey("schemas.hash")),
        sa.Column("after_schema", HASH, sa.ForeignKey("schemas.hash")),
        sa.Column("before_field", HASH, sa.ForeignKey("fields.hash")),
        sa.Column("after_field", HASH, sa.ForeignKey("fields.hash")),
        sa.Column("attributes", sa.Text),
        sa.UniqueConstraint("run_id", "seq", name="uq_changes_run_seq"),
    )
    op.create_index("ix_changes_run_module_seq", "changes", ["run_id", "module", "seq"])
    op.create_index("ix_changes_change_id", "changes", ["change_id"])
    op.create_table(
        "timings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("record_id", sa.String(64), nullable=False),
        sa.Column("module", sa.String(100), nullable=False),
        sa.Column("experiment", sa.Text, nullable=False),
        sa.Column("step", sa.Text, nullable=False),
        sa.Column("start_time", sa.DateTime, nullable=False),
        sa.Column("end_time", sa.DateTime),
        sa.Column("duration_seconds", sa.Float),
        sa.Column("context_json", sa.Text, nullable=False),
        sa.UniqueConstraint("run_id", "seq", name="uq_timings_run_seq"),
    )
    op.create_index("ix_timings_run_module", "timings", ["run_id", "module"])
    op.create_table(
        "restores",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("snapshot_id", sa.String(64), nullable=False),
        sa.Column("after_snapshot_seq", sa.Integer, nullable=False),
        sa.Column("timestamp", sa.DateTime, nullable=False),
        sa.UniqueConstraint("run_id", "seq", name="uq_restores_run_seq"),
    )


def downgrade() -> None:
    for table in ("restores", "timings", "changes", "snapshots", "blobs", "fields", "schemas"):
        op.drop_table(table)
    op.drop_table("runs")
