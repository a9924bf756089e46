"""Views for reading the store with plain SQL.

Revision ID: 0002_views
Revises: 0001_initial
Create Date: 2026-11-28
"""

from alembic import op

revision = "0002_views"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

VIEWS = {
    "snapshot_view": """
        SELECT r.name AS run, s.seq, s.snapshot_id, s.module, s.experiment, s.timestamp,
               s.schema_before, s.schema_after,
               CASE WHEN s.schema_after IS NULL THEN 0
                    WHEN s.schema_before IS NULL THEN 1
                    WHEN s.schema_before <> s.schema_after THEN 1
                    ELSE 0 END AS schema_changed
        FROM snapshots s JOIN runs r ON r.id = s.run_id
    """,
    "change_view": """
        SELECT r.name AS run, c.seq, c.change_id, c.module, c.experiment, c.change_type,
               c.target_type, c.target_id, c.attributes, c.timestamp,
               COALESCE(c.after_schema, c.before_schema) AS schema_hash
        FROM changes c JOIN runs r ON r.id = c.run_id
        WHERE c.target_type = 'schema'
    """,
    "field_change_view": """
        SELECT r.name AS run, c.seq, c.change_id, c.module, c.experiment, c.change_type,
               c.target_id AS field, c.attributes, c.timestamp,
               fb.data_type AS data_type_before, fa.data_type AS data_type_after,
               c.before_field, c.after_field
        FROM changes c
        JOIN runs r ON r.id = c.run_id
        LEFT JOIN fields fb ON fb.hash = c.before_field
        LEFT JOIN fields fa ON fa.hash = c.after_field
        WHERE c.target_type = 'field'
    """,
    "timing_view": """
        SELECT r.name AS run, t.seq, t.record_id, t.module, t.experiment, t.step,
               t.start_time, t.end_time, t.duration_seconds
        FROM timings t JOIN runs r ON r.id = t.run_id
    """,
    "run_view": """
        SELECT r.name AS run, r.state, r.created_at, r.updated_at, r.finished_at, r.error,
               (SELECT COUNT(*) FROM snapshots s WHERE s.run_id = r.id) AS snapshots,
               (SELECT COUNT(*) FROM changes c WHERE c.run_id = r.id) AS changes
        FROM runs r
    """,
}


def upgrade() -> None:
    for name, body in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {body}")


def downgrade() -> None:
    for name in reversed(list(VIEWS)):
        op.execute(f"DROP VIEW IF EXISTS {name}")
