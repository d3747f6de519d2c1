"""Server-side sign-in sessions: the cookie, idle and absolute timeouts, CSRF tokens."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from flask import Flask, Response, abort, current_app, g, redirect, request, url_for
from sqlalchemy import select, update

from service.accounts.models import Clinician, ClinicianSession
from service.extensions import db
from service.models import utcnow

IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
# Writing last_seen_at on every page would turn each read into a write; a minute is well inside
# the idle timeout's precision.
_TOUCH_RESOLUTION = timedelta(minutes=1)
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

F = TypeVar("F", bound=Callable[..., Any])


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=utcnow().tzinfo)


def _secure() -> bool:
    return not current_app.config.get("UI_INSECURE_COOKIES", False)


def cookie_name() -> str:
    # The __Host- prefix makes browsers refuse the cookie unless it is Secure, host-only and
    # Path=/, so a sibling subdomain cannot plant one. Plain-http hosts need the switch.
    return "__Host-limber_session" if _secure() else "limber_session"


def signin_cookie_name() -> str:
    return "__Host-limber_signin" if _secure() else "limber_signin"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _set_cookie(response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", secure=_secure(),
                        httponly=True, samesite="Lax")


def _expired(row: ClinicianSession, now: datetime) -> bool:
    return (row.ended_at is not None
            or now - aware(row.last_seen_at) > IDLE_TIMEOUT
            or now - aware(row.created_at) > ABSOLUTE_TIMEOUT)


def load_session() -> None:
    """before_request: sets g.clinician, g.clinic and g.user_session for a live session."""
    g.clinician = g.user_session = None
    token = request.cookies.get(cookie_name())
    if not token or request.path.startswith(("/static/", "/api/")):
        return
    row = db.session.scalar(select(ClinicianSession).where(
        ClinicianSession.token_hash == _digest(token)))
    if row is None:
        return
    now = utcnow()
    clinician = row.clinician
    if _expired(row, now) or not clinician.active or clinician.clinic.disabled_at is not None:
        if row.ended_at is None:
            row.ended_at = now
            db.session.commit()
            g.session_timed_out = True
        return
    if now - aware(row.last_seen_at) > _TOUCH_RESOLUTION:
        row.last_seen_at = now
        db.session.commit()
    g.user_session, g.clinician, g.clinic = row, clinician, clinician.clinic


def start_session(response: Response, clinician: Clinician) -> ClinicianSession:
    """A fresh token at every sign-in (whatever cookie came in is ended), so a session id
    planted before sign-in is worthless after it."""
    old = request.cookies.get(cookie_name())
    if old:
        db.session.execute(update(ClinicianSession)
                           .where(ClinicianSession.token_hash == _digest(old),
                                  ClinicianSession.ended_at.is_(None))
                           .values(ended_at=utcnow()))
    token = secrets.token_urlsafe(32)
    row = ClinicianSession(token_hash=_digest(token), clinician_id=clinician.id,
                           csrf_token=secrets.token_urlsafe(32))
    db.session.add(row)
    _set_cookie(response, cookie_name(), token, int(ABSOLUTE_TIMEOUT.total_seconds()))
    response.delete_cookie(signin_cookie_name(), path="/", secure=_secure(), httponly=True,
                           samesite="Lax")
    return row


def end_session(response: Response) -> None:
    if g.get("user_session") is not None:
        g.user_session.ended_at = utcnow()
    response.delete_cookie(cookie_name(), path="/", secure=_secure(), httponly=True,
                           samesite="Lax")


def end_all_sessions(clinician_id: int) -> None:
    """A deactivated clinician is signed out everywhere at once."""
    db.session.execute(update(ClinicianSession)
                       .where(ClinicianSession.clinician_id == clinician_id,
                              ClinicianSession.ended_at.is_(None))
                       .values(ended_at=utcnow()))


# --- CSRF ----------------------------------------------------------------------------------
# Signed in: a random token stored with the session. Signed out (the sign-in form itself): a
# random cookie and its HMAC in the form, so a foreign site cannot sign a browser in as someone
# else (login CSRF).


def _signin_token(nonce: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"signin-csrf:" + nonce.encode(), hashlib.sha256).hexdigest()


def csrf_token() -> str:
    """The token for forms on this page; templates call it as csrf_token()."""
    if g.get("embed_csrf_token"):  # a portal embed session keeps its own (service/embed)
        return g.embed_csrf_token
    if g.get("user_session") is not None:
        return g.user_session.csrf_token
    nonce = request.cookies.get(signin_cookie_name()) or g.get("signin_nonce")
    if not nonce:
        g.signin_nonce = nonce = secrets.token_urlsafe(24)
    return _signin_token(nonce)


def _issue_signin_cookie(response: Response) -> Response:
    if g.get("signin_nonce"):
        _set_cookie(response, signin_cookie_name(), g.signin_nonce, None)
    return response


def csrf_valid() -> bool:
    sent = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    if g.get("user_session") is not None:
        return hmac.compare_digest(sent, g.user_session.csrf_token)
    nonce = request.cookies.get(signin_cookie_name())
    return bool(nonce) and hmac.compare_digest(sent, _signin_token(nonce))


_exempt: set[str] = set()


def csrf_exempt(view: F) -> F:
    """For a route that authenticates every request some other way (not by cookie)."""
    _exempt.add(f"{view.__module__}.{view.__qualname__}")
    return view


def check_csrf() -> None:
    """before_request: every state-changing request outside the bearer-key API needs a token."""
    if request.method in SAFE_METHODS or request.path.startswith("/api/"):
        return
    view = current_app.view_functions.get(request.endpoint or "")
    if view is not None and f"{view.__module__}.{view.__qualname__}" in _exempt:
        return
    if not csrf_valid():
        abort(400, description="This form has expired or did not come from Limber. "
                               "Go back, reload the page and send it again.")


# --- access --------------------------------------------------------------------------------


def clinician_required(view: F) -> F:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.get("clinician") is None:
            # Only the path: ids are opaque, and queries could one day carry more.
            return redirect(url_for("accounts.sign_in", next=request.path,
                                    timed_out=1 if g.get("session_timed_out") else None))
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def admin_required(view: F) -> F:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.get("clinician") is None:
            return redirect(url_for("accounts.sign_in", next=request.path))
        if not g.clinician.is_admin:
            abort(403, description="Only a clinic admin can do that.")
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def init_app(app: Flask) -> None:
    """Raises RuntimeError if production is configured with cookies that travel over http."""
    if app.config.get("LIMBER_ENV") == "production" and app.config.get("UI_INSECURE_COOKIES"):
        raise RuntimeError("LIMBER_INSECURE_COOKIES=1 is for development hosts, never production")
    app.before_request(load_session)
    app.before_request(check_csrf)
    app.after_request(_issue_signin_cookie)
    app.jinja_env.globals["csrf_token"] = csrf_token
