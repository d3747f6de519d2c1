"""A dose as FHIR: how often as Timing, every number in one Limber extension.

FHIR R4 Timing cannot say "twice a day on 5 days a week" without naming the days, which the
clinician does not choose; so a dose of fewer than 7 days a week becomes its weekly total, and the
exact numbers travel in the extension and in words in patientInstruction.
"""

from __future__ import annotations

from typing import Any

from service.fhir.systems import DOSE_EXTENSION, UCUM


def _seconds(value: int) -> dict[str, Any]:
    return {"value": value, "unit": "s", "system": UCUM, "code": "s"}


def timing(dose: dict[str, Any]) -> dict[str, Any]:
    per_day = dose.get("times_per_day") or 1
    days = dose.get("days_per_week") or 7
    repeat: dict[str, Any] = (
        {"frequency": per_day, "period": 1, "periodUnit": "d"} if days == 7
        else {"frequency": per_day * days, "period": 1, "periodUnit": "wk"})
    if dose.get("duration_seconds"):
        # Timing.repeat.duration: how long each occurrence lasts.
        repeat.update(duration=dose["duration_seconds"], durationUnit="s")
    return {"repeat": repeat}


_INTEGERS = (("sets", "sets"), ("reps", "reps"), ("times_per_day", "timesPerDay"),
             ("days_per_week", "daysPerWeek"))
_DURATIONS = (("hold_seconds", "hold"), ("duration_seconds", "duration"))


def dose_extension(dose: dict[str, Any]) -> dict[str, Any]:
    """One complex extension; a dose field that does not apply to the exercise is left out."""
    parts: list[dict[str, Any]] = []
    for field, name in _INTEGERS:
        if dose.get(field):
            parts.append({"url": name, "valuePositiveInt": dose[field]})
    for field, name in _DURATIONS:
        if dose.get(field):
            parts.append({"url": name, "valueDuration": _seconds(dose[field])})
    parts.append({"url": "eachSide", "valueBoolean": bool(dose.get("each_side"))})
    return {"url": DOSE_EXTENSION, "extension": parts}
