"""Signed webhooks (Standard Webhooks v1): endpoints, events, deliveries with retries."""

from __future__ import annotations

from flask_smorest import Api

from service.webhooks.events import record_event, record_plan_event, sweep_deliveries

__all__ = ["record_event", "record_plan_event", "register", "sweep_deliveries"]


def register(api: Api) -> None:
    """The endpoints API, and the event payloads in the OpenAPI document's `webhooks`."""
    from service.webhooks import openapi, routes

    api.register_blueprint(routes.blp)
    openapi.describe_events(api)
