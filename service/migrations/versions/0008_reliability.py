"""Render jobs record which worker process claimed them.

Revision ID: 0008_reliability
Revises: 0007_worker_heartbeats
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_reliability"
down_revision = "0007_worker_heartbeats"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("render_jobs") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(120), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("render_jobs") as batch:
        batch.drop_column("claimed_by")
