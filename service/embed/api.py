"""POST /api/v1/embed-sessions: a one-time link that opens the plan builder in a portal iframe."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from flask import Response, current_app, g, url_for
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import ValidationError, fields, validate, validates

from plans.catalogue import default_catalogue
from plans.errors import UnknownTemplate
from service.api.bodies import require_json_body
from service.api.schemas import PRINTABLE_LINE, StrictSchema, UtcDateTime
from service.auth import require_api_key
from service.embed import sessions
from service.extensions import db
from service.idempotency import idempotent
from service.ui.clinic_profile import parse_origin

blp = Blueprint("embed_sessions", __name__, url_prefix="/api/v1/embed-sessions",
                description="One-time links that open the plan builder inside your portal.")
blp.before_request(require_api_key)
blp.before_request(require_json_body)


class EmbedSessionCreateSchema(StrictSchema):
    patient_reference = fields.String(required=True, validate=validate.Length(min=1, max=120),
                                      metadata={"description": "Your patient reference. The "
                                                "session can make plans for this patient only.",
                                                "example": "MRN-20931"})
    patient_display_name = fields.String(validate=[validate.Length(min=1, max=120),
                                                   PRINTABLE_LINE], metadata={
        "description": "Prefills the builder's name field; the clinician can change it.",
        "example": "Ana P."})
    template_id = fields.String(validate=validate.Length(min=1, max=64), metadata={
        "description": "Open the builder on this approved template instead of the template "
                       "list.", "example": "core_routine"})
    clinician = fields.String(validate=[validate.Length(max=120), PRINTABLE_LINE], metadata={
        "description": "The clinician's name, printed on the handout.",
        "example": "Sam Okafor, PT"})
    parent_origin = fields.String(required=True, validate=validate.Length(min=1, max=300),
                                  metadata={"description": "The origin of the page that frames "
                                            "the builder, exactly as in your clinic's allowed "
                                            "embed origins; `limber:plan-saved` is posted to "
                                            "this origin only.",
                                            "example": "https://portal.clinic.example"})

    @validates("template_id")
    def _approved(self, value: str, **_: Any) -> None:
        try:
            default_catalogue().template(value)
        except UnknownTemplate:
            raise ValidationError("There is no approved template with this id "
                                  "(see GET /api/v1/templates).") from None


class EmbedLinkSchema(StrictSchema):
    url = fields.String(metadata={"description": "Load this in an iframe within "
                                  "`expires_at`. It works once.", "format": "uri"})
    expires_at = UtcDateTime(metadata={"description": "The link stops working at this time."})


def link_url(link_id: str) -> str:
    """The browser opens this, so it is built on the public address when one is configured:
    a portal's server may reach the API by an internal name its users' browsers cannot."""
    path = url_for("embed.open_link", token=link_id)
    public = current_app.config.get("PUBLIC_URL")
    return public.rstrip("/") + path if public else url_for("embed.open_link", token=link_id,
                                                             _external=True)


def _with_link_mac(view: Callable[..., Any]) -> Callable[..., Any]:
    """Adds the link token's secret half to fresh and replayed answers alike; see link_mac."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        resp = view(*args, **kwargs)
        if not isinstance(resp, Response) or resp.status_code != 201:
            return resp
        body = json.loads(resp.get_data(as_text=True))
        link_id = body["url"].rsplit("/", 1)[1]
        body["url"] = body["url"] + "." + sessions.link_mac(link_id)
        resp.set_data(json.dumps(body))
        return resp

    wrapper._apidoc = getattr(view, "_apidoc", {})  # type: ignore[attr-defined]
    return wrapper


@blp.route("")
class EmbedSessions(MethodView):
    @_with_link_mac
    @idempotent
    @blp.arguments(EmbedSessionCreateSchema, example={
        "patient_reference": "MRN-20931", "patient_display_name": "Ana P.",
        "template_id": "core_routine", "clinician": "Sam Okafor, PT",
        "parent_origin": "https://portal.clinic.example"})
    @blp.response(201, EmbedLinkSchema)
    @blp.alt_response(422, description="Invalid fields, a template that is not approved, or a "
                                       "parent_origin that is not one of your clinic's allowed "
                                       "embed origins.")
    @blp.doc(security=[{"bearerAuth": []}])
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create a one-time link to the plan builder for one patient, for your portal's iframe"""
        origin = parse_origin(data["parent_origin"])
        if origin is None or origin not in (g.clinic.allowed_embed_origins or []):
            abort(422, message="parent_origin is not one of your clinic's allowed embed "
                               "origins.", errors=[{
                                   "field": "parent_origin",
                                   "message": "Must be exactly one of your clinic's allowed "
                                              "embed origins (scheme://host[:port]); a clinic "
                                              "admin sets them on the Clinic profile page."}])
        data["parent_origin"] = origin
        link = sessions.create_link(g.clinic, g.api_key_id, data)
        db.session.commit()
        return {"url": link_url(link.link_id), "expires_at": link.session.token_expires_at}
