"""Clinics record their out-of-hours route, which every new handout prints.

Revision ID: 0009_handout
Revises: 0008_reliability
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_handout"
down_revision = "0008_reliability"
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
