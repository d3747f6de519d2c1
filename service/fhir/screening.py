"""The screening outcome as CarePlan notes: the one place that knows the screening's fields.

Plain-text notes, not Observations: Limber's screening answers have no standard codes we could
vouch for, and coding them ourselves would be a clinical claim (docs/fhir.md).
"""

from __future__ import annotations

from typing import Any

# Known answers in the clinician's words; any other field is still written, by its name, so
# a new screening field can never be dropped silently from the export.
_LABELS = {
    "nerve_symptoms": "Nerve symptoms",
    "irritability": "Irritability",
    "desk_bound": "Sits most of the day",
}
_SKIP = {"red_flags"}  # reported on their own line with their labels


def _answer(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_answer(v) for v in value) or "none"
    if isinstance(value, dict):
        # A structured record (e.g. who assessed what, when): every part, by its name.
        return "(" + ", ".join(f"{k.replace('_', ' ')} {_answer(v)}"
                               for k, v in value.items()) + ")"
    return str(value)


def screening_notes(plan: dict[str, Any]) -> list[str]:
    """Notes for the snapshot's plan dict: red flags (with any clearance), then the answers."""
    labels = {f["id"]: f["label"] for f in plan.get("red_flags", [])}
    present = [labels.get(i, i) for i in plan.get("red_flags_present", [])]
    if present:
        red = "Screening: red flags present: " + "; ".join(present) + "."
        clearance = plan.get("clearance")
        if clearance:
            red += f" Assessed and cleared by the clinician: {clearance['note']}"
    else:
        red = "Screening: no red flags."
    answers = [f"{_LABELS.get(k, k.replace('_', ' ').capitalize())}: {_answer(v)}"
               for k, v in sorted(plan.get("screening", {}).items()) if k not in _SKIP]
    notes = [red]
    if answers:
        notes.append("Screening answers: " + "; ".join(answers) + ".")
    return notes
