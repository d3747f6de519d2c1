"""Properties of the red-flag rules: every flag alone and in combination, cleared or not.

SCREENING RULES: this file and the marked part of plan_strategies.py are the ones to re-target
when the screening model changes (plans/rules.py, docs/clinical-rules.md).
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from plan_strategies import CAT, FLAGS, NOTE, refusal, valid_requests

from plans.assembly import assemble_plan
from plans.catalogue import TIER_ORDER
from plans.errors import EmptyClearance, RedFlagPresent, UnknownRedFlag
from plans.model import PlanRequest, RedFlagClearance, Screening

MANY = settings(max_examples=60, deadline=None)
TIER = {f.id: f.tier for f in CAT.red_flags}
flag_sets = st.frozensets(st.sampled_from(FLAGS), min_size=1, max_size=6)
blank_notes = st.text(alphabet=" \t\n\r\u00a0\u2003", max_size=5)


def by_urgency(flags) -> list[str]:
    return sorted(flags, key=lambda i: (TIER_ORDER.index(TIER[i]), i))


@pytest.mark.parametrize("flag", FLAGS)
def test_each_flag_alone_stops_the_plan_at_its_own_tier_until_cleared(flag):
    request = PlanRequest("core_routine", "P.Q.", Screening(red_flags=frozenset({flag})))
    (problem,) = refusal(request)
    assert type(problem) is RedFlagPresent
    assert (problem.field, problem.tier, problem.flags) == \
        ("screening.red_flags", TIER[flag].value, [flag])
    plan = assemble_plan(CAT, dataclasses.replace(request, clearance=RedFlagClearance(NOTE)))
    assert plan.red_flags_present == (flag,) and plan.clearance == RedFlagClearance(NOTE)


@MANY
@given(st.data())
def test_any_combination_of_flags_stops_the_plan_naming_the_most_urgent_tier_first(data):
    request = data.draw(valid_requests())
    flags = data.draw(flag_sets)
    (problem,) = refusal(dataclasses.replace(
        request, screening=dataclasses.replace(request.screening, red_flags=flags),
        clearance=None))
    assert type(problem) is RedFlagPresent
    assert problem.flags == by_urgency(flags)
    assert problem.tier == TIER[by_urgency(flags)[0]].value
    assert str(problem) == (
        f"red flags present ({problem.tier}): {', '.join(by_urgency(flags))}; the patient "
        "needs care before exercises, unless you record that you assessed and cleared them")


@MANY
@given(st.data())
def test_a_blank_clearance_note_clears_nothing(data):
    request = data.draw(valid_requests())
    flags = data.draw(flag_sets)
    (problem,) = refusal(dataclasses.replace(
        request, screening=dataclasses.replace(request.screening, red_flags=flags),
        clearance=RedFlagClearance(data.draw(blank_notes))))
    assert type(problem) is EmptyClearance
    assert problem.field == "clearance.note"


@MANY
@given(st.data())
def test_cleared_flags_are_recorded_in_urgency_order_with_the_clearance(data):
    request = data.draw(valid_requests())
    flags = data.draw(flag_sets)
    note = RedFlagClearance(data.draw(st.sampled_from([NOTE, " x ", "Seen.\nCleared."])))
    plan = assemble_plan(CAT, dataclasses.replace(
        request, screening=dataclasses.replace(request.screening, red_flags=flags),
        clearance=note))
    assert plan.red_flags_present == tuple(by_urgency(flags))
    assert plan.clearance == note
    # Clearing flags changes nothing else about the plan.
    plain = assemble_plan(CAT, dataclasses.replace(
        request, screening=dataclasses.replace(request.screening, red_flags=frozenset()),
        clearance=None))
    assert plan.exercises == plain.exercises


@MANY
@given(valid_requests(), st.sampled_from([NOTE, "", "  "]))
def test_no_clearance_is_stored_when_no_flag_is_present(request, note):
    request = dataclasses.replace(
        request, screening=dataclasses.replace(request.screening, red_flags=frozenset()),
        clearance=RedFlagClearance(note))
    plan = assemble_plan(CAT, request)
    assert plan.clearance is None and plan.red_flags_present == ()


@MANY
@given(st.data())
def test_an_unknown_flag_is_refused_by_id_even_beside_known_ones(data):
    request = data.draw(valid_requests())
    unknown = data.draw(st.sampled_from(["headache", "", "NIGHT_PAIN", "night pain"]))
    flags = data.draw(st.frozensets(st.sampled_from(FLAGS), max_size=3)) | {unknown}
    (problem,) = refusal(dataclasses.replace(
        request, screening=dataclasses.replace(request.screening, red_flags=flags),
        clearance=RedFlagClearance(NOTE)))
    assert type(problem) is UnknownRedFlag
    assert (problem.field, problem.flag_id) == ("screening.red_flags", unknown)
    assert str(problem) == f"unknown red flag {unknown!r}"
