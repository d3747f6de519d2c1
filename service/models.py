"""Persistent records: clinics, API keys, plans, revisions, render jobs (the outbox), handouts."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.extensions import db


def utcnow() -> datetime:
    return datetime.now(UTC)


def public_id(prefix: str) -> str:
    """Opaque ids for URLs: random, so they leak neither counts nor patient data."""
    return f"{prefix}_{secrets.token_urlsafe(12)}"


class Clinic(db.Model):
    __tablename__ = "clinics"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str] = mapped_column(String(300), default="")
    # Clinic configuration, never a template's: it depends on the clinic's country.
    emergency_number: Mapped[str] = mapped_column(String(20), default="911")
    # Where patients get help when the clinic is closed (out-of-hours number, urgent care,
    # NHS 111): printed in the handout's same-day tier. Required before the first handout.
    out_of_hours: Mapped[str] = mapped_column(String(300), default="", server_default="")
    logo_png: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    allowed_embed_origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The identifier system of the portal's patient references in FHIR exports; "" = ours.
    fhir_patient_system: Mapped[str] = mapped_column(String(300), default="", server_default="")
    # Opt-in: plan.created and handout.ready events carry the FHIR bundle's URL.
    fhir_in_webhooks: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Set by `limber clinic disable`: its keys and sign-ins are refused, its data is kept.
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Plans are erased this many days after their last revision; None keeps them.
    retention_days: Mapped[int | None] = mapped_column(Integer, nullable=True)

    @property
    def enabled(self) -> bool:
        return self.disabled_at is None


class ApiKey(db.Model):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    # The visible start of the key, so a clinic can tell its keys apart.
    prefix: Mapped[str] = mapped_column(String(32), index=True)
    key_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Space-separated names from service/scopes.py; keys made before scopes existed got the
    # default set (not "keys") from migration 0011_security.
    scopes: Mapped[str] = mapped_column(String(100), default="plans webhooks embed",
                                        server_default="plans webhooks embed")

    clinic: Mapped[Clinic] = relationship()

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()


class Plan(db.Model):
    __tablename__ = "plans"
    # The plans list pages one clinic's plans by creation time.
    __table_args__ = (Index("ix_plans_clinic_created", "clinic_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(
        String(40), unique=True, default=lambda: public_id("pln")
    )
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    patient_name: Mapped[str] = mapped_column(String(120))
    patient_ref: Mapped[str | None] = mapped_column(String(120), nullable=True, index=True)
    current_revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    revisions: Mapped[list[PlanRevision]] = relationship(
        back_populates="plan", order_by="PlanRevision.number"
    )

    @property
    def latest(self) -> PlanRevision:
        return self.revisions[-1]


class PlanRevision(db.Model):
    """An immutable resolved snapshot; edits make a new revision, never change this one."""

    __tablename__ = "plan_revisions"
    __table_args__ = (UniqueConstraint("plan_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    template_id: Mapped[str] = mapped_column(String(64))
    template_version: Mapped[int] = mapped_column(Integer)
    template_hash: Mapped[str] = mapped_column(String(64))
    # The request as the clinician sent it, so an edit starts from what they chose.
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    snapshot_sha256: Mapped[str] = mapped_column(String(64))
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    plan: Mapped[Plan] = relationship(back_populates="revisions")


class RenderJob(db.Model):
    """The outbox row for one handout render; the database, not the broker, is the truth."""

    __tablename__ = "render_jobs"
    __table_args__ = (UniqueConstraint("revision_id", "options_key"),)

    PENDING = "pending"  # stored, not yet handed to the broker
    QUEUED = "queued"  # handed to the broker
    RENDERING = "rendering"
    DONE = "done"
    FAILED = "failed"

    id: Mapped[int] = mapped_column(primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("plan_revisions.id"), index=True)
    options_key: Mapped[str] = mapped_column(String(40))
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # "host:pid" of the worker process that claimed it (status rendering): lets a redelivery on
    # the same host tell a live claim from one whose process was killed.
    claimed_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # A class name and short reason only: never patient text.
    error: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    revision: Mapped[PlanRevision] = relationship()


class Handout(db.Model):
    __tablename__ = "handouts"
    __table_args__ = (UniqueConstraint("revision_id", "options_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("plan_revisions.id"), index=True)
    options_key: Mapped[str] = mapped_column(String(40))
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    # The same handout as accessible HTML, rendered by the worker beside the PDF.
    html: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    pages: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WorkerHeartbeat(db.Model):
    """When each Celery worker was last alive: /readyz is not ready when none was seen lately."""

    __tablename__ = "worker_heartbeats"

    hostname: Mapped[str] = mapped_column(String(200), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


__all__ = ["ApiKey", "Clinic", "Handout", "Plan", "PlanRevision", "RenderJob", "WorkerHeartbeat"]
