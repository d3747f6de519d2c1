"""One delivery attempt: claim the row, sign, POST, record, and schedule what comes next."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from standardwebhooks.webhooks import Webhook

from service.extensions import db
from service.models import utcnow
from service.webhooks import http
from service.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    update_deliveries,
)
from service.webhooks.secret_store import SecretUnreadable, decrypt

log = logging.getLogger(__name__)


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def schedule() -> list[float]:
    return [float(s) for s in current_app.config["WEBHOOK_RETRY_SCHEDULE"]]


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The current secret, plus the previous one while its rotation overlap lasts."""
    found = [decrypt(endpoint.secret_ciphertext)]
    expires = aware(endpoint.previous_secret_expires_at)
    if endpoint.previous_secret_ciphertext and expires and expires > now:
        found.append(decrypt(endpoint.previous_secret_ciphertext))
    return found


def signed_headers(endpoint: WebhookEndpoint, webhook_id: str, body: str,
                   now: datetime) -> dict[str, str]:
    """Standard Webhooks v1 headers; during a rotation both signatures, space-separated."""
    signatures = [Webhook(secret).sign(webhook_id, now, body)
                  for secret in signing_secrets(endpoint, now)]
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": " ".join(signatures),
        "Content-Type": "application/json",
        "User-Agent": "Limber-Webhooks/1",
    }


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Retry-After as delay-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (aware(when) - now).total_seconds())


def _clinic_busy(delivery_id: int, now: datetime) -> bool:
    """The delivery's clinic already has its share of attempts in flight.

    One clinic's slow receivers would otherwise take every delivery slot and hold back every
    other clinic. Counted before the claim, so two claims at once may both pass: the cap is a
    fairness bound, not an exact one.
    """
    limit = current_app.config["WEBHOOK_CLINIC_IN_FLIGHT"]
    clinic_id = select(WebhookEndpoint.clinic_id).join(
        WebhookDelivery, WebhookDelivery.endpoint_id == WebhookEndpoint.id).where(
        WebhookDelivery.id == delivery_id).scalar_subquery()
    in_flight = db.session.scalar(
        select(func.count()).select_from(WebhookDelivery).join(WebhookEndpoint).where(
            WebhookEndpoint.clinic_id == clinic_id,
            WebhookDelivery.state == WebhookDelivery.SENDING,
            # A claim older than any attempt can last belongs to a dead worker.
            WebhookDelivery.claimed_at > now - timedelta(seconds=60)))
    return (in_flight or 0) >= limit


def claim(delivery_id: int, now: datetime, own_claims: list[str] | None = None) -> bool:
    """Take the row for this worker; a concurrent or duplicate run gets False and sends nothing.
    The claim's time goes into `own_claims` before the statement runs: if the database goes
    away around its commit, the claim may stand although the task never heard it did."""
    if own_claims is not None:
        own_claims.append(now.isoformat())
    claimed = db.session.execute(update_deliveries().where(
        WebhookDelivery.id == delivery_id,
        WebhookDelivery.state == WebhookDelivery.PENDING,
        WebhookDelivery.next_attempt_at <= now,
    ).values(state=WebhookDelivery.SENDING, claimed_at=now)).rowcount
    db.session.commit()
    return claimed == 1


def cancel_pending(endpoint: WebhookEndpoint, now: datetime) -> None:
    db.session.execute(update_deliveries().where(
        WebhookDelivery.endpoint_id == endpoint.id,
        WebhookDelivery.state == WebhookDelivery.PENDING,
    ).values(state=WebhookDelivery.CANCELLED, next_attempt_at=None, finished_at=now))


def remove_endpoint(endpoint: WebhookEndpoint) -> None:
    """Delete an endpoint with its log, explicitly: SQLite does not enforce ON DELETE CASCADE."""
    deliveries = select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == endpoint.id)
    db.session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries)))
    db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    db.session.execute(delete(WebhookEndpoint).where(WebhookEndpoint.id == endpoint.id))


# What `attempt` returns when the clinic has its share of attempts in flight: try again soon.
BUSY = "busy"


def release_own_claims(delivery_id: int, own_claims: list[str]) -> int:
    """Put the delivery back on its schedule if it is still claimed by one of this task's
    earlier tries, cut short by a database error after the claim committed (it would otherwise
    wait out the stuck-claim rule, two minutes). The interrupted try may have reached the
    receiver; the next one sends the same webhook-id, which receivers deduplicate."""
    released = db.session.execute(update_deliveries().where(
        WebhookDelivery.id == delivery_id,
        WebhookDelivery.state == WebhookDelivery.SENDING,
        WebhookDelivery.claimed_at.in_([datetime.fromisoformat(c) for c in own_claims]),
    ).values(state=WebhookDelivery.PENDING, claimed_at=None)).rowcount
    db.session.commit()
    return released


def attempt(delivery_id: int, own_claims: list[str] | None = None) -> str | None:
    """Make the delivery's due attempt once; returns its new state, None if not ours to send,
    or BUSY when its clinic already has WEBHOOK_CLINIC_IN_FLIGHT attempts under way.
    `own_claims` (kept by the task across its tries) holds the times of this task's claims."""
    if own_claims and release_own_claims(delivery_id, own_claims):
        log.info("webhook delivery %s: a claim cut short by a database error released",
                 delivery_id)
    now = utcnow()
    if _clinic_busy(delivery_id, now):
        db.session.rollback()
        return BUSY
    if not claim(delivery_id, now, own_claims):
        return None
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        return None  # its endpoint was deleted meanwhile
    endpoint = delivery.endpoint
    record = WebhookAttempt(delivery_id=delivery.id, started_at=now, manual=delivery.manual)
    delivery.manual = False
    answer: http.Answer | None = None
    started = time.monotonic()
    try:
        if not endpoint.enabled:
            raise http.DeliveryError("EndpointDisabled")
        headers = signed_headers(endpoint, delivery.webhook_id, delivery.payload, now)
        answer = http.post(endpoint.url, delivery.payload.encode(), headers,
                           allow_private=current_app.config["WEBHOOK_ALLOW_PRIVATE"],
                           connect_timeout=current_app.config["WEBHOOK_CONNECT_TIMEOUT"],
                           read_timeout=current_app.config["WEBHOOK_READ_TIMEOUT"],
                           ca_bundle=current_app.config["WEBHOOK_CA_BUNDLE"])
        record.status_code = answer.status
    except http.AddressNotAllowed as exc:
        record.error = f"AddressNotAllowed: {exc}"[:300]
    except http.DeliveryError as exc:
        record.error = exc.kind if str(exc) == exc.kind else f"{exc.kind}: {exc}"[:300]
    except SecretUnreadable:
        record.error = "SecretUnreadable: rotate the endpoint's secret"
    record.duration_ms = int((time.monotonic() - started) * 1000)
    db.session.add(record)

    delivery.claimed_at = None
    if not endpoint.enabled:
        delivery.state, delivery.next_attempt_at, delivery.finished_at = (
            WebhookDelivery.CANCELLED, None, now)
    elif answer is not None and 200 <= answer.status < 300:
        delivery.state, delivery.next_attempt_at, delivery.finished_at = (
            WebhookDelivery.SUCCEEDED, None, utcnow())
    elif answer is not None and answer.status == 410:
        # The receiver told us it is gone for good: stop sending it anything.
        endpoint.enabled = False
        endpoint.disabled_reason = f"The endpoint answered 410 Gone at {now.isoformat()}"
        endpoint.updated_at = now
        delivery.state, delivery.next_attempt_at, delivery.finished_at = (
            WebhookDelivery.FAILED, None, now)
        cancel_pending(endpoint, now)
    else:
        _reschedule(delivery, answer, now)
    outcome, public = delivery.state, delivery.public_id
    try:
        db.session.commit()
    except (StaleDataError, IntegrityError):
        # The endpoint was deleted while we were sending: there is no log left to write to.
        db.session.rollback()
        log.info("webhook delivery %s: endpoint deleted during the attempt", public)
        return None
    log.info("webhook delivery %s attempt: %s -> %s", public,
             record.status_code or record.error.split(":", 1)[0], outcome)
    return outcome


def _reschedule(delivery: WebhookDelivery, answer: http.Answer | None, now: datetime) -> None:
    steps = schedule()
    delivery.schedule_step += 1
    if delivery.schedule_step >= len(steps):
        delivery.state, delivery.next_attempt_at, delivery.finished_at = (
            WebhookDelivery.FAILED, None, now)
        return
    delay = steps[delivery.schedule_step]
    asked = retry_after_seconds(answer.headers.get("retry-after"), now) if answer else None
    if asked is not None and asked > delay:
        # Honour a later time the receiver asks for, but never park a delivery past the
        # schedule's longest wait.
        delay = min(asked, max(steps))
    delivery.state = WebhookDelivery.PENDING
    delivery.next_attempt_at = now + timedelta(seconds=delay)
    delivery.queued_at = None


def release_stuck(now: datetime, stuck_after: timedelta) -> int:
    """A claim older than any attempt can last means its worker died mid-attempt: log that
    attempt as lost and put the delivery back on its schedule."""
    stuck = db.session.scalars(select(WebhookDelivery).where(
        WebhookDelivery.state == WebhookDelivery.SENDING,
        WebhookDelivery.claimed_at <= now - stuck_after)).all()
    for delivery in stuck:
        db.session.add(WebhookAttempt(
            delivery_id=delivery.id, started_at=aware(delivery.claimed_at),
            error=f"WorkerLost: no outcome within {int(stuck_after.total_seconds())} s",
            manual=delivery.manual))
        delivery.manual = False
        delivery.claimed_at = None
        _reschedule(delivery, None, now)
    db.session.commit()
    return len(stuck)


def redeliver(delivery: WebhookDelivery) -> None:
    """Start the schedule again for the same event, keeping its webhook-id and body."""
    now = utcnow()
    delivery.state = WebhookDelivery.PENDING
    delivery.schedule_step = 0
    delivery.next_attempt_at = now
    delivery.queued_at = None
    delivery.finished_at = None
    delivery.manual = True
