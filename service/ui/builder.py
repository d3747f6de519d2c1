"""The plan builder form: prefill, parse, validate and save, independent of who is signed in.

Portal embedding reuses these functions with its own auth source: nothing here reads the
session, `g` or the page chrome. Form field names are the API's dotted field paths (for example
`dose_changes.glute_bridge.reps`), so an error from the schema or the domain lands on the field
that caused it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

from plans.catalogue import TIER_ORDER, Catalogue, TierGuidance, default_catalogue
from plans.dosage import dose_text
from plans.errors import (
    DoseOutOfRange,
    FieldProblem,
    PlanError,
    PlanRefused,
    RedFlagPresent,
    UnknownExercise,
)
from plans.model import (
    DOSE_FIELDS,
    Dose,
    Finding,
    LeftOut,
    RedFlag,
    ResolvedExercise,
    ScreeningCategory,
    Template,
    Tier,
)
from plans.model import (
    Plan as DomainPlan,
)
from service import planning
from service.api.schemas import PlanCreateSchema
from service.models import Clinic, Plan

DOSE_LABELS = {
    "sets": "Sets",
    "reps": "Repeats",
    "hold_seconds": "Hold (seconds)",
    "duration_seconds": "Time (seconds)",
    "times_per_day": "Times a day",
    "days_per_week": "Days a week",
}
IRRITABILITY = (("low", "Low", "Settles within minutes; moving helps"),
                ("moderate", "Moderate", "Flares with some moves, settles within an hour"),
                ("high", "High", "Easily flared; slow to settle"))
PAGE_SIZES = (("letter", "US Letter"), ("a4", "A4"))
CONCERN_LEVELS = (("low", "Concern: low"), ("moderate", "Concern: moderate"),
                  ("high", "Concern: high"))
RISK_DECISIONS = (("proceed_with_safety_netting", "Proceed with safety-netting"),
                  ("investigate", "Investigate"), ("refer", "Refer"))
SAME_DAY_ACTIONS = (("referred", "Referred for same-day medical review"),
                    ("explained", "Explained: I record the reason below"))
# Text fields of the screening records, as the API names them.
RECORD_TEXT_FIELDS = (
    "screening.cauda_equina_rule_out.assessed_by", "screening.cauda_equina_rule_out.assessed_on",
    "screening.cauda_equina_rule_out.finding", "screening.risk_factor_review.concern",
    "screening.risk_factor_review.decision", "screening.risk_factor_review.note",
    "screening.same_day_review.action", "screening.same_day_review.reason",
)

# Domain fields that are spelled differently on the form.
_FIELD_ON_FORM = {"clearance.note": "red_flag_clearance.note",
                  "add_exercises": "exercises", "remove_exercises": "exercises"}


# What a printable-text problem is about, in the clinician's words.
_TEXT_LABELS = {"patient.display_name": "Patient's name", "notes": "Notes for the patient",
                "clinician": "Your name as the handout prints it",
                "clinic.name": "The clinic's name",
                "clinic.contact": "The clinic's contact details",
                "clinic.emergency_number": "The clinic's emergency number",
                "clinic.out_of_hours": "The clinic's out-of-hours help"}
# Of those, the ones the form has a field for (their problems are shown next to it).
_TEXT_ON_FORM = frozenset({"patient.display_name", "notes"})


@dataclass(frozen=True)
class DoseInput:
    name: str  # form field name
    label: str
    value: str
    default: int
    low: int
    high: int


@dataclass(frozen=True)
class ExerciseRow:
    id: str
    name: str
    purpose: str
    phase: str
    optional: bool
    included: bool
    doses: tuple[DoseInput, ...]
    # Fields the clinician cannot change, in words (e.g. "on each side").
    fixed_text: str
    # After the screening rules (known once the plan was checked): the exercise that takes
    # this one's place and why, or why it is left out.
    swapped_to: str = ""
    adapted_because: str = ""
    left_out_because: str = ""


@dataclass(frozen=True)
class ScreeningGroup:
    category: ScreeningCategory
    findings: tuple[Finding, ...]
    ticked: bool


@dataclass(frozen=True)
class RedFlagTier:
    tier: Tier
    guidance: TierGuidance
    flags: tuple[RedFlag, ...]
    ticked: bool


@dataclass
class BuilderForm:
    """What the clinician sees and typed: raw strings, so nothing they typed is ever lost."""

    template: Template
    values: dict[str, str] = field(default_factory=dict)
    red_flags: set[str] = field(default_factory=set)
    included: set[str] = field(default_factory=set)
    errors: dict[str, str] = field(default_factory=dict)
    # The plan as the rules resolve it, once checked (Check plan, live preview, or a save).
    preview: DomainPlan | None = None

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    def checked(self, name: str) -> bool:
        return self.values.get(name) == "1"

    @property
    def catalogue(self) -> Catalogue:
        return default_catalogue()

    def resolved(self, ex_id: str) -> tuple[ResolvedExercise | None, LeftOut | None]:
        """What the checked plan made of the template's exercise ex_id."""
        if self.preview is None:
            return None, None
        for e in self.preview.exercises:
            if ex_id in (e.id, e.replaced):
                return e, None
        return None, next((x for x in self.preview.left_out if x.id == ex_id), None)

    def exercise_rows(self) -> list[ExerciseRow]:
        rows = []
        for ex_id, phase, dose, optional in template_exercises(self.template):
            ex = self.catalogue.exercises[ex_id]
            resolved, left_out = self.resolved(ex_id) if ex_id in self.included else (None, None)
            shown, bounds = ex, ex.dose_range.bounds
            if resolved is not None:
                # The range after the swap is the one the clinician's numbers must fit.
                shown, bounds, dose = (self.catalogue.exercises[resolved.id],
                                       resolved.dose_range.bounds, resolved.dose)
            doses = tuple(
                DoseInput(name=f"dose_changes.{ex_id}.{f}", label=DOSE_LABELS[f],
                          value=self._dose_value(f"dose_changes.{ex_id}.{f}", getattr(dose, f)),
                          default=getattr(dose, f), low=bounds[f][0], high=bounds[f][1])
                for f in DOSE_FIELDS
                # A range of one value is a fixed dose: it reads as text, not as a box.
                if f in bounds and getattr(dose, f) is not None
                and bounds[f][0] != bounds[f][1])
            rows.append(ExerciseRow(
                id=ex_id, name=ex.name, purpose=shown.purpose, phase=phase, optional=optional,
                included=ex_id in self.included, doses=doses, fixed_text=dose_text(dose),
                swapped_to=shown.name if shown.id != ex_id else "",
                adapted_because=resolved.adapted_because if resolved else "",
                left_out_because=left_out.why if left_out else ""))
        return rows

    def _dose_value(self, name: str, default: int | None) -> str:
        """What the box shows: the clinician's own number if they changed it, else the dose
        the rules give now (so a swap's eased dose shows, not the template's old one)."""
        raw = self.values.get(name)
        if raw is None or raw.strip() == self.values.get(f"shown.{name}", "").strip():
            return str(default)
        return raw

    def screening_groups(self) -> list[ScreeningGroup]:
        model = self.catalogue.screening
        return [ScreeningGroup(c, tuple(f for f in model.findings.values() if f.category == c.id),
                               ticked=any(model.findings[f].category == c.id
                                          for f in self.red_flags if f in model.findings))
                for c in model.categories.values()]

    def red_flag_tiers(self) -> list[RedFlagTier]:
        out = []
        for tier in TIER_ORDER:
            flags = tuple(f for f in self.catalogue.red_flags if f.tier is tier)
            out.append(RedFlagTier(tier, self.catalogue.tier_guidance[tier], flags,
                                   ticked=any(f.id in self.red_flags for f in flags)))
        return out

    @property
    def blocked(self) -> bool:
        """Findings ticked whose records are missing: the last check listed screening problems."""
        return any(name.startswith("screening.") for name in self.errors)


def template_exercises(template: Template) -> list[tuple[str, str, Dose, bool]]:
    """(exercise id, phase, starting dose, optional?) for the template's phases, then its
    optional extras."""
    catalogue = default_catalogue()
    rows = [(item.exercise_id, phase.name, item.dose or catalogue.exercises[item.exercise_id].dose,
             False) for phase in template.phases for item in phase.items]
    rows += [(ex_id, "Optional", catalogue.exercises[ex_id].dose, True)
             for ex_id in template.optional_exercises]
    return rows


def one_line(summary: str) -> str:
    """The first sentence of a template's summary, for its card."""
    first = re.split(r"(?<=[.!?])\s", summary.strip(), maxsplit=1)[0]
    return first


def blank_form(template: Template) -> BuilderForm:
    included = {ex_id for ex_id, _, _, optional in template_exercises(template) if not optional}
    return BuilderForm(template, values={"screening.irritability": "low",
                                         "handout.page_size": "letter"},
                       included=included)


def form_from_request(template: Template, stored: dict[str, Any]) -> BuilderForm:
    """Prefill from a revision's stored request, so an edit starts from what was chosen."""
    form = blank_form(template)
    patient = stored.get("patient") or {}
    screening = stored.get("screening") or {}
    handout = stored.get("handout") or {}
    form.values.update({
        "patient.display_name": patient.get("display_name") or "",
        "patient.reference": patient.get("reference") or "",
        "screening.irritability": screening.get("irritability", "low"),
        "notes": stored.get("notes") or "",
        "handout.page_size": handout.get("page_size", "letter"),
    })
    for name, on in (("screening.nerve_symptoms", screening.get("nerve_symptoms")),
                     ("screening.desk_bound", screening.get("desk_bound")),
                     ("handout.large_print", handout.get("large_print"))):
        if on:
            form.values[name] = "1"
    form.red_flags = set(screening.get("red_flags") or [])
    for record in ("cauda_equina_rule_out", "risk_factor_review", "same_day_review"):
        for key, value in (screening.get(record) or {}).items():
            form.values[f"screening.{record}.{key}"] = str(value or "")
    if screening.get("tendon_referral"):
        form.values["screening.tendon_referral"] = "1"
    old_note = (stored.get("red_flag_clearance") or {}).get("note")
    if old_note:
        # A first-model clearance: its words go where the new model asks for them, so nothing
        # the clinician wrote is lost (the clinician still completes the structured parts).
        model = default_catalogue().screening
        cats = {model.findings[f].category for f in form.red_flags if f in model.findings}
        if "same_day" in cats and not screening.get("same_day_review"):
            form.values["screening.same_day_review.action"] = "explained"
            form.values["screening.same_day_review.reason"] = old_note
        if "cauda_equina" in cats and not screening.get("cauda_equina_rule_out"):
            form.values["screening.cauda_equina_rule_out.finding"] = old_note
        if "risk_factor" in cats and not screening.get("risk_factor_review"):
            form.values["screening.risk_factor_review.note"] = old_note
    form.included = (form.included - set(stored.get("remove_exercises") or [])) | set(
        stored.get("add_exercises") or [])
    for ex_id, changes in (stored.get("dose_changes") or {}).items():
        for name, value in changes.items():
            form.values[f"dose_changes.{ex_id}.{name}"] = str(value)
    return form


def form_from_post(template: Template, posted: MultiDict[str, str]) -> BuilderForm:
    form = BuilderForm(template)
    text_fields = ["patient.display_name", "patient.reference", "screening.irritability",
                   "notes", "handout.page_size", *RECORD_TEXT_FIELDS]
    for name in text_fields:
        form.values[name] = posted.get(name, "")
    for name in ("screening.nerve_symptoms", "screening.desk_bound", "handout.large_print",
                 "screening.tendon_referral"):
        if posted.get(name):
            form.values[name] = "1"
    for key in posted:
        if key.startswith(("dose_changes.", "shown.dose_changes.")):
            form.values[key] = posted.get(key, "")
    form.red_flags = set(posted.getlist("screening.red_flags"))
    form.included = set(posted.getlist("exercises"))
    return form


def _dose_changes(form: BuilderForm) -> dict[str, dict[str, int]]:
    """Only the doses the clinician changed from the template's: an untouched field must not
    pin a dose, or it would override the safety rules that ease doses for high irritability."""
    changes: dict[str, dict[str, int]] = {}
    for row in form.exercise_rows():
        if not row.included:
            continue
        for dose in row.doses:
            raw = form.values.get(dose.name, "").strip()
            if raw == "":
                continue
            if not re.fullmatch(r"[+-]?\d{1,6}", raw):
                form.errors[dose.name] = f"Enter {dose.label.lower()} as a whole number."
                continue
            # Unchanged from what the box showed (the template's dose, or the rules' dose after
            # a check): not the clinician's choice, so the rules still decide it.
            shown = form.values.get(f"shown.{dose.name}", str(dose.default)).strip()
            if raw != shown and int(raw) != dose.default:
                changes.setdefault(row.id, {})[dose.name.rsplit(".", 1)[1]] = int(raw)
    return changes


def _record(form: BuilderForm, record: str) -> dict[str, str] | None:
    """One screening record from its fields, or None when none of them was filled in."""
    prefix = f"screening.{record}."
    values = {name[len(prefix):]: form.value(name).strip()
              for name in RECORD_TEXT_FIELDS if name.startswith(prefix)}
    return values if any(values.values()) else None


def request_body(form: BuilderForm, clinician_name: str) -> dict[str, Any]:
    """The API's PlanCreateSchema body for this form (not yet validated); form-only problems
    (a missing name, a dose that is not a whole number) go into form.errors."""
    in_phases = {ex_id for ex_id, _, _, optional in template_exercises(form.template)
                 if not optional}
    screening: dict[str, Any] = {
        "red_flags": sorted(form.red_flags),
        "nerve_symptoms": form.checked("screening.nerve_symptoms"),
        "irritability": form.value("screening.irritability") or "low",
        "desk_bound": form.checked("screening.desk_bound"),
        "tendon_referral": form.checked("screening.tendon_referral"),
    }
    for record in ("cauda_equina_rule_out", "risk_factor_review", "same_day_review"):
        values = _record(form, record)
        if values is not None:
            screening[record] = values
    body: dict[str, Any] = {
        "template_id": form.template.id,
        "patient": {"display_name": form.value("patient.display_name").strip(),
                    "reference": form.value("patient.reference").strip() or None},
        "screening": screening,
        "dose_changes": _dose_changes(form),
        "add_exercises": sorted(form.included - in_phases),
        "remove_exercises": sorted(in_phases - form.included),
        "notes": form.value("notes").strip(),
        "clinician": clinician_name[:120],
        "handout": {"large_print": form.checked("handout.large_print"),
                    "page_size": form.value("handout.page_size") or "letter"},
    }
    if not body["patient"]["display_name"]:
        form.errors["patient.display_name"] = "Enter the patient's name or initials."
    return body


def check(form: BuilderForm, clinician_name: str, clinic: Clinic | None = None
          ) -> dict[str, Any] | None:
    """Every problem with the form at once (form, schema, screening, doses, registered
    checkers, and what the clinic's profile lacks or cannot print) into form.errors, and the
    resolved plan into form.preview. Returns the valid API body, or None when anything is
    wrong. Stores nothing."""
    body = request_body(form, clinician_name)
    data, plan, found = planning.check_raw(PlanCreateSchema(), body, clinic)
    form.preview = plan
    emergency_number = clinic.emergency_number if clinic is not None else ""
    for error in found:
        name, message = explain(error, form, emergency_number)
        form.errors.setdefault(name, message)
    return None if form.errors else data


def plan_data(form: BuilderForm, clinician_name: str) -> dict[str, Any] | None:
    """The API's PlanCreateSchema body for this form, or None with form.errors filled in."""
    return check(form, clinician_name)


def explain(error: PlanError, form: BuilderForm, emergency_number: str) -> tuple[str, str]:
    """(form field, message in the clinician's words) for a domain refusal."""
    name = _FIELD_ON_FORM.get(error.field or "", error.field or "patient.display_name")
    if name.startswith("dose_changes.") and name.count(".") == 1:
        name = "exercises"
    if getattr(error, "code", "") == "cauda_equina_rule_out" and name.endswith("rule_out"):
        call = f" Emergency number: {emergency_number}." if emergency_number else ""
        return name, (f"No plan was made: {error}.{call}")
    if isinstance(error, DoseOutOfRange):
        label = DOSE_LABELS.get(error.dose_field, error.dose_field).lower()
        exercise = form.catalogue.exercises.get(error.exercise_id)
        where = f"{exercise.name}: " if exercise else ""
        resolved, _ = form.resolved(error.exercise_id)
        if exercise and resolved is not None and resolved.id != exercise.id:
            # The range is the swapped-in exercise's: say so, or "15 to 30" makes no sense
            # next to a stretch whose range was 15 to 45.
            where = f"{resolved.name} (instead of {exercise.name}): "
        if error.low is None:
            return name, f"{where}{label} is fixed for this exercise and cannot be changed."
        return name, (f"{where}{label} must be from {error.low} to {error.high}; "
                      f"you entered {error.value}.")
    if isinstance(error, RedFlagPresent):
        guidance = form.catalogue.tier_guidance[Tier(error.tier)]
        labels = [form.catalogue.red_flag(f).label for f in error.flags]
        call = f" Emergency number: {emergency_number}." if error.tier == "emergency" else ""
        return name, (f"No plan was made. {guidance.heading}: {guidance.action}{call} "
                      f"Ticked: {'; '.join(labels)}. If you have assessed these signs and "
                      "exercises are safe, tick 'Assessed and cleared' and write a note.")
    if isinstance(error, UnknownExercise):
        return "exercises", "One of the ticked exercises is not allowed with this template."
    if isinstance(error, FieldProblem) and name in _TEXT_LABELS and name not in _TEXT_ON_FORM:
        # Text the form does not hold (the clinician's name, the clinic's details) is named in
        # the summary at the top, so it must say what it is and, for the clinic, who changes it.
        return name, f"{_TEXT_LABELS[name]}: {error}"
    return name, str(error)


def save(form: BuilderForm, clinic: Clinic, *, created_by: str, clinician_name: str,
         plan: Plan | None = None) -> Plan | None:
    """Create the plan (or a new revision of `plan`) through the same service layer as the
    API. Returns None with form.errors filled in when the form or the domain refuses it;
    nothing is stored then."""
    data = check(form, clinician_name, clinic)
    if data is None:
        return None
    try:
        if plan is None:
            return planning.create_plan(clinic, data, created_by=created_by)[0]
        return planning.revise_plan(plan, clinic, data, created_by=created_by)[0]
    except PlanError as error:
        for one in error.problems if isinstance(error, PlanRefused) else [error]:
            name, message = explain(one, form, clinic.emergency_number)
            form.errors.setdefault(name, message)
        return None
