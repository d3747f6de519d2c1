"""The embedded builder and the embed-session API refuse text the handout cannot print,
naming the field."""

from __future__ import annotations

from sqlalchemy import select

from plans.catalogue import default_catalogue
from service.extensions import db
from tests.embed.conftest import CSRF, create_link, open_session
from tests.form_pages import field_error, stored_plans

TEMPLATE = default_catalogue().template("core_routine")
IN_PHASES = [i.exercise_id for p in TEMPLATE.phases for i in p.items]
CJK = "王小明"


def test_embedded_builder_shows_unprintable_text_next_to_its_field(app, client, portals):
    base = open_session(client, portals.a)
    page = client.get(f"{base}new/{TEMPLATE.id}").get_data(as_text=True)
    resp = client.post(f"{base}new/{TEMPLATE.id}", data={
        "csrf_token": CSRF.search(page).group(1), "patient.display_name": "Ana \u202eP.",
        "screening.irritability": "low", "handout.page_size": "letter",
        "exercises": IN_PHASES})
    assert resp.status_code == 422
    assert "U+202E" in field_error(resp.get_data(as_text=True), "patient-display_name")
    assert stored_plans(app) == 0


def test_embed_sessions_refuse_a_clinician_or_patient_name_the_handout_cannot_print(
        client, portals):
    resp = create_link(client, portals.a, clinician="Dr \U0001F9B4 Bones",
                       patient_display_name=CJK)
    assert resp.status_code == 422
    errors = {e["field"]: e["message"] for e in resp.get_json()["errors"]}
    assert "U+1F9B4" in errors["clinician"] and "U+738B" in errors["patient_display_name"]


def test_the_embed_plan_page_says_what_to_change_when_a_render_was_refused(app, client, portals):
    from service.models import PlanRevision, RenderJob
    from workers.tasks import render_handout

    base = open_session(client, portals.a)
    page = client.get(f"{base}new/{TEMPLATE.id}").get_data(as_text=True)
    resp = client.post(f"{base}new/{TEMPLATE.id}", data={
        "csrf_token": CSRF.search(page).group(1), "patient.display_name": "Ana P.",
        "screening.irritability": "low", "handout.page_size": "letter",
        "exercises": IN_PHASES})
    assert resp.status_code == 303
    with app.app_context():
        revision = db.session.scalar(select(PlanRevision))
        # As a revision stored before the check could have been.
        revision.snapshot = {**revision.snapshot,
                             "clinician": "Dr \u4e2d"}
        db.session.commit()
        public_id = revision.plan.public_id
        render_handout(db.session.scalar(select(RenderJob.id)))
    text = client.get(f"{base}plans/{public_id}").get_data(as_text=True)
    assert "cannot be printed" in text and "the clinician&#39;s name" in text
    status = client.get(f"{base}plans/{public_id}/status").get_json()
    assert status["status"] == "failed" and status["field"] == "clinician"
    pdf = client.get(f"{base}plans/{public_id}/handout.pdf")
    assert pdf.status_code == 409 and "U+4E2D" in pdf.get_data(as_text=True)
