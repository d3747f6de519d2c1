"""Clinicians and their server-side sign-in sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.extensions import db
from service.models import Clinic, utcnow


class Clinician(db.Model):
    """Someone who signs in to build plans; a clinic admin also manages the clinic."""

    __tablename__ = "clinicians"

    CLINICIAN = "clinician"
    ADMIN = "admin"
    ROLES = (CLINICIAN, ADMIN)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    # Stored lower-cased: people type their address with whatever capitals they like.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16), default=CLINICIAN)
    # Empty until the invitee chooses a password through their set-password link.
    password_hash: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # sha256 of a one-time set-password token; the token itself is shown once to the admin.
    set_password_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    set_password_expires_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                             nullable=True)

    clinic: Mapped[Clinic] = relationship()

    @property
    def is_admin(self) -> bool:
        return self.role == self.ADMIN


class ClinicianSession(db.Model):
    """One signed-in browser. The cookie holds a random token; only its hash is stored, so a
    database leak does not hand out live sessions."""

    __tablename__ = "clinician_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("clinicians.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    clinician: Mapped[Clinician] = relationship()
