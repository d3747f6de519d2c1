"""Sign-in sessions: renewal, idle and absolute timeouts, CSRF, the rate limit, sign-out."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from service.accounts.models import Clinician, ClinicianSession
from service.extensions import db
from service.models import Plan, utcnow
from tests.accounts.conftest import (
    PASSWORD,
    SESSION_COOKIE,
    csrf_from,
    session_token,
    sign_in,
    signed_in,
)


def _shift_session(app, **changes) -> None:
    with app.app_context():
        db.session.execute(update(ClinicianSession).values(**changes))
        db.session.commit()


def test_sign_in_sets_a_host_only_secure_httponly_lax_cookie(client, people):
    resp = sign_in(client, "pt@a.example")
    assert resp.status_code == 303 and resp.headers["Location"] == "/plans"
    cookie = next(c for c in resp.headers.getlist("Set-Cookie") if c.startswith(SESSION_COOKIE))
    for attribute in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert attribute in cookie
    assert "Domain" not in cookie
    assert client.get("/plans").status_code == 200


def test_session_id_is_renewed_at_sign_in_and_a_planted_one_is_worthless(app, client, people):
    """Session fixation: a cookie set before sign-in is never the signed-in session."""
    client.set_cookie(SESSION_COOKIE, "planted-by-an-attacker", domain="localhost")
    signed_in(client, "pt@a.example")
    first = session_token(client)
    assert first and first != "planted-by-an-attacker"

    # Signing in again from a signed-in browser (the form's token is then the session's).
    resp = client.post("/sign-in", data={"email": "pt@a.example", "password": PASSWORD,
                                         "csrf_token": csrf_from(client, "/plans")})
    assert resp.status_code == 303
    second = session_token(client)
    assert second != first
    client.set_cookie(SESSION_COOKIE, first, domain="localhost")
    assert client.get("/plans").status_code == 302, "the pre-renewal session still works"


def test_idle_session_expires_after_30_minutes(app, client, people):
    signed_in(client, "pt@a.example")
    _shift_session(app, last_seen_at=utcnow() - timedelta(minutes=29))
    assert client.get("/plans").status_code == 200
    _shift_session(app, last_seen_at=utcnow() - timedelta(minutes=31))
    resp = client.get("/plans")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/sign-in")
    assert "signed out after 30 minutes" in client.get(resp.headers["Location"]).get_data(True)
    with app.app_context():
        assert db.session.scalar(select(ClinicianSession.ended_at)) is not None


def test_session_expires_12_hours_after_sign_in_even_when_active(app, client, people):
    signed_in(client, "pt@a.example")
    _shift_session(app, created_at=utcnow() - timedelta(hours=11, minutes=58))
    assert client.get("/plans").status_code == 200
    _shift_session(app, created_at=utcnow() - timedelta(hours=12, minutes=1),
                   last_seen_at=utcnow())
    assert client.get("/plans").status_code == 302


def test_sign_out_ends_the_server_side_session(app, client, people):
    signed_in(client, "pt@a.example")
    token = session_token(client)
    csrf = csrf_from(client, "/plans")
    resp = client.post("/sign-out", data={"csrf_token": csrf})
    assert resp.status_code == 303
    # Replaying the old cookie (copied before sign-out) must not work.
    client.set_cookie(SESSION_COOKIE, token, domain="localhost")
    assert client.get("/plans").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(ClinicianSession.ended_at)) is not None


def test_form_posts_without_a_valid_csrf_token_are_refused(app, client, people):
    resp = client.post("/sign-in", data={"email": "pt@a.example", "password": PASSWORD})
    assert resp.status_code == 400 and session_token(client) is None

    signed_in(client, "pt@a.example")
    body = {"patient.display_name": "Ana P.", "screening.irritability": "low",
            "handout.page_size": "letter"}
    for token in (None, "not-the-token"):
        data = dict(body, **({"csrf_token": token} if token else {}))
        resp = client.post("/plans/new/core_routine", data=data)
        assert resp.status_code == 400
        assert "did not come from Limber" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Plan)) is None
    resp = client.post("/sign-out")
    assert resp.status_code == 400 and client.get("/plans").status_code == 200


def test_sign_in_is_limited_to_5_attempts_a_minute_per_account(client, people):
    for _ in range(5):
        assert sign_in(client, "pt@a.example", "wrong password!").status_code == 401
    resp = sign_in(client, "pt@a.example")  # the right password, too late
    assert resp.status_code == 429
    assert int(resp.headers["Retry-After"]) > 0
    assert "Too many attempts" in resp.get_data(as_text=True)
    # Another account from the same address is not locked out by someone else's typos.
    assert sign_in(client, "admin@a.example").status_code == 303


def test_a_deactivated_clinician_cannot_sign_in_and_is_signed_out(app, client, people):
    other = app.test_client()
    signed_in(other, "pt@a.example")
    signed_in(client, "admin@a.example")
    with app.app_context():
        pt_id = db.session.scalar(select(Clinician.id).where(Clinician.email == "pt@a.example"))
    csrf = csrf_from(client, "/admin/clinicians")
    resp = client.post(f"/admin/clinicians/{pt_id}/active", data={"csrf_token": csrf,
                                                                  "active": "0"})
    assert resp.status_code == 303
    assert other.get("/plans").status_code == 302, "still signed in after deactivation"
    resp = sign_in(app.test_client(), "pt@a.example")
    assert resp.status_code == 401
    assert "do not match an active account" in resp.get_data(as_text=True)


def test_wrong_password_and_unknown_email_get_the_same_answer(client, people):
    wrong = sign_in(client, "pt@a.example", "not the password")
    unknown = sign_in(client, "nobody@a.example", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    message = "That email and password do not match an active account."
    assert message in wrong.get_data(as_text=True) and message in unknown.get_data(as_text=True)


def test_sign_in_only_redirects_to_paths_on_this_site(client, people):
    token = csrf_from(client, "/sign-in")
    for target, expected in (("/plans/new", "/plans/new"), ("https://evil.example/", "/plans"),
                             ("//evil.example", "/plans")):
        client.delete_cookie(SESSION_COOKIE, domain="localhost")
        token = csrf_from(client, "/sign-in")
        resp = client.post("/sign-in", data={"email": "pt@a.example", "password": PASSWORD,
                                             "csrf_token": token, "next": target})
        assert resp.headers["Location"] == expected
