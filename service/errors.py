"""Maps every error to RFC 9457 problem+json for the API and to a plain page for the UI."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, json, render_template, request
from marshmallow import Schema, fields
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException, InternalServerError

from plans.errors import DoseOutOfRange, PlanError, RedFlagPresent, UnprintableText

log = logging.getLogger(__name__)

PROBLEM_MIME = "application/problem+json"
TYPE_BASE = "https://limber.example/problems/"


class FieldErrorSchema(Schema):
    field = fields.String(metadata={"description": "Dotted path of the request field at fault"})
    message = fields.String()


class ProblemSchema(Schema):
    """RFC 9457 problem details, with the failing fields named."""

    type = fields.String(metadata={"example": TYPE_BASE + "validation"})
    title = fields.String(metadata={"example": "Your request has invalid fields"})
    status = fields.Integer(metadata={"example": 422})
    detail = fields.String()
    instance = fields.String()
    errors = fields.List(fields.Nested(FieldErrorSchema))
    tier = fields.String(metadata={"description": "Red-flag refusals only: emergency, same_day "
                                                  "or slow_down."})
    red_flags = fields.List(fields.String(), metadata={
        "description": "Red-flag refusals only: the ids of the flags present."})
    allowed = fields.List(fields.Integer(), allow_none=True, metadata={
        "description": "Dose refusals only: the [low, high] range the dose must be within."})


def problem(status: int, title: str, detail: str = "", *, kind: str = "",
            errors: list[dict[str, str]] | None = None,
            extra: dict[str, Any] | None = None,
            headers: dict[str, str] | None = None) -> Response:
    body: dict[str, Any] = {
        "type": TYPE_BASE + kind if kind else "about:blank",
        "title": title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    body["instance"] = request.path
    if errors:
        body["errors"] = errors
    if extra:
        body.update(extra)
    resp = Response(json.dumps(body), status=status, mimetype=PROBLEM_MIME)
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def flatten_messages(messages: Any, prefix: str = "") -> list[dict[str, str]]:
    """Turn marshmallow's nested {field: [msg]} into [{field: "a.b", message}]."""
    out: list[dict[str, str]] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            # marshmallow files errors about the whole body under "_schema".
            key = "body" if key == "_schema" and not prefix else key
            name = f"{prefix}.{key}" if prefix else str(key)
            out.extend(flatten_messages(value, name))
    elif isinstance(messages, list):
        if all(isinstance(m, str) for m in messages):
            out.extend({"field": prefix or "body", "message": m} for m in messages)
        else:
            for m in messages:
                out.extend(flatten_messages(m, prefix))
    else:
        out.append({"field": prefix or "body", "message": str(messages)})
    return out


def _wants_problem() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best in (
        "application/json", PROBLEM_MIME)


def handle_http(error: HTTPException) -> Response:
    if not _wants_problem():
        body = render_template("error.html", title=error.name, detail=error.description)
        return Response(body, status=error.code or 500, mimetype="text/html")
    data = getattr(error, "data", None) or {}
    code = error.code or 500
    errors: list[dict[str, str]] = []
    if "messages" in data:
        # webargs puts errors under the location ("json", "query"); the field path is what
        # an integrator needs, the location is implied by the method.
        for location_errors in data["messages"].values():
            errors.extend(flatten_messages(location_errors))
    errors.extend(data.get("errors", []))
    if code == 422 and errors:
        title, kind = "Your request has invalid fields", "validation"
    else:
        title, kind = error.name, error.name.lower().replace(" ", "-")
    detail = data.get("message") or error.description or ""
    if code == 413:
        detail = "The request body is larger than 1 MB."
    headers = dict(data.get("headers") or {})
    # Werkzeug's own headers (Allow on a 405, ...) are part of the answer; its Content-Type
    # is not, the problem body has its own.
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            headers.setdefault(name, value)
    if code == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="limber"')
    return problem(code, title, detail, kind=kind, errors=errors or None, headers=headers,
                   extra=data.get("extra"))


# Where the domain's request field has another name in the public API.
_API_FIELD = {"clearance.note": "red_flag_clearance.note", "clearance": "red_flag_clearance"}


def handle_plan_error(error: PlanError) -> Response:
    """Domain refusals are 422 with the field named; a red flag says which tier and flags."""
    extra: dict[str, Any] = {}
    if isinstance(error, RedFlagPresent):
        extra = {"tier": error.tier, "red_flags": error.flags}
        return problem(422, "Red flags need care before exercises", str(error),
                       kind="red-flag-present",
                       errors=[{"field": error.field or "screening", "message": str(error)}],
                       extra=extra)
    if isinstance(error, UnprintableText):
        # Every field at once; clinic.* fields are the clinic profile's, fixed by an admin.
        return problem(422, "Your request has invalid fields",
                       "Some text cannot be printed on the handout.", kind="validation",
                       errors=[{"field": p.field, "message": p.message}
                               for p in error.problems])
    if isinstance(error, DoseOutOfRange):
        extra = {"allowed": [error.low, error.high] if error.low is not None else None}
    field = _API_FIELD.get(error.field or "", error.field or "body")
    return problem(422, "Your request has invalid fields", str(error), kind="validation",
                   errors=[{"field": field, "message": str(error)}],
                   extra=extra or None)


def handle_unexpected(error: Exception) -> Response:
    from flask import current_app

    if current_app.testing:
        raise error
    # Only the type: exception text can carry request data, and patient data must not be logged.
    log.error("unhandled %s on %s %s", type(error).__name__, request.method, request.url_rule)
    return handle_http(InternalServerError())


# How long a client is told to wait while the database is unreachable: about how long a
# restart or failover takes, so a retry soon after lands on a working service.
DATABASE_RETRY_AFTER = "5"
DATABASE_ERRORS = (OperationalError, InterfaceError, PoolTimeoutError)


def handle_database_unavailable(error: Exception) -> Response:
    """The database is down or unreachable: 503 with Retry-After, never 500.

    Nothing half-done is kept (the transaction rolls back), so a retry is safe; with an
    Idempotency-Key it finds the first answer if the commit did land.
    """
    from service.extensions import db

    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001, S110 - the connection is already gone
        pass
    log.warning("database unavailable on %s %s: %s", request.method, request.url_rule,
                type(error).__name__)
    detail = "The service cannot reach its database just now. Nothing was changed; " \
             "try again in a few seconds."
    headers = {"Retry-After": DATABASE_RETRY_AFTER}
    if not _wants_problem():
        try:
            body = render_template("error.html", title="Service unavailable", detail=detail)
        except Exception:  # noqa: BLE001 - the page must not depend on anything that failed
            body = f"<!doctype html><title>Service unavailable</title><p>{detail}</p>"
        return Response(body, status=503, mimetype="text/html", headers=headers)
    return problem(503, "Service unavailable", detail, kind="database-unavailable",
                   headers=headers)


def init_app(app: Flask) -> None:
    for error_class in DATABASE_ERRORS:
        app.register_error_handler(error_class, handle_database_unavailable)
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(PlanError, handle_plan_error)
    app.register_error_handler(Exception, handle_unexpected)
