"""The screening rules (plans/rules.py) over every combination that changes a plan.

Exhaustive where the space is small (every nerve-related source x irritability x tendon x
desk-bound x template, with every optional exercise added), hypothesis over random sets of
findings and dose changes. resolve_plan is used so the properties hold for the exercises a
plan would carry even when the request is refused for another reason.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st
from plan_strategies import examples

from plans import rules
from plans.assembly import resolve_plan
from plans.catalogue import default_catalogue
from plans.errors import EmptyPlan, ScreeningIncomplete, TemplateUnsuited
from plans.model import (
    DOSE_FIELDS,
    CaudaEquinaRuleOut,
    Irritability,
    PlanRequest,
    RiskFactorReview,
    SameDayReview,
    Screening,
)

CAT = default_catalogue()
MODEL = CAT.screening
TEMPLATES = [t.id for t in CAT.approved_templates()]
NERVE_FINDINGS = [f.id for f in MODEL.findings.values() if "nerve" in f.categories]
TENDON_FINDINGS = [f.id for f in MODEL.findings.values() if "hamstring_tendon" in f.categories]
TODAY = "2026-12-03"
# Every way a nerve-related sign can reach the plan: the checkbox, or any finding.
NERVE_SOURCES = [("checkbox", None), *[("finding", f) for f in NERVE_FINDINGS]]


def request(template_id: str, flags: frozenset[str], nerve_box: bool, irr: Irritability,
            desk: bool, **kw: object) -> PlanRequest:
    t = CAT.template(template_id)
    return PlanRequest(template_id, "P.Q.", Screening(flags, nerve_box, irr, desk, **kw),
                       add_exercises=t.optional_exercises, today=TODAY)


def has_nerve(s: Screening) -> bool:
    return s.nerve_symptoms or any("nerve" in MODEL.findings[f].categories
                                   for f in s.red_flags if f in MODEL.findings)


def check_plan_is_safe(req: PlanRequest, plan) -> None:
    s = req.screening
    for e in plan.exercises:
        ex = CAT.exercises[e.id]
        if has_nerve(s):
            assert not ex.straight_knee_long_hold, e.id
            assert not ex.nerve_tensioning, e.id
        if any(f in TENDON_FINDINGS for f in s.red_flags):
            assert not ex.hamstring_load, e.id
        for name in DOSE_FIELDS:
            value = getattr(e.dose, name)
            if value is not None and name in ex.dose_range.bounds:
                lo, hi = ex.dose_range.bounds[name]
                assert lo <= value <= hi, (e.id, name, value)


COMBOS = list(itertools.product(TEMPLATES, [("none", None), *NERVE_SOURCES], list(Irritability),
                                [False, True], [False, True]))


@pytest.mark.parametrize("template_id", TEMPLATES)
def test_every_combination_is_safe(template_id):
    for t_id, (kind, finding), irr, tendon, desk in COMBOS:
        if t_id != template_id:
            continue
        flags = set()
        if kind == "finding":
            flags.add(finding)
        if tendon:
            flags.update(TENDON_FINDINGS)
        req = request(t_id, frozenset(flags), kind == "checkbox", irr, desk)
        plan, _ = resolve_plan(CAT, req)
        check_plan_is_safe(req, plan)
        if kind != "none":
            # Nerve-related: holds, time, repeats and sets at the bottom of each range.
            for e in plan.exercises:
                for name in rules_eased():
                    value = getattr(e.dose, name)
                    if value is not None and name in e.dose_range.bounds:
                        assert value == e.dose_range.bounds[name][0], (e.id, name)


def rules_eased():
    from plans.assembly import EASED_FIELDS

    return EASED_FIELDS


@pytest.mark.parametrize(("kind", "finding"), NERVE_SOURCES)
def test_every_nerve_source_gives_the_same_nerve_friendly_exercises(kind, finding):
    for t_id in TEMPLATES:
        box = request(t_id, frozenset(), True, Irritability.LOW, False)
        other = request(t_id, frozenset({finding} if finding else ()), kind == "checkbox",
                        Irritability.LOW, False)
        assert [e.id for e in resolve_plan(CAT, box)[0].exercises] == \
            [e.id for e in resolve_plan(CAT, other)[0].exercises]


def test_nerve_floss_has_its_own_shorter_nerve_friendly_form():
    plan, _ = resolve_plan(CAT, request("core_routine", frozenset(), True, Irritability.LOW,
                                        False))
    floss = next(e for e in plan.exercises if e.replaced == "sliding_hamstring_floss")
    assert floss.id == "sliding_hamstring_floss_nerve"
    assert floss.dose_range.bounds["duration_seconds"][1] < \
        CAT.exercises["sliding_hamstring_floss"].dose_range.bounds["duration_seconds"][0]


findings = st.frozensets(st.sampled_from(list(MODEL.findings)), max_size=5)


@examples(300, under_gate=40)
@given(st.sampled_from(TEMPLATES), findings, st.booleans(), st.sampled_from(list(Irritability)),
       st.booleans(), st.data())
def test_random_findings_and_doses_never_give_an_unsafe_plan(t_id, flags, box, irr, desk, data):
    t = CAT.template(t_id)
    ids = sorted({i.exercise_id for p in t.phases for i in p.items} | set(t.optional_exercises)
                 | {CAT.exercises[i].swaps.get(a) for i in t.optional_exercises
                    for a in rules.ANSWER_ORDER} - {None})
    changes = data.draw(st.dictionaries(st.sampled_from(ids), st.dictionaries(
        st.sampled_from(DOSE_FIELDS), st.integers(1, 120), max_size=2), max_size=3))
    req = PlanRequest(t_id, "P.Q.", Screening(flags, box, irr, desk), dose_changes=changes,
                      add_exercises=t.optional_exercises, today=TODAY)
    plan, problems = resolve_plan(CAT, req)
    check_plan_is_safe(req, plan)
    needs = {MODEL.categories[c].requires for f in flags for c in MODEL.findings[f].categories}
    codes = {p.code for p in problems if isinstance(p, ScreeningIncomplete)}
    assert needs - {""} == codes  # no record given: each required record is asked for


def test_tendon_injury_leaves_no_hamstring_move_and_asks_for_the_referral():
    plan, problems = resolve_plan(CAT, request("core_routine", frozenset({"hamstring_pop"}),
                                               False, Irritability.LOW, False))
    assert not any(CAT.exercises[e.id].hamstring_load for e in plan.exercises)
    assert [p.field for p in problems] == ["screening.tendon_referral"]
    plan, problems = resolve_plan(CAT, request(
        "core_routine", frozenset({"hamstring_pop"}), False, Irritability.LOW, False,
        tendon_referral=True))
    assert problems == [] and plan.exercises


def test_slow_down_signs_are_advice_and_never_block():
    slow = frozenset(f.id for f in MODEL.findings.values() if f.category == "slow_down")
    assert slow
    _, problems = resolve_plan(CAT, request("core_routine", slow, False, Irritability.LOW, False))
    assert problems == []
    assert rules.effects(MODEL, Screening(slow)).advice == tuple(
        f for f in MODEL.findings if f in slow)


GOOD_RULE_OUT = CaudaEquinaRuleOut("Dr R. Shah", "2026-12-01",
                                   "Saddle sensation normal, stable, already investigated")


@pytest.mark.parametrize(("rule_out", "field"), [
    (None, "screening.cauda_equina_rule_out"),
    (CaudaEquinaRuleOut("", "2026-12-01", GOOD_RULE_OUT.finding), ".assessed_by"),
    (CaudaEquinaRuleOut("\u200b\u200b", "2026-12-01", GOOD_RULE_OUT.finding), ".assessed_by"),
    (CaudaEquinaRuleOut("Dr R. Shah", "2026-12-04", GOOD_RULE_OUT.finding), ".assessed_on"),
    (CaudaEquinaRuleOut("Dr R. Shah", "yesterday", GOOD_RULE_OUT.finding), ".assessed_on"),
    (CaudaEquinaRuleOut("Dr R. Shah", "2026-12-01", "ok"), ".finding"),
    (CaudaEquinaRuleOut("Dr R. Shah", "2026-12-01", "ok ok ok ok ok ok"), ".finding"),
    (CaudaEquinaRuleOut("Dr R. Shah", "2026-12-01", "a\u200bb\u200bc\u200bd e f g"), ".finding"),
    (CaudaEquinaRuleOut("Dr R. Shah", "2026-12-01", " . , ; ! ? - 1 2 3 4 5"), ".finding"),
])
def test_cauda_equina_needs_who_when_and_what_in_meaningful_words(rule_out, field):
    for flag in (f for f in MODEL.findings.values() if f.category == "cauda_equina"):
        problems = rules.screening_problems(
            MODEL, Screening(frozenset({flag.id}), cauda_equina_rule_out=rule_out),
            dt.date.fromisoformat(TODAY), clearance_note="Examined, all fine and cleared today")
        assert [p.field for p in problems] == [
            field if field.startswith("screening") else "screening.cauda_equina_rule_out" + field]


def test_structured_rule_out_clears_every_cauda_equina_finding():
    flags = frozenset(f.id for f in MODEL.findings.values() if f.category == "cauda_equina")
    assert rules.screening_problems(MODEL, Screening(flags, cauda_equina_rule_out=GOOD_RULE_OUT),
                                    dt.date.fromisoformat(TODAY)) == []


def test_risk_factors_need_concern_and_decision_and_same_day_needs_referral_or_reason():
    today = dt.date.fromisoformat(TODAY)
    s = Screening(frozenset({"osteoporosis", "weight_loss"}))
    assert [p.field for p in rules.screening_problems(MODEL, s, today)] == [
        "screening.risk_factor_review", "screening.same_day_review"]
    s = Screening(frozenset({"osteoporosis", "weight_loss"}),
                  risk_factor_review=RiskFactorReview("moderate", "investigate"),
                  same_day_review=SameDayReview("referred"))
    assert rules.screening_problems(MODEL, s, today) == []
    s = Screening(frozenset({"weight_loss"}), same_day_review=SameDayReview("explained", "diet"))
    assert [p.field for p in rules.screening_problems(MODEL, s, today)] == [
        "screening.same_day_review.reason"]


def test_template_declaring_it_does_not_suit_high_irritability_is_refused_naming_why():
    _, problems = resolve_plan(CAT, request("progression", frozenset(), False,
                                            Irritability.HIGH, False))
    [p] = problems
    assert isinstance(p, TemplateUnsuited) and p.why and p.field == "template_id"


def test_plan_with_no_exercises_is_refused():
    t = CAT.template("desk_day")
    req = PlanRequest("desk_day", "P.Q.", remove_exercises=tuple(
        i.exercise_id for p in t.phases for i in p.items), today=TODAY)
    _, problems = resolve_plan(CAT, req)
    assert [type(p) for p in problems] == [EmptyPlan]


def test_all_problems_are_listed_together():
    req = PlanRequest("core_routine", "P.Q.", Screening(frozenset({"saddle_numbness",
                                                                  "cancer_history"})),
                      dose_changes={"glute_bridge": {"reps": 99}}, add_exercises=("x",),
                      today=TODAY)
    _, problems = resolve_plan(CAT, req)
    assert {p.field for p in problems} == {
        "screening.cauda_equina_rule_out", "screening.risk_factor_review", "add_exercises",
        "dose_changes.glute_bridge.reps"}


def test_every_finding_has_a_category_with_a_consequence_and_a_source():
    for f in MODEL.findings.values():
        for c in f.categories:
            cat = MODEL.categories[c]
            assert cat.consequence and cat.sources and all(s in MODEL.sources
                                                           for s in cat.sources)


def test_no_risk_factor_is_on_the_patient_list_of_signs_to_call_about():
    """REFERENCES.md: risk factors are history; the handout never tells the patient to call
    about them. The patient list (red_flags.yaml) holds none of them."""
    risk = {f.id for f in MODEL.findings.values() if f.category == "risk_factor"}
    assert risk and not risk & {f.id for f in CAT.red_flags}


# Exact words of every screening problem, fast, one request each (the properties in
# test_plans_rule_properties.py check the same over generated requests).
LABELS = {f.id: f.label for f in MODEL.findings.values()}
TODAY_DATE = dt.date.fromisoformat(TODAY)


def _problems(**kw):
    clearance = kw.pop("clearance_note", None)
    return [(p.field, p.code, str(p), p.findings) for p in rules.screening_problems(
        MODEL, Screening(**kw), TODAY_DATE, clearance_note=clearance)]


def test_every_screening_problem_has_its_exact_words():
    flags = frozenset({"saddle_numbness", "bladder_change", "osteoporosis", "cancer_history",
                       "night_pain", "fall_or_injury", "hamstring_pop"})
    assert _problems(red_flags=flags) == [
        ("screening.cauda_equina_rule_out", "cauda_equina_rule_out",
         f"suspected cauda equina syndrome ({LABELS['saddle_numbness']}; "
         f"{LABELS['bladder_change']}): refer as an emergency; no exercise plan unless you "
         "record a finding that rules it out: who assessed, when, and what was found",
         ["saddle_numbness", "bladder_change"]),
        ("screening.risk_factor_review", "risk_factor_review",
         f"risk factors ticked ({LABELS['cancer_history']}; {LABELS['osteoporosis']}): record "
         "your level of concern and your decision (proceed with safety-netting, investigate, "
         "or refer)", ["cancer_history", "osteoporosis"]),
        ("screening.same_day_review", "same_day_review",
         f"signs needing same-day medical review ({LABELS['night_pain']}; "
         f"{LABELS['fall_or_injury']}): refer today, or record the reason that explains them",
         ["night_pain", "fall_or_injury"]),
        ("screening.tendon_referral", "tendon_referral",
         "suspected hamstring tendon injury: refer for assessment and record the referral; "
         "hamstring stretches and loading are left out of the plan", ["hamstring_pop"]),
    ]



@pytest.mark.parametrize(("rule_out", "want"), [
    (CaudaEquinaRuleOut("J", "2026-12-04", "ok"), [
        (".assessed_by", "say who assessed (a name)"),
        (".assessed_on", "the assessment date cannot be in the future"),
        (".finding", "describe what was found in at least 4 different words (for example a "
                     "stable, already-investigated finding)")]),
    (CaudaEquinaRuleOut("Jo", "3 Dec", "one two three four"), [
        (".assessed_on", "give the date of the assessment (YYYY-MM-DD)")]),
    (CaudaEquinaRuleOut("Jo", TODAY, "Pain pain PAIN ok no"), [
        (".finding", "describe what was found in at least 4 different words (for example a "
                     "stable, already-investigated finding)")]),
    (CaudaEquinaRuleOut("Jo", TODAY, "Ça va très bien"), []),
])
def test_each_part_of_a_rule_out_is_checked_on_its_own_field_with_its_words(rule_out, want):
    got = _problems(red_flags=frozenset({"new_unsteadiness"}), cauda_equina_rule_out=rule_out)
    assert got == [("screening.cauda_equina_rule_out" + f, "cauda_equina_rule_out", m,
                    ["new_unsteadiness"]) for f, m in want]


@pytest.mark.parametrize(("review", "want"), [
    (RiskFactorReview("medium", "wait"), [
        (".concern", "choose a level of concern: low, moderate or high"),
        (".decision", "choose a decision: proceed with safety-netting, investigate, or refer")]),
    (RiskFactorReview("high", "refer"), []),
    (RiskFactorReview("low", "proceed_with_safety_netting"), []),
])
def test_a_risk_factor_review_is_checked_part_by_part(review, want):
    got = _problems(red_flags=frozenset({"weak_immune_system"}), risk_factor_review=review)
    assert got == [("screening.risk_factor_review" + f, "risk_factor_review", m,
                    ["weak_immune_system"]) for f, m in want]


@pytest.mark.parametrize(("review", "note", "want"), [
    (SameDayReview("later"), None, [(".action", "choose referred today or explained")]),
    (SameDayReview("explained", "from the shoulder"), None, [
        (".reason", "write the reason that explains these signs in at least 4 different "
                    "words")]),
    (None, "from the shoulder", [
        (".reason", "write the reason that explains these signs in at least 4 different "
                    "words")]),
    (None, "pain is from the shoulder", []),
    (SameDayReview("referred"), "", []),  # the structured record wins over the old note
    (SameDayReview("explained", "pain is from the shoulder"), None, []),
])
def test_a_same_day_review_is_checked_new_api_or_old(review, note, want):
    got = _problems(red_flags=frozenset({"upper_mid_back_pain"}), same_day_review=review,
                    clearance_note=note)
    assert got == [("screening.same_day_review" + f, "same_day_review", m,
                    ["upper_mid_back_pain"]) for f, m in want]


def test_effects_list_findings_in_screening_order_and_unknown_ids_sorted():
    s = Screening(frozenset({"no_improvement", "zzz", "weight_loss", "aaa", "saddle_numbness",
                             "pain_spikes_after_stretching"}))
    eff = rules.effects(MODEL, s)
    assert eff.present == ("saddle_numbness", "weight_loss", "pain_spikes_after_stretching",
                           "no_improvement")
    assert eff.unknown == ("aaa", "zzz")
    assert eff.advice == ("pain_spikes_after_stretching", "no_improvement")
    assert (eff.answers, eff.ease_dose) == ((), False)
    both = rules.effects(MODEL, Screening(frozenset({"hamstring_pop", "tingling_burning"}),
                                          irritability=Irritability.HIGH))
    assert (both.answers, both.ease_dose) == (rules.ANSWER_ORDER, True)
    assert rules.effects(MODEL, Screening(irritability=Irritability.MODERATE)) == rules.Effects(
        (), (), (), False, ())
    assert rules.effects(MODEL, Screening(frozenset({"hamstring_pop"}))).ease_dose is False


def test_meaningful_words_are_distinct_case_folded_letter_runs_in_order():
    assert rules.meaningful_words("Pain, PAIN; x 12 ça\u200bva pain-free") == [
        "pain", "ça", "va", "free"]
    assert rules.meaningful_words(None) == []
    assert rules.is_meaningful("aa bb cc dd", 4) and not rules.is_meaningful("aa bb cc", 4)


def test_left_out_by_names_the_first_rule_that_applies():
    ex = CAT.exercises
    assert rules.left_out_by(ex["weighted_hip_hinge"], ("nerve_symptoms",)) == "nerve_symptoms"
    assert rules.left_out_by(ex["weighted_hip_hinge"], ("high_irritability",)) == \
        "high_irritability"
    assert rules.left_out_by(ex["glute_bridge"], ("hamstring_tendon",)) == "hamstring_tendon"
    assert rules.left_out_by(ex["strap_hamstring_stretch"], ("nerve_symptoms",
                                                            "hamstring_tendon")) == \
        "hamstring_tendon"
    assert rules.left_out_by(ex["strap_hamstring_stretch"], ("nerve_symptoms",)) == \
        "nerve_symptoms"
    assert rules.left_out_by(ex["sliding_hamstring_floss"], ("nerve_symptoms",)) == \
        "nerve_symptoms"
    assert rules.left_out_by(ex["strap_hamstring_stretch"], ("high_irritability",)) == \
        "high_irritability"
    assert rules.left_out_by(ex["sliding_hamstring_floss"], ("high_irritability",)) is None
    assert rules.left_out_by(ex["glute_bridge"], ("nerve_symptoms", "high_irritability")) is None
    assert rules.swap_target(ex["strap_hamstring_stretch"], "nerve_symptoms") == \
        "strap_hamstring_stretch_bent_knee"
    assert rules.swap_target(ex["glute_bridge"], "nerve_symptoms") is None


def test_same_day_review_record_prefers_the_structured_one():
    sd = SameDayReview("referred")
    assert rules.same_day_review(Screening(same_day_review=sd), "note") is sd
    assert rules.same_day_review(Screening(), "note") == SameDayReview("explained", "note")
    assert rules.same_day_review(Screening(), None) is None


def test_template_problems_name_the_template_the_answer_and_why():
    t = CAT.template("progression")
    [p] = rules.template_problems(t, ("nerve_symptoms", "high_irritability"))
    assert (p.template_id, p.answer, p.why) == ("progression", "high_irritability",
                                                t.not_suited_for[0].why)
    assert rules.template_problems(t, ("nerve_symptoms",)) == []
