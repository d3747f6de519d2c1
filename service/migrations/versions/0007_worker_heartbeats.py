"""Worker heartbeats, so readiness can tell when no worker is taking handouts.

Revision ID: 0007_worker_heartbeats
Revises: 0006_embed
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_worker_heartbeats"
down_revision = "0006_embed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "worker_heartbeats",
        sa.Column("hostname", sa.String(200), primary_key=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_worker_heartbeats_seen_at", "worker_heartbeats", ["seen_at"])


def downgrade() -> None:
    op.drop_index("ix_worker_heartbeats_seen_at", table_name="worker_heartbeats")
    op.drop_table("worker_heartbeats")
