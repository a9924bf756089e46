"""Materialized result tables, and a view of every schema's fields.

``materialized`` records the ordinary SQL tables that ``petsard-status
materialize`` writes from a run's result frames; ``materialized_view`` lists
them by run name.  ``schema_field_view`` unfolds each stored schema into one row
per field (its position, type and main statistics), so that a snapshot's
metadata can be read with plain SQL; it needs the database's JSON functions,
which differ between SQLite and PostgreSQL.

Revision ID: 0003_materialized
Revises: 0002_views
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_materialized"
down_revision = "0002_views"
branch_labels = None
depends_on = None

MATERIALIZED_VIEW = """
    SELECT r.name AS run, mt.module, mt.experiment, mt.part, mt.table_name,
           mt.snapshot_seq, s.snapshot_id, mt.created_at
    FROM materialized mt
    JOIN runs r ON r.id = mt.run_id
    LEFT JOIN snapshots s ON s.run_id = mt.run_id AND s.seq = mt.snapshot_seq
"""

# Field documents are canonical JSON envelopes: the field itself is under "value".
SCHEMA_FIELD_VIEW = {
    "sqlite": """
        SELECT sc.hash AS schema_hash, sc.schema_id, CAST(j.key AS INTEGER) AS position,
               f.name AS field, f.data_type,
               json_extract(f.doc, '$.value.logical_type') AS logical_type,
               json_extract(f.doc, '$.value.nullable') AS nullable,
               json_extract(f.doc, '$.value.stats.row_count') AS row_count,
               json_extract(f.doc, '$.value.stats.na_count') AS na_count,
               json_extract(f.doc, '$.value.stats.distinct_count') AS distinct_count,
               json_extract(f.doc, '$.value.stats.min_value') AS min_value,
               json_extract(f.doc, '$.value.stats.max_value') AS max_value,
               f.hash AS field_hash
        FROM schemas sc
        JOIN json_each(sc.doc, '$.value.field_refs') j
        JOIN fields f ON f.hash = j.value
    """,
    "postgresql": """
        SELECT sc.hash AS schema_hash, sc.schema_id, CAST(j.ordinality - 1 AS INTEGER) AS position,
               f.name AS field, f.data_type,
               CAST(f.doc AS json) -> 'value' ->> 'logical_type' AS logical_type,
               CAST(CAST(f.doc AS json) -> 'value' ->> 'nullable' AS boolean) AS nullable,
               CAST(CAST(f.doc AS json) -> 'value' -> 'stats' ->> 'row_count' AS bigint)
                   AS row_count,
               CAST(CAST(f.doc AS json) -> 'value' -> 'stats' ->> 'na_count' AS bigint)
                   AS na_count,
               CAST(CAST(f.doc AS json) -> 'value' -> 'stats' ->> 'distinct_count' AS bigint)
                   AS distinct_count,
               CAST(f.doc AS json) -> 'value' -> 'stats' ->> 'min_value' AS min_value,
               CAST(f.doc AS json) -> 'value' -> 'stats' ->> 'max_value' AS max_value,
               f.hash AS field_hash
        FROM schemas sc
        CROSS JOIN LATERAL json_array_elements_text(CAST(sc.doc AS json) -> 'value' -> 'field_refs')
            WITH ORDINALITY AS j(ref, ordinality)
        JOIN fields f ON f.hash = j.ref
    """,
}


def upgrade() -> None:
    op.create_table(
        "materialized",
        sa.Column("table_name", sa.String(63), primary_key=True),
        sa.Column(
            "run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("module", sa.String(100), nullable=False),
        sa.Column("experiment", sa.Text, nullable=False),
        sa.Column("snapshot_seq", sa.Integer, nullable=False),
        sa.Column("part", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint(
            "run_id", "module", "experiment", "part", name="uq_materialized_result"
        ),
    )
    op.execute(f"CREATE VIEW materialized_view AS {MATERIALIZED_VIEW}")
    dialect = op.get_bind().dialect.name
    body = SCHEMA_FIELD_VIEW.get(dialect)
    if body is not None:
        op.execute(f"CREATE VIEW schema_field_view AS {body}")


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS schema_field_view")
    op.execute("DROP VIEW IF EXISTS materialized_view")
    op.drop_table("materialized")
