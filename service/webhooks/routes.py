"""/api/v1/webhook-endpoints: register, manage and inspect a clinic's webhook endpoints."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app, g, url_for
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from service.auth import require_api_key
from service.extensions import db
from service.models import utcnow
from service.webhooks import delivery as deliveries
from service.webhooks import events, http
from service.webhooks.models import EVENT_TYPES, WebhookDelivery, WebhookEndpoint
from service.webhooks.schemas import (
    DeliveryQuerySchema,
    DeliverySchema,
    EndpointCreateSchema,
    EndpointPatchSchema,
    EndpointSchema,
    EndpointWithSecretSchema,
    RotatedSecretSchema,
)
from service.webhooks.secret_store import encrypt, new_secret

blp = Blueprint("webhook_endpoints", __name__, url_prefix="/api/v1/webhook-endpoints",
                description="Where we POST signed events (Standard Webhooks). See "
                            "docs/webhooks.md.")
blp.before_request(require_api_key)

SECURITY = [{"bearerAuth": []}]
_SHOWN = ("public_id", "url", "description", "events", "enabled", "disabled_reason",
          "previous_secret_expires_at", "created_at", "updated_at")


def endpoint_for_clinic(endpoint_id: str) -> WebhookEndpoint:
    """Another clinic's endpoint answers 404, exactly like one that does not exist."""
    endpoint = db.session.scalar(select(WebhookEndpoint).where(
        WebhookEndpoint.public_id == endpoint_id, WebhookEndpoint.clinic_id == g.clinic.id))
    if endpoint is None:
        abort(404, message="No webhook endpoint with that id in your clinic.")
    return endpoint


def delivery_for_endpoint(endpoint: WebhookEndpoint, delivery_id: str) -> WebhookDelivery:
    found = db.session.scalar(select(WebhookDelivery).where(
        WebhookDelivery.public_id == delivery_id, WebhookDelivery.endpoint_id == endpoint.id))
    if found is None:
        abort(404, message="No delivery with that id for this endpoint.")
    return found


def ordered(events: list[str]) -> list[str]:
    """Each event type once, in the documented order."""
    return [e for e in EVENT_TYPES if e in events]


def checked_url(url: str) -> str:
    """Refuse at registration what delivery would refuse: a 422 naming `url`."""
    try:
        http.check_url(url, current_app.config["WEBHOOK_ALLOW_PRIVATE"])
    except http.AddressNotAllowed as exc:
        abort(422, message="Webhooks can only go to public https URLs.",
              errors=[{"field": "url", "message": str(exc)}])
    return url


@blp.route("")
class WebhookEndpoints(MethodView):
    @blp.arguments(EndpointCreateSchema)
    @blp.response(201, EndpointWithSecretSchema)
    @blp.alt_response(422, description="Invalid fields, or a URL on a private address.")
    @blp.doc(security=SECURITY)
    def post(self, data: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
        """Register an endpoint; its signing secret is in this response and nowhere else"""
        secret = new_secret()
        endpoint = WebhookEndpoint(clinic_id=g.clinic.id, url=checked_url(data["url"]),
                                   events=ordered(data["events"]), description=data["description"],
                                   secret_ciphertext=encrypt(secret))
        db.session.add(endpoint)
        db.session.commit()
        # The response is the only place the plain secret ever appears.
        body = {**{name: getattr(endpoint, name) for name in _SHOWN}, "secret": secret}
        location = url_for("webhook_endpoints.WebhookEndpointById",
                           endpoint_id=endpoint.public_id, _external=True)
        return body, 201, {"Location": location}

    @blp.response(200, EndpointSchema(many=True))
    @blp.doc(security=SECURITY)
    def get(self) -> list[WebhookEndpoint]:
        """Your clinic's endpoints (secrets are never listed)"""
        return list(db.session.scalars(select(WebhookEndpoint).where(
            WebhookEndpoint.clinic_id == g.clinic.id).order_by(WebhookEndpoint.id)))


@blp.route("/<string:endpoint_id>")
class WebhookEndpointById(MethodView):
    @blp.response(200, EndpointSchema)
    @blp.doc(security=SECURITY)
    def get(self, endpoint_id: str) -> WebhookEndpoint:
        """One endpoint"""
        return endpoint_for_clinic(endpoint_id)

    @blp.arguments(EndpointPatchSchema)
    @blp.response(200, EndpointSchema)
    @blp.doc(security=SECURITY)
    def patch(self, changes: dict[str, Any], endpoint_id: str) -> WebhookEndpoint:
        """Change the URL, events or description; disable or enable deliveries"""
        endpoint = endpoint_for_clinic(endpoint_id)
        now = utcnow()
        if "url" in changes:
            endpoint.url = checked_url(changes["url"])
        if "events" in changes:
            endpoint.events = ordered(changes["events"])
        if "description" in changes:
            endpoint.description = changes["description"]
        if changes.get("enabled") is False and endpoint.enabled:
            endpoint.enabled, endpoint.disabled_reason = False, "Disabled through the API"
            deliveries.cancel_pending(endpoint, now)
        elif changes.get("enabled") is True:
            endpoint.enabled, endpoint.disabled_reason = True, ""
        endpoint.updated_at = now
        db.session.commit()
        return endpoint

    @blp.response(204)
    @blp.doc(security=SECURITY)
    def delete(self, endpoint_id: str) -> None:
        """Remove an endpoint with its delivery log; nothing more is sent to it"""
        deliveries.remove_endpoint(endpoint_for_clinic(endpoint_id))
        db.session.commit()


@blp.route("/<string:endpoint_id>/rotate-secret")
class RotateSecret(MethodView):
    @blp.response(200, RotatedSecretSchema)
    @blp.doc(security=SECURITY)
    def post(self, endpoint_id: str) -> dict[str, Any]:
        """New signing secret; the old one keeps signing beside it during the overlap (24 h)"""
        endpoint = endpoint_for_clinic(endpoint_id)
        now = utcnow()
        secret = new_secret()
        overlap = timedelta(seconds=current_app.config["WEBHOOK_SECRET_OVERLAP_SECONDS"])
        endpoint.previous_secret_ciphertext = endpoint.secret_ciphertext
        endpoint.previous_secret_expires_at = now + overlap
        endpoint.secret_ciphertext = encrypt(secret)
        endpoint.updated_at = now
        db.session.commit()
        return {"id": endpoint.public_id, "secret": secret,
                "previous_secret_expires_at": endpoint.previous_secret_expires_at}


@blp.route("/<string:endpoint_id>/deliveries")
class Deliveries(MethodView):
    @blp.arguments(DeliveryQuerySchema, location="query")
    @blp.response(200, DeliverySchema(many=True))
    @blp.doc(security=SECURITY)
    def get(self, query: dict[str, Any], endpoint_id: str) -> list[WebhookDelivery]:
        """The delivery log, newest first, with every attempt"""
        endpoint = endpoint_for_clinic(endpoint_id)
        return list(db.session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
            .options(selectinload(WebhookDelivery.attempts))
            .order_by(WebhookDelivery.id.desc()).limit(query["limit"])))


@blp.route("/<string:endpoint_id>/deliveries/<string:delivery_id>/redeliver")
class Redeliver(MethodView):
    @blp.response(202, DeliverySchema)
    @blp.alt_response(409, description="The endpoint is disabled, or the delivery is being "
                                       "sent right now.")
    @blp.doc(security=SECURITY)
    def post(self, endpoint_id: str, delivery_id: str) -> WebhookDelivery:
        """Send the same event again, with the same webhook-id and body"""
        endpoint = endpoint_for_clinic(endpoint_id)
        found = delivery_for_endpoint(endpoint, delivery_id)
        if not endpoint.enabled:
            abort(409, message="The endpoint is disabled; enable it first.")
        if found.state == WebhookDelivery.SENDING:
            abort(409, message="That delivery is being sent right now.")
        deliveries.redeliver(found)
        db.session.commit()
        events.send(found.id)
        return found
