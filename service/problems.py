"""Collects every problem with a plan request into one list, so a request gets one 422.

Three sources, all as plans.errors.PlanError with `.field` (the request's dotted path):
schema errors (shape and types), the domain's rules (plans.assembly.resolve_plan), and the
checkers registered here. A feature that refuses more (for example text the handout fonts
cannot print) adds a checker with `register`; it then runs for the API, its preview, the
builder and the embed alike. A checker gets the request body (possibly raw, not validated:
check types before use) and returns a list of PlanError, never raises for bad input.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from plans.errors import FieldProblem, PlanError

Checker = Callable[[dict[str, Any]], list[PlanError]]
_CHECKERS: list[Checker] = []


def register(checker: Checker) -> Checker:
    """Adds a checker (usable as a decorator); registering twice has no effect."""
    if checker not in _CHECKERS:
        _CHECKERS.append(checker)
    return checker


def checker_problems(body: dict[str, Any]) -> list[PlanError]:
    out: list[PlanError] = []
    for check in _CHECKERS:
        out.extend(check(body))
    return out


def from_messages(messages: Any, prefix: str = "") -> list[PlanError]:
    """Marshmallow's nested messages as FieldProblems."""
    from service.errors import flatten_messages

    return [FieldProblem(p["field"], p["message"]) for p in flatten_messages(messages, prefix)]


def without_errors(raw: dict[str, Any], messages: dict[str, Any]) -> dict[str, Any]:
    """raw minus every top-level key (or nested key one level down) that has an error, so the
    domain can still be asked about the rest of the request."""
    out = dict(raw)
    for key, sub in messages.items():
        if key not in out:
            continue
        if isinstance(sub, dict) and isinstance(out[key], dict):
            out[key] = {k: v for k, v in out[key].items() if k not in sub}
            if key == "dose_changes":
                continue
        elif not isinstance(sub, dict):
            del out[key]
    return out


def unique(problems: list[PlanError]) -> list[PlanError]:
    """One problem per (field, message), in first-seen order."""
    seen: set[tuple[str, str]] = set()
    out = []
    for p in problems:
        key = (p.field or "", str(p))
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out
