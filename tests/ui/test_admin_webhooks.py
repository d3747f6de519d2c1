"""Webhook endpoint admin pages: the same rules as the API, in forms a clinic admin can use."""

from __future__ import annotations

import re

from sqlalchemy import select

from service import audit
from service.extensions import db
from service.webhooks.models import WebhookDelivery, WebhookEndpoint
from service.webhooks.secret_store import decrypt
from tests.accounts.conftest import add_clinician, csrf_from, signed_in
from tests.form_pages import field_error
from tests.webhooks.conftest import (  # noqa: F401  (receivers is a fixture)
    CANARY_NAME,
    CANARY_NOTE,
    attempt_all_due,
    make_plan,
    receivers,
    register,
)

PAGE = "/admin/webhooks"
SECRET = re.compile(r"whsec_[A-Za-z0-9+/=]+")


def _add(client, url="http://127.0.0.1:9/hooks", events=("handout.ready", "handout.failed"),
         description="Front desk portal"):  # noqa: ANN001, ANN202
    return client.post(PAGE, data={"csrf_token": csrf_from(client, PAGE), "url": url,
                                   "events": list(events), "description": description})


def _endpoint(app, public_id=None) -> WebhookEndpoint | None:  # noqa: ANN001
    with app.app_context():
        query = select(WebhookEndpoint)
        if public_id:
            query = query.where(WebhookEndpoint.public_id == public_id)
        return db.session.scalars(query).first()


def _events(app, action: str) -> list[audit.AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(audit.AuditEvent).where(
            audit.AuditEvent.action == action)))


def test_admin_adds_an_endpoint_and_sees_its_working_secret_once_and_never_again(
        app, client, people):
    signed_in(client, "admin@a.example")
    resp = _add(client)
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200
    [secret] = set(SECRET.findall(text))
    row = _endpoint(app)
    assert row.url == "http://127.0.0.1:9/hooks" and row.description == "Front desk portal"
    assert row.events == ["handout.ready", "handout.failed"] and row.enabled
    with app.app_context():
        assert decrypt(row.secret_ciphertext) == secret, "the shown secret is the signing one"

    detail = f"{PAGE}/{row.public_id}"
    for path in (PAGE, detail, f"{detail}/delete", "/admin/audit"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert secret not in page.get_data(as_text=True) and not SECRET.search(
            page.get_data(as_text=True)), path
    api = client.get("/api/v1/webhook-endpoints", headers=people.keys.a).get_data(as_text=True)
    assert row.public_id in api and secret not in api

    [created] = _events(app, audit.WEBHOOK_ENDPOINT_CREATED)
    assert created.target == row.public_id and created.clinic_id == people.clinic_a
    assert created.actor.startswith("clinician:") and secret not in str(created.detail)


def test_a_private_or_loopback_address_is_refused_next_to_the_url_field(app, client, people):
    """The API's SSRF check applies to the form too; what was typed is kept."""
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    signed_in(client, "admin@a.example")
    for url in ("https://127.0.0.1/hooks", "https://10.1.2.3/hooks",
                "https://169.254.169.254/latest", "http://203.0.113.9/hooks"):
        resp = _add(client, url=url, events=["plan.created"], description="Portal test")
        text = resp.get_data(as_text=True)
        assert resp.status_code == 422, url
        assert "cannot send webhooks to this address" in field_error(text, "url")
        assert 'href="#f-url"' in text  # the error summary links to the field
        assert f'value="{url}"' in text and 'value="Portal test"' in text
        assert re.search(r'id="ev-plan-created"[^>]*checked', text)
        assert not re.search(r'id="ev-handout-ready"[^>]*checked', text)
    assert _endpoint(app) is None and not _events(app, audit.WEBHOOK_ENDPOINT_CREATED)


def test_missing_or_invalid_fields_are_named_at_their_fields(app, client, people):
    signed_in(client, "admin@a.example")
    resp = _add(client, url="", events=[], description="x" * 301)
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "https address" in field_error(text, "url")
    assert "Tick at least one event" in field_error(text, "events")
    assert "300" in field_error(text, "description")
    resp = _add(client, events=["plan.created", "plan.erased"])
    assert resp.status_code == 422 and field_error(resp.get_data(as_text=True), "events")
    assert _endpoint(app) is None


def test_switching_off_cancels_waiting_messages_and_switching_on_clears_the_reason(
        app, client, people):
    endpoint = register(client, people.keys.a, "http://127.0.0.1:9/hooks")
    make_plan(client, people.keys.a)
    signed_in(client, "admin@a.example")
    detail = f"{PAGE}/{endpoint['id']}"
    resp = client.post(f"{detail}/enabled", data={"csrf_token": csrf_from(client, detail),
                                                  "enabled": "0"})
    assert resp.status_code == 303
    row = _endpoint(app, endpoint["id"])
    assert not row.enabled and "Ada Admin" in row.disabled_reason
    with app.app_context():
        states = db.session.scalars(select(WebhookDelivery.state)).all()
    assert states == ["cancelled"]
    text = client.get(detail).get_data(as_text=True)
    assert "Switched off" in text and "Redeliver" not in text

    client.post(f"{detail}/enabled", data={"csrf_token": csrf_from(client, detail),
                                           "enabled": "1"})
    row = _endpoint(app, endpoint["id"])
    assert row.enabled and row.disabled_reason == ""
    assert [e.target for e in _events(app, audit.WEBHOOK_ENDPOINT_DISABLED)] == [endpoint["id"]]
    assert [e.target for e in _events(app, audit.WEBHOOK_ENDPOINT_ENABLED)] == [endpoint["id"]]


def test_rotating_shows_the_new_secret_once_and_explains_the_overlap(app, client, people):
    endpoint = register(client, people.keys.a, "http://127.0.0.1:9/hooks")
    signed_in(client, "admin@a.example")
    detail = f"{PAGE}/{endpoint['id']}"
    resp = client.post(f"{detail}/rotate-secret", data={"csrf_token": csrf_from(client, detail)})
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200
    [secret] = set(SECRET.findall(text))
    assert secret != endpoint["secret"] and "next 24 hours" in text
    row = _endpoint(app, endpoint["id"])
    with app.app_context():
        assert decrypt(row.secret_ciphertext) == secret
        assert decrypt(row.previous_secret_ciphertext) == endpoint["secret"]
    again = client.get(detail).get_data(as_text=True)
    assert secret not in again and "Still signs until" in again
    [rotated] = _events(app, audit.WEBHOOK_SECRET_ROTATED)
    assert rotated.target == endpoint["id"] and "whsec_" not in str(rotated.detail)


def test_delete_asks_first_without_script_and_then_removes_the_endpoint_and_log(
        app, client, people):
    endpoint = register(client, people.keys.a, "http://127.0.0.1:9/hooks")
    make_plan(client, people.keys.a)
    signed_in(client, "admin@a.example")
    confirm = client.get(f"{PAGE}/{endpoint['id']}/delete")
    text = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "cannot be undone" in text and "(1 message)" in text
    assert _endpoint(app, endpoint["id"]) is not None, "asking deletes nothing"
    resp = client.post(f"{PAGE}/{endpoint['id']}/delete",
                       data={"csrf_token": csrf_from(client, PAGE)})
    assert resp.status_code == 303
    assert f"deleted={endpoint['id']}" in resp.headers["Location"]
    assert _endpoint(app, endpoint["id"]) is None
    with app.app_context():
        assert db.session.scalars(select(WebhookDelivery)).all() == []
    assert [e.target for e in _events(app, audit.WEBHOOK_ENDPOINT_DELETED)] == [endpoint["id"]]
    assert client.get(f"{PAGE}/{endpoint['id']}").status_code == 404


def test_delivery_log_shows_attempts_and_redeliver_sends_the_same_webhook_id(
        app, client, people, receivers):  # noqa: F811
    receiver = receivers(answers=[(500, {})])
    app.config["WEBHOOK_RETRY_SCHEDULE"] = [0, 3600]
    endpoint = register(client, people.keys.a, receiver.url)
    make_plan(client, people.keys.a)
    attempt_all_due(app)
    signed_in(client, "admin@a.example")
    detail = f"{PAGE}/{endpoint['id']}"
    text = client.get(detail).get_data(as_text=True)
    with app.app_context():
        delivery = db.session.scalars(select(WebhookDelivery)).one()
    first_id = receiver.received[0].headers["webhook-id"]
    assert delivery.webhook_id == first_id
    assert "plan.created" in text and first_id in text and "HTTP 500" in text
    assert delivery.next_attempt_at.strftime("%d %b, %H:%M:%S") in text, "next attempt shown"
    assert CANARY_NAME not in text and CANARY_NOTE not in text

    resp = client.post(f"{detail}/deliveries/{delivery.public_id}/redeliver",
                       data={"csrf_token": csrf_from(client, detail)})
    assert resp.status_code == 303
    attempt_all_due(app)
    assert [r.headers["webhook-id"] for r in receiver.received] == [first_id, first_id]
    text = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "is being sent again" in text and "HTTP 204" in text and "redelivery" in text
    assert "succeeded" in text
    [event] = _events(app, audit.WEBHOOK_REDELIVERED)
    assert event.detail == {"delivery": delivery.public_id, "webhook_id": first_id}

    # A switched-off endpoint refuses, with the reason on the page.
    with app.app_context():
        db.session.get(WebhookEndpoint, delivery.endpoint_id).enabled = False
        db.session.commit()
    resp = client.post(f"{detail}/deliveries/{delivery.public_id}/redeliver",
                       data={"csrf_token": csrf_from(client, detail)})
    assert resp.status_code == 409 and "enable it first" in resp.get_data(as_text=True)
    assert len(receiver.received) == 2 and attempt_all_due(app) == []


def test_a_clinician_who_is_not_an_admin_gets_403_and_changes_nothing(app, client, people):
    endpoint = register(client, people.keys.a, "http://127.0.0.1:9/hooks")
    signed_in(client, "pt@a.example")
    token = csrf_from(client, "/plans")
    base = f"{PAGE}/{endpoint['id']}"
    for path in (PAGE, base, f"{base}/delete"):
        assert client.get(path).status_code == 403, path
    for path in (PAGE, f"{base}/enabled", f"{base}/rotate-secret", f"{base}/delete"):
        resp = client.post(path, data={"csrf_token": token, "url": "http://127.0.0.1:9/x",
                                       "events": ["plan.created"], "enabled": "0"})
        assert resp.status_code == 403, path
    row = _endpoint(app, endpoint["id"])
    assert row.enabled and row.previous_secret_ciphertext is None
    with app.app_context():
        assert db.session.scalars(select(WebhookEndpoint)).all().__len__() == 1
    assert "Webhooks" not in client.get("/plans").get_data(as_text=True)


def test_another_clinics_endpoint_and_delivery_ids_answer_404(app, client, people):
    endpoint = register(client, people.keys.a, "http://127.0.0.1:9/hooks")
    make_plan(client, people.keys.a)
    with app.app_context():
        delivery = db.session.scalars(select(WebhookDelivery.public_id)).one()
    add_clinician(app, people.clinic_b, "admin@b.example", role="admin")
    signed_in(client, "admin@b.example")
    token = csrf_from(client, PAGE)
    base = f"{PAGE}/{endpoint['id']}"
    for path in (base, f"{base}/delete"):
        assert client.get(path).status_code == 404, path
    for path in (f"{base}/enabled", f"{base}/rotate-secret", f"{base}/delete",
                 f"{base}/deliveries/{delivery}/redeliver"):
        assert client.post(path, data={"csrf_token": token, "enabled": "0"}).status_code == 404
    # B's own endpoint cannot reach A's delivery either.
    own = register(client, people.keys.b, "http://127.0.0.1:9/b")
    assert client.post(f"{PAGE}/{own['id']}/deliveries/{delivery}/redeliver",
                       data={"csrf_token": token}).status_code == 404
    assert endpoint["id"] not in client.get(PAGE).get_data(as_text=True)
    row = _endpoint(app, endpoint["id"])
    assert row.enabled and row.previous_secret_ciphertext is None
    assert not _events(app, audit.WEBHOOK_REDELIVERED)


def test_every_change_needs_the_csrf_token(app, client, people):
    endpoint = register(client, people.keys.a, "http://127.0.0.1:9/hooks")
    signed_in(client, "admin@a.example")
    base = f"{PAGE}/{endpoint['id']}"
    for path in (PAGE, f"{base}/enabled", f"{base}/rotate-secret", f"{base}/delete"):
        resp = client.post(path, data={"url": "http://127.0.0.1:9/x", "events": ["plan.created"],
                                       "enabled": "0"})
        assert resp.status_code == 400, path
        assert "whsec_" not in resp.get_data(as_text=True)
    row = _endpoint(app, endpoint["id"])
    assert row.enabled and row.previous_secret_ciphertext is None
    with app.app_context():
        assert len(db.session.scalars(select(WebhookEndpoint)).all()) == 1


def test_admin_nav_links_to_webhooks_and_the_audit_page_names_the_endpoint(app, client, people):
    signed_in(client, "admin@a.example")
    _add(client)
    row = _endpoint(app)
    page = client.get("/admin/audit").get_data(as_text=True)
    assert f'href="{PAGE}"' in client.get("/admin/clinicians").get_data(as_text=True)
    assert "webhook endpoint created" in page and row.public_id in page


def test_admin_changes_address_events_and_description_with_the_same_checks(app, client, people):
    endpoint = register(client, people.keys.a, "http://127.0.0.1:9/hooks")
    signed_in(client, "admin@a.example")
    detail = f"{PAGE}/{endpoint['id']}"
    resp = client.post(detail, data={"csrf_token": csrf_from(client, detail),
                                     "url": "http://127.0.0.1:9/v2", "description": "Portal v2",
                                     "events": ["handout.failed", "handout.ready"]})
    assert resp.status_code == 303
    assert "Saved." in client.get(resp.headers["Location"]).get_data(as_text=True)
    row = _endpoint(app, endpoint["id"])
    assert (row.url, row.events, row.description) == (
        "http://127.0.0.1:9/v2", ["handout.ready", "handout.failed"], "Portal v2")
    [changed] = _events(app, audit.WEBHOOK_ENDPOINT_UPDATED)
    assert changed.detail == {"fields": ["url", "events", "description"]}

    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    resp = client.post(detail, data={"csrf_token": csrf_from(client, detail),
                                     "url": "https://192.168.1.20/hooks", "description": "x",
                                     "events": ["plan.created"]})
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "cannot send webhooks" in field_error(text, "url")
    assert 'value="https://192.168.1.20/hooks"' in text
    resp = client.post(detail, data={"csrf_token": csrf_from(client, detail),
                                     "url": "http://127.0.0.1:9/v2", "description": "x"})
    assert resp.status_code == 422
    assert "Tick at least one event" in field_error(resp.get_data(as_text=True), "events")
    row = _endpoint(app, endpoint["id"])
    assert (row.url, row.description) == ("http://127.0.0.1:9/v2", "Portal v2"), "nothing kept"
    assert len(_events(app, audit.WEBHOOK_ENDPOINT_UPDATED)) == 1


def test_a_long_delivery_log_pages_fifty_at_a_time_newest_first(app, client, people):
    endpoint = register(client, people.keys.a, "http://127.0.0.1:9/hooks")
    with app.app_context():
        row = db.session.scalars(select(WebhookEndpoint)).one()
        db.session.add_all([WebhookDelivery(endpoint_id=row.id, webhook_id=f"msg_test{i:03d}",
                                            event_type="plan.created", payload="{}",
                                            state="succeeded") for i in range(51)])
        db.session.commit()
    signed_in(client, "admin@a.example")
    first = client.get(f"{PAGE}/{endpoint['id']}").get_data(as_text=True)
    assert "msg_test050" in first and "msg_test001" in first and "msg_test000" not in first
    older = re.search(r'href="([^"]+before=\d+)">Older deliveries', first).group(1)
    rest = client.get(older.replace("&amp;", "&")).get_data(as_text=True)
    assert "msg_test000" in rest and "msg_test001" not in rest and "Older deliveries" not in rest
