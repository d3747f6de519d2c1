"""Clinics record their out-of-hours route, which every new handout prints.

Revision ID: 0008_handout
Revises: 0007_worker_heartbeats
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_handout"
down_revision = "0007_worker_heartbeats"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Empty for existing clinics: they are asked for it before their next handout, rather
    # than printing a route nobody at the clinic chose.
    with op.batch_alter_table("clinics") as batch:
        batch.add_column(sa.Column("out_of_hours", sa.String(300), nullable=False,
                                   server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("clinics") as batch:
        batch.drop_column("out_of_hours")
