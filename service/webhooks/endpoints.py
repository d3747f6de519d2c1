"""Endpoint changes shared by the API and the admin pages: checks, secrets, the audit trail."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from service import audit
from service.extensions import db
from service.models import utcnow
from service.webhooks import delivery as deliveries
from service.webhooks import http
from service.webhooks.events import note_endpoints
from service.webhooks.models import EVENT_TYPES, WebhookDelivery, WebhookEndpoint
from service.webhooks.secret_store import encrypt, new_secret


class EndpointProblem(Exception):
    """A change we refuse, naming the field (or "delivery"/"endpoint") it is about."""

    def __init__(self, field: str, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.field, self.status = field, status


def find(clinic_id: int, endpoint_id: str) -> WebhookEndpoint | None:
    """Another clinic's endpoint is None, exactly like one that does not exist."""
    return db.session.scalar(select(WebhookEndpoint).where(
        WebhookEndpoint.public_id == endpoint_id, WebhookEndpoint.clinic_id == clinic_id))


def find_delivery(endpoint: WebhookEndpoint, delivery_id: str) -> WebhookDelivery | None:
    return db.session.scalar(select(WebhookDelivery).where(
        WebhookDelivery.public_id == delivery_id, WebhookDelivery.endpoint_id == endpoint.id))


def ordered(events: list[str]) -> list[str]:
    """Each event type once, in the documented order."""
    return [e for e in EVENT_TYPES if e in events]


def checked_url(url: str) -> str:
    """Refuse at registration what delivery would refuse (private addresses, plain http...)."""
    try:
        http.check_url(url, current_app.config["WEBHOOK_ALLOW_PRIVATE"])
    except http.AddressNotAllowed as exc:
        raise EndpointProblem("url", str(exc)) from None
    return url


def register(clinic_id: int, actor: str, url: str, events: list[str],
             description: str) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its plain signing secret, which the caller shows once and forgets."""
    limit = current_app.config["WEBHOOK_MAX_ENDPOINTS"]
    count = db.session.scalar(select(func.count()).select_from(WebhookEndpoint).where(
        WebhookEndpoint.clinic_id == clinic_id))
    if (count or 0) >= limit:
        # Every endpoint multiplies each event's deliveries; past a handful it is a mistake.
        raise EndpointProblem("url", f"A clinic can have at most {limit} webhook endpoints. "
                                     "Delete one you no longer use first.")
    secret = new_secret()
    endpoint = WebhookEndpoint(clinic_id=clinic_id, url=checked_url(url), events=ordered(events),
                               description=description, secret_ciphertext=encrypt(secret))
    db.session.add(endpoint)
    db.session.flush()
    note_endpoints(clinic_id, True)
    audit.record(audit.WEBHOOK_ENDPOINT_CREATED, clinic_id=clinic_id, actor=actor,
                 target=endpoint.public_id, detail={"events": endpoint.events})
    return endpoint, secret


def change(endpoint: WebhookEndpoint, actor: str, *, url: str | None = None,
           events: list[str] | None = None, description: str | None = None) -> None:
    changed = []
    if url is not None:
        endpoint.url = checked_url(url)
        changed.append("url")
    if events is not None:
        endpoint.events = ordered(events)
        changed.append("events")
    if description is not None:
        endpoint.description = description
        changed.append("description")
    if changed:
        endpoint.updated_at = utcnow()
        audit.record(audit.WEBHOOK_ENDPOINT_UPDATED, clinic_id=endpoint.clinic_id, actor=actor,
                     target=endpoint.public_id, detail={"fields": changed})


def set_enabled(endpoint: WebhookEndpoint, actor: str, enabled: bool, reason: str) -> None:
    """Disabling cancels what is pending (redeliver it later); enabling clears the reason."""
    if enabled == endpoint.enabled:
        return
    now = utcnow()
    if enabled:
        endpoint.enabled, endpoint.disabled_reason = True, ""
        note_endpoints(endpoint.clinic_id, True)
    else:
        endpoint.enabled, endpoint.disabled_reason = False, reason
        deliveries.cancel_pending(endpoint, now)
    endpoint.updated_at = now
    audit.record(audit.WEBHOOK_ENDPOINT_ENABLED if enabled else audit.WEBHOOK_ENDPOINT_DISABLED,
                 clinic_id=endpoint.clinic_id, actor=actor, target=endpoint.public_id)


def rotate_secret(endpoint: WebhookEndpoint, actor: str) -> str:
    """A new secret; the old one keeps signing beside it for the configured overlap."""
    now = utcnow()
    secret = new_secret()
    overlap = timedelta(seconds=current_app.config["WEBHOOK_SECRET_OVERLAP_SECONDS"])
    endpoint.previous_secret_ciphertext = endpoint.secret_ciphertext
    endpoint.previous_secret_expires_at = now + overlap
    endpoint.secret_ciphertext = encrypt(secret)
    endpoint.updated_at = now
    audit.record(audit.WEBHOOK_SECRET_ROTATED, clinic_id=endpoint.clinic_id, actor=actor,
                 target=endpoint.public_id,
                 detail={"previous_secret_expires_at": endpoint.previous_secret_expires_at
                         .isoformat(timespec="seconds")})
    return secret


def remove(endpoint: WebhookEndpoint, actor: str) -> None:
    audit.record(audit.WEBHOOK_ENDPOINT_DELETED, clinic_id=endpoint.clinic_id, actor=actor,
                 target=endpoint.public_id)
    deliveries.remove_endpoint(endpoint)


def redeliver(endpoint: WebhookEndpoint, delivery: WebhookDelivery, actor: str) -> None:
    """Start the same event again (same webhook-id and body); the caller commits, then sends."""
    if not endpoint.enabled:
        raise EndpointProblem("delivery", "The endpoint is disabled; enable it first.", 409)
    if delivery.state == WebhookDelivery.SENDING:
        raise EndpointProblem("delivery", "That delivery is being sent right now.", 409)
    deliveries.redeliver(delivery)
    audit.record(audit.WEBHOOK_REDELIVERED, clinic_id=endpoint.clinic_id, actor=actor,
                 target=endpoint.public_id,
                 detail={"delivery": delivery.public_id, "webhook_id": delivery.webhook_id})
