"""The handout's safety-netting and guidance data, and the clinic's way to be reached."""

from __future__ import annotations

import copy

import pytest
import yaml

from plans.errors import ClinicUnreachable
from plans.guide import GUIDE_FILE, GuideError, default_guide, parse_guide, require_reachable
from plans.model import ClinicInfo, Tier


def _raw() -> dict:
    return yaml.safe_load(GUIDE_FILE.read_text(encoding="utf-8"))


def test_shipped_guide_has_three_tiers_each_opening_with_what_to_do():
    """REFERENCES.md section B: emergency, same day, slow down, in that order; the same-day
    tier says "Stop the exercises" and names the out-of-hours help."""
    guide, notes = default_guide()
    assert [t.tier for t in guide.safety_net] == list(Tier)
    emergency, same_day, slow = guide.safety_net
    assert "emergency department" in emergency.heading.lower()
    assert same_day.action.startswith("Stop the exercises") and "out-of-hours" in same_day.action
    assert slow.action.startswith("Make the exercises easier")
    assert all(t.signs for t in guide.safety_net)
    assert {"Added by your clinician", "Desk-day moves"} <= set(notes)


def test_no_sign_is_history_the_patient_already_has():
    """Safety-netting is about new or worsening symptoms: no "history of", no "in the past",
    no cancer, steroids or other screening risk factors."""
    guide, _ = default_guide()
    for tier in guide.safety_net:
        for sign in tier.signs:
            lowered = sign.lower()
            for word in ("history", "in the past", "cancer", "steroid", "osteoporosis",
                         "over 50", "drug"):
                assert word not in lowered, sign


@pytest.mark.parametrize("break_it", ["drop_tier", "swap_tiers", "empty_signs", "no_action"])
def test_an_incomplete_guide_file_is_refused(break_it):
    raw = copy.deepcopy(_raw())
    if break_it == "drop_tier":
        raw["safety_net"].pop(1)
    elif break_it == "swap_tiers":
        raw["safety_net"][0], raw["safety_net"][1] = raw["safety_net"][1], raw["safety_net"][0]
    elif break_it == "empty_signs":
        raw["safety_net"][2]["signs"] = []
    else:
        raw["safety_net"][0]["action"] = "  "
    with pytest.raises(GuideError):
        parse_guide(raw)


@pytest.mark.parametrize(("contact", "out_of_hours", "field"), [
    ("riverside.example", "Call NHS 111", "clinic.contact"),
    ("Call 12 34", "Call NHS 111", "clinic.contact"),
    ("Phone 555-0100", "", "clinic.out_of_hours"),
    ("Phone 555-0100", " \t", "clinic.out_of_hours"),
])
def test_a_clinic_without_phone_or_out_of_hours_route_cannot_have_a_handout(
        contact, out_of_hours, field):
    with pytest.raises(ClinicUnreachable) as caught:
        require_reachable(ClinicInfo("Clinic", contact, "999", out_of_hours=out_of_hours))
    assert caught.value.field == field
    assert "Clinic profile" in str(caught.value)


def test_a_clinic_with_phone_and_route_is_reachable():
    for contact in ("Phone 555-0100", "0161 496 0000 · clinic.example", "+44 (0)20 7946 0000"):
        require_reachable(ClinicInfo("Clinic", contact, "999", out_of_hours="Call NHS 111"))
