"""Delivery against a real HTTP receiver: signatures, retries, 410, redirects, redelivery."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.webhooks.conftest import (
    CANARY_NAME,
    CANARY_NOTE,
    attempt_all_due,
    deliveries_of,
    make_plan,
    register,
)


def states(app) -> dict[str, str]:
    from service.extensions import db
    from service.webhooks.models import WebhookDelivery

    with app.app_context():
        return {d.event_type: d.state for d in db.session.scalars(db.select(WebhookDelivery))}


def test_plan_events_go_to_each_enabled_endpoint_subscribed_to_them(
        app, client, clinics, receivers):
    everything, handouts_only, switched_off = receivers(), receivers(), receivers()
    all_events = register(client, clinics.a, everything.url)
    register(client, clinics.a, handouts_only.url, events=["handout.ready"])
    off = register(client, clinics.a, switched_off.url)
    client.patch(f"/api/v1/webhook-endpoints/{off['id']}", headers=clinics.a,
                 json={"enabled": False})
    register(client, clinics.b, receivers().url)  # another clinic's endpoint hears nothing

    plan = make_plan(client, clinics.a)
    client.patch(f"/api/v1/plans/{plan['id']}", headers=clinics.a, json={"notes": "Easier"})
    assert attempt_all_due(app) == ["succeeded", "succeeded"]
    got = [json.loads(r.body) for r in everything.received]
    assert [(e["type"], e["data"]["revision"]) for e in got] == [
        ("plan.created", 1), ("plan.revised", 2)]
    assert handouts_only.received == [] and switched_off.received == []
    assert [d["event_type"] for d in deliveries_of(client, clinics.a, all_events["id"])] == [
        "plan.revised", "plan.created"], "newest first"


def test_every_delivery_verifies_and_carries_ids_and_links_but_no_patient_data(
        app, client, clinics, receivers):
    app.config["PUBLIC_URL"] = "https://limber.example.org/"
    receiver = receivers()
    secret = register(client, clinics.a, receiver.url)["secret"]
    plan = make_plan(client, clinics.a, reference="MRN-20931")
    attempt_all_due(app)

    [req] = receiver.received
    event = Webhook(secret).verify(req.body, req.headers)
    assert req.headers["Content-Type"] == "application/json"
    assert req.headers["webhook-id"].startswith("msg_")
    assert abs(int(req.headers["webhook-timestamp"]) - datetime.now(UTC).timestamp()) < 30
    assert event["type"] == "plan.created"
    datetime.fromisoformat(event["timestamp"])
    assert event["data"] == {
        "plan_id": plan["id"], "revision": 1,
        "plan_url": f"https://limber.example.org/api/v1/plans/{plan['id']}",
        "handout_url": f"https://limber.example.org/api/v1/plans/{plan['id']}/revisions/1/handout",
        "handout_html_url":
            f"https://limber.example.org/api/v1/plans/{plan['id']}/revisions/1/handout.html",
        "template_id": "core_routine", "template_version": plan["template"]["version"],
        "patient_reference": "MRN-20931"}
    text = req.body.decode() + json.dumps(req.headers)
    assert CANARY_NAME not in text and CANARY_NOTE not in text

    tampered = req.body.replace(b"MRN-20931", b"MRN-99999")
    try:
        Webhook(secret).verify(tampered, req.headers)
    except WebhookVerificationError:
        pass
    else:
        raise AssertionError("a changed body must not verify")


def test_failures_are_retried_with_the_same_webhook_id_and_body_until_success(
        app, client, clinics, receivers):
    app.config["WEBHOOK_RETRY_SCHEDULE"] = [0, 0, 0, 0]
    receiver = receivers(answers=[(500, {}), (503, {}), (429, {})])
    endpoint = register(client, clinics.a, receiver.url)
    make_plan(client, clinics.a)
    for expected in ("pending", "pending", "pending", "succeeded"):
        assert attempt_all_due(app) == [expected]

    assert len(receiver.received) == 4
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    assert len({r.body for r in receiver.received}) == 1
    [log] = deliveries_of(client, clinics.a, endpoint["id"])
    assert log["state"] == "succeeded" and log["next_attempt_at"] is None
    assert [a["status_code"] for a in log["attempts"]] == [500, 503, 429, 204]
    assert all(a["duration_ms"] >= 0 and a["at"] for a in log["attempts"])


def test_a_retry_waits_for_its_time_in_the_schedule(app, client, clinics, receivers):
    """The next attempt is a time in the database; nothing sends it early."""
    app.config["WEBHOOK_RETRY_SCHEDULE"] = [0, 300]
    receiver = receivers(answers=[(500, {})])
    endpoint = register(client, clinics.a, receiver.url)
    make_plan(client, clinics.a)
    before = datetime.now(UTC)
    assert attempt_all_due(app) == ["pending"]
    [log] = deliveries_of(client, clinics.a, endpoint["id"])
    next_at = datetime.fromisoformat(log["next_attempt_at"]).replace(tzinfo=UTC)
    assert timedelta(seconds=299) <= next_at - before <= timedelta(seconds=310)

    from service.extensions import db
    from service.webhooks import delivery
    from service.webhooks.models import WebhookDelivery

    with app.app_context():
        row = db.session.scalars(db.select(WebhookDelivery)).one()
        assert delivery.attempt(row.id) is None, "not due yet: a worker must not send it"
    assert len(receiver.received) == 1


def test_retry_after_later_than_the_schedule_is_honoured_in_seconds_and_as_a_date(
        app, client, clinics, receivers):
    app.config["WEBHOOK_RETRY_SCHEDULE"] = [0, 5, 5, 5, 3600]
    in_ten_minutes = format_datetime(datetime.now(UTC) + timedelta(minutes=10), usegmt=True)
    receiver = receivers(answers=[(503, {"Retry-After": "120"}),
                                  (429, {"Retry-After": in_ten_minutes}),
                                  (503, {"Retry-After": "1"})])
    endpoint = register(client, clinics.a, receiver.url)
    make_plan(client, clinics.a)

    from service.extensions import db
    from service.webhooks.models import WebhookDelivery

    def wait_after_attempt() -> float:
        before = datetime.now(UTC)
        attempt_all_due(app)
        with app.app_context():
            row = db.session.scalars(db.select(WebhookDelivery)).one()
            waited = (row.next_attempt_at.replace(tzinfo=UTC) - before).total_seconds()
            row.next_attempt_at = datetime.now(UTC)  # let the test move on without waiting
            db.session.commit()
        return waited

    assert 119 <= wait_after_attempt() <= 125
    assert 590 <= wait_after_attempt() <= 605
    assert 4 <= wait_after_attempt() <= 7, "an earlier Retry-After does not shorten the schedule"
    assert len(deliveries_of(client, clinics.a, endpoint["id"])[0]["attempts"]) == 3


def test_after_the_last_scheduled_attempt_the_delivery_is_failed(
        app, client, clinics, receivers):
    app.config["WEBHOOK_RETRY_SCHEDULE"] = [0, 0, 0]
    receiver = receivers(default=(500, {}))
    endpoint = register(client, clinics.a, receiver.url)
    make_plan(client, clinics.a)
    assert [attempt_all_due(app) for _ in range(4)] == [
        ["pending"], ["pending"], ["failed"], []]
    [log] = deliveries_of(client, clinics.a, endpoint["id"])
    assert log["state"] == "failed" and log["next_attempt_at"] is None
    assert len(log["attempts"]) == 3 and log["finished_at"]


def test_410_gone_disables_the_endpoint_and_stops_its_pending_deliveries(
        app, client, clinics, receivers):
    receiver = receivers(answers=[(410, {})])
    endpoint = register(client, clinics.a, receiver.url)
    make_plan(client, clinics.a)
    make_plan(client, clinics.a)
    from service.extensions import db
    from service.webhooks import delivery
    from service.webhooks.models import WebhookDelivery

    with app.app_context():
        first = db.session.scalars(db.select(WebhookDelivery).order_by(WebhookDelivery.id)).first()
        assert delivery.attempt(first.id) == "failed"
    assert attempt_all_due(app) == []
    assert len(receiver.received) == 1

    shown = client.get(f"/api/v1/webhook-endpoints/{endpoint['id']}", headers=clinics.a)
    assert shown.get_json()["enabled"] is False
    assert "410" in shown.get_json()["disabled_reason"]
    log = deliveries_of(client, clinics.a, endpoint["id"])
    assert [d["state"] for d in log] == ["cancelled", "failed"]
    make_plan(client, clinics.a)
    assert len(deliveries_of(client, clinics.a, endpoint["id"])) == 2, "no new events"


def test_a_redirect_is_not_followed_and_counts_as_a_failure(app, client, clinics, receivers):
    target = receivers()
    redirecting = receivers(answers=[(302, {"Location": target.url}),
                                     (307, {"Location": target.url})])
    app.config["WEBHOOK_RETRY_SCHEDULE"] = [0, 0, 0]
    endpoint = register(client, clinics.a, redirecting.url)
    make_plan(client, clinics.a)
    assert attempt_all_due(app) == ["pending"]
    assert attempt_all_due(app) == ["pending"]
    assert target.received == [], "the redirect target must get nothing"
    [log] = deliveries_of(client, clinics.a, endpoint["id"])
    assert [a["status_code"] for a in log["attempts"]] == [302, 307]


def test_a_receiver_that_is_down_is_recorded_and_retried(app, client, clinics, receivers):
    receiver = receivers()
    receiver.stop()  # the port was just free; nothing listens there now
    endpoint = register(client, clinics.a, receiver.url)
    make_plan(client, clinics.a)
    assert attempt_all_due(app) == ["pending"]
    [log] = deliveries_of(client, clinics.a, endpoint["id"])
    [failed] = log["attempts"]
    assert failed["status_code"] is None and failed["error"] == "ConnectionError"


def test_concurrent_runs_of_one_delivery_send_it_once(app, client, clinics, receivers):
    """Duplicate task messages race to claim the row; only the winner sends."""
    receiver = receivers()
    register(client, clinics.a, receiver.url)
    make_plan(client, clinics.a)

    from service.extensions import db
    from service.webhooks import delivery
    from service.webhooks.models import WebhookDelivery

    with app.app_context():
        delivery_id = db.session.scalars(db.select(WebhookDelivery.id)).one()
    start = threading.Barrier(4)
    results: list[str | None] = []

    def run() -> None:
        with app.app_context():
            start.wait()
            results.append(delivery.attempt(delivery_id))
            db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(map(str, results)) == ["None", "None", "None", "succeeded"]
    assert len(receiver.received) == 1


def test_a_claim_cut_short_by_a_database_error_is_released_by_the_task_that_made_it(
        app, client, clinics, receivers):
    """The database went away right after a try's claim committed (the fault suite's "database
    down" saw it): the same task's next try releases that claim and sends; any other run still
    finds the row claimed and sends nothing."""
    receiver = receivers()
    register(client, clinics.a, receiver.url)
    make_plan(client, clinics.a)

    from service.extensions import db
    from service.models import utcnow
    from service.webhooks import delivery
    from service.webhooks.models import WebhookDelivery

    with app.app_context():
        delivery_id = db.session.scalars(db.select(WebhookDelivery.id)).one()
        ours: list[str] = []
        assert delivery.claim(delivery_id, utcnow(), ours)  # committed; the answer was lost
        assert delivery.attempt(delivery_id) is None
        assert delivery.attempt(delivery_id, ["2026-01-01T00:00:00+00:00"]) is None
        assert receiver.received == []
        assert delivery.attempt(delivery_id, ours) == "succeeded"
        assert delivery.attempt(delivery_id, ours) is None  # done: nothing left to release
    assert len(receiver.received) == 1


def test_manual_redelivery_sends_the_same_webhook_id_and_body_again(
        app, client, clinics, receivers):
    receiver = receivers()
    secret = register(client, clinics.a, receiver.url)["secret"]
    listed = client.get("/api/v1/webhook-endpoints", headers=clinics.a).get_json()
    endpoint_id = listed["items"][0]["id"]
    make_plan(client, clinics.a)
    attempt_all_due(app)
    [done] = deliveries_of(client, clinics.a, endpoint_id)
    assert done["state"] == "succeeded"

    resp = client.post(f"/api/v1/webhook-endpoints/{endpoint_id}/deliveries/{done['id']}"
                       "/redeliver", headers=clinics.a)
    assert resp.status_code == 202
    assert resp.get_json()["state"] == "pending"
    assert resp.get_json()["webhook_id"] == done["webhook_id"]
    assert attempt_all_due(app) == ["succeeded"]

    first, again = receiver.received
    assert first.headers["webhook-id"] == again.headers["webhook-id"] == done["webhook_id"]
    assert first.body == again.body
    Webhook(secret).verify(again.body, again.headers)
    [log] = deliveries_of(client, clinics.a, endpoint_id)
    assert [a["manual"] for a in log["attempts"]] == [False, True]


def test_redelivery_to_a_disabled_endpoint_is_refused(app, client, clinics, receivers):
    endpoint = register(client, clinics.a, receivers().url)
    make_plan(client, clinics.a)
    attempt_all_due(app)
    [done] = deliveries_of(client, clinics.a, endpoint["id"])
    client.patch(f"/api/v1/webhook-endpoints/{endpoint['id']}", headers=clinics.a,
                 json={"enabled": False})
    resp = client.post(f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries/{done['id']}"
                       "/redeliver", headers=clinics.a)
    assert resp.status_code == 409 and "enable" in resp.get_json()["detail"]


def test_during_a_rotation_both_signatures_are_sent_and_either_secret_verifies(
        app, client, clinics, receivers):
    receiver = receivers()
    endpoint = register(client, clinics.a, receiver.url)
    old = endpoint["secret"]
    rotated = client.post(f"/api/v1/webhook-endpoints/{endpoint['id']}/rotate-secret",
                          headers=clinics.a)
    assert rotated.status_code == 200
    new = rotated.get_json()["secret"]
    assert new.startswith("whsec_") and new != old
    expires = datetime.fromisoformat(rotated.get_json()["previous_secret_expires_at"])
    assert timedelta(hours=23, minutes=59) < (
        expires.replace(tzinfo=UTC) - datetime.now(UTC)) <= timedelta(hours=24)

    make_plan(client, clinics.a)
    attempt_all_due(app)
    [req] = receiver.received
    assert len(req.headers["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(req.body, req.headers)["type"] == "plan.created"
    assert Webhook(new).verify(req.body, req.headers)["type"] == "plan.created"

    # After the overlap only the new secret signs.
    from service.extensions import db
    from service.webhooks.models import WebhookEndpoint

    with app.app_context():
        row = db.session.scalars(db.select(WebhookEndpoint)).one()
        row.previous_secret_expires_at = datetime.now(UTC) - timedelta(seconds=1)
        db.session.commit()
    make_plan(client, clinics.a)
    attempt_all_due(app)
    later = receiver.received[1]
    assert len(later.headers["webhook-signature"].split(" ")) == 1
    Webhook(new).verify(later.body, later.headers)
    try:
        Webhook(old).verify(later.body, later.headers)
    except WebhookVerificationError:
        pass
    else:
        raise AssertionError("the old secret must stop verifying after the overlap")


def test_the_sweeper_resends_only_what_the_broker_lost_and_what_is_due(
        app, client, clinics, receivers):
    """After commit the request sends the task itself and notes it; the sweeper sends a
    delivery again only if no worker took it within a minute (a lost message), and once."""
    from service.extensions import db
    from service.webhooks import sweep_deliveries
    from service.webhooks.models import WebhookDelivery

    register(client, clinics.a, receivers().url)
    make_plan(client, clinics.a)
    make_plan(client, clinics.a)
    with app.app_context():
        later = db.session.scalars(db.select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
        later[1].next_attempt_at = datetime.now(UTC) + timedelta(minutes=5)
        db.session.commit()
        assert later[0].queued_at is not None, "sent to the broker right after commit"
        now = datetime.now(UTC)
        assert sweep_deliveries(now=now + timedelta(seconds=3)) == 0
        assert sweep_deliveries(now=now + timedelta(seconds=61)) == 1
        assert sweep_deliveries(now=now + timedelta(seconds=62)) == 0
        assert db.session.get(WebhookDelivery, later[0].id).state == WebhookDelivery.PENDING


def test_a_worker_that_died_mid_attempt_is_logged_and_the_delivery_retried(
        app, client, clinics, receivers):
    """A claim that outlives any attempt (worker killed) is released by the sweeper as a lost
    attempt, and the delivery goes on with its schedule instead of hanging in 'sending'."""
    from service.extensions import db
    from service.webhooks import delivery, sweep_deliveries
    from service.webhooks.models import WebhookDelivery

    app.config["WEBHOOK_RETRY_SCHEDULE"] = [0, 0, 0]
    receiver = receivers()
    endpoint = register(client, clinics.a, receiver.url)
    make_plan(client, clinics.a)
    with app.app_context():
        delivery_id = db.session.scalars(db.select(WebhookDelivery.id)).one()
        claimed_at = datetime.now(UTC) - timedelta(seconds=130)
        db.session.get(WebhookDelivery, delivery_id).next_attempt_at = claimed_at
        db.session.commit()
        assert delivery.claim(delivery_id, claimed_at)  # ...and the worker dies here
        sweep_deliveries(now=claimed_at + timedelta(seconds=30))
        assert db.session.get(WebhookDelivery, delivery_id).state == "sending", "not yet stuck"
        db.session.remove()
        sweep_deliveries()
    [log] = deliveries_of(client, clinics.a, endpoint["id"])
    assert log["state"] == "pending"
    assert log["attempts"][0]["error"].startswith("WorkerLost")
    assert attempt_all_due(app) == ["succeeded"]
    assert len(receiver.received) == 1


def test_deleting_an_endpoint_during_an_attempt_leaves_no_error_and_no_rows(
        app, client, clinics, receivers):
    """The receiver is slow; meanwhile the clinic deletes the endpoint. The attempt ends
    quietly instead of crashing the task on rows that are gone."""
    from service.extensions import db
    from service.webhooks.models import WebhookAttempt, WebhookDelivery

    receiver = receivers()
    endpoint = register(client, clinics.a, receiver.url)
    make_plan(client, clinics.a)
    deleted = threading.Event()
    original = receiver.answers

    class DeleteFirst(list):
        def pop(self, index: int = -1):
            resp = client.delete(f"/api/v1/webhook-endpoints/{endpoint['id']}",
                                 headers=clinics.a)
            assert resp.status_code == 204
            deleted.set()
            return (204, {})

    receiver.answers = DeleteFirst([None])
    assert attempt_all_due(app) == [None]
    receiver.answers = original
    assert deleted.is_set() and len(receiver.received) == 1
    with app.app_context():
        assert db.session.scalars(db.select(WebhookDelivery)).all() == []
        assert db.session.scalars(db.select(WebhookAttempt)).all() == []
