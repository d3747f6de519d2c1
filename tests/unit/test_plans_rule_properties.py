"""Properties of the screening rules, one per finding -> consequence rule of
docs/clinical-rules.md: every finding alone and in any combination, with its records complete,
missing, or wrong in one known way, on generated requests that are otherwise valid.

SCREENING RULES: this file and the marked part of plan_strategies.py are the ones to re-target
when the screening model changes (plans/rules.py, plans/data/screening.yaml).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st
from plan_strategies import (
    CAT,
    CAUDA,
    FLAGS,
    NERVE,
    NOTE,
    RISK,
    RULES,
    SAME_DAY,
    SLOW_DOWN,
    TENDON,
    TODAY,
    examples,
    finding_sets,
    in_phases,
    leaves_out,
    nerve_on,
    present,
    refusal,
    rule_outs,
    survivors,
    valid_requests,
)

from plans import rules
from plans.assembly import assemble_plan
from plans.errors import EmptyPlan, ScreeningIncomplete, TemplateUnsuited, UnknownRedFlag
from plans.model import (
    CaudaEquinaRuleOut,
    Irritability,
    RedFlagClearance,
    RiskFactorReview,
    SameDayReview,
    Screening,
)

MANY = examples(30, under_gate=12)
FEW = examples(15, under_gate=6)
MODEL = CAT.screening
LABEL = {f: MODEL.findings[f].label for f in FLAGS}
CE = "screening.cauda_equina_rule_out"
RF = "screening.risk_factor_review"
SD = "screening.same_day_review"


def with_flags(request, flags, **records):
    """The request with these findings ticked (its records kept unless given)."""
    return dataclasses.replace(request, screening=dataclasses.replace(
        request.screening, red_flags=frozenset(flags), **records))


def requests_with(flags_strategy, **kw):
    """Valid requests (every record complete) whose findings are drawn from flags_strategy."""
    return valid_requests(screening=st.builds(
        Screening, red_flags=flags_strategy, nerve_symptoms=st.booleans(),
        irritability=st.sampled_from(list(Irritability)), desk_bound=st.booleans()), **kw)


def missing(flags) -> list[tuple[str, str, str, list[str]]]:
    """(field, code, message, findings) for each record these findings need and lack, in the
    order docs/clinical-rules.md lists the rules."""
    def of(rule):
        return [f for f in FLAGS if f in flags and f in rule]

    out = []
    if of(CAUDA):
        out.append((CE, "cauda_equina_rule_out",
                    f"suspected cauda equina syndrome ({'; '.join(LABEL[f] for f in of(CAUDA))}):"
                    " refer as an emergency; no exercise plan unless you record a finding that "
                    "rules it out: who assessed, when, and what was found", of(CAUDA)))
    if of(RISK):
        out.append((RF, "risk_factor_review",
                    f"risk factors ticked ({'; '.join(LABEL[f] for f in of(RISK))}): record your "
                    "level of concern and your decision (proceed with safety-netting, "
                    "investigate, or refer)", of(RISK)))
    if of(SAME_DAY):
        out.append((SD, "same_day_review",
                    "signs needing same-day medical review "
                    f"({'; '.join(LABEL[f] for f in of(SAME_DAY))}): refer today, or record the "
                    "reason that explains them", of(SAME_DAY)))
    if of(TENDON):
        out.append(("screening.tendon_referral", "tendon_referral",
                    "suspected hamstring tendon injury: refer for assessment and record the "
                    "referral; hamstring stretches and loading are left out of the plan",
                    of(TENDON)))
    return out


def described(problems):
    assert all(type(p) is ScreeningIncomplete for p in problems), problems
    return [(p.field, p.code, str(p), p.findings) for p in problems]


def test_the_rule_lists_here_are_the_findings_of_screening_yaml():
    """plan_strategies spells each rule's findings out from docs/clinical-rules.md; the data
    must say the same, or the properties below would test another model."""
    for category, ids in RULES.items():
        assert {f for f in FLAGS if category in MODEL.findings[f].categories} == set(ids)
    assert set(FLAGS) == set().union(*map(set, RULES.values()))


# ---- Every finding alone ------------------------------------------------------------------

@pytest.mark.parametrize("flag", FLAGS)
def test_each_finding_alone_asks_for_exactly_its_own_records_and_builds_with_them(flag):
    for t_id in ("core_routine", "desk_day"):
        plan = assemble_plan(CAT, _complete(t_id, {flag}))
        assert plan.red_flags_present == (flag,)
        bare = _complete(t_id, {flag}, bare=True)
        if missing({flag}):
            assert described(refusal(bare)) == missing({flag})
        else:  # nerve-related and slow-down signs need no record
            assert assemble_plan(CAT, bare).red_flags_present == (flag,)


def _complete(t_id, flags, bare=False):
    """A plain request with every record these findings need (none if bare)."""
    from plans.model import PlanRequest

    flags = frozenset(flags)
    s = Screening(flags)
    if not bare:
        s = dataclasses.replace(
            s, cauda_equina_rule_out=CaudaEquinaRuleOut(
                "Dr R. Shah", TODAY, "Saddle sensation normal, stable, already investigated"),
            risk_factor_review=RiskFactorReview("low", "proceed_with_safety_netting"),
            same_day_review=SameDayReview("referred"), tendon_referral=True)
    return PlanRequest(t_id, "P.Q.", s, today=TODAY)


# ---- Any combination ----------------------------------------------------------------------

@MANY
@given(st.data())
def test_any_findings_without_records_are_refused_with_every_missing_record_at_once(data):
    request = data.draw(valid_requests())
    flags = data.draw(finding_sets(min_size=1, max_size=6))
    bare = with_flags(request, flags, cauda_equina_rule_out=None, risk_factor_review=None,
                      same_day_review=None, tendon_referral=False)
    bare = dataclasses.replace(bare, clearance=None)
    want = missing(flags)
    if not want:
        assert assemble_plan(CAT, bare).red_flags_present == present(bare.screening)
        return
    # A template the answers do not suit adds its own problem, checked elsewhere.
    problems = [p for p in refusal(bare) if type(p) not in (TemplateUnsuited, EmptyPlan)]
    assert described(problems) == want


@MANY
@given(requests_with(finding_sets(min_size=1, max_size=6)))
def test_any_findings_with_their_records_complete_build_and_are_recorded_in_order(request):
    plan = assemble_plan(CAT, request)
    assert plan.red_flags_present == present(request.screening)
    assert plan.clearance == request.clearance
    # The records never change the exercises: only the answers do (nerve, tendon).
    s = request.screening
    plain = assemble_plan(CAT, dataclasses.replace(request, screening=Screening(
        s.red_flags & set(TENDON), nerve_on(s), s.irritability, s.desk_bound,
        tendon_referral=s.tendon_referral), clearance=None))
    assert (plan.exercises, plan.left_out) == (plain.exercises, plain.left_out)


@MANY
@given(requests_with(finding_sets(min_size=1, max_size=3, of=SLOW_DOWN + RISK)))
def test_slow_down_and_risk_findings_never_change_the_exercises(request):
    plan = assemble_plan(CAT, request)
    plain = assemble_plan(CAT, dataclasses.replace(request, screening=dataclasses.replace(
        request.screening, red_flags=frozenset()), clearance=None))
    assert (plan.exercises, plan.left_out) == (plain.exercises, plain.left_out)
    advice = rules.effects(MODEL, request.screening).advice
    assert advice == tuple(f for f in FLAGS if f in request.screening.red_flags and f in SLOW_DOWN)


@MANY
@given(st.data())
def test_a_nerve_finding_from_any_source_gives_the_checkbox_s_plan(data):
    """docs/clinical-rules.md, nerve: the same nerve-friendly plan whatever the sign came from
    (checkbox, a nerve finding, or a cauda equina / same-day finding that is also nerve-related)
    and with both at once."""
    request = data.draw(valid_requests(screening=st.builds(
        Screening, red_flags=finding_sets(max_size=2, of=RISK + SLOW_DOWN),
        irritability=st.sampled_from(list(Irritability)), desk_bound=st.booleans())))
    flag = data.draw(st.sampled_from(NERVE))
    box = dataclasses.replace(request, screening=dataclasses.replace(
        request.screening, nerve_symptoms=True))
    by_finding = with_flags(
        request, request.screening.red_flags | {flag},
        nerve_symptoms=data.draw(st.booleans()),
        cauda_equina_rule_out=data.draw(rule_outs),
        same_day_review=SameDayReview("referred"))
    a, b = assemble_plan(CAT, box), assemble_plan(CAT, by_finding)
    assert (a.exercises, a.left_out) == (b.exercises, b.left_out)
    assert rules.effects(MODEL, by_finding.screening).ease_dose is True


@FEW
@given(requests_with(finding_sets(min_size=1, max_size=3).map(lambda f: f | set(TENDON))))
def test_a_suspected_tendon_injury_leaves_out_every_hamstring_move_and_lists_it(request):
    plan = assemble_plan(CAT, request)
    assert not any(CAT.exercises[e.id].hamstring_load for e in plan.exercises)
    why = "suspected hamstring tendon injury: no hamstring stretching or loading"
    for x in plan.left_out:
        if CAT.exercises[x.id].hamstring_load and not x.why.startswith(("nerve", "high")):
            assert x.why == why
    assert plan.exercises  # walking, breathing and ankle moves stay


# ---- Each record, wrong in one known way ---------------------------------------------------

NAME, FOUND = "Dr R. Shah", "Saddle sensation normal, stable, already investigated"
FOUND_MSG = ("describe what was found in at least 4 different words (for example a stable, "
             "already-investigated finding)")
DATE_MSG = "give the date of the assessment (YYYY-MM-DD)"
# Not a word: one letter, digits, punctuation, whitespace and invisible characters.
not_words = st.sampled_from(["", " ", "a", "1234", "...", "\u200b\u200b", "n/a", "- 12 -",
                             "x y z", "\u00a0\t\n"])
THREE_WORDS = ["normal normal normal tone", "Pain PAIN pain pain ok fine", "ok no deficit",
               "a\u200bb\u200bc\u200bd ok ok fine good", "Stable 12 3 4 already seen"]
FOUR_WORDS = ["ok no deficit seen", "Ça va très bien", "dry Dry DRY ok no go",
              "NO saddle  deficit   found"]
three_words, four_words = st.sampled_from(THREE_WORDS), st.sampled_from(FOUR_WORDS)


@MANY
@given(st.data())
def test_a_cauda_equina_rule_out_needs_who_when_and_what_each_named_on_its_field(data):
    request = data.draw(requests_with(finding_sets(min_size=1, max_size=2, of=CAUDA)))
    flags = [f for f in FLAGS if f in request.screening.red_flags and f in CAUDA]
    today = dt.date.fromisoformat(TODAY)
    who = data.draw(st.sampled_from([NAME, "Jo"]) | not_words)
    what = data.draw(st.just(FOUND) | four_words | three_words | not_words)
    # Every kind of date with each drawn name and finding: the date is where the ends are.
    for when in (TODAY, "2026-12-02", "2026-12-04", "2027-01-01", "yesterday", "",
                 "03/12/2026", "2026-13-01"):
        req = dataclasses.replace(with_flags(
            request, request.screening.red_flags, cauda_equina_rule_out=CaudaEquinaRuleOut(
                who, when, what)), today=TODAY)
        want = []
        if who not in (NAME, "Jo"):
            want.append((f"{CE}.assessed_by", "say who assessed (a name)"))
        try:
            day = dt.date.fromisoformat(when)
        except ValueError:
            want.append((f"{CE}.assessed_on", DATE_MSG))
        else:
            if day > today:  # today itself is allowed
                want.append((f"{CE}.assessed_on", "the assessment date cannot be in the future"))
        if what not in [FOUND, *FOUR_WORDS]:
            want.append((f"{CE}.finding", FOUND_MSG))
        if not want:
            assert assemble_plan(CAT, req).red_flags_present == present(req.screening)
            continue
        problems = refusal(req)
        assert [(p.field, str(p)) for p in problems] == want
        assert all((type(p), p.code, p.findings) == (
            ScreeningIncomplete, "cauda_equina_rule_out", flags) for p in problems)


@MANY
@given(st.data())
def test_a_risk_factor_review_needs_a_known_concern_and_decision(data):
    request = data.draw(requests_with(finding_sets(min_size=1, max_size=2, of=RISK)))
    concern = data.draw(st.sampled_from(["low", "moderate", "high", "", "Low", "medium"]))
    decision = data.draw(st.sampled_from(["proceed_with_safety_netting", "investigate", "refer",
                                          "", "proceed", "Refer"]))
    req = with_flags(request, request.screening.red_flags,
                     risk_factor_review=RiskFactorReview(concern, decision))
    want = []
    if concern not in ("low", "moderate", "high"):
        want.append((f"{RF}.concern", "choose a level of concern: low, moderate or high"))
    if decision not in ("proceed_with_safety_netting", "investigate", "refer"):
        want.append((f"{RF}.decision", "choose a decision: proceed with safety-netting, "
                                       "investigate, or refer"))
    if not want:
        assemble_plan(CAT, req)
        return
    problems = refusal(req)
    assert [(p.field, str(p)) for p in problems] == want
    flags = [f for f in FLAGS if f in req.screening.red_flags and f in RISK]
    assert all((type(p), p.code, p.findings) == (ScreeningIncomplete, "risk_factor_review", flags)
               for p in problems)


@MANY
@given(st.data())
def test_same_day_signs_need_referral_or_a_reason_in_four_words_new_api_or_old(data):
    request = data.draw(requests_with(finding_sets(min_size=1, max_size=2, of=SAME_DAY)))
    review = data.draw(st.none() | st.builds(
        SameDayReview, st.sampled_from(["referred", "explained", "", "Referred", "later"]),
        st.just(FOUND) | four_words | three_words | not_words))
    note = data.draw(st.none() | (st.just(FOUND) | four_words | three_words | not_words))
    req = dataclasses.replace(with_flags(request, request.screening.red_flags,
                                         same_day_review=review),
                              clearance=None if note is None else RedFlagClearance(note))
    good = {FOUND, *FOUR_WORDS}
    used = review if review is not None else (
        SameDayReview("explained", note) if note is not None else None)
    if used is None:
        want = [(SD, "signs needing same-day medical review "
                     f"({'; '.join(LABEL[f] for f in FLAGS if f in req.screening.red_flags)}): "
                     "refer today, or record the reason that explains them")]
    elif used.action not in ("referred", "explained"):
        want = [(f"{SD}.action", "choose referred today or explained")]
    elif used.action == "explained" and used.reason not in good:
        want = [(f"{SD}.reason", "write the reason that explains these signs in at least 4 "
                                 "different words")]
    else:
        want = []
    if not want:
        assert assemble_plan(CAT, req).clearance == req.clearance
        return
    problems = refusal(req)
    assert [(p.field, str(p)) for p in problems] == want
    flags = [f for f in FLAGS if f in req.screening.red_flags]
    assert [(type(p), p.code, p.findings) for p in problems] == [
        (ScreeningIncomplete, "same_day_review", flags)]


# ---- Unknown findings, unsuited templates, empty plans -------------------------------------

@MANY
@given(requests_with(finding_sets(max_size=3)),
       st.frozensets(st.sampled_from(["headache", "", "NIGHT_PAIN", "night pain", "nerve"]),
                     min_size=1))
def test_unknown_finding_ids_are_each_refused_by_id_even_beside_known_ones(request, unknown):
    req = with_flags(request, request.screening.red_flags | unknown)
    problems = refusal(req)
    assert [type(p) for p in problems] == [UnknownRedFlag] * len(unknown)
    assert [(p.field, p.flag_id, str(p)) for p in problems] == [
        ("screening.red_flags", u, f"unknown red flag {u!r}") for u in sorted(unknown)]


@FEW
@given(valid_requests(templates=st.just("core_routine")))
def test_progression_is_refused_for_a_highly_irritable_back_naming_why(request):
    req = dataclasses.replace(request, template_id="progression", add_exercises=(),
                              remove_exercises=(), screening=dataclasses.replace(
                                  request.screening, irritability=Irritability.HIGH))
    [p] = refusal(req)
    unsuited = CAT.template("progression").not_suited_for[0]
    assert type(p) is TemplateUnsuited and (p.field, p.answer) == ("template_id",
                                                                   "high_irritability")
    assert str(p) == (f"template 'progression' does not suit this patient (high_irritability): "
                      f"{unsuited.why}")


@MANY
@given(valid_requests())
def test_removing_every_exercise_the_rules_let_through_leaves_an_empty_plan_refused(request):
    t = CAT.template(request.template_id)
    keep = set(survivors(t.id, request.screening))
    req = dataclasses.replace(request, add_exercises=(), remove_exercises=tuple(
        x for x in in_phases(t) if x in keep), screening=dataclasses.replace(
            request.screening, desk_bound=False))
    [p] = refusal(req)
    assert type(p) is EmptyPlan and p.field == "exercises"


@pytest.mark.parametrize("ex_id", sorted(CAT.exercises))
def test_what_leaves_an_exercise_out_is_the_documented_rule_for_every_exercise(ex_id):
    """For every catalogue exercise, not only those a template reaches today, and every set of
    answers: the rule that leaves it out (as it stands after swaps) is excluded_when first, then
    hamstring loading with a tendon injury, then straight-knee long holds or nerve tensioners
    with a nerve sign, then straight-knee long holds with high irritability."""
    ex = CAT.exercises[ex_id]
    for n in range(len(rules.ANSWER_ORDER) + 1):
        for answers in itertools.combinations(rules.ANSWER_ORDER, n):
            assert (rules.left_out_by(ex, answers) or "") == leaves_out(ex_id, list(answers))
            for a in answers:
                assert rules.swap_target(ex, a) == ex.swaps.get(a)


@MANY
@given(requests_with(finding_sets(max_size=0)), st.sampled_from([NOTE, "", "  "]))
def test_no_clearance_is_stored_when_no_finding_is_present(request, note):
    plan = assemble_plan(CAT, dataclasses.replace(request, clearance=RedFlagClearance(note)))
    assert plan.clearance is None and plan.red_flags_present == ()
