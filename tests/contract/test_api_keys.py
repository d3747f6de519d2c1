"""API keys: created and revoked by API and CLI, shown once, stored hashed, listed by prefix."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

KEYS = "/api/v1/api-keys"


def stored_keys(app) -> list:
    from service.extensions import db
    from service.models import ApiKey

    with app.app_context():
        rows = db.session.scalars(select(ApiKey).order_by(ApiKey.id)).all()
        db.session.expunge_all()
        return rows


def test_created_key_is_shown_once_works_and_is_stored_only_as_a_hash(app, client, clinics):
    resp = client.post(KEYS, json={"name": "Portal production"}, headers=clinics.a)
    assert resp.status_code == 201
    assert resp.headers["Cache-Control"] == "no-store"
    new = resp.get_json()
    plain = new["key"]
    assert plain.startswith("lmb_") and new["prefix"] == plain[:12]
    assert new["name"] == "Portal production" and new["revoked_at"] is None
    row = next(r for r in stored_keys(app) if r.id == new["id"])
    assert plain not in (row.key_hash, row.prefix) and len(row.key_hash) == 64
    assert client.get("/api/v1/plans", headers=clinics.auth(plain)).status_code == 200
    listed = client.get(KEYS, headers=clinics.a).get_json()["items"]
    assert plain not in str(listed) and row.key_hash not in str(listed)
    assert {k["id"] for k in listed} == {new["id"], stored_keys(app)[0].id}
    assert set(listed[0]) == {"id", "name", "prefix", "created_at", "last_used_at",
                              "revoked_at", "scopes"}


def test_list_shows_when_a_key_was_last_used(client, clinics):
    client.get("/api/v1/templates", headers=clinics.a)
    mine = client.get(KEYS, headers=clinics.a).get_json()["items"][0]
    assert mine["last_used_at"] is not None and mine["last_used_at"].endswith("+00:00")


def test_revoking_a_key_stops_it_at_once_and_keeps_it_listed(client, clinics):
    new = client.post(KEYS, json={"name": "old portal"}, headers=clinics.a).get_json()
    resp = client.delete(f"{KEYS}/{new['id']}", headers=clinics.a)
    assert resp.status_code == 204
    refused = client.get("/api/v1/plans", headers=clinics.auth(new["key"]))
    assert refused.status_code == 401 and refused.mimetype == "application/problem+json"
    listed = {k["id"]: k for k in client.get(KEYS, headers=clinics.a).get_json()["items"]}
    assert listed[new["id"]]["revoked_at"] is not None
    # Revoking again is harmless and keeps the first time.
    assert client.delete(f"{KEYS}/{new['id']}", headers=clinics.a).status_code == 204
    again = {k["id"]: k for k in client.get(KEYS, headers=clinics.a).get_json()["items"]}
    assert again[new["id"]]["revoked_at"] == listed[new["id"]]["revoked_at"]


def test_a_key_may_revoke_itself_and_its_next_request_is_refused(app, client, clinics):
    own_id = stored_keys(app)[0].id
    assert client.delete(f"{KEYS}/{own_id}", headers=clinics.a).status_code == 204
    assert client.get(KEYS, headers=clinics.a).status_code == 401


@pytest.mark.parametrize(("body", "field"), [
    ({}, "name"), ({"name": ""}, "name"), ({"name": "x" * 101}, "name"),
    ({"name": "ok", "scope": "admin"}, "scope"),
])
def test_create_refuses_bad_fields_by_name(client, clinics, body, field):
    resp = client.post(KEYS, json=body, headers=clinics.a)
    assert resp.status_code == 422
    assert [e["field"] for e in resp.get_json()["errors"]] == [field]


def test_unknown_key_id_is_404_even_beyond_the_integer_range(client, clinics):
    for key_id in (999999, 2**63):
        resp = client.delete(f"{KEYS}/{key_id}", headers=clinics.a)
        assert resp.status_code == 404 and resp.mimetype == "application/problem+json"


@pytest.fixture()
def cli(app, tmp_path):
    from service.cli import main

    env = {"LIMBER_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "LIMBER_INSTANCE_PATH": str(tmp_path / "cli-instance"),
           "LIMBER_SECRET_KEY": "cli-test-secret", "LIMBER_BROKER_URL": "filesystem://"}
    runner = CliRunner(env=env)
    return lambda *args: runner.invoke(main, list(args), catch_exceptions=False)


def test_cli_creates_lists_and_revokes_keys(app, client, clinics, cli):
    created = cli("api-key", "create", "--clinic", "clinic-a", "--name", "front desk")
    assert created.exit_code == 0, created.output
    plain = created.output.strip().splitlines()[-1]
    assert plain.startswith("lmb_")
    assert client.get("/api/v1/plans", headers=clinics.auth(plain)).status_code == 200

    listed = cli("api-key", "list", "--clinic", "clinic-a")
    assert listed.exit_code == 0
    assert plain[:12] in listed.output and "front desk" in listed.output
    assert plain not in listed.output
    assert "clinic-b" not in listed.output and clinics.key_b[:12] not in listed.output

    revoked = cli("api-key", "revoke", plain[:12], "--clinic", "clinic-a")
    assert revoked.exit_code == 0 and "Revoked" in revoked.output
    assert client.get("/api/v1/plans", headers=clinics.auth(plain)).status_code == 401
    assert client.get("/api/v1/plans", headers=clinics.a).status_code == 200


def test_cli_revokes_by_id_and_only_within_the_named_clinic(app, client, clinics, cli):
    from service.auth import hash_key

    b_key = next(r for r in stored_keys(app) if r.key_hash == hash_key(clinics.key_b))
    other = cli("api-key", "revoke", str(b_key.id), "--clinic", "clinic-a")
    assert other.exit_code != 0 and "no API key" in other.output
    assert client.get("/api/v1/plans", headers=clinics.b).status_code == 200
    own = cli("api-key", "revoke", str(b_key.id), "--clinic", "clinic-b")
    assert own.exit_code == 0
    assert client.get("/api/v1/plans", headers=clinics.b).status_code == 401
    missing = cli("api-key", "list", "--clinic", "no-such-clinic")
    assert missing.exit_code != 0 and "no clinic" in missing.output
