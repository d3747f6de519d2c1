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

from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict

from plans.catalogue import TIER_ORDER, Catalogue, TierGuidance, default_catalogue
from plans.dosage import dose_text
from plans.errors import (
    DoseOutOfRange,
    EmptyClearance,
    PlanError,
    RedFlagPresent,
    UnknownExercise,
    UnprintableText,
)
from plans.model import DOSE_FIELDS, Dose, RedFlag, Template, Tier
from service import planning
from service.api.schemas import PlanCreateSchema
from service.errors import flatten_messages
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

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    def checked(self, name: str) -> bool:
        return self.values.get(name) == "1"

    @property
    def catalogue(self) -> Catalogue:
        return default_catalogue()

    def exercise_rows(self) -> list[ExerciseRow]:
        rows = []
        for ex_id, phase, dose, optional in template_exercises(self.template):
            ex = self.catalogue.exercises[ex_id]
            doses = tuple(
                DoseInput(name=f"dose_changes.{ex_id}.{f}", label=DOSE_LABELS[f],
                          value=self.values.get(f"dose_changes.{ex_id}.{f}",
                                                str(getattr(dose, f))),
                          default=getattr(dose, f), low=ex.dose_range.bounds[f][0],
                          high=ex.dose_range.bounds[f][1])
                for f in DOSE_FIELDS
                # A range of one value is a fixed dose: it reads as text, not as a box.
                if f in ex.dose_range.bounds and getattr(dose, f) is not None
                and ex.dose_range.bounds[f][0] != ex.dose_range.bounds[f][1])
            rows.append(ExerciseRow(id=ex_id, name=ex.name, purpose=ex.purpose, phase=phase,
                                    optional=optional, included=ex_id in self.included,
                                    doses=doses, fixed_text=dose_text(dose)))
        return rows

    def red_flag_tiers(self) -> list[RedFlagTier]:
        out = []
        for tier in TIER_ORDER:
            flags = tuple(f for f in self.catalogue.red_flags if f.tier is tier)
            out.append(RedFlagTier(tier, self.catalogue.tier_guidance[tier], flags,
                                   ticked=any(f.id in self.red_flags for f in flags)))
        return out

    @property
    def blocked(self) -> bool:
        """Red flags ticked without a recorded clearance: the plan cannot be saved like this."""
        return bool(self.red_flags) and not self.checked("red_flag_clearance.cleared")


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
    if stored.get("red_flag_clearance"):
        form.values["red_flag_clearance.cleared"] = "1"
        form.values["red_flag_clearance.note"] = stored["red_flag_clearance"]["note"]
    form.included = (form.included - set(stored.get("remove_exercises") or [])) | set(
        stored.get("add_exercises") or [])
    for ex_id, changes in (stored.get("dose_changes") or {}).items():
        for name, value in changes.items():
            form.values[f"dose_changes.{ex_id}.{name}"] = str(value)
    return form


def form_from_post(template: Template, posted: MultiDict[str, str]) -> BuilderForm:
    form = BuilderForm(template)
    text_fields = ["patient.display_name", "patient.reference", "screening.irritability",
                   "red_flag_clearance.note", "notes", "handout.page_size"]
    for name in text_fields:
        form.values[name] = posted.get(name, "")
    for name in ("screening.nerve_symptoms", "screening.desk_bound", "handout.large_print",
                 "red_flag_clearance.cleared"):
        if posted.get(name):
            form.values[name] = "1"
    for key in posted:
        if key.startswith("dose_changes."):
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
            if int(raw) != dose.default:
                changes.setdefault(row.id, {})[dose.name.rsplit(".", 1)[1]] = int(raw)
    return changes


def plan_data(form: BuilderForm, clinician_name: str) -> dict[str, Any] | None:
    """The API's PlanCreateSchema body for this form, or None with form.errors filled in."""
    in_phases = {ex_id for ex_id, _, _, optional in template_exercises(form.template)
                 if not optional}
    body: dict[str, Any] = {
        "template_id": form.template.id,
        "patient": {"display_name": form.value("patient.display_name").strip(),
                    "reference": form.value("patient.reference").strip() or None},
        "screening": {"red_flags": sorted(form.red_flags),
                      "nerve_symptoms": form.checked("screening.nerve_symptoms"),
                      "irritability": form.value("screening.irritability") or "low",
                      "desk_bound": form.checked("screening.desk_bound")},
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
    if form.red_flags and form.checked("red_flag_clearance.cleared"):
        note = form.value("red_flag_clearance.note").strip()
        if len(note) < 3:
            form.errors["red_flag_clearance.note"] = (
                "Write who assessed the red flags, when, and why exercises are safe.")
        body["red_flag_clearance"] = {"note": note}
    if form.errors:
        return None
    try:
        return PlanCreateSchema().load(body)
    except ValidationError as exc:
        for problem in flatten_messages(exc.messages):
            name = _FIELD_ON_FORM.get(problem["field"], problem["field"])
            message = problem["message"]
            if name == "clinician":  # not a form field: the summary must say what it is
                message = f"{_TEXT_LABELS[name]}: {message}"
            form.errors.setdefault(name, message)
        return None


def explain(error: PlanError, form: BuilderForm, emergency_number: str) -> tuple[str, str]:
    """(form field, message in the clinician's words) for a domain refusal."""
    name = _FIELD_ON_FORM.get(error.field or "", error.field or "patient.display_name")
    if isinstance(error, DoseOutOfRange):
        label = DOSE_LABELS.get(error.dose_field, error.dose_field).lower()
        exercise = form.catalogue.exercises.get(error.exercise_id)
        where = f"{exercise.name}: " if exercise else ""
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
    if isinstance(error, EmptyClearance):
        return name, "Write who assessed the red flags, when, and why exercises are safe."
    if isinstance(error, UnknownExercise):
        return "exercises", "One of the ticked exercises is not allowed with this template."
    return name, str(error)


def save(form: BuilderForm, clinic: Clinic, *, created_by: str, clinician_name: str,
         plan: Plan | None = None) -> Plan | None:
    """Create the plan (or a new revision of `plan`) through the same service layer as the
    API. Returns None with form.errors filled in when the form or the domain refuses it;
    nothing is stored then."""
    data = plan_data(form, clinician_name)
    if data is None:
        return None
    try:
        if plan is None:
            return planning.create_plan(clinic, data, created_by=created_by)
        return planning.revise_plan(plan, clinic, data, created_by=created_by)
    except UnprintableText as error:
        # Text the form does not hold (the clinic's details, a name stored earlier) is named in
        # the summary at the top, with who can change it.
        for problem in error.problems:
            name = _FIELD_ON_FORM.get(problem.field, problem.field)
            form.errors.setdefault(name, f"{_TEXT_LABELS.get(name, name)}: {problem.message}")
        return None
    except PlanError as error:
        name, message = explain(error, form, clinic.emergency_number)
        form.errors[name] = message
        return None
