"""One plan from the API to a PDF through a real Celery worker process."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.conftest import ClinicKeys, need, redis_available
from tests.integration.conftest import wait_for, worker_app, worker_env

CANARY = "Zorbalina Quest"


def _post_plan(client, clinics: ClinicKeys) -> dict:
    resp = client.post("/api/v1/plans", headers=clinics.a, json={
        "template_id": "core_routine", "patient": {"display_name": CANARY}})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _pdf_when_ready(client, clinics: ClinicKeys, plan_id: str, timeout: float) -> bytes | None:
    def ready() -> bytes | None:
        resp = client.get(f"/api/v1/plans/{plan_id}/handout", headers=clinics.a)
        return resp.data if resp.status_code == 200 else None

    return wait_for(ready, timeout, 0.2)


def _assert_handout(pdf: bytes, plan: dict) -> None:
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    flat = " ".join(text.split())
    assert CANARY in flat
    for ex in plan["exercises"]:
        assert " ".join(ex["name"].split()) in flat, ex["name"]
    assert "Stop and get help" in flat


def _render_through_worker(db_url: str, broker_url: str, tmp_path: Path, start_worker) -> None:
    app = worker_app(db_url, broker_url, tmp_path / "instance")
    clinics = ClinicKeys(app)
    try:
        worker = start_worker(worker_env(app))
        client = app.test_client()
        plan = _post_plan(client, clinics)
        pdf = _pdf_when_ready(client, clinics, plan["id"], timeout=60)
        worker.stop()
        assert pdf is not None, worker.log.read_text()[-3000:]
        _assert_handout(pdf, plan)
        assert CANARY not in worker.log.read_text(), "patient name leaked into the worker log"
    finally:
        _empty_tables(app)


def _empty_tables(app) -> None:
    """The PostgreSQL database is the session's, shared with every later test (tests/
    test_recovery.py runs after this directory): leave it as the app fixture does, empty."""
    from service.extensions import db

    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
        db.engine.dispose()


def test_embedded_default_renders_a_pdf_through_a_real_worker(tmp_path, start_worker):
    """SQLite + the filesystem broker: what `limber run` uses on a laptop, no servers needed."""
    _render_through_worker(f"sqlite:///{tmp_path / 'limber.sqlite3'}", "filesystem://",
                           tmp_path, start_worker)


@pytest.mark.services
def test_redis_and_postgresql_render_a_pdf_through_a_real_worker(
        tmp_path, start_worker, postgres_database):
    """The production topology: a worker on the real Redis broker and real PostgreSQL."""
    need(redis_available(), "Redis on 127.0.0.1:6379")
    _render_through_worker(postgres_database, "redis://127.0.0.1:6379/14", tmp_path,
                           start_worker)


@pytest.mark.services
def test_plan_is_accepted_while_the_broker_is_down_and_rendered_by_the_sweeper(
        tmp_path, start_worker, private_redis):
    """Broker unreachable: POST still answers 201 quickly; once the broker is back, the sweeper
    sends the outbox job and the handout renders with no manual step."""
    db_url = f"sqlite:///{tmp_path / 'limber.sqlite3'}"
    app = worker_app(db_url, private_redis.url, tmp_path / "instance")
    clinics = ClinicKeys(app)
    client = app.test_client()

    started = time.monotonic()
    plan = _post_plan(client, clinics)  # private redis not started yet: broker down
    assert time.monotonic() - started < 2.0
    # Committed as queued with the plan (one commit); the failed hand-over put it back to
    # pending, which is what the sweeper sends.
    waiting = client.get(f"/api/v1/plans/{plan['id']}/handout", headers=clinics.a)
    assert waiting.status_code == 202 and waiting.get_json()["status"] == "pending"

    private_redis.start()
    worker = start_worker(worker_env(app), beat=True)
    pdf = _pdf_when_ready(client, clinics, plan["id"], timeout=60)
    worker.stop()
    assert pdf is not None, worker.log.read_text()[-3000:]
    _assert_handout(pdf, plan)
