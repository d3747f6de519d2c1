"""JSON API v1: one flask-smorest blueprint per resource."""

from __future__ import annotations

from flask_smorest import Api


def register_api(api: Api) -> None:
    from service import embed, webhooks
    from service.api import api_keys, fhir, plans, templates
    from service.api.openapi import finish_contract, register_contract

    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer",
                       "description": "An API key from `limber api-key create`; one clinic."})
    register_contract(api)
    for module in (templates, plans, fhir, api_keys):
        api.register_blueprint(module.blp)
    webhooks.register(api)
    embed.register_api(api)
    finish_contract(api)
