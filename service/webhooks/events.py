"""Recording events as deliveries in the caller's transaction, and sending them after commit."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, has_request_context, request
from sqlalchemy import ColumnElement, event, exists, or_, select
from sqlalchemy import update as sa_update
from sqlalchemy.orm import Session

from service import queue
from service.extensions import db
from service.models import Clinic, Plan, PlanRevision, public_id, utcnow
from service.webhooks import delivery
from service.webhooks.models import WebhookDelivery, WebhookEndpoint, update_deliveries

log = logging.getLogger(__name__)

DELIVER_TASK = "limber.deliver_webhook"
_SESSION_KEY = "limber_webhook_deliveries"
# Clinics this request already found without an enabled endpoint (see note_endpoints); kept in
# the request's WSGI environ, not `g`, which a test's outer app context shares between requests.
_NO_ENDPOINTS = "limber.clinics_without_webhook_endpoints"
# A delivery the committing request is sending right now is not the sweeper's yet.
_FRESH_GRACE = timedelta(seconds=2)
# A task handed to the broker but never run (lost message) is sent again after this long.
_REQUEUE_AFTER = timedelta(seconds=60)
# An attempt cannot outlive the task time limit (90 s); a claim older than this was a crash.
_STUCK_CLAIM = timedelta(seconds=120)


def public_base_url() -> str:
    """Where integrators reach us: PUBLIC_URL (which `limber run` sets from its --host and
    --port), else the host of the request being answered, else SERVER_NAME. Off-request with
    none of them (a worker of a deployment without LIMBER_PUBLIC_URL) it is "", and links are
    paths: a wrong absolute host would send a portal's API key somewhere else."""
    config = current_app.config
    if config.get("PUBLIC_URL"):
        return config["PUBLIC_URL"].rstrip("/")
    if has_request_context():
        return request.host_url.rstrip("/")
    if config.get("SERVER_NAME"):
        return f"{config.get('PREFERRED_URL_SCHEME', 'http')}://{config['SERVER_NAME']}"
    return ""


# The events a clinic can opt in to carrying the FHIR bundle's URL (Clinic.fhir_in_webhooks):
# the plan's first appearance, and the moment its bundle gains the handout.
FHIR_LINK_EVENTS = ("plan.created", "handout.ready")


def plan_event_data(plan: Plan, revision: PlanRevision,
                    event_type: str = "") -> dict[str, Any]:
    """Ids and links only: the portal fetches the rest with its API key. No patient name.

    The handout links name the revision, so the handout.ready of revision N still fetches N
    after N+1 exists: what the patient was handed can be fetched again.
    """
    base = public_base_url()
    revision_path = f"/api/v1/plans/{plan.public_id}/revisions/{revision.number}"
    data = {
        "plan_id": plan.public_id,
        "revision": revision.number,
        "plan_url": f"{base}/api/v1/plans/{plan.public_id}",
        "handout_url": f"{base}{revision_path}/handout",
        "handout_html_url": f"{base}{revision_path}/handout.html",
        "template_id": revision.template_id,
        "template_version": revision.template_version,
        "patient_reference": plan.patient_ref,
    }
    if event_type in FHIR_LINK_EVENTS:
        clinic = db.session.get(Clinic, plan.clinic_id)
        if clinic is not None and clinic.fhir_in_webhooks:
            # This revision's bundle: the latest-revision URL would move on after a revise.
            data["fhir_url"] = (f"{base}/api/v1/plans/{plan.public_id}"
                                f"/revisions/{revision.number}/fhir")
    return data


def any_enabled_endpoint(clinic_id: Any) -> ColumnElement[bool]:  # noqa: ANN401 - a column
    """Whether the clinic has an enabled endpoint, as a column for a query that reads the
    clinic anyway (the API key lookup), so an event of a clinic without one costs no query."""
    return exists().where(WebhookEndpoint.clinic_id == clinic_id,
                          WebhookEndpoint.enabled.is_(True))


def note_endpoints(clinic_id: int, any_enabled: bool) -> None:
    """Remember for this request what `any_enabled_endpoint` said. Only "none" is kept: then
    `record_event` skips its query. An endpoint registered by another request after the lookup
    is treated like one registered just after this request's commit (the event was not owed
    to it); one registered or enabled by this request forgets the note."""
    if not has_request_context():
        return
    noted = request.environ.setdefault(_NO_ENDPOINTS, set())
    if any_enabled:
        noted.discard(clinic_id)
    else:
        noted.add(clinic_id)


def _known_without_endpoints(clinic_id: int) -> bool:
    return has_request_context() and clinic_id in request.environ.get(_NO_ENDPOINTS, ())


def record_event(clinic_id: int, event_type: str, data: dict[str, Any],
                 now: datetime | None = None) -> list[int]:
    """Stage one delivery per enabled endpoint of the clinic subscribed to `event_type`.

    Runs inside the caller's transaction, so the event exists exactly when what it reports
    does; the deliveries are sent to the broker once that transaction commits.
    """
    if _known_without_endpoints(clinic_id):
        return []
    now = now or utcnow()
    endpoints = db.session.scalars(select(WebhookEndpoint).where(
        WebhookEndpoint.clinic_id == clinic_id, WebhookEndpoint.enabled.is_(True))
        .order_by(WebhookEndpoint.id)).all()
    subscribed = [e for e in endpoints if event_type in (e.events or [])]
    if not subscribed:
        return []
    body = json.dumps({"type": event_type, "timestamp": now.isoformat().replace("+00:00", "Z"),
                       "data": data}, separators=(",", ":"))
    webhook_id = public_id("msg")
    rows = [WebhookDelivery(endpoint_id=e.id, webhook_id=webhook_id, event_type=event_type,
                            payload=body, state=WebhookDelivery.PENDING, next_attempt_at=now,
                            created_at=now)
            for e in subscribed]
    db.session.add_all(rows)
    db.session.flush()
    ids = [r.id for r in rows]
    db.session.info.setdefault(_SESSION_KEY, []).extend(ids)
    return ids


def record_plan_event(plan: Plan, revision: PlanRevision, event_type: str) -> list[int]:
    if _known_without_endpoints(plan.clinic_id):
        return []
    return record_event(plan.clinic_id, event_type,
                        plan_event_data(plan, revision, event_type))


@event.listens_for(Session, "after_commit")
def _send_after_commit(session: Session) -> None:
    ids = session.info.pop(_SESSION_KEY, None)
    if not ids:
        return
    sent = []
    for delivery_id in ids:
        if not queue.send(DELIVER_TASK, delivery_id):
            break  # broker down: the rows stay due and the sweeper sends them
        sent.append(delivery_id)
    if not sent:
        return
    try:
        # This session may not run SQL after commit, so the note that keeps the sweeper from
        # sending them again goes through a connection of its own.
        # Only rows no attempt has touched yet: a fast worker may already have tried one and
        # rescheduled it, and marking that queued would hide it from the sweeper.
        table = WebhookDelivery.__table__
        with db.engine.begin() as connection:
            connection.execute(sa_update(table).where(
                table.c.id.in_(sent), table.c.state == WebhookDelivery.PENDING,
                table.c.schedule_step == 0).values(queued_at=utcnow()))
    except Exception as exc:  # noqa: BLE001 - what committed stands; see below
        # Raising here would turn a committed plan into an error response. Without the note the
        # sweeper sends these again, and the delivery task's claim makes that a no-op.
        log.warning("could not note %d sent webhook deliveries: %s", len(sent),
                    type(exc).__name__)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_SESSION_KEY, None)


def send(delivery_id: int) -> bool:
    """Hand one delivery to the broker now and note it, so the sweeper does not double it."""
    if not queue.send(DELIVER_TASK, delivery_id):
        return False
    db.session.execute(update_deliveries().where(WebhookDelivery.id == delivery_id)
                       .values(queued_at=utcnow()))
    db.session.commit()
    return True


def sweep_deliveries(now: datetime | None = None,
                     requeue_sent_before: datetime | None = None) -> int:
    """Send every delivery whose next attempt is due; free claims a crashed worker left.

    Called from the same beat task as the render outbox sweep. Safe to run anywhere, any
    number of times: the delivery task claims its row before sending. Deliveries handed to the
    broker before `requeue_sent_before` (a broker reconnect, which may have lost the queue) are
    sent again too.
    """
    now = now or utcnow()
    requeue_before = now - _REQUEUE_AFTER
    if requeue_sent_before is not None:
        requeue_before = max(requeue_before, requeue_sent_before)
    delivery.release_stuck(now, _STUCK_CLAIM)
    due = db.session.execute(select(WebhookDelivery.id, WebhookDelivery.schedule_step).where(
        WebhookDelivery.state == WebhookDelivery.PENDING,
        WebhookDelivery.next_attempt_at <= now,
        or_(
            WebhookDelivery.queued_at.is_(None)
            & or_(WebhookDelivery.schedule_step > 0,
                  WebhookDelivery.created_at <= now - _FRESH_GRACE),
            WebhookDelivery.queued_at <= requeue_before,
        ),
    ).order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(500)).all()
    sent = 0
    for delivery_id, step in due:
        if not queue.send(DELIVER_TASK, delivery_id):
            break  # broker down: the next sweep tries again
        # Conditional: if the worker already made this attempt (and rescheduled the row),
        # marking it queued would hide its next attempt from the sweeper.
        db.session.execute(update_deliveries().where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.state == WebhookDelivery.PENDING,
            WebhookDelivery.schedule_step == step).values(queued_at=now))
        db.session.commit()
        sent += 1
    if sent:
        log.info("sweeper sent %d webhook deliveries", sent)
    return sent
