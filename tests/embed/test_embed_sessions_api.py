"""POST /api/v1/embed-sessions: who may create a link, for which origin, and what is stored."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from service.embed.models import EmbedSession
from service.extensions import db
from service.idempotency import IdempotencyRecord
from tests.embed.conftest import PORTAL_A, PORTAL_B, create_link, link_path


def _fields(resp) -> list[str]:  # noqa: ANN001
    return [e["field"] for e in resp.get_json().get("errors", [])]


def test_a_link_is_a_one_time_url_that_expires_in_minutes(app, client, portals):
    resp = create_link(client, portals.a, patient_display_name="Ana P.",
                       template_id="core_routine", clinician="Sam Okafor, PT")
    assert resp.status_code == 201
    body = resp.get_json()
    assert set(body) == {"url", "expires_at"}
    assert body["url"].startswith("http://localhost/embed/")
    expires = datetime.fromisoformat(body["expires_at"])
    left = expires - datetime.now(expires.tzinfo)
    assert timedelta(minutes=4) < left <= timedelta(minutes=5)
    # No patient data in the URL.
    # Whole values, plain or URL-encoded: a random token may hold "Ana" or "MRN" by chance.
    leaks = ("Ana P.", "Ana%20P.", "Ana+P.", "MRN-1")
    assert not [v for v in leaks if v in body["url"]], body["url"]


def test_the_link_token_is_stored_only_as_a_hash(app, client, portals):
    """Neither the token nor its secret half is anywhere in the database, even in the stored
    Idempotency-Key answer."""
    resp = create_link(client, portals.a, **{})
    token = link_path(resp).rsplit("/", 1)[1]
    retried = client.post("/api/v1/embed-sessions", headers={**portals.a,
                          "Idempotency-Key": "k-1"},
                          json={"patient_reference": "MRN-2", "parent_origin": PORTAL_A})
    token2 = link_path(retried).rsplit("/", 1)[1]
    secret_halves = [t.split(".", 1)[1] for t in (token, token2)]
    with app.app_context():
        with db.engine.connect() as conn:
            for table in db.metadata.sorted_tables:
                for row in conn.execute(table.select()):
                    text = " ".join(str(v) for v in row)
                    for secret in (token, token2, *secret_halves):
                        assert secret not in text, f"{table.name} holds a link secret"


def test_idempotency_key_replays_the_same_link_and_creates_one_session(app, client, portals):
    headers = {**portals.a, "Idempotency-Key": "embed-retry-1"}
    body = {"patient_reference": "MRN-7", "parent_origin": PORTAL_A}
    first = client.post("/api/v1/embed-sessions", json=body, headers=headers)
    again = client.post("/api/v1/embed-sessions", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(EmbedSession)) == 1
        assert db.session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 1
    # The replayed URL is the same link, so it still opens (once).
    assert client.get(link_path(again)).status_code == 303
    changed = client.post("/api/v1/embed-sessions", headers=headers,
                          json={**body, "patient_reference": "MRN-8"})
    assert changed.status_code == 422 and _fields(changed) == ["Idempotency-Key"]


def test_parent_origin_must_be_one_of_the_clinics_allowed_origins(app, client, portals):
    for origin in (PORTAL_B, "https://evil.example", "https://portal.clinic-a.example/path",
                   "*", "not an origin"):
        resp = create_link(client, portals.a, parent_origin=origin)
        assert resp.status_code == 422, origin
        assert resp.mimetype == "application/problem+json"
        assert _fields(resp) == ["parent_origin"]
    # The same origin written with a trailing slash or capitals is the same origin.
    assert create_link(client, portals.a, parent_origin="https://Portal.Clinic-A.example/"
                       ).status_code == 201


def test_a_clinic_with_no_allowed_origins_cannot_embed(app, client, clinics):
    resp = create_link(client, clinics.a)
    assert resp.status_code == 422 and _fields(resp) == ["parent_origin"]


def test_template_must_be_approved(app, client, portals):
    resp = create_link(client, portals.a, template_id="no_such_template")
    assert resp.status_code == 422 and _fields(resp) == ["template_id"]


def test_required_and_unknown_fields_are_named(app, client, portals):
    resp = client.post("/api/v1/embed-sessions", headers=portals.a,
                       json={"parent_origin": PORTAL_A, "patient_name": "Ana"})
    assert resp.status_code == 422
    assert sorted(_fields(resp)) == ["patient_name", "patient_reference"]
    # Patient data never comes back in an error.
    assert "Ana" not in resp.get_data(as_text=True)


def test_no_key_no_link(app, client, portals):
    resp = client.post("/api/v1/embed-sessions",
                       json={"patient_reference": "MRN-1", "parent_origin": PORTAL_A})
    assert resp.status_code == 401 and resp.mimetype == "application/problem+json"


def test_clinic_b_cannot_use_clinic_a_origins(app, client, portals):
    """Tenancy: the origin check uses the caller's clinic, not anyone's."""
    assert create_link(client, portals.b, parent_origin=PORTAL_A).status_code == 422
    assert create_link(client, portals.b, parent_origin=PORTAL_B).status_code == 201


def test_the_link_uses_the_public_url_when_one_is_configured(app, client, portals):
    """A portal's server may call the API by an internal name; the browser needs the public one."""
    app.config["PUBLIC_URL"] = "https://limber.clinic.example/"
    resp = create_link(client, portals.a)
    assert resp.get_json()["url"].startswith("https://limber.clinic.example/embed/")
    assert client.get(link_path(resp)).status_code == 303
