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
