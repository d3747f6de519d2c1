"""Each revision's handout stays fetchable with a strong ETag; links and times are ones a
generated client can trust."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select

from tests.operators.conftest import render_all
from tests.unit.pdf_helpers import flat, page_texts


def _plan(client, headers, name="Ana P."):
    resp = client.post("/api/v1/plans", headers=headers, json={
        "template_id": "core_routine", "patient": {"display_name": name}})
    assert resp.status_code == 201
    return resp.get_json()


def test_an_older_revisions_handout_is_still_served_after_a_new_revision(app, client, clinics):
    plan = _plan(client, clinics.a, name="Ada First")
    render_all(app)
    revised = client.patch(f"/api/v1/plans/{plan['id']}", headers=clinics.a,
                           json={"patient": {"display_name": "Ada Second"}}).get_json()
    assert revised["handout"]["url"].endswith(f"/api/v1/plans/{plan['id']}/revisions/2/handout")
    pending = client.get(f"/api/v1/plans/{plan['id']}/revisions/2/handout", headers=clinics.a)
    assert pending.status_code == 202 and pending.get_json()["revision"] == 2
    render_all(app)

    first = client.get(plan["handout"]["url"], headers=clinics.a)
    assert first.status_code == 200 and first.mimetype == "application/pdf"
    assert "Ada First" in flat(" ".join(page_texts(first.data)))
    latest = client.get(f"/api/v1/plans/{plan['id']}/handout", headers=clinics.a)
    assert "Ada Second" in flat(" ".join(page_texts(latest.data)))
    html = client.get(f"/api/v1/plans/{plan['id']}/revisions/1/handout.html", headers=clinics.a)
    assert html.mimetype == "text/html" and "Ada First" in html.get_data(as_text=True)
    missing = client.get(f"/api/v1/plans/{plan['id']}/revisions/3/handout", headers=clinics.a)
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"


def test_stored_handouts_have_a_strong_etag_and_honour_if_none_match(app, client, clinics):
    plan = _plan(client, clinics.a)
    render_all(app)
    for suffix in ("handout", "handout.html", "revisions/1/handout", "revisions/1/handout.html"):
        url = f"/api/v1/plans/{plan['id']}/{suffix}"
        first = client.get(url, headers=clinics.a)
        etag = first.headers["ETag"]
        assert etag.startswith('"') and not etag.startswith("W/"), "strong"
        again = client.get(url, headers={**clinics.a, "If-None-Match": etag})
        assert again.status_code == 304 and again.data == b""
        assert again.headers["ETag"] == etag
        other = client.get(url, headers={**clinics.a, "If-None-Match": '"something-else"'})
        assert other.status_code == 200 and other.data == first.data
    pdf = client.get(f"/api/v1/plans/{plan['id']}/handout", headers=clinics.a)
    assert pdf.headers["ETag"] == f'"{plan_sha(client, clinics, plan)}"'


def plan_sha(client, clinics, plan):
    return client.get(f"/api/v1/plans/{plan['id']}", headers=clinics.a).get_json()[
        "handout"]["sha256"]


def _offset(value: str) -> bool:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.utcoffset() is not None


def test_every_time_the_api_and_webhooks_emit_has_an_offset(app, client, clinics):
    """Runs on SQLite and PostgreSQL alike (the app fixture is parametrised over both)."""
    endpoint = client.post("/api/v1/webhook-endpoints", headers=clinics.a,
                           json={"url": "http://127.0.0.1:9/hooks"}).get_json()
    plan = _plan(client, clinics.a)
    render_all(app)
    times: list[str] = []

    def collect(value):
        if isinstance(value, dict):
            for key, inner in value.items():
                if key.endswith(("_at", "timestamp")) and isinstance(inner, str):
                    times.append(inner)
                collect(inner)
        elif isinstance(value, list):
            for inner in value:
                collect(inner)

    for url in ("/api/v1/plans", f"/api/v1/plans/{plan['id']}", "/api/v1/api-keys",
                "/api/v1/webhook-endpoints", f"/api/v1/webhook-endpoints/{endpoint['id']}",
                f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries"):
        resp = client.get(url, headers=clinics.a)
        assert resp.status_code == 200, url
        collect(resp.get_json())
    collect(endpoint)
    from service.extensions import db
    from service.webhooks.models import WebhookDelivery

    with app.app_context():
        for row in db.session.scalars(select(WebhookDelivery)):
            collect(json.loads(row.payload))
    names = {"created_at", "updated_at", "next_attempt_at", "timestamp"}
    assert len(times) >= len(names)
    assert all(_offset(t) for t in times), [t for t in times if not _offset(t)]


def test_webhook_links_use_the_request_host_when_no_public_url_is_set(app, client, clinics):
    from service.extensions import db
    from service.webhooks.models import WebhookDelivery

    app.config["PUBLIC_URL"] = ""
    client.post("/api/v1/webhook-endpoints", headers=clinics.a,
                json={"url": "http://127.0.0.1:9/hooks"})
    plan = client.post("/api/v1/plans", base_url="http://clinic.internal:8123", headers=clinics.a,
                       json={"template_id": "core_routine",
                             "patient": {"display_name": "Ana P."}}).get_json()
    render_all(app)  # handout.ready is built off-request, by the worker
    with app.app_context():
        payloads = [json.loads(r.payload)["data"] for r in db.session.scalars(
            select(WebhookDelivery).order_by(WebhookDelivery.id))]
    created, ready = payloads
    assert created["plan_url"] == f"http://clinic.internal:8123/api/v1/plans/{plan['id']}"
    # Off-request, with nothing configured, a link is a path: never a made-up host.
    assert ready["handout_url"] == f"/api/v1/plans/{plan['id']}/revisions/1/handout"
    assert "localhost" not in json.dumps(payloads)

    app.config["PUBLIC_URL"] = "https://limber.example.org/"
    client.patch(f"/api/v1/plans/{plan['id']}", headers=clinics.a, json={"notes": "x"})
    render_all(app)
    with app.app_context():
        last = json.loads(db.session.scalars(select(WebhookDelivery).order_by(
            WebhookDelivery.id.desc())).first().payload)["data"]
    assert last["handout_url"] == (
        f"https://limber.example.org/api/v1/plans/{plan['id']}/revisions/2/handout")


def test_limber_run_hands_its_own_address_to_links_unless_public_url_is_set():
    from service.cli import listen_url

    assert listen_url("127.0.0.1", 5055) == "http://127.0.0.1:5055"
    assert listen_url("::1", 8000) == "http://[::1]:8000"
    assert listen_url("0.0.0.0", 5000) == ""  # noqa: S104 - a wildcard bind has no one address


def test_the_instance_folder_is_the_same_from_any_current_directory(tmp_path, monkeypatch):
    from pathlib import Path

    from service import config

    monkeypatch.delenv("LIMBER_INSTANCE_PATH", raising=False)
    checkout = Path(config.__file__).resolve().parent.parent
    monkeypatch.chdir(tmp_path)
    here = config.instance_path()
    monkeypatch.chdir(checkout / "docs")
    assert config.instance_path() == here == checkout / "instance"
    monkeypatch.setenv("LIMBER_INSTANCE_PATH", str(tmp_path / "elsewhere"))
    assert config.instance_path() == tmp_path / "elsewhere"
