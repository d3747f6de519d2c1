"""Builds a patient's plan from a vetted template and the clinician's screening, safely.

Every problem with a request is found in one pass and raised together as PlanRefused, each
with its own field, so a clinician fixes them all at once. The rules, in the order they run
(plans/rules.py holds the screening rules; docs/clinical-rules.md lists them with sources):

1. Screening. Unknown finding ids, and each record a present finding requires (cauda equina
   rule-out, risk-factor review, same-day review, tendon referral): plans.rules.
   Template fitness: a template that declares it does not suit an answer is refused.
2. Exercises. The template's phases, minus `remove_exercises`, plus `add_exercises` (only from
   the template's optional set) in a phase "Added by your clinician". A desk-bound patient also
   gets each desk-day move the template lists as optional, in a phase "Desk-day moves".
3. Safety swaps, answer by answer (nerve, high irritability, tendon): an exercise with a swap
   for the answer is replaced; one the rules leave out (excluded_when; a straight-knee long hold
   or nerve-tensioning move with a nerve finding; hamstring loading with a suspected tendon
   injury) is dropped and listed in `left_out`. A repeat after swapping is dropped.
4. Eased dose (a nerve finding or high irritability): "short" holds and "fewer" repeats mean
   the lowest value of the exercise's own allowed range for hold_seconds, duration_seconds,
   reps and sets. How often (times a day, days a week) is unchanged.
5. Dose changes from the clinician, applied last, so an explicit choice wins; each value must be
   inside the range of the exercise that ends up in the plan, else DoseOutOfRange.
6. A plan with no exercises left is refused (EmptyPlan).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from plans import rules
from plans.catalogue import Catalogue
from plans.dosage import dose_text
from plans.errors import (
    DoseOutOfRange,
    EmptyPlan,
    PlanError,
    PlanRefused,
    UnknownExercise,
)
from plans.guide import default_guide, phase_notes
from plans.model import (
    DOSE_FIELDS,
    Dose,
    Exercise,
    LeftOut,
    Plan,
    PlanRequest,
    ResolvedExercise,
    Screening,
)

# Moves from the seed's "desk-bound days" advice. Desk-bound adds those a template lists as
# optional; a template that does not list them (or already has them in a phase) is unchanged.
DESK_DAY_EXERCISES = ("stool_forward_fold", "seated_knee_extension")
ADDED_PHASE = "Added by your clinician"
DESK_PHASE = "Desk-day moves"
# Dose fields the high-irritability rule lowers to the bottom of the exercise's range.
EASED_FIELDS = ("hold_seconds", "duration_seconds", "reps", "sets")

REASONS = {
    "nerve_symptoms": "You have nerve-type feelings in your leg, so this is a version that "
    "pulls less on the nerve.",
    "high_irritability": "Your back is easily upset right now, so this is a gentler version.",
    "eased_dose": "Your back is easily upset right now, so the holds are short and the repeats "
    "are few.",
    "nerve_eased_dose": "You have nerve-type feelings in your leg, so the holds are short and "
    "the repeats are few.",
}


@dataclass
class _Slot:
    """One exercise on its way into the plan."""

    exercise: Exercise
    dose: Dose
    phase: str
    template_id: str  # the id the template (or request) named, before any swap
    reasons: list[str]
    eased: frozenset[str] = frozenset()  # dose fields the high-irritability rule lowered


def active_answers(catalogue: Catalogue, screening: Screening) -> tuple[str, ...]:
    """The screening answers exercises may react to (the keys of swaps and excluded_when)."""
    return rules.effects(catalogue.screening, screening).answers


def _apply_safety(catalogue: Catalogue, slot: _Slot, answers: tuple[str, ...],
                  ease: bool) -> tuple[_Slot | None, str]:
    """The slot after the safety rules, or (None, answer that left it out)."""
    for answer in answers:
        if answer in slot.exercise.excluded_when:
            return None, answer
        target = rules.swap_target(slot.exercise, answer)
        if target:
            slot.exercise = catalogue.exercises[target]
            slot.dose = slot.exercise.dose
            slot.reasons.append(REASONS[answer])
    gone = rules.left_out_by(slot.exercise, answers)
    if gone:
        return None, gone
    if ease:
        bounds = slot.exercise.dose_range.bounds
        eased = {
            f: bounds[f][0]
            for f in EASED_FIELDS
            if f in bounds and getattr(slot.dose, f) is not None
            and getattr(slot.dose, f) != bounds[f][0]
        }
        if eased:
            slot.dose = slot.dose.with_changes(eased)
            slot.eased = frozenset(eased)
            nerve = rules.NERVE in answers and rules.HIGH_IRRITABILITY not in answers
            slot.reasons.append(REASONS["nerve_eased_dose" if nerve else "eased_dose"])
    return slot, ""


def _apply_dose_changes(slots: list[_Slot], changes: dict[str, dict[str, int]],
                        known_ids: set[str], problems: list[PlanError]) -> None:
    for key in sorted(changes):
        slot = next((s for s in slots if key in (s.exercise.id, s.template_id)), None)
        if slot is None:
            if key not in known_ids:
                problems.append(UnknownExercise(key, f"dose_changes.{key}"))
            continue  # removed, or left out by a safety rule: nothing to dose
        bounds = slot.exercise.dose_range.bounds
        ok: dict[str, int] = {}
        for name in sorted(changes[key]):
            value = changes[key][name]
            if name not in DOSE_FIELDS or name not in bounds:
                problems.append(DoseOutOfRange(key, name, value, None, None))
                continue
            lo, hi = bounds[name]
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                problems.append(DoseOutOfRange(key, name, value, lo, hi))
                continue
            ok[name] = value
        slot.dose = slot.dose.with_changes(ok)
        if slot.eased and slot.eased <= set(ok):
            # The clinician chose every eased value themselves: the rule no longer explains it.
            slot.reasons = [r for r in slot.reasons
                            if r not in (REASONS["eased_dose"], REASONS["nerve_eased_dose"])]
            slot.eased = frozenset()


def resolve_plan(catalogue: Catalogue, request: PlanRequest) -> tuple[Plan | None,
                                                                         list[PlanError]]:
    """The plan as far as it can be resolved, and every problem with the request.

    The plan is None only when the template is unknown. Pure: same inputs, same answer (the
    request's `today`, or the system date when it is None, is the only date read).
    """
    problems: list[PlanError] = []
    try:
        template = catalogue.template(request.template_id)
    except PlanError as error:
        problems.append(error)
        problems += rules.screening_problems(catalogue.screening, request.screening,
                                             _today(request), _clearance_note(request))
        return None, problems
    eff = rules.effects(catalogue.screening, request.screening)
    problems += rules.screening_problems(catalogue.screening, request.screening,
                                         _today(request), _clearance_note(request))
    problems += rules.template_problems(template, eff.answers)

    in_phases = [i.exercise_id for p in template.phases for i in p.items]
    for ex_id in request.remove_exercises:
        if ex_id not in in_phases:
            problems.append(UnknownExercise(ex_id, "remove_exercises"))
    for ex_id in request.add_exercises:
        if ex_id not in template.optional_exercises:
            problems.append(UnknownExercise(ex_id, "add_exercises"))

    slots: list[_Slot] = []

    def add(ex_id: str, dose: Dose | None, phase: str) -> None:
        ex = catalogue.exercises[ex_id]
        slots.append(_Slot(ex, dose or ex.dose, phase, ex_id, []))

    for phase in template.phases:
        for item in phase.items:
            if item.exercise_id not in request.remove_exercises:
                add(item.exercise_id, item.dose, phase.name)
    for ex_id in dict.fromkeys(request.add_exercises):
        if ex_id not in in_phases and ex_id in template.optional_exercises:
            add(ex_id, None, ADDED_PHASE)
    if request.screening.desk_bound:
        for ex_id in DESK_DAY_EXERCISES:
            already = {s.template_id for s in slots}
            if ex_id in template.optional_exercises and ex_id not in already:
                add(ex_id, None, DESK_PHASE)

    safe: list[_Slot] = []
    left_out: list[LeftOut] = []
    for slot in slots:
        original = slot.exercise
        kept, gone = _apply_safety(catalogue, slot, eff.answers, eff.ease_dose)
        if kept is None:
            left_out.append(LeftOut(original.id, original.name, rules.LEFT_OUT_WHY[gone]))
        elif all(s.exercise.id != kept.exercise.id for s in safe):
            safe.append(kept)

    known_ids = set(in_phases) | set(template.optional_exercises)
    _apply_dose_changes(safe, request.dose_changes, known_ids, problems)
    if not safe:
        problems.append(EmptyPlan())

    present = eff.present
    plan = Plan(
        template_id=template.id,
        template_version=template.version,
        template_hash=template.content_hash,
        title=template.title,
        summary=template.summary,
        patient_name=request.patient_name,
        screening=request.screening,
        exercises=tuple(_resolve(s) for s in safe),
        red_flags=catalogue.red_flags,
        red_flags_present=present,
        clearance=request.clearance if present else None,
        habit_anchor=template.habit_anchor,
        tracking_prompts=template.tracking_prompts,
        faq=template.faq,
        sources=tuple(catalogue.sources[s] for s in template.sources),
        notes=request.notes,
        red_flag_tiers=tuple(catalogue.tier_guidance.values()),
        left_out=tuple(left_out),
        # The handout groups exercises under their phases and prints each phase's note.
        phase_notes=phase_notes(list(dict.fromkeys(s.phase for s in safe)),
                                {p.name: p.note for p in template.phases}),
        guide=default_guide()[0],
    )
    return plan, problems


def _today(request: PlanRequest) -> dt.date:
    return dt.date.fromisoformat(request.today) if request.today else dt.date.today()


def _clearance_note(request: PlanRequest) -> str | None:
    return request.clearance.note if request.clearance is not None else None


def assemble_plan(catalogue: Catalogue, request: PlanRequest) -> Plan:
    """The resolved plan for one patient. Pure: same catalogue and request, same plan.

    Raises PlanRefused listing every problem (UnknownTemplate, UnknownRedFlag,
    ScreeningIncomplete, TemplateUnsuited, UnknownExercise, DoseOutOfRange, EmptyPlan), each a
    PlanError with `.field` set.
    """
    plan, problems = resolve_plan(catalogue, request)
    if problems or plan is None:
        raise PlanRefused(problems)
    return plan


def _resolve(slot: _Slot) -> ResolvedExercise:
    e = slot.exercise
    return ResolvedExercise(
        id=e.id,
        name=e.name,
        purpose=e.purpose,
        steps=e.steps,
        cues=e.cues,
        feel=e.feel,
        back_off=e.back_off,
        dose=slot.dose,
        dose_range=e.dose_range,
        dose_text=dose_text(slot.dose),
        phase=slot.phase,
        pose=e.pose,
        illustration_alt=e.illustration_alt,
        adapted_because=" ".join(dict.fromkeys(slot.reasons)),
        replaced=slot.template_id if slot.template_id != e.id else "",
    )
