"""Webhook endpoints a clinic registered, the deliveries owed to them, and every attempt made."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Update,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.extensions import db
from service.models import public_id, utcnow

EVENT_TYPES = ("plan.created", "plan.revised", "handout.ready", "handout.failed",
               "plan.deleted")


class WebhookEndpoint(db.Model):
    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(
        String(40), unique=True, default=lambda: public_id("whe"))
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(300), default="")
    events: Mapped[list[str]] = mapped_column(JSON, default=lambda: list(EVENT_TYPES))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Why it was switched off, in our words (e.g. the receiver answered 410 Gone).
    disabled_reason: Mapped[str] = mapped_column(String(300), default="")
    # Fernet ciphertexts (service.webhooks.secrets): we must sign, so a hash would not do.
    secret_ciphertext: Mapped[str] = mapped_column(Text)
    previous_secret_ciphertext: Mapped[str | None] = mapped_column(Text, nullable=True)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    deliveries: Mapped[list[WebhookDelivery]] = relationship(
        back_populates="endpoint")


class WebhookDelivery(db.Model):
    """One event owed to one endpoint; its retry schedule lives here, not in the broker."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "webhook_id"),
        Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
    )

    PENDING = "pending"  # due at next_attempt_at
    SENDING = "sending"  # claimed by one worker, attempt in flight
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # schedule exhausted, or the receiver answered 410 Gone
    CANCELLED = "cancelled"  # its endpoint was disabled before it could be sent

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(
        String(40), unique=True, default=lambda: public_id("dlv"))
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True)
    # The Standard Webhooks `webhook-id`: one per event, kept across retries and redelivery.
    webhook_id: Mapped[str] = mapped_column(String(40), index=True)
    event_type: Mapped[str] = mapped_column(String(40))
    # The exact body, so every attempt sends (and signs) the same bytes.
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default=PENDING)
    # Index into the configured retry schedule of the next attempt.
    schedule_step: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True)
    # When a task for it was last handed to the broker; cleared when it is rescheduled.
    queued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Set by a manual redelivery so its attempt is marked as one in the log.
    manual: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    endpoint: Mapped[WebhookEndpoint] = relationship(back_populates="deliveries")
    attempts: Mapped[list[WebhookAttempt]] = relationship(
        order_by="WebhookAttempt.id")


class WebhookAttempt(db.Model):
    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # An error class and short reason of our own making: never the receiver's body.
    error: Mapped[str] = mapped_column(String(300), default="")
    manual: Mapped[bool] = mapped_column(Boolean, default=False)


def update_deliveries() -> Update:
    """A bulk UPDATE that leaves loaded objects alone rather than re-evaluating its WHERE in
    Python (SQLite hands back naive datetimes); every caller commits right after."""
    return update(WebhookDelivery).execution_options(synchronize_session=False)
