"""/api/v1/api-keys: a clinic lists, creates and revokes its own portal keys."""

from __future__ import annotations

from typing import Any

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import RAISE, Schema, fields, validate
from sqlalchemy import select

from service import audit, scopes
from service.api.bodies import require_json_body
from service.api.examples import API_KEY_PAGE_EXAMPLE, NEW_API_KEY_EXAMPLE
from service.api.pagination import (
    LINK_HEADER_DOC,
    MAX_INT_ID,
    PageArgsSchema,
    page_schema,
    paginate,
)
from service.api.schemas import UtcDateTime
from service.auth import issue_api_key, require_api_key
from service.extensions import db
from service.models import ApiKey, utcnow

blp = Blueprint("api-keys", __name__, url_prefix="/api/v1/api-keys",
                description="Your clinic's API keys: shown once, stored hashed, revocable. "
                            "Needs a key with the `keys` scope, which keys do not get unless "
                            "asked for; the admin pages and `limber api-key` are the usual way.")
blp.before_request(require_api_key)
blp.before_request(require_json_body)

SECURITY = [{"bearerAuth": []}]


class ApiKeySchema(Schema):
    id = fields.Integer(metadata={"example": 7})
    name = fields.String(metadata={"example": "Portal production"})
    prefix = fields.String(metadata={
        "description": "The first characters of the key, to tell keys apart.",
        "example": "lmb_Q2x9fT0a"})
    created_at = UtcDateTime()
    last_used_at = UtcDateTime(allow_none=True, metadata={
        "description": "Updated at most once a minute."})
    revoked_at = UtcDateTime(allow_none=True)
    scopes = fields.List(fields.String(), metadata={
        "description": "What the key may do: " + "; ".join(
            f"`{k}`: {v}" for k, v in scopes.DESCRIPTIONS.items()),
        "example": list(scopes.DEFAULT)})


class NewApiKeySchema(ApiKeySchema):
    key = fields.String(metadata={
        "description": "The key itself. Shown only in this response; Limber keeps a hash.",
        "example": "lmb_Q2x9fT0aR7w1cY5kLm3nB8vZpD4sH6jE2gK0uX9tAq"})


class ApiKeyCreateSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(min=1, max=100),
                         metadata={"description": "A label to tell keys apart.",
                                   "example": "Portal production"})
    scopes = fields.List(
        fields.String(validate=validate.OneOf(scopes.ALL)), validate=validate.Length(min=1),
        metadata={"description": "Scopes for the new key (default: "
                                 f"{', '.join(scopes.DEFAULT)}). A key can grant only scopes "
                                 "it has itself.", "example": list(scopes.DEFAULT)})


class ApiKeyListArgsSchema(PageArgsSchema):
    class Meta:
        unknown = RAISE


ApiKeyPageSchema = page_schema(ApiKeySchema, "ApiKeyPage")


def key_view(row: ApiKey) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "prefix": row.prefix, "created_at": row.created_at,
            "last_used_at": row.last_used_at, "revoked_at": row.revoked_at,
            "scopes": row.scope_list}


@blp.route("")
class ApiKeys(MethodView):
    @blp.arguments(ApiKeyListArgsSchema, location="query", unknown=RAISE)
    @blp.response(200, ApiKeyPageSchema, headers=LINK_HEADER_DOC,
                  example=API_KEY_PAGE_EXAMPLE)
    @blp.doc(security=SECURITY)
    def get(self, args: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
        """List your clinic's API keys, revoked ones included, newest first"""
        query = select(ApiKey).where(ApiKey.clinic_id == g.clinic.id)
        page, headers = paginate(query, ApiKey.created_at, ApiKey.id, args, key_view)
        return page, 200, headers

    # Not @idempotent on purpose: replaying would mean storing the plain key to replay it.
    @blp.arguments(ApiKeyCreateSchema)
    @blp.response(201, NewApiKeySchema, example=NEW_API_KEY_EXAMPLE)
    @blp.doc(security=SECURITY)
    def post(self, data: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
        """Create a key; the response is the only time the key itself is shown"""
        wanted = scopes.parse(data.get("scopes") or list(scopes.DEFAULT))
        beyond = [s for s in wanted if s not in g.api_key_scopes]
        if beyond:
            abort(422, errors=[{"field": "scopes", "message": f"This key cannot grant the "
                                f"'{beyond[0]}' scope because it does not have it."}])
        row, plain = issue_api_key(g.clinic, name=data["name"], scope_names=wanted)
        db.session.flush()
        audit.record(audit.API_KEY_CREATED, clinic_id=g.clinic.id, actor=f"api-key:{g.api_key_id}",
                     target=f"api-key:{row.id}",
                     detail={"prefix": row.prefix, "via": "api", "scopes": row.scope_list})
        db.session.commit()
        # The only copy of a secret: no proxy or browser cache may keep it.
        return {**key_view(row), "key": plain}, 201, {"Cache-Control": "no-store"}


@blp.route("/<int:key_id>")
class ApiKeyById(MethodView):
    @blp.response(204)
    @blp.doc(security=SECURITY)
    def delete(self, key_id: int) -> None:
        """Revoke a key; it stops working at once, even if it is the one making this call"""
        if key_id > MAX_INT_ID:  # beyond the column's range: cannot exist, and must not reach SQL
            abort(404, message="No API key with that id in your clinic.")
        row = db.session.scalar(
            select(ApiKey).where(ApiKey.id == key_id, ApiKey.clinic_id == g.clinic.id))
        if row is None:
            abort(404, message="No API key with that id in your clinic.")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            audit.record(audit.API_KEY_REVOKED, clinic_id=g.clinic.id,
                         actor=f"api-key:{g.api_key_id}", target=f"api-key:{row.id}",
                         detail={"prefix": row.prefix, "via": "api"})
            db.session.commit()
