"""Erasing a plan: its patient data, revisions and handouts go; an audit row without them stays.

Used by `DELETE /api/v1/plans/{id}`, the admin page's delete button and the retention sweep, so
the three erase exactly the same things.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update

from service import audit, webhooks
from service.extensions import db
from service.models import Clinic, Handout, Plan, PlanRevision, RenderJob, utcnow

log = logging.getLogger(__name__)

# How many expired plans one sweep erases, so a clinic that just set a short retention does
# not hold the sweeper for minutes; the next sweep carries on.
RETENTION_BATCH = 200


def _scrub_deliveries(plan: Plan) -> int:
    """Past webhook payloads about the plan keep their ids but lose the patient reference.

    The bodies are stored to be re-signed and retried; a portal that asks for a redelivery
    after an erasure must not get the patient's reference back.
    """
    from service.webhooks.models import WebhookDelivery, WebhookEndpoint

    rows = db.session.scalars(
        select(WebhookDelivery).join(WebhookEndpoint)
        .where(WebhookEndpoint.clinic_id == plan.clinic_id,
               WebhookDelivery.payload.contains(plan.public_id)))
    scrubbed = 0
    for row in rows:
        body = json.loads(row.payload)
        data = body.get("data") or {}
        if data.get("plan_id") != plan.public_id:
            continue
        if data.get("patient_reference") is not None:
            data["patient_reference"] = None
            row.payload = json.dumps(body, separators=(",", ":"))
            scrubbed += 1
    return scrubbed


def _forget_idempotent_answers(plan: Plan) -> int:
    """Stored answers replayed for a retried POST or PATCH hold the patient's name."""
    from service.idempotency import IdempotencyRecord

    result = db.session.execute(delete(IdempotencyRecord).where(
        IdempotencyRecord.clinic_id == plan.clinic_id,
        IdempotencyRecord.response_body.contains(plan.public_id)))
    return result.rowcount or 0


def _end_embed_links(plan: Plan) -> None:
    """Embed sessions that made the plan lose it, and the patient name they were opened with."""
    from service.embed.models import EmbedSession, EmbedSessionPlan

    session_ids = list(db.session.scalars(
        select(EmbedSessionPlan.session_id).where(EmbedSessionPlan.plan_id == plan.id)))
    db.session.execute(delete(EmbedSessionPlan).where(EmbedSessionPlan.plan_id == plan.id))
    if session_ids:
        db.session.execute(update(EmbedSession).where(EmbedSession.id.in_(session_ids))
                           .values(patient_name=""))


def erase_plan(plan: Plan, actor: str, reason: str = "request") -> None:
    """Erase one plan in the caller's transaction and stage its `plan.deleted` event.

    `reason` is "request" (API or admin page) or "retention"; it goes into the audit row,
    which keeps only the plan id and counts.
    """
    revision_ids = list(db.session.scalars(
        select(PlanRevision.id).where(PlanRevision.plan_id == plan.id)))
    public_id, clinic_id = plan.public_id, plan.clinic_id
    scrubbed = _scrub_deliveries(plan)
    forgotten = _forget_idempotent_answers(plan)
    _end_embed_links(plan)
    if revision_ids:
        db.session.execute(delete(Handout).where(Handout.revision_id.in_(revision_ids)))
        db.session.execute(delete(RenderJob).where(RenderJob.revision_id.in_(revision_ids)))
        db.session.execute(delete(PlanRevision).where(PlanRevision.id.in_(revision_ids)))
    db.session.expire(plan, ["revisions"])
    db.session.delete(plan)
    webhooks.record_event(clinic_id, "plan.deleted", {
        "plan_id": public_id, "revisions": len(revision_ids), "reason": reason})
    audit.record(audit.PLAN_DELETED, clinic_id=clinic_id, actor=actor, target=public_id,
                 detail={"revisions": len(revision_ids), "reason": reason,
                         "webhook_payloads_scrubbed": scrubbed,
                         "idempotency_answers_forgotten": forgotten})


def last_revised_before(cutoff: datetime) -> object:
    """Plans whose newest revision is older than `cutoff` (updated_at moves with each one)."""
    return Plan.updated_at < cutoff


def sweep_retention(now: datetime | None = None) -> int:
    """Erase plans past their clinic's retention period; returns how many went."""
    now = now or utcnow()
    erased = 0
    clinics = list(db.session.scalars(select(Clinic).where(Clinic.retention_days.is_not(None))))
    for clinic in clinics:
        cutoff = now - timedelta(days=clinic.retention_days)
        plans = list(db.session.scalars(
            select(Plan).where(Plan.clinic_id == clinic.id, last_revised_before(cutoff))
            .order_by(Plan.updated_at).limit(RETENTION_BATCH - erased)))
        for plan in plans:
            erase_plan(plan, actor="system", reason="retention")
            erased += 1
        db.session.commit()
        if erased >= RETENTION_BATCH:
            break
    if erased:
        log.info("retention erased %d plan(s)", erased)
    return erased


def count_expired(clinic: Clinic, days: int, now: datetime | None = None) -> int:
    """How many of the clinic's plans a retention of `days` would erase at the next sweep."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    return db.session.scalar(select(func.count(Plan.id)).where(
        Plan.clinic_id == clinic.id, last_revised_before(cutoff))) or 0
