"""Portal embed sessions and the plans each one created.

Revision ID: 0006_embed
Revises: 0005_merge_features
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_embed"
down_revision = "0005_merge_features"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "embed_sessions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("clinic_id", sa.Integer(), sa.ForeignKey("clinics.id"), nullable=False),
        sa.Column("api_key_id", sa.Integer(), sa.ForeignKey("api_keys.id"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("token_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("token_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("session_hash", sa.String(64), nullable=True, unique=True),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("patient_ref", sa.String(120), nullable=False),
        sa.Column("patient_name", sa.String(120), nullable=False),
        sa.Column("template_id", sa.String(64), nullable=True),
        sa.Column("clinician_name", sa.String(120), nullable=False),
        sa.Column("parent_origin", sa.String(300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_embed_sessions_clinic_id", "embed_sessions", ["clinic_id"])
    op.create_index("ix_embed_sessions_api_key_id", "embed_sessions", ["api_key_id"])
    op.create_table(
        "embed_session_plans",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("session_id", sa.Integer(), sa.ForeignKey("embed_sessions.id"),
                  nullable=False),
        sa.Column("plan_id", sa.Integer(), sa.ForeignKey("plans.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("session_id", "plan_id"),
    )
    op.create_index("ix_embed_session_plans_session_id", "embed_session_plans", ["session_id"])
    op.create_index("ix_embed_session_plans_plan_id", "embed_session_plans", ["plan_id"])


def downgrade() -> None:
    op.drop_table("embed_session_plans")
    op.drop_table("embed_sessions")
