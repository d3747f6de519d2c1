"""FHIR export settings per clinic: the patient identifier system and webhook links.

Revision ID: 0008_fhir
Revises: 0007_worker_heartbeats
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_fhir"
down_revision = "0007_worker_heartbeats"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clinics") as batch:
        batch.add_column(sa.Column("fhir_patient_system", sa.String(300), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("fhir_in_webhooks", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("clinics") as batch:
        batch.drop_column("fhir_in_webhooks")
        batch.drop_column("fhir_patient_system")
