"""GET .../handout?wait=N answers as soon as the handout is ready, or 202 after N seconds; a
202 says in Retry-After how long the handout is likely to take, not a flat second (issue 14)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from tests.contract.helpers import make_plan


def _render_later(app, delay: float) -> threading.Thread:
    """A worker's render of every open job, `delay` seconds from now, in another thread."""
    from service.extensions import db
    from service.models import RenderJob
    from workers.tasks import render_handout

    def run() -> None:
        time.sleep(delay)
        with app.app_context():
            for job_id in db.session.scalars(select(RenderJob.id).where(
                    RenderJob.status.notin_([RenderJob.DONE, RenderJob.FAILED]))).all():
                render_handout(job_id)
            db.session.remove()

    thread = threading.Thread(target=run)
    thread.start()
    return thread

def _assert_woken_by_the_signal(app, client, clinics) -> None:  # noqa: ANN001
    """A handout stored 0.5 s into a 10 s wait is served well before the request's next look
    at the database (the tests set that 6 s away): the worker's signal woke it."""
    plan = make_plan(client, clinics.a)
    thread = _render_later(app, 0.5)
    start = time.monotonic()
    resp = client.get(f"/api/v1/plans/{plan['id']}/handout", query_string={"wait": 10},
                      headers=clinics.a)
    took = time.monotonic() - start
    thread.join()
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF")
    assert 0.5 <= took < 4.0, took



def test_wait_answers_with_the_pdf_as_soon_as_it_is_ready(app, client, clinics):
    plan = make_plan(client, clinics.a)
    url = f"/api/v1/plans/{plan['id']}/handout"
    thread = _render_later(app, 0.3)
    start = time.monotonic()
    resp = client.get(url, query_string={"wait": 8}, headers=clinics.a)
    took = time.monotonic() - start
    thread.join()
    assert resp.status_code == 200 and resp.mimetype == "application/pdf", resp.get_data()
    assert resp.data.startswith(b"%PDF")
    # It waited for the render, and answered once it was stored, not at the end of the wait.
    assert 0.3 <= took < 6, took
    # A handout already there is served at once, and its ETag still gives 304.
    etag = resp.headers["ETag"]
    again = client.get(url, query_string={"wait": 8},
                       headers={**clinics.a, "If-None-Match": etag})
    assert again.status_code == 304 and again.headers["ETag"] == etag


def test_wait_serves_the_revision_html_too(app, client, clinics):
    plan = make_plan(client, clinics.a)
    thread = _render_later(app, 0.2)
    resp = client.get(f"/api/v1/plans/{plan['id']}/revisions/1/handout.html",
                      query_string={"wait": "8"}, headers=clinics.a)
    thread.join()
    assert resp.status_code == 200 and resp.mimetype == "text/html"


def test_wait_gives_up_after_n_seconds_with_202_and_retry_after(client, clinics):
    plan = make_plan(client, clinics.a)  # no worker: it stays queued
    start = time.monotonic()
    resp = client.get(f"/api/v1/plans/{plan['id']}/handout", query_string={"wait": 1},
                      headers=clinics.a)
    took = time.monotonic() - start
    assert resp.status_code == 202 and resp.get_json()["status"] in ("pending", "queued")
    assert 1.0 <= took < 3.0, took
    assert int(resp.headers["Retry-After"]) >= 1


def test_without_wait_the_answer_is_immediate(client, clinics):
    plan = make_plan(client, clinics.a)
    start = time.monotonic()
    resp = client.get(f"/api/v1/plans/{plan['id']}/handout", headers=clinics.a)
    assert resp.status_code == 202 and time.monotonic() - start < 0.5


@pytest.mark.parametrize("value", ["-1", "11", "600", "soon", "2.5", ""])
def test_a_bad_wait_is_a_422_problem_naming_the_field(client, clinics, value):
    plan = make_plan(client, clinics.a)
    resp = client.get(f"/api/v1/plans/{plan['id']}/handout", query_string={"wait": value},
                      headers=clinics.a)
    assert resp.status_code == 422
    assert resp.mimetype == "application/problem+json"
    assert [e["field"] for e in resp.get_json()["errors"]] == ["wait"]


def _set_recent_render_seconds(app, seconds: float) -> None:
    """Make the finished renders look as if each took `seconds`."""
    from service.extensions import db
    from service.models import RenderJob, utcnow

    with app.app_context():
        start = utcnow() - timedelta(minutes=1)
        db.session.execute(update(RenderJob).where(RenderJob.status == RenderJob.DONE).values(
            started_at=start, finished_at=start + timedelta(seconds=seconds)))
        db.session.commit()


def _retry_after(client, clinics, plan_id: str) -> int:
    resp = client.get(f"/api/v1/plans/{plan_id}/handout", headers=clinics.a)
    assert resp.status_code == 202
    return int(resp.headers["Retry-After"])


def test_retry_after_follows_recent_render_times_and_the_queue_ahead(app, client, clinics):
    from service.extensions import db
    from service.models import RenderJob, utcnow

    done = make_plan(client, clinics.a)
    _render_later(app, 0).join()
    assert client.get(f"/api/v1/plans/{done['id']}/handout",
                      headers=clinics.a).status_code == 200
    _set_recent_render_seconds(app, 3.0)

    first = make_plan(client, clinics.a)
    assert _retry_after(client, clinics, first["id"]) == 3  # nothing ahead: one render
    make_plan(client, clinics.a)
    third = make_plan(client, clinics.a)
    assert _retry_after(client, clinics, third["id"]) == 9  # two renders ahead, then its own

    # Rendering for a second already: what is left of a typical render.
    with app.app_context():
        db.session.execute(update(RenderJob).where(RenderJob.status != RenderJob.DONE).values(
            status=RenderJob.RENDERING, started_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert _retry_after(client, clinics, third["id"]) == 2

    # Renders that take well under a second still say 1: whole seconds, never 0.
    _set_recent_render_seconds(app, 0.05)
    with app.app_context():
        db.session.execute(update(RenderJob).where(RenderJob.status != RenderJob.DONE).values(
            status=RenderJob.QUEUED, started_at=None))
        db.session.commit()
    assert _retry_after(client, clinics, first["id"]) == 1


@pytest.mark.services
def test_on_redis_the_workers_signal_wakes_the_waiting_request(app, database_url, tmp_path,
                                                               monkeypatch):
    """With Redis as the broker, the request is woken by the worker's signal the moment the
    handout is stored, not at its next look at the database (made 6 s apart here)."""
    from service import create_app, handout_wait
    from tests.conftest import REDIS_URL, ClinicKeys, _config, need, redis_available

    need(redis_available(), "Redis on 127.0.0.1:6379")
    monkeypatch.setattr(handout_wait, "SIGNAL_RECHECK_SECONDS", 6.0)
    on_redis = create_app(_config(database_url, tmp_path / "redis-instance",
                                  BROKER_URL=REDIS_URL))
    clinics = ClinicKeys(on_redis)
    client = on_redis.test_client()
    _assert_woken_by_the_signal(on_redis, client, clinics)


def test_on_the_embedded_default_the_workers_local_signal_wakes_the_waiting_request(
        app, client, clinics, monkeypatch):
    """Without Redis the worker wakes the request through a local socket the moment the
    handout is stored, not at the request's next look at the database (made 6 s apart)."""
    from service import handout_wait

    monkeypatch.setattr(handout_wait, "LOCAL_RECHECK_SECONDS", 6.0)
    monkeypatch.setattr(handout_wait, "POLL_SECONDS", 6.0)
    _assert_woken_by_the_signal(app, client, clinics)
    # The request's socket went with the wait.
    assert list((Path(app.config["INSTANCE_PATH"]) / "signals").iterdir()) == []


def test_a_render_that_fails_while_waiting_answers_its_problem_at_once(app, client, clinics):
    """A wait ends when the render settles either way: a render that gives up is the 503
    problem, not a 202 at the end of the wait."""
    from service.extensions import db
    from service.models import RenderJob

    plan = make_plan(client, clinics.a)

    def give_up() -> None:
        time.sleep(0.3)
        with app.app_context():
            db.session.execute(update(RenderJob).values(
                status=RenderJob.FAILED, attempts=5, error="RuntimeError at render.py:1"))
            db.session.commit()
            db.session.remove()

    thread = threading.Thread(target=give_up)
    thread.start()
    start = time.monotonic()
    resp = client.get(f"/api/v1/plans/{plan['id']}/handout", query_string={"wait": 8},
                      headers=clinics.a)
    took = time.monotonic() - start
    thread.join()
    assert resp.status_code == 503 and resp.mimetype == "application/problem+json"
    assert took < 5, took
