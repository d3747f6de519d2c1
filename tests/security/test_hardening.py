"""Weak choices the penetration test found: guessable passwords, a short production secret,
world-readable instance files, an embed framable by every origin of the clinic; and reads of
patient data that left no trace."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import select

from service import audit
from tests.accounts.conftest import csrf_from, signed_in
from tests.contract.helpers import make_plan
from tests.embed.conftest import PORTAL_A, open_session

# --- passwords and the secret key -----------------------------------------------------------


@pytest.mark.parametrize("password", ["password1234", "aaaaaaaaaaaa1", "qwertyuiop123",
                                      "Riverside Clinic", "pat therapist1"])
def test_guessable_passwords_are_refused_with_a_clear_message(password):
    from service.accounts.passwords import password_problem

    problem = password_problem(password, ["Pat Therapist", "pt@a.example", "Riverside Clinic"])
    assert problem.startswith("Use at least") or "too easy to guess" in problem


def test_a_passphrase_is_accepted():
    from service.accounts.passwords import password_problem

    assert password_problem("lamp orbit velvet cactus") == ""


def test_the_set_password_page_refuses_password1234(app, client, people):
    from service.accounts import clinicians
    from service.accounts.models import Clinician
    from service.extensions import db

    with app.app_context():
        pt = db.session.scalar(select(Clinician).where(Clinician.email == "pt@a.example"))
        admin = db.session.scalar(select(Clinician).where(Clinician.email == "admin@a.example"))
        token = clinicians.issue_link(pt, admin)
    path = f"/set-password/{token}"
    resp = client.post(path, data={"csrf_token": csrf_from(client, path),
                                   "password": "password1234", "confirm": "password1234"})
    assert resp.status_code == 422
    assert "too easy to guess" in resp.get_data(as_text=True)


@pytest.mark.parametrize("secret", ["x" * 64, "short-secret", "correct horse battery",
                                    "0123456789abcdef" * 2, "abababababababababababababababab"
                                    "abababababababab"])
def test_production_refuses_a_secret_key_with_less_than_32_bytes_of_entropy(tmp_path, secret):
    from service import create_app

    with pytest.raises(RuntimeError, match="too weak"):
        create_app({"LIMBER_ENV": "production", "SECRET_KEY": secret,
                    "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/13",
                    "INSTANCE_PATH": str(tmp_path)})


def test_production_accepts_generated_secrets_and_refuses_per_process_sign_in_counts(tmp_path):
    import secrets

    from service import create_app

    for secret in (secrets.token_urlsafe(32), secrets.token_hex(32), secrets.token_urlsafe(48)):
        create_app({"LIMBER_ENV": "production", "SECRET_KEY": secret,
                    "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/p.db",
                    "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/13",
                    "INSTANCE_PATH": str(tmp_path)})
    with pytest.raises(RuntimeError, match="Redis"):
        create_app({"LIMBER_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(48),
                    "INSTANCE_PATH": str(tmp_path)})


# --- instance files ---------------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_instance_files_are_created_owner_only_whatever_the_umask(tmp_path):
    """The embedded default's SQLite file holds every patient's data; it was created 0644."""
    from service import create_app, schema

    old = os.umask(0o022)
    try:
        instance = tmp_path / "fresh" / "instance"
        app = create_app({"INSTANCE_PATH": str(instance), "BROKER_URL": "filesystem://",
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'limber.sqlite3'}"})
        schema.upgrade(app)
    finally:
        os.umask(old)
    assert mode(instance) == 0o700
    assert mode(instance / "secret_key") == 0o600
    assert mode(instance / "limber.sqlite3") == 0o600
    broker = instance / "broker"
    assert mode(broker) == 0o700
    assert all(mode(p) == 0o700 for p in broker.iterdir() if p.is_dir())
    others = [p for p in instance.rglob("*") if mode(p) & 0o077]
    assert others == [], f"readable by others: {others}"


# --- embed framing --------------------------------------------------------------------------


def test_an_embed_session_may_be_framed_only_by_its_own_parent(app, client, portals):
    base = open_session(client, portals.a, parent_origin=PORTAL_A)
    csp = client.get(f"{base}new").headers["Content-Security-Policy"]
    assert f"frame-ancestors {PORTAL_A};" in csp + ";"
    assert "localhost:8080" not in csp  # the clinic's other origin may not frame this one
    # If the clinic stops allowing that origin, its open sessions may no longer be framed.
    from service.extensions import db
    from service.models import Clinic

    with app.app_context():
        clinic = db.session.scalar(select(Clinic).where(Clinic.slug == "clinic-a"))
        clinic.allowed_embed_origins = ["http://localhost:8080"]
        db.session.commit()
    csp = client.get(f"{base}new").headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp


# --- reads of patient data --------------------------------------------------------------------


def reads(app) -> list[audit.AuditEvent]:
    from service.extensions import db

    with app.app_context():
        return list(db.session.scalars(select(audit.AuditEvent).where(
            audit.AuditEvent.action == audit.PLAN_VIEWED).order_by(audit.AuditEvent.id)))


def test_viewing_a_plan_and_its_handout_is_audited_by_the_api_ui_and_embed(app, client, people,
                                                                          portals):
    from service.models import Handout, Plan, PlanRevision, RenderJob

    plan = make_plan(client, people.keys.a)
    assert client.get(f"/api/v1/plans/{plan['id']}", headers=people.keys.a).status_code == 200
    # A handout not rendered yet (202) is not a read of patient data.
    assert client.get(f"/api/v1/plans/{plan['id']}/handout",
                      headers=people.keys.a).status_code == 202
    from service.extensions import db

    with app.app_context():  # the worker is not running here: store a handout directly
        row = db.session.scalar(select(PlanRevision).join(Plan)
                                .where(Plan.public_id == plan["id"]))
        job = db.session.scalar(select(RenderJob).where(RenderJob.revision_id == row.id))
        db.session.add(Handout(revision_id=row.id, options_key=job.options_key,
                               pdf=b"%PDF-1.7 test", html="<p>x</p>", sha256="0" * 64, pages=1))
        db.session.commit()
    assert client.get(f"/api/v1/plans/{plan['id']}/handout",
                      headers=people.keys.a).status_code == 200
    assert client.get(f"/api/v1/plans/{plan['id']}/handout.html",
                      headers=people.keys.a).status_code == 200
    signed_in(client, "pt@a.example")
    assert client.get(f"/plans/{plan['id']}").status_code == 200
    assert client.get(f"/plans/{plan['id']}/handout.pdf").status_code == 200
    assert client.get(f"/plans/{plan['id']}/handout.html").status_code == 200
    seen = [(e.detail["via"], e.detail["what"]) for e in reads(app)]
    assert seen == [("api", "plan"), ("api", "pdf"), ("api", "html"),
                    ("ui", "plan"), ("ui", "pdf"), ("ui", "html")]
    assert {e.target for e in reads(app)} == {plan["id"]}
    assert all(e.actor.startswith(("api-key:", "clinician:")) for e in reads(app))
    stored = repr([(e.actor, e.target, e.detail) for e in reads(app)])
    assert "Ana" not in stored and "MRN-1" not in stored


def test_the_embed_plan_page_is_audited_as_the_portal(app, client, portals):
    import re

    base = open_session(client, portals.a)
    page = client.get(f"{base}new/core_routine")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    from plans.catalogue import default_catalogue

    template = default_catalogue().templates["core_routine"]
    saved = client.post(f"{base}new/core_routine", data={
        "csrf_token": token, "patient.display_name": "Ana P.",
        "screening.irritability": "moderate", "handout.page_size": "a4",
        "exercises": [i.exercise_id for p in template.phases for i in p.items]})
    assert saved.status_code == 303, saved.get_data(as_text=True)[:300]
    assert client.get(saved.headers["Location"]).status_code == 200
    (event,) = reads(app)
    assert event.detail["via"] == "embed" and event.actor.startswith("embed:")


def test_the_audit_page_filters_by_plan(app, client, people):
    first = make_plan(client, people.keys.a)
    second = make_plan(client, people.keys.a)
    for plan in (first, second):
        client.get(f"/api/v1/plans/{plan['id']}", headers=people.keys.a)
    signed_in(client, "admin@a.example")
    page = client.get(f"/admin/audit?plan={first['id']}").get_data(as_text=True)
    assert first["id"] in page and second["id"] not in page
    assert "plan viewed" in page


def test_audit_prune_removes_only_events_older_than_asked(app, clinics, monkeypatch):
    from datetime import timedelta

    from click.testing import CliRunner

    from service import cli
    from service.extensions import db
    from service.models import utcnow

    with app.app_context():
        for age in (400, 10):
            db.session.add(audit.AuditEvent(clinic_id=None, actor="system", action="probe",
                                            at=utcnow() - timedelta(days=age)))
        db.session.commit()
    monkeypatch.setattr(cli, "_app", lambda: app)
    result = CliRunner().invoke(cli.main, ["audit", "prune", "--older-than-days", "365"],
                                catch_exceptions=False)
    assert "Deleted 1 audit events" in result.output
    too_short = CliRunner().invoke(cli.main, ["audit", "prune", "--older-than-days", "1"])
    assert too_short.exit_code != 0
    with app.app_context():
        left = db.session.scalars(select(audit.AuditEvent.action)).all()
    assert left == ["probe"]


def test_a_world_readable_database_from_an_earlier_version_is_closed_at_start(tmp_path):
    from service import create_app

    db_file = tmp_path / "old.sqlite3"
    db_file.write_bytes(b"")
    db_file.chmod(0o644)
    create_app({"INSTANCE_PATH": str(tmp_path / "i"),
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_file}"})
    assert mode(db_file) == 0o600
