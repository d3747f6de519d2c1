"""Loads the patient guidance every new handout carries (plans/data/handout.yaml)."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import yaml

from plans.errors import ClinicUnreachable
from plans.model import ClinicInfo, HandoutGuide, PhaseNote, SafetyTier, Term, Tier

GUIDE_FILE = Path(__file__).parent / "data" / "handout.yaml"


class GuideError(ValueError):
    """The guidance file is missing a part the handout must print."""


def _text(data: dict[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise GuideError(f"{where}.{key}: must be non-empty text")
    return " ".join(value.split())


def parse_guide(data: dict[str, Any]) -> tuple[HandoutGuide, dict[str, str]]:
    """(the guide, notes for the phases assembly adds) from the parsed file.

    Raises GuideError unless the file has all three safety-netting tiers, in order, each with a
    heading, an action line and at least one sign: a handout without them is not a handout.
    """
    tiers = []
    for i, raw in enumerate(data.get("safety_net") or ()):
        where = f"safety_net[{i}]"
        signs = raw.get("signs") or ()
        if not signs or not all(isinstance(s, str) and s.strip() for s in signs):
            raise GuideError(f"{where}.signs: list at least one sign, each non-empty text")
        tiers.append(SafetyTier(Tier(raw.get("tier")), _text(raw, "heading", where),
                                _text(raw, "action", where), tuple(" ".join(s.split())
                                                                   for s in signs)))
    if [t.tier for t in tiers] != list(Tier):
        raise GuideError("safety_net: needs the tiers emergency, same_day, slow_down in order")
    terms = tuple(Term(_text(t, "word", "terms"), _text(t, "meaning", "terms"))
                  for t in data.get("terms") or ())
    guide = HandoutGuide(
        safety_net=tuple(tiers),
        pain_rule=_text(data, "pain_rule", "handout"),
        floor_note=_text(data, "floor_note", "handout"),
        terms=terms,
        log_help=_text(data, "log_help", "handout"),
        review=_text(data, "review", "handout"),
    )
    notes = {str(k): " ".join(str(v).split()) for k, v in (data.get("phase_notes") or {}).items()}
    return guide, notes


@functools.cache
def default_guide() -> tuple[HandoutGuide, dict[str, str]]:
    """The shipped guidance, read once per process. Raises GuideError if it is incomplete."""
    with GUIDE_FILE.open(encoding="utf-8") as f:
        return parse_guide(yaml.safe_load(f))


def phase_notes(names: list[str], template_notes: dict[str, str]) -> tuple[PhaseNote, ...]:
    """The note for each phase name, in order: the template's, else the shipped one, else ""."""
    shipped = default_guide()[1]
    return tuple(PhaseNote(n, template_notes.get(n) or shipped.get(n, "")) for n in names)


# A phone number has at least five digits, whatever its punctuation ("555-0100", "0161 ...").
_PHONE = re.compile(r"(?:\d[\s().+-]*){5,}")


def has_phone(contact: str) -> bool:
    return bool(_PHONE.search(contact))


def require_reachable(clinic: ClinicInfo) -> None:
    """Raises ClinicUnreachable unless the clinic's contact holds a phone number and it has an
    out-of-hours route: the same-day tier tells patients to call the clinic today, and "a
    handout without a way to reach the clinic is not a handout" (REFERENCES.md section B)."""
    if not has_phone(clinic.contact):
        raise ClinicUnreachable("clinic.contact")
    if not clinic.out_of_hours.strip():
        raise ClinicUnreachable("clinic.out_of_hours")
