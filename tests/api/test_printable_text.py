"""Text a handout cannot print is refused when it is submitted, with the field named; a render
that still fails for its text fails once and the handout link says what to change."""

from __future__ import annotations

import io
import logging

from pypdf import PdfReader
from sqlalchemy import func, select

CJK = "王小明"


def _body(**overrides: object) -> dict:
    body = {"template_id": "core_routine", "patient": {"display_name": "Ana P."}}
    body.update(overrides)
    return body


def _count(app, model) -> int:
    from service.extensions import db

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _errors(resp) -> dict[str, str]:
    return {e["field"]: e["message"] for e in resp.get_json()["errors"]}


def test_create_refuses_unprintable_text_in_every_printed_field_at_once(app, client, clinics,
                                                                        caplog):
    from service.models import Plan, RenderJob

    caplog.set_level(logging.DEBUG)
    resp = client.post("/api/v1/plans", headers=clinics.a, json=_body(
        patient={"display_name": CJK}, clinician="Sam \x07Okafor", notes="\u200b \u200b"))
    assert resp.status_code == 422
    assert resp.content_type == "application/problem+json"
    errors = _errors(resp)
    assert set(errors) == {"patient.display_name", "clinician", "notes"}
    assert "U+738B" in errors["patient.display_name"]
    assert "U+0007" in errors["clinician"]
    assert "U+200B" in errors["notes"]
    assert CJK not in resp.get_data(as_text=True) and "Okafor" not in resp.get_data(as_text=True)
    assert CJK not in caplog.text
    assert (_count(app, Plan), _count(app, RenderJob)) == (0, 0)


def test_text_of_only_invisible_characters_is_refused(client, clinics):
    resp = client.post("/api/v1/plans", headers=clinics.a,
                       json=_body(patient={"display_name": "\u3000\u00a0"}))
    assert resp.status_code == 422
    assert "patient.display_name" in _errors(resp)


def test_a_revision_refuses_unprintable_text_too(app, client, clinics):
    from service.models import PlanRevision

    plan = client.post("/api/v1/plans", headers=clinics.a, json=_body()).get_json()
    resp = client.patch(f"/api/v1/plans/{plan['id']}", headers=clinics.a,
                        json={"notes": "Walk \U0001F9B6 daily", "patient": {"display_name": CJK}})
    assert resp.status_code == 422
    assert set(_errors(resp)) == {"notes", "patient.display_name"}
    assert "U+1F9B6" in _errors(resp)["notes"]
    assert _count(app, PlanRevision) == 1


def test_a_revision_that_carries_forward_text_stored_before_the_check_is_refused(
        app, client, clinics):
    """A request stored before this check existed is merged into a PATCH that does not touch
    it: planning checks the merged text, so the revision is refused rather than failing."""
    from service.extensions import db
    from service.models import PlanRevision

    plan = client.post("/api/v1/plans", headers=clinics.a, json=_body()).get_json()
    with app.app_context():
        revision = db.session.scalar(select(PlanRevision))
        revision.request = {**revision.request, "clinician": "Dr \u738b"}
        db.session.commit()
    resp = client.patch(f"/api/v1/plans/{plan['id']}", headers=clinics.a, json={"notes": "Hi"})
    assert resp.status_code == 422
    assert "U+738B" in _errors(resp)["clinician"]
    assert _count(app, PlanRevision) == 1


def test_a_clinic_name_the_handout_cannot_print_refuses_plans_and_says_who_can_fix_it(
        app, client, clinics):
    """A clinic saved before the profile form checked its name: every plan is refused at once
    with clinic.name named, instead of every handout failing later."""
    from service.extensions import db
    from service.models import Clinic, Plan

    with app.app_context():
        clinic = db.session.scalar(select(Clinic).where(Clinic.slug == "clinic-a"))
        clinic.name = "Clinic \u4e2d"
        db.session.commit()
    resp = client.post("/api/v1/plans", headers=clinics.a, json=_body())
    assert resp.status_code == 422
    message = _errors(resp)["clinic.name"]
    assert "U+4E2D" in message and "clinic profile" in message
    assert _count(app, Plan) == 0


def test_accepted_accented_greek_and_cyrillic_text_renders_and_reads_back(app, client, clinics):
    """PDF read-back through the service: what the API accepted renders on the first try."""
    from service.extensions import db
    from service.models import RenderJob
    from workers.tasks import render_handout

    name, clinician, notes = "Łukasz Żółć", "Dr Σοφία Νικολάου", "Ходите каждый день."
    resp = client.post("/api/v1/plans", headers=clinics.a, json=_body(
        patient={"display_name": name}, clinician=clinician, notes=notes))
    assert resp.status_code == 201, resp.get_json()
    with app.app_context():
        job_id = db.session.scalar(select(RenderJob.id))
        render_handout(job_id)  # runs in its own app context and session, as in a worker
        job = db.session.get(RenderJob, job_id)
        assert (job.status, job.attempts) == (RenderJob.DONE, 1)
    pdf = client.get(f"/api/v1/plans/{resp.get_json()['id']}/handout", headers=clinics.a)
    assert pdf.status_code == 200
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
                    .split())
    for value in (name, clinician, notes):
        assert value in text, value


def _stored_before_the_check(app, field: str, value: str) -> int:
    """Puts text into the revision's snapshot as a revision stored before this check could
    have; returns the render job's id."""
    from service.extensions import db
    from service.models import PlanRevision, RenderJob

    with app.app_context():
        revision = db.session.scalar(select(PlanRevision))
        snapshot = {**revision.snapshot}
        if field == "plan.patient_name":
            snapshot["plan"] = {**snapshot["plan"], "patient_name": value}
        else:
            snapshot["clinic"] = {**snapshot["clinic"], "name": value}
        revision.snapshot = snapshot
        db.session.commit()
        return db.session.scalar(select(RenderJob.id))


def test_a_render_refused_for_its_text_fails_once_and_the_link_says_what_to_change(
        app, client, clinics, caplog):
    from service.extensions import db
    from service.models import RenderJob
    from workers.tasks import render_handout

    caplog.set_level(logging.DEBUG)
    plan = client.post("/api/v1/plans", headers=clinics.a, json=_body()).get_json()
    job_id = _stored_before_the_check(app, "plan.patient_name", CJK)
    with app.app_context():
        render_handout(job_id)
        job = db.session.get(RenderJob, job_id)
        assert (job.status, job.attempts) == (RenderJob.FAILED, 1)
        render_handout(job_id)  # a redelivery does not try again
        db.session.expire_all()  # the task ran in its own session
        assert db.session.get(RenderJob, job_id).attempts == 1
    assert CJK not in caplog.text and "U+738B" not in caplog.text
    assert "plan.patient_name" in caplog.text
    for path in ("handout", "handout.html"):
        resp = client.get(f"/api/v1/plans/{plan['id']}/{path}", headers=clinics.a)
        assert resp.status_code == 409
        body = resp.get_json()
        assert body["type"].endswith("/handout-cannot-be-printed")
        assert body["errors"][0]["field"] == "patient.display_name"
        assert "U+738B" in body["detail"] and "patient's name" in body["detail"]
        assert CJK not in resp.get_data(as_text=True)
    # Revising the plan with a printable name renders again.
    resp = client.patch(f"/api/v1/plans/{plan['id']}", headers=clinics.a,
                        json={"patient": {"display_name": "W. X."}})
    assert resp.status_code == 200 and resp.get_json()["handout"]["status"] != "failed"


def test_a_clinic_name_render_failure_sends_the_clinician_to_the_clinic_profile(
        app, client, clinics):
    from workers.tasks import render_handout

    plan = client.post("/api/v1/plans", headers=clinics.a, json=_body()).get_json()
    job_id = _stored_before_the_check(app, "clinic.name", "Clinic \u4e2d")
    with app.app_context():
        render_handout(job_id)
    body = client.get(f"/api/v1/plans/{plan['id']}/handout", headers=clinics.a).get_json()
    assert body["errors"][0]["field"] == "clinic.name"
    assert "clinic profile" in body["detail"] and "U+4E2D" in body["detail"]


def test_other_failures_are_still_retried_and_then_say_so_honestly(app, client, clinics):
    from service.extensions import db
    from service.models import PlanRevision, RenderJob
    from workers.tasks import render_handout

    app.config["RENDER_MAX_ATTEMPTS"] = 2
    plan = client.post("/api/v1/plans", headers=clinics.a, json=_body()).get_json()
    with app.app_context():
        db.session.scalar(select(PlanRevision)).snapshot = {"unreadable": True}
        db.session.commit()
        job_id = db.session.scalar(select(RenderJob.id))
        render_handout(job_id)
        assert db.session.get(RenderJob, job_id).status == RenderJob.PENDING  # tried again
        render_handout(job_id)
        db.session.expire_all()  # the task ran in its own session
        assert db.session.get(RenderJob, job_id).status == RenderJob.FAILED
    resp = client.get(f"/api/v1/plans/{plan['id']}/handout", headers=clinics.a)
    assert resp.status_code == 503
    detail = resp.get_json()["detail"]
    assert "after 2 tries" in detail and "alerted" not in detail


def test_the_openapi_example_of_an_unprintable_name_is_what_the_api_answers(client, clinics):
    from service.api.examples import CREATE_REFUSALS

    example = CREATE_REFUSALS["text-cannot-be-printed"]["value"]
    resp = client.post("/api/v1/plans", headers=clinics.a,
                       json=_body(patient={"display_name": "\u738b\u5c0f"}))
    assert resp.status_code == 422
    body = resp.get_json()
    assert {k: body[k] for k in ("type", "title", "status", "errors")} == {
        k: example[k] for k in ("type", "title", "status", "errors")}
