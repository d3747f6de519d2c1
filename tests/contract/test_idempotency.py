"""Idempotency-Key on POST /api/v1/plans: a retry gets the first answer and stores nothing twice."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

from sqlalchemy import func, select, update

from tests.contract.helpers import plan_body

PLANS = "/api/v1/plans"


def counts(app) -> tuple[int, int, int]:
    from service.extensions import db
    from service.models import Plan, PlanRevision, RenderJob

    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(m))
                     for m in (Plan, PlanRevision, RenderJob))


def keyed(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


def test_same_key_and_body_replays_status_body_and_location_and_stores_one_plan(
        app, client, clinics):
    first = client.post(PLANS, json=plan_body(), headers=keyed(clinics.a, "retry-1"))
    again = client.post(PLANS, json=plan_body(), headers=keyed(clinics.a, "retry-1"))
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert counts(app) == (1, 1, 1)


def test_the_same_json_with_other_key_order_and_spacing_is_the_same_request(app, client, clinics):
    body = plan_body(notes="n")
    client.post(PLANS, json=body, headers=keyed(clinics.a, "k"))
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=3)
    again = client.post(PLANS, data=reordered, content_type="application/json",
                        headers=keyed(clinics.a, "k"))
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert counts(app) == (1, 1, 1)


def test_same_key_with_a_different_body_is_422_naming_the_header_and_stores_nothing(
        app, client, clinics):
    client.post(PLANS, json=plan_body(notes="first"), headers=keyed(clinics.a, "k1"))
    resp = client.post(PLANS, json=plan_body(notes="second"), headers=keyed(clinics.a, "k1"))
    assert resp.status_code == 422
    assert resp.mimetype == "application/problem+json"
    assert resp.get_json()["errors"][0]["field"] == "Idempotency-Key"
    assert counts(app) == (1, 1, 1)


def _in_flight_row(app, clinic_slug: str, key: str, body: dict, age: timedelta) -> None:
    """Stand-in for a first request that is still running (or died) holding the key."""
    from service.extensions import db
    from service.idempotency import KEEP_FOR, IdempotencyRecord, fingerprint
    from service.models import Clinic, utcnow

    with app.test_request_context(PLANS, method="POST", json=body):
        digest = fingerprint()
        clinic = db.session.scalar(select(Clinic).where(Clinic.slug == clinic_slug))
        started = utcnow() - age
        db.session.add(IdempotencyRecord(clinic_id=clinic.id, key=key, fingerprint=digest,
                                         state=IdempotencyRecord.IN_FLIGHT, created_at=started,
                                         expires_at=started + KEEP_FOR))
        db.session.commit()


def test_a_key_whose_first_request_is_still_running_answers_409_with_retry_after(
        app, client, clinics):
    _in_flight_row(app, "clinic-a", "busy", plan_body(), timedelta(seconds=1))
    resp = client.post(PLANS, json=plan_body(), headers=keyed(clinics.a, "busy"))
    assert resp.status_code == 409
    assert resp.mimetype == "application/problem+json"
    assert resp.headers["Retry-After"] == "1"
    assert resp.get_json()["errors"][0]["field"] == "Idempotency-Key"
    assert counts(app) == (0, 0, 0)


def test_a_key_held_by_a_request_that_died_long_ago_is_taken_over(app, client, clinics):
    _in_flight_row(app, "clinic-a", "orphan", plan_body(), timedelta(minutes=10))
    resp = client.post(PLANS, json=plan_body(), headers=keyed(clinics.a, "orphan"))
    assert resp.status_code == 201
    again = client.post(PLANS, json=plan_body(), headers=keyed(clinics.a, "orphan"))
    assert again.headers["Idempotent-Replayed"] == "true"
    assert counts(app) == (1, 1, 1)


def test_two_concurrent_first_requests_with_one_key_create_one_plan(app, clinics):
    """The unique (clinic, key) row is the lock: the loser answers 409 or replays the winner."""
    barrier = threading.Barrier(2)
    results: list[tuple[int, dict]] = []

    def post() -> None:
        client = app.test_client()
        barrier.wait()
        resp = client.post(PLANS, json=plan_body(), headers=keyed(clinics.a, "race"))
        results.append((resp.status_code, resp.get_json()))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(code for code, _ in results) in ([201, 201], [201, 409])
    ids = {body["id"] for code, body in results if code == 201}
    assert len(ids) == 1
    assert counts(app) == (1, 1, 1)


def test_keys_are_per_clinic(app, client, clinics):
    a = client.post(PLANS, json=plan_body(), headers=keyed(clinics.a, "shared-key"))
    b = client.post(PLANS, json=plan_body(), headers=keyed(clinics.b, "shared-key"))
    assert a.status_code == b.status_code == 201
    assert "Idempotent-Replayed" not in b.headers
    assert a.get_json()["id"] != b.get_json()["id"]
    assert counts(app) == (2, 2, 2)


def test_a_failed_request_keeps_nothing_so_the_fixed_body_may_reuse_the_key(app, client, clinics):
    """Our choice, like Stripe's for validation failures: only 2xx answers are kept."""
    bad = client.post(PLANS, json=plan_body(patient={}), headers=keyed(clinics.a, "fix-me"))
    assert bad.status_code == 422
    good = client.post(PLANS, json=plan_body(), headers=keyed(clinics.a, "fix-me"))
    assert good.status_code == 201 and "Idempotent-Replayed" not in good.headers
    assert counts(app) == (1, 1, 1)


def test_an_expired_key_is_forgotten_and_the_sweeper_purges_old_keys(app, client, clinics):
    from service.extensions import db
    from service.idempotency import IdempotencyRecord, purge_expired
    from service.models import utcnow
    from workers.tasks import sweep_outbox

    client.post(PLANS, json=plan_body(notes="day one"), headers=keyed(clinics.a, "old"))
    client.post(PLANS, json=plan_body(), headers=keyed(clinics.a, "fresh"))
    with app.app_context():
        db.session.execute(update(IdempotencyRecord).where(IdempotencyRecord.key == "old")
                           .values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    # 24 h later the key means nothing: another body is a new plan, not a 422.
    resp = client.post(PLANS, json=plan_body(notes="day two"), headers=keyed(clinics.a, "old"))
    assert resp.status_code == 201 and "Idempotent-Replayed" not in resp.headers
    with app.app_context():
        db.session.execute(update(IdempotencyRecord).where(IdempotencyRecord.key == "old")
                           .values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        # The beat-scheduled sweep task is what purges in production.
        sweep_outbox.run()
        assert db.session.scalars(select(IdempotencyRecord.key)).all() == ["fresh"]
        assert purge_expired() == 0


def test_key_must_be_1_to_255_printable_ascii_characters(app, client, clinics):
    for key in ("x" * 256, "", "caf\u00e9"):
        resp = client.post(PLANS, json=plan_body(), headers=keyed(clinics.a, key))
        assert resp.status_code == 422, key
        assert resp.get_json()["errors"][0]["field"] == "Idempotency-Key"
    ok = client.post(PLANS, json=plan_body(), headers=keyed(clinics.a, "~" * 255))
    assert ok.status_code == 201
    assert counts(app) == (1, 1, 1)


def test_without_a_key_every_post_creates_a_plan(app, client, clinics):
    client.post(PLANS, json=plan_body(), headers=clinics.a)
    client.post(PLANS, json=plan_body(), headers=clinics.a)
    assert counts(app) == (2, 2, 2)


def test_a_retried_patch_with_its_key_makes_one_new_revision(app, client, clinics):
    plan = client.post(PLANS, json=plan_body(), headers=clinics.a).get_json()
    url = f"{PLANS}/{plan['id']}"
    first = client.patch(url, json={"notes": "week 2"}, headers=keyed(clinics.a, "rev-2"))
    again = client.patch(url, json={"notes": "week 2"}, headers=keyed(clinics.a, "rev-2"))
    assert first.status_code == again.status_code == 200
    assert again.get_json()["revision"] == first.get_json()["revision"] == 2
    assert again.headers["Idempotent-Replayed"] == "true"
    assert counts(app) == (1, 2, 2)
    # The key names one request: the same key on another route is a mismatch, not a replay.
    other = client.post(PLANS, json={"notes": "week 2"}, headers=keyed(clinics.a, "rev-2"))
    assert other.status_code == 422
    assert other.get_json()["errors"][0]["field"] == "Idempotency-Key"


def test_the_answer_commits_with_the_plan_so_a_lost_connection_after_commit_replays(
        app, client, clinics, monkeypatch):
    """The database commits, then the connection drops before we hear back: the client sees
    503, and its retry with the same key gets the committed plan, not a second one."""
    from sqlalchemy.exc import OperationalError

    from service import transaction
    from service.extensions import db

    with app.app_context():
        session_class = type(db.session())
    real_commit = session_class.commit
    dropped: list[bool] = []

    def commit_then_drop(self) -> None:
        real_commit(self)
        if transaction.deferring() and not dropped:  # the request's one commit
            dropped.append(True)
            raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(session_class, "commit", commit_then_drop)
    first = client.post(PLANS, json=plan_body(), headers=keyed(clinics.a, "dropped"))
    assert first.status_code == 503
    assert first.mimetype == "application/problem+json"
    assert first.headers["Retry-After"]
    again = client.post(PLANS, json=plan_body(), headers=keyed(clinics.a, "dropped"))
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert counts(app) == (1, 1, 1)


def test_after_commit_work_that_fails_never_turns_a_stored_plan_into_an_error(
        app, client, clinics, monkeypatch):
    from service import planning

    def broken_dispatch(job_id: int) -> bool:
        raise RuntimeError("broker and database both vanished")

    monkeypatch.setattr(planning, "dispatch", broken_dispatch)
    for headers in (keyed(clinics.a, "after"), clinics.a):
        resp = client.post(PLANS, json=plan_body(), headers=headers)
        assert resp.status_code == 201
    again = client.post(PLANS, json=plan_body(), headers=keyed(clinics.a, "after"))
    assert again.headers["Idempotent-Replayed"] == "true"
    assert counts(app) == (2, 2, 2)


def test_a_key_row_is_only_ever_committed_with_its_answer(app, client, clinics):
    """No in-flight row is left behind by a request that failed, so nothing can hold the key."""
    from service.extensions import db
    from service.idempotency import IdempotencyRecord

    client.post(PLANS, json=plan_body(), headers=keyed(clinics.a, "ok"))
    client.post(PLANS, json=plan_body(patient={}), headers=keyed(clinics.a, "bad"))
    client.post(PLANS, json=plan_body(screening={"red_flags": ["cauda_equina"]}),
                headers=keyed(clinics.a, "refused"))
    with app.app_context():
        rows = db.session.execute(select(IdempotencyRecord.key, IdempotencyRecord.state)).all()
    assert [tuple(r) for r in rows] == [("ok", IdempotencyRecord.DONE)]
