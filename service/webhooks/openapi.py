"""The events we POST, as OpenAPI 3.1 `webhooks` with their schemas and signature headers."""

from __future__ import annotations

from flask_smorest import Api

from service.webhooks.models import EVENT_TYPES
from service.webhooks.schemas import EventSchema

_SUMMARIES = {
    "plan.created": "A plan was created (its handout is rendering)",
    "plan.revised": "A plan got a new revision (its new handout is rendering)",
    "handout.ready": "A revision's handout PDF is ready at data.handout_url (that revision's "
                     "URL, which keeps serving it after later revisions)",
    "handout.failed": "A revision's handout could not be rendered after every attempt",
    "plan.deleted": "A plan was erased (by request or the clinic's retention period); "
                    "data has plan_id, revisions and reason only",
}

_HEADERS = [
    {"name": "webhook-id", "in": "header", "required": True, "schema": {"type": "string"},
     "description": "Unique per event; the same on retries and redeliveries."},
    {"name": "webhook-timestamp", "in": "header", "required": True,
     "schema": {"type": "string"}, "description": "Unix seconds when this attempt was signed."},
    {"name": "webhook-signature", "in": "header", "required": True,
     "schema": {"type": "string"},
     "description": "Space-separated `v1,<base64 HMAC-SHA256>` signatures of "
                    "`{webhook-id}.{webhook-timestamp}.{body}`; two during a secret rotation."},
]


def describe_events(api: Api) -> None:
    if "WebhookEvent" not in api.spec.components.schemas:
        api.spec.components.schema("WebhookEvent", schema=EventSchema)
    ref = {"$ref": "#/components/schemas/WebhookEvent"}
    webhooks = {}
    for event_type in EVENT_TYPES:
        webhooks[event_type] = {"post": {
            "summary": _SUMMARIES[event_type],
            "description": f"`type` is `{event_type}`. Verify the signature before trusting "
                           "the body; answer 2xx quickly; 410 Gone disables the endpoint.",
            "parameters": _HEADERS,
            "requestBody": {"required": True,
                            "content": {"application/json": {"schema": ref}}},
            "responses": {"2XX": {"description": "Received; anything else is retried."},
                          "410": {"description": "Gone: we disable the endpoint."}},
        }}
    api.spec.options["webhooks"] = webhooks
