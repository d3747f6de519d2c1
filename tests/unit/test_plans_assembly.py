"""Plan assembly: the safety rules a clinician relies on, one example each."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from plans.assembly import REASONS, assemble_plan, resolve_plan
from plans.catalogue import default_catalogue
from plans.errors import (
    DoseOutOfRange,
    PlanError,
    PlanRefused,
    ScreeningIncomplete,
    TemplateUnsuited,
    UnknownExercise,
    UnknownRedFlag,
    UnknownTemplate,
)
from plans.model import Irritability, PlanRequest, RedFlagClearance, Screening, Tier

CORE = "core_routine"


class _Caught:
    value: Any = None


@contextlib.contextmanager
def raises_problem(kind: type[PlanError]) -> Iterator[_Caught]:
    """The request is refused, and one of its listed problems is a `kind`."""
    caught = _Caught()
    with pytest.raises(PlanRefused) as e:
        yield caught
    matches = [p for p in e.value.problems if isinstance(p, kind)]
    assert matches, e.value.problems
    caught.value = matches[0]


@pytest.fixture(scope="module")
def cat():
    return default_catalogue()


def plan(cat, **kw):
    return assemble_plan(cat, PlanRequest(template_id=kw.pop("template_id", CORE),
                                          patient_name="A.B.", **kw))


def ids(p):
    return [e.id for e in p.exercises]


def test_core_routine_has_warm_up_then_the_five_steps_in_order(cat):
    p = plan(cat)
    assert ids(p) == ["easy_walk_warm_up", "box_breath_hip_rolls", "sliding_hamstring_floss",
                      "strap_hamstring_stretch", "tall_kneel_hip_hinge", "glute_bridge"]
    assert all(e.dose_text and not e.adapted_because for e in p.exercises)
    assert p.template_hash == cat.template(CORE).content_hash and len(p.template_hash) == 64


def test_every_plan_carries_every_red_flag_in_tier_order(cat):
    p = plan(cat)
    assert p.red_flags == cat.red_flags
    tiers = [f.tier for f in p.red_flags]
    assert tiers == sorted(tiers, key=[Tier.EMERGENCY, Tier.SAME_DAY, Tier.SLOW_DOWN].index)
    assert set(tiers) == set(Tier)
    assert [g.tier for g in p.red_flag_tiers] == [Tier.EMERGENCY, Tier.SAME_DAY, Tier.SLOW_DOWN]
    assert all(g.heading and g.action for g in p.red_flag_tiers)


def test_unknown_template_is_refused_on_template_id(cat):
    with raises_problem(UnknownTemplate) as e:
        plan(cat, template_id="no_such_template")
    assert e.value.field == "template_id"


def test_present_findings_without_their_records_list_every_missing_record_at_once(cat):
    with pytest.raises(PlanRefused) as e:
        plan(cat, screening=Screening(red_flags=frozenset({"night_pain", "saddle_numbness"})))
    assert [(p.field, p.findings) for p in e.value.problems] == [
        ("screening.cauda_equina_rule_out", ["saddle_numbness"]),
        ("screening.same_day_review", ["night_pain"])]


def test_cleared_red_flag_is_recorded_on_the_plan_with_the_clearance(cat):
    note = RedFlagClearance("Examined today; no deficit.")
    p = plan(cat, screening=Screening(red_flags=frozenset({"night_pain"})), clearance=note)
    assert p.red_flags_present == ("night_pain",) and p.clearance == note
    assert p.exercises


def test_blank_clearance_does_not_explain_a_same_day_sign(cat):
    with raises_problem(ScreeningIncomplete) as e:
        plan(cat, screening=Screening(red_flags=frozenset({"night_pain"})),
             clearance=RedFlagClearance("   "))
    assert e.value.field == "screening.same_day_review.reason"


def test_unknown_red_flag_id_is_refused(cat):
    with raises_problem(UnknownRedFlag) as e:
        plan(cat, screening=Screening(red_flags=frozenset({"headache"})))
    assert e.value.flag_id == "headache" and e.value.field == "screening.red_flags"


def test_nerve_symptoms_swap_the_straight_knee_stretch_for_the_bent_knee_one(cat):
    p = plan(cat, screening=Screening(nerve_symptoms=True))
    assert "strap_hamstring_stretch" not in ids(p)
    bent = next(e for e in p.exercises if e.id == "strap_hamstring_stretch_bent_knee")
    assert bent.adapted_because.startswith(REASONS["nerve_symptoms"])
    assert bent.replaced == "strap_hamstring_stretch"
    assert bent.phase == "Five-step routine"


def test_high_irritability_gives_the_lowest_hold_and_reps_of_each_range(cat):
    p = plan(cat, screening=Screening(irritability=Irritability.HIGH))
    for e in p.exercises:
        for name in ("hold_seconds", "reps", "sets", "duration_seconds"):
            if name in e.dose_range.bounds:
                assert getattr(e.dose, name) == e.dose_range.bounds[name][0], (e.id, name)
    bridge = next(e for e in p.exercises if e.id == "glute_bridge")
    assert "short" in bridge.adapted_because
    assert bridge.dose.days_per_week == cat.exercises["glute_bridge"].dose.days_per_week


def test_moderate_irritability_changes_nothing(cat):
    assert plan(cat, screening=Screening(irritability=Irritability.MODERATE)).exercises == \
        plan(cat).exercises


def test_dose_change_inside_the_range_is_applied_and_spelled_out(cat):
    p = plan(cat, dose_changes={"strap_hamstring_stretch": {"hold_seconds": 45, "reps": 3}})
    e = next(e for e in p.exercises if e.id == "strap_hamstring_stretch")
    assert (e.dose.hold_seconds, e.dose.reps) == (45, 3)
    assert e.dose_text.startswith("Hold for 45 seconds. Do it 3 times on each side")


@pytest.mark.parametrize("change, field", [
    ({"hold_seconds": 600}, "dose_changes.strap_hamstring_stretch.hold_seconds"),
    ({"reps": 0}, "dose_changes.strap_hamstring_stretch.reps"),
    ({"duration_seconds": 60}, "dose_changes.strap_hamstring_stretch.duration_seconds"),
])
def test_dose_change_outside_the_range_names_exercise_and_field(cat, change, field):
    with raises_problem(DoseOutOfRange) as e:
        plan(cat, dose_changes={"strap_hamstring_stretch": change})
    assert e.value.field == field and e.value.exercise_id == "strap_hamstring_stretch"


def test_dose_change_for_a_swapped_exercise_is_checked_against_the_replacement(cat):
    """The bent-knee stretch allows holds up to 30 s, so 45 s is refused once it is swapped in."""
    with raises_problem(DoseOutOfRange) as e:
        plan(cat, screening=Screening(nerve_symptoms=True),
             dose_changes={"strap_hamstring_stretch": {"hold_seconds": 45}})
    assert e.value.high == 30


def test_adding_an_exercise_outside_the_optional_set_is_refused(cat):
    with raises_problem(UnknownExercise) as e:
        plan(cat, add_exercises=("weighted_hip_hinge",))
    assert e.value.field == "add_exercises"


def test_added_optional_exercise_lands_in_its_own_phase(cat):
    p = plan(cat, add_exercises=("dead_bug",))
    assert p.exercises[-1].id == "dead_bug"
    assert p.exercises[-1].phase == "Added by your clinician"


def test_removing_an_exercise_not_in_the_template_is_refused(cat):
    with raises_problem(UnknownExercise) as e:
        plan(cat, remove_exercises=("dead_bug",))
    assert e.value.field == "remove_exercises"


def test_dose_change_for_an_exercise_not_in_the_plan_is_refused(cat):
    with raises_problem(UnknownExercise) as e:
        plan(cat, dose_changes={"not_an_exercise": {"reps": 3}})
    assert e.value.field == "dose_changes.not_an_exercise"


def test_desk_bound_adds_the_desk_day_moves_the_template_allows(cat):
    p = plan(cat, screening=Screening(desk_bound=True))
    desk = [e.id for e in p.exercises if e.phase == "Desk-day moves"]
    assert desk == ["stool_forward_fold", "seated_knee_extension"]


def test_every_plan_error_names_a_field(cat):
    for kw in ({"template_id": "x"}, {"add_exercises": ("x",)}):
        with pytest.raises(PlanError) as e:
            plan(cat, **kw)
        assert e.value.field


def test_clinician_dose_choice_wins_over_the_irritability_rule_and_drops_its_reason(cat):
    p = plan(cat, screening=Screening(irritability=Irritability.HIGH),
             dose_changes={"glute_bridge": {"reps": 9}})
    bridge = next(e for e in p.exercises if e.id == "glute_bridge")
    assert bridge.dose.reps == 9 and bridge.adapted_because == ""


def test_desk_bound_with_nerve_symptoms_keeps_only_the_nerve_friendly_desk_move(cat):
    """The stool lean is a straight-knee hold; with nerve symptoms it becomes the seated knee
    straightening, which is already there, so it appears once."""
    p = plan(cat, screening=Screening(desk_bound=True, nerve_symptoms=True))
    assert [e.id for e in p.exercises if e.phase == "Desk-day moves"] == ["seated_knee_extension"]


def test_desk_bound_adds_only_what_the_gentle_start_template_offers(cat):
    p = plan(cat, template_id="gentle_start", screening=Screening(desk_bound=True))
    assert [e.id for e in p.exercises if e.phase == "Desk-day moves"] == ["seated_knee_extension"]


def test_desk_bound_changes_nothing_when_the_template_already_has_the_desk_moves(cat):
    assert plan(cat, template_id="desk_day", screening=Screening(desk_bound=True)).exercises == \
        plan(cat, template_id="desk_day").exercises


def test_high_irritability_leaves_out_the_weighted_hinge_and_swaps_standing_for_kneeling(cat):
    p, problems = resolve_plan(cat, PlanRequest(
        "progression", "A.B.", add_exercises=("weighted_hip_hinge",),
        screening=Screening(irritability=Irritability.HIGH)))
    # The progression template itself refuses a highly irritable back, naming why.
    assert [type(x) for x in problems] == [TemplateUnsuited]
    assert "weighted_hip_hinge" not in ids(p) and "standing_hip_hinge" not in ids(p)
    assert "weighted_hip_hinge" in {x.id for x in p.left_out}
    kneel = next(e for e in p.exercises if e.id == "tall_kneel_hip_hinge")
    assert kneel.adapted_because.startswith(REASONS["high_irritability"])


def test_swapped_exercise_takes_its_own_dose_not_the_template_dose_and_nerve_eases_it(cat):
    """progression holds the strap stretch 45 s; the bent-knee stretch only allows 30 s, and a
    nerve finding makes it short and few: the bottom of the replacement's own range."""
    p = plan(cat, template_id="progression", screening=Screening(nerve_symptoms=True))
    bent = next(e for e in p.exercises if e.id == "strap_hamstring_stretch_bent_knee")
    own = cat.exercises["strap_hamstring_stretch_bent_knee"]
    assert bent.dose.hold_seconds == own.dose_range.bounds["hold_seconds"][0]
    assert bent.dose.reps == own.dose_range.bounds["reps"][0]
    assert bent.dose.days_per_week == own.dose.days_per_week


def test_plan_is_pure_same_request_same_plan(cat):
    req = PlanRequest("core_routine", "A.B.", Screening(nerve_symptoms=True, desk_bound=True))
    assert assemble_plan(cat, req) == assemble_plan(cat, req)


def test_catalogue_red_flag_lookup_and_unknown_id(cat):
    assert cat.red_flag("night_pain").tier is Tier.SAME_DAY
    with pytest.raises(UnknownRedFlag):
        cat.red_flag("headache")


def test_only_approved_templates_are_offered_and_all_four_ship(cat):
    assert {t.id for t in cat.approved_templates()} == {
        "core_routine", "gentle_start", "desk_day", "progression"}
    assert all(t.approved for t in cat.approved_templates())


def test_every_bad_field_of_one_dose_change_is_listed_not_just_the_first(cat):
    """Fields are checked in name order; a field without a range or out of range must not stop
    the fields after it from being checked (and the good ones from being listed too)."""
    with pytest.raises(PlanRefused) as e:
        plan(cat, dose_changes={"glute_bridge": {"duration_seconds": 30, "hold_seconds": 5,
                                                 "reps": 99, "sets": 0}})
    assert [p.field for p in e.value.problems] == [
        "dose_changes.glute_bridge.duration_seconds", "dose_changes.glute_bridge.hold_seconds",
        "dose_changes.glute_bridge.reps", "dose_changes.glute_bridge.sets"]
    assert [(p.low, p.high) for p in e.value.problems] == [(None, None), (None, None), (5, 10),
                                                           (1, 2)]


def test_the_request_s_own_day_decides_what_is_in_the_future(cat):
    """A plan made (or re-checked) for an earlier day judges the rule-out date against that
    day, not the machine's clock."""
    from plans.model import CaudaEquinaRuleOut

    s = Screening(red_flags=frozenset({"saddle_numbness"}), cauda_equina_rule_out=(
        CaudaEquinaRuleOut("Dr R. Shah", "2026-06-01", "Saddle sensation normal and stable")))
    with pytest.raises(PlanRefused) as e:
        assemble_plan(cat, PlanRequest(CORE, "A.B.", s, today="2026-05-31"))
    assert [p.field for p in e.value.problems] == [
        "screening.cauda_equina_rule_out.assessed_on"]
    assert assemble_plan(cat, PlanRequest(CORE, "A.B.", s, today="2026-06-01")).exercises
