"""Portal embed sessions: a one-time link exchanged for a short session bound to one patient."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.extensions import db
from service.models import ApiKey, Clinic, Plan, utcnow


class EmbedSession(db.Model):
    """One portal hand-off. Neither the link token nor the session key is stored in plain text:
    both are looked up by their sha256, like API keys."""

    __tablename__ = "embed_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    token_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                           nullable=True)
    # Set when the link is exchanged; the key itself only ever lives in the iframe's URL.
    session_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    patient_ref: Mapped[str] = mapped_column(String(120))
    patient_name: Mapped[str] = mapped_column(String(120), default="")
    template_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    clinician_name: Mapped[str] = mapped_column(String(120), default="")
    parent_origin: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    clinic: Mapped[Clinic] = relationship()
    api_key: Mapped[ApiKey] = relationship()


class EmbedSessionPlan(db.Model):
    """A plan an embed session created: the only plans that session may show."""

    __tablename__ = "embed_session_plans"
    __table_args__ = (UniqueConstraint("session_id", "plan_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("embed_sessions.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    plan: Mapped[Plan] = relationship()
