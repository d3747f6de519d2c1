"""/api/v1/webhook-endpoints: register, manage and inspect a clinic's webhook endpoints."""

from __future__ import annotations

from typing import Any, NoReturn

from flask import g, url_for
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import RAISE
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from service.api.pagination import LINK_HEADER_DOC, PageArgsSchema, paginate
from service.auth import require_api_key
from service.extensions import db
from service.webhooks import endpoints, events
from service.webhooks.models import WebhookDelivery, WebhookEndpoint
from service.webhooks.schemas import (
    DeliveryPageSchema,
    DeliverySchema,
    EndpointCreateSchema,
    EndpointPageSchema,
    EndpointPatchSchema,
    EndpointSchema,
    EndpointWithSecretSchema,
    RotatedSecretSchema,
)

blp = Blueprint("webhook_endpoints", __name__, url_prefix="/api/v1/webhook-endpoints",
                description="Where we POST signed events (Standard Webhooks). See "
                            "docs/webhooks.md.")
blp.before_request(require_api_key)

SECURITY = [{"bearerAuth": []}]
_SHOWN = ("public_id", "url", "description", "events", "enabled", "disabled_reason",
          "previous_secret_expires_at", "created_at", "updated_at")


def _actor() -> str:
    return f"api-key:{g.api_key_id}"


def endpoint_for_clinic(endpoint_id: str) -> WebhookEndpoint:
    """Another clinic's endpoint answers 404, exactly like one that does not exist."""
    endpoint = endpoints.find(g.clinic.id, endpoint_id)
    if endpoint is None:
        abort(404, message="No webhook endpoint with that id in your clinic.")
    return endpoint


def delivery_for_endpoint(endpoint: WebhookEndpoint, delivery_id: str) -> WebhookDelivery:
    found = endpoints.find_delivery(endpoint, delivery_id)
    if found is None:
        abort(404, message="No delivery with that id for this endpoint.")
    return found


def refused(problem: endpoints.EndpointProblem) -> NoReturn:
    """A refused change as problem+json naming its field."""
    if problem.status == 422:
        abort(422, message="Webhooks can only go to public https URLs."
              if problem.field == "url" else str(problem),
              errors=[{"field": problem.field, "message": str(problem)}])
    abort(problem.status, message=str(problem))


@blp.route("")
class WebhookEndpoints(MethodView):
    @blp.arguments(EndpointCreateSchema)
    @blp.response(201, EndpointWithSecretSchema)
    @blp.alt_response(422, description="Invalid fields, or a URL on a private address.")
    @blp.doc(security=SECURITY)
    def post(self, data: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
        """Register an endpoint; its signing secret is in this response and nowhere else"""
        try:
            endpoint, secret = endpoints.register(g.clinic.id, _actor(), data["url"],
                                                  data["events"], data["description"])
        except endpoints.EndpointProblem as problem:
            refused(problem)
        db.session.commit()
        # The response is the only place the plain secret ever appears.
        body = {**{name: getattr(endpoint, name) for name in _SHOWN}, "secret": secret}
        location = url_for("webhook_endpoints.WebhookEndpointById",
                           endpoint_id=endpoint.public_id, _external=True)
        return body, 201, {"Location": location}

    @blp.arguments(PageArgsSchema, location="query", unknown=RAISE)
    @blp.response(200, EndpointPageSchema, headers=LINK_HEADER_DOC)
    @blp.doc(security=SECURITY)
    def get(self, args: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
        """Your clinic's endpoints, newest first, a page at a time (secrets are never listed)"""
        query = select(WebhookEndpoint).where(WebhookEndpoint.clinic_id == g.clinic.id)
        page, headers = paginate(query, WebhookEndpoint.created_at, WebhookEndpoint.public_id,
                                 args, _as_is)
        return page, 200, headers


def _as_is(row: Any) -> Any:
    """The page schema serialises the rows themselves."""
    return row


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
        try:
            endpoints.change(endpoint, _actor(), url=changes.get("url"),
                             events=changes.get("events"),
                             description=changes.get("description"))
        except endpoints.EndpointProblem as problem:
            db.session.rollback()
            refused(problem)
        if "enabled" in changes:
            endpoints.set_enabled(endpoint, _actor(), changes["enabled"],
                                  "Disabled through the API")
        db.session.commit()
        return endpoint

    @blp.response(204)
    @blp.doc(security=SECURITY)
    def delete(self, endpoint_id: str) -> None:
        """Remove an endpoint with its delivery log; nothing more is sent to it"""
        endpoints.remove(endpoint_for_clinic(endpoint_id), _actor())
        db.session.commit()


@blp.route("/<string:endpoint_id>/rotate-secret")
class RotateSecret(MethodView):
    @blp.response(200, RotatedSecretSchema)
    @blp.doc(security=SECURITY)
    def post(self, endpoint_id: str) -> dict[str, Any]:
        """New signing secret; the old one keeps signing beside it during the overlap (24 h)"""
        endpoint = endpoint_for_clinic(endpoint_id)
        secret = endpoints.rotate_secret(endpoint, _actor())
        db.session.commit()
        return {"id": endpoint.public_id, "secret": secret,
                "previous_secret_expires_at": endpoint.previous_secret_expires_at}


@blp.route("/<string:endpoint_id>/deliveries")
class Deliveries(MethodView):
    @blp.arguments(PageArgsSchema, location="query", unknown=RAISE)
    @blp.response(200, DeliveryPageSchema, headers=LINK_HEADER_DOC)
    @blp.doc(security=SECURITY)
    def get(self, args: dict[str, Any], endpoint_id: str
            ) -> tuple[dict[str, Any], int, dict[str, str]]:
        """The delivery log, newest first, with every attempt, a page at a time"""
        endpoint = endpoint_for_clinic(endpoint_id)
        query = (select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
                 .options(selectinload(WebhookDelivery.attempts)))
        page, headers = paginate(query, WebhookDelivery.created_at, WebhookDelivery.public_id,
                                 args, _as_is)
        return page, 200, headers


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
        try:
            endpoints.redeliver(endpoint, found, _actor())
        except endpoints.EndpointProblem as problem:
            refused(problem)
        db.session.commit()
        events.send(found.id)
        return found
