"""Run leases, and the log of removed runs.

``leases``: a writer holds one row per run it writes (host, pid, a heartbeat
refreshed while it runs); a run whose lease has not been refreshed for a while
is shown as stale, and may be taken over by ``resume``.

``removed_runs``: ``petsard-status rm`` deletes a run's rows and the documents
no other run uses, and records here that it did.

Revision ID: 0005_leases
Revises: 0004_summary_index
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_leases"
down_revision = "0004_summary_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("acquired_at", sa.DateTime, nullable=False),
        sa.Column("heartbeat_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "removed_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("removed_at", sa.DateTime, nullable=False),
        sa.Column("snapshots", sa.Integer, nullable=False),
        sa.Column("documents_freed", sa.Integer, nullable=False),
        sa.Column("removed_by", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("removed_runs")
    op.drop_table("leases")
