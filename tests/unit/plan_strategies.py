"""Hypothesis strategies for plan requests, valid by construction or invalid in one known way,
and the expectations the safety properties check plans against.

Two parts, kept apart on purpose:
- Requests and dose changes (template structure, dose ranges): independent of the screening rules.
- SCREENING RULES (marked below): which answers are active, how red flags are cleared, what a
  swap or exclusion does. When the screening model changes (plans/rules.py), only that part and
  tests/unit/test_plans_rule_properties.py need re-targeting.

The expectations are the documented rules (plans/assembly.py's docstring, docs/templates.md)
written out independently of the code, from the catalogue's data.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from plans.assembly import ADDED_PHASE, DESK_DAY_EXERCISES, DESK_PHASE, REASONS, assemble_plan
from plans.catalogue import default_catalogue
from plans.errors import PlanError
from plans.model import (
    Dose,
    Irritability,
    PlanRequest,
    RedFlagClearance,
    Screening,
    Template,
)

CAT = default_catalogue()
TEMPLATES = [t.id for t in CAT.approved_templates()]
FLAGS = [f.id for f in CAT.red_flags]
EASED_FIELDS = ("hold_seconds", "duration_seconds", "reps", "sets")
HOW_OFTEN = ("times_per_day", "days_per_week")
NOTE = "Assessed in clinic today; no deficit; cleared for gentle exercise."


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

def active_answers(s: Screening) -> list[str]:
    """Answers exercises react to, in the order the swaps run."""
    return [a for a, on in (("nerve_symptoms", s.nerve_symptoms),
                            ("high_irritability", s.irritability is Irritability.HIGH)) if on]


def clearance_for(s: Screening) -> RedFlagClearance | None:
    """The clearance a valid request carries: a real note when a red flag is present."""
    return RedFlagClearance(NOTE) if s.red_flags else None


@dataclass(frozen=True)
class Expected:
    """One exercise as the rules say it must reach the patient, before clinician dose changes."""

    id: str
    phase: str
    dose: Dose  # after swaps and easing
    base: Dose  # before easing: the template's dose, or the exercise's own after a swap
    reasons: tuple[str, ...]


def expected_exercises(request: PlanRequest) -> list[Expected]:
    """The rules in words: template phases minus removals, then additions, then desk-day moves;
    each answer in turn swaps or excludes; a straight-knee long hold never survives an answer;
    the first of two identical exercises stays; high irritability eases to the bottom of each
    range, leaving how often alone."""
    t = CAT.template(request.template_id)
    s = request.screening
    slots = [(i.exercise_id, i.dose, p.name) for p in t.phases for i in p.items
             if i.exercise_id not in request.remove_exercises]
    slots += [(x, None, ADDED_PHASE) for x in dict.fromkeys(request.add_exercises)
              if x not in in_phases(t)]
    if s.desk_bound:
        for x in DESK_DAY_EXERCISES:
            if x in t.optional_exercises and x not in {sl[0] for sl in slots}:
                slots.append((x, None, DESK_PHASE))
    answers = active_answers(s)
    out: list[Expected] = []
    for ex_id, item_dose, phase in slots:
        ex = CAT.exercises[ex_id]
        base = item_dose or ex.dose
        reasons: list[str] = []
        left_out = False
        for a in answers:
            if a in ex.excluded_when:
                left_out = True
                break
            if ex.swaps.get(a):
                ex = CAT.exercises[ex.swaps[a]]
                base = ex.dose
                reasons.append(REASONS[a])
                if a in ex.excluded_when:
                    left_out = True
                    break
        if left_out or (answers and ex.straight_knee_long_hold):
            continue
        if any(o.id == ex.id for o in out):
            continue
        dose = base
        if "high_irritability" in answers:
            bounds = ex.dose_range.bounds
            eased = {f: bounds[f][0] for f in EASED_FIELDS
                     if f in bounds and getattr(base, f) is not None}
            dose = base.with_changes(eased)
            if dose != base:
                reasons.append(REASONS["eased_dose"])
        out.append(Expected(ex.id, phase, dose, base, tuple(reasons)))
    return out


screenings = st.builds(
    Screening,
    red_flags=st.frozensets(st.sampled_from(FLAGS), max_size=4),
    nerve_symptoms=st.booleans(),
    irritability=st.sampled_from(list(Irritability)),
    desk_bound=st.booleans(),
)

# ---- Requests ----------------------------------------------------------------------------


ANY_TEMPLATE = st.sampled_from(TEMPLATES)


@st.composite
def valid_requests(draw, screening=screenings, templates=ANY_TEMPLATE):
    """A request every rule accepts: a known template, removals from its phases (never all),
    additions from its optional set, a clearance note whenever a red flag is ticked, and no
    dose changes (valid_dose_changes adds those against the plan it builds)."""
    t = CAT.template(draw(templates))
    items = in_phases(t)
    s = draw(screening)
    return PlanRequest(
        template_id=t.id,
        patient_name=draw(st.sampled_from(["P.Q.", "Zoë Ångström", "A"])),
        screening=s,
        add_exercises=tuple(draw(st.lists(st.sampled_from(t.optional_exercises), max_size=3))),
        remove_exercises=tuple(draw(st.lists(st.sampled_from(items), max_size=len(items) - 1,
                                             unique=True))),
        notes=draw(st.sampled_from(["", "Ice after.\nWalk daily."])),
        clearance=clearance_for(s),
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
