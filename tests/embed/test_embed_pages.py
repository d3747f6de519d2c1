"""The embedded builder through Flask's client: one-time links, timeouts, framing, tenancy."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select, update

from plans.catalogue import default_catalogue
from service.access_log import RedactingFilter
from service.audit import AuditEvent
from service.embed.models import EmbedSession
from service.extensions import db
from service.models import ApiKey, Plan, utcnow
from tests.accounts.conftest import add_clinician, signed_in
from tests.embed.conftest import CSRF, PORTAL_A, PORTAL_B, create_link, link_path, open_session

TEMPLATE = default_catalogue().template("core_routine")
IN_PHASES = [i.exercise_id for p in TEMPLATE.phases for i in p.items]


def _frame_ancestors(resp) -> str:  # noqa: ANN001
    csp = dict(part.strip().split(" ", 1) for part in
               resp.headers["Content-Security-Policy"].split(";"))
    return csp["frame-ancestors"]


def _builder_form(client, base: str, **extra):  # noqa: ANN001, ANN202
    page = client.get(f"{base}new/{TEMPLATE.id}").get_data(as_text=True)
    data = {"csrf_token": CSRF.search(page).group(1), "patient.display_name": "Ana P.",
            "screening.irritability": "low", "handout.page_size": "letter",
            "exercises": IN_PHASES}
    data.update(extra)
    return data


def _save(client, base: str, **extra):  # noqa: ANN001, ANN202
    return client.post(f"{base}new/{TEMPLATE.id}", data=_builder_form(client, base, **extra))


def test_a_link_opens_once_then_says_it_was_used(app, client, portals):
    path = link_path(create_link(client, portals.a, template_id=TEMPLATE.id))
    first = client.get(path)
    assert first.status_code == 303
    assert "/embed/s/" in first.headers["Location"]
    assert path.rsplit("/", 1)[1] not in first.headers["Location"]
    again = client.get(path)
    assert again.status_code == 410
    assert "already been used" in again.get_data(as_text=True)
    # No link to Limber's home: that page may not be framed, the way back is the portal.
    assert 'href="/"' not in again.get_data(as_text=True)
    # The "used" page may still show inside the portal's frame, so the clinician reads it.
    assert PORTAL_A in _frame_ancestors(again)


def test_a_head_request_does_not_use_the_link_up(app, client, portals):
    path = link_path(create_link(client, portals.a))
    assert client.head(path).status_code == 204
    assert client.get(path).status_code == 303


def test_an_unknown_or_tampered_link_is_404(app, client, portals):
    path = link_path(create_link(client, portals.a))
    tampered = path[:-1] + ("0" if path[-1] != "0" else "1")
    resp = client.get(tampered)
    assert resp.status_code == 404 and "not valid" in resp.get_data(as_text=True)
    assert _frame_ancestors(resp) == "'none'"
    assert client.get(path).status_code == 303


def test_an_expired_link_is_refused(app, client, portals):
    path = link_path(create_link(client, portals.a))
    with app.app_context():
        db.session.execute(update(EmbedSession).values(
            token_expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    resp = client.get(path)
    assert resp.status_code == 410 and "expired" in resp.get_data(as_text=True)


def test_a_session_ends_after_idle_time_and_after_its_absolute_limit(app, client, portals):
    base = open_session(client, portals.a)
    assert client.get(f"{base}new").status_code == 200
    for column, age in (("last_seen_at", timedelta(minutes=31)),
                        ("started_at", timedelta(hours=2, minutes=1))):
        base = open_session(client, portals.a)
        with app.app_context():
            row = db.session.scalars(select(EmbedSession).order_by(EmbedSession.id.desc())).first()
            setattr(row, column, utcnow() - age)
            db.session.commit()
        resp = client.get(f"{base}new")
        assert resp.status_code == 410, column
        assert "session has ended" in resp.get_data(as_text=True)
        # Keeping a session alive cannot revive one that has ended.
        assert client.get(f"{base}alive").status_code == 410


def test_revoking_the_portals_api_key_ends_its_sessions(app, client, portals):
    base = open_session(client, portals.a)
    with app.app_context():
        db.session.execute(update(ApiKey).values(revoked_at=utcnow()))
        db.session.commit()
    assert client.get(f"{base}new").status_code == 410


def test_embed_pages_may_be_framed_by_the_sessions_own_parent_only(app, client, portals):
    base_a = open_session(client, portals.a)
    resp = client.get(f"{base_a}new")
    assert resp.status_code == 200
    # Not the clinic's other allowed origin: only the page that asked for this session.
    assert _frame_ancestors(resp) == PORTAL_A
    local = open_session(client, portals.a, parent_origin="http://localhost:8080")
    assert _frame_ancestors(client.get(f"{local}new")) == "http://localhost:8080"
    base_b = open_session(client, portals.b, parent_origin=PORTAL_B)
    assert _frame_ancestors(client.get(f"{base_b}new")) == PORTAL_B
    # The rest of Limber still refuses every frame.
    assert _frame_ancestors(client.get("/sign-in")) == "'none'"


def test_saving_makes_the_plan_for_the_sessions_patient_and_tells_the_portal(app, client,
                                                                             portals):
    base = open_session(client, portals.a, patient_display_name="Ana P.",
                        clinician="Sam Okafor, PT", template_id=TEMPLATE.id)
    start = client.get(base)
    assert start.status_code == 303 and start.headers["Location"].endswith(
        f"/new/{TEMPLATE.id}")
    builder = client.get(f"{base}new/{TEMPLATE.id}").get_data(as_text=True)
    assert 'value="Ana P."' in builder and 'value="MRN-1" readonly' in builder
    # A reference changed in the page is ignored: the session is for MRN-1 only.
    resp = _save(client, base, **{"patient.reference": "MRN-999"})
    assert resp.status_code == 303, resp.get_data(as_text=True)
    page = client.get(resp.headers["Location"])
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-plan-saved' in text
    assert f'data-parent-origin="{PORTAL_A}"' in text
    with app.app_context():
        plan = db.session.scalar(select(Plan))
        assert plan.patient_ref == "MRN-1"
        key_id = db.session.scalar(select(ApiKey.id).where(ApiKey.clinic_id == plan.clinic_id))
        assert plan.latest.created_by == f"embed:{key_id}"
        assert plan.latest.snapshot["clinician"] == "Sam Okafor, PT"
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.target == plan.public_id))
        assert event.actor == f"embed:{key_id}" and event.action == "plan_created"
        public_id = plan.public_id
    assert f'data-plan-id="{public_id}"' in text
    api = client.get(f"/api/v1/plans/{public_id}", headers=portals.a)
    assert api.status_code == 200 and api.get_json()["patient"]["reference"] == "MRN-1"
    status = client.get(f"{base}plans/{public_id}/status").get_json()
    assert status["plan_id"] == public_id and status["revision"] == 1


def test_red_flags_block_the_plan_in_the_embed_too(app, client, portals):
    base = open_session(client, portals.a)
    resp = _save(client, base, **{"screening.red_flags": ["saddle_numbness"]})
    assert resp.status_code == 422
    assert "No plan was made" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Plan)) is None


def test_a_form_without_the_sessions_csrf_token_is_refused(app, client, portals):
    base = open_session(client, portals.a)
    data = _builder_form(client, base)
    data["csrf_token"] = "forged"
    assert client.post(f"{base}new/{TEMPLATE.id}", data=data).status_code == 400
    other = open_session(client, portals.a)
    data["csrf_token"] = CSRF.search(client.get(f"{other}new/{TEMPLATE.id}")
                                     .get_data(as_text=True)).group(1)
    assert client.post(f"{base}new/{TEMPLATE.id}", data=data).status_code == 400


def test_a_session_sees_only_the_plans_it_made(app, client, portals):
    """Not the clinic's other plans for the same patient, not another session's, not another
    clinic's: all 404, like plans that do not exist."""
    base = open_session(client, portals.a)
    mine = _save(client, base).headers["Location"].rsplit("/", 1)[1].split("?")[0]
    other_session = open_session(client, portals.a)
    theirs = _save(client, other_session).headers["Location"].rsplit("/", 1)[1].split("?")[0]
    body = {"template_id": TEMPLATE.id, "patient": {"display_name": "Ana P.",
                                                    "reference": "MRN-1"}}
    same_patient = client.post("/api/v1/plans", json=body, headers=portals.a).get_json()["id"]
    clinic_b = client.post("/api/v1/plans", json=body, headers=portals.b).get_json()["id"]
    page = client.get(f"{base}plans/{mine}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"<title>Plan {mine}" in html and f"plan {mine}" in html
    assert f"{TEMPLATE.title} · version {TEMPLATE.version}" in html
    assert all(theirs_id not in html for theirs_id in (theirs, same_patient, clinic_b))
    for plan_id in (theirs, same_patient, clinic_b):
        for suffix in ("", "/status", "/handout.pdf", "/handout.html"):
            assert client.get(f"{base}plans/{plan_id}{suffix}").status_code == 404, (
                plan_id, suffix)


def test_access_log_lines_never_carry_an_embed_link_or_session_key(app, client, portals):
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1,
                               '%s - - [%s] "%s" %s %s', ("127.0.0.1", "now",
                               "GET /embed/abc.def123 HTTP/1.1", "303", "-"), None)
    RedactingFilter().filter(record)
    assert "abc" not in record.getMessage() and "/embed/[redacted]" in record.getMessage()
    gunicorn = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1,
                                 '"%(m)s %(U)s" %(s)s', {"m": "GET", "U": "/embed/s/KEY123/new",
                                                         "s": "200"}, None)
    RedactingFilter().filter(gunicorn)
    assert gunicorn.getMessage() == '"GET /embed/s/[redacted]/new" 200'
    static = logging.LogRecord("werkzeug", logging.INFO, __file__, 1,
                               "GET /static/embed/embed.js", (), None)
    RedactingFilter().filter(static)
    assert static.getMessage() == "GET /static/embed/embed.js"
    assert RedactingFilter in {type(f) for f in logging.getLogger("werkzeug").filters}
    assert RedactingFilter in {type(f) for f in logging.getLogger("gunicorn.access").filters}


def test_the_clinics_own_plan_page_says_the_portal_made_the_revision(app, client, portals):
    base = open_session(client, portals.a)
    plan_id = _save(client, base).headers["Location"].rsplit("/", 1)[1].split("?")[0]
    with app.app_context():
        clinic_id = db.session.scalar(select(Plan.clinic_id))
    add_clinician(app, clinic_id, "pt@a.example")
    signed_in(client, "pt@a.example")
    text = client.get(f"/plans/{plan_id}").get_data(as_text=True)
    assert "Portal (API key test)" in text


def test_ended_sessions_and_unused_expired_links_are_purged_but_their_plans_stay(app, client,
                                                                               portals):
    from service.embed.sessions import purge_ended

    base = open_session(client, portals.a)
    plan_id = _save(client, base).headers["Location"].rsplit("/", 1)[1].split("?")[0]
    link_path(create_link(client, portals.a))  # never opened
    live = open_session(client, portals.a)
    with app.app_context():
        assert purge_ended() == 0
        assert purge_ended(utcnow() + timedelta(minutes=6)) == 1  # the unused link
        assert purge_ended(utcnow() + timedelta(hours=2, minutes=1)) == 2
        assert db.session.scalar(select(EmbedSession)) is None
        assert db.session.scalar(select(Plan).where(Plan.public_id == plan_id)) is not None
    assert client.get(f"{live}new").status_code == 404


def test_two_simultaneous_opens_of_one_link_start_one_session(app, portals):
    """The conditional UPDATE is the lock: a double-loaded iframe cannot fork the session."""
    import threading

    client = app.test_client()
    path = link_path(create_link(client, portals.a))
    statuses: list[int] = []
    barrier = threading.Barrier(4)

    def open_it() -> None:
        own = app.test_client()
        barrier.wait()
        statuses.append(own.get(path).status_code)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [303, 410, 410, 410]
    with app.app_context():
        assert db.session.scalar(select(EmbedSession.session_hash)) is not None


def test_activity_on_the_page_keeps_the_session_from_idling_out(app, client, portals):
    base = open_session(client, portals.a)
    with app.app_context():
        db.session.execute(update(EmbedSession).values(
            last_seen_at=utcnow() - timedelta(minutes=29)))
        db.session.commit()
    assert client.get(f"{base}alive").status_code == 204
    with app.app_context():
        seen = db.session.scalar(select(EmbedSession.last_seen_at))
        assert utcnow() - (seen if seen.tzinfo else seen.replace(tzinfo=utcnow().tzinfo)) \
            < timedelta(minutes=1)
