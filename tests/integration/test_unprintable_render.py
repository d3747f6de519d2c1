"""A render refused for its text, through a real Celery worker: failed on the first try, not
retried, and the handout link says which field to change."""

from __future__ import annotations

from sqlalchemy import select

from tests.conftest import ClinicKeys
from tests.integration.conftest import wait_for, worker_app, worker_env

NAME = "王小明"


def test_a_handout_the_font_cannot_draw_fails_once_in_a_real_worker(tmp_path, start_worker):
    from service.extensions import db
    from service.models import PlanRevision, RenderJob

    app = worker_app(f"sqlite:///{tmp_path / 'limber.sqlite3'}", "filesystem://",
                     tmp_path / "instance")
    clinics = ClinicKeys(app)
    client = app.test_client()
    resp = client.post("/api/v1/plans", headers=clinics.a, json={
        "template_id": "core_routine", "patient": {"display_name": "A. B."}})
    assert resp.status_code == 201, resp.get_json()
    plan_id = resp.get_json()["id"]
    with app.app_context():
        # As a revision stored before names were checked at the door: the job is already on
        # the broker, no worker has taken it yet.
        revision = db.session.scalar(select(PlanRevision))
        revision.snapshot = {**revision.snapshot,
                             "plan": {**revision.snapshot["plan"], "patient_name": NAME}}
        db.session.commit()

    worker = start_worker(worker_env(app))

    def failed() -> RenderJob | None:
        with app.app_context():
            job = db.session.scalar(select(RenderJob))
            return job if job.status == RenderJob.FAILED else None

    job = wait_for(failed, timeout=60, step=0.3)
    worker.stop()
    log = worker.log.read_text()
    assert job is not None, log[-3000:]
    assert job.attempts == 1  # not retried: retrying cannot fix it
    assert "cannot be printed" in log and "plan.patient_name" in log
    assert NAME not in log and "U+738B" not in log
    resp = client.get(f"/api/v1/plans/{plan_id}/handout", headers=clinics.a)
    assert resp.status_code == 409
    assert resp.get_json()["errors"][0]["field"] == "patient.display_name"
