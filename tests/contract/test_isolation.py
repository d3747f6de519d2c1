"""Tenancy: clinic B's key gets 404 for every one of clinic A's ids, and lists never mix clinics.

Every /api/v1 route that takes an id must have a row in ROUTES (a test below enforces it), so
a new route is one line here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.contract.helpers import make_plan


@dataclass(frozen=True)
class IdRoute:
    method: str
    rule: str  # Flask rule, as in app.url_map
    json: dict[str, Any] | None = field(default=None)


WHE = "/api/v1/webhook-endpoints/<endpoint_id>"
ROUTES = [
    IdRoute("GET", "/api/v1/plans/<public_id>"),
    IdRoute("PATCH", "/api/v1/plans/<public_id>", {"notes": "B was here"}),
    IdRoute("GET", "/api/v1/plans/<public_id>/handout"),
    IdRoute("GET", "/api/v1/plans/<public_id>/handout.html"),
    IdRoute("GET", "/api/v1/plans/<public_id>/fhir"),
    IdRoute("GET", "/api/v1/plans/<public_id>/revisions/<number>/fhir"),
    IdRoute("DELETE", "/api/v1/plans/<public_id>"),
    IdRoute("GET", "/api/v1/plans/<public_id>/revisions/<number>/handout"),
    IdRoute("GET", "/api/v1/plans/<public_id>/revisions/<number>/handout.html"),
    IdRoute("DELETE", "/api/v1/api-keys/<key_id>"),
    IdRoute("GET", WHE),
    IdRoute("PATCH", WHE, {"enabled": False}),
    IdRoute("DELETE", WHE),
    IdRoute("POST", WHE + "/rotate-secret"),
    IdRoute("GET", WHE + "/deliveries"),
    IdRoute("POST", WHE + "/deliveries/<delivery_id>/redeliver"),
]

# Ids that are not a clinic's rows: the vetted template catalogue is the same for everyone.
NOT_CLINIC_OWNED = {("GET", "/api/v1/templates/<template_id>")}

LISTS = ["/api/v1/plans", "/api/v1/api-keys", "/api/v1/webhook-endpoints"]


def a_rows(app, client, clinics) -> dict[str, str]:
    from service.auth import hash_key
    from service.extensions import db
    from service.models import ApiKey

    endpoint = client.post("/api/v1/webhook-endpoints", headers=clinics.a, json={
        "url": "http://127.0.0.1:9/hooks"}).get_json()
    plan = make_plan(client, clinics.a)  # plan.created: a delivery to that endpoint
    deliveries = client.get(f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries",
                            headers=clinics.a).get_json()
    items = deliveries["items"] if isinstance(deliveries, dict) else deliveries
    with app.app_context():
        key_id = db.session.scalar(select(ApiKey.id).where(ApiKey.key_hash ==
                                                           hash_key(clinics.key_a)))
    return {"public_id": plan["id"], "key_id": str(key_id), "endpoint_id": endpoint["id"],
            "delivery_id": items[0]["id"], "number": "1"}


def url(route: IdRoute, ids: dict[str, str]) -> str:
    """The rule with each <parameter> filled by clinic A's row of that name."""
    return re.sub(r"<([^>]+)>", lambda m: ids[m.group(1)], route.rule)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.rule}")
def test_another_clinics_id_answers_404_and_changes_nothing(app, client, clinics, route):
    ids = a_rows(app, client, clinics)
    before = client.get(f"/api/v1/plans/{ids['public_id']}", headers=clinics.a).get_json()
    resp = client.open(url(route, ids), method=route.method, json=route.json, headers=clinics.b)
    assert resp.status_code == 404
    assert resp.mimetype == "application/problem+json"
    # The whole name: "Ana" alone turned up inside a random plan id in the problem's instance.
    assert "Ana P." not in resp.get_data(as_text=True)
    # A's plan is untouched and A's key still works.
    after = client.get(f"/api/v1/plans/{ids['public_id']}", headers=clinics.a)
    assert after.status_code == 200 and after.get_json() == before
    endpoint = client.get(f"/api/v1/webhook-endpoints/{ids['endpoint_id']}", headers=clinics.a)
    assert endpoint.status_code == 200 and endpoint.get_json()["enabled"] is True


def test_every_api_route_that_takes_an_id_is_in_the_matrix(app):
    covered = {(r.method, r.rule) for r in ROUTES} | NOT_CLINIC_OWNED
    missing = [
        (method, plain)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and rule.arguments
        for plain in [re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"<\1>", rule.rule)]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
        if (method, plain) not in covered
    ]
    assert not missing, f"add these to ROUTES in {__name__}: {missing}"


@pytest.mark.parametrize("path", LISTS)
def test_lists_only_ever_show_the_callers_clinic(app, client, clinics, path):
    for headers in (clinics.a, clinics.b):
        assert client.post("/api/v1/webhook-endpoints", headers=headers, json={
            "url": "http://127.0.0.1:9/hooks"}).status_code == 201
    make_plan(client, clinics.a, patient={"display_name": "A1", "reference": "SAME"})
    make_plan(client, clinics.b, patient={"display_name": "B1", "reference": "SAME"})
    a_items = client.get(path, headers=clinics.a).get_json()["items"]
    b_items = client.get(path, headers=clinics.b).get_json()["items"]
    assert len(a_items) == len(b_items) == 1
    assert not {i["id"] for i in a_items} & {i["id"] for i in b_items}
    # Filters are scoped too: the same portal reference in two clinics stays two answers.
    if path == "/api/v1/plans":
        only_b = client.get(path, query_string={"patient_reference": "SAME"},
                            headers=clinics.b).get_json()["items"]
        assert [p["patient"]["display_name"] for p in only_b] == ["B1"]


def test_the_preview_answers_for_the_callers_clinic_only_and_stores_nothing(app, client,
                                                                            clinics):
    """POST /api/v1/plans/preview takes no id, but it does read the caller's clinic profile:
    clinic A's missing out-of-hours route is A's problem only, and nothing is stored or sent."""
    from service.extensions import db
    from service.models import Clinic, Plan
    from service.webhooks.models import WebhookDelivery

    with app.app_context():
        db.session.scalar(select(Clinic).where(Clinic.slug == "clinic-a")).out_of_hours = ""
        db.session.commit()
    for headers in (clinics.a, clinics.b):
        assert client.post("/api/v1/webhook-endpoints", headers=headers, json={
            "url": "http://127.0.0.1:9/hooks"}).status_code == 201
    body = {"template_id": "core_routine", "patient": {"display_name": "Ana P."}}
    a = client.post("/api/v1/plans/preview", headers=clinics.a, json=body).get_json()
    b = client.post("/api/v1/plans/preview", headers=clinics.b, json=body).get_json()
    assert a["ok"] is False and [p["field"] for p in a["problems"]] == ["clinic.out_of_hours"]
    assert b["ok"] is True and b["problems"] == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Plan)) == 0
        assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
