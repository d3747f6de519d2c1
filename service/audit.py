"""The audit log: who did what, when, to which ids. Never patient names or notes."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any

from flask import current_app, has_request_context, request
from sqlalchemy import JSON, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from service.extensions import db
from service.models import utcnow

SIGN_IN = "sign_in"
SIGN_IN_FAILED = "sign_in_failed"
SIGN_OUT = "sign_out"
PLAN_CREATED = "plan_created"
PLAN_REVISED = "plan_revised"
PLAN_DELETED = "plan_deleted"
CLINIC_CREATED = "clinic_created"
CLINIC_DISABLED = "clinic_disabled"
CLINIC_ENABLED = "clinic_enabled"
CLINIC_RETENTION_SET = "clinic_retention_set"
CLINIC_EXPORTED = "clinic_exported"
API_KEY_CREATED = "api_key_created"
API_KEY_REVOKED = "api_key_revoked"
API_KEY_FIRST_USED = "api_key_first_used"
# Reads of patient data: detail says what was read ("plan", "revisions", "pdf", "html") and
# through which door ("api", "ui", "embed"); the target is the plan's public id.
PLAN_VIEWED = "plan_viewed"
CLINICIAN_INVITED = "clinician_invited"
CLINICIAN_INVITE_REFUSED = "clinician_invite_refused"
CLINICIAN_DEACTIVATED = "clinician_deactivated"
CLINICIAN_REACTIVATED = "clinician_reactivated"
CLINICIAN_LINK_ISSUED = "clinician_set_password_link_issued"
PASSWORD_SET = "password_set"  # noqa: S105 - an action name, not a secret
CLINIC_UPDATED = "clinic_updated"
WEBHOOK_ENDPOINT_CREATED = "webhook_endpoint_created"
WEBHOOK_ENDPOINT_DELETED = "webhook_endpoint_deleted"
WEBHOOK_ENDPOINT_UPDATED = "webhook_endpoint_updated"
WEBHOOK_ENDPOINT_ENABLED = "webhook_endpoint_enabled"
WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint_disabled"
WEBHOOK_SECRET_ROTATED = "webhook_secret_rotated"  # noqa: S105 - an action name
WEBHOOK_REDELIVERED = "webhook_redelivered"


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    # The audit page filters one clinic's events by plan.
    __table_args__ = (Index("ix_audit_events_clinic_target", "clinic_id", "target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Null only for a failed sign-in with an address that matches no clinician.
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinics.id"), nullable=True,
                                                  index=True)
    # "clinician:<id>", "api-key:<id>", "system" or "anonymous": the same form as
    # PlanRevision.created_by.
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    # What was acted on, as an id: "pln_...", "clinician:<id>", "api-key:<id>", "clinic:<id>".
    target: Mapped[str] = mapped_column(String(80), default="")
    # Ids, field names and counts only.
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Keyed hash of the client address: lets an admin see "same source" without storing the IP.
    source: Mapped[str] = mapped_column(String(16), default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


def keyed_hash(value: str, purpose: str) -> str:
    """A short HMAC under the instance secret: comparable between events, not reversible, and
    not a plain sha256 that a list of common addresses could be matched against."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()[:16]


def event_values(action: str, *, clinic_id: int | None, actor: str, target: str = "",
                 detail: dict[str, Any] | None = None) -> dict[str, Any]:
    """One event's columns, for `record` or for a caller that inserts its rows itself (plan
    creation, service/plan_rows.py) in the same transaction."""
    source = ""
    if has_request_context() and request.remote_addr:
        source = keyed_hash(request.remote_addr, "ip")
    return {"clinic_id": clinic_id, "actor": actor, "action": action, "target": target,
            "detail": detail or {}, "source": source, "at": utcnow()}


def record(action: str, *, clinic_id: int | None, actor: str, target: str = "",
           detail: dict[str, Any] | None = None) -> AuditEvent:
    """Stage one event in the caller's transaction, so it commits (or not) with the change."""
    event = AuditEvent(**event_values(action, clinic_id=clinic_id, actor=actor, target=target,
                                      detail=detail))
    db.session.add(event)
    return event


def actor_from_request() -> str:
    """Who is making this request, in the audit's actor form."""
    from flask import g

    if g.get("api_key_id") is not None:
        return f"api-key:{g.api_key_id}"
    if g.get("clinician") is not None:
        return f"clinician:{g.clinician.id}"
    return "anonymous"


def record_read(plan_public_id: str, clinic_id: int, what: str, via: str,
                revision: int | None = None, actor: str | None = None) -> None:
    """One audit row for a read of a plan's patient data, committed at once (a read has no
    transaction of its own to ride on). Ids only: never the patient's name."""
    detail: dict[str, Any] = {"what": what, "via": via}
    if revision is not None:
        detail["revision"] = revision
    record(PLAN_VIEWED, clinic_id=clinic_id, actor=actor or actor_from_request(),
           target=plan_public_id, detail=detail)
    db.session.commit()
