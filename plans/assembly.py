"""Builds a patient's plan from a vetted template and the clinician's screening, safely.

The rules, in the order they run (docs/templates.md explains the judgement calls):

1. Red flags. An unknown flag id raises UnknownRedFlag. Any flag present raises RedFlagPresent
   (most urgent tier first) unless the request carries a clearance with a non-empty note; then
   the plan records the flags and the clearance. Every plan carries every red flag, all tiers.
2. Exercises. The template's phases, minus `remove_exercises`, plus `add_exercises` (only from
   the template's optional set) in a phase "Added by your clinician". A desk-bound patient also
   gets each desk-day move the template lists as optional, in a phase "Desk-day moves".
3. Safety swaps. Nerve symptoms swap each exercise for its `swaps["nerve_symptoms"]`; high
   irritability then swaps by `swaps["high_irritability"]`. An exercise whose `excluded_when`
   matches an answer is left out. A straight-knee long hold never survives nerve symptoms or high
   irritability: if the data gave it no swap (vetting forbids that) it is left out. A repeat
   after swapping is dropped.
4. High irritability dose: "short" holds and "fewer" repeats mean the lowest value of the
   exercise's own allowed range for hold_seconds, duration_seconds, reps and sets. How often
   (times a day, days a week) is unchanged. Moderate or low irritability changes nothing.
5. Dose changes from the clinician, applied last, so an explicit choice wins; each value must be
   inside the range of the exercise that ends up in the plan, else DoseOutOfRange.
"""

from __future__ import annotations

from dataclasses import dataclass

from plans.catalogue import TIER_ORDER, Catalogue
from plans.dosage import dose_text
from plans.errors import (
    DoseOutOfRange,
    EmptyClearance,
    RedFlagPresent,
    UnknownExercise,
    UnknownRedFlag,
)
from plans.guide import default_guide, phase_notes
from plans.model import (
    DOSE_FIELDS,
    Dose,
    Exercise,
    Irritability,
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


def active_answers(screening: Screening) -> tuple[str, ...]:
    """The screening answers exercises may react to (the keys of swaps and excluded_when)."""
    out = []
    if screening.nerve_symptoms:
        out.append("nerve_symptoms")
    if screening.irritability is Irritability.HIGH:
        out.append("high_irritability")
    return tuple(out)


def _check_red_flags(catalogue: Catalogue, request: PlanRequest) -> tuple[str, ...]:
    known = {f.id: f for f in catalogue.red_flags}
    for flag_id in sorted(request.screening.red_flags):
        if flag_id not in known:
            raise UnknownRedFlag(flag_id)
    present = sorted(
        request.screening.red_flags,
        key=lambda i: (TIER_ORDER.index(known[i].tier), i),
    )
    if present:
        if request.clearance is None:
            raise RedFlagPresent(known[present[0]].tier.value, present)
        if not request.clearance.note.strip():
            raise EmptyClearance()
    return tuple(present)


def _apply_safety(catalogue: Catalogue, slot: _Slot, answers: tuple[str, ...]) -> _Slot | None:
    for answer in answers:
        if answer in slot.exercise.excluded_when:
            return None
        target = slot.exercise.swaps.get(answer)
        if target:
            slot.exercise = catalogue.exercises[target]
            slot.dose = slot.exercise.dose
            slot.reasons.append(REASONS[answer])
            if answer in slot.exercise.excluded_when:
                return None
    if answers and slot.exercise.straight_knee_long_hold:
        return None
    if "high_irritability" in answers:
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
            slot.reasons.append(REASONS["eased_dose"])
    return slot


def _apply_dose_changes(slots: list[_Slot], changes: dict[str, dict[str, int]],
                        known_ids: set[str]) -> None:
    for key in sorted(changes):
        slot = next((s for s in slots if key in (s.exercise.id, s.template_id)), None)
        if slot is None:
            if key in known_ids:
                continue  # removed, or left out by a safety rule: nothing to dose
            raise UnknownExercise(key, f"dose_changes.{key}")
        bounds = slot.exercise.dose_range.bounds
        for name in sorted(changes[key]):
            value = changes[key][name]
            if name not in DOSE_FIELDS or name not in bounds:
                raise DoseOutOfRange(key, name, value, None, None)
            lo, hi = bounds[name]
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise DoseOutOfRange(key, name, value, lo, hi)
        slot.dose = slot.dose.with_changes(dict(changes[key]))
        if slot.eased and slot.eased <= set(changes[key]):
            # The clinician chose every eased value themselves: the rule no longer explains it.
            slot.reasons.remove(REASONS["eased_dose"])
            slot.eased = frozenset()


def assemble_plan(catalogue: Catalogue, request: PlanRequest) -> Plan:
    """The resolved plan for one patient. Pure: same catalogue and request, same plan.

    Raises UnknownTemplate, UnknownRedFlag, RedFlagPresent, EmptyClearance, UnknownExercise
    (field `add_exercises`, `remove_exercises` or `dose_changes.<id>`) and DoseOutOfRange
    (field `dose_changes.<id>.<dose field>`); all are PlanError with `.field` set.
    """
    template = catalogue.template(request.template_id)
    present = _check_red_flags(catalogue, request)

    in_phases = [i.exercise_id for p in template.phases for i in p.items]
    for ex_id in request.remove_exercises:
        if ex_id not in in_phases:
            raise UnknownExercise(ex_id, "remove_exercises")
    for ex_id in request.add_exercises:
        if ex_id not in template.optional_exercises:
            raise UnknownExercise(ex_id, "add_exercises")

    slots: list[_Slot] = []

    def add(ex_id: str, dose: Dose | None, phase: str) -> None:
        ex = catalogue.exercises[ex_id]
        slots.append(_Slot(ex, dose or ex.dose, phase, ex_id, []))

    for phase in template.phases:
        for item in phase.items:
            if item.exercise_id not in request.remove_exercises:
                add(item.exercise_id, item.dose, phase.name)
    for ex_id in dict.fromkeys(request.add_exercises):
        if ex_id not in in_phases:
            add(ex_id, None, ADDED_PHASE)
    if request.screening.desk_bound:
        for ex_id in DESK_DAY_EXERCISES:
            already = {s.template_id for s in slots}
            if ex_id in template.optional_exercises and ex_id not in already:
                add(ex_id, None, DESK_PHASE)

    answers = active_answers(request.screening)
    safe: list[_Slot] = []
    for slot in slots:
        kept = _apply_safety(catalogue, slot, answers)
        if kept is not None and all(s.exercise.id != kept.exercise.id for s in safe):
            safe.append(kept)

    known_ids = set(in_phases) | set(template.optional_exercises)
    _apply_dose_changes(safe, request.dose_changes, known_ids)

    return Plan(
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
        # The handout groups exercises under their phases and prints each phase's note.
        phase_notes=phase_notes(list(dict.fromkeys(s.phase for s in safe)),
                                {p.name: p.note for p in template.phases}),
        guide=default_guide()[0],
    )


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
    )
