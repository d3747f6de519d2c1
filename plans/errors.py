"""Why a plan cannot be assembled: one base class, one subclass per rule."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from plans.printable import TextProblem


class PlanError(Exception):
    """Base of every domain error; `field` names the request field at fault, if one is."""

    field: str | None = None


class UnknownTemplate(PlanError):
    field = "template_id"

    def __init__(self, template_id: str) -> None:
        super().__init__(f"no approved template with id {template_id!r}")
        self.template_id = template_id


class UnknownExercise(PlanError):
    def __init__(self, exercise_id: str, field: str) -> None:
        super().__init__(f"exercise {exercise_id!r} is not allowed in this template")
        self.exercise_id = exercise_id
        self.field = field


class DoseOutOfRange(PlanError):
    def __init__(self, exercise_id: str, dose_field: str, value: int, low: int | None,
                 high: int | None) -> None:
        if low is None:
            msg = f"{dose_field} of {exercise_id!r} cannot be changed"
        else:
            msg = f"{dose_field} of {exercise_id!r} must be between {low} and {high}, got {value}"
        super().__init__(msg)
        self.exercise_id = exercise_id
        self.dose_field = dose_field
        self.value = value
        self.low = low
        self.high = high
        self.field = f"dose_changes.{exercise_id}.{dose_field}"


class RedFlagPresent(PlanError):
    """A warning sign was ticked and not recorded as assessed and cleared."""

    field = "screening.red_flags"

    def __init__(self, tier: str, flags: list[str]) -> None:
        super().__init__(
            f"red flags present ({tier}): {', '.join(flags)}; the patient needs care before "
            "exercises, unless you record that you assessed and cleared them"
        )
        self.tier = tier
        self.flags = flags


class UnknownRedFlag(PlanError):
    field = "screening.red_flags"

    def __init__(self, flag_id: str) -> None:
        super().__init__(f"unknown red flag {flag_id!r}")
        self.flag_id = flag_id


class EmptyClearance(PlanError):
    """A clearance was given for present red flags but says nothing: it must record the check."""

    field = "clearance.note"

    def __init__(self) -> None:
        super().__init__(
            "the clearance note is empty; say who assessed the red flags, when, and why "
            "exercises are safe"
        )


class UnprintableText(PlanError):
    """Text that would go on the handout holds characters it cannot print (plans/printable.py).

    Carries every such field at once, so one answer can name them all. The message names
    fields and code points only, never the text (it may be a patient's name).
    """

    def __init__(self, problems: list[TextProblem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = problems
        self.field = problems[0].field if problems else None


class ClinicUnreachable(PlanError):
    """The clinic's profile lacks what the handout's safety-netting must print: a phone number
    in the contact details, or the out-of-hours route. Fixed in the clinic profile, not the
    plan request, so the message says where."""

    def __init__(self, field: str) -> None:
        what = ("a phone number in its contact details" if field == "clinic.contact"
                else "an out-of-hours route (where patients get help when the clinic is closed)")
        super().__init__(
            f"No handout can be made yet: the clinic profile needs {what}. A clinic admin can "
            "add it on the Clinic profile page; then save the plan again.")
        self.field = field
