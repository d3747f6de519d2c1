"""Stored text as FHIR allows it: no control characters, no whitespace but space, tab, CR, LF.

Limber accepts some characters FHIR strings may not hold (a pasted U+2028 line separator, a
no-break space); the export replaces them rather than refusing a plan that is already stored.
"""

from __future__ import annotations

import re
from typing import Any

# Control characters FHIR forbids, Unicode whitespace other than the four it allows, and lone
# surrogates (which cannot be encoded as UTF-8 at all).
_NOT_FHIR = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|[^\S \t\r\n]|[\ud800-\udfff]")


def fhir_string(value: str) -> str:
    return _NOT_FHIR.sub(" ", value)


def cleaned(value: Any) -> Any:
    """The same JSON-shaped value with every string made FHIR-safe."""
    if isinstance(value, str):
        return fhir_string(value)
    if isinstance(value, dict):
        return {k: cleaned(v) for k, v in value.items()}
    if isinstance(value, list):
        return [cleaned(v) for v in value]
    return value
