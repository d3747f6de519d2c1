"""Forms that take text a handout prints refuse what it cannot print, next to the field: the
plan builder, the clinic profile and clinician invites."""

from __future__ import annotations

from sqlalchemy import select

from plans.catalogue import default_catalogue
from service.extensions import db
from service.models import Clinic, PlanRevision, RenderJob
from tests.accounts.conftest import add_clinician, csrf_from, signed_in
from tests.form_pages import field_error, stored_plans

TEMPLATE = default_catalogue().template("core_routine")
IN_PHASES = [i.exercise_id for p in TEMPLATE.phases for i in p.items]
CJK = "王小明"


def test_builder_shows_unprintable_text_next_to_its_field_and_keeps_what_was_typed(
        app, client, people):
    signed_in(client, "pt@a.example")
    data = {"csrf_token": csrf_from(client, f"/plans/new/{TEMPLATE.id}"),
            "patient.display_name": CJK, "screening.irritability": "low",
            "handout.page_size": "letter", "notes": "Walk daily \x1b[31m", "exercises": IN_PHASES}
    resp = client.post(f"/plans/new/{TEMPLATE.id}", data=data)
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "U+738B" in field_error(text, "patient-display_name")
    assert "U+001B" in field_error(text, "notes")
    assert f'value="{CJK}"' in text  # nothing typed is lost
    assert stored_plans(app) == 0


def test_a_clinician_name_the_handout_cannot_print_is_named_in_the_summary(app, client, people):
    """A name stored before invites were checked: the builder says what it is."""
    add_clinician(app, people.clinic_a, "old@a.example", name="Dr \u738b")
    signed_in(client, "old@a.example")
    data = {"csrf_token": csrf_from(client, f"/plans/new/{TEMPLATE.id}"),
            "patient.display_name": "Ana P.", "screening.irritability": "low",
            "handout.page_size": "letter", "exercises": IN_PHASES}
    resp = client.post(f"/plans/new/{TEMPLATE.id}", data=data)
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "Your name as the handout prints it" in text and "U+738B" in text
    assert stored_plans(app) == 0


def test_a_clinic_name_the_handout_cannot_print_stops_the_builder_and_says_who_fixes_it(
        app, client, people):
    with app.app_context():
        db.session.get(Clinic, people.clinic_a).name = "Clinic \u4e2d"
        db.session.commit()
    signed_in(client, "pt@a.example")
    data = {"csrf_token": csrf_from(client, f"/plans/new/{TEMPLATE.id}"),
            "patient.display_name": "Ana P.", "screening.irritability": "low",
            "handout.page_size": "letter", "exercises": IN_PHASES}
    text = client.post(f"/plans/new/{TEMPLATE.id}", data=data).get_data(as_text=True)
    assert "The clinic&#39;s name" in text and "U+4E2D" in text and "clinic profile" in text
    assert stored_plans(app) == 0


def test_the_plan_page_says_what_to_change_when_a_render_was_refused_for_its_text(
        app, client, people):
    from workers.tasks import render_handout

    signed_in(client, "pt@a.example")
    data = {"csrf_token": csrf_from(client, f"/plans/new/{TEMPLATE.id}"),
            "patient.display_name": "Ana P.", "screening.irritability": "low",
            "handout.page_size": "letter", "exercises": IN_PHASES}
    assert client.post(f"/plans/new/{TEMPLATE.id}", data=data).status_code == 303
    with app.app_context():
        revision = db.session.scalar(select(PlanRevision))
        # As a revision stored before the check could have been.
        revision.snapshot = {**revision.snapshot,
                             "plan": {**revision.snapshot["plan"], "notes": "\u4e2d"}}
        db.session.commit()
        public_id = revision.plan.public_id
        render_handout(db.session.scalar(select(RenderJob.id)))
    page = client.get(f"/plans/{public_id}").get_data(as_text=True)
    assert "cannot be printed" in page and "the notes for the patient" in page
    assert "U+4E2D" in page and "Change it and save the plan again" in page
    status = client.get(f"/plans/{public_id}/status").get_json()
    assert status["status"] == "failed" and status["field"] == "notes"
    assert "U+4E2D" in status["message"]
    pdf = client.get(f"/plans/{public_id}/handout.pdf")
    assert pdf.status_code == 409 and "U+4E2D" in pdf.get_data(as_text=True)


def test_clinic_profile_refuses_a_name_or_contact_the_handout_cannot_print(app, client, people):
    signed_in(client, "admin@a.example")
    form = {"csrf_token": csrf_from(client, "/admin/clinic"), "name": "Clinic \u4e2d",
            "contact": "Call\u2028555\u20110101", "emergency_number": "112",
            "out_of_hours": "Call \U0001F9B4 111", "allowed_embed_origins": ""}
    resp = client.post("/admin/clinic", data=form)
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "U+4E2D" in field_error(text, "name")
    assert "U+2028" in field_error(text, "contact")
    assert "U+1F9B4" in field_error(text, "out_of_hours")
    with app.app_context():
        assert db.session.get(Clinic, people.clinic_a).name == "Clinic A"
    # What the fonts draw is saved.
    form.update(csrf_token=csrf_from(client, "/admin/clinic"), name="Clínica Łódź",
                contact="Tél. 555-0101", out_of_hours="Appelez le 555-0199 après 18 h")
    assert client.post("/admin/clinic", data=form).status_code == 303
    with app.app_context():
        assert db.session.get(Clinic, people.clinic_a).name == "Clínica Łódź"


def test_a_clinician_invited_with_a_name_the_handout_cannot_print_is_refused(client, people):
    signed_in(client, "admin@a.example")
    resp = client.post("/admin/clinicians", data={
        "csrf_token": csrf_from(client, "/admin/clinicians"), "name": "\u200b\u200b",
        "email": "new@a.example", "role": "clinician"})
    assert resp.status_code == 422
    assert "U+200B" in field_error(resp.get_data(as_text=True), "name")


def test_the_demo_clinic_and_clinicians_are_printable(app):
    from plans.printable import text_problem
    from service.accounts.models import Clinician
    from service.demo import seed_demo
    from service.planning import clinic_text_problems

    clinic, _ = seed_demo(app)
    with app.app_context():
        clinic = db.session.get(Clinic, clinic.id)
        assert clinic_text_problems(clinic) == []
        names = db.session.scalars(select(Clinician.name)).all()
    assert names and [n for n in names if text_problem("name", n)] == []


def test_the_clinic_profile_shows_a_stored_name_the_handout_cannot_print(app, client, people):
    with app.app_context():
        db.session.get(Clinic, people.clinic_a).name = "Clinic \u4e2d"
        db.session.commit()
    signed_in(client, "admin@a.example")
    text = client.get("/admin/clinic").get_data(as_text=True)
    assert "U+4E2D" in field_error(text, "name")
