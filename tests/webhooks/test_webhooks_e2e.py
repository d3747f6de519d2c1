"""End to end through real Celery worker processes with beat: nothing lost, nothing doubled."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from tests.conftest import ClinicKeys, need, redis_available
from tests.integration.conftest import free_port, wait_for, worker_app, worker_env
from tests.webhooks.conftest import CANARY_NAME, CANARY_NOTE, Receiver, make_plan, register

# One-second retries so a receiver that comes back is reached within the test.
FAST_SCHEDULE = ",".join(["0"] + ["1"] * 30)


def _app(db_url: str, broker_url: str, instance: Path):
    return worker_app(db_url, broker_url, instance, WEBHOOK_ALLOW_PRIVATE=True)


def _env(app) -> dict[str, str]:
    return worker_env(app, LIMBER_WEBHOOK_ALLOW_PRIVATE="1",
                      LIMBER_WEBHOOK_RETRY_SCHEDULE=FAST_SCHEDULE)


def _deliveries(app) -> list:
    from service.extensions import db
    from service.webhooks.models import WebhookDelivery

    with app.app_context():
        rows = db.session.scalars(db.select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
        result = [(r.webhook_id, r.event_type, r.state, [(a.status_code, a.error)
                                                         for a in r.attempts]) for r in rows]
        db.session.remove()
        return result


def _clean(app) -> None:
    from service.extensions import db

    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
        db.engine.dispose()


def test_receiver_down_then_up_gets_every_event_once_with_its_webhook_id(
        tmp_path, start_worker):
    """SQLite + the filesystem broker, a real worker with beat: the receiver is down while
    plans are made and handouts render; once it is up, every event arrives exactly once."""
    app = _app(f"sqlite:///{tmp_path / 'limber.sqlite3'}", "filesystem://", tmp_path / "inst")
    clinics = ClinicKeys(app)
    client = app.test_client()
    port = free_port()
    secret = register(client, clinics.a, f"http://127.0.0.1:{port}/hooks/limber")["secret"]
    worker = start_worker(_env(app), beat=True)
    plans = [make_plan(client, clinics.a, reference=f"MRN-{n}") for n in range(2)]

    def all_failed_once() -> bool:
        rows = _deliveries(app)
        return len(rows) == 4 and all(r[3] and r[3][0][1] == "ConnectionError" for r in rows)

    assert wait_for(all_failed_once, 60, 0.2), (_deliveries(app), worker.log.read_text()[-3000:])
    ids_while_down = {r[0] for r in _deliveries(app)}

    receiver = Receiver(port=port).start()
    try:
        done = wait_for(lambda: all(r[2] == "succeeded" for r in _deliveries(app)), 60, 0.2)
        rows = _deliveries(app)
    finally:
        worker.stop()
        receiver.stop()
    assert done, (rows, worker.log.read_text()[-3000:])

    assert len(receiver.received) == 4, "none lost, none doubled"
    got_ids = [r.headers["webhook-id"] for r in receiver.received]
    assert len(set(got_ids)) == 4 and set(got_ids) == ids_while_down
    assert len({r.body for r in receiver.received}) == 4
    events = [Webhook(secret).verify(r.body, r.headers) for r in receiver.received]
    assert sorted((e["type"], e["data"]["plan_id"]) for e in events) == sorted(
        [(t, p["id"]) for p in plans for t in ("plan.created", "handout.ready")])
    assert all(len(r[3]) >= 2 and r[3][-1][0] == 204 for r in rows), "retried, then delivered"
    log = worker.log.read_text()
    assert CANARY_NAME not in log and CANARY_NOTE not in log
    assert all(CANARY_NAME.encode() not in r.body for r in receiver.received)


@pytest.mark.services
def test_on_redis_and_postgresql_410_disables_and_a_redirect_is_not_followed(
        tmp_path, start_worker, private_redis, postgres_database):
    """The production topology, three endpoints: one that works, one that answers 410 Gone,
    one that redirects (its target must get nothing)."""
    need(redis_available(), "Redis on 127.0.0.1:6379")
    private_redis.start()
    app = _app(postgres_database, private_redis.url, tmp_path / "inst")
    _clean(app)  # the session's shared database may hold other tests' rows
    clinics = ClinicKeys(app)
    client = app.test_client()
    good, gone, target = Receiver().start(), Receiver(default=(410, {})).start(), Receiver()
    target.start()
    redirecting = Receiver(default=(302, {"Location": target.url})).start()
    worker = start_worker(_env(app), beat=True)
    try:
        secret = register(client, clinics.a, good.url)["secret"]
        gone_id = register(client, clinics.a, gone.url)["id"]
        redirect_id = register(client, clinics.a, redirecting.url)["id"]
        plan = make_plan(client, clinics.a)

        def good_got_both() -> bool:
            types = [json.loads(r.body)["type"] for r in good.received]
            return sorted(types) == ["handout.ready", "plan.created"]

        assert wait_for(good_got_both, 60, 0.2), worker.log.read_text()[-3000:]
        endpoint = lambda eid: client.get(  # noqa: E731
            f"/api/v1/webhook-endpoints/{eid}", headers=clinics.a).get_json()
        assert wait_for(lambda: endpoint(gone_id)["enabled"] is False, 20, 0.2)
        redirect_log = wait_for(lambda: [d for d in client.get(
            f"/api/v1/webhook-endpoints/{redirect_id}/deliveries",
            headers=clinics.a).get_json()["items"] if len(d["attempts"]) >= 2], 30, 0.2)
    finally:
        worker.stop()
        for r in (good, gone, target, redirecting):
            r.stop()

    for req in good.received:
        event = Webhook(secret).verify(req.body, req.headers)
        assert event["data"]["plan_id"] == plan["id"]
    assert "410" in endpoint(gone_id)["disabled_reason"]
    assert len(gone.received) == 1, "after 410 nothing more is sent"
    assert redirect_log, "the redirecting endpoint was retried"
    assert all(a["status_code"] == 302 for d in redirect_log for a in d["attempts"])
    # Still on its retry schedule: with retries a second apart, a listing that took longer than
    # that (a loaded machine) catches the next attempt under way.
    assert all(d["state"] in ("pending", "sending") for d in redirect_log), redirect_log
    assert target.received == [], "redirects are never followed"
    assert endpoint(redirect_id)["enabled"] is True
    _clean(app)
