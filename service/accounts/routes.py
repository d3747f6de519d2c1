"""Sign in, sign out, and choose a password through a one-time link."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Response, g, make_response, redirect, render_template, request, url_for

from service import audit
from service.accounts import clinicians, ratelimit
from service.accounts.passwords import password_problem
from service.accounts.sessions import end_session, start_session
from service.extensions import db

blp = Blueprint("accounts", __name__)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect to somewhere else."""
    if not target:
        return url_for("ui_plans.plan_list")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return url_for("ui_plans.plan_list")
    return target


@blp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> Response | str | tuple[str, int, dict[str, str]]:
    if request.method == "GET":
        if g.get("clinician") is not None:
            return redirect(_safe_next(request.args.get("next")))
        return render_template("accounts/sign_in.html", email="", errors={},
                               next=request.args.get("next", ""))
    email = request.form.get("email", "").strip()[:254]
    password = request.form.get("password", "")[:1024]
    target = request.form.get("next", "")
    errors: dict[str, str] = {}
    if not email:
        errors["email"] = "Enter your email address."
    if not password:
        errors["password"] = "Enter your password."  # noqa: S105 - a message
    if errors:
        return render_template("accounts/sign_in.html", email=email, errors=errors,
                               next=target), 422, {}
    # Counted before the password is checked (see service/accounts/ratelimit.py).
    wait = ratelimit.attempt(request.remote_addr or "unknown", email)
    if wait:
        errors["email"] = (f"Too many attempts to sign in. Wait {wait} seconds and try again, "
                           "or ask your clinic admin for a new set-password link.")
        return (render_template("accounts/sign_in.html", email=email, errors=errors,
                                next=target), 429, {"Retry-After": str(wait)})
    clinician = clinicians.authenticate(email, password)
    if clinician is None:
        # One message for unknown address, wrong password and deactivated account alike.
        errors["password"] = "That email and password do not match an active account."  # noqa: S105
        return render_template("accounts/sign_in.html", email=email, errors=errors,
                               next=target), 401, {}
    ratelimit.succeeded(email)
    response = redirect(_safe_next(target), code=303)
    start_session(response, clinician)
    ratelimit.remember_device(response, email)
    db.session.commit()
    return response


@blp.post("/sign-out")
def sign_out() -> Response:
    response = make_response(redirect(url_for("accounts.sign_in"), code=303))
    if g.get("clinician") is not None:
        audit.record(audit.SIGN_OUT, clinic_id=g.clinician.clinic_id,
                     actor=f"clinician:{g.clinician.id}", target=f"clinician:{g.clinician.id}")
    end_session(response)
    db.session.commit()
    return response


@blp.route("/set-password/<token>", methods=["GET", "POST"])
def set_password(token: str) -> Response | str | tuple[str, int]:
    clinician = clinicians.by_link(token)
    if clinician is None:
        return render_template("accounts/link_expired.html"), 404
    if request.method == "GET":
        return render_template("accounts/set_password.html", clinician=clinician, errors={})
    password = request.form.get("password", "")
    confirm = request.form.get("confirm", "")
    errors: dict[str, str] = {}
    # Guessers try the person's own name, address and clinic first.
    problem = password_problem(password, [clinician.name, clinician.email,
                                          *clinician.email.split("@"), clinician.clinic.name])
    if problem:
        errors["password"] = problem
    elif password != confirm:
        errors["confirm"] = "The two passwords are different. Type the same one twice."
    if errors:
        return render_template("accounts/set_password.html", clinician=clinician,
                               errors=errors), 422
    clinicians.set_password(clinician, password)
    response = redirect(url_for("ui_plans.plan_list"), code=303)
    start_session(response, clinician)
    db.session.commit()
    return response
