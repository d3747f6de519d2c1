"""Request checks every API route shares: JSON bodies only, and no text the database refuses."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_smorest import abort
from werkzeug.exceptions import BadRequest

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
NUL = "\x00"


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


def _nul_paths(value: Any, prefix: str = "") -> list[str]:
    if isinstance(value, str):
        return [prefix or "body"] if NUL in value else []
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            found += [name.replace(NUL, "\\u0000")] if NUL in str(key) else []
            found += _nul_paths(item, name)
        return found
    if isinstance(value, list):
        return [p for item in value for p in _nul_paths(item, prefix)]
    return []


def check_api_input() -> None:
    """App-wide before_request hook for /api/, so routes added later are covered too.

    - A JSON body nested past the parser's recursion limit is a 400, not a RecursionError 500.
    - Text holding U+0000: PostgreSQL can neither store nor compare it, so it would be a 500
      there (and pass on SQLite). An id holding it cannot exist (404); a query parameter or a
      body field holding it is a 422 naming it.
    """
    if not request.path.startswith("/api/"):
        _check_page_input()
        return
    if NUL in request.path:
        abort(404, message="No such resource.")
    fields = [k.replace(NUL, "\\u0000") for k, v in request.args.items(multi=True)
              if NUL in k or NUL in v]
    if request.method in _BODY_METHODS and request.is_json:
        try:
            body = request.get_json(silent=True)
        except RecursionError:
            abort(400, message="The JSON body is nested too deeply.")
        fields += _nul_paths(body)
    if fields:
        abort(422, errors=[{"field": f, "message": "Text may not contain the NUL character "
                                                   "(U+0000)."} for f in fields])


def _check_page_input() -> None:
    """The same rule for the clinician pages: a browser cannot type U+0000, so text holding it
    is a crafted request, answered with a plain 400 page rather than a 500 from PostgreSQL."""
    values = [request.path, *request.args.values()]
    if request.method in _BODY_METHODS:
        values += [*request.form.keys(), *request.form.values()]
    if any(NUL in v for v in values):
        raise BadRequest("Text may not contain the NUL character (U+0000).")
