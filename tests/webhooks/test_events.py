"""Events are recorded with what they report: plan changes, handouts done or failed, and a
broker outage at commit loses nothing."""

from __future__ import annotations

import json
import time
from datetime import timedelta

from tests.conftest import ClinicKeys
from tests.webhooks.conftest import make_plan, register


def _events(app) -> list[tuple[str, dict]]:
    from service.extensions import db
    from service.webhooks.models import WebhookDelivery

    with app.app_context():
        rows = db.session.scalars(db.select(WebhookDelivery).order_by(WebhookDelivery.id))
        return [(r.event_type, json.loads(r.payload)["data"]) for r in rows]


def test_a_plan_the_domain_refuses_records_no_event(client, clinics, receivers, app):
    register(client, clinics.a, receivers().url)
    resp = client.post("/api/v1/plans", headers=clinics.a, json={
        "template_id": "core_routine", "patient": {"display_name": "A. B."},
        "screening": {"red_flags": ["cauda_equina"]}})
    assert resp.status_code == 422
    assert _events(app) == []


def test_a_render_that_gives_up_records_handout_failed_and_one_that_succeeds_handout_ready(
        app, client, clinics, receivers):
    """Called the way the worker calls the task, in this process."""
    from service.extensions import db
    from service.models import RenderJob
    from workers.tasks import render_handout

    register(client, clinics.a, receivers().url, events=["handout.ready", "handout.failed"])
    good = make_plan(client, clinics.a)
    broken = make_plan(client, clinics.a, reference="MRN-broken")
    app.config["RENDER_MAX_ATTEMPTS"] = 1
    with app.app_context():
        jobs = db.session.scalars(db.select(RenderJob).order_by(RenderJob.id)).all()
        good_job, broken_job = jobs[0].id, jobs[1].id
        # A snapshot the renderer cannot read stands in for any render failure.
        jobs[1].revision.snapshot = {"unreadable": True}
        db.session.commit()
        render_handout(broken_job)
        render_handout(good_job)
        render_handout(good_job)  # a duplicate run changes nothing and records nothing
        assert db.session.get(RenderJob, broken_job).status == RenderJob.FAILED
    events = _events(app)
    assert [(t, d["plan_id"], d["patient_reference"]) for t, d in events] == [
        ("handout.failed", broken["id"], "MRN-broken"),
        ("handout.ready", good["id"], "MRN-20931")]


def test_deliveries_recorded_while_the_broker_is_down_are_sent_by_the_sweeper(
        tmp_path, private_redis):
    """The plan is stored and answered 201 while the broker is unreachable; its delivery row
    waits in the database until a sweep finds the broker back."""
    from service import create_app, schema
    from service.extensions import db
    from service.webhooks import sweep_deliveries
    from service.webhooks.models import WebhookDelivery

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'db.sqlite3'}",
                      "BROKER_URL": private_redis.url, "INSTANCE_PATH": str(tmp_path / "i"),
                      "SECRET_KEY": "k", "TESTING": True, "WEBHOOK_ALLOW_PRIVATE": True})
    schema.upgrade(app)
    clinics = ClinicKeys(app)
    client = app.test_client()
    register(client, clinics.a, "http://127.0.0.1:9/hooks")
    started = time.monotonic()
    make_plan(client, clinics.a)
    assert time.monotonic() - started < 3.0
    with app.app_context():
        row = db.session.scalars(db.select(WebhookDelivery)).one()
        assert (row.state, row.queued_at) == ("pending", None)
        delivery_id, soon = row.id, row.created_at + timedelta(seconds=5)
        assert sweep_deliveries(now=soon) == 0, "broker still down"

    private_redis.start()
    import redis

    with app.app_context():
        assert sweep_deliveries(now=soon) == 1
    # Each test run's broker keys carry LIMBER_BROKER_KEY_PREFIX (tests/conftest.py).
    prefix = app.config["BROKER_KEY_PREFIX"]
    queued = redis.Redis.from_url(private_redis.url).lrange(f"{prefix}webhooks", 0, -1)
    tasks = [json.loads(m)["headers"]["task"] for m in queued]
    assert tasks.count("limber.deliver_webhook") == 1
    args = [json.loads(m)["headers"]["argsrepr"] for m in queued
            if json.loads(m)["headers"]["task"] == "limber.deliver_webhook"]
    assert args == [f"[{delivery_id}]"]
