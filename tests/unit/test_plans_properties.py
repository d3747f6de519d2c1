"""Properties of assemble_plan over generated requests.

Valid requests are valid by construction (plan_strategies.valid_requests) and every one must
build a plan: no property here swallows a plan error. Each kind of invalid request has its own
strategy and must be refused with exactly one problem, of the right kind, on the right field.
The screening rules, finding by finding, are in test_plans_rule_properties.py.
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from plan_strategies import (
    CAT,
    EASED_FIELDS,
    HOW_OFTEN,
    TEMPLATES,
    active_answers,
    eases,
    examples,
    expected_exercises,
    expected_outcome,
    in_phases,
    nerve_on,
    present,
    refusal,
    screenings,
    valid_dose_changes,
    valid_requests,
)

from plans import assembly, rules
from plans.assembly import (
    ADDED_PHASE,
    DESK_DAY_EXERCISES,
    DESK_PHASE,
    REASONS,
    assemble_plan,
    resolve_plan,
)
from plans.dosage import dose_text
from plans.errors import DoseOutOfRange, UnknownExercise, UnknownTemplate
from plans.guide import default_guide
from plans.model import DOSE_FIELDS, Irritability, PlanRequest, Screening, Tier
from plans.snapshot import plan_from_dict, plan_to_dict

MANY = examples(40, under_gate=12)
FEW = examples(20, under_gate=6)

EASED_REASONS = (REASONS["eased_dose"], REASONS["nerve_eased_dose"])
# What the clinician reads for an exercise a rule left out (exact words: plans/rules.py).
LEFT_OUT_WHY = {
    "nerve_symptoms": "nerve-related finding: no nerve-friendly version of this straight-knee "
                      "or nerve-tensioning move",
    "high_irritability": "high irritability: left out until the back settles",
    "hamstring_tendon": "suspected hamstring tendon injury: no hamstring stretching or loading",
}

no_answers = screenings.map(lambda s: dataclasses.replace(
    s, red_flags=s.red_flags - {"hamstring_pop"}, nerve_symptoms=False,
    irritability=Irritability.LOW)).filter(lambda s: not active_answers(s))
eased = screenings.filter(eases)
not_eased = screenings.filter(lambda s: not eases(s))
with_answers = screenings.filter(lambda s: active_answers(s))


def reasons_of(e) -> list[str]:
    """The reasons in adapted_because, which joins them with one space."""
    known = [*REASONS.values()]
    out, rest = [], e.adapted_because
    while rest:
        match = next(r for r in known if rest.startswith(r))
        out.append(match)
        rest = rest[len(match):].removeprefix(" ")
    return out


def swap_chain(ex_id: str) -> set[str]:
    out = {ex_id}
    for target in CAT.exercises[ex_id].swaps.values():
        out |= swap_chain(target)
    return out


def build(request):
    return assemble_plan(CAT, request)


# ---- Valid requests build, with the exercises and doses the rules say ----------------------

@MANY
@given(valid_requests())
def test_every_valid_request_builds_the_plan_the_rules_describe(request):
    plan = build(request)
    want = expected_exercises(request)
    assert [(e.id, e.phase) for e in plan.exercises] == [(w.id, w.phase) for w in want]
    assert [e.dose for e in plan.exercises] == [w.dose for w in want]
    assert [e.adapted_because for e in plan.exercises] == [" ".join(w.reasons) for w in want]
    assert [e.replaced for e in plan.exercises] == [w.replaced for w in want]
    assert [e.dose_text for e in plan.exercises] == [dose_text(w.dose) for w in want]
    assert [x.id for x in plan.left_out] == [i for i, _ in expected_outcome(request).left_out]
    assert plan.red_flags_present == present(request.screening)
    # The clearance note is stored only beside a finding present (never alone).
    assert plan.clearance == (request.clearance if plan.red_flags_present else None)
    assert assembly.active_answers(CAT, request.screening) == tuple(
        active_answers(request.screening))
    assert rules.effects(CAT.screening, request.screening).ease_dose is eases(request.screening)
    assert plan.guide == default_guide()[0]  # every new handout carries today's guidance
    # One note per phase that holds an exercise, in plan order; the template's own note first.
    notes = {p.name: p.note for p in CAT.template(request.template_id).phases}
    assert [n.name for n in plan.phase_notes] == list(dict.fromkeys(e.phase
                                                                    for e in plan.exercises))
    assert all(n.note == notes[n.name] for n in plan.phase_notes if notes.get(n.name))
    t = CAT.template(request.template_id)
    assert (plan.template_id, plan.template_version, plan.template_hash, plan.title,
            plan.summary) == (t.id, t.version, t.content_hash, t.title, t.summary)
    assert (plan.patient_name, plan.notes, plan.screening) == \
        (request.patient_name, request.notes, request.screening)
    assert plan.red_flags == CAT.red_flags and {f.tier for f in plan.red_flags} == set(Tier)
    assert [g.tier for g in plan.red_flag_tiers] == [Tier.EMERGENCY, Tier.SAME_DAY,
                                                     Tier.SLOW_DOWN]
    assert plan.sources == tuple(CAT.sources[s] for s in t.sources)
    assert (plan.habit_anchor, plan.tracking_prompts, plan.faq) == \
        (t.habit_anchor, t.tracking_prompts, t.faq)
    for e in plan.exercises:
        ex = CAT.exercises[e.id]
        assert (e.name, e.purpose, e.steps, e.cues, e.feel, e.back_off, e.pose,
                e.illustration_alt, e.dose_range) == \
            (ex.name, ex.purpose, ex.steps, ex.cues, ex.feel, ex.back_off, ex.pose,
             ex.illustration_alt, ex.dose_range)


@MANY
@given(valid_requests(screening=not_eased))
def test_without_easing_each_dose_is_the_template_s_own_or_the_swap_s_own(request):
    """A template's own dose for an item (progression holds the strap stretch 45 s) is what the
    patient gets; an exercise swapped in brings its own default dose."""
    plan = build(request)
    for e, w in zip(plan.exercises, expected_exercises(request), strict=True):
        assert e.dose == w.base
        assert not set(EASED_REASONS) & set(reasons_of(e))


@MANY
@given(valid_requests(screening=eased))
def test_easing_goes_to_the_bottom_of_each_range_and_keeps_how_often(request):
    """A nerve-related sign (any source) or high irritability: holds, time, repeats and sets at
    the bottom of the exercise's own range; times a day, days a week and sides unchanged. The
    reason names the nerve only when irritability is not high too."""
    plan = build(request)
    s = request.screening
    why = (REASONS["nerve_eased_dose"] if nerve_on(s) and s.irritability is not Irritability.HIGH
           else REASONS["eased_dose"])
    for e, w in zip(plan.exercises, expected_exercises(request), strict=True):
        bounds = CAT.exercises[e.id].dose_range.bounds
        for f in EASED_FIELDS:
            if f in bounds and getattr(w.base, f) is not None:
                assert getattr(e.dose, f) == bounds[f][0], (e.id, f)
            else:
                assert getattr(e.dose, f) == getattr(w.base, f), (e.id, f)
        for f in (*HOW_OFTEN, "each_side"):
            assert getattr(e.dose, f) == getattr(w.base, f), (e.id, f)
        assert (why in reasons_of(e)) == (e.dose != w.base)
        assert set(EASED_REASONS) & set(reasons_of(e)) <= {why}


@MANY
@given(valid_requests(screening=with_answers))
def test_an_exercise_with_a_swap_is_replaced_not_dropped_and_the_plan_says_why(request):
    """Swap, not drop: a template exercise with a swap for an active answer is never simply
    gone. Its replacement is in the plan naming what it replaced, with the answer's reason, or
    (when a later rule rules the replacement out too) it is listed as left out."""
    plan = build(request)
    answers = active_answers(request.screening)
    t = CAT.template(request.template_id)
    ids = [e.id for e in plan.exercises]
    gone = {x.id for x in plan.left_out}
    for x in in_phases(t):
        if x in request.remove_exercises:
            continue
        ex = CAT.exercises[x]
        swapped = [a for a in answers if ex.swaps.get(a)]
        if not swapped or set(answers[:answers.index(swapped[0])]) & set(ex.excluded_when):
            continue
        a = swapped[0]
        assert x not in ids, f"{x} kept although {a} swaps it"
        target = ex.swaps[a]
        stand_in = [e for e in plan.exercises if e.replaced == x]
        if stand_in:
            assert stand_in[0].id in swap_chain(target)
            assert REASONS[a] in reasons_of(stand_in[0])
        else:
            assert x in gone or target in ids, f"{x} dropped instead of swapped for {target}"


@MANY
@given(valid_requests(screening=with_answers))
def test_nothing_left_is_ruled_out_by_an_answer_also_after_a_swap(request):
    """An exercise swapped in that an answer rules out is left out too: nothing in the plan is
    excluded_when an active answer, nerve-tensioning or a straight-knee long hold with a nerve
    sign, a straight-knee long hold with high irritability, or hamstring loading with a
    suspected tendon injury; and everything left out is listed with its reason."""
    answers = active_answers(request.screening)
    plan = build(request)
    for e in plan.exercises:
        ex = CAT.exercises[e.id]
        assert not set(answers) & set(ex.excluded_when), e.id
        if "nerve_symptoms" in answers:
            assert not (ex.straight_knee_long_hold or ex.nerve_tensioning), e.id
        if "high_irritability" in answers:
            assert not ex.straight_knee_long_hold, e.id
        if "hamstring_tendon" in answers:
            assert not ex.hamstring_load, e.id
    want = expected_outcome(request).left_out
    assert [(x.id, x.name, x.why) for x in plan.left_out] == [
        (i, CAT.exercises[i].name, LEFT_OUT_WHY[a]) for i, a in want]


@MANY
@given(valid_requests(screening=no_answers))
def test_without_answers_nothing_is_left_out_swapped_or_eased(request):
    plan = build(request)
    assert plan.left_out == ()
    assert all(e.replaced == "" and e.adapted_because == "" for e in plan.exercises)


@MANY
@given(valid_requests(screening=no_answers))
def test_removed_exercises_are_gone_and_added_ones_follow_the_phases_once(request):
    plan = build(request)
    t = CAT.template(request.template_id)
    ids = [e.id for e in plan.exercises]
    kept = [x for x in in_phases(t) if x not in request.remove_exercises]
    added = [x for x in dict.fromkeys(request.add_exercises) if x not in in_phases(t)]
    assert ids[:len(kept)] == kept
    assert [e.id for e in plan.exercises if e.phase == ADDED_PHASE] == added
    assert len(ids) == len(set(ids))


@MANY
@given(valid_requests(screening=no_answers.map(lambda s: dataclasses.replace(
    s, desk_bound=True))))
def test_desk_bound_adds_each_optional_desk_move_not_already_there(request):
    plan = build(request)
    t = CAT.template(request.template_id)
    before = {x for x in in_phases(t) if x not in request.remove_exercises}
    before |= set(request.add_exercises)
    want = [x for x in DESK_DAY_EXERCISES if x in t.optional_exercises and x not in before]
    assert [e.id for e in plan.exercises if e.phase == DESK_PHASE] == want
    without = build(dataclasses.replace(
        request, screening=dataclasses.replace(request.screening, desk_bound=False)))
    assert [e for e in plan.exercises if e.phase != DESK_PHASE] == list(without.exercises)


@MANY
@given(valid_requests(screening=no_answers.map(lambda s: dataclasses.replace(
    s, desk_bound=False))))
def test_no_desk_moves_without_desk_bound(request):
    assert all(e.phase != DESK_PHASE for e in build(request).exercises)


@MANY
@given(st.data())
def test_dose_changes_inside_the_range_ends_included_are_applied_exactly(data):
    """The clinician's choice wins over the eased dose; when they chose every eased value the
    easing reason goes, and no other exercise changes."""
    request = data.draw(valid_requests())
    plan = build(request)
    changes = data.draw(valid_dose_changes(plan))
    changed = build(dataclasses.replace(request, dose_changes=changes))
    assert [e.id for e in changed.exercises] == [e.id for e in plan.exercises]
    want_list = expected_exercises(request)
    for before, after, w in zip(plan.exercises, changed.exercises, want_list, strict=True):
        mine = changes.get(before.id, {})
        assert after.dose == before.dose.with_changes(mine), before.id
        assert after.dose_text == dose_text(after.dose)
        eased_fields = {f for f in EASED_FIELDS if getattr(before.dose, f) != getattr(w.base, f)}
        if eased_fields and eased_fields <= set(mine):
            assert not set(EASED_REASONS) & set(reasons_of(after))
            assert reasons_of(after) == [r for r in reasons_of(before) if r not in EASED_REASONS]
        else:
            assert after.adapted_because == before.adapted_because


@MANY
@given(st.data())
def test_every_range_end_is_allowed_for_every_field_of_every_exercise(data):
    request = data.draw(valid_requests())
    plan = build(request)
    assume(plan.exercises)
    e = data.draw(st.sampled_from(plan.exercises))
    f = data.draw(st.sampled_from(sorted(e.dose_range.bounds)))
    for value in e.dose_range.bounds[f]:
        got = build(dataclasses.replace(request, dose_changes={e.id: {f: value}}))
        assert getattr(next(x for x in got.exercises if x.id == e.id).dose, f) == value


@MANY
@given(st.data())
def test_a_dose_change_for_a_removed_exercise_is_ignored_and_the_others_still_apply(data):
    request = data.draw(valid_requests(screening=no_answers))
    assume(request.remove_exercises)
    gone = data.draw(st.sampled_from(request.remove_exercises))
    assume(gone not in request.add_exercises)
    f, (lo, hi) = data.draw(st.sampled_from(sorted(CAT.exercises[gone].dose_range.bounds.items())))
    plan = build(request)
    others = data.draw(valid_dose_changes(plan))
    changes = {**others, gone: {f: data.draw(st.integers(lo, hi))}}
    assert build(dataclasses.replace(request, dose_changes=changes)) == \
        build(dataclasses.replace(request, dose_changes=others))


@MANY
@given(valid_requests())
def test_every_plan_survives_the_snapshot_round_trip(request):
    plan = build(request)
    assert plan_from_dict(plan_to_dict(plan)) == plan


@FEW
@given(valid_requests())
def test_same_request_same_plan(request):
    assert build(request) == build(request)


# ---- Each kind of invalid request is refused with exactly its own problem -------------------

@FEW
@given(st.data())
def test_unknown_template_is_refused_on_template_id(data):
    request = data.draw(valid_requests())
    bad = data.draw(st.sampled_from(["", "core", "core_routine ", "CORE_ROUTINE", "x" * 40]))
    (problem,) = refusal(dataclasses.replace(request, template_id=bad))
    assert type(problem) is UnknownTemplate
    assert (problem.field, problem.template_id) == ("template_id", bad)
    assert str(problem) == f"no approved template with id {bad!r}"


@FEW
@given(st.data())
def test_adding_an_exercise_outside_the_optional_set_is_refused_on_add_exercises(data):
    request = data.draw(valid_requests())
    t = CAT.template(request.template_id)
    bad = data.draw(st.sampled_from(
        sorted(set(CAT.exercises) - set(t.optional_exercises)) + ["no_such_exercise"]))
    bad_request = dataclasses.replace(request, add_exercises=(*request.add_exercises, bad))
    (problem,) = refusal(bad_request)
    assert type(problem) is UnknownExercise
    assert (problem.field, problem.exercise_id) == ("add_exercises", bad)
    assert str(problem) == f"exercise {bad!r} is not allowed in this template"
    # The preview shows the plan as far as it resolves: the refused addition is not in it.
    preview, _ = resolve_plan(CAT, bad_request)
    assert preview.exercises == build(request).exercises


@FEW
@given(st.data())
def test_removing_an_exercise_not_in_the_phases_is_refused_on_remove_exercises(data):
    request = data.draw(valid_requests())
    t = CAT.template(request.template_id)
    bad = data.draw(st.sampled_from(sorted(set(CAT.exercises) - set(in_phases(t))) + ["nope"]))
    (problem,) = refusal(dataclasses.replace(
        request, remove_exercises=(*request.remove_exercises, bad)))
    assert type(problem) is UnknownExercise
    assert (problem.field, problem.exercise_id) == ("remove_exercises", bad)


@FEW
@given(st.data())
def test_a_dose_change_for_an_exercise_the_template_cannot_have_is_refused(data):
    request = data.draw(valid_requests())
    t = CAT.template(request.template_id)
    # A swap target the plan holds may be named by its own id too.
    allowed = set(in_phases(t)) | set(t.optional_exercises)
    allowed |= {e.id for e in build(request).exercises}
    bad = data.draw(st.sampled_from(sorted(set(CAT.exercises) - allowed) + ["nope"]))
    (problem,) = refusal(dataclasses.replace(request, dose_changes={bad: {"reps": 5}}))
    assert type(problem) is UnknownExercise
    assert (problem.field, problem.exercise_id) == (f"dose_changes.{bad}", bad)


@MANY
@given(st.data())
def test_a_dose_just_outside_the_range_is_refused_naming_exercise_field_and_range(data):
    request = data.draw(valid_requests())
    plan = build(request)
    assume(plan.exercises)
    e = data.draw(st.sampled_from(plan.exercises))
    f = data.draw(st.sampled_from(sorted(e.dose_range.bounds)))
    lo, hi = e.dose_range.bounds[f]
    value = data.draw(st.sampled_from([lo - 1, hi + 1]) | st.integers(max_value=lo - 1)
                      | st.integers(min_value=hi + 1))
    (problem,) = refusal(dataclasses.replace(request, dose_changes={e.id: {f: value}}))
    assert type(problem) is DoseOutOfRange
    assert (problem.field, problem.exercise_id, problem.dose_field, problem.value,
            problem.low, problem.high) == (f"dose_changes.{e.id}.{f}", e.id, f, value, lo, hi)
    assert str(problem) == f"{f} of {e.id!r} must be between {lo} and {hi}, got {value}"


@MANY
@given(st.data())
def test_a_dose_that_is_not_a_whole_number_is_refused_even_inside_the_range(data):
    request = data.draw(valid_requests())
    plan = build(request)
    assume(plan.exercises)
    e = data.draw(st.sampled_from(plan.exercises))
    f = data.draw(st.sampled_from(sorted(e.dose_range.bounds)))
    lo, hi = e.dose_range.bounds[f]
    value = data.draw(st.sampled_from([float(lo), lo + 0.5, str(lo), True, False, None,
                                       [lo]]))
    (problem,) = refusal(dataclasses.replace(request, dose_changes={e.id: {f: value}}))
    assert type(problem) is DoseOutOfRange
    assert (problem.field, problem.low, problem.high, problem.value) == \
        (f"dose_changes.{e.id}.{f}", lo, hi, value)


@MANY
@given(st.data())
def test_a_dose_field_without_a_range_cannot_be_changed(data):
    request = data.draw(valid_requests())
    plan = build(request)
    assume(plan.exercises)
    e = data.draw(st.sampled_from(plan.exercises))
    f = data.draw(st.sampled_from(
        sorted(set(DOSE_FIELDS) - set(e.dose_range.bounds)) + ["each_side", "speed"]))
    value = data.draw(st.integers(1, 10))
    (problem,) = refusal(dataclasses.replace(request, dose_changes={e.id: {f: value}}))
    assert type(problem) is DoseOutOfRange
    assert (problem.field, problem.low, problem.high, problem.value) == \
        (f"dose_changes.{e.id}.{f}", None, None, value)
    assert str(problem) == f"{f} of {e.id!r} cannot be changed"


@pytest.mark.parametrize("template_id", TEMPLATES)
def test_the_generators_reach_every_template_and_build_plans(template_id):
    """The strategies above are not vacuous: a plain request for each template builds."""
    plan = build(PlanRequest(template_id, "P.Q.", Screening()))
    assert [e.id for e in plan.exercises] == [w.id for w in expected_exercises(
        PlanRequest(template_id, "P.Q.", Screening()))]


@MANY
@given(st.data())
def test_every_bad_field_of_one_dose_change_is_refused_not_only_the_first(data):
    request = data.draw(valid_requests())
    plan = build(request)
    e = data.draw(st.sampled_from(plan.exercises))
    bounds = e.dose_range.bounds
    fields = data.draw(st.lists(st.sampled_from(sorted({*DOSE_FIELDS, "speed"})), min_size=2,
                                unique=True))
    change = {f: (bounds[f][1] + 1 if f in bounds else 1) for f in fields}
    problems = refusal(dataclasses.replace(request, dose_changes={e.id: change}))
    assert [(type(p), p.field, p.low, p.high) for p in problems] == [
        (DoseOutOfRange, f"dose_changes.{e.id}.{f}", *bounds.get(f, (None, None)))
        for f in sorted(fields)]
