"""Screening through the API: one 422 with every problem, structured cauda equina rule-out,
old request shapes still accepted, and the preview that stores nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

RULE_OUT = {"assessed_by": "Dr R. Shah, spinal team", "assessed_on": "2026-11-20",
            "finding": "MRI last month showed no compression; saddle sensation normal."}


def body(**overrides: object) -> dict:
    out = {"template_id": "core_routine", "patient": {"display_name": "Ana P."}}
    out.update(overrides)
    return out


def count(app, model) -> int:
    from service.extensions import db

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def fields_of(resp) -> set[str]:
    return {e["field"] for e in resp.get_json()["errors"]}


def test_one_422_lists_field_screening_and_dose_problems_together(app, client, clinics):
    from service.models import Plan

    resp = client.post("/api/v1/plans", headers=clinics.a, json=body(
        patient={"display_name": ""},
        screening={"red_flags": ["saddle_numbness", "night_pain"]},
        dose_changes={"glute_bridge": {"reps": 40}}))
    assert resp.status_code == 422
    assert {"patient.display_name", "screening.cauda_equina_rule_out",
            "screening.same_day_review", "dose_changes.glute_bridge.reps"} <= fields_of(resp)
    assert count(app, Plan) == 0


@pytest.mark.parametrize("finding", ["ok", "   ", "\u200b\u200b\u200b\u200b\u200b", "...!!!",
                                     "ok ok ok ok ok", "a b c d e f"])
def test_cauda_equina_is_never_cleared_without_meaningful_words(client, clinics, finding):
    resp = client.post("/api/v1/plans", headers=clinics.a, json=body(
        screening={"red_flags": ["bladder_change"],
                   "cauda_equina_rule_out": {**RULE_OUT, "finding": finding}}))
    assert resp.status_code == 422
    assert "screening.cauda_equina_rule_out.finding" in fields_of(resp)


def test_cauda_equina_old_clearance_note_alone_does_not_clear_it(client, clinics):
    resp = client.post("/api/v1/plans", headers=clinics.a, json=body(
        screening={"red_flags": ["saddle_numbness"]},
        red_flag_clearance={"note": "Examined today; saddle sensation normal."}))
    assert resp.status_code == 422
    assert "screening.cauda_equina_rule_out" in fields_of(resp)


def test_cauda_equina_rule_out_dated_in_the_future_is_refused(client, clinics):
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    resp = client.post("/api/v1/plans", headers=clinics.a, json=body(
        screening={"red_flags": ["saddle_numbness"],
                   "cauda_equina_rule_out": {**RULE_OUT, "assessed_on": tomorrow}}))
    assert resp.status_code == 422
    assert fields_of(resp) == {"screening.cauda_equina_rule_out.assessed_on"}


def test_structured_rule_out_makes_the_plan_and_is_kept(client, clinics):
    resp = client.post("/api/v1/plans", headers=clinics.a, json=body(
        screening={"red_flags": ["saddle_numbness"], "cauda_equina_rule_out": RULE_OUT}))
    assert resp.status_code == 201, resp.get_json()


def test_old_clearance_note_still_explains_same_day_signs(client, clinics):
    resp = client.post("/api/v1/plans", headers=clinics.a, json=body(
        screening={"red_flags": ["night_pain"]},
        red_flag_clearance={"note": "Night pain is from the shoulder, reviewed by GP."}))
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["red_flag_clearance"]["note"].startswith("Night pain")


def test_risk_factors_need_concern_and_decision(client, clinics):
    resp = client.post("/api/v1/plans", headers=clinics.a, json=body(
        screening={"red_flags": ["cancer_history"]}))
    assert resp.status_code == 422 and fields_of(resp) == {"screening.risk_factor_review"}
    ok = client.post("/api/v1/plans", headers=clinics.a, json=body(
        screening={"red_flags": ["cancer_history"], "risk_factor_review": {
            "concern": "low", "decision": "proceed_with_safety_netting"}}))
    assert ok.status_code == 201, ok.get_json()


def test_slow_down_signs_never_block(client, clinics):
    resp = client.post("/api/v1/plans", headers=clinics.a, json=body(
        screening={"red_flags": ["pain_spikes_after_stretching", "no_improvement"]}))
    assert resp.status_code == 201, resp.get_json()


def test_nerve_sign_on_the_red_flag_list_swaps_like_the_nerve_checkbox(client, clinics):
    resp = client.post("/api/v1/plans", headers=clinics.a, json=body(
        screening={"red_flags": ["nerve_feelings_in_stretch"]}))
    assert resp.status_code == 201, resp.get_json()
    ids = {e["id"] for e in resp.get_json()["exercises"]}
    assert "strap_hamstring_stretch" not in ids and "sliding_hamstring_floss" not in ids
    assert {"strap_hamstring_stretch_bent_knee", "sliding_hamstring_floss_nerve"} <= ids


def test_progression_refuses_high_irritability_naming_why(client, clinics):
    resp = client.post("/api/v1/plans", headers=clinics.a, json=body(
        template_id="progression", screening={"irritability": "high"}))
    assert resp.status_code == 422
    err = resp.get_json()["errors"][0]
    assert err["field"] == "template_id" and "gentle start" in err["message"]


def test_plan_with_no_exercises_is_refused(client, clinics):
    resp = client.post("/api/v1/plans", headers=clinics.a, json=body(
        template_id="desk_day",
        remove_exercises=["seated_knee_extension", "stool_forward_fold", "short_walk"]))
    assert resp.status_code == 422 and "remove_exercises" in fields_of(resp)


def test_preview_shows_the_swap_and_its_range_and_stores_nothing(app, client, clinics):
    from service.models import Plan

    resp = client.post("/api/v1/plans/preview", headers=clinics.a, json=body(
        screening={"nerve_symptoms": True}, dose_changes={"strap_hamstring_stretch":
                                                          {"hold_seconds": 40}}))
    assert resp.status_code == 200, resp.get_json()
    data = resp.get_json()
    swapped = next(e for e in data["exercises"] if e["replaced"] == "strap_hamstring_stretch")
    assert swapped["id"] == "strap_hamstring_stretch_bent_knee"
    assert swapped["dose_range"]["hold_seconds"] == [15, 30] and swapped["adapted_because"]
    assert data["ok"] is False
    assert data["problems"] == [{"field": "dose_changes.strap_hamstring_stretch.hold_seconds",
                                 "message": data["problems"][0]["message"],
                                 "allowed": [15, 30]}]
    assert count(app, Plan) == 0


def test_preview_of_a_clean_body_is_ok(client, clinics):
    resp = client.post("/api/v1/plans/preview", headers=clinics.a, json=body())
    assert resp.status_code == 200 and resp.get_json()["ok"] is True


def test_a_plan_cleared_under_the_first_model_keeps_its_revision_and_a_new_one_gets_the_new_rules(
        app, client, clinics):
    """A plan stored before the screening model (cauda equina flag with a free-text note):
    its revision is served unchanged, and a PATCH is checked against the new rules."""
    from service.extensions import db
    from service.models import PlanRevision

    made = client.post("/api/v1/plans", headers=clinics.a, json=body(
        screening={"red_flags": ["saddle_numbness"], "cauda_equina_rule_out": RULE_OUT}))
    assert made.status_code == 201
    plan_id = made.get_json()["id"]
    with app.app_context():
        rev = db.session.scalar(select(PlanRevision))
        old = dict(rev.request)
        old["screening"] = {k: v for k, v in old["screening"].items()
                            if k in ("red_flags", "nerve_symptoms", "irritability",
                                     "desk_bound")}
        old["red_flag_clearance"] = {"note": "Examined today; saddle sensation normal."}
        rev.request = old
        snapshot = rev.snapshot
        db.session.commit()
    assert client.get(f"/api/v1/plans/{plan_id}", headers=clinics.a).status_code == 200
    resp = client.patch(f"/api/v1/plans/{plan_id}", headers=clinics.a, json={"notes": "Week 2"})
    assert resp.status_code == 422
    assert "screening.cauda_equina_rule_out" in fields_of(resp)
    with app.app_context():
        [rev] = db.session.scalars(select(PlanRevision)).all()
        assert rev.snapshot == snapshot
    resp = client.patch(f"/api/v1/plans/{plan_id}", headers=clinics.a, json={
        "notes": "Week 2", "screening": {"cauda_equina_rule_out": RULE_OUT}})
    assert resp.status_code == 200 and resp.get_json()["revision"] == 2


def test_suspected_tendon_injury_leaves_out_hamstring_moves_and_says_so(client, clinics):
    from plans.catalogue import default_catalogue

    refused = client.post("/api/v1/plans", headers=clinics.a, json=body(
        screening={"red_flags": ["hamstring_pop"]}))
    assert refused.status_code == 422 and fields_of(refused) == {"screening.tendon_referral"}
    resp = client.post("/api/v1/plans", headers=clinics.a, json=body(
        screening={"red_flags": ["hamstring_pop"], "tendon_referral": True}))
    assert resp.status_code == 201, resp.get_json()
    data = resp.get_json()
    exercises = default_catalogue().exercises
    assert not any(exercises[e["id"]].hamstring_load for e in data["exercises"])
    assert {x["id"] for x in data["left_out"]} >= {"strap_hamstring_stretch", "glute_bridge"}
    assert all("tendon" in x["why"] for x in data["left_out"])


def test_a_patch_with_an_invalid_field_also_lists_the_screening_problems_it_makes(
        client, clinics):
    made = client.post("/api/v1/plans", headers=clinics.a, json=body(
        screening={"red_flags": ["saddle_numbness"], "cauda_equina_rule_out": RULE_OUT}))
    assert made.status_code == 201
    resp = client.patch(f"/api/v1/plans/{made.get_json()['id']}", headers=clinics.a, json={
        "screening": {"irritability": "extreme", "cauda_equina_rule_out": None}})
    assert resp.status_code == 422
    assert {"screening.irritability", "screening.cauda_equina_rule_out"} <= fields_of(resp)
