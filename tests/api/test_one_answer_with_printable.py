"""Text the handout cannot print joins the screening's one answer: a request with a screening
problem and unprintable text gets one 422 listing both, whichever stage finds the text (the
schema's validator, the registered checker on carried-forward text, or the clinic's profile)."""

from __future__ import annotations

from sqlalchemy import func, select

CJK = "王小明"


def _body(**overrides: object) -> dict:
    body = {"template_id": "core_routine", "patient": {"display_name": "Ana P."}}
    body.update(overrides)
    return body


def _errors(resp) -> dict[str, str]:
    return {e["field"]: e["message"] for e in resp.get_json()["errors"]}


def _count(app, model) -> int:
    from service.extensions import db

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_one_422_lists_unprintable_text_and_a_screening_problem_together(app, client, clinics):
    from service.models import Plan

    resp = client.post("/api/v1/plans", headers=clinics.a, json=_body(
        patient={"display_name": CJK}, notes="Walk \U0001F9B6 daily",
        screening={"red_flags": ["saddle_numbness"]}))
    assert resp.status_code == 422
    errors = _errors(resp)
    assert {"patient.display_name", "notes", "screening.cauda_equina_rule_out"} == set(errors)
    assert "U+738B" in errors["patient.display_name"] and "U+1F9B6" in errors["notes"]
    # Each field once, though the schema and the registered checker both look at the text.
    assert len(resp.get_json()["errors"]) == 3
    assert CJK not in resp.get_data(as_text=True)
    assert _count(app, Plan) == 0


def test_the_preview_lists_them_together_as_create_would(client, clinics):
    body = _body(patient={"display_name": CJK}, screening={"red_flags": ["saddle_numbness"]})
    preview = client.post("/api/v1/plans/preview", headers=clinics.a, json=body)
    create = client.post("/api/v1/plans", headers=clinics.a, json=body)
    assert preview.status_code == create.status_code == 422
    assert _errors(preview) == _errors(create)


def test_carried_forward_text_and_a_new_screening_problem_come_in_one_answer(app, client,
                                                                             clinics):
    """A PATCH whose own fields are valid: the stored clinician name (saved before the check
    existed) is caught by the registered checker, in the same list as the screening's."""
    from service.extensions import db
    from service.models import PlanRevision

    plan = client.post("/api/v1/plans", headers=clinics.a, json=_body()).get_json()
    with app.app_context():
        revision = db.session.scalar(select(PlanRevision))
        revision.request = {**revision.request, "clinician": "Dr \u738b"}
        db.session.commit()
    resp = client.patch(f"/api/v1/plans/{plan['id']}", headers=clinics.a,
                        json={"screening": {"red_flags": ["saddle_numbness"]}})
    assert resp.status_code == 422
    errors = _errors(resp)
    assert set(errors) == {"clinician", "screening.cauda_equina_rule_out"}
    assert "U+738B" in errors["clinician"]
    assert _count(app, PlanRevision) == 1


def test_the_clinics_own_text_and_reachability_join_the_same_list(app, client, clinics):
    from service.extensions import db
    from service.models import Clinic, Plan

    with app.app_context():
        clinic = db.session.scalar(select(Clinic).where(Clinic.slug == "clinic-a"))
        clinic.name = "Clinic \u4e2d"
        clinic.out_of_hours = ""
        db.session.commit()
    body = _body(patient={"display_name": ""}, screening={"red_flags": ["saddle_numbness"]})
    for path in ("/api/v1/plans", "/api/v1/plans/preview"):
        resp = client.post(path, headers=clinics.a, json=body)
        assert resp.status_code == 422, path
        errors = _errors(resp)
        assert {"clinic.name", "clinic.out_of_hours", "patient.display_name",
                "screening.cauda_equina_rule_out"} == set(errors), path
        assert "U+4E2D" in errors["clinic.name"] and "clinic profile" in errors["clinic.name"]
    # A body with valid fields: the preview names the clinic's problems among its own.
    data = client.post("/api/v1/plans/preview", headers=clinics.a, json=_body()).get_json()
    assert data["ok"] is False
    assert {p["field"] for p in data["problems"]} == {"clinic.name", "clinic.out_of_hours"}
    assert _count(app, Plan) == 0
