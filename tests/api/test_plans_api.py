"""The plans API: what a portal engineer sees when creating, reading and revising plans."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

TEMPLATE = "core_routine"


def plan_body(**overrides: object) -> dict:
    body = {"template_id": TEMPLATE, "patient": {"display_name": "Ana P.", "reference": "MRN-1"}}
    body.update(overrides)
    return body


def count(app, model) -> int:
    from service.extensions import db

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_create_plan_answers_201_with_location_and_stores_revision_and_outbox_row(
        app, client, clinics):
    from service.models import Plan, PlanRevision, RenderJob

    resp = client.post("/api/v1/plans", json=plan_body(), headers=clinics.a)
    assert resp.status_code == 201, resp.get_json()
    data = resp.get_json()
    assert data["id"].startswith("pln_")
    assert resp.headers["Location"].endswith(f"/api/v1/plans/{data['id']}")
    assert data["revision"] == 1
    assert data["template"]["id"] == TEMPLATE and len(data["template"]["content_hash"]) == 64
    assert data["patient"] == {"display_name": "Ana P.", "reference": "MRN-1"}
    assert data["exercises"] and all(e["dose_text"] for e in data["exercises"])
    assert data["handout"]["status"] in ("pending", "queued")
    assert (count(app, Plan), count(app, PlanRevision), count(app, RenderJob)) == (1, 1, 1)


def test_patient_name_never_appears_in_the_plan_url(client, clinics):
    resp = client.post("/api/v1/plans", json=plan_body(patient={"display_name": "Zed Q"}),
                       headers=clinics.a)
    assert "Zed" not in resp.headers["Location"]
    assert "Zed" not in resp.get_json()["handout"]["url"]


def test_handout_is_202_with_status_and_retry_after_until_rendered(client, clinics):
    plan = client.post("/api/v1/plans", json=plan_body(), headers=clinics.a).get_json()
    resp = client.get(f"/api/v1/plans/{plan['id']}/handout", headers=clinics.a)
    assert resp.status_code == 202
    assert resp.get_json()["status"] in ("pending", "queued")
    assert resp.headers["Retry-After"] == "1"


def test_get_plan_returns_the_latest_revision(client, clinics):
    plan = client.post("/api/v1/plans", json=plan_body(), headers=clinics.a).get_json()
    first = client.get(f"/api/v1/plans/{plan['id']}", headers=clinics.a).get_json()
    assert (first["id"], first["revision"]) == (plan["id"], 1)
    assert "dead_bug" not in [e["id"] for e in first["exercises"]]
    patched = client.patch(f"/api/v1/plans/{plan['id']}", json={"add_exercises": ["dead_bug"]},
                           headers=clinics.a)
    assert patched.status_code == 200, patched.get_json()
    resp = client.get(f"/api/v1/plans/{plan['id']}", headers=clinics.a)
    assert resp.status_code == 200
    latest = resp.get_json()
    assert (latest["id"], latest["revision"]) == (plan["id"], 2)
    assert [e["id"] for e in latest["exercises"]][-1] == "dead_bug"


def test_patch_makes_a_new_revision_and_leaves_the_old_one_untouched(app, client, clinics):
    from service.extensions import db
    from service.models import PlanRevision

    plan = client.post("/api/v1/plans", json=plan_body(notes="first"),
                       headers=clinics.a).get_json()
    resp = client.patch(f"/api/v1/plans/{plan['id']}", json={"notes": "second"},
                        headers=clinics.a)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["revision"] == 2
    with app.app_context():
        revs = db.session.scalars(select(PlanRevision).order_by(PlanRevision.number)).all()
        assert [r.snapshot["plan"]["notes"] for r in revs] == ["first", "second"]
        assert revs[0].snapshot["revision"] == 1 and revs[1].snapshot["revision"] == 2


def test_red_flag_without_clearance_is_refused_naming_tier_and_flag(app, client, clinics):
    from service.models import Plan

    flag = client.get(f"/api/v1/templates/{TEMPLATE}", headers=clinics.a).get_json()[
        "red_flags"][0]
    resp = client.post("/api/v1/plans", headers=clinics.a,
                       json=plan_body(screening={"red_flags": [flag["id"]]}))
    assert resp.status_code == 422
    body = resp.get_json()
    assert resp.mimetype == "application/problem+json"
    assert body["tier"] == flag["tier"] and flag["id"] in body["red_flags"]
    assert body["errors"][0]["field"] == "screening.red_flags"
    assert count(app, Plan) == 0


def test_red_flag_assessed_and_cleared_is_kept_on_the_revision(client, clinics):
    flag = client.get(f"/api/v1/templates/{TEMPLATE}", headers=clinics.a).get_json()[
        "red_flags"][0]
    resp = client.post("/api/v1/plans", headers=clinics.a, json=plan_body(
        screening={"red_flags": [flag["id"]]},
        red_flag_clearance={"note": "Examined today; saddle sensation normal."}))
    assert resp.status_code == 201, resp.get_json()
    data = resp.get_json()
    assert data["red_flags_present"] == [flag["id"]]
    assert data["red_flag_clearance"]["note"].startswith("Examined today")


def test_dose_outside_its_range_names_exercise_and_field(app, client, clinics):
    from service.models import Plan

    tpl = client.get(f"/api/v1/templates/{TEMPLATE}", headers=clinics.a).get_json()
    ex = next(e for e in tpl["exercises"] if e["dose_range"])
    field, (low, high) = next(iter(ex["dose_range"].items()))
    resp = client.post("/api/v1/plans", headers=clinics.a,
                       json=plan_body(dose_changes={ex["id"]: {field: high + 1}}))
    assert resp.status_code == 422
    assert resp.get_json()["errors"][0]["field"] == f"dose_changes.{ex['id']}.{field}"
    assert count(app, Plan) == 0


BAD_BODIES = {
    "unknown template": (plan_body(template_id="no-such-template"), 422, "template_id"),
    "missing patient": ({"template_id": TEMPLATE}, 422, "patient"),
    "empty display name": (plan_body(patient={"display_name": ""}), 422, "patient.display_name"),
    "mistyped irritability": (plan_body(screening={"irritability": 5}), 422,
                              "screening.irritability"),
    "dose as a string": (plan_body(dose_changes={"glute_bridge": {"reps": "ten"}}), 422,
                         "dose_changes.glute_bridge.value.reps"),
    "unknown field": (plan_body(colour="blue"), 422, "colour"),
    "bad page size": (plan_body(handout={"page_size": "a3"}), 422, "handout.page_size"),
}


@pytest.mark.parametrize("case", BAD_BODIES, ids=list(BAD_BODIES))
def test_bad_fields_answer_problem_json_naming_the_field_and_store_nothing(
        app, client, clinics, case):
    from service.models import Plan

    body, status, field = BAD_BODIES[case]
    resp = client.post("/api/v1/plans", json=body, headers=clinics.a)
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    problem = resp.get_json()
    assert problem["status"] == status and problem["title"]
    assert field in [e["field"] for e in problem["errors"]], problem
    assert count(app, Plan) == 0


def test_malformed_json_is_a_400_problem(app, client, clinics):
    from service.models import Plan

    resp = client.post("/api/v1/plans", data="{not json", headers={
        **clinics.a, "Content-Type": "application/json"})
    assert resp.status_code == 400
    assert resp.mimetype == "application/problem+json"
    assert count(app, Plan) == 0


def test_body_over_one_megabyte_is_a_413_problem(app, client, clinics):
    from service.models import Plan

    big = json.dumps(plan_body(notes="x" * (1024 * 1024 + 10)))
    resp = client.post("/api/v1/plans", data=big, headers={
        **clinics.a, "Content-Type": "application/json"})
    assert resp.status_code == 413
    assert resp.mimetype == "application/problem+json"
    assert "1 MB" in resp.get_json()["detail"]
    assert count(app, Plan) == 0


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer lmb_wrong"},
                                     {"Authorization": "Basic abc"}],
                         ids=["missing", "wrong", "not bearer"])
def test_missing_or_wrong_api_key_is_a_401_problem(app, client, clinics, headers):
    from service.models import Plan

    resp = client.post("/api/v1/plans", json=plan_body(), headers=headers)
    assert resp.status_code == 401
    assert resp.mimetype == "application/problem+json"
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert count(app, Plan) == 0


def test_another_clinics_plan_is_404_on_every_plan_route(client, clinics):
    plan = client.post("/api/v1/plans", json=plan_body(), headers=clinics.a).get_json()
    for method, path in [("get", ""), ("patch", ""), ("get", "/handout"),
                         ("get", "/handout.html")]:
        kwargs = {"json": {"notes": "x"}} if method == "patch" else {}
        resp = getattr(client, method)(f"/api/v1/plans/{plan['id']}{path}", headers=clinics.b,
                                       **kwargs)
        assert resp.status_code == 404, (method, path)
        assert resp.mimetype == "application/problem+json"


def test_problem_bodies_never_echo_the_patient_name(client, clinics):
    resp = client.post("/api/v1/plans", headers=clinics.a, json=plan_body(
        patient={"display_name": "Canary Zyxwv"}, dose_changes={"glute_bridge": {"reps": 999}}))
    assert resp.status_code == 422
    assert "Canary" not in resp.get_data(as_text=True)


def test_blank_clearance_note_does_not_clear_a_red_flag(app, client, clinics):
    from service.models import Plan

    flag = client.get(f"/api/v1/templates/{TEMPLATE}", headers=clinics.a).get_json()[
        "red_flags"][0]
    resp = client.post("/api/v1/plans", headers=clinics.a, json=plan_body(
        screening={"red_flags": [flag["id"]]}, red_flag_clearance={"note": "          "}))
    assert resp.status_code == 422
    assert resp.get_json()["errors"][0]["field"] == "red_flag_clearance.note"
    assert count(app, Plan) == 0
