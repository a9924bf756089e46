"""Where each distinct schema of a module first appeared.

``get_metadata_evolution(module)`` lists the distinct schemas a module had, in
the order they first appeared.  Grouping the change records for that costs a
scan of every schema change of the module (20,000 on a run of 100,000
snapshots); this table holds one row per distinct schema, written with the
change that introduced it, so the listing is a range of an index.  It replaces
0006's index on the change records, which served that grouping alone.

Revision ID: 0007_schema_appearances
Revises: 0006_evolution_index
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_schema_appearances"
down_revision = "0006_evolution_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schema_appearances",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("module", sa.String(100), primary_key=True),
        sa.Column("schema_hash", sa.String(32), sa.ForeignKey("schemas.hash"),
                  primary_key=True),
        sa.Column("first_seq", sa.Integer, nullable=False),
    )
    op.create_index("ix_schema_appearances_order", "schema_appearances",
                    ["run_id", "module", "first_seq"])
    op.execute(
        "INSERT INTO schema_appearances (run_id, module, schema_hash, first_seq) "
        "SELECT run_id, module, after_schema, MIN(seq) FROM changes "
        "WHERE target_type = 'schema' AND after_schema IS NOT NULL "
        "GROUP BY run_id, module, after_schema"
    )
    op.drop_index("ix_changes_run_module_target_schema", table_name="changes")


def downgrade() -> None:
    op.create_index("ix_changes_run_module_target_schema", "changes",
                    ["run_id", "module", "target_type", "after_schema", "seq"])
    op.drop_index("ix_schema_appearances_order", table_name="schema_appearances")
    op.drop_table("schema_appearances")
