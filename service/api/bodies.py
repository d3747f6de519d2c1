"""Request checks every route shares: JSON bodies only and not too deep, no text the database
refuses or that cannot be encoded, no integer the database cannot hold."""

from __future__ import annotations

import re
from typing import Any

from flask import request
from flask_smorest import abort
from werkzeug.exceptions import BadRequest

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
NUL = "\x00"
# Limber's deepest body is four levels (plan -> dose_changes -> exercise -> field); 32 leaves
# room for any portal's habits and stays far below the parser's recursion limit.
MAX_JSON_DEPTH = 32
MAX_INT = 2**31 - 1  # the id columns' range (PostgreSQL integer)
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")
_DIGITS = re.compile(r"^[+-]?\d+$")


def json_depth(raw: bytes) -> int:
    """How deeply a JSON text nests, counted on the raw bytes before any parsing (strings are
    skipped, so brackets inside them do not count). Linear time, no recursion."""
    depth = deepest = 0
    for match in _BRACKETS.finditer(_STRING.sub(b'""', raw)):
        if match.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def too_deep(raw: bytes) -> bool:
    """True if the body nests past MAX_JSON_DEPTH. Most bodies have too few opening brackets
    to get there, which C-speed counting shows without the regex pass (bench/input_checks.py)."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:
        return False
    return json_depth(raw) > MAX_JSON_DEPTH


def text_problem(value: str) -> str:
    """Why a piece of text cannot be stored, or "" if it can."""
    if NUL in value:
        return "Text may not contain the NUL character (U+0000)."
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "Text must be valid Unicode: it holds a lone surrogate (\\ud800-\\udfff)."
    return ""


def require_json_body() -> None:
    """before_request hook: a body sent as form data or text is 415, not a confusing 422."""
    if request.method not in _BODY_METHODS:
        return
    has_body = bool(request.content_length) or "chunked" in request.headers.get(
        "Transfer-Encoding", "").lower()
    if not has_body and not request.mimetype:
        return
    if request.mimetype == "application/json" or request.mimetype.endswith("+json"):
        return
    abort(415, message="Send the body as JSON with 'Content-Type: application/json'.")


def _printable(name: str) -> str:
    """A field name fit to echo back: NUL and surrogates written as escapes."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8").replace(NUL, "\\u0000")


def _bad_text(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """(field, problem) for every string, key included, that cannot be stored."""
    if isinstance(value, str):
        problem = text_problem(value)
        return [(prefix or "body", problem)] if problem else []
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            problem = text_problem(str(key))
            found += [(_printable(name), problem)] if problem else []
            found += _bad_text(item, _printable(name))
        return found
    if isinstance(value, list):
        return [p for item in value for p in _bad_text(item, prefix)]
    return []


def check_api_input() -> None:
    """App-wide before_request hook, so routes added later are covered too.

    - A JSON body nested deeper than MAX_JSON_DEPTH is a 400, decided on the raw bytes before
      parsing (parsing it, or walking it, would recurse: a RecursionError 500).
    - Text holding U+0000 (PostgreSQL can neither store nor compare it) or a lone surrogate
      (no encoding can write it): an id holding it cannot exist (404); a query parameter or
      body field holding it is a 422 naming the field.
    """
    if request.method in _BODY_METHODS and request.is_json:
        raw = request.get_data(cache=True)
        if too_deep(raw):
            abort(400, message=f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep.")
    if not request.path.startswith("/api/"):
        _check_page_input()
        return
    if text_problem(request.path):
        abort(404, message="No such resource.")
    problems = [(_printable(k), text_problem(k) or text_problem(v))
                for k, v in request.args.items(multi=True) if text_problem(k) or text_problem(v)]
    if request.method in _BODY_METHODS and request.is_json:
        try:
            body = request.get_json(silent=True)
        except RecursionError:
            abort(400, message="The JSON body is nested too deeply.")
        problems += _bad_text(body)
    if problems:
        abort(422, errors=[{"field": f, "message": m} for f, m in problems])


def _check_page_input() -> None:
    """The same rules for the clinician and embed pages, answered with a plain 400 page: a
    browser cannot send such text, so it is a crafted request. A query number beyond what the
    database holds (?page=, ?before=, ?revision=) is refused here too, for every page at once."""
    values = [request.path, *request.args.keys(), *request.args.values()]
    if request.method in _BODY_METHODS:
        values += [*request.form.keys(), *request.form.values()]
    for value in values:
        problem = text_problem(value)
        if problem:
            raise BadRequest(problem)
    for name, value in request.args.items(multi=True):
        if _DIGITS.match(value.strip()) and abs(int(value)) > MAX_INT:
            raise BadRequest(f"The number in '{_printable(name)}' is too large.")
