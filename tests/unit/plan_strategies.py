"""Hypothesis strategies for plan requests, valid by construction or invalid in one known way,
and the expectations the safety properties check plans against.

Two parts, kept apart on purpose:
- Requests and dose changes (template structure, dose ranges): independent of the screening rules.
- SCREENING RULES (marked below): which findings belong to which rule, the records a valid
  request carries, what a swap, an exclusion and easing do. When the screening model changes
  (plans/rules.py, plans/data/screening.yaml), only that part and
  tests/unit/test_plans_rule_properties.py need re-targeting.

The expectations are the documented rules (docs/clinical-rules.md, plans/assembly.py's
docstring) written out independently of the code: the findings of each rule are listed here by
hand from docs/clinical-rules.md (a test checks they match screening.yaml), and the exercise
outcomes are computed from the catalogue's exercise data, not from plans/rules.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from dataclasses import dataclass

from hypothesis import settings
from hypothesis import strategies as st

from plans.assembly import ADDED_PHASE, DESK_DAY_EXERCISES, DESK_PHASE, REASONS, assemble_plan
from plans.catalogue import default_catalogue
from plans.errors import PlanError
from plans.model import (
    CaudaEquinaRuleOut,
    Dose,
    Irritability,
    PlanRequest,
    RedFlagClearance,
    RiskFactorReview,
    SameDayReview,
    Screening,
    Template,
)

CAT = default_catalogue()
TEMPLATES = [t.id for t in CAT.approved_templates()]
EASED_FIELDS = ("hold_seconds", "duration_seconds", "reps", "sets")
HOW_OFTEN = ("times_per_day", "days_per_week")
TODAY = "2026-12-03"
NOTE = "Seen in clinic today: the night pain comes from a sore shoulder, not the back."


# Under the mutation gate a mutant the example tests miss reruns every property: the broad
# random sweeps draw fewer examples there, so the gate stays inside CI's time.
GATE = os.environ.get("LIMBER_HYPOTHESIS_PROFILE") == "mutation"


def examples(n: int, under_gate: int) -> settings:
    return settings(max_examples=under_gate if GATE else n, deadline=None)


def in_phases(t: Template) -> list[str]:
    return [i.exercise_id for p in t.phases for i in p.items]


def refusal(request: PlanRequest) -> list[PlanError]:
    """Every problem the request is refused for; fails the test if it is accepted."""
    try:
        plan = assemble_plan(CAT, request)
    except PlanError as error:
        return list(getattr(error, "problems", [error]))
    raise AssertionError(f"accepted, with exercises {[e.id for e in plan.exercises]}")


# ---- SCREENING RULES (re-target with plans/rules.py) ---------------------------------------

# docs/clinical-rules.md, "Screening categories", finding by finding.
CAUDA = ("saddle_numbness", "bladder_change", "bowel_control_loss", "sexual_dysfunction",
         "both_legs_or_worsening_weakness", "new_unsteadiness")
RISK = ("cancer_history", "age_over_50_new_pain", "long_term_steroids", "osteoporosis",
        "weak_immune_system", "injected_drug_use", "recent_infection", "significant_trauma")
SAME_DAY = ("fever_or_unwell", "weight_loss", "night_pain", "upper_mid_back_pain",
            "fall_or_injury", "spreading_leg_symptoms")
NERVE = ("leg_pain_below_knee", "tingling_burning", "nerve_feelings_in_stretch",
         "both_legs_or_worsening_weakness", "spreading_leg_symptoms")
TENDON = ("hamstring_pop",)
SLOW_DOWN = ("pain_spikes_after_stretching", "no_improvement")
RULES = {"cauda_equina": CAUDA, "risk_factor": RISK, "same_day": SAME_DAY, "nerve": NERVE,
         "hamstring_tendon": TENDON, "slow_down": SLOW_DOWN}
FLAGS = list(CAT.screening.findings)  # every finding, in screening.yaml order

# Meaningful records: who (a name), what was found (4+ different words), reasons (4+ words).
NAMES = ["Dr R. Shah", "Zoë Ångström", "Jo", "physio K. O'Neill"]
FINDINGS = ["Saddle sensation normal, stable, already investigated",
            "normal perianal sensation and tone; MRI last year unchanged",
            "Sensibilité normale, déjà investiguée, stable"]
REASONS_TEXT = ["night pain is from the shoulder", "Weight loss is a planned diet",
                "Fever was a cold last week, now gone", NOTE]


def nerve_on(s: Screening) -> bool:
    return s.nerve_symptoms or bool(s.red_flags & set(NERVE))


def active_answers(s: Screening) -> list[str]:
    """Answers exercises react to, in the order the swaps run: nerve, irritability, tendon."""
    return [a for a, on in (("nerve_symptoms", nerve_on(s)),
                            ("high_irritability", s.irritability is Irritability.HIGH),
                            ("hamstring_tendon", bool(s.red_flags & set(TENDON)))) if on]


def eases(s: Screening) -> bool:
    """Shorter and fewer: a nerve-related sign or high irritability."""
    return nerve_on(s) or s.irritability is Irritability.HIGH


def present(s: Screening) -> tuple[str, ...]:
    return tuple(f for f in FLAGS if f in s.red_flags)


def suits(template_id: str, s: Screening) -> bool:
    """progression declares it does not suit high irritability (docs/clinical-rules.md)."""
    return not (template_id == "progression" and s.irritability is Irritability.HIGH)


def leaves_out(ex_id: str, answers: list[str]) -> str:
    """The answer that leaves this exercise (as it stands after swaps) out, else ""."""
    ex = CAT.exercises[ex_id]
    for a in answers:
        if a in ex.excluded_when:
            return a
    if "hamstring_tendon" in answers and ex.hamstring_load:
        return "hamstring_tendon"
    if "nerve_symptoms" in answers and (ex.straight_knee_long_hold or ex.nerve_tensioning):
        return "nerve_symptoms"
    if "high_irritability" in answers and ex.straight_knee_long_hold:
        return "high_irritability"
    return ""


@dataclass(frozen=True)
class Expected:
    """One exercise as the rules say it must reach the patient, before clinician dose changes."""

    id: str
    phase: str
    dose: Dose  # after swaps and easing
    base: Dose  # before easing: the template's dose, or the exercise's own after a swap
    reasons: tuple[str, ...]
    replaced: str  # the template's exercise it stands in for after a swap, else ""


@dataclass(frozen=True)
class Outcome:
    exercises: list[Expected]
    left_out: list[tuple[str, str]]  # (id before any swap, the answer that left it out)


def slots_of(request: PlanRequest) -> list[tuple[str, Dose | None, str]]:
    """Template phases minus removals, then additions, then desk-day moves not already there."""
    t = CAT.template(request.template_id)
    slots = [(i.exercise_id, i.dose, p.name) for p in t.phases for i in p.items
             if i.exercise_id not in request.remove_exercises]
    slots += [(x, None, ADDED_PHASE) for x in dict.fromkeys(request.add_exercises)
              if x not in in_phases(t)]
    if request.screening.desk_bound:
        for x in DESK_DAY_EXERCISES:
            if x in t.optional_exercises and x not in {sl[0] for sl in slots}:
                slots.append((x, None, DESK_PHASE))
    return slots


def expected_outcome(request: PlanRequest) -> Outcome:
    """The rules in words: each answer in turn leaves out (excluded_when) or swaps; after the
    swaps an exercise the answers rule out is left out (tendon: hamstring loading; nerve:
    straight-knee long hold or nerve tensioning; high irritability: straight-knee long hold);
    the first of two identical exercises stays; a nerve sign or high irritability eases holds,
    time, repeats and sets to the bottom of each range, leaving how often alone."""
    s = request.screening
    answers = active_answers(s)
    out: list[Expected] = []
    left: list[tuple[str, str]] = []
    for ex_id, item_dose, phase in slots_of(request):
        ex = CAT.exercises[ex_id]
        base = item_dose or ex.dose
        reasons: list[str] = []
        gone = ""
        for a in answers:
            if a in ex.excluded_when:
                gone = a
                break
            if ex.swaps.get(a):
                ex = CAT.exercises[ex.swaps[a]]
                base = ex.dose
                reasons.append(REASONS[a])
        gone = gone or leaves_out(ex.id, answers)
        if gone:
            left.append((ex_id, gone))
            continue
        if any(o.id == ex.id for o in out):
            continue
        dose = base
        if eases(s):
            bounds = ex.dose_range.bounds
            dose = base.with_changes({f: bounds[f][0] for f in EASED_FIELDS
                                      if f in bounds and getattr(base, f) is not None})
            if dose != base:
                why = ("nerve_eased_dose" if nerve_on(s) and s.irritability is not
                       Irritability.HIGH else "eased_dose")
                reasons.append(REASONS[why])
        out.append(Expected(ex.id, phase, dose, base, tuple(dict.fromkeys(reasons)),
                            ex_id if ex.id != ex_id else ""))
    return Outcome(out, left)


def expected_exercises(request: PlanRequest) -> list[Expected]:
    return expected_outcome(request).exercises


def survivors(template_id: str, s: Screening) -> list[str]:
    """The template's phase exercises that reach the plan under these answers."""
    gone = {x for x, _ in expected_outcome(PlanRequest(template_id, "P.Q.", s)).left_out}
    return [x for x in in_phases(CAT.template(template_id)) if x not in gone]


rule_outs = st.builds(
    CaudaEquinaRuleOut, st.sampled_from(NAMES),
    st.integers(0, 800).map(lambda d: (dt.date.fromisoformat(TODAY)
                                       - dt.timedelta(days=d)).isoformat()),
    st.sampled_from(FINDINGS))
risk_reviews = st.builds(RiskFactorReview, st.sampled_from(["low", "moderate", "high"]),
                         st.sampled_from(["proceed_with_safety_netting", "investigate", "refer"]),
                         st.sampled_from(["", "Bloods ordered."]))
# Same-day signs: referred today (any reason, even none), or explained in meaningful words.
same_day_reviews = (st.builds(SameDayReview, st.just("referred"), st.sampled_from(["", "ok"]))
                    | st.builds(SameDayReview, st.just("explained"),
                                st.sampled_from(REASONS_TEXT)))
# A record for a rule whose findings are absent is never read, whatever it says.
stray_records = st.fixed_dictionaries({
    "cauda_equina_rule_out": st.none() | st.just(CaudaEquinaRuleOut("", "soon", "ok")),
    "risk_factor_review": st.none() | st.just(RiskFactorReview("?", "?")),
    "same_day_review": st.none() | st.just(SameDayReview("maybe", "")),
    "tendon_referral": st.booleans(),
})


def finding_sets(min_size: int = 0, max_size: int = 4, of=tuple(FLAGS)):
    return st.frozensets(st.sampled_from(list(of)), min_size=min_size, max_size=max_size)


screenings = st.builds(
    Screening,
    red_flags=finding_sets(),
    nerve_symptoms=st.booleans(),
    irritability=st.sampled_from(list(Irritability)),
    desk_bound=st.booleans(),
)


@st.composite
def with_records(draw, s: Screening) -> tuple[Screening, RedFlagClearance | None]:
    """The screening with every record its findings require, meaningful and complete; the
    same-day reason is sometimes given the first API's way, as a clearance note."""
    flags = s.red_flags
    stray = draw(stray_records)
    clearance = None
    same_day = stray["same_day_review"]
    if flags & set(SAME_DAY):
        same_day = draw(st.none() | same_day_reviews)
        if same_day is None:
            clearance = RedFlagClearance(draw(st.sampled_from(REASONS_TEXT)))
    elif draw(st.booleans()):
        clearance = RedFlagClearance(draw(st.sampled_from([NOTE, "", "  "])))
    s = dataclasses.replace(
        s,
        cauda_equina_rule_out=draw(rule_outs) if flags & set(CAUDA)
        else stray["cauda_equina_rule_out"],
        risk_factor_review=draw(risk_reviews) if flags & set(RISK)
        else stray["risk_factor_review"],
        same_day_review=same_day,
        tendon_referral=True if flags & set(TENDON) else stray["tendon_referral"],
    )
    return s, clearance


# ---- Requests ----------------------------------------------------------------------------


ANY_TEMPLATE = st.sampled_from(TEMPLATES)


@st.composite
def valid_requests(draw, screening=screenings, templates=ANY_TEMPLATE):
    """A request every rule accepts: a template that suits the answers, every record the
    findings require, removals from its phases that always keep one exercise the rules let
    through, additions from its optional set, and no dose changes (valid_dose_changes adds
    those against the plan it builds)."""
    s = draw(screening)
    t = CAT.template(draw(templates.filter(lambda t_id: suits(t_id, s))))
    s, clearance = draw(with_records(s))
    items = in_phases(t)
    keep = draw(st.sampled_from(survivors(t.id, s)))
    removable = [x for x in items if x != keep]
    return PlanRequest(
        template_id=t.id,
        patient_name=draw(st.sampled_from(["P.Q.", "Zoë Ångström", "A"])),
        screening=s,
        add_exercises=tuple(draw(st.lists(st.sampled_from(t.optional_exercises), max_size=3))),
        remove_exercises=tuple(draw(st.lists(st.sampled_from(removable), max_size=len(items) - 1,
                                             unique=True))),
        notes=draw(st.sampled_from(["", "Ice after.\nWalk daily."])),
        clearance=clearance,
        today=draw(st.sampled_from([TODAY, None])),
    )


@st.composite
def valid_dose_changes(draw, plan):
    """Dose changes inside the range of exercises that are in `plan`, ends included."""
    changes: dict[str, dict[str, int]] = {}
    for e in draw(st.lists(st.sampled_from(plan.exercises), max_size=3, unique_by=lambda e: e.id)
                  ) if plan.exercises else []:
        fields = draw(st.lists(st.sampled_from(sorted(e.dose_range.bounds)), min_size=1,
                               max_size=3, unique=True))
        changes[e.id] = {
            f: draw(st.sampled_from(e.dose_range.bounds[f]) | st.integers(*e.dose_range.bounds[f]))
            for f in fields
        }
    return changes
