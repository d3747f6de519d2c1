"""FHIR export settings per clinic: the patient identifier system and webhook links.

Revision ID: 0010_fhir
Revises: 0009_handout
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_fhir"
down_revision = "0009_handout"
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
