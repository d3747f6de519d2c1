"""Plans survive the JSON snapshot a plan revision stores, exactly."""

from __future__ import annotations

import dataclasses
import json

import pytest

from plans.assembly import assemble_plan
from plans.catalogue import default_catalogue
from plans.model import (
    CaudaEquinaRuleOut,
    ClinicInfo,
    HandoutSnapshot,
    Irritability,
    PlanRequest,
    RedFlagClearance,
    RiskFactorReview,
    SameDayReview,
    Screening,
)
from plans.snapshot import (
    plan_from_dict,
    plan_to_dict,
    screening_from_dict,
    screening_to_dict,
    snapshot_from_dict,
    snapshot_to_dict,
)

CAT = default_catalogue()

REQUESTS = [
    PlanRequest(t.id, "A.B.") for t in CAT.approved_templates()
] + [
    PlanRequest("core_routine", "C.D.",
                Screening(frozenset({"night_pain"}), True, Irritability.HIGH, True),
                dose_changes={"glute_bridge": {"reps": 7}}, add_exercises=("dead_bug",),
                notes="Ice after.",
                clearance=RedFlagClearance("Seen today, the night pain is from the shoulder.")),
]


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: r.template_id)
def test_plan_from_dict_of_plan_to_dict_is_the_same_plan(request_):
    p = assemble_plan(CAT, request_)
    assert plan_from_dict(plan_to_dict(p)) == p
    # and through real JSON text, as the database stores it
    assert plan_from_dict(json.loads(json.dumps(plan_to_dict(p)))) == p


def test_snapshot_stored_before_tier_headings_existed_still_loads():
    """Snapshots written before Plan.red_flag_tiers was added load with no tier headings."""
    d = plan_to_dict(assemble_plan(CAT, REQUESTS[0]))
    del d["red_flag_tiers"]
    assert plan_from_dict(d).red_flag_tiers == ()


def test_handout_snapshot_round_trips_through_json():
    p = assemble_plan(CAT, REQUESTS[-1])
    s = HandoutSnapshot("pln_1", 2, "2026-11-28", "Dr K", ClinicInfo("Clinic", "555", "999"), p)
    assert snapshot_from_dict(json.loads(json.dumps(snapshot_to_dict(s)))) == s
    s = HandoutSnapshot("pln_1", 2, "2026-11-28", "Dr K", ClinicInfo("Clinic", "555", "999"), p)
    assert snapshot_from_dict(json.loads(json.dumps(snapshot_to_dict(s)))) == s


def _snapshot(logo: str = "") -> HandoutSnapshot:
    p = assemble_plan(CAT, REQUESTS[-1])
    return HandoutSnapshot("pln_1", 2, "2026-11-28", "Dr K",
                           ClinicInfo("Clinic", "555", "999", logo_png_b64=logo), p)


def test_snapshot_with_a_clinic_logo_round_trips_with_the_logo_bytes():
    from pdf_fixtures import png_logo

    s = _snapshot(logo=png_logo())
    d = snapshot_to_dict(s)
    assert d["schema"] == 1
    assert d["clinic"] == {"name": "Clinic", "contact": "555", "emergency_number": "999",
                           "logo_png_b64": png_logo()}
    back = snapshot_from_dict(json.loads(json.dumps(d)))
    assert back == s and back.clinic.logo_png_b64 == png_logo()


def test_snapshot_dict_holds_exactly_these_keys():
    d = snapshot_to_dict(_snapshot())
    assert sorted(d) == ["clinic", "clinician", "created_on", "plan", "plan_id", "revision",
                         "schema"]
    assert (d["plan_id"], d["revision"], d["created_on"], d["clinician"]) == \
        ("pln_1", 2, "2026-11-28", "Dr K")
    assert d["plan"]["screening"] == {"red_flags": ["night_pain"], "nerve_symptoms": True,
                                      "irritability": "high", "desk_bound": True}
    assert d["plan"]["clearance"] == {"note": "Seen today, the night pain is from the shoulder."}
    assert d["plan"]["notes"] == "Ice after."


def test_screening_red_flags_are_stored_sorted():
    from plans.snapshot import screening_to_dict

    s = Screening(frozenset({"night_pain", "fever", "saddle_numbness"}))
    assert screening_to_dict(s)["red_flags"] == ["fever", "night_pain", "saddle_numbness"]


def test_old_snapshot_missing_every_later_key_loads_with_the_documented_defaults():
    """Keys added after the first snapshots were stored: the clinic logo, each exercise's
    adapted_because, the plan's notes and tier headings, and screening answers."""
    d = snapshot_to_dict(_snapshot(logo="abc"))
    del d["clinic"]["logo_png_b64"]
    for e in d["plan"]["exercises"]:
        del e["adapted_because"]
        del e["replaced"]
    for key in ("notes", "red_flag_tiers", "clearance", "left_out", "phase_notes", "guide"):
        d["plan"].pop(key, None)
    d["plan"]["screening"] = {}
    s = snapshot_from_dict(d)
    assert s.clinic == ClinicInfo("Clinic", "555", "999", "")
    assert all(e.adapted_because == "" for e in s.plan.exercises)
    assert all(e.replaced == "" for e in s.plan.exercises)
    assert s.plan.notes == "" and s.plan.red_flag_tiers == () and s.plan.clearance is None
    assert (s.plan.left_out, s.plan.phase_notes, s.plan.guide) == ((), (), None)
    assert s.plan.screening == Screening(frozenset(), False, Irritability.LOW, False)
    # Everything else came through untouched.
    assert [e.id for e in s.plan.exercises] == [e.id for e in _snapshot().plan.exercises]


def test_cleared_plan_keeps_its_clearance_and_an_uncleared_one_stores_none():
    cleared = assemble_plan(CAT, REQUESTS[-1])
    assert plan_from_dict(plan_to_dict(cleared)).clearance == RedFlagClearance(
        "Seen today, the night pain is from the shoulder.")
    plain = assemble_plan(CAT, REQUESTS[0])
    assert plan_to_dict(plain)["clearance"] is None
    assert plan_from_dict(plan_to_dict(plain)).clearance is None


@pytest.mark.parametrize("schema", [None, 0, 2, "1"])
def test_snapshot_of_another_schema_is_refused_by_name(schema):
    d = snapshot_to_dict(_snapshot())
    if schema is None:
        del d["schema"]
    else:
        d["schema"] = schema
    with pytest.raises(ValueError) as e:
        snapshot_from_dict(d)
    assert str(e.value) == f"unsupported snapshot schema {schema!r}"


RECORDS = Screening(
    frozenset({"saddle_numbness", "osteoporosis", "weight_loss", "hamstring_pop"}),
    cauda_equina_rule_out=CaudaEquinaRuleOut("Dr R. Shah", "2026-12-01",
                                             "Saddle sensation normal, stable, investigated"),
    risk_factor_review=RiskFactorReview("moderate", "investigate", "Bloods ordered."),
    same_day_review=SameDayReview("explained", "Weight loss is a planned diet"),
    tendon_referral=True)


def test_screening_records_are_stored_by_name_and_come_back_the_same():
    d = screening_to_dict(RECORDS)
    assert d == {
        "red_flags": ["hamstring_pop", "osteoporosis", "saddle_numbness", "weight_loss"],
        "nerve_symptoms": False, "irritability": "low", "desk_bound": False,
        "cauda_equina_rule_out": {"assessed_by": "Dr R. Shah", "assessed_on": "2026-12-01",
                                  "finding": "Saddle sensation normal, stable, investigated"},
        "risk_factor_review": {"concern": "moderate", "decision": "investigate",
                               "note": "Bloods ordered."},
        "same_day_review": {"action": "explained", "reason": "Weight loss is a planned diet"},
        "tendon_referral": True,
    }
    assert screening_from_dict(json.loads(json.dumps(d))) == RECORDS


def test_a_first_model_screening_keeps_exactly_its_old_dict():
    s = Screening(frozenset({"night_pain"}), True, Irritability.HIGH, True)
    assert screening_to_dict(s) == {"red_flags": ["night_pain"], "nerve_symptoms": True,
                                    "irritability": "high", "desk_bound": True}
    assert screening_from_dict(screening_to_dict(s)) == s


def test_records_with_missing_or_null_parts_load_as_empty_text():
    d = {"red_flags": ["saddle_numbness"], "cauda_equina_rule_out": {"assessed_by": None},
         "risk_factor_review": {"decision": "refer"}, "same_day_review": {"action": "referred"}}
    # and the other way round: each part missing on its own
    other = screening_from_dict({"risk_factor_review": {"concern": "low"},
                                 "same_day_review": {"reason": "from the shoulder"}})
    assert other.risk_factor_review == RiskFactorReview("low", "", "")
    assert other.same_day_review == SameDayReview("", "from the shoulder")
    s = screening_from_dict(d)
    assert s.cauda_equina_rule_out == CaudaEquinaRuleOut("", "", "")
    assert s.risk_factor_review == RiskFactorReview("", "refer", "")
    assert s.same_day_review == SameDayReview("referred", "")
    assert (s.tendon_referral, s.nerve_symptoms, s.desk_bound) == (False, False, False)
    assert s.irritability is Irritability.LOW
    assert screening_from_dict({"nerve_symptoms": 1, "desk_bound": 1, "tendon_referral": 1,
                                "irritability": "moderate"}) == Screening(
        frozenset(), True, Irritability.MODERATE, True, tendon_referral=True)


def test_a_plan_with_left_out_exercises_swaps_phase_notes_and_a_guide_round_trips():
    p = assemble_plan(CAT, PlanRequest("core_routine", "E.F.", RECORDS, today="2026-12-03",
                                       add_exercises=("dead_bug",)))
    assert p.left_out and p.phase_notes and p.guide is not None
    d = plan_to_dict(p)
    assert d["left_out"] == [{"id": x.id, "name": x.name, "why": x.why} for x in p.left_out]
    assert d["phase_notes"] == [{"name": n.name, "note": n.note} for n in p.phase_notes]
    assert d["guide"]["pain_rule"] == p.guide.pain_rule
    assert [t["tier"] for t in d["guide"]["safety_net"]] == [t.tier.value
                                                             for t in p.guide.safety_net]
    assert plan_from_dict(json.loads(json.dumps(d))) == p
    nerve = assemble_plan(CAT, PlanRequest("core_routine", "E.F.", Screening(nerve_symptoms=True)))
    swapped = [e for e in plan_to_dict(nerve)["exercises"] if e["replaced"]]
    assert swapped and plan_from_dict(plan_to_dict(nerve)) == nerve


def test_a_plan_without_phase_notes_or_guide_writes_neither_key():
    p = dataclasses.replace(assemble_plan(CAT, REQUESTS[0]), phase_notes=(), guide=None)
    d = plan_to_dict(p)
    assert "phase_notes" not in d and "guide" not in d
    assert plan_from_dict(d) == p


def test_out_of_hours_is_stored_only_when_set():
    s = dataclasses.replace(_snapshot(), clinic=ClinicInfo("Clinic", "555", "999",
                                                           out_of_hours="Call 111"))
    d = snapshot_to_dict(s)
    assert d["clinic"]["out_of_hours"] == "Call 111"
    assert snapshot_from_dict(json.loads(json.dumps(d))) == s
    assert "out_of_hours" not in snapshot_to_dict(_snapshot())["clinic"]
