"""Marshmallow schemas of the webhook endpoints API and of the event payloads we send."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from service.api.pagination import page_schema
from service.api.schemas import UtcDateTime
from service.webhooks.models import EVENT_TYPES

_URL = validate.Length(min=1, max=2000)
_EVENTS_DOC = {"description": "Event types to receive; every type when left out.",
               "example": ["handout.ready", "handout.failed"]}


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class EndpointCreateSchema(StrictSchema):
    url = fields.String(required=True, validate=_URL, metadata={
        "description": "An https URL on a public address.",
        "example": "https://portal.example.com/hooks/limber"})
    events = fields.List(
        fields.String(validate=validate.OneOf(EVENT_TYPES)),
        validate=validate.Length(min=1, max=4), load_default=lambda: list(EVENT_TYPES),
        metadata=_EVENTS_DOC)
    description = fields.String(load_default="", validate=validate.Length(max=300))


class EndpointPatchSchema(StrictSchema):
    url = fields.String(validate=_URL)
    events = fields.List(fields.String(validate=validate.OneOf(EVENT_TYPES)),
                         validate=validate.Length(min=1, max=4), metadata=_EVENTS_DOC)
    description = fields.String(validate=validate.Length(max=300))
    enabled = fields.Boolean(metadata={
        "description": "false stops deliveries (pending ones are cancelled; redeliver them "
                       "later); true starts them again."})


class EndpointSchema(Schema):
    id = fields.String(attribute="public_id", metadata={"example": "whe_4nE0c2kq1VbZs8Xy"})
    url = fields.String()
    description = fields.String()
    events = fields.List(fields.String())
    enabled = fields.Boolean()
    disabled_reason = fields.String(metadata={
        "description": "Why deliveries stopped, e.g. the endpoint answered 410 Gone."})
    previous_secret_expires_at = UtcDateTime(allow_none=True, metadata={
        "description": "Until when the secret before the last rotation still signs."})
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class EndpointWithSecretSchema(EndpointSchema):
    secret = fields.String(metadata={
        "description": "The signing secret, shown only in this response. Keep it safe.",
        "example": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})


class RotatedSecretSchema(Schema):
    id = fields.String(metadata={"example": "whe_4nE0c2kq1VbZs8Xy"})
    secret = fields.String(metadata={"description": "The new secret, shown only here."})
    previous_secret_expires_at = UtcDateTime(metadata={
        "description": "Both signatures are sent until then."})


class AttemptSchema(Schema):
    at = UtcDateTime(attribute="started_at")
    status_code = fields.Integer(allow_none=True, metadata={
        "description": "The receiver's HTTP status; null when no answer came."})
    error = fields.String(metadata={
        "description": "Why there was no answer: ConnectTimeout, ReadTimeout, "
                       "ConnectionError, TLSError, AddressNotAllowed, ..."})
    duration_ms = fields.Integer()
    manual = fields.Boolean(metadata={"description": "Started by a manual redelivery."})


class DeliverySchema(Schema):
    id = fields.String(attribute="public_id", metadata={"example": "dlv_Hk2m0Qw8aPzL1xYt"})
    webhook_id = fields.String(metadata={
        "description": "The `webhook-id` header: the same on every retry and redelivery; "
                       "use it to ignore duplicates.", "example": "msg_p5jXN8AQM9LWM0D4"})
    event_type = fields.String(metadata={"example": "handout.ready"})
    state = fields.String(metadata={
        "description": "pending, sending, succeeded, failed or cancelled."})
    next_attempt_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()
    finished_at = UtcDateTime(allow_none=True)
    attempts = fields.List(fields.Nested(AttemptSchema))


EndpointPageSchema = page_schema(EndpointSchema, "WebhookEndpointPage")
DeliveryPageSchema = page_schema(DeliverySchema, "WebhookDeliveryPage")


# The payloads we POST, described for the OpenAPI `webhooks` section.
class PlanEventDataSchema(Schema):
    plan_id = fields.String(metadata={"example": "pln_Xb3k9QmL0aZ2pR7t"})
    revision = fields.Integer(metadata={"example": 1})
    plan_url = fields.String(metadata={"description": "GET it with your API key."})
    handout_url = fields.String(metadata={
        "description": "This revision's handout PDF (`/api/v1/plans/{id}/revisions/{n}/"
                       "handout`); GET it with your API key. It keeps serving this revision "
                       "after the plan is revised again."})
    handout_html_url = fields.String(metadata={
        "description": "The same revision's handout as accessible HTML."})
    template_id = fields.String(metadata={"example": "core_routine"})
    template_version = fields.Integer(metadata={"example": 1})
    patient_reference = fields.String(allow_none=True, metadata={
        "description": "Your own patient reference from the plan request. Patient names and "
                       "notes are never sent."})
    fhir_url = fields.String(metadata={
        "description": "plan.created and handout.ready only, for a clinic that opted in: this "
                       "revision as a FHIR R4 Bundle; GET it with your API key."})
    reason = fields.String(metadata={
        "description": "plan.deleted only: `request` or `retention`.", "example": "request"})
    revisions = fields.Integer(metadata={
        "description": "plan.deleted only: how many revisions were erased."})


class EventSchema(Schema):
    type = fields.String(metadata={"enum": list(EVENT_TYPES)})
    timestamp = UtcDateTime(metadata={"description": "When the event happened (UTC)."})
    data = fields.Nested(PlanEventDataSchema)
