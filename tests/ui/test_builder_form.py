"""The plan builder form through Flask's client: the same rules the browser tests walk through."""

from __future__ import annotations

import re

from sqlalchemy import select

from plans.catalogue import default_catalogue
from service import audit
from service.extensions import db
from service.models import PlanRevision
from tests.accounts.conftest import csrf_from, signed_in
from tests.form_pages import stored_plans

TEMPLATE = default_catalogue().approved_templates()[0]
IN_PHASES = [i.exercise_id for p in TEMPLATE.phases for i in p.items]


def _form(client, **extra):  # noqa: ANN001, ANN202
    data = {"csrf_token": csrf_from(client, f"/plans/new/{TEMPLATE.id}"),
            "patient.display_name": "Ana P.", "patient.reference": "MRN-1",
            "screening.irritability": "moderate", "handout.page_size": "a4",
            "notes": "Walk after lunch.", "exercises": IN_PHASES}
    data.update(extra)
    return data


def test_out_of_range_dose_is_shown_at_its_field_and_everything_typed_is_kept(app, client, people):
    signed_in(client, "pt@a.example")
    ex = IN_PHASES[-1]
    field = next(f for f in ("reps", "hold_seconds", "duration_seconds")
                 if f in default_catalogue().exercises[ex].dose_range.bounds)
    low, high = default_catalogue().exercises[ex].dose_range.bounds[field]
    name = f"dose_changes.{ex}.{field}"
    resp = client.post(f"/plans/new/{TEMPLATE.id}", data=_form(client, **{name: str(high + 1)}))
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422
    error = re.search(rf'id="f-dose_changes-{ex}-{field}-error">(.*?)</p>', text, re.S)
    assert error and f"from {low} to {high}" in error.group(1)
    assert f'href="#f-dose_changes-{ex}-{field}"' in text  # the error summary links to it
    assert f'name="{name}" value="{high + 1}"' in text
    assert 'value="Ana P."' in text and 'value="MRN-1"' in text and "Walk after lunch." in text
    assert re.search(r'id="irr-moderate"[^>]*checked', text)
    assert re.search(r'id="ps-a4"[^>]*checked', text)
    assert stored_plans(app) == 0


def test_cauda_equina_finding_blocks_the_plan_until_a_structured_rule_out(app, client, people):
    signed_in(client, "pt@a.example")
    flagged = _form(client, **{"screening.red_flags": ["saddle_numbness"]})
    resp = client.post(f"/plans/new/{TEMPLATE.id}", data=flagged)
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422 and stored_plans(app) == 0
    assert "refer as an emergency" in text and "Emergency number: 911" in text
    assert 'href="#f-screening-cauda_equina_rule_out"' in text

    # Words that say nothing, and no who or when, clear nothing; each part is named at once.
    ruled_out = dict(flagged, csrf_token=csrf_from(client, "/plans"),
                     **{"screening.cauda_equina_rule_out.finding": "ok \u200b ... ok"})
    resp = client.post(f"/plans/new/{TEMPLATE.id}", data=ruled_out)
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422
    for part in ("assessed_by", "assessed_on", "finding"):
        assert f'href="#f-screening-cauda_equina_rule_out-{part}"' in text, part

    ruled_out.update({"screening.cauda_equina_rule_out.assessed_by": "Sam Okafor, PT",
                      "screening.cauda_equina_rule_out.assessed_on": "2026-11-30",
                      "screening.cauda_equina_rule_out.finding":
                          "Chronic, unchanged, imaged last year, saddle sensation normal."})
    resp = client.post(f"/plans/new/{TEMPLATE.id}", data=ruled_out)
    assert resp.status_code == 303
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Cauda equina ruled out" in page and "imaged last year" in page


def test_every_problem_is_shown_at_once_next_to_its_field(app, client, people):
    signed_in(client, "pt@a.example")
    ex = IN_PHASES[-1]
    field = next(f for f in ("reps", "hold_seconds", "duration_seconds")
                 if f in default_catalogue().exercises[ex].dose_range.bounds)
    high = default_catalogue().exercises[ex].dose_range.bounds[field][1]
    resp = client.post(f"/plans/new/{TEMPLATE.id}", data=_form(client, **{
        "patient.display_name": "", "screening.red_flags": ["night_pain", "cancer_history"],
        f"dose_changes.{ex}.{field}": str(high + 1)}))
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422
    for name in ("patient-display_name", "screening-same_day_review",
                 "screening-risk_factor_review", f"dose_changes-{ex}-{field}"):
        assert f'id="f-{name}-error"' in text, name
    assert "There are 4 problems" in text


def test_check_plan_without_javascript_shows_the_swap_and_its_range_and_saves_nothing(
        app, client, people):
    signed_in(client, "pt@a.example")
    resp = client.post("/plans/new/core_routine", data=dict(
        _form(client), exercises=[i.exercise_id for p in default_catalogue().template(
            "core_routine").phases for i in p.items],
        **{"screening.nerve_symptoms": "1", "action": "check"}))
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200 and stored_plans(app) == 0
    assert "Now: <strong>Bent-knee strap stretch</strong>" in text
    # The strap stretch's boxes now carry the bent-knee stretch's range, 15 to 30 seconds.
    assert re.search(r'name="dose_changes.strap_hamstring_stretch.hold_seconds" value="15" '
                     r'min="15" max="30"', text)
    assert "instead of Strap hamstring stretch" in text


def test_saved_plan_matches_what_the_api_would_store(app, client, people):
    """Same schema, same service layer: the stored request is the API's body shape."""
    signed_in(client, "pt@a.example")
    removed = IN_PHASES[-1]
    optional = TEMPLATE.optional_exercises[0]
    data = _form(client, exercises=[*IN_PHASES[:-1], optional],
                 **{"handout.large_print": "1", "screening.nerve_symptoms": "1"})
    resp = client.post(f"/plans/new/{TEMPLATE.id}", data=data)
    assert resp.status_code == 303
    with app.app_context():
        revision = db.session.scalar(select(PlanRevision))
        request = revision.request
        assert revision.created_by.startswith("clinician:")
        assert revision.snapshot["clinician"] == "Pat Therapist"
        events = db.session.scalars(select(audit.AuditEvent.action)).all()
    assert request["remove_exercises"] == [removed]
    assert request["add_exercises"] == [optional]
    assert request["dose_changes"] == {}, "untouched doses must not pin the safety rules"
    assert request["screening"]["nerve_symptoms"] is True
    assert request["handout"] == {"large_print": True, "page_size": "a4"}
    assert audit.PLAN_CREATED in events


def test_edit_is_prefilled_and_saves_a_new_revision(app, client, people):
    signed_in(client, "pt@a.example")
    ex = IN_PHASES[0]
    field, (low, high) = next(iter(default_catalogue().exercises[ex].dose_range.bounds.items()))
    location = client.post(f"/plans/new/{TEMPLATE.id}", data=_form(
        client, **{f"dose_changes.{ex}.{field}": str(high)})).headers["Location"]
    edit = client.get(f"{location}/edit").get_data(as_text=True)
    assert f'name="dose_changes.{ex}.{field}" value="{high}"' in edit
    assert 'value="Ana P."' in edit and "Walk after lunch." in edit
    data = _form(client, **{f"dose_changes.{ex}.{field}": str(low), "notes": "Revised."})
    data["csrf_token"] = csrf_from(client, f"{location}/edit")
    resp = client.post(f"{location}/edit", data=data)
    assert resp.status_code == 303
    page = client.get(location).get_data(as_text=True)
    assert "Revision 2 of 2" in page and "Revised." in page
    first = client.get(f"{location}?revision=1").get_data(as_text=True)
    assert "Walk after lunch." in first and "earlier revision" in first


def test_search_finds_by_name_or_reference_within_the_clinic_only(app, client, people):
    signed_in(client, "pt@a.example")
    client.post(f"/plans/new/{TEMPLATE.id}", data=_form(client, **{
        "patient.display_name": "Hermione 100% G.", "patient.reference": "REF-77"}))
    other = app.test_client()
    signed_in(other, "pt@b.example")
    other.post(f"/plans/new/{TEMPLATE.id}", data=_form(other, **{
        "patient.display_name": "Hermione B.", "patient.reference": "REF-78"}))

    def search(c, q):  # noqa: ANN001, ANN202
        return c.post("/plans/search", data={"csrf_token": csrf_from(c, "/plans"), "q": q}
                      ).get_data(as_text=True)

    found = search(client, "hermione")
    assert "Hermione 100% G." in found and "Hermione B." not in found
    assert "Hermione 100% G." in search(client, "REF-7")
    assert "1 plan found" in search(client, "100%")
    assert "0 plans found" in search(client, "_")  # a LIKE wildcard is just a character


def test_another_clinics_plan_and_handout_answer_404(app, client, people):
    signed_in(client, "pt@a.example")
    location = client.post(f"/plans/new/{TEMPLATE.id}", data=_form(client)).headers["Location"]
    other = app.test_client()
    signed_in(other, "pt@b.example")
    for suffix in ("", "/edit", "/status", "/handout.pdf", "/handout.html"):
        assert other.get(location + suffix).status_code == 404, suffix
    assert "Ana P." not in other.get("/plans").get_data(as_text=True)


def test_pages_need_a_signed_in_clinician(client, people):
    for path in ("/plans", "/plans/new", f"/plans/new/{TEMPLATE.id}"):
        resp = client.get(path)
        assert resp.status_code == 302 and resp.headers["Location"].startswith("/sign-in")


def test_stored_handout_is_served_to_its_clinic_with_ids_only_in_the_file_name(app, client, people):
    from service.models import Handout

    signed_in(client, "pt@a.example")
    location = client.post(f"/plans/new/{TEMPLATE.id}", data=_form(client)).headers["Location"]
    assert client.get(f"{location}/status").get_json()["status"] in ("pending", "queued")
    assert client.get(f"{location}/handout.pdf").status_code == 404  # not rendered yet
    with app.app_context():
        revision = db.session.scalar(select(PlanRevision))
        db.session.add(Handout(revision_id=revision.id, options_key="a4-standard",
                               pdf=b"%PDF-1.7 test", html="<html><style>p{}</style></html>",
                               sha256="0" * 64, pages=3))
        db.session.commit()
    assert client.get(f"{location}/status").get_json() == {
        "plan_id": location.rsplit("/", 1)[1], "revision": 1, "status": "done", "pages": 3}
    pdf = client.get(f"{location}/handout.pdf")
    assert pdf.data.startswith(b"%PDF") and "no-store" in pdf.headers["Cache-Control"]
    assert "Ana" not in pdf.headers["Content-Disposition"]
    assert "frame-ancestors 'self'" in pdf.headers["Content-Security-Policy"]
    html = client.get(f"{location}/handout.html")
    assert html.mimetype == "text/html"
    csp = html.headers["Content-Security-Policy"]
    assert "style-src 'self' 'unsafe-inline'" in csp and "script-src" not in csp
    page = client.get(location).get_data(as_text=True)
    assert "Open PDF" in page and "http-equiv=\"refresh\"" not in page


def test_builder_functions_need_no_session_so_an_embed_can_serve_them(app, people):
    """The portal embed will call these with its own auth: no request, no g, no cookie."""
    from werkzeug.datastructures import MultiDict

    from service.models import Clinic
    from service.ui import builder

    posted = MultiDict([("patient.display_name", "E. M."), ("screening.irritability", "high"),
                        ("handout.page_size", "letter"), *[("exercises", e) for e in IN_PHASES],
                        ("dose_changes.nope.reps", "x")])
    with app.app_context():
        clinic = db.session.get(Clinic, people.clinic_a)
        form = builder.form_from_post(TEMPLATE, posted)
        plan = builder.save(form, clinic, created_by="embed:test", clinician_name="Portal user")
        assert plan is not None, form.errors
        revision = db.session.scalar(select(PlanRevision))
        assert revision.created_by == "embed:test"
        assert revision.request["screening"]["irritability"] == "high"
        # High irritability eased the doses: nothing the form sent pinned them.
        assert revision.request["dose_changes"] == {}
        assert any(ex["adapted_because"] for ex in revision.snapshot["plan"]["exercises"])

        flagged = MultiDict([*posted.items(multi=True), ("screening.red_flags", "weight_loss")])
        refused = builder.form_from_post(TEMPLATE, flagged)
        assert builder.save(refused, clinic, created_by="embed:test", clinician_name="") is None
        assert "screening.same_day_review" in refused.errors
        assert refused.value("patient.display_name") == "E. M."


def test_a_nul_character_in_a_form_field_is_a_400_page_not_a_server_error(app, client, people):
    """PostgreSQL cannot store U+0000; a crafted form must be refused before it gets there."""
    signed_in(client, "pt@a.example")
    resp = client.post(f"/plans/new/{TEMPLATE.id}",
                       data=_form(client, **{"patient.display_name": "A\x00B"}))
    assert resp.status_code == 400
    assert resp.mimetype == "text/html" and "NUL" in resp.get_data(as_text=True)
    assert stored_plans(app) == 0


def test_template_cards_say_the_review_is_interim(app, client, people):
    signed_in(client, "pt@a.example")
    text = client.get("/plans/new").get_data(as_text=True)
    interim = [t for t in default_catalogue().approved_templates() if not t.signed_off]
    assert interim  # every shipped template still has the interim engineering review
    assert text.count("data-interim-review") == len(interim)
    assert "screening rules it is built with are not yet signed off" in text


def test_a_dose_refused_after_a_swap_names_the_swapped_exercise_and_its_range(app, client,
                                                                                people):
    signed_in(client, "pt@a.example")
    template = default_catalogue().template("core_routine")
    resp = client.post("/plans/new/core_routine", data=dict(
        _form(client), exercises=[i.exercise_id for p in template.phases for i in p.items],
        **{"screening.nerve_symptoms": "1",
           "dose_changes.strap_hamstring_stretch.hold_seconds": "40"}))
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422 and stored_plans(app) == 0
    error = re.search(r'id="f-dose_changes-strap_hamstring_stretch-hold_seconds-error">(.*?)</p>',
                      text, re.S).group(1)
    assert "Bent-knee strap stretch (instead of Strap hamstring stretch)" in error
    assert "from 15 to 30" in error
    # What was typed is kept, in a box that now shows the swapped-in exercise's range.
    assert re.search(r'name="dose_changes.strap_hamstring_stretch.hold_seconds" value="40" '
                     r'min="15" max="30"', text)


def test_unprintable_text_and_a_screening_problem_are_shown_together(app, client, people):
    """One answer: the name the handout cannot print next to its field, the cauda equina
    finding next to its record, and the clinic's unprintable name in the summary."""
    from service.models import Clinic

    with app.app_context():
        db.session.get(Clinic, people.clinic_a).name = "Clinic \u4e2d"
        db.session.commit()
    signed_in(client, "pt@a.example")
    for action in ("check", "save"):
        resp = client.post(f"/plans/new/{TEMPLATE.id}", data=_form(client, **{
            "action": action, "patient.display_name": "\u738b\u5c0f\u660e",
            "screening.red_flags": ["saddle_numbness"]}))
        text = resp.get_data(as_text=True)
        if action == "save":
            assert resp.status_code == 422
        name_error = re.search(r'id="f-patient-display_name-error">(.*?)</p>', text, re.S)
        assert name_error and "U+738B" in name_error.group(1), action
        assert 'id="f-screening-cauda_equina_rule_out-error"' in text, action
        assert "The clinic&#39;s name" in text and "U+4E2D" in text, action
        assert "There are 3 problems" in text, action
        assert 'value="\u738b\u5c0f\u660e"' in text  # nothing typed is lost
    assert stored_plans(app) == 0


def _tag(text: str, attr: str) -> str:
    """The opening tag that carries `attr` (an id="..." or similar)."""
    found = re.search(rf"<[^>]*{re.escape(attr)}[^>]*>", text)
    assert found, attr
    return found.group(0)


def test_records_and_left_out_doses_stay_out_of_the_tab_order_until_needed(client, people):
    signed_in(client, "pt@a.example")
    text = client.get("/plans/new/core_routine").get_data(as_text=True)
    assert text.count("<h1") == 1 and text.count('class="step-title"') == 5
    assert " hidden" in _tag(text, 'id="f-screening-cauda_equina_rule_out"')
    assert " hidden" in _tag(text, 'data-record="risk_factor"')
    assert " hidden" not in _tag(text, 'id="doses-glute_bridge"')
    assert " hidden" in _tag(text, 'id="doses-dead_bug"'), "an optional extra not in the plan"
    assert " open" not in _tag(text, 'id="optional-extras"')
    # Each exercise's doses are a group named after the exercise.
    assert '<legend class="visually-hidden">Dose of Bridge</legend>' in text
    assert re.search(r'<p class="blocked" role="status" data-live-status></p>', text)


def test_a_refused_plan_says_error_in_its_title_and_marks_the_fields_that_resolve_it(
        client, people):
    signed_in(client, "pt@a.example")
    data = dict(_form(client, **{"screening.red_flags": ["saddle_numbness"]}), exercises=[
        *IN_PHASES, "dead_bug"])
    text = client.post(f"/plans/new/{TEMPLATE.id}", data=data).get_data(as_text=True)
    assert re.search(r"<title>Error: ", text)
    assert " hidden" not in _tag(text, 'id="f-screening-cauda_equina_rule_out"')
    for part in ("assessed_by", "assessed_on", "finding"):
        tag = _tag(text, f'id="f-screening-cauda_equina_rule_out-{part}"')
        assert "f-screening-cauda_equina_rule_out-error" in tag and 'aria-invalid="true"' in tag
    assert " open" in _tag(text, 'id="optional-extras"'), "an extra in the plan shows"
    assert " hidden" not in _tag(text, 'id="doses-dead_bug"')
    assert "Screening records are missing" in text
    assert "<title>New plan" in client.get("/plans/new/core_routine").get_data(as_text=True)
