"""The webhook endpoints API: registration, secrets shown once, changes, tenancy, OpenAPI."""

from __future__ import annotations

import base64

import pytest

from tests.webhooks.conftest import attempt_all_due, deliveries_of, make_plan, register

EVENTS = ["plan.created", "plan.revised", "handout.ready", "handout.failed", "plan.deleted"]


def fields_named(resp) -> set[str]:
    assert resp.mimetype == "application/problem+json"
    return {e["field"] for e in resp.get_json().get("errors", [])}


def test_registering_shows_a_standard_webhooks_secret_once_and_never_again(
        app, client, clinics, receivers):
    receiver = receivers()
    resp = client.post("/api/v1/webhook-endpoints", headers=clinics.a,
                       json={"url": receiver.url, "description": "Portal prod"})
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["id"].startswith("whe_")
    assert resp.headers["Location"].endswith(f"/api/v1/webhook-endpoints/{body['id']}")
    assert body["events"] == EVENTS, "every event type when none is chosen"
    assert body["enabled"] is True
    secret = body["secret"]
    assert secret.startswith("whsec_")
    assert 24 <= len(base64.b64decode(secret.removeprefix("whsec_"))) <= 32

    one = client.get(f"/api/v1/webhook-endpoints/{body['id']}", headers=clinics.a)
    listed = client.get("/api/v1/webhook-endpoints", headers=clinics.a)
    for resp in (one, listed):
        assert resp.status_code == 200
        assert secret not in resp.get_data(as_text=True)
        assert "secret" not in resp.get_data(as_text=True).replace("previous_secret", "")
    assert [e["id"] for e in listed.get_json()["items"]] == [body["id"]]


def test_the_secret_is_stored_encrypted_and_signs_after_a_restart(app, clinics, receivers):
    """Not in plain text in the database, yet a new app with the same SECRET_KEY can sign."""
    from standardwebhooks.webhooks import Webhook

    from service import create_app
    from service.extensions import db
    from service.webhooks.models import WebhookEndpoint

    receiver = receivers()
    client = app.test_client()
    secret = register(client, clinics.a, receiver.url)["secret"]
    with app.app_context():
        stored = db.session.scalars(db.select(WebhookEndpoint)).one().secret_ciphertext
    assert secret not in stored and secret.removeprefix("whsec_") not in stored

    again = create_app({**app.config})
    make_plan(again.test_client(), clinics.a)
    attempt_all_due(again)
    assert len(receiver.received) == 1
    got = receiver.received[0]
    assert Webhook(secret).verify(got.body, got.headers)["type"] == "plan.created"


@pytest.mark.parametrize(("body", "field"), [
    ({}, "url"),
    ({"url": ""}, "url"),
    ({"url": "ftp://portal.example.com/x"}, "url"),
    ({"url": "http://127.0.0.1:9/x", "events": ["plan.erased"]}, "events.0"),
    ({"url": "http://127.0.0.1:9/x", "events": []}, "events"),
    ({"url": "http://127.0.0.1:9/x", "secret": "whsec_mine"}, "secret"),
    ({"url": "http://127.0.0.1:9/x", "description": "x" * 301}, "description"),
])
def test_bad_registration_is_a_problem_naming_the_field(client, clinics, body, field):
    resp = client.post("/api/v1/webhook-endpoints", headers=clinics.a, json=body)
    assert resp.status_code == 422
    assert field in fields_named(resp)


def test_plain_http_is_refused_unless_private_targets_are_allowed(app, client, clinics,
                                                                  monkeypatch):
    """Production only POSTs over https; plain http is a development allowance."""
    from service.webhooks import http

    monkeypatch.setattr(http, "resolve", lambda host, port: ["93.184.216.34"])
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    resp = client.post("/api/v1/webhook-endpoints", headers=clinics.a,
                       json={"url": "http://portal.example.com/hooks"})
    assert resp.status_code == 422
    assert fields_named(resp) == {"url"}
    assert "https" in resp.get_json()["errors"][0]["message"]
    ok = client.post("/api/v1/webhook-endpoints", headers=clinics.a,
                     json={"url": "https://portal.example.com/hooks"})
    assert ok.status_code == 201


def test_patch_changes_events_url_and_description_and_checks_the_url(client, clinics, receivers):
    receiver = receivers()
    endpoint = register(client, clinics.a, receiver.url)
    path = f"/api/v1/webhook-endpoints/{endpoint['id']}"
    resp = client.patch(path, headers=clinics.a, json={
        "events": ["handout.ready"], "description": "Only handouts", "url": receiver.url + "2"})
    assert resp.status_code == 200
    body = resp.get_json()
    assert (body["events"], body["description"], body["url"]) == (
        ["handout.ready"], "Only handouts", receiver.url + "2")
    bad = client.patch(path, headers=clinics.a, json={"url": "http://169.254.169.254/latest"})
    assert bad.status_code == 422 and fields_named(bad) == {"url"}
    assert client.get(path, headers=clinics.a).get_json()["url"] == receiver.url + "2"


def test_disabling_cancels_pending_deliveries_and_enabling_resumes_new_events(
        app, client, clinics, receivers):
    receiver = receivers()
    endpoint = register(client, clinics.a, receiver.url)
    path = f"/api/v1/webhook-endpoints/{endpoint['id']}"
    make_plan(client, clinics.a)  # plan.created is pending, not yet attempted
    off = client.patch(path, headers=clinics.a, json={"enabled": False})
    assert off.get_json()["enabled"] is False
    assert off.get_json()["disabled_reason"]
    [cancelled] = deliveries_of(client, clinics.a, endpoint["id"])
    assert cancelled["state"] == "cancelled" and cancelled["next_attempt_at"] is None
    make_plan(client, clinics.a)
    assert len(deliveries_of(client, clinics.a, endpoint["id"])) == 1, "no events while off"
    assert attempt_all_due(app) == [] and receiver.received == []

    on = client.patch(path, headers=clinics.a, json={"enabled": True})
    assert on.get_json()["enabled"] is True and on.get_json()["disabled_reason"] == ""
    make_plan(client, clinics.a)
    assert attempt_all_due(app) == ["succeeded"]


def test_delete_removes_the_endpoint_and_its_log(app, client, clinics, receivers):
    receiver = receivers()
    endpoint = register(client, clinics.a, receiver.url)
    make_plan(client, clinics.a)
    path = f"/api/v1/webhook-endpoints/{endpoint['id']}"
    assert client.delete(path, headers=clinics.a).status_code == 204
    assert client.get(path, headers=clinics.a).status_code == 404
    assert client.get(path + "/deliveries", headers=clinics.a).status_code == 404
    assert attempt_all_due(app) == [] and receiver.received == []


def test_deliveries_limit_is_validated(client, clinics, receivers):
    endpoint = register(client, clinics.a, receivers().url)
    resp = client.get(f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries?limit=0",
                      headers=clinics.a)
    assert resp.status_code == 422 and fields_named(resp) == {"limit"}


def test_endpoints_and_deliveries_are_listed_newest_first_a_cursor_page_at_a_time(
        client, clinics, receivers):
    """The same envelope as /api/v1/plans: items, next_cursor, and a Link to the next page."""
    receiver = receivers()
    ids = [register(client, clinics.a, receiver.url, description=f"n{i}")["id"] for i in range(3)]
    seen, path = [], "/api/v1/webhook-endpoints?limit=2"
    while path:
        resp = client.get(path, headers=clinics.a)
        assert resp.status_code == 200
        body = resp.get_json()
        seen += [e["id"] for e in body["items"]]
        assert ("Link" in resp.headers) == (body["next_cursor"] is not None)
        path = resp.headers.get("Link", "").removeprefix("<").partition(">")[0] or None
    assert seen == ids[::-1]

    for _ in range(3):
        make_plan(client, clinics.a)
    first = client.get(f"/api/v1/webhook-endpoints/{ids[0]}/deliveries?limit=2",
                       headers=clinics.a).get_json()
    rest = client.get(f"/api/v1/webhook-endpoints/{ids[0]}/deliveries",
                      query_string={"limit": 2, "cursor": first["next_cursor"]},
                      headers=clinics.a).get_json()
    assert len(first["items"]) == 2 and len(rest["items"]) == 1 and rest["next_cursor"] is None
    every = [d["id"] for d in first["items"] + rest["items"]]
    assert len(set(every)) == 3 and all(d["attempts"] == [] for d in rest["items"])

    bad = client.get(f"/api/v1/webhook-endpoints/{ids[0]}/deliveries?cursor=nonsense",
                     headers=clinics.a)
    assert bad.status_code == 422 and fields_named(bad) == {"cursor"}
    unknown = client.get("/api/v1/webhook-endpoints?page=2", headers=clinics.a)
    assert unknown.status_code == 422 and fields_named(unknown) == {"page"}


def test_webhook_routes_need_an_api_key(client):
    assert client.get("/api/v1/webhook-endpoints").status_code == 401


def test_another_clinics_endpoint_and_delivery_ids_answer_404_on_every_route(
        app, client, clinics, receivers):
    receiver = receivers()
    endpoint = register(client, clinics.a, receiver.url)
    make_plan(client, clinics.a)
    attempt_all_due(app)
    [delivery] = deliveries_of(client, clinics.a, endpoint["id"])
    base = f"/api/v1/webhook-endpoints/{endpoint['id']}"
    redeliver = f"{base}/deliveries/{delivery['id']}/redeliver"
    routes = [("get", base, None), ("patch", base, {"description": "mine now"}),
              ("delete", base, None), ("post", f"{base}/rotate-secret", None),
              ("get", f"{base}/deliveries", None), ("post", redeliver, None)]
    for method, path, body in routes:
        resp = getattr(client, method)(path, headers=clinics.b, json=body)
        assert resp.status_code == 404, (method, path)
        assert resp.mimetype == "application/problem+json"
    assert client.get("/api/v1/webhook-endpoints", headers=clinics.b).get_json()["items"] == []

    # Clinic B's own endpoint cannot reach A's delivery through its own URL either.
    other = register(client, clinics.b, receiver.url)
    cross = f"/api/v1/webhook-endpoints/{other['id']}/deliveries/{delivery['id']}/redeliver"
    assert client.post(cross, headers=clinics.b).status_code == 404
    # And A's endpoint is untouched.
    after = client.get(base, headers=clinics.a).get_json()
    assert after["description"] == "" and after["enabled"] is True
    assert deliveries_of(client, clinics.a, endpoint["id"])[0]["state"] == "succeeded"


def test_openapi_describes_each_event_payload_and_the_signature_headers(client):
    spec = client.get("/api/openapi.json").get_json()
    assert set(spec["webhooks"]) == set(EVENTS)
    post = spec["webhooks"]["handout.ready"]["post"]
    assert {p["name"] for p in post["parameters"]} == {
        "webhook-id", "webhook-timestamp", "webhook-signature"}
    event = spec["components"]["schemas"]["WebhookEvent"]
    assert set(event["properties"]) == {"type", "timestamp", "data"}
    data_ref = event["properties"]["data"]
    name = (data_ref.get("$ref") or data_ref["allOf"][0]["$ref"]).rsplit("/", 1)[1]
    assert set(spec["components"]["schemas"][name]["properties"]) == {
        "plan_id", "revision", "plan_url", "handout_url", "handout_html_url", "template_id",
        "template_version", "patient_reference", "reason", "revisions", "fhir_url"}
    assert "/api/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/redeliver" in (
        spec["paths"])


def test_changes_through_the_api_are_in_the_audit_log_by_key_and_never_with_the_secret(
        app, client, clinics, receivers):
    from sqlalchemy import select

    from service.audit import AuditEvent
    from service.extensions import db

    endpoint = register(client, clinics.a, receivers().url)
    base = f"/api/v1/webhook-endpoints/{endpoint['id']}"
    client.patch(base, headers=clinics.a, json={"description": "Portal", "enabled": False})
    rotated = client.post(f"{base}/rotate-secret", headers=clinics.a).get_json()["secret"]
    client.delete(base, headers=clinics.a)
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        # The key's own first use is audited too (tests/security/test_scopes.py).
        logged = [(e.action, e.target, e.actor.split(":")[0]) for e in rows
                  if e.action != "api_key_first_used"]
        text = " ".join(str(e.detail) for e in rows)
    assert logged == [(action, endpoint["id"], "api-key") for action in (
        "webhook_endpoint_created", "webhook_endpoint_updated", "webhook_endpoint_disabled",
        "webhook_secret_rotated", "webhook_endpoint_deleted")]
    assert endpoint["secret"] not in text and rotated not in text and "whsec_" not in text
