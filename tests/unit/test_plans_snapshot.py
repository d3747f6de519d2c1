"""Plans survive the JSON snapshot a plan revision stores, exactly."""

from __future__ import annotations

import json

import pytest

from plans.assembly import assemble_plan
from plans.catalogue import default_catalogue
from plans.model import (
    ClinicInfo,
    HandoutSnapshot,
    Irritability,
    PlanRequest,
    RedFlagClearance,
    Screening,
)
from plans.snapshot import plan_from_dict, plan_to_dict, snapshot_from_dict, snapshot_to_dict

CAT = default_catalogue()

REQUESTS = [
    PlanRequest(t.id, "A.B.") for t in CAT.approved_templates()
] + [
    PlanRequest("core_routine", "C.D.",
                Screening(frozenset({"night_pain"}), True, Irritability.HIGH, True),
                dose_changes={"glute_bridge": {"reps": 7}}, add_exercises=("dead_bug",),
                notes="Ice after.", clearance=RedFlagClearance("Seen today, cleared.")),
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
    assert d["plan"]["clearance"] == {"note": "Seen today, cleared."}
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
    for key in ("notes", "red_flag_tiers", "clearance"):
        del d["plan"][key]
    d["plan"]["screening"] = {}
    s = snapshot_from_dict(d)
    assert s.clinic == ClinicInfo("Clinic", "555", "999", "")
    assert all(e.adapted_because == "" for e in s.plan.exercises)
    assert s.plan.notes == "" and s.plan.red_flag_tiers == () and s.plan.clearance is None
    assert s.plan.screening == Screening(frozenset(), False, Irritability.LOW, False)
    # Everything else came through untouched.
    assert [e.id for e in s.plan.exercises] == [e.id for e in _snapshot().plan.exercises]


def test_cleared_plan_keeps_its_clearance_and_an_uncleared_one_stores_none():
    cleared = assemble_plan(CAT, REQUESTS[-1])
    assert plan_from_dict(plan_to_dict(cleared)).clearance == RedFlagClearance(
        "Seen today, cleared.")
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
