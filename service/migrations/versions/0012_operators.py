"""Clinic lifecycle: a clinic can be disabled (data kept) and can set a plan retention period.

Revision ID: 0012_operators
Revises: 0011_security
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_operators"
down_revision = "0011_security"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clinics") as batch:
        batch.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("retention_days", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clinics") as batch:
        batch.drop_column("retention_days")
        batch.drop_column("disabled_at")
