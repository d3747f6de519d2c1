"""API key scopes; existing keys keep every scope but key management.

Revision ID: 0011_security
Revises: 0010_fhir
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_security"
down_revision = "0010_fhir"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("scopes", sa.String(100), nullable=False,
                                   server_default="plans webhooks embed"))
    # Reads of patient data are audited by plan: the audit page filters on target.
    op.create_index("ix_audit_events_clinic_target", "audit_events", ["clinic_id", "target"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_clinic_target", table_name="audit_events")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("scopes")
