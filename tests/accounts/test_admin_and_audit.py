"""Clinic admin pages, the audit log, and the security headers on every response."""

from __future__ import annotations

import re
import struct
import zlib

from sqlalchemy import select

from service import audit
from service.accounts.models import Clinician
from service.extensions import db
from service.models import ApiKey, Clinic
from tests.accounts.conftest import PASSWORD, add_clinician, csrf_from, sign_in, signed_in


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    raw = b"".join(b"\x00" + b"\xff\xff\xff" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                             0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_a_clinician_who_is_not_an_admin_gets_403_on_admin_pages(client, people):
    signed_in(client, "pt@a.example")
    for path in ("/admin/clinicians", "/admin/api-keys", "/admin/clinic", "/admin/audit"):
        assert client.get(path).status_code == 403, path


def test_invited_clinician_sets_a_password_through_the_one_time_link(app, client, people):
    signed_in(client, "admin@a.example")
    resp = client.post("/admin/clinicians", data={
        "csrf_token": csrf_from(client, "/admin/clinicians"), "name": "New Physio",
        "email": "New.Physio@A.example", "role": "clinician"})
    assert resp.status_code == 200
    link = re.search(r'value="http://localhost(/set-password/[^"]+)"', resp.get_data(True))
    assert link, "the set-password link is shown to the admin"

    newcomer = app.test_client()
    assert sign_in(newcomer, "new.physio@a.example", "").status_code == 422
    token = csrf_from(newcomer, link.group(1))
    resp = newcomer.post(link.group(1), data={"csrf_token": token, "password": "short",
                                              "confirm": "short"})
    assert resp.status_code == 422 and "at least 12 characters" in resp.get_data(True)
    resp = newcomer.post(link.group(1), data={"csrf_token": token, "password": PASSWORD,
                                              "confirm": PASSWORD})
    assert resp.status_code == 303 and newcomer.get("/plans").status_code == 200
    # The link worked once.
    assert app.test_client().get(link.group(1)).status_code == 404
    assert sign_in(app.test_client(), "New.Physio@a.example").status_code == 303


def test_duplicate_email_is_refused_next_to_the_field(client, people):
    signed_in(client, "admin@a.example")
    resp = client.post("/admin/clinicians", data={
        "csrf_token": csrf_from(client, "/admin/clinicians"), "name": "Copy",
        "email": "pt@b.example", "role": "clinician"})
    assert resp.status_code == 422
    assert 'href="#f-email"' in resp.get_data(True)


def test_an_admin_cannot_touch_another_clinics_clinicians(app, client, people):
    signed_in(client, "admin@a.example")
    with app.app_context():
        other = db.session.scalar(select(Clinician.id).where(Clinician.email == "pt@b.example"))
    csrf = csrf_from(client, "/admin/clinicians")
    assert client.post(f"/admin/clinicians/{other}/active",
                       data={"csrf_token": csrf, "active": "0"}).status_code == 404
    assert client.post(f"/admin/clinicians/{other}/link",
                       data={"csrf_token": csrf}).status_code == 404
    assert "pt@b.example" not in client.get("/admin/clinicians").get_data(True)


def test_api_key_is_shown_once_works_and_stops_working_when_revoked(app, client, people):
    signed_in(client, "admin@a.example")
    resp = client.post("/admin/api-keys", data={"csrf_token": csrf_from(client, "/admin/api-keys"),
                                                "name": "Front desk portal"})
    key = re.search(r'value="(lmb_[^"]+)"', resp.get_data(True)).group(1)
    assert key not in client.get("/admin/api-keys").get_data(True)
    api = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/templates", headers=api).status_code == 200
    with app.app_context():
        row = db.session.scalar(select(ApiKey).where(ApiKey.name == "Front desk portal"))
        assert row.last_used_at is not None
    assert key[:12] in client.get("/admin/api-keys").get_data(True)
    resp = client.post(f"/admin/api-keys/{row.id}/revoke",
                       data={"csrf_token": csrf_from(client, "/admin/api-keys")})
    assert resp.status_code == 303
    assert client.get("/api/v1/templates", headers=api).status_code == 401


def test_clinic_profile_validates_logo_emergency_number_and_embed_origins(app, client, people):
    signed_in(client, "admin@a.example")
    form = {"name": "Clinic A", "contact": "555-0101", "emergency_number": "112",
            "out_of_hours": "Call 555-0191",
            "allowed_embed_origins": "https://portal.a.example\nhttp://localhost:8080"}
    bad = dict(form, csrf_token=csrf_from(client, "/admin/clinic"), emergency_number="call us",
               allowed_embed_origins="https://portal.a.example/path")
    bad["logo"] = (__import__("io").BytesIO(b"GIF89a not a png"), "logo.png")
    resp = client.post("/admin/clinic", data=bad, content_type="multipart/form-data")
    text = resp.get_data(True)
    assert resp.status_code == 422
    for field in ("f-emergency_number", "f-allowed_embed_origins", "f-logo"):
        assert f'href="#{field}"' in text, field
    assert "must be a PNG" in text

    good = dict(form, csrf_token=csrf_from(client, "/admin/clinic"))
    good["logo"] = (__import__("io").BytesIO(_png(4, 3)), "logo.png")
    resp = client.post("/admin/clinic", data=good, content_type="multipart/form-data")
    assert resp.status_code == 303
    with app.app_context():
        clinic = db.session.get(Clinic, people.clinic_a)
        assert clinic.emergency_number == "112"
        assert clinic.allowed_embed_origins == ["https://portal.a.example",
                                                "http://localhost:8080"]
        assert clinic.logo_png.startswith(b"\x89PNG")
    assert client.get("/admin/clinic/logo.png").data.startswith(b"\x89PNG")


def test_audit_log_records_sign_ins_and_failures_without_the_typed_address(app, client, people):
    sign_in(client, "someone.unknown@a.example", "guess-guess-guess")
    sign_in(client, "pt@a.example", "guess-guess-guess")
    signed_in(client, "pt@a.example")
    with app.app_context():
        events = db.session.scalars(select(audit.AuditEvent).order_by(audit.AuditEvent.id)).all()
        actions = [(e.action, e.clinic_id) for e in events]
        dumped = repr([(e.actor, e.target, e.detail, e.source) for e in events])
    assert actions == [(audit.SIGN_IN_FAILED, None), (audit.SIGN_IN_FAILED, people.clinic_a),
                       (audit.SIGN_IN, people.clinic_a)]
    assert "someone.unknown" not in dumped and "127.0.0.1" not in dumped


def test_audit_page_lists_plan_and_key_events_by_id_never_by_patient(app, client, people):
    created = client.post("/api/v1/plans", headers=people.keys.a, json={
        "template_id": "core_routine", "patient": {"display_name": "Wilhelmina Auditcheck"}})
    plan_id = created.get_json()["id"]
    signed_in(client, "admin@a.example")
    page = client.get("/admin/audit").get_data(as_text=True)
    assert plan_id in page and "plan created" in page and "sign in" in page
    assert "Wilhelmina" not in page
    with app.app_context():
        rows = repr(db.session.execute(select(audit.AuditEvent.__table__)).all())
    assert "Wilhelmina" not in rows
    add_clinician(app, people.clinic_b, "admin@b.example", role="admin")
    other = signed_in(app.test_client(), "admin@b.example")
    other_page = other.get("/admin/audit").get_data(as_text=True)
    assert "sign in" in other_page and plan_id not in other_page


def test_security_headers_on_pages_api_and_docs(app, client, people):
    pages = [client.get("/sign-in"), client.get("/api/v1/templates", headers=people.keys.a),
             client.get("/healthz")]
    for resp in pages:
        csp = resp.headers["Content-Security-Policy"]
        for directive in ("default-src 'self'", "object-src 'none'", "base-uri 'none'",
                          "frame-ancestors 'none'"):
            assert directive in csp
        assert "'unsafe-inline'" not in csp and "script-src" not in csp
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"] == "same-origin"
        assert resp.headers["Cache-Control"] == "no-store"
        assert "Strict-Transport-Security" not in resp.headers
    docs = client.get("/api/docs").headers["Content-Security-Policy"]
    assert "worker-src 'self' blob:" in docs and "script-src" not in docs
    assert "no-store" not in client.get("/static/ui/limber.css").headers.get("Cache-Control", "")
    app.config["LIMBER_ENV"] = "production"
    assert "max-age=" in client.get("/sign-in").headers["Strict-Transport-Security"]
