"""API key scopes, written as the attack: a leaked portal key trying to mint or revoke keys.

Also the guard for routes merged later: every API route must be covered by a scope in
service/scopes.py, or this file fails and names it.
"""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select

from service import audit, scopes
from tests.accounts.conftest import csrf_from, signed_in

KEYS = "/api/v1/api-keys"


def key_with(app, clinic_slug: str, names) -> tuple[int, str]:
    from service.auth import issue_api_key
    from service.extensions import db
    from service.models import Clinic

    with app.app_context():
        clinic = db.session.scalar(select(Clinic).where(Clinic.slug == clinic_slug))
        row, plain = issue_api_key(clinic, "probe", scope_names=names)
        db.session.commit()
        return row.id, plain


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def events(app, action: str) -> list[audit.AuditEvent]:
    from service.extensions import db

    with app.app_context():
        return list(db.session.scalars(select(audit.AuditEvent)
                                       .where(audit.AuditEvent.action == action)
                                       .order_by(audit.AuditEvent.id)))


def test_a_plans_only_key_cannot_list_create_or_revoke_keys(app, client, clinics):
    _, plans_only = key_with(app, "clinic-a", ["plans"])
    real_id, real = key_with(app, "clinic-a", list(scopes.DEFAULT))
    for method, path, body in (("GET", KEYS, None), ("POST", KEYS, {"name": "twin"}),
                               ("DELETE", f"{KEYS}/{real_id}", None)):
        resp = client.open(path, method=method, json=body, headers=bearer(plans_only))
        assert resp.status_code == 403, (method, resp.status_code)
        assert resp.mimetype == "application/problem+json"
        assert "'keys' scope" in resp.get_json()["detail"]
    # The clinic's real key still works, and the plans key can still do its own job.
    assert client.get("/api/v1/plans", headers=bearer(real)).status_code == 200
    assert client.get("/api/v1/plans", headers=bearer(plans_only)).status_code == 200
    assert client.get("/api/v1/webhook-endpoints",
                      headers=bearer(plans_only)).status_code == 403


def test_keys_get_no_key_management_unless_asked(app, client, clinics):
    """The default set (API, admin page, CLI) leaves out 'keys'."""
    created = client.post(KEYS, json={"name": "portal"}, headers=clinics.a).get_json()
    assert created["scopes"] == ["plans", "webhooks", "embed"]
    assert client.get(KEYS, headers=bearer(created["key"])).status_code == 403


def test_a_key_cannot_grant_a_scope_it_lacks(app, client, clinics):
    _, keys_and_plans = key_with(app, "clinic-a", ["plans", "keys"])
    resp = client.post(KEYS, json={"name": "wider", "scopes": ["plans", "webhooks"]},
                       headers=bearer(keys_and_plans))
    assert resp.status_code == 422
    assert resp.get_json()["errors"][0]["field"] == "scopes"
    ok = client.post(KEYS, json={"name": "narrower", "scopes": ["plans"]},
                     headers=bearer(keys_and_plans))
    assert ok.status_code == 201 and ok.get_json()["scopes"] == ["plans"]
    unknown = client.post(KEYS, json={"name": "x", "scopes": ["admin"]}, headers=clinics.a)
    assert unknown.status_code == 422


def test_key_created_revoked_and_first_used_are_audited_from_the_api_without_the_secret(
        app, client, clinics):
    new = client.post(KEYS, json={"name": "portal"}, headers=clinics.a).get_json()
    assert client.get("/api/v1/plans", headers=bearer(new["key"])).status_code == 200
    assert client.get("/api/v1/plans", headers=bearer(new["key"])).status_code == 200
    assert client.delete(f"{KEYS}/{new['id']}", headers=clinics.a).status_code == 204
    created = [e for e in events(app, audit.API_KEY_CREATED) if e.target == f"api-key:{new['id']}"]
    revoked = events(app, audit.API_KEY_REVOKED)
    first = [e for e in events(app, audit.API_KEY_FIRST_USED)
             if e.target == f"api-key:{new['id']}"]
    assert len(created) == 1 and created[0].detail["via"] == "api"
    assert created[0].actor.startswith("api-key:")
    assert [e.target for e in revoked] == [f"api-key:{new['id']}"]
    assert len(first) == 1, "first use must be recorded once, not on every request"
    everything = repr([(e.actor, e.target, e.detail) for e in created + revoked + first])
    assert new["key"] not in everything and new["key"][12:] not in everything


def test_cli_create_and_revoke_are_audited_and_cli_scopes_are_checked(app, clinics, monkeypatch):
    from service import cli

    monkeypatch.setattr(cli, "_app", lambda: app)
    runner = CliRunner()
    made = runner.invoke(cli.main, ["api-key", "create", "--clinic", "clinic-a",
                                    "--scope", "plans"], catch_exceptions=False)
    assert made.exit_code == 0, made.output
    plain = made.output.strip().splitlines()[-1]
    bad = runner.invoke(cli.main, ["api-key", "create", "--clinic", "clinic-a",
                                   "--scope", "root"])
    assert bad.exit_code != 0 and "Unknown scope" in bad.output
    revoked = runner.invoke(cli.main, ["api-key", "revoke", plain[:12], "--clinic", "clinic-a"],
                            catch_exceptions=False)
    assert revoked.exit_code == 0, revoked.output
    (create,) = [e for e in events(app, audit.API_KEY_CREATED) if e.detail.get("via") == "cli"]
    (revoke,) = [e for e in events(app, audit.API_KEY_REVOKED) if e.detail.get("via") == "cli"]
    assert create.detail["scopes"] == ["plans"] and revoke.target == create.target
    assert plain not in repr([create.detail, revoke.detail])


def test_admin_page_creates_keys_with_the_scopes_ticked_and_audits_them(app, client, people):
    signed_in(client, "admin@a.example")
    page = client.post("/admin/api-keys", data={
        "csrf_token": csrf_from(client, "/admin/api-keys"), "name": "Front desk",
        "scopes": ["plans", "keys"]})
    assert page.status_code == 200
    import re

    plain = re.search(r'value="(lmb_[^"]+)"', page.get_data(as_text=True)).group(1)
    assert client.get(KEYS, headers=bearer(plain)).status_code == 200
    assert client.get("/api/v1/webhook-endpoints", headers=bearer(plain)).status_code == 403
    ui = [e for e in events(app, audit.API_KEY_CREATED) if e.detail.get("via") == "ui"]
    assert ui and ui[-1].detail["scopes"] == ["plans", "keys"]


def test_every_api_route_has_a_scope(app):
    """A route merged later under /api/ or /fhir must be covered by ROUTE_SCOPES; one that is
    not would be refused to every key at run time, and is named here."""
    uncovered = sorted(
        rule.rule for rule in app.url_map.iter_rules()
        if rule.rule.startswith(("/api/v1/", "/fhir")) and scopes.scope_for(rule.rule) is None)
    assert uncovered == [], f"add these to service/scopes.py ROUTE_SCOPES: {uncovered}"
    assert scopes.scope_for("/api/v1/plans/preview") == "plans"
    assert scopes.scope_for("/api/v1/plansx") is None  # whole path segments only


def test_a_route_no_scope_covers_is_refused_to_every_key(app, client, clinics):
    from flask import Blueprint

    from service.auth import require_api_key

    extra = Blueprint("late_addition", __name__, url_prefix="/api/v1/late-addition")
    extra.before_request(require_api_key)
    extra.add_url_rule("", "probe", lambda: "reached")
    app.register_blueprint(extra)
    resp = client.get("/api/v1/late-addition", headers=clinics.a)  # a key with every scope
    assert resp.status_code == 403 and b"reached" not in resp.data


def test_the_openapi_document_names_each_operations_scope_and_its_403(client):
    spec = client.get("/api/openapi.json").get_json()
    seen = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "patch", "put", "delete"):
                seen[(method, path)] = op["x-required-scope"]
                assert "403" in op["responses"], (method, path)
    assert seen[("post", "/api/v1/api-keys")] == "keys"
    assert seen[("get", "/api/v1/plans/{public_id}")] == "plans"
    assert "none" not in seen.values()
