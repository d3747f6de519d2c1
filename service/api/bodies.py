"""Request bodies on the API are JSON; anything else is refused before it is parsed."""

from __future__ import annotations

from flask import request
from flask_smorest import abort

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


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
